//! logsink: multilog's logger. Reads stdin in large blocks, hands each
//! line to the script's actions and writes each directory's share of a
//! block with one write(2). See man/logsink.8.

pub mod gzip;
pub mod logdir;
pub mod multilog;
pub mod pattern;
pub mod processor;
pub mod rotation;
pub mod script;
pub mod stamp;

use crate::error::{Doing, Error};
use crate::sys::fd::Out;
use crate::sys::{Errno, Fd, fs, sigflag, signal, time};
use alloc::vec;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use core::time::Duration;
use logdir::{LogDir, PAUSE, find_newline};
use script::{Action, Script, Stamp};

/// The name in every message.
pub const PROG: &str = "logsink";

/// Set when the logger runs as daemontools' `multilog`, whose name its
/// messages then carry.
static AS_MULTILOG: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Makes the logger's messages say `multilog` instead of `logsink`.
pub fn call_multilog() {
    AS_MULTILOG.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// The name the logger's messages carry.
pub fn name() -> &'static str {
    if AS_MULTILOG.load(core::sync::atomic::Ordering::Relaxed) {
        "multilog"
    } else {
        PROG
    }
}

/// Bytes asked of each read(2): many lines per system call.
const READ: usize = 256 * 1024;
/// A directory's pending output is written once it reaches this.
const FLUSH: usize = 128 * 1024;
/// Patterns, `e` and `=` see this much of a line, stamp included.
const HEAD: usize = 1000;
/// `e` prints this much of a line.
const ALERT: usize = 200;
/// A status file holds the head padded with newlines to this size.
const STATUS: usize = 1001;
/// The pipe size asked for on stdin, so that a busy service wakes the
/// logger less often.
const PIPE_SIZE: i32 = 1 << 20;

/// Runs the script over stdin until end of input or SIGTERM.
pub fn run(script: Script) -> Result<(), Error> {
    // SAFETY: umask cannot fail. Files get multilog's modes, whatever the
    // caller's umask.
    unsafe { libc::umask(0o022) };
    let mut status = Vec::new();
    for path in &script.status_files {
        let f = fs::open(path, libc::O_WRONLY | libc::O_CREAT, 0o600)
            .doing(|| alloc::format!("write {path}"))?;
        status.push(f);
    }
    let mut dirs = Vec::new();
    for spec in &script.dirs {
        dirs.push(LogDir::open(spec.clone(), script.stamp)?);
    }
    sigflag::catch(&[libc::SIGTERM, libc::SIGALRM]).doing(|| "catch signals".into())?;
    // A closed stderr must not kill the logger through an `e` action.
    signal::ignore(libc::SIGPIPE);
    // SAFETY: F_SETPIPE_SZ only fails (harmlessly) when fd 0 is no pipe.
    unsafe { libc::fcntl(0, libc::F_SETPIPE_SZ, PIPE_SIZE) };
    let n = dirs.len();
    let mut sink = Sink {
        fast: !script.selects() && script.stamp == Stamp::None && script.max_line.is_none(),
        selects: script.selects(),
        script,
        dirs,
        status,
        outs: (0..n).map(|_| Vec::with_capacity(FLUSH + READ)).collect(),
        sel: vec![true; n],
        cont: false,
        cont_len: 0,
        head: [0; HEAD],
        prefix: [0; stamp::MAX],
        plen: 0,
        alert: Out::stderr(),
        rotate_asap: false,
    };
    sink.run()
}

struct Sink {
    script: Script,
    /// Every line goes unchanged to every directory: write straight from
    /// the input buffer.
    fast: bool,
    selects: bool,
    dirs: Vec<LogDir>,
    status: Vec<Fd>,
    /// Each directory's output not written yet.
    outs: Vec<Vec<u8>>,
    /// Which directories take the line being handled.
    sel: Vec<bool>,
    /// A line was handed on in part; the rest follows with `sel` unchanged.
    cont: bool,
    cont_len: usize,
    head: [u8; HEAD],
    /// The stamp of the lines being handled, and its length.
    prefix: [u8; stamp::MAX],
    plen: usize,
    alert: Out,
    /// SIGALRM or `a` asked for a rotation, done at the next line boundary.
    rotate_asap: bool,
}

impl Sink {
    fn run(&mut self) -> Result<(), Error> {
        // fd 0 belongs to the process, not to this function.
        let stdin = ManuallyDrop::new(Fd::from_raw(0));
        let mut buf = vec![0u8; READ + 1];
        let (mut start, mut end) = (0, 0);
        let mut term = false;
        let result = loop {
            term |= sigflag::take(libc::SIGTERM);
            self.rotate_asap |= sigflag::take(libc::SIGALRM);
            let at_boundary = start == end && !self.cont;
            if !self.cont && self.rotate_asap {
                self.rotate(false);
            }
            self.rotate_aged();
            if term && at_boundary {
                break Ok(());
            }
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            match sigflag::wait_input(&stdin, self.timeout()) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => break Err(e).doing(|| "wait for standard input".into()),
            }
            // A SIGTERM that came with the input it woke up for counts too.
            term |= sigflag::take(libc::SIGTERM);
            if term && start == end && !self.cont {
                break Ok(());
            }
            // After SIGTERM, read no further than the end of this line.
            let want = if term { 1 } else { READ - end };
            match stdin.read(&mut buf[end..end + want]) {
                Ok(0) => {
                    if end > start || self.cont {
                        // Complete a partial final line.
                        buf[end] = b'\n';
                        end += 1;
                        self.feed(&buf[..end], start, true);
                    }
                    break Ok(());
                }
                Ok(k) => {
                    end += k;
                    start = self.feed(&buf[..end], start, false);
                    self.flush();
                }
                Err(Errno::EAGAIN) => sigflag::sleep(Duration::from_millis(10)),
                Err(e) => break Err(e).doing(|| "read standard input".into()),
            }
        };
        self.flush();
        for d in &mut self.dirs {
            d.close();
        }
        result
    }

    /// Until when to wait for input: the earliest rotation by age.
    fn timeout(&self) -> Option<Duration> {
        let due = self.dirs.iter().filter_map(|d| d.due()).min()?;
        Some(
            due.saturating_sub(time::monotonic())
                .max(Duration::from_millis(1)),
        )
    }

    fn rotate_aged(&mut self) {
        if self.cont {
            return;
        }
        let now = time::monotonic();
        if self.dirs.iter().any(|d| d.due().is_some_and(|t| t <= now)) {
            self.rotate(true);
        }
    }

    /// Rotates every non-empty `current` (only the overdue ones by age).
    fn rotate(&mut self, aged_only: bool) {
        self.flush();
        let now = time::monotonic();
        for d in &mut self.dirs {
            let overdue = d.due().is_some_and(|t| t <= now);
            if d.bytes() > 0 && (!aged_only || overdue) {
                d.rotate();
            }
        }
        self.rotate_asap = false;
    }

    fn flush(&mut self) {
        for (d, out) in self.dirs.iter_mut().zip(&mut self.outs) {
            if !out.is_empty() {
                d.write(out);
                out.clear();
            }
        }
    }

    /// Handles the lines in `buf[start..]`; returns where the unhandled
    /// rest (a short partial line) begins.
    fn feed(&mut self, buf: &[u8], start: usize, eof: bool) -> usize {
        if self.fast {
            return self.feed_fast(buf, start, eof);
        }
        // One clock reading per read(2): the lines it brought arrived
        // together. Per line, clock_gettime alone took a sixth of the time
        // on a virtual machine's clock.
        if self.script.stamp != Stamp::None {
            self.plen = stamp::format(self.script.stamp, time::realtime(), &mut self.prefix);
        }
        let limit = self.script.max_line.unwrap_or(usize::MAX);
        let mut pos = start;
        while pos < buf.len() {
            let data = &buf[pos..];
            let nl = find_newline(data);
            if self.cont {
                let room = limit - self.cont_len;
                let (n, done) = match nl {
                    Some(i) if i <= room => (i + 1, true),
                    _ if data.len() > room => (room, true),
                    _ => (data.len(), false),
                };
                self.pass(&data[..n], done && data[n - 1] != b'\n');
                self.cont = !done;
                self.cont_len += n;
                pos += n;
                continue;
            }
            match nl {
                // A line longer than `l` is split, never cut.
                Some(i) if i > limit => {
                    self.line(&data[..limit], true);
                    pos += limit;
                }
                Some(i) => {
                    self.line(&data[..i], true);
                    pos += i + 1;
                }
                None if data.len() >= limit => {
                    self.line(&data[..limit], true);
                    pos += limit;
                }
                None if data.len() >= HEAD || eof => {
                    self.line(data, false);
                    self.cont = true;
                    self.cont_len = data.len();
                    pos = buf.len();
                }
                None => break,
            }
            if self.outs.iter().any(|o| o.len() >= FLUSH) {
                self.flush();
            }
        }
        pos
    }

    /// Without stamps or selection: whole lines straight from `buf`.
    fn feed_fast(&mut self, buf: &[u8], start: usize, eof: bool) -> usize {
        let data = &buf[start..];
        // SAFETY: memrchr reads at most data.len() bytes of data.
        let p = unsafe { libc::memrchr(data.as_ptr().cast(), b'\n' as i32, data.len()) };
        let mut cut = if p.is_null() {
            0
        } else {
            p as usize - data.as_ptr() as usize + 1
        };
        // A line as long as half the buffer goes out in pieces.
        if cut == 0 && (data.len() >= READ / 2 || eof) {
            cut = data.len();
        }
        if cut > 0 {
            for d in &mut self.dirs {
                d.write(&data[..cut]);
            }
            self.cont = data[cut - 1] != b'\n';
        }
        start + cut
    }

    /// The rest of a line handed on in part, to the directories its head
    /// went to; `newline` ends a line split by `l`.
    fn pass(&mut self, bytes: &[u8], newline: bool) {
        for (out, _) in self.outs.iter_mut().zip(&self.sel).filter(|(_, s)| **s) {
            out.extend_from_slice(bytes);
            if newline {
                out.push(b'\n');
            }
        }
    }

    /// One line (or the head of one), without its newline.
    fn line(&mut self, text: &[u8], complete: bool) {
        let (prefix, plen) = (self.prefix, self.plen);
        if self.selects {
            let take = text.len().min(HEAD - plen);
            self.head[..plen].copy_from_slice(&prefix[..plen]);
            self.head[plen..plen + take].copy_from_slice(&text[..take]);
            self.act(plen + take);
        }
        for (out, _) in self.outs.iter_mut().zip(&self.sel).filter(|(_, s)| **s) {
            out.extend_from_slice(&prefix[..plen]);
            out.extend_from_slice(text);
            if complete {
                out.push(b'\n');
            }
        }
    }

    /// Runs the actions on the head of a line (`self.head[..len]`).
    fn act(&mut self, len: usize) {
        let view = &self.head[..len];
        let mut selected = true;
        for a in &self.script.actions {
            match a {
                Action::Select(p) => selected = selected || pattern::matches(p, view),
                Action::Deselect(p) => selected = selected && !pattern::matches(p, view),
                Action::Alert if selected => {
                    self.alert.bytes(&view[..len.min(ALERT)]);
                    self.alert.bytes(if len > ALERT { b"...\n" } else { b"\n" });
                    // Nowhere to report a failing stderr.
                    let _ = self.alert.flush();
                }
                Action::Status(i) if selected => {
                    let mut padded = [b'\n'; STATUS];
                    padded[..len].copy_from_slice(view);
                    let path = &self.script.status_files[*i];
                    let mut trouble = false;
                    let fd = &self.status[*i];
                    while let Err(e) = fd.pwrite_all(&padded, 0) {
                        if !trouble {
                            let err = Err::<(), _>(e)
                                .doing(|| alloc::format!("write {path}"))
                                .unwrap_err();
                            crate::die::warn(name(), &format_args!("{err}, pausing"));
                            trouble = true;
                        }
                        sigflag::sleep(PAUSE);
                    }
                }
                Action::Alert | Action::Status(_) => {}
                Action::Dir(j) => self.sel[*j] = selected,
            }
        }
    }
}
