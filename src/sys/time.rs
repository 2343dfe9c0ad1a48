//! The two clocks: monotonic for deadlines, real time for what is published.

use core::time::Duration;

fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid clock id and pointer cannot fail.
    unsafe { libc::clock_gettime(id, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CLOCK_MONOTONIC: never jumps, what every deadline is measured on.
pub fn monotonic() -> Duration {
    clock(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME as time since the Unix epoch: what status files carry.
pub fn realtime() -> Duration {
    clock(libc::CLOCK_REALTIME)
}
