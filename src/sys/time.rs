//! The two clocks: monotonic for deadlines, real time for what is published.

use core::time::Duration;

use rustix::time::ClockId;

fn clock(id: ClockId) -> Duration {
    let ts = rustix::time::clock_gettime(id);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CLOCK_MONOTONIC: never jumps, what every deadline is measured on.
pub fn monotonic() -> Duration {
    clock(ClockId::Monotonic)
}

/// CLOCK_REALTIME as time since the Unix epoch: what status files carry.
pub fn realtime() -> Duration {
    clock(ClockId::Realtime)
}

/// A moment as the local calendar shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

unsafe extern "C" {
    fn tzset();
}

/// Reads the time zone (TZ, else /etc/localtime) once, for `local` (the
/// C library's: glibc programs only):
/// localtime_r, unlike localtime, need not do it on every call.
pub fn load_time_zone() {
    // SAFETY: tzset has no preconditions.
    unsafe { tzset() };
}

/// `unix` seconds in the time zone `load_time_zone` read, by the C
/// library's localtime_r; None for a moment it cannot represent.
pub fn local(unix: i64) -> Option<LocalTime> {
    let t: libc::time_t = unix;
    let mut tm = unsafe { core::mem::zeroed::<libc::tm>() };
    // SAFETY: localtime_r writes into `tm` and returns null on failure.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    Some(LocalTime {
        year: tm.tm_year as i64 + 1900,
        month: tm.tm_mon as u32 + 1,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
    })
}
