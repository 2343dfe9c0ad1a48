//! Finding the `run` a killed supervise left behind, so that a new
//! supervise waits for it instead of starting a second copy.
//!
//! The status file names the pid and when it started. A pid alone could
//! have been reused, so the process must also lead its own session (every
//! run is spawned with setsid) and have started when the status says.

use crate::sys::{Path, fs};
use crate::tai64::Tai64n;

/// How far the start time from /proc may be from the status's: /proc's boot
/// time has whole seconds, and the status is stamped just after the spawn.
const SLACK_SECS: u64 = 3;

/// The fields of /proc/PID/stat that identify a process.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ProcStat {
    /// R, S, D, Z, T...
    pub state: u8,
    pub session: i32,
    /// Clock ticks after boot.
    pub start_ticks: u64,
}

/// Parses /proc/PID/stat. The command name may hold spaces and
/// parentheses, so fields are counted from its last ')'.
pub fn parse_stat(text: &[u8]) -> Option<ProcStat> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = core::str::from_utf8(&text[close + 1..]).ok()?;
    let fields: alloc::vec::Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
    Some(ProcStat {
        state: *fields.first()?.as_bytes().first()?,
        session: fields.get(3)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// The boot time in Unix seconds, from /proc/stat's `btime` line.
pub fn parse_btime(text: &[u8]) -> Option<u64> {
    let text = core::str::from_utf8(text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether the process described by `stat` is the run a status file
/// recorded as `pid`, started at `changed`.
pub fn is_same_run(
    pid: i32,
    stat: &ProcStat,
    btime: u64,
    ticks_per_sec: u64,
    changed: Tai64n,
) -> bool {
    if stat.session != pid || matches!(stat.state, b'Z' | b'X' | b'x') || ticks_per_sec == 0 {
        return false;
    }
    let started = btime + stat.start_ticks / ticks_per_sec;
    started.abs_diff(changed.to_unix().as_secs()) <= SLACK_SECS
}

/// The still-running `run` recorded as `pid` with start `changed`, if it is
/// still that same process.
pub fn find(pid: u32, changed: Tai64n) -> Option<i32> {
    let pid = i32::try_from(pid).ok().filter(|p| *p > 0)?;
    let stat =
        parse_stat(&fs::read(&Path::new(alloc::format!("/proc/{pid}/stat").as_bytes())).ok()?)?;
    let btime = parse_btime(&fs::read_prefix(&Path::from("/proc/stat"), 1 << 16).ok()?)?;
    let hz = crate::sys::clock_ticks();
    is_same_run(pid, &stat, btime, hz, changed).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    const STAT: &[u8] = b"4120 (my (odd) run) S 1 4120 4120 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 5000 3133440 394";

    #[test]
    fn stat_fields_are_counted_after_the_last_paren() {
        assert_eq!(
            parse_stat(STAT),
            Some(ProcStat {
                state: b'S',
                session: 4120,
                start_ticks: 5000
            })
        );
        assert_eq!(parse_stat(b"garbage"), None);
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
        let zombie = ProcStat {
            state: b'Z',
            ..stat
        };
        assert!(!is_same_run(4120, &zombie, 1000, 100, at(1050)));
    }
}
