//! Resource limits: getrlimit(2), setrlimit(2).

use super::{Errno, Result};
use rustix::process::{self, Rlimit};

/// A resource, as libc numbers it (`libc::RLIMIT_NOFILE`, ...).
pub type Resource = libc::__rlimit_resource_t;

/// rustix's name for a resource number.
fn resource(r: Resource) -> Result<process::Resource> {
    use process::Resource as R;
    Ok(match r {
        libc::RLIMIT_CPU => R::Cpu,
        libc::RLIMIT_FSIZE => R::Fsize,
        libc::RLIMIT_DATA => R::Data,
        libc::RLIMIT_STACK => R::Stack,
        libc::RLIMIT_CORE => R::Core,
        libc::RLIMIT_RSS => R::Rss,
        libc::RLIMIT_NPROC => R::Nproc,
        libc::RLIMIT_NOFILE => R::Nofile,
        libc::RLIMIT_MEMLOCK => R::Memlock,
        libc::RLIMIT_AS => R::As,
        libc::RLIMIT_LOCKS => R::Locks,
        libc::RLIMIT_SIGPENDING => R::Sigpending,
        libc::RLIMIT_MSGQUEUE => R::Msgqueue,
        libc::RLIMIT_NICE => R::Nice,
        libc::RLIMIT_RTPRIO => R::Rtprio,
        libc::RLIMIT_RTTIME => R::Rttime,
        _ => return Err(Errno::EINVAL),
    })
}

/// `libc::RLIM_INFINITY` for rustix's None.
fn raw(limit: Option<u64>) -> u64 {
    limit.unwrap_or(libc::RLIM_INFINITY)
}

/// rustix's None for `libc::RLIM_INFINITY`.
fn limit(raw: u64) -> Option<u64> {
    (raw != libc::RLIM_INFINITY).then_some(raw)
}

/// (soft, hard) limit of `resource`; `libc::RLIM_INFINITY` is unlimited.
pub fn get(r: Resource) -> Result<(u64, u64)> {
    let got = process::getrlimit(resource(r)?);
    Ok((raw(got.current), raw(got.maximum)))
}

/// Sets the (soft, hard) limit of `resource`.
pub fn set(r: Resource, soft: u64, hard: u64) -> Result<()> {
    let new = Rlimit {
        current: limit(soft),
        maximum: limit(hard),
    };
    Ok(process::setrlimit(resource(r)?, new)?)
}
