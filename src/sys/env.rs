//! This process's environment: what the program started with, changed by
//! `set` and `unset`, and passed on by spawn, fork and exec. svkit keeps it
//! itself rather than in the C library, which six of its programs do not
//! link, and all of them exec through `process::exec` with it.

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char};
use core::sync::atomic::{AtomicPtr, Ordering};

/// The environment the program started with (`sys::init`).
static STARTED: AtomicPtr<*mut u8> = AtomicPtr::new(core::ptr::null_mut());
/// The environment once `set` or `unset` changed it.
static CHANGED: Changed = Changed(UnsafeCell::new(None));

struct Changed(UnsafeCell<Option<Env>>);

// SAFETY: svkit's programs are single-threaded: nothing reads CHANGED
// while `set` or `unset` replaces it.
unsafe impl Sync for Changed {}

/// An environment of our own: its entries and the NULL-terminated array
/// of pointers to them that execve wants.
struct Env {
    /// What `pointers` point into, owned here.
    _entries: Vec<CString>,
    pointers: Vec<*const u8>,
}

/// Keeps `envp` for `environ`.
///
/// # Safety
/// `envp` must be null or a NULL-terminated array of C strings that lives
/// and stays unchanged as long as the process.
pub(crate) unsafe fn init(envp: *mut *mut u8) {
    STARTED.store(envp, Ordering::Relaxed);
}

/// The environment as execve wants it.
pub(crate) fn environ() -> *const *const u8 {
    // SAFETY: single-threaded (see `Changed`); only `change` mutates.
    if let Some(env) = unsafe { &*CHANGED.0.get() } {
        return env.pointers.as_ptr();
    }
    match STARTED.load(Ordering::Relaxed) {
        p if p.is_null() => started_with(),
        p => p.cast_const().cast(),
    }
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

/// The `NAME=value` entries of the environment, copied.
pub(crate) fn entries() -> Vec<CString> {
    let mut out = Vec::new();
    let mut p = environ();
    // SAFETY: `environ` is a NULL-terminated array of C strings, which
    // nothing changes while this single-threaded process reads it.
    unsafe {
        while !(*p).is_null() {
            out.push(CStr::from_ptr((*p).cast::<c_char>()).into());
            p = p.add(1);
        }
    }
    out
}

/// The value of `name`, copied.
pub(crate) fn get(name: &[u8]) -> Option<Vec<u8>> {
    // Read in place: not every entry copied to keep one.
    let mut p = environ();
    // SAFETY: as in `entries`: a NULL-terminated array of C strings that
    // nothing changes while this single-threaded process reads it.
    unsafe {
        while !(*p).is_null() {
            let entry = CStr::from_ptr((*p).cast::<c_char>()).to_bytes();
            if let Some(value) = entry.strip_prefix(name).and_then(|r| r.strip_prefix(b"=")) {
                return Some(value.to_vec());
            }
            p = p.add(1);
        }
    }
    None
}

/// Replaces the environment with `entries` less the ones named `name`,
/// plus `add`.
fn change(name: &[u8], add: Option<CString>) {
    let mut entries: Vec<CString> = entries()
        .into_iter()
        .filter(|e| e.as_bytes().split(|&b| b == b'=').next() != Some(name))
        .collect();
    entries.extend(add);
    let pointers = entries
        .iter()
        .map(|e| e.as_ptr().cast::<u8>())
        .chain([core::ptr::null()])
        .collect();
    // SAFETY: single-threaded (see `Changed`); the old arrays, dropped
    // here, are in no one's hands: `environ`'s callers use its result
    // before anything changes the environment again.
    unsafe {
        *CHANGED.0.get() = Some(Env {
            _entries: entries,
            pointers,
        })
    };
}

/// setenv(3), replacing any earlier value. `name` must not contain `=`.
pub fn set(name: &CStr, value: &CStr) -> super::Result<()> {
    let mut entry = name.to_bytes().to_vec();
    entry.push(b'=');
    entry.extend_from_slice(value.to_bytes());
    // Neither part holds a NUL: both were C strings.
    let entry = CString::new(entry).map_err(|_| super::Errno::EINVAL)?;
    change(name.to_bytes(), Some(entry));
    Ok(())
}

/// unsetenv(3); removing a variable that is not set is not an error.
pub fn unset(name: &CStr) -> super::Result<()> {
    change(name.to_bytes(), None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_unset_change_what_children_get() {
        set(c"SVKIT_ENV_TEST", c"one").unwrap();
        set(c"SVKIT_ENV_TEST", c"two").unwrap();
        assert_eq!(get(b"SVKIT_ENV_TEST").as_deref(), Some(&b"two"[..]));
        let n = entries()
            .iter()
            .filter(|e| e.as_bytes().starts_with(b"SVKIT_ENV_TEST="))
            .count();
        assert_eq!(n, 1, "replaced, not added");
        unset(c"SVKIT_ENV_TEST").unwrap();
        assert_eq!(get(b"SVKIT_ENV_TEST"), None);
        assert!(get(b"PATH").is_some(), "the rest stays");
    }
}
