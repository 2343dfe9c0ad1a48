//! Finding the programs svkit starts: the suite's own binaries live beside
//! the running executable, so they are looked for there before PATH.

use super::{Errno, Path, Result};
use alloc::vec::Vec;
use core::ffi::CStr;

/// The running executable, symlinks resolved (/proc/self/exe).
pub fn own_exe() -> Result<Path> {
    let mut buf = alloc::vec![0u8; 4096];
    let link = c"/proc/self/exe";
    let n = unsafe { libc::readlink(link.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = super::check_size(n)?;
    // A name as long as the buffer may have been cut short.
    if n == buf.len() {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    Ok(Path::new(&buf[..n]))
}

/// Whether `path` is a regular file this process may execute.
pub fn is_executable(path: &Path) -> bool {
    // SAFETY: access takes a valid C string and cannot fault.
    let ok = unsafe { libc::access(path.as_cstr().as_ptr(), libc::X_OK) } == 0;
    ok && super::fs::stat(path).is_ok_and(|m| m.is_file())
}

/// The absolute, symlink-free form of an existing `path`.
pub fn real_path(path: &Path) -> Result<Path> {
    // SAFETY: a null second argument makes realpath allocate the result,
    // which is copied and freed here.
    let p = unsafe { libc::realpath(path.as_cstr().as_ptr(), core::ptr::null_mut()) };
    if p.is_null() {
        return Err(Errno::last());
    }
    let out = Path::from(unsafe { CStr::from_ptr(p) });
    unsafe { libc::free(p.cast()) };
    Ok(out)
}

/// The value of environment variable `name`, if set.
pub fn env(name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: getenv returns null or a pointer into the environment, copied
    // at once; svkit is single-threaded, so nothing changes it meanwhile.
    let v = unsafe { libc::getenv(name.as_ptr()) };
    (!v.is_null()).then(|| unsafe { CStr::from_ptr(v) }.to_bytes().to_vec())
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
