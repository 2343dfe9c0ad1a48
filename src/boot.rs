//! The boot entry daemontools' inittab line runs: svscan on the service
//! tree, its output kept readable in `ps` by readproctitle.
//! See man/svscanboot.8.

use crate::error::{Doing, Error};
use crate::sys::process::{self, Spawn};
use crate::sys::{Path, fd, fs, program, shape};
use alloc::ffi::CString;
use alloc::format;
use alloc::vec::Vec;

/// The PATH svscan gets, daemontools' own, after the directory svkit's
/// programs are installed in, so that run scripts find svkit's drop-in
/// names before any other suite's.
const PATH: &str = "/command:/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin";

/// The title readproctitle scrolls svscan's messages through (400 dots,
/// daemontools' length).
fn dots() -> CString {
    let mut t = Vec::with_capacity(400);
    t.resize(400, b'.');
    // Dots hold no NUL.
    CString::new(t).unwrap_or_default()
}

/// A suite program: beside the running executable, else on PATH.
fn find(name: &str) -> Result<Path, Error> {
    program::beside_own_exe(name)
        .or_else(|| program::on_path(name))
        .ok_or_else(|| Error::other(format!("find {name}"), "not beside svscanboot nor on PATH"))
}

/// Starts `svscan DIR` with a clean environment, its stdin /dev/null and
/// its stdout and stderr into a pipe, then becomes `readproctitle` reading
/// that pipe. Returns only on failure.
pub fn run(dir: &Path) -> Result<core::convert::Infallible, Error> {
    let svscan = find("svscan")?;
    let readproctitle = find("readproctitle")?;
    let null =
        fs::open(&Path::from("/dev/null"), libc::O_RDWR, 0).doing(|| "open /dev/null".into())?;
    let (r, w) = fd::pipe().doing(|| "create pipe".into())?;
    let own = svscan.as_bytes();
    let own_dir = &own[..own.iter().rposition(|&c| c == b'/').unwrap_or(0)];
    let mut path = b"PATH=".to_vec();
    path.extend_from_slice(own_dir);
    path.push(b':');
    path.extend_from_slice(PATH.as_bytes());
    // No NUL can come from a path or the constant.
    let env = [CString::new(path).unwrap_or_default()];
    let argv0 = CString::new("svscan").unwrap_or_default();
    let argv = [argv0.as_c_str(), dir.as_cstr()];
    let opts = Spawn {
        dup: &[(null.raw(), 0), (w.raw(), 1), (w.raw(), 2)],
        env: Some(&env),
        ..Spawn::default()
    };
    process::spawn(&svscan, &argv, &opts).doing(|| format!("run {svscan}"))?;
    drop(w);
    shape::dup_onto(&r, 0).doing(|| "move the pipe to stdin".into())?;
    shape::dup_onto(&null, 1).doing(|| "redirect stdout".into())?;
    shape::dup_onto(&null, 2).doing(|| "redirect stderr".into())?;
    let title = dots();
    let argv = [c"readproctitle", c"service", c"errors:", title.as_c_str()];
    let errno = process::exec(readproctitle.as_cstr(), &argv);
    Err(Error::Sys {
        doing: format!("run {readproctitle}"),
        reason: crate::error::Reason::Errno(errno),
    })
}
