//! A service run as a pool of instances (man/svkit.7, "INSTANCES"): what
//! `S/instances` says, and where instance k keeps its state,
//! `S/instance/k/`. Shared by scan (which starts them), supervise (which
//! runs one), and svc and svstat (which act on every instance of S).

use crate::control;
use crate::error::{Doing, Error};
use crate::report::Report;
use crate::request::{Outcome, Request};
use crate::servicedir::ServiceDir;
use crate::status;
use crate::sys::{Path, fs, process, time};
use crate::wait::{Goal, Watcher};
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The most instances one service may have: a larger count is refused
/// with a warning and treated as absent, the way a typo (`40000` for
/// `4`) must not fork tens of thousands of processes.
pub const MAX: u32 = 1000;

/// The settings file holding the count.
pub const FILE: &str = "instances";

/// The directory, inside S, holding one directory per instance.
pub const DIR: &str = "instance";

/// Files of S that readers of an instance directory look for in it (the
/// `down` that daemontools' svstat and svkit's read): each instance dir
/// has a symlink to S's, dangling when S has none. Only the one: each
/// link costs every instance's first start a file creation, and svkit's
/// readers find the readiness settings through `pool_of_instance`.
pub const LINKED: [&str; 1] = ["down"];

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
    match crate::sys::parse_digits(text.as_bytes()) {
        Some(n) if n <= u64::from(MAX) => Ok(n as u32),
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

/// The pool S when `dir` is one of its instance directories,
/// `S/instance/K` (K digits, S holding an `instances` file).
pub fn pool_of_instance(dir: &Path) -> Option<Path> {
    let b = dir.as_bytes();
    let b = b.strip_suffix(b"/").unwrap_or(b);
    let slash = b.iter().rposition(|&c| c == b'/')?;
    let (rest, k) = (&b[..slash], &b[slash + 1..]);
    if k.is_empty() || !k.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pool = match rest.strip_suffix(DIR.as_bytes())? {
        b"" => Path::from("."),
        p => Path::new(p.strip_suffix(b"/")?),
    };
    fs::exists(&pool.join(FILE)).then_some(pool)
}

/// Makes instance `k`'s directory in S (the current directory): `instance/`,
/// `instance/K/` with its links to S's files, and `instance/K/supervise/`;
/// returns `instance/K`. Each directory must be a real one: a symlink
/// planted there by whoever owns S is refused, so that supervise never
/// creates its files where the link points.
pub fn make_home(dir: &ServiceDir, k: u32) -> Result<Path, Error> {
    let home = home(k);
    let mut made = false;
    for d in [Path::from(DIR), home.clone(), home.join("supervise")] {
        let show = || dir.show(&d.lossy());
        let new = fs::mkdir_umasked(&d, 0o755).doing(|| format!("create {}", show()))?;
        made |= new && d == home;
        // O_NOFOLLOW with O_DIRECTORY: a symlink fails, whatever it points
        // to; the mode is then set on what was opened, never through a link.
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let fd = fs::open(&d, flags, 0)
            .doing(|| format!("open {} as a directory, not a symlink", show()))?;
        if new {
            crate::sys::dir::fchmod(&fd, 0o755).doing(|| format!("chmod {}", show()))?;
        }
    }
    // Made with the directory only: a restart costs no more system calls.
    for name in LINKED.iter().filter(|_| made) {
        let target = Path::from(format!("../../{name}").as_str());
        fs::symlink(&target, &home.join(name))
            .doing(|| format!("create {}", dir.show(&home.join(name).lossy())))?;
    }
    Ok(home)
}

/// The environment of instance `k`'s programs, when supervise's own will
/// not do: `base` (or supervise's own) with `SVKIT_INSTANCE=k` and, while
/// S is a pool, `SVKIT_INSTANCES=N`, read at each start so that an
/// instance restarted after a resize knows the new size. None when
/// supervise's environment, which scan sets, says both already: copying
/// it would cost every instance's supervise heap pages at every start.
pub fn environment(dir: &ServiceDir, k: u32, base: Option<&[CString]>) -> Option<Vec<CString>> {
    const NAMES: [&str; 2] = ["SVKIT_INSTANCE", "SVKIT_INSTANCES"];
    let count = fs::read_prefix(&dir.file(FILE), 32)
        .ok()
        .and_then(|b| parse(core::str::from_utf8(&b).ok()?.trim()).ok());
    let (k_text, n_text) = (format!("{k}"), count.map(|n| format!("{n}")));
    let inherited = |name| process::env_var(name);
    if base.is_none()
        && inherited(NAMES[0]).as_deref() == Some(k_text.as_bytes())
        && inherited(NAMES[1]).as_deref() == n_text.as_ref().map(|n| n.as_bytes())
    {
        return None;
    }
    let mut env: Vec<CString> = match base {
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
    // Digits only: no NUL can be in them.
    env.push(CString::new(format!("SVKIT_INSTANCE={k_text}")).unwrap_or_default());
    if let Some(n) = n_text {
        env.push(CString::new(format!("SVKIT_INSTANCES={n}")).unwrap_or_default());
    }
    Some(env)
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

/// What `svc` does with `dir` as given on its command line: the request
/// applied to the plain service, or to every instance of a pool. With
/// `roll`, a rolling restart instead (`roll`). Instances that cannot be
/// reached are told through `warn` while the others still get the
/// command; the error returned then sums them up.
pub fn svc(
    req: &Request,
    roll: bool,
    dir: &Path,
    warn: &mut dyn FnMut(&Error),
) -> Result<Outcome, Error> {
    let (count, dirs) = expand(dir);
    if roll {
        return self::roll(req.timeout, &dirs);
    }
    if count == Count::Absent {
        return req.apply(dir);
    }
    if let Some(down) = req.down_file {
        // The instances' `down` links lead here.
        let one = Request {
            down_file: Some(down),
            ..Request::default()
        };
        set_down_file(&one, dir)?;
    }
    // Every instance hears the command before any is waited for: a pool
    // goes down (or up) together, not one after the other.
    let mut reached = Vec::new();
    let mut failed = 0;
    for d in &dirs {
        let opened = control::open(d).and_then(|c| {
            let watcher = req.wait.map(|_| Watcher::new(d)).transpose()?;
            let before = match req.wait {
                Some(Goal::Restarted | Goal::RestartedReady) => Some(status::read(d)?),
                _ => None,
            };
            Ok((c, watcher, before))
        });
        match opened {
            Ok(o) => reached.push((d, o)),
            Err(e) => {
                warn(&e);
                failed += 1;
            }
        }
    }
    for (d, (c, _, _)) in &reached {
        if let Err(e) = control::write(c, d, &req.bytes) {
            warn(&e);
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(Error::other(
            format!("control {dir}"),
            format!("{failed} of {} instances not reached", dirs.len()),
        ));
    }
    let deadline = req.timeout.map(|t| time::monotonic() + t);
    for (_, (_, watcher, before)) in &reached {
        if let (Some(w), Some(goal)) = (watcher, req.wait) {
            // One deadline for the whole pool: `until` takes it as it is.
            if !w.until(goal, before.as_ref(), deadline)? {
                return Ok(Outcome::TimedOut);
            }
        }
    }
    Ok(Outcome::Done)
}

/// `-D`/`-U` alone on S itself.
fn set_down_file(one: &Request, dir: &Path) -> Result<(), Error> {
    let p = dir.join("down");
    match one.down_file {
        Some(true) => fs::open(&p, libc::O_WRONLY | libc::O_CREAT, 0o644)
            .map(drop)
            .doing(|| format!("create {p}")),
        Some(false) => match fs::unlink(&p) {
            Ok(()) | Err(crate::sys::Errno::ENOENT) => Ok(()),
            Err(e) => Err(e).doing(|| format!("remove {p}")),
        },
        None => Ok(()),
    }
}

/// `svc -R`: restarts the services in `dirs` one at a time, each waiting
/// until its new process is ready (`-wR`) within `timeout` before the
/// next is touched; stops at the first that is not (TimedOut), leaving the
/// rest on their old processes.
pub fn roll(timeout: Option<core::time::Duration>, dirs: &[Path]) -> Result<Outcome, Error> {
    let one = Request {
        bytes: alloc::vec![b'r'],
        wait: Some(Goal::RestartedReady),
        timeout,
        down_file: None,
    };
    for d in dirs {
        if one.apply(d)? == Outcome::TimedOut {
            return Ok(Outcome::TimedOut);
        }
    }
    Ok(Outcome::Done)
}

/// One thing svstat prints, in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Item {
    /// The line of a service dir; for an instance, its pool and number.
    Dir(Path, Option<(Path, u32)>),
    /// A pool's summary over the last N `Dir`s.
    Summary(Path, usize),
}

/// What svstat prints for `dirs`: each plain dir, each pool's instances
/// followed by its summary.
pub fn plan(dirs: &[Path]) -> Vec<Item> {
    let mut out = Vec::new();
    for dir in dirs {
        match expand(dir) {
            (Count::Absent, _) => out.push(Item::Dir(dir.clone(), None)),
            (Count::Pool(_), members) => {
                let n = members.len();
                for (d, k) in members.into_iter().zip(1..) {
                    out.push(Item::Dir(d, Some((dir.clone(), k))));
                }
                out.push(Item::Summary(dir.clone(), n));
            }
        }
    }
    out
}

/// svstat's last line for a pool, after one line per instance:
/// `S: 4 of 4 up, 4 ready`.
pub fn summary(pool: &Path, reports: &[Report]) -> String {
    let up = reports
        .iter()
        .filter(|r| r.status().is_some_and(|s| s.is_up()))
        .count();
    let ready = reports.iter().filter(|r| r.is_ready()).count();
    format!("{pool}: {up} of {} up, {ready} ready", reports.len())
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
    fn only_an_instance_path_has_a_pool() {
        // No `instances` file anywhere: never a pool.
        for p in ["/nonexistent/web/instance/3", "web", "instance/x", "/", ""] {
            assert_eq!(pool_of_instance(&Path::from(p)), None, "{p}");
        }
    }

    #[test]
    fn parse_refuses_what_is_not_a_count() {
        for bad in ["", "-1", "+3", "four", "4 5", "0x10", "4.0"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
