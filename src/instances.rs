//! A service run as a pool of instances (man/svkit.7, "INSTANCES"): what
//! `S/instances` says, and where instance k keeps its state,
//! `S/instance/k/`. Shared by scan (which starts them), supervise (which
//! runs one), and svc and svstat (which act on every instance of S).

use crate::error::{Doing, Error};
use crate::servicedir::ServiceDir;
use crate::sys::{Path, fs, process};
use alloc::ffi::CString;
use alloc::format;
use alloc::vec::Vec;

/// The most instances one service may have: a larger count is refused
/// with a warning and treated as absent, the way a typo (`40000` for
/// `4`) must not fork tens of thousands of processes.
pub const MAX: u32 = 1000;

/// The settings file holding the count.
pub const FILE: &str = "instances";

/// The directory, inside S, holding one directory per instance.
pub const DIR: &str = "instance";

/// Files of S that readers of an instance directory look for in it
/// (svstat's "normally up" and readiness, daemontools' svstat's `down`):
/// each instance dir has a symlink to S's, dangling when S has none.
pub const LINKED: [&str; 5] = [
    "down",
    "check",
    "notify",
    "notification-fd",
    "watchdog-timeout",
];

/// What `S/instances` says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Count {
    /// No file, or one that is not usable: one plain service, as ever.
    Absent,
    /// A pool of this many instances (0: none runs).
    Pool(u32),
}

/// Parses the trimmed text of `S/instances`: Err with the reason for a
/// value that is not a count, or above `MAX`.
pub fn parse(text: &str) -> Result<u32, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a number of instances expected");
    }
    match text.parse::<u32>() {
        Ok(n) if n <= MAX => Ok(n),
        _ => Err("more instances than the limit of 1000"),
    }
}

/// Reads `dir/instances`; an unusable value is told through `warn`, with
/// the file and the value, and counts as absent.
pub fn read(dir: &ServiceDir, warn: &mut dyn FnMut(&Error)) -> Count {
    let Some(text) = dir.setting(FILE, warn) else {
        return Count::Absent;
    };
    match parse(&text) {
        Ok(n) => Count::Pool(n),
        Err(why) => {
            let mut shown = text;
            if shown.len() > 40 {
                let mut end = 40;
                while !shown.is_char_boundary(end) {
                    end -= 1;
                }
                shown.truncate(end);
                shown.push_str("...");
            }
            warn(&Error::other(
                format!("use {}", dir.show(FILE)),
                format!("{why}, not \"{shown}\": running one instance"),
            ));
            Count::Absent
        }
    }
}

/// The directory of instance `k` of S, relative to S.
pub fn home(k: u32) -> Path {
    Path::from(format!("{DIR}/{k}").as_str())
}

/// Makes instance `k`'s directory in S (the current directory): `instance/`,
/// `instance/K/` with its links to S's files, and `instance/K/supervise/`;
/// returns `instance/K`. Each directory must be a real one: a symlink
/// planted there by whoever owns S is refused, so that supervise never
/// creates its files where the link points.
pub fn make_home(dir: &ServiceDir, k: u32) -> Result<Path, Error> {
    let home = home(k);
    for d in [Path::from(DIR), home.clone(), home.join("supervise")] {
        let show = || dir.show(&d.lossy());
        fs::mkdir(&d, 0o755).doing(|| format!("create {}", show()))?;
        // O_NOFOLLOW: ELOOP for a symlink, whatever it points to.
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        fs::open(&d, flags, 0)
            .doing(|| format!("open {} as a directory, not a symlink", show()))?;
    }
    for name in LINKED {
        let target = Path::from(format!("../../{name}").as_str());
        fs::symlink(&target, &home.join(name))
            .doing(|| format!("create {}", dir.show(&home.join(name).lossy())))?;
    }
    Ok(home)
}

/// The environment of instance `k`'s programs: `base` (or supervise's
/// own) with `SVKIT_INSTANCE=k` and, while S is a pool,
/// `SVKIT_INSTANCES=N`, read at each start so that a resized pool's
/// restarted instances know the new size.
pub fn environment(dir: &ServiceDir, k: u32, base: Option<&[CString]>) -> Vec<CString> {
    const NAMES: [&str; 2] = ["SVKIT_INSTANCE", "SVKIT_INSTANCES"];
    let mut env = match base {
        Some(b) => b
            .iter()
            .filter(|v| {
                let name = v.as_bytes().split(|&c| c == b'=').next().unwrap_or(&[]);
                !NAMES.iter().any(|n| n.as_bytes() == name)
            })
            .cloned()
            .collect(),
        None => process::environment(&NAMES),
    };
    let mut push = |text: alloc::string::String| {
        // Digits only: no NUL can be in it.
        env.push(CString::new(text).unwrap_or_default())
    };
    push(format!("SVKIT_INSTANCE={k}"));
    if let Count::Pool(n) = read(dir, &mut |_| {}) {
        push(format!("SVKIT_INSTANCES={n}"));
    }
    env
}

/// The service dirs to act on for `dir` as given on a command line: its
/// instance directories when it is a pool, else `dir` itself. Silent: an
/// invalid count is scan's and supervise's to report.
pub fn expand(dir: &Path) -> (Count, Vec<Path>) {
    match read(&ServiceDir::new(dir.clone()), &mut |_| {}) {
        Count::Absent => (Count::Absent, alloc::vec![dir.clone()]),
        Count::Pool(n) => (
            Count::Pool(n),
            (1..=n).map(|k| dir.join(home(k).as_bytes())).collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_counts_up_to_the_limit() {
        assert_eq!(parse("4"), Ok(4));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("1000"), Ok(1000));
        assert!(parse("1001").is_err());
        assert!(parse("99999999999999999999").is_err());
    }

    #[test]
    fn parse_refuses_what_is_not_a_count() {
        for bad in ["", "-1", "+3", "four", "4 5", "0x10", "4.0"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
