//! This process's environment, which exec passes on.

use super::{Result, check};
use core::ffi::CStr;

/// setenv(3), replacing any earlier value. `name` must not contain `=`.
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
