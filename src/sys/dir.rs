//! An open directory and the *at(2) calls relative to it, so that a log
//! directory keeps being the same directory whatever the cwd does.

use super::fs::Meta;
use super::{Errno, Fd, Path, Result, retry};
use alloc::vec::Vec;
use core::ffi::c_int;
use rustix::fs;

/// A directory held open by descriptor.
pub struct Dir {
    fd: Fd,
}

impl Dir {
    /// Opens the directory `path`.
    pub fn open(path: &Path) -> Result<Dir> {
        let fd = super::fs::open(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        Ok(Dir { fd })
    }

    /// The descriptor, to fchdir to.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Opens `name` inside this directory (O_CLOEXEC is always added).
    pub fn open_file(&self, name: &Path, flags: c_int, mode: u32) -> Result<Fd> {
        super::fs::open_at(&self.fd, name, flags, mode)
    }

    /// fstatat(2) without following a final symlink.
    fn raw_stat(&self, name: &Path) -> Result<fs::Stat> {
        let flags = fs::AtFlags::SYMLINK_NOFOLLOW;
        Ok(fs::statat(&self.fd, name.as_cstr(), flags)?)
    }

    /// fstatat(2) without following a final symlink.
    pub fn stat(&self, name: &Path) -> Result<Meta> {
        self.raw_stat(name).map(|st| Meta::of(&st))
    }

    /// The link count of `name`, which `stat`'s Meta leaves out.
    pub fn nlink(&self, name: &Path) -> Result<u64> {
        // nlink_t is u64 here, u32 on some targets.
        #[allow(clippy::unnecessary_cast)]
        self.raw_stat(name).map(|st| st.st_nlink as u64)
    }

    /// renameat(2) within this directory.
    pub fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let d = &self.fd;
        Ok(fs::renameat(d, from.as_cstr(), d, to.as_cstr())?)
    }

    /// linkat(2) within this directory.
    pub fn link(&self, from: &Path, to: &Path) -> Result<()> {
        let d = &self.fd;
        let flags = fs::AtFlags::empty();
        Ok(fs::linkat(d, from.as_cstr(), d, to.as_cstr(), flags)?)
    }

    /// unlinkat(2) of a file.
    pub fn unlink(&self, name: &Path) -> Result<()> {
        Ok(fs::unlinkat(
            &self.fd,
            name.as_cstr(),
            fs::AtFlags::empty(),
        )?)
    }

    /// unlinkat(2) where "already gone" counts as done.
    pub fn remove(&self, name: &Path) -> Result<()> {
        match self.unlink(name) {
            Err(Errno::ENOENT) => Ok(()),
            r => r,
        }
    }

    /// The names in this directory, without "." and "..".
    pub fn list(&self) -> Result<Vec<Vec<u8>>> {
        // A stream of its own (rustix opens "." in it), read from the start.
        let mut names = Vec::new();
        let dot = super::fs::open_at(
            &self.fd,
            &Path::from("."),
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )?;
        super::fs::read_names(&dot, &mut |name| names.push(name.to_vec()))?;
        Ok(names)
    }
}

/// fchmod(2).
pub fn fchmod(fd: &Fd, mode: u32) -> Result<()> {
    retry(|| Ok(fs::fchmod(fd, fs::Mode::from_raw_mode(mode))?))
}

/// ftruncate(2): cuts the file open on `fd` back to `len` bytes.
pub fn truncate(fd: &Fd, len: u64) -> Result<()> {
    retry(|| Ok(fs::ftruncate(fd, len)?))
}

/// A copy of `fd` numbered at least `min`, close-on-exec: lets a child's
/// fds 0..5 be filled in any order without one copy clobbering another.
pub fn dup_above(fd: &Fd, min: c_int) -> Result<Fd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, min)?.into())
}

impl Fd {
    /// Writes all of `buf` at `offset` with pwrite(2), leaving the file
    /// offset alone: a status file is rewritten in place.
    pub fn pwrite_all(&self, mut buf: &[u8], mut offset: u64) -> Result<()> {
        while !buf.is_empty() {
            let n = retry(|| Ok(rustix::io::pwrite(self, buf, offset)?))?;
            buf = &buf[n..];
            offset += n as u64;
        }
        Ok(())
    }
}

/// Starts writing `len` bytes of `fd` at `offset` to disk without waiting
/// (sync_file_range with SYNC_FILE_RANGE_WRITE), so that a later fsync
/// finds little left to do.
pub fn start_writeback(fd: &Fd, offset: u64, len: u64) -> Result<()> {
    super::raw::sync_file_range(fd, offset, len)
}

/// The link count of an open file: 0 once it was removed (or its
/// directory was), though writes to it still succeed.
pub fn links(fd: &Fd) -> Result<u64> {
    Ok(super::fs::fstat(fd)?.nlink)
}
