//! What svstat says about a service directory: daemontools' line to the
//! byte, then svkit's extensions; or one JSON object per line.

use crate::control;
use crate::error::{Error, Reason};
use crate::servicedir::ServiceDir;
use crate::status::{self, RunState, Status, Want, flag};
use crate::sys::{Errno, Path, fs};
use crate::tai64::Tai64n;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// What looking at a service directory found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Seen {
    /// Nobody reads `supervise/ok`.
    NotRunning,
    /// Something could not be read: daemontools says `unable to {verb}
    /// {file}: {reason}` ("open supervise/status"); `file` is empty when it
    /// is the directory itself ("unable to chdir: ...").
    Trouble {
        verb: &'static str,
        file: &'static str,
        reason: Reason,
    },
    /// supervise runs but has not written its first status yet (it
    /// publishes once it has started the service, or decided not to).
    Starting,
    Running(Status),
}

/// One service directory, looked at.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Report {
    pub dir: Path,
    pub normally_up: bool,
    /// A supervise runs on the directory, whether or not its status could
    /// be read.
    pub supervised: bool,
    /// The service has a readiness mechanism (notification-fd, notify or
    /// check), so "ready" tells more than "up": as its status says, or its
    /// settings where a status older than version 3 does not.
    pub readiness: bool,
    pub seen: Seen,
    /// The service's last sd_notify STATUS= text, if any.
    pub message: Option<String>,
    /// What its processes use, when asked for (`metrics::read_usage`).
    pub usage: Option<crate::metrics::Usage>,
    /// For an instance of a pool: the pool's dir and the instance number,
    /// which JSON and Prometheus name instead of the instance's dir.
    pub pool: Option<(Path, u32)>,
}

/// Looks at `dir` in daemontools' svstat's order: the directory, `down`,
/// `supervise/ok`, `supervise/status`.
pub fn look(dir: &Path) -> Report {
    let sd = ServiceDir::new(dir.clone());
    let mut r = Report {
        dir: dir.clone(),
        normally_up: true,
        supervised: false,
        readiness: false,
        seen: Seen::NotRunning,
        message: None,
        usage: None,
        pool: None,
    };
    let trouble = |verb, file, e: Errno| Seen::Trouble {
        verb,
        file,
        reason: Reason::Errno(e),
    };
    match fs::stat(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Report {
                seen: trouble("chdir", "", Errno::ENOTDIR),
                ..r
            };
        }
        Err(e) => {
            return Report {
                seen: trouble("chdir", "", e),
                ..r
            };
        }
    }
    match fs::stat(&sd.file("down")) {
        Ok(_) => r.normally_up = false,
        Err(Errno::ENOENT) => {}
        Err(e) => {
            return Report {
                seen: trouble("stat", "down", e),
                ..r
            };
        }
    }
    let supervised = control::is_supervised(dir);
    r.supervised = matches!(supervised, Ok(true));
    r.seen = match supervised {
        Ok(false) => Seen::NotRunning,
        Err(e) => trouble("open", "supervise/ok", e.errno().unwrap_or(Errno::EINVAL)),
        Ok(true) => match fs::read_prefix(&status::path(dir), 1024) {
            Err(Errno::ENOENT) => Seen::Starting,
            Err(e) => trouble("open", "supervise/status", e),
            Ok(bytes) => match Status::decode(&bytes) {
                Ok(s) => Seen::Running(s),
                Err(_) => Seen::Trouble {
                    verb: "read",
                    file: "supervise/status",
                    reason: Reason::Text("bad format".into()),
                },
            },
        },
    };
    if let Seen::Running(s) = &r.seen {
        r.readiness = s.has_readiness().unwrap_or_else(|| sd.has_readiness());
        // Only a running service's text is shown.
        if s.is_up() && s.has_message() != Some(false) {
            r.message = fs::read_prefix(&sd.file("supervise/message"), 200)
                .ok()
                .map(|b| {
                    let line = b.split(|&c| c == b'\n').next().unwrap_or(&[]);
                    String::from_utf8_lossy(line).into_owned()
                })
                .filter(|m| !m.is_empty());
        }
    }
    r
}

/// The services of `dir` when it is a scanned tree rather than a service
/// (no `run`, no `supervise/`, and subdirectories): each subdirectory
/// whose name does not start with `.`, as scan would supervise it, and
/// its `log/` after it, sorted by name. None for anything else.
pub fn services_in(dir: &Path) -> Option<alloc::vec::Vec<Path>> {
    if !fs::stat(dir).is_ok_and(|m| m.is_dir())
        || fs::exists(&dir.join("run"))
        || fs::exists(&dir.join("supervise"))
    {
        return None;
    }
    let mut names = fs::list_dir(dir).ok()?;
    names.retain(|n| n.first() != Some(&b'.'));
    names.sort();
    let mut found = alloc::vec::Vec::new();
    for name in names {
        let service = dir.join(&name);
        if !fs::stat(&service).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let log = service.join("log");
        found.push(service);
        if fs::stat(&log).is_ok_and(|m| m.is_dir()) {
            found.push(log);
        }
    }
    (!found.is_empty()).then_some(found)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Report {
    /// The status, when it could be read.
    pub fn status(&self) -> Option<&Status> {
        match &self.seen {
            Seen::Running(s) => Some(s),
            Seen::NotRunning | Seen::Starting | Seen::Trouble { .. } => None,
        }
    }

    /// What could not be read, as an error naming the full path.
    pub fn trouble(&self) -> Option<Error> {
        let Seen::Trouble { verb, file, reason } = &self.seen else {
            return None;
        };
        let doing = match *file {
            "" => format!("{verb} to {}", self.dir),
            file => format!("{verb} {}", self.dir.join(file)),
        };
        Some(Error::Sys {
            doing,
            reason: reason.clone(),
        })
    }

    /// Whether the service is up and, where it has a mechanism, ready.
    pub fn is_ready(&self) -> bool {
        self.status().is_some_and(|s| s.is_ready(self.readiness))
    }

    /// svstat's line, without the newline.
    pub fn text(&self, now: Tai64n) -> String {
        let mut out = format!("{}: ", self.dir);
        let s = match &self.seen {
            Seen::NotRunning => return out + "supervise not running",
            Seen::Starting => return out + "supervise starting",
            Seen::Trouble {
                verb,
                file: "",
                reason,
            } => return out + &format!("unable to {verb}: {reason}"),
            Seen::Trouble { verb, file, reason } => {
                return out + &format!("unable to {verb} {file}: {reason}");
            }
            Seen::Running(s) => s,
        };
        let up = s.pid != 0;
        let secs = s.changed.min(now).seconds_until(now);
        let _ = match up {
            true => write!(out, "up (pid {}) {secs} seconds", s.pid),
            false => write!(out, "down {secs} seconds"),
        };
        if up && !self.normally_up {
            out += ", normally down";
        }
        if !up && self.normally_up {
            out += ", normally up";
        }
        if up && s.paused {
            out += ", paused";
        }
        if !up && s.want == Want::Up {
            out += ", want up";
        }
        // `svc -o` leaves daemontools' supervise wanting nothing, so its
        // svstat says no "want down"; svkit's status byte says `d`, as
        // runit's does, and the once flag tells the two apart.
        let once = s.ext.is_some_and(|x| x.has(flag::ONCE));
        if up && s.want == Want::Down && !once {
            out += ", want down";
        }
        let Some(x) = s.ext else { return out };
        if s.state == RunState::Finish {
            out += ", finishing";
        }
        if self.readiness && s.is_up() {
            match x.has(flag::READY) {
                true => {
                    out += &format!(", ready {} seconds", x.ready_at.min(now).seconds_until(now))
                }
                false => out += ", not ready",
            }
        }
        if s.is_up() {
            for (bit, word) in [
                (flag::RELOADING, ", reloading"),
                (flag::STOPPING, ", stopping"),
                (flag::HEALTHY, ", healthy"),
                (flag::UNHEALTHY, ", unhealthy"),
            ] {
                if x.has(bit) {
                    out += word;
                }
            }
        }
        if x.has(flag::BACKING_OFF) {
            out += &format!(", backing off {} seconds", now.seconds_until(x.next_start));
        }
        if x.has(flag::PERMANENT_FAILURE) {
            out += ", permanent failure";
        }
        if x.deaths > 0 {
            out += &format!(", {}", plural(x.deaths.into(), "death", "deaths"));
        }
        if x.memory_restarts > 0 {
            let n = x.memory_restarts.into();
            out += &format!(", {}", plural(n, "memory restart", "memory restarts"));
        }
        if let Some(m) = self.message.as_ref().filter(|_| s.is_up()) {
            out += &format!(", status \"{m}\"");
        }
        out
    }

    /// Whether the last health check of a running service passed: None
    /// when there is no check result to tell.
    pub fn healthy(&self) -> Option<bool> {
        let x = self.status().filter(|s| s.is_up())?.ext?;
        match (x.has(flag::HEALTHY), x.has(flag::UNHEALTHY)) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }

    /// One JSON object, without the newline.
    pub fn json(&self, now: Tai64n) -> String {
        let mut o = match &self.pool {
            Some((pool, k)) => format!(
                "{{\"service\":{},\"instance\":{k},\"dir\":{}",
                json_str(&pool.lossy()),
                json_str(&self.dir.lossy())
            ),
            None => format!("{{\"dir\":{}", json_str(&self.dir.lossy())),
        };
        let s = match &self.seen {
            Seen::NotRunning => return o + ",\"supervise\":false}",
            Seen::Starting => return o + ",\"supervise\":true,\"starting\":true}",
            Seen::Trouble { .. } => {
                let e = self.trouble().map(|e| format!("{e}")).unwrap_or_default();
                return o + &format!(",\"error\":{}}}", json_str(&e));
            }
            Seen::Running(s) => s,
        };
        let state = match s.state {
            RunState::Down => "down",
            RunState::Run => "run",
            RunState::Finish => "finish",
        };
        let want = match s.want {
            Want::Up => "\"up\"",
            Want::Down => "\"down\"",
            Want::Neither => "null",
        };
        let pid = if s.pid != 0 {
            format!("{}", s.pid)
        } else {
            "null".into()
        };
        let _ = write!(
            o,
            ",\"supervise\":true,\"state\":\"{state}\",\"up\":{},\"pid\":{pid},\"seconds\":{},\"normally_up\":{},\"want\":{want},\"paused\":{},\"ready\":{}",
            s.is_up(),
            s.changed.min(now).seconds_until(now),
            self.normally_up,
            s.pid != 0 && s.paused,
            self.is_ready(),
        );
        if let Some(x) = s.ext {
            let since = |t: Tai64n| {
                if t.is_zero() {
                    "null".into()
                } else {
                    format!("{}", t.min(now).seconds_until(now))
                }
            };
            let next = if x.has(flag::BACKING_OFF) {
                format!("{}", now.seconds_until(x.next_start))
            } else {
                "null".into()
            };
            let w = crate::sys::process::WaitStatus(x.last_wait);
            let num = |v: Option<i32>| v.map_or("null".into(), |n| format!("{n}"));
            let _ = write!(
                o,
                ",\"ready_seconds\":{},\"backing_off\":{},\"next_start_seconds\":{next},\"deaths\":{},\"permanent_failure\":{},\"once\":{},\"last_exit_code\":{},\"last_exit_signal\":{},\"healthy\":{},\"reloading\":{},\"stopping\":{},\"memory_restarts\":{},\"message\":{}",
                if s.is_up() && x.has(flag::READY) {
                    since(x.ready_at)
                } else {
                    "null".into()
                },
                x.has(flag::BACKING_OFF),
                x.deaths,
                x.has(flag::PERMANENT_FAILURE),
                x.has(flag::ONCE),
                num(w.code()),
                num(w.signal()),
                self.healthy().map_or("null".into(), |h| format!("{h}")),
                s.is_up() && x.has(flag::RELOADING),
                s.is_up() && x.has(flag::STOPPING),
                x.memory_restarts,
                match (&self.message, s.is_up()) {
                    (Some(m), true) => json_str(m),
                    _ => "null".into(),
                },
            );
        }
        if let Some(u) = self.usage.filter(|_| s.is_up()) {
            let _ = write!(
                o,
                ",\"memory_bytes\":{},\"cpu_seconds\":{},\"open_fds\":{},\"processes\":{}",
                u.rss,
                crate::metrics::seconds(u.cpu_ticks),
                u.fds.map_or("null".into(), |n| format!("{n}")),
                u.processes,
            );
        }
        o + "}"
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Extension;
    use core::time::Duration;

    fn t(secs: u64) -> Tai64n {
        Tai64n::from_unix(Duration::from_secs(secs))
    }

    fn report(s: Status, normally_up: bool, readiness: bool) -> Report {
        Report {
            dir: Path::from("/service/web"),
            normally_up,
            supervised: true,
            readiness,
            seen: Seen::Running(s),
            message: None,
            usage: None,
            pool: None,
        }
    }

    fn status(pid: u32, want: Want, ext: Option<Extension>) -> Status {
        let state = if pid != 0 {
            RunState::Run
        } else {
            RunState::Down
        };
        Status {
            changed: t(1000),
            pid,
            paused: false,
            want,
            term_sent: false,
            state,
            ext,
        }
    }

    #[test]
    fn a_plain_service_reads_exactly_as_daemontools() {
        let x = Some(Extension {
            flags: flag::READY,
            ready_at: t(1000),
            ..Extension::default()
        });
        let r = report(status(4120, Want::Up, x), true, false);
        assert_eq!(r.text(t(1078)), "/service/web: up (pid 4120) 78 seconds");
        let r = report(
            status(0, Want::Up, Some(Extension::default())),
            false,
            false,
        );
        assert_eq!(r.text(t(1012)), "/service/web: down 12 seconds, want up");
        let r = report(status(5, Want::Down, None), false, false);
        assert_eq!(
            r.text(t(1001)),
            "/service/web: up (pid 5) 1 seconds, normally down, want down"
        );
    }

    #[test]
    fn extensions_follow_only_when_they_say_something() {
        let x = Extension {
            flags: flag::READY,
            ready_at: t(1002),
            ..Extension::default()
        };
        let r = report(status(4120, Want::Up, Some(x)), true, true);
        assert_eq!(
            r.text(t(1078)),
            "/service/web: up (pid 4120) 78 seconds, ready 76 seconds"
        );
        let x = Extension {
            flags: flag::BACKING_OFF,
            deaths: 5,
            next_start: t(1020),
            ..Extension::default()
        };
        let r = report(status(0, Want::Up, Some(x)), true, false);
        assert_eq!(
            r.text(t(1012)),
            "/service/web: down 12 seconds, normally up, want up, backing off 8 seconds, 5 deaths"
        );
    }

    #[test]
    fn a_once_service_reads_as_daemontools_says_it() {
        let x = Extension {
            flags: flag::ONCE,
            ..Extension::default()
        };
        let r = report(status(5, Want::Down, Some(x)), false, false);
        assert_eq!(
            r.text(t(1003)),
            "/service/web: up (pid 5) 3 seconds, normally down"
        );
    }

    #[test]
    fn a_clock_behind_the_status_shows_zero_seconds() {
        let r = report(status(1, Want::Up, None), true, false);
        assert_eq!(r.text(t(900)), "/service/web: up (pid 1) 0 seconds");
    }

    #[test]
    fn json_is_one_object_per_service() {
        let r = report(
            status(
                7,
                Want::Up,
                Some(Extension {
                    flags: flag::READY,
                    ..Extension::default()
                }),
            ),
            true,
            false,
        );
        let j = r.json(t(1010));
        assert!(j.starts_with("{\"dir\":\"/service/web\",\"supervise\":true,\"state\":\"run\",\"up\":true,\"pid\":7,\"seconds\":10"), "{j}");
        assert!(j.ends_with('}') && !j.contains('\n'));
        let r = Report {
            seen: Seen::NotRunning,
            supervised: false,
            ..r
        };
        assert_eq!(
            r.json(t(0)),
            "{\"dir\":\"/service/web\",\"supervise\":false}"
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
