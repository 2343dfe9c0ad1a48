//! inotify: being told at once when a directory changes, instead of polling.

use super::{Fd, Path, Result, check};

/// An inotify instance; readable when something watched changed.
pub struct Inotify {
    fd: Fd,
}

impl Inotify {
    /// A new, non-blocking instance.
    pub fn new() -> Result<Inotify> {
        let fd = check(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
        Ok(Inotify {
            fd: Fd::from_raw(fd),
        })
    }

    /// Watches `path` for the events in `mask` (libc::IN_*); returns the
    /// watch descriptor.
    pub fn watch(&self, path: &Path, mask: u32) -> Result<i32> {
        check(unsafe { libc::inotify_add_watch(self.fd.raw(), path.as_cstr().as_ptr(), mask) })
    }

    /// Stops watching what `watch` returned `wd` for. EINVAL (the watched
    /// directory is gone, and the kernel dropped its watch) is for the
    /// caller to judge.
    pub fn unwatch(&self, wd: i32) -> Result<()> {
        check(unsafe { libc::inotify_rm_watch(self.fd.raw(), wd) }).map(drop)
    }

    /// What to poll for input.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Discards every queued event: callers re-read the state they watch,
    /// which is simpler and safer than interpreting each event.
    pub fn drain(&self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.fd.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}
