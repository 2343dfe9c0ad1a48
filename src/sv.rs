//! runit's `sv`: control and status of services by name, with runit's
//! output and exit codes, over any supervise that publishes runit's
//! status prefix (svkit's, runit's runsv). See man/sv.8.
//!
//! This follows runit 2.1.2's sv step by step: the same actions, the
//! same lines (`ok:`, `fail:`, `warning:`, `timeout:`, `kill:`), the same
//! wait (every 420 ms up to `-w` seconds, default 7 or $SVWAIT) and the
//! same exit code, one per failed service, at most 99.

use crate::error::Error;
use crate::sys::fd::Out;
use crate::sys::{Errno, Fd, Path, fork, fs, process, sigflag};
use crate::tai64::Tai64n;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::fmt::Write;
use core::time::Duration;

/// runit's pause between looks while waiting.
const POLL: Duration = Duration::from_millis(420);

/// What one command does: `acts` are the control bytes sent (or checked
/// for), `control` whether they are sent at all, `status` for `sv status`,
/// `wait` whether sv then waits for the state they lead to, `kill` whether
/// a service still not there when the time is up gets SIGKILL.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Plan {
    pub acts: &'static [u8],
    pub control: bool,
    pub status: bool,
    pub wait: bool,
    pub kill: bool,
}

/// runit's reading of COMMAND, by its first letter and a few whole
/// words; None is a usage error.
pub fn plan(action: &[u8], verbose: bool, lsb: bool) -> Option<Plan> {
    let p = |acts: &'static [u8], kill: bool, wait: bool| Plan {
        acts,
        control: true,
        status: false,
        wait: wait || verbose,
        kill,
    };
    let first = *action.first()?;
    Some(match first {
        b'x' | b'e' => p(b"x", false, false),
        b'X' | b'E' => p(b"x", true, true),
        b'D' => p(b"d", true, true),
        b'T' => p(b"tc", true, true),
        b't' if action == b"try-restart" => p(b"tc", false, true),
        b'c' if action == b"check" => Plan {
            acts: b"C",
            control: false,
            status: false,
            wait: true,
            kill: false,
        },
        b't' | b'c' | b'u' | b'd' | b'o' | b'p' | b'h' | b'a' | b'i' | b'k' | b'q' | b'1'
        | b'2' => p(single(first), false, false),
        b's' => match action {
            b"shutdown" => p(b"x", false, true),
            b"start" => p(b"u", false, true),
            b"stop" => p(b"d", false, true),
            // Anything else starting with s is status, as in runit; as an
            // init script only `status` itself.
            _ if lsb && action != b"status" => return None,
            _ => Plan {
                acts: b"s",
                control: false,
                status: true,
                wait: false,
                kill: false,
            },
        },
        b'r' => match action {
            b"restart" => p(b"tcu", false, true),
            b"reload" => p(b"h", false, true),
            _ => return None,
        },
        b'f' => match action {
            b"force-reload" => p(b"tc", true, true),
            b"force-restart" => p(b"tcu", true, true),
            b"force-shutdown" => p(b"x", true, true),
            b"force-stop" => p(b"d", true, true),
            _ => return None,
        },
        _ => return None,
    })
}

fn single(c: u8) -> &'static [u8] {
    const ALL: &[u8] = b"tcudophaikq12";
    let i = ALL.iter().position(|&b| b == c).unwrap_or(0);
    &ALL[i..i + 1]
}

/// djb's words for the errnos sv reports, which runit prints; the C
/// library's for the rest.
fn error_str(e: Errno) -> &'static str {
    match e.0 {
        libc::ENOENT => "file does not exist",
        libc::EACCES => "access denied",
        libc::ENOTDIR => "not a directory",
        libc::ENXIO => "device not configured",
        libc::EPERM => "permission denied",
        libc::EAGAIN => "temporary failure",
        libc::EISDIR => "is a directory",
        libc::ELOOP => "symbolic link loop",
        libc::ENAMETOOLONG => "file name too long",
        libc::EROFS => "read-only file system",
        libc::EIO => "input/output error",
        libc::ENOMEM => "out of memory",
        _ => e.desc(),
    }
}

/// One run of sv over its services.
pub struct Sv<'a> {
    plan: Plan,
    /// Run as an init script (called by another name than sv): status
    /// exits 0 up, 3 down, 4 unknown, as LSB asks.
    lsb: bool,
    svdir: Path,
    wait: u64,
    services: Vec<Option<&'a CStr>>,
    rc: u32,
    start: Tai64n,
    now: Tai64n,
    islog: bool,
    status: [u8; 20],
    out: Out,
    err: Out,
    home: Fd,
}

impl<'a> Sv<'a> {
    /// Prepares `plan` for `services`; SVDIR and SVWAIT come from the
    /// environment (`wait` is -w's value, which wins).
    pub fn new(
        plan: Plan,
        lsb: bool,
        wait: Option<u64>,
        services: &'a [&'a CStr],
    ) -> Result<Sv<'a>, Error> {
        use crate::error::Doing;
        let svdir = crate::sys::program::env(c"SVDIR").unwrap_or_else(|| b"/service/".to_vec());
        let env_wait = crate::sys::program::env(c"SVWAIT").map(|v| lenient(&v));
        let now = Tai64n::now();
        Ok(Sv {
            plan,
            lsb,
            svdir: Path::new(&svdir),
            wait: wait.or(env_wait).unwrap_or(7),
            services: services.iter().map(|s| Some(*s)).collect(),
            rc: 0,
            start: now,
            now,
            islog: false,
            status: [0; 20],
            out: Out::stdout(),
            err: Out::stderr(),
            home: fs::open_cwd().doing(|| "open current directory".into())?,
        })
    }

    /// Does the command for every service, waits if the plan says so, and
    /// returns sv's exit code.
    pub fn run(mut self) -> i32 {
        for i in 0..self.services.len() {
            if !self.enter(i) {
                continue;
            }
            let worked = if self.plan.status {
                self.show_status(i);
                true
            } else if self.plan.control {
                let acts = self.plan.acts;
                self.control(i, acts) != -1
            } else {
                true
            };
            if !worked {
                self.services[i] = None;
            }
            self.leave();
        }
        if self.plan.wait {
            self.wait_all();
        }
        let _ = self.out.flush();
        self.rc.min(99) as i32
    }

    fn name(&self, i: usize) -> &[u8] {
        self.services[i].map_or(b"", |s| s.to_bytes())
    }

    /// chdir into service i (SVDIR/NAME for a plain name), or `fail:`.
    fn enter(&mut self, i: usize) -> bool {
        let Some(name) = self.services[i] else {
            return false;
        };
        let n = name.to_bytes();
        let plain = !n.is_empty() && n[0] != b'/' && n[0] != b'.' && !n.ends_with(b"/");
        let r = if plain {
            fs::chdir(&self.svdir).and_then(|()| fs::chdir(&Path::from(name)))
        } else {
            fs::chdir(&Path::from(name))
        };
        match r {
            Ok(()) => true,
            Err(e) => {
                self.line(
                    b"fail: ",
                    i,
                    b"unable to change to service directory",
                    Some(e),
                );
                self.rc += 1;
                self.services[i] = None;
                false
            }
        }
    }

    fn leave(&mut self) {
        // The directory sv started in is still open: going back can fail
        // only if it was removed, and then nothing relative is used.
        let _ = fs::fchdir(&self.home);
    }

    /// runit's out(): `PREFIX NAME[/log]: TEXT[: ERROR]`.
    fn line(&mut self, prefix: &[u8], i: usize, text: &[u8], e: Option<Errno>) {
        let name = self.name(i).to_vec();
        self.out.bytes(prefix);
        self.out.bytes(&name);
        if self.islog {
            self.out.bytes(b"/log");
        }
        self.out.bytes(b": ");
        self.out.bytes(text);
        if let Some(e) = e {
            self.out.bytes(b": ");
            self.out.bytes(error_str(e).as_bytes());
        }
        self.out.bytes(b"\n");
        let _ = self.out.flush();
    }

    fn warn(&mut self, i: usize, text: &[u8], e: Option<Errno>) {
        self.rc += 1;
        self.line(b"warning: ", i, text, e);
    }

    /// Reads supervise/status (runit's 20 bytes): 1 read, 0 supervise not
    /// running (reported), -1 trouble (reported).
    fn get_status(&mut self, i: usize) -> i32 {
        let ok = Path::from("supervise/ok");
        match fs::open(&ok, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
            Ok(_) => {}
            Err(Errno::ENXIO) => {
                if self.plan.acts.first() == Some(&b'x') {
                    self.line(b"ok: ", i, b"runsv not running", None);
                } else {
                    self.rc += 1;
                    self.line(b"fail: ", i, b"runsv not running", None);
                }
                return 0;
            }
            Err(e) => {
                self.warn(i, b"unable to open supervise/ok", Some(e));
                return -1;
            }
        }
        let fd = match fs::open(&Path::from("supervise/status"), libc::O_RDONLY, 0) {
            Ok(fd) => fd,
            Err(e) => {
                self.warn(i, b"unable to open supervise/status", Some(e));
                return -1;
            }
        };
        let mut buf = [0u8; 20];
        match fd.read(&mut buf) {
            Ok(20) => {
                self.status = buf;
                1
            }
            Ok(_) => {
                self.warn(i, b"unable to read supervise/status: bad format", None);
                -1
            }
            Err(e) => {
                self.warn(i, b"unable to read supervise/status", Some(e));
                -1
            }
        }
    }

    fn pid(&self) -> u32 {
        u32::from_le_bytes([
            self.status[12],
            self.status[13],
            self.status[14],
            self.status[15],
        ])
    }

    fn changed(&self) -> u64 {
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&self.status[..8]);
        u64::from_be_bytes(secs)
    }

    /// runit's svstatus_print: `run: NAME: (pid N) Ss, normally down...`
    /// without the newline; 1 up, 2 down, 0 trouble.
    fn print_status(&mut self, m: &[u8]) -> u32 {
        let normally_up = match fs::stat(&Path::from("down")) {
            Ok(_) => false,
            Err(Errno::ENOENT) => true,
            Err(e) => {
                self.err.bytes(b"warning: unable to stat ");
                self.err.bytes(m);
                self.err.bytes(b"/down: ");
                self.err.bytes(error_str(e).as_bytes());
                self.err.bytes(b"\n");
                let _ = self.err.flush();
                return 0;
            }
        };
        let pid = self.pid();
        let st = self.status;
        self.out.bytes(match st[19] {
            0 => b"down: ",
            1 => b"run: ",
            2 => b"finish: ",
            _ => b"",
        });
        self.out.bytes(m);
        self.out.bytes(b": ");
        if st[19] != 0 {
            let _ = write!(self.out, "(pid {pid}) ");
        }
        let secs = self.now.secs.saturating_sub(self.changed());
        let _ = write!(self.out, "{secs}s");
        if pid != 0 && !normally_up {
            self.out.bytes(b", normally down");
        }
        if pid == 0 && normally_up {
            self.out.bytes(b", normally up");
        }
        if pid != 0 && st[16] != 0 {
            self.out.bytes(b", paused");
        }
        if pid == 0 && st[17] == b'u' {
            self.out.bytes(b", want up");
        }
        if pid != 0 && st[17] == b'd' {
            self.out.bytes(b", want down");
        }
        if pid != 0 && st[18] != 0 {
            self.out.bytes(b", got TERM");
        }
        if pid != 0 { 1 } else { 2 }
    }

    /// `sv status`: the service's line, then its log's after `; `. As an
    /// init script, ends the process with LSB's status code.
    fn show_status(&mut self, i: usize) {
        match self.get_status(i) {
            1 => {}
            -1 if self.lsb => self.exit(4),
            _ => return,
        }
        let name = self.name(i).to_vec();
        let rc = self.print_status(&name);
        self.islog = true;
        match fs::chdir(&Path::from("log")) {
            Err(Errno::ENOENT) => self.out.bytes(b"\n"),
            Err(e) => {
                self.out.bytes(b"; ");
                self.warn(i, b"unable to change directory", Some(e));
            }
            Ok(()) => {
                self.out.bytes(b"; ");
                if self.get_status(i) != 0 {
                    self.print_status(b"log");
                    self.out.bytes(b"\n");
                }
            }
        }
        self.islog = false;
        let _ = self.out.flush();
        if self.lsb {
            self.exit(match rc {
                1 => 0,
                2 => 3,
                _ => 4,
            });
        }
    }

    fn exit(&mut self, code: i32) -> ! {
        let _ = self.out.flush();
        crate::sys::exit(code)
    }

    /// Sends `acts` unless the service already wants what the first says.
    fn control(&mut self, i: usize, acts: &[u8]) -> i32 {
        if self.get_status(i) <= 0 {
            return -1;
        }
        if self.status[17] == acts[0] && (acts[0] != b'd' || self.status[18] == 1) {
            return 0;
        }
        let fd = match fs::open(
            &Path::from("supervise/control"),
            libc::O_WRONLY | libc::O_NONBLOCK,
            0,
        ) {
            Ok(fd) => fd,
            Err(Errno::ENXIO) => {
                if acts[0] == b'x' {
                    self.line(b"ok: ", i, b"runsv not running", None);
                } else {
                    self.rc += 1;
                    self.line(b"fail: ", i, b"runsv not running", None);
                }
                return -1;
            }
            Err(e) => {
                self.warn(i, b"unable to open supervise/control", Some(e));
                return -1;
            }
        };
        // runsv's x takes the service down itself; svkit's supervise, like
        // daemontools', exits only once the service is down, so exit is
        // sent as down then exit, which runsv takes the same way.
        let wire: &[u8] = if acts == b"x" { b"dx" } else { acts };
        match fd.write(wire) {
            Ok(n) if n == wire.len() => 1,
            _ => {
                self.warn(i, b"unable to write to supervise/control", None);
                -1
            }
        }
    }

    /// Runs ./check with stdout closed: true when it exits 0 or is absent.
    fn check_script(&mut self, i: usize) -> bool {
        let name = self.name(i).to_vec();
        let warn = |err: &mut Out, what: &[u8], e: Errno| {
            err.bytes(b"warning: ");
            err.bytes(what);
            err.bytes(&name);
            err.bytes(b"/check: ");
            err.bytes(error_str(e).as_bytes());
            err.bytes(b"\n");
            let _ = err.flush();
        };
        match fs::stat(&Path::from("check")) {
            Ok(_) => {}
            Err(Errno::ENOENT) => return true,
            Err(e) => {
                warn(&mut self.err, b"unable to stat ", e);
                return false;
            }
        }
        let pid = match fork::fork() {
            Ok(Some(pid)) => pid,
            Ok(None) => {
                crate::sys::shape::close(1);
                let e = process::exec(c"./check", &[c"./check"]);
                warn(&mut self.err, b"unable to run ", e);
                crate::sys::exit(0)
            }
            Err(e) => {
                warn(&mut self.err, b"unable to fork for ", e);
                return false;
            }
        };
        match process::wait_for(pid) {
            Ok(w) => w.code() == Some(0),
            Err(e) => {
                warn(&mut self.err, b"unable to wait for child ", e);
                false
            }
        }
    }

    /// runit's check(): whether service i reached what `acts` asked for;
    /// 1 yes (an `ok:` line printed), 0 not yet, -1 never.
    fn reached(&mut self, i: usize) -> i32 {
        let r = self.get_status(i);
        if r == -1 {
            return -1;
        }
        for &a in self.plan.acts {
            if r == 0 {
                return if a == b'x' { 1 } else { -1 };
            }
            let pid = self.pid();
            let st = self.status;
            let started_before = self.start.secs > self.changed();
            let fine = match a {
                b'x' => false,
                b'u' => pid != 0 && st[19] == 1 && self.check_script(i),
                b'd' => pid == 0 && st[19] == 0,
                b'C' => pid == 0 || self.check_script(i),
                // A term or kill while wanted down: nothing to wait for.
                b't' | b'k' if pid == 0 && st[17] == b'd' => true,
                b't' | b'k' => !started_before && pid != 0 && st[18] == 0 && self.check_script(i),
                b'o' => !((pid == 0 && started_before) || (pid != 0 && st[17] != b'd')),
                b'p' => pid == 0 || st[16] != 0,
                b'c' => pid == 0 || st[16] == 0,
                _ => true,
            };
            if !fine {
                return 0;
            }
        }
        self.out.bytes(b"ok: ");
        let name = self.name(i).to_vec();
        self.print_status(&name);
        self.out.bytes(b"\n");
        let _ = self.out.flush();
        1
    }

    fn wait_all(&mut self) {
        loop {
            let elapsed = self.now.secs.saturating_sub(self.start.secs);
            let mut done = true;
            for i in 0..self.services.len() {
                if !self.enter(i) {
                    continue;
                }
                if self.reached(i) != 0 {
                    self.services[i] = None;
                } else {
                    done = false;
                }
                if self.services[i].is_some() && elapsed > self.wait {
                    self.out.bytes(if self.plan.kill {
                        b"kill: "
                    } else {
                        b"timeout: "
                    });
                    if self.get_status(i) > 0 {
                        let name = self.name(i).to_vec();
                        self.print_status(&name);
                        self.rc += 1;
                    }
                    self.out.bytes(b"\n");
                    let _ = self.out.flush();
                    if self.plan.kill {
                        self.control(i, b"k");
                    }
                    self.services[i] = None;
                }
                self.leave();
            }
            if done {
                return;
            }
            sigflag::sleep(POLL);
            self.now = Tai64n::now();
        }
    }
}

/// A number as djb's scan_ulong reads it: the leading digits.
pub fn lenient(v: &[u8]) -> u64 {
    v.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_runit_s_control_bytes() {
        let acts = |a: &str| plan(a.as_bytes(), false, false).map(|p| (p.acts, p.wait, p.kill));
        assert_eq!(acts("up"), Some((&b"u"[..], false, false)));
        assert_eq!(acts("term"), Some((&b"t"[..], false, false)));
        assert_eq!(acts("cont"), Some((&b"c"[..], false, false)));
        assert_eq!(acts("exit"), Some((&b"x"[..], false, false)));
        assert_eq!(acts("restart"), Some((&b"tcu"[..], true, false)));
        assert_eq!(acts("force-restart"), Some((&b"tcu"[..], true, true)));
        assert_eq!(acts("try-restart"), Some((&b"tc"[..], true, false)));
        assert_eq!(acts("check"), Some((&b"C"[..], true, false)));
        assert_eq!(acts("start"), Some((&b"u"[..], true, false)));
        assert_eq!(acts("shutdown"), Some((&b"x"[..], true, false)));
        assert!(plan(b"sss", false, false).unwrap().status);
        assert!(
            plan(b"sss", false, true).is_none(),
            "init scripts say status"
        );
        assert!(plan(b"status", false, true).unwrap().status);
        assert_eq!(acts("rot"), None);
        assert_eq!(acts("bogus"), None);
        assert_eq!(acts(""), None);
        assert!(plan(b"up", true, false).unwrap().wait, "-v waits");
    }
}
