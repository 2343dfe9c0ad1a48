//! This process's environment, which exec passes on.

use super::{Result, check};
use core::ffi::{CStr, c_char};
use core::sync::atomic::{AtomicPtr, Ordering};

/// The environment the program started with (`sys::init`), which children
/// inherit.
static ENVIRON: AtomicPtr<*mut u8> = AtomicPtr::new(core::ptr::null_mut());

/// Keeps `envp` for `environ`.
///
/// # Safety
/// `envp` must be null or a NULL-terminated array of C strings that lives
/// and stays unchanged as long as the process.
pub(crate) unsafe fn init(envp: *mut *mut u8) {
    ENVIRON.store(envp, Ordering::Relaxed);
}

/// The environment as execve wants it: what the process started with.
pub(crate) fn environ() -> *const *const u8 {
    let p = ENVIRON.load(Ordering::Relaxed);
    if p.is_null() {
        return started_with();
    }
    p.cast_const().cast()
}

/// A unit test's environment, which std's start-up, not `main!`, took.
#[cfg(test)]
fn started_with() -> *const *const u8 {
    unsafe extern "C" {
        static environ: *const *const u8;
    }
    // SAFETY: std links the C library, which keeps `environ` valid.
    unsafe { environ }
}

/// Nobody called `init`: an empty environment.
#[cfg(not(test))]
fn started_with() -> *const *const u8 {
    static EMPTY: [usize; 1] = [0];
    EMPTY.as_ptr().cast()
}

/// The `NAME=value` entries of the starting environment.
pub(crate) fn entries() -> impl Iterator<Item = &'static CStr> {
    let mut p = environ();
    core::iter::from_fn(move || {
        // SAFETY: `init`'s promise: a NULL-terminated array of C strings
        // that outlives the process; `p` never passes the NULL.
        unsafe {
            if (*p).is_null() {
                return None;
            }
            let s = CStr::from_ptr((*p).cast::<c_char>());
            p = p.add(1);
            Some(s)
        }
    })
}

/// setenv(3), replacing any earlier value. `name` must not contain `=`.
/// (The C library's environment: exec'd programs, glibc programs only.)
pub fn set(name: &CStr, value: &CStr) -> Result<()> {
    // SAFETY: both are NUL-terminated; svkit is single-threaded, so nothing
    // reads the environment while it changes.
    check(unsafe { libc::setenv(name.as_ptr(), value.as_ptr(), 1) }).map(drop)
}

/// unsetenv(3); removing a variable that is not set is not an error.
pub fn unset(name: &CStr) -> Result<()> {
    // SAFETY: as for `set`.
    check(unsafe { libc::unsetenv(name.as_ptr()) }).map(drop)
}
