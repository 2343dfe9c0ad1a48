//! inotify: being told at once when a directory changes, instead of polling.

use super::{Fd, Path, Result};
use rustix::fs::inotify;

/// Bytes read at a time: room for a few events of the longest name (16
/// bytes of header, NAME_MAX + 1 of name), so a drain takes few reads,
/// and small on the stack, which a long-running scan keeps dirty.
const BUF: usize = 1024;

/// An inotify instance; readable when something watched changed.
pub struct Inotify {
    fd: Fd,
}

impl Inotify {
    /// A new, non-blocking instance.
    pub fn new() -> Result<Inotify> {
        let flags = inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC;
        Ok(Inotify {
            fd: inotify::init(flags)?.into(),
        })
    }

    /// Watches `path` for the events in `mask` (libc::IN_*); returns the
    /// watch descriptor.
    pub fn watch(&self, path: &Path, mask: u32) -> Result<i32> {
        let mask = inotify::WatchFlags::from_bits_retain(mask);
        Ok(inotify::add_watch(&self.fd, path.as_cstr(), mask)?)
    }

    /// Stops watching what `watch` returned `wd` for. EINVAL (the watched
    /// directory is gone, and the kernel dropped its watch) is for the
    /// caller to judge.
    pub fn unwatch(&self, wd: i32) -> Result<()> {
        Ok(inotify::remove_watch(&self.fd, wd)?)
    }

    /// What to poll for input.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Discards every queued event: callers re-read the state they watch,
    /// which is simpler and safer than interpreting each event.
    pub fn drain(&self) {
        self.drain_names(&mut |_| {});
    }

    /// Reads every queued event, handing `f` the name each carries (empty
    /// for an event on the watched directory itself).
    pub fn drain_names(&self, f: &mut dyn FnMut(&[u8])) {
        let mut buf = [0u8; BUF];
        while let Ok(n) = self.fd.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut at = 0;
            // struct inotify_event: wd, mask, cookie, len, then len bytes of
            // NUL-padded name; the kernel only returns whole events.
            while at + 16 <= n {
                let len =
                    u32::from_ne_bytes([buf[at + 12], buf[at + 13], buf[at + 14], buf[at + 15]]);
                let end = (at + 16 + len as usize).min(n);
                let name = &buf[at + 16..end];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                f(name);
                at = end;
            }
        }
    }
}
