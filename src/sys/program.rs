//! Finding the programs svkit starts: the suite's own binaries live beside
//! the running executable, so they are looked for there before PATH.

use super::{Errno, Path, Result};
use alloc::vec::Vec;
use core::ffi::CStr;

/// The running executable, symlinks resolved (/proc/self/exe).
pub fn own_exe() -> Result<Path> {
    read_link(c"/proc/self/exe")
}

/// The target of symlink `link`. rustix's readlink makes its CString with
/// an unwrap, which brings core's Debug formatting along.
fn read_link(link: &CStr) -> Result<Path> {
    let mut buf = alloc::vec![0u8; 256];
    loop {
        let n = rustix::fs::readlinkat_raw(rustix::fs::CWD, link, &mut buf[..])?;
        if n < buf.len() {
            return Ok(Path::new(&buf[..n]));
        }
        buf.resize(2 * buf.len(), 0);
    }
}

/// Whether `path` is a regular file this process may execute.
pub fn is_executable(path: &Path) -> bool {
    let ok = rustix::fs::access(path.as_cstr(), rustix::fs::Access::EXEC_OK).is_ok();
    ok && super::fs::stat(path).is_ok_and(|m| m.is_file())
}

/// The absolute, symlink-free form of an existing `path`: the name the
/// kernel gives the file it opens there (/proc/self/fd), as realpath(3)
/// works it out.
pub fn real_path(path: &Path) -> Result<Path> {
    let flags = rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC;
    let fd = rustix::fs::open(path.as_cstr(), flags, rustix::fs::Mode::empty())?;
    let link = Path::from(
        alloc::format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&fd)).as_str(),
    );
    let name = read_link(link.as_cstr())?;
    if name.as_bytes().first() != Some(&b'/') {
        // "pipe:[...]" and the like: no name in the file tree.
        return Err(Errno(libc::ENOENT));
    }
    Ok(name)
}

/// The value of environment variable `name`, if set.
pub fn env(name: &CStr) -> Option<Vec<u8>> {
    super::env::get(name.to_bytes())
}

/// Suite program `name` in the directory of the running executable, where
/// the suite installs its programs together: absolute, so it stays valid
/// after a chdir.
pub fn beside_own_exe(name: &str) -> Option<Path> {
    let exe = own_exe().ok()?;
    let b = exe.as_bytes();
    let dir = &b[..b.iter().rposition(|&c| c == b'/')?];
    let p = Path::new(dir).join(name);
    is_executable(&p).then_some(p)
}

/// The first executable `name` on PATH, made absolute (a relative PATH
/// entry means the directory we are in now).
pub fn on_path(name: &str) -> Option<Path> {
    let path = env(c"PATH").unwrap_or_default();
    path.split(|&c| c == b':')
        // An empty entry means the current directory, as for execvp.
        .map(|d| {
            if d.is_empty() {
                Path::from(".")
            } else {
                Path::new(d)
            }
        })
        .map(|d| d.join(name))
        .find(is_executable)
        .and_then(|p| real_path(&p).ok())
}

unsafe extern "C" {
    /// glibc's basename of argv[0], set before main.
    static program_invocation_short_name: *const core::ffi::c_char;
}

/// The name this program was called by: the last part of argv[0] (runit's
/// sv behaves as an init script when linked under another name).
pub fn invoked_name() -> &'static CStr {
    // SAFETY: glibc points program_invocation_short_name into argv[0],
    // which lives as long as the process, before main runs, and nothing
    // changes it afterwards; a null pointer is checked.
    unsafe {
        let p = program_invocation_short_name;
        if p.is_null() { c"" } else { CStr::from_ptr(p) }
    }
}
