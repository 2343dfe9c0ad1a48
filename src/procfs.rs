//! What /proc says about running processes: /proc/PID/stat parsed in one
//! place, for supervise (its memory guard, the senders of sd_notify
//! messages, the daemon a pid file names, the run a killed supervise left
//! behind), scan (the same, and
//! how many tasks the machine runs) and svstat (what a service uses).

use crate::sys::{Path, fs, parse_digits};
use crate::tai64::Tai64n;
use alloc::format;

/// How far the start time from /proc may be from a status's: /proc's boot
/// time has whole seconds, and the status is stamped just after the spawn.
const SLACK_SECS: u64 = 3;

/// The fields of /proc/PID/stat svkit uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stat {
    /// R, S, D, Z, T...
    pub state: u8,
    /// The parent's pid.
    pub ppid: i32,
    pub session: i32,
    /// User and system CPU time, with that of reaped children, in clock
    /// ticks (USER_HZ).
    pub cpu_ticks: u64,
    /// When it started: clock ticks after boot.
    pub start_ticks: u64,
    /// Resident memory, in pages.
    pub rss_pages: u64,
}

/// Parses /proc/PID/stat. The command name may hold spaces and
/// parentheses, so fields are counted from its last ')'.
pub fn parse_stat(text: &[u8]) -> Option<Stat> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = core::str::from_utf8(&text[close + 1..]).ok()?;
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... utime(14)
    // stime(15) cutime(16) cstime(17) ... starttime(22) vsize(23) rss(24).
    let mut f = [""; 22];
    let mut fields = rest.split_ascii_whitespace();
    for slot in f.iter_mut() {
        *slot = fields.next()?;
    }
    let field = |n: usize| signed(f[n - 3]);
    let cpu_ticks = [14, 15, 16, 17].iter().try_fold(0u64, |t, &n| {
        Some(t.saturating_add(field(n)?.max(0) as u64))
    })?;
    Some(Stat {
        state: *f[0].as_bytes().first()?,
        ppid: i32::try_from(signed(f[4 - 3])?).ok()?,
        session: i32::try_from(field(6)?).ok()?,
        cpu_ticks,
        start_ticks: unsigned(f[22 - 3])?,
        rss_pages: field(24)?.max(0) as u64,
    })
}

/// A number as `str::parse::<u64>` reads it: an optional `+`, then digits.
fn unsigned(text: &str) -> Option<u64> {
    parse_digits(text.strip_prefix('+').unwrap_or(text).as_bytes())
}

/// A number as `str::parse::<i64>` reads it: an optional sign, then digits.
fn signed(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(digits) if !digits.starts_with('+') => {
            0i64.checked_sub_unsigned(parse_digits(digits.as_bytes())?)
        }
        _ => i64::try_from(unsigned(text)?).ok(),
    }
}

/// The stat of process `pid`; None when it is gone (or unreadable).
pub fn stat(pid: i32) -> Option<Stat> {
    // One read: the kernel makes the whole line at once, and a few
    // hundred bytes need no heap (the memory guard reads every process's
    // once a second).
    let fd = fs::open(
        &Path::from(format!("/proc/{pid}/stat").as_str()),
        libc::O_RDONLY,
        0,
    )
    .ok()?;
    let mut buf = [0u8; 1024];
    let n = fd.read_full(&mut buf).ok()?;
    parse_stat(&buf[..n])
}

/// Calls `each` with the pid and stat of every process; None when /proc
/// cannot be listed at all.
pub fn for_each(mut each: impl FnMut(i32, &Stat)) -> Option<()> {
    fs::each_name(&Path::from("/proc"), &mut |name| {
        let Some(pid) = parse_digits(name).and_then(|n| i32::try_from(n).ok()) else {
            return;
        };
        // A process that ended since the listing has nothing to tell.
        if let Some(stat) = self::stat(pid) {
            each(pid, &stat);
        }
    })
    .ok()
}

/// How many file descriptors process `pid` has open; None when its
/// /proc/PID/fd cannot be listed (another user's, without privileges).
pub fn open_fds(pid: i32) -> Option<u64> {
    let mut n = 0;
    fs::each_name(&Path::from(format!("/proc/{pid}/fd").as_str()), &mut |_| {
        n += 1
    })
    .ok()?;
    Some(n)
}

/// The number of processes (threads) on the machine, from /proc/loadavg:
/// "0.15 0.27 0.13 1/1581 12345".
pub fn parse_tasks(loadavg: &[u8]) -> Option<u64> {
    let field = loadavg.split(|&b| b == b' ').nth(3)?;
    let total = field.split(|&b| b == b'/').nth(1)?;
    unsigned(core::str::from_utf8(total).ok()?)
}

/// The number of processes (threads) on the machine now.
pub fn tasks() -> Option<u64> {
    parse_tasks(&fs::read_prefix(&Path::from("/proc/loadavg"), 256).ok()?)
}

/// Resident bytes of all processes in session `sid` (a run script that
/// does not exec its daemon still has the daemon in its session); None
/// when /proc cannot be read at all.
pub fn session_rss(sid: i32) -> Option<u64> {
    let page = crate::sys::page_size();
    let mut total = 0u64;
    for_each(|_, stat| {
        if stat.session == sid {
            total = total.saturating_add(stat.rss_pages.saturating_mul(page));
        }
    })?;
    Some(total)
}

/// The boot time in Unix seconds, from /proc/stat's `btime` line.
pub fn parse_btime(text: &[u8]) -> Option<u64> {
    let text = core::str::from_utf8(text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| unsigned(v.trim()))
}

/// Whether the process described by `stat` is the run a status file
/// recorded as `pid`, started at `changed`: a pid alone could have been
/// reused, so it must also lead its own session (every run is spawned
/// with setsid) and have started when the status says.
pub fn is_same_run(pid: i32, stat: &Stat, btime: u64, ticks_per_sec: u64, changed: Tai64n) -> bool {
    if stat.session != pid || matches!(stat.state, b'Z' | b'X' | b'x') || ticks_per_sec == 0 {
        return false;
    }
    let started = btime + stat.start_ticks / ticks_per_sec;
    started.abs_diff(changed.to_unix().as_secs()) <= SLACK_SECS
}

/// The `run` a status recorded as `pid`, started at `changed`, if that
/// same process still runs: what a killed supervise left behind.
pub fn find_run(pid: u32, changed: Tai64n) -> Option<i32> {
    let pid = i32::try_from(pid).ok().filter(|p| *p > 0)?;
    let stat = stat(pid)?;
    let btime = parse_btime(&fs::read_prefix(&Path::from("/proc/stat"), 1 << 16).ok()?)?;
    is_same_run(pid, &stat, btime, crate::sys::clock_ticks(), changed).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    const STAT: &[u8] = b"4120 (my (odd) run) S 1 4120 4120 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 5000 3133440 394";

    #[test]
    fn stat_fields_are_counted_after_the_last_paren() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                state: b'S',
                ppid: 1,
                session: 4120,
                cpu_ticks: 13,
                start_ticks: 5000,
                rss_pages: 394,
            })
        );
        let odd = b"42 (a) b (c)) S 1 42 40 0 -1 4194560 100 0 0 0 11 22 3 4 20 0 1 0 123 4567 89 18446744073709551615";
        let odd = parse_stat(odd).unwrap();
        assert_eq!((odd.session, odd.cpu_ticks, odd.rss_pages), (40, 40, 89));
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(parse_stat(b"42 (x) S 1"), None);
    }

    #[test]
    fn btime_comes_from_its_line() {
        assert_eq!(
            parse_btime(b"cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn the_same_run_matches_session_and_start_time() {
        let stat = parse_stat(STAT).unwrap();
        // Started 50 s (5000 ticks at 100 Hz) after a boot at t=1000.
        let at = |secs| Tai64n::from_unix(Duration::from_secs(secs));
        assert!(is_same_run(4120, &stat, 1000, 100, at(1050)));
        assert!(is_same_run(4120, &stat, 1000, 100, at(1052)));
        assert!(
            !is_same_run(4120, &stat, 1000, 100, at(1060)),
            "started at another time: pid reused"
        );
        assert!(
            !is_same_run(4121, &stat, 1000, 100, at(1050)),
            "not its own session leader"
        );
        let zombie = Stat {
            state: b'Z',
            ..stat
        };
        assert!(!is_same_run(4120, &zombie, 1000, 100, at(1050)));
    }

    #[test]
    fn tasks_are_the_total_after_the_slash() {
        assert_eq!(parse_tasks(b"0.15 0.27 0.13 1/1581 12345\n"), Some(1581));
        assert_eq!(parse_tasks(b"0.15 0.27"), None);
        assert!(tasks().unwrap() > 0);
    }

    #[test]
    fn our_own_session_uses_memory() {
        let me = stat(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert!(session_rss(me.session).unwrap() > 0);
    }

    proptest::proptest! {
        #[test]
        fn numbers_read_as_str_parse_reads_them(
            text in "[-+]{0,2}[0-9]{0,21}[a ]?|[-+]?(9223372036854775808|18446744073709551616)"
        ) {
            proptest::prop_assert_eq!(unsigned(&text), text.parse::<u64>().ok());
            proptest::prop_assert_eq!(signed(&text), text.parse::<i64>().ok());
        }
    }
}
