//! A service directory: where its files are, and the settings they hold
//! (man/svkit.7). Settings are one small file each, whitespace-trimmed; an
//! invalid value is reported and treated as absent, never fatal.

use crate::error::Error;
use crate::status::Readiness;
use crate::sys::{Errno, Path, fs, parse_digits, signal};
use alloc::format;
use alloc::string::String;
use core::time::Duration;

/// A service directory: `path` is where to find its files from the current
/// directory, `shown` how to name it in messages (supervise works inside S,
/// so `path` is "." there while messages still say S).
#[derive(Clone, Debug)]
pub struct ServiceDir {
    pub path: Path,
    pub shown: Path,
}

impl ServiceDir {
    /// A service directory named the same for I/O and messages.
    pub fn new(path: Path) -> ServiceDir {
        ServiceDir {
            shown: path.clone(),
            path,
        }
    }

    /// The directory we are in, known to the user as `shown`.
    pub fn here(shown: Path) -> ServiceDir {
        ServiceDir {
            path: Path::from("."),
            shown,
        }
    }

    /// `name` inside the directory, for I/O.
    pub fn file(&self, name: &str) -> Path {
        inside(&self.path, name)
    }

    /// `name` inside the directory, for messages.
    pub fn show(&self, name: &str) -> Path {
        self.shown.join(name)
    }

    /// Whether the service is normally up: no `down` file.
    pub fn normally_up(&self) -> bool {
        !fs::exists(&self.file("down"))
    }

    /// Whether the service says when it is ready (notification-fd or
    /// notify) or has a check that can tell: then "ready" means more than
    /// "up". Only for a status file older than version 3, which does not
    /// say it: supervise publishes what it decided.
    ///
    /// Decided from the same parsed settings as supervise's, so that an
    /// invalid notification-fd, which supervise warns about and ignores,
    /// gives no readiness word in svstat either. Silently: invalid
    /// settings are supervise's to report, not every reader's.
    pub fn has_readiness(&self) -> bool {
        // An instance runs with its pool's settings (man/svkit.7).
        if let Some(pool) = crate::instances::pool_of_instance(&self.path) {
            return ServiceDir::new(pool).has_readiness();
        }
        let settings = Settings {
            has_check: self.helper("check", "", &mut |_| {}),
            ..self.launch_settings(&mut |_| {})
        };
        settings.readiness().is_mechanism()
    }

    /// A setting's trimmed text; None when the file is absent. A file that
    /// cannot be read is reported through `warn` and counts as absent.
    pub fn setting(&self, name: &str, warn: &mut dyn FnMut(&Error)) -> Option<String> {
        match fs::read_prefix(&self.file(name), 4096) {
            Ok(bytes) => match core::str::from_utf8(&bytes) {
                Ok(text) => Some(String::from(text.trim())),
                Err(_) => {
                    warn(&Error::other(
                        format!("use {}", self.show(name)),
                        "not text",
                    ));
                    None
                }
            },
            Err(Errno::ENOENT) => None,
            Err(e) => {
                warn(&Error::sys(format!("read {}", self.show(name)), e));
                None
            }
        }
    }

    /// A setting parsed by `parse`; `what` names the expected form in the
    /// warning for an invalid value.
    fn parsed<T>(
        &self,
        name: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
        warn: &mut dyn FnMut(&Error),
    ) -> Option<T> {
        let text = self.setting(name, warn)?;
        let value = parse(&text);
        if value.is_none() {
            warn(&Error::other(
                format!("use {}", self.show(name)),
                format!("{what} expected, not \"{text}\""),
            ));
        }
        value
    }

    /// Reads every setting supervise uses, warning about invalid ones.
    pub fn settings(&self, warn: &mut dyn FnMut(&Error)) -> Settings {
        let mut s = self.launch_settings(warn);
        self.other_settings(&mut s, warn);
        s
    }

    /// The settings `run` must be started with (its notification fd, the
    /// sd_notify environment): all supervise reads before the spawn, so
    /// that a restart waits on as few system calls as possible.
    pub fn launch_settings(&self, warn: &mut dyn FnMut(&Error)) -> Settings {
        let notify = fs::exists(&self.file("notify"));
        let watchdog = match notify {
            true => self.parsed("watchdog-timeout", "milliseconds", parse_ms, warn),
            false => None,
        };
        Settings {
            pidfile: self.pidfile(warn).is_some(),
            notification_fd: self.parsed(
                "notification-fd",
                "a file descriptor above 2",
                parse_fd,
                warn,
            ),
            notify,
            watchdog: watchdog.filter(|t| !t.is_zero()),
            ..Settings::default()
        }
    }

    /// Fills in what `launch_settings` left at the defaults.
    pub fn other_settings(&self, s: &mut Settings, warn: &mut dyn FnMut(&Error)) {
        let d = Settings::default();
        if let Some((min, max)) =
            self.parsed("backoff", "MIN MAX in milliseconds", parse_backoff, warn)
        {
            if min < BACKOFF_FLOOR {
                // `0 0` was an unthrottled crash loop: over a thousand
                // starts a second, and supervise's CPU with them.
                let floor = BACKOFF_FLOOR.as_millis();
                warn(&Error::other(
                    format!("use {} as given", self.show("backoff")),
                    format!(
                        "MIN {} ms is below the floor of {floor} ms: using {floor}",
                        min.as_millis()
                    ),
                ));
            }
            s.backoff_min = min.max(BACKOFF_FLOOR);
            s.backoff_max = max.max(s.backoff_min);
        }
        let sig = self.parsed(
            "down-signal",
            "a signal name or number",
            signal::parse,
            warn,
        );
        s.down_signal = sig.unwrap_or(d.down_signal);
        let ms =
            |name, warn: &mut dyn FnMut(&Error)| self.parsed(name, "milliseconds", parse_ms, warn);
        s.timeout_kill = ms("timeout-kill", warn).unwrap_or(d.timeout_kill);
        s.timeout_finish = ms("timeout-finish", warn).unwrap_or(d.timeout_finish);
        // Not executable, it would fail every time: a service never ready,
        // or restarted for a typo in its mode. Reported, and ignored.
        s.has_check = self.helper("check", "ignored", warn);
        s.check_interval = match s.has_check {
            true => ms("check-interval", warn),
            false => None,
        };
        if s.check_interval.is_some_and(|t| t.is_zero()) {
            // An interval of nothing would run checks back to back: say
            // so, and let check decide readiness only, as without one.
            warn(&Error::other(
                format!("use {}", self.show("check-interval")),
                "0 is no interval: check decides readiness only",
            ));
            s.check_interval = None;
        }
        s.check_retries = self
            .parsed("check-retries", "a number above 0", parse_count, warn)
            .unwrap_or(d.check_retries);
        s.check_grace = match s.has_check {
            true => ms("check-grace", warn).unwrap_or(d.check_grace),
            false => d.check_grace,
        };
        s.memory_limit = self.parsed("memory-limit", "bytes, with k, M or G", parse_bytes, warn);
        if s.pidfile {
            s.pidfile_timeout = ms("pidfile-timeout", warn).unwrap_or(d.pidfile_timeout);
        }
        s.has_stop = self.helper("stop", "using the down signal", warn);
        s.has_reload = self.helper("reload", "using SIGHUP", warn);
    }

    /// The name of the pid file `pidfile` holds (relative names are in the
    /// service directory); None without one. An empty `pidfile` is
    /// reported and counts as absent: `run` is then the service itself.
    pub fn pidfile(&self, warn: &mut dyn FnMut(&Error)) -> Option<String> {
        let name = self.setting("pidfile", warn)?;
        if name.is_empty() || name.contains('\0') {
            warn(&Error::other(
                format!("use {}", self.show("pidfile")),
                "a file name expected: run is supervised as the service",
            ));
            return None;
        }
        Some(name)
    }

    /// Whether the optional program `name` (check, stop, reload) is there
    /// to be run; one that is not executable is reported, saying what is
    /// done instead (`fallback`).
    fn helper(&self, name: &str, fallback: &str, warn: &mut dyn FnMut(&Error)) -> bool {
        match fs::stat(&self.file(name)) {
            Err(Errno::ENOENT) => false,
            Ok(meta) if meta.is_file() && meta.mode & 0o111 != 0 => true,
            Ok(_) => {
                warn(&Error::other(
                    format!("use {}", self.show(name)),
                    format!("not an executable file: {fallback}"),
                ));
                false
            }
            Err(e) => {
                let e = Error::sys(format!("use {}", self.show(name)), e);
                warn(&e);
                false
            }
        }
    }
}

/// The shortest `backoff` MIN: a crash loop starts `run` at most ten
/// times a second (man/supervise.8).
pub const BACKOFF_FLOOR: Duration = Duration::from_millis(100);

/// What supervise takes from the service directory at each start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Settings {
    /// Sent by `d` and `r` (default TERM).
    pub down_signal: i32,
    /// After the down signal, SIGKILL after this long (zero: never).
    pub timeout_kill: Duration,
    /// `finish` is killed after this long (zero: never).
    pub timeout_finish: Duration,
    /// Restart delay of the first short-lived run in a row.
    pub backoff_min: Duration,
    /// The longest restart delay of a crash loop.
    pub backoff_max: Duration,
    /// The service writes a newline to this fd when it is ready (s6).
    pub notification_fd: Option<i32>,
    /// Offer the sd_notify socket.
    pub notify: bool,
    /// With `notify`: restart when no WATCHDOG=1 comes for this long.
    pub watchdog: Option<Duration>,
    /// There is a `check` program.
    pub has_check: bool,
    /// Run `check` this often while up (only when there is a `check`).
    pub check_interval: Option<Duration>,
    /// Consecutive failed checks that restart the service.
    pub check_retries: u32,
    /// After each start, failed checks do not count for this long (zero:
    /// no grace).
    pub check_grace: Duration,
    /// Restart when the service's resident memory exceeds this (bytes).
    pub memory_limit: Option<u64>,
    /// `run` forks the daemon away and exits: follow the process its pid
    /// file names (the file's name is read from `pidfile` when needed).
    pub pidfile: bool,
    /// How long after `run` exits the pid file may take to name it.
    pub pidfile_timeout: Duration,
    /// There is an executable `stop`.
    pub has_stop: bool,
    /// There is an executable `reload`.
    pub has_reload: bool,
}

impl Settings {
    /// How the service tells when it is ready.
    pub fn readiness(&self) -> Readiness {
        Readiness::of(
            self.notification_fd.is_some() || self.notify,
            self.has_check,
        )
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            down_signal: libc::SIGTERM,
            timeout_kill: Duration::ZERO,
            timeout_finish: Duration::from_millis(5000),
            backoff_min: Duration::from_millis(1000),
            backoff_max: Duration::from_millis(60000),
            notification_fd: None,
            notify: false,
            watchdog: None,
            has_check: false,
            check_interval: None,
            check_retries: 3,
            check_grace: Duration::ZERO,
            memory_limit: None,
            pidfile: false,
            pidfile_timeout: Duration::from_millis(10_000),
            has_stop: false,
            has_reload: false,
        }
    }
}

/// Milliseconds as decimal digits.
pub fn parse_ms(text: &str) -> Option<Duration> {
    parse_digits(text.as_bytes()).map(Duration::from_millis)
}

/// A file descriptor number for notification-fd: not 0, 1 or 2, which
/// the service already uses.
pub fn parse_fd(text: &str) -> Option<i32> {
    let n = parse_count(text)?;
    (3..=1023).contains(&n).then_some(n as i32)
}

/// A positive count, plain digits.
pub fn parse_count(text: &str) -> Option<u32> {
    u32::try_from(parse_digits(text.as_bytes())?)
        .ok()
        .filter(|&n| n > 0)
}

/// Bytes, with an optional k, M or G suffix (powers of 1024).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let (digits, unit) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&text[..text.len() - 1], 1 << 20),
        b'g' | b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    parse_digits(digits.as_bytes())?
        .checked_mul(unit)
        .filter(|&n| n > 0)
}

/// `MIN MAX` in milliseconds, MIN no more than MAX.
pub fn parse_backoff(text: &str) -> Option<(Duration, Duration)> {
    let mut words = text.split_ascii_whitespace();
    let (min, max) = (parse_ms(words.next()?)?, parse_ms(words.next()?)?);
    (words.next().is_none() && min <= max).then_some((min, max))
}

/// `name` inside directory `dir`: `name` itself when `dir` is ".", so that
/// paths and messages of the current directory stay as short as given.
pub fn inside(dir: &Path, name: &str) -> Path {
    if dir.as_bytes() == b"." {
        Path::from(name)
    } else {
        dir.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_are_plain_digits() {
        assert_eq!(parse_ms("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_ms("0"), Some(Duration::ZERO));
        for bad in ["", "-1", "1.5", "1s", " 1", "99999999999999999999999"] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_bytes("1000"), Some(1000));
        assert_eq!(parse_bytes("64k"), Some(65536));
        assert_eq!(parse_bytes("2M"), Some(2 << 20));
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        for bad in ["", "k", "0", "1.5M", "-1", "1T", "99999999999999999999G"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn notification_fds_are_above_stderr() {
        assert_eq!(parse_fd("3"), Some(3));
        for bad in ["0", "1", "2", "-3", "x", "5000"] {
            assert_eq!(parse_fd(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_takes_min_then_max() {
        assert_eq!(
            parse_backoff("100 2000"),
            Some((Duration::from_millis(100), Duration::from_millis(2000)))
        );
        assert_eq!(
            parse_backoff("100\n2000"),
            Some((Duration::from_millis(100), Duration::from_millis(2000)))
        );
        assert_eq!(parse_backoff("2000 100"), None);
        assert_eq!(parse_backoff("100"), None);
        assert_eq!(parse_backoff("1 2 3"), None);
    }
}
