//! Resource limits: getrlimit(2), setrlimit(2).

use super::{Result, check};

/// A resource, as libc numbers it (`libc::RLIMIT_NOFILE`, ...).
pub type Resource = libc::__rlimit_resource_t;

/// (soft, hard) limit of `resource`; `libc::RLIM_INFINITY` is unlimited.
pub fn get(resource: Resource) -> Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    check(unsafe { libc::getrlimit(resource, &mut r) })?;
    Ok((r.rlim_cur, r.rlim_max))
}

/// Sets the (soft, hard) limit of `resource`.
pub fn set(resource: Resource, soft: u64, hard: u64) -> Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    check(unsafe { libc::setrlimit(resource, &r) }).map(drop)
}
