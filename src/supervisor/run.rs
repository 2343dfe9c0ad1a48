//! supervise's I/O loop: owns the fds, the children and the files in
//! `supervise/`, turns what happens into `Event`s for the machine and
//! carries out its `Action`s. Before the loop any failure is fatal; inside
//! it nothing is: a failed action is reported and the machine retries.

use super::{Action, Event, Machine, Now, orphan, step};
use crate::control::Command;
use crate::die;
use crate::error::{Doing, Error};
use crate::servicedir::ServiceDir;
use crate::status::{self, RunState, Status};
use crate::sys::poll::{self, Watch};
use crate::sys::process::{self, Spawn};
use crate::sys::signal::{self, Signals};
use crate::sys::{Errno, Fd, Path, fs, time};
use crate::tai64::Tai64n;
use alloc::collections::VecDeque;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

const PROG: &str = "supervise";

/// What `run` holds open while it supervises.
struct Io {
    dir: ServiceDir,
    /// The service dir's name, run's and finish's last argument.
    name: CString,
    signals: Signals,
    control: Fd,
    /// Our own writer on the control FIFO: without one, every client that
    /// closes it would leave the reader at end-of-file, polling readable.
    _control_writer: Fd,
    /// Held open for reading: clients open `ok` for writing to learn that
    /// supervise runs (ENXIO when it does not).
    _ok: Fd,
    /// Held with an exclusive lock while we run.
    _lock: Fd,
    /// Readable when the orphaned run dies.
    orphan: Option<Fd>,
    published: Option<Status>,
}

/// Supervises the service directory `shown` until told to exit. Returns
/// only errors met before supervision starts.
pub fn supervise(shown: Path) -> Result<(), Error> {
    let now = clock();
    let mut io = Io::open(shown)?;
    let previous = status::read(&io.dir.path).ok();
    let orphan = previous.filter(|s| s.state == RunState::Run).and_then(|s| {
        let pid = orphan::find(s.pid, s.changed)?;
        // ESRCH: it died in the meantime, and there is nothing to wait for.
        io.orphan = Some(process::pidfd_open(pid).ok()?);
        Some((pid, s.changed))
    });
    let mut m = Machine::new(io.dir.normally_up(), orphan, now);
    io.publish(&m);
    let mut queue = VecDeque::from([Event::Tick]);
    loop {
        while let Some(ev) = queue.pop_front() {
            let (next, actions) = step(m, ev, clock());
            m = next;
            for action in actions {
                if action == Action::Exit {
                    io.publish(&m);
                    return Ok(());
                }
                if let Some(ev) = io.perform(action, &m) {
                    queue.push_back(ev);
                }
            }
        }
        io.publish(&m);
        io.wait(&m, &mut queue);
    }
}

/// Both clocks, read together.
fn clock() -> Now {
    Now {
        mono: time::monotonic(),
        wall: Tai64n::now(),
    }
}

impl Io {
    fn open(shown: Path) -> Result<Io, Error> {
        fs::chdir(&shown).doing(|| format!("chdir to {shown}"))?;
        let dir = ServiceDir::here(shown);
        let show = |name: &str| dir.show(name);
        let sup = Path::from("supervise");
        fs::mkdir(&sup, 0o755).doing(|| format!("create {}", show("supervise")))?;
        let lock = fs::open(
            &Path::from("supervise/lock"),
            libc::O_WRONLY | libc::O_CREAT,
            0o600,
        )
        .doing(|| format!("open {}", show("supervise/lock")))?;
        fs::lock_exclusive_now(&lock).doing(|| format!("acquire {}", show("supervise/lock")))?;
        let control = open_fifo("supervise/control", libc::O_RDONLY, &dir)?;
        let control_writer = open_fifo("supervise/control", libc::O_WRONLY, &dir)?;
        let signals = Signals::catch(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT])
            .doing(|| "install signal handlers".to_string())?;
        // A logger that went away must not kill us with SIGPIPE.
        signal::ignore(libc::SIGPIPE);
        // Last: from now on clients see a running supervise.
        let ok = open_fifo("supervise/ok", libc::O_RDONLY, &dir)?;
        let name = CString::new(dir.shown.file_name()).unwrap_or_default();
        Ok(Io {
            dir,
            name,
            signals,
            control,
            _control_writer: control_writer,
            _ok: ok,
            _lock: lock,
            orphan: None,
            published: None,
        })
    }

    /// Blocks until something happens or the machine's deadline passes,
    /// and queues what happened.
    fn wait(&mut self, m: &Machine, queue: &mut VecDeque<Event>) {
        let deadline = m.deadline();
        let timeout = deadline.map(|d| d.saturating_sub(time::monotonic()));
        let mut watches = Vec::with_capacity(3);
        watches.push(Watch::input(self.signals.fd()));
        watches.push(Watch::input(&self.control));
        if let Some(fd) = &self.orphan {
            watches.push(Watch::input(fd));
        }
        if let Err(e) = poll::wait(&mut watches, timeout) {
            die::warn(PROG, &Err::<(), _>(e).doing(|| "poll".into()).unwrap_err());
        }
        let mut terminate = false;
        self.signals
            .drain(|sig| terminate |= sig == libc::SIGTERM || sig == libc::SIGINT);
        // Reap on every wake-up, not only after SIGCHLD: a reaped child is
        // never missed, whatever order the signals came in.
        while let Some((pid, status)) = process::reap() {
            queue.push_back(Event::Exited {
                pid,
                status: status.0,
            });
        }
        if terminate {
            queue.push_back(Event::Terminate);
        }
        if watches[1].ready {
            let mut buf = [0u8; 256];
            if let Ok(n) = self.control.read(&mut buf) {
                queue.extend(
                    buf[..n]
                        .iter()
                        .filter_map(|&b| Command::decode(b))
                        .map(Event::Control),
                );
            }
        }
        if watches.get(2).is_some_and(|w| w.ready) {
            self.orphan = None;
            queue.push_back(Event::OrphanGone);
        }
        if deadline.is_some_and(|d| d <= time::monotonic()) {
            queue.push_back(Event::Tick);
        }
    }

    /// Carries out one action; returns the event it led to, if any.
    fn perform(&mut self, action: Action, m: &Machine) -> Option<Event> {
        match action {
            Action::SpawnRun => {
                let settings = self.dir.settings(&mut |e| die::warn(PROG, e));
                match self.spawn("run", &[]) {
                    Ok(pid) => Some(Event::RunStarted { pid, settings }),
                    Err(e) => {
                        die::warn(PROG, &e);
                        Some(Event::RunFailed)
                    }
                }
            }
            Action::SpawnFinish { code, signal } => {
                if !fs::exists(&Path::from("finish")) {
                    return Some(Event::FinishFailed);
                }
                let code = CString::new(format!("{code}")).unwrap_or_default();
                let signal = CString::new(format!("{signal}")).unwrap_or_default();
                match self.spawn("finish", &[&code, &signal]) {
                    Ok(pid) => Some(Event::FinishStarted { pid }),
                    Err(e) => {
                        die::warn(PROG, &e);
                        Some(Event::FinishFailed)
                    }
                }
            }
            Action::Signal { pid, signal } => {
                self.kill(pid, signal);
                None
            }
            Action::SignalGroup { pgid, signal } => {
                self.kill(-pgid, signal);
                None
            }
            Action::Exit => unreachable!("the loop handles Exit before perform: {m:?}"),
        }
    }

    /// Spawns `./PROGRAM ARGS... NAME` in its own session.
    fn spawn(&self, program: &str, args: &[&CString]) -> Result<i32, Error> {
        let path = CString::new(format!("./{program}")).unwrap_or_default();
        let mut argv: Vec<&core::ffi::CStr> = Vec::with_capacity(args.len() + 2);
        argv.push(&path);
        argv.extend(args.iter().map(|a| a.as_c_str()));
        argv.push(&self.name);
        let opts = Spawn {
            new_session: true,
            ..Spawn::default()
        };
        process::spawn(&Path::from(path.as_c_str()), &argv, &opts)
            .doing(|| format!("spawn {}", self.dir.show(program)))
    }

    fn kill(&self, pid: i32, sig: i32) {
        match signal::kill(pid, sig) {
            // Already gone: its exit is on its way to us.
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                let e = Err::<(), _>(e)
                    .doing(|| format!("signal {} (pid {pid})", self.dir.shown))
                    .unwrap_err();
                die::warn(PROG, &e);
            }
        }
    }

    /// Writes `status`, `pid` and `stat` when what they say has changed.
    fn publish(&mut self, m: &Machine) {
        let s = m.status();
        let before = self.published;
        if before == Some(s) {
            return;
        }
        let (bytes, len) = s.encode();
        self.write("supervise/status", &bytes[..len]);
        if before.is_none_or(|b| b.pid != s.pid) {
            let pid = if s.pid != 0 {
                format!("{}\n", s.pid)
            } else {
                alloc::string::String::new()
            };
            self.write("supervise/pid", pid.as_bytes());
        }
        if before.is_none_or(|b| b.state != s.state) {
            let word: &[u8] = match s.state {
                RunState::Down => b"down\n",
                RunState::Run => b"run\n",
                RunState::Finish => b"finish\n",
            };
            self.write("supervise/stat", word);
        }
        self.published = Some(s);
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        if let Err(e) = fs::write_atomic(&Path::from(name), bytes, 0o644) {
            let e = Err::<(), _>(e)
                .doing(|| format!("write {}", self.dir.show(name)))
                .unwrap_err();
            die::warn(PROG, &e);
        }
    }
}

/// Makes (if needed) and opens a FIFO of `supervise/`, non-blocking.
fn open_fifo(name: &str, mode: i32, dir: &ServiceDir) -> Result<Fd, Error> {
    let path = Path::from(name);
    fs::mkfifo(&path, 0o600).doing(|| format!("create {}", dir.show(name)))?;
    let fd =
        fs::open(&path, mode | libc::O_NONBLOCK, 0).doing(|| format!("open {}", dir.show(name)))?;
    let meta = fs::fstat(&fd).doing(|| format!("stat {}", dir.show(name)))?;
    if !meta.is_fifo() {
        return Err(Error::other(
            format!("open {}", dir.show(name)),
            "not a FIFO",
        ));
    }
    Ok(fd)
}
