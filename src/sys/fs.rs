//! Files, directories, FIFOs and locks.

use super::{Errno, Fd, Path, Result, check, retry};
use alloc::vec::Vec;
use core::ffi::c_int;

/// Opens `path` with `flags` (O_CLOEXEC is always added) and, when creating,
/// `mode`.
pub fn open(path: &Path, flags: c_int, mode: u32) -> Result<Fd> {
    let fd = retry(|| {
        check(unsafe {
            libc::open(
                path.as_cstr().as_ptr(),
                flags | libc::O_CLOEXEC,
                mode as libc::c_uint,
            )
        })
    })?;
    Ok(Fd::from_raw(fd))
}

/// Opens `path` relative to the open directory `dir`.
pub fn open_at(dir: &Fd, path: &Path, flags: c_int, mode: u32) -> Result<Fd> {
    let fd = retry(|| {
        check(unsafe {
            libc::openat(
                dir.raw(),
                path.as_cstr().as_ptr(),
                flags | libc::O_CLOEXEC,
                mode as libc::c_uint,
            )
        })
    })?;
    Ok(Fd::from_raw(fd))
}

/// The whole content of a file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let fd = open(path, libc::O_RDONLY, 0)?;
    let mut v = Vec::new();
    fd.read_to_end(&mut v)?;
    Ok(v)
}

/// At most `max` bytes from the start of a file.
pub fn read_prefix(path: &Path, max: usize) -> Result<Vec<u8>> {
    let fd = open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    // Grown as needed, not `max` at once: settings files are a few bytes,
    // and a 4 KB buffer would dirty a heap page in every supervise.
    let mut v: Vec<u8> = Vec::new();
    while v.len() < max {
        if v.len() == v.capacity() {
            v.reserve((max - v.len()).min(v.len().max(64)));
        }
        let room = v.capacity().min(max) - v.len();
        let start = v.len();
        v.resize(start + room, 0);
        let n = fd.read(&mut v[start..])?;
        v.truncate(start + n);
        if n == 0 {
            break;
        }
    }
    Ok(v)
}

/// Opens the regular file `path` with `flags` (O_WRONLY, O_RDWR...),
/// creating it with exactly `mode` when it is absent, and never through a
/// symlink: the last component is opened O_NOFOLLOW, a new file is made
/// O_EXCL (nothing planted in the meantime is followed), and what was
/// opened must be a regular file with no other name. Errors: ELOOP for a
/// symlink, EMLINK for a file with other hard links, ESPIPE for anything
/// but a regular file (a FIFO with a reader, a socket, a device; ENXIO for
/// a FIFO without). `mode` is then set on
/// the open file, so the umask takes nothing away.
pub fn open_regular(path: &Path, flags: c_int, mode: u32) -> Result<Fd> {
    // O_NONBLOCK: a FIFO put there must not hang us before fstat tells.
    let flags = flags | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let mut fd = open(path, flags, 0);
    if matches!(fd, Err(Errno::ENOENT)) {
        fd = open(path, flags | libc::O_CREAT | libc::O_EXCL, mode);
        if matches!(fd, Err(Errno::EEXIST)) {
            // Created by someone else in the meantime: look at theirs.
            fd = open(path, flags, 0);
        }
    }
    let fd = fd?;
    let meta = fstat(&fd)?;
    if !meta.is_file() {
        return Err(Errno(libc::ESPIPE));
    }
    if meta.nlink != 1 {
        return Err(Errno(libc::EMLINK));
    }
    // Mostly right already: publishing rewrites the same two inodes.
    if meta.mode & 0o7777 != mode {
        fchmod(&fd, mode)?;
    }
    Ok(fd)
}

/// Replaces `path` atomically: writes `path.new` with `mode`, then
/// renames it over `path`, so a reader sees the old content or the new,
/// never half. `path.new` is opened with `open_regular`: a symlink or a
/// hard link planted there is refused, never written through.
///
/// The rename is an exchange where the filesystem has one
/// (renameat2 RENAME_EXCHANGE): `path.new` then keeps the previous inode,
/// which the next call overwrites, so publishing neither creates nor
/// frees an inode. On ext4 a create-and-replace costs 95-125 us (inode
/// allocation skips recently freed inodes, the replaced one is freed),
/// the exchange 2.5 us: supervise publishes on every state change.
/// A reader still holding the inode two changes later could see it
/// rewritten; readers of these few bytes read right after opening.
/// Whatever the exchange leaves at `path.new` (a symlink someone put at
/// `path`, say) is checked again by `open_regular` on the next call.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut tmp = path.as_bytes().to_vec();
    tmp.extend_from_slice(b".new");
    let tmp = Path::new(&tmp);
    let fd = open_regular(&tmp, libc::O_WRONLY, mode)?;
    fd.pwrite_all(bytes, 0)?;
    // The previous content may have been longer.
    check(unsafe { libc::ftruncate(fd.raw(), bytes.len() as libc::off_t) })?;
    drop(fd);
    let (from, to) = (tmp.as_cstr().as_ptr(), path.as_cstr().as_ptr());
    // SAFETY: two NUL-terminated paths relative to the cwd.
    let swapped = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from,
            libc::AT_FDCWD,
            to,
            libc::RENAME_EXCHANGE,
        )
    };
    match check(swapped) {
        Ok(_) => Ok(()),
        // No `path` yet, or a filesystem that cannot exchange (EINVAL on
        // NFS, EXDEV on some overlays...): a plain rename, whose error, if
        // any, is the one worth reporting.
        Err(_) => rename(&tmp, path),
    }
}

/// fchmod(2).
pub fn fchmod(fd: &Fd, mode: u32) -> Result<()> {
    check(unsafe { libc::fchmod(fd.raw(), mode) }).map(drop)
}

/// rename(2).
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    check(unsafe { libc::rename(from.as_cstr().as_ptr(), to.as_cstr().as_ptr()) }).map(drop)
}

/// unlink(2).
pub fn unlink(path: &Path) -> Result<()> {
    check(unsafe { libc::unlink(path.as_cstr().as_ptr()) }).map(drop)
}

/// mkdir(2) with exactly `mode`; Ok(false) when it already existed. The
/// mode is set on the directory made, opened without following a symlink:
/// one put in its place in the meantime is not chmodded through.
pub fn mkdir(path: &Path, mode: u32) -> Result<bool> {
    match check(unsafe { libc::mkdir(path.as_cstr().as_ptr(), mode) }) {
        Ok(_) => {
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            fchmod(&open(path, flags, 0)?, mode).map(|_| true)
        }
        Err(Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// symlink(2): `path` made a symlink holding `target`; Ok(false) when
/// something is there already (never replaced, never followed).
pub fn symlink(target: &Path, path: &Path) -> Result<bool> {
    // SAFETY: both are NUL-terminated paths.
    match check(unsafe { libc::symlink(target.as_cstr().as_ptr(), path.as_cstr().as_ptr()) }) {
        Ok(_) => Ok(true),
        Err(Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// mkdir(2) with `mode` less the umask, and no chmod that could follow a
/// symlink swapped in meanwhile; Ok(false) when it already existed.
pub fn mkdir_umasked(path: &Path, mode: u32) -> Result<bool> {
    // SAFETY: a NUL-terminated path.
    match check(unsafe { libc::mkdir(path.as_cstr().as_ptr(), mode) }) {
        Ok(_) => Ok(true),
        Err(Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// mkfifo(2); an existing entry is fine (mkfifo never follows a symlink
/// there). The umask applies: whoever opens it sets the exact mode with
/// `fchmod` once `fstat` showed it opened a FIFO, never `chmod` by name,
/// which would follow a symlink put there.
pub fn mkfifo(path: &Path, mode: u32) -> Result<()> {
    match check(unsafe { libc::mkfifo(path.as_cstr().as_ptr(), mode) }) {
        Ok(_) => Ok(()),
        Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// chmod(2).
pub fn chmod(path: &Path, mode: u32) -> Result<()> {
    check(unsafe { libc::chmod(path.as_cstr().as_ptr(), mode) }).map(drop)
}

/// umask(2): sets the mask, returns the previous one.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// chdir(2).
pub fn chdir(path: &Path) -> Result<()> {
    check(unsafe { libc::chdir(path.as_cstr().as_ptr()) }).map(drop)
}

/// fchdir(2).
pub fn fchdir(dir: &Fd) -> Result<()> {
    check(unsafe { libc::fchdir(dir.raw()) }).map(drop)
}

/// What `stat` tells svkit about a file.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub mode: u32,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
}

impl Meta {
    pub(crate) fn of(st: &libc::stat) -> Meta {
        Meta {
            mode: st.st_mode,
            size: st.st_size as u64,
            dev: st.st_dev,
            ino: st.st_ino,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
        }
    }
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }
    pub fn is_fifo(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFIFO
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
    pub fn is_socket(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFSOCK
    }
}

/// stat(2), following symlinks.
pub fn stat(path: &Path) -> Result<Meta> {
    let mut st = unsafe { core::mem::zeroed::<libc::stat>() };
    check(unsafe { libc::stat(path.as_cstr().as_ptr(), &mut st) })?;
    Ok(Meta::of(&st))
}

/// lstat(2): a symlink itself.
pub fn lstat(path: &Path) -> Result<Meta> {
    let mut st = unsafe { core::mem::zeroed::<libc::stat>() };
    check(unsafe { libc::lstat(path.as_cstr().as_ptr(), &mut st) })?;
    Ok(Meta::of(&st))
}

/// fstat(2).
pub fn fstat(fd: &Fd) -> Result<Meta> {
    let mut st = unsafe { core::mem::zeroed::<libc::stat>() };
    check(unsafe { libc::fstat(fd.raw(), &mut st) })?;
    Ok(Meta::of(&st))
}

/// Whether `path` exists (any type); errors other than ENOENT count as
/// "exists" so that a permission problem never silently changes behaviour.
pub fn exists(path: &Path) -> bool {
    !matches!(stat(path), Err(Errno::ENOENT) | Err(Errno::ENOTDIR))
}

/// Takes an exclusive flock(2) on `fd` without waiting; EWOULDBLOCK when
/// another process holds it.
pub fn lock_exclusive_now(fd: &Fd) -> Result<()> {
    check(unsafe { libc::flock(fd.raw(), libc::LOCK_EX | libc::LOCK_NB) }).map(drop)
}

/// Takes an exclusive flock(2), waiting for it.
pub fn lock_exclusive(fd: &Fd) -> Result<()> {
    retry(|| check(unsafe { libc::flock(fd.raw(), libc::LOCK_EX) })).map(drop)
}

/// The names in a directory, without "." and "..", in directory order.
pub fn list_dir(path: &Path) -> Result<Vec<Vec<u8>>> {
    // SAFETY: opendir returns null (errno set) or a valid DIR.
    let dir = unsafe { libc::opendir(path.as_cstr().as_ptr()) };
    if dir.is_null() {
        return Err(Errno::last());
    }
    // SAFETY: dir is a valid, open DIR that nothing else uses.
    unsafe { read_names(dir) }
}

/// Reads every name of an open directory stream but "." and "..", then
/// closes it.
///
/// # Safety
/// `dir` must be a valid DIR from opendir/fdopendir, not used afterwards.
pub(crate) unsafe fn read_names(dir: *mut libc::DIR) -> Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    let result = loop {
        // readdir returns null both at the end and on error; errno tells.
        unsafe { *libc::__errno_location() = 0 };
        let ent = unsafe { libc::readdir(dir) };
        if ent.is_null() {
            let e = Errno::last();
            break if e.0 == 0 { Ok(()) } else { Err(e) };
        }
        // SAFETY: d_name is a NUL-terminated array inside the entry.
        let name = unsafe { core::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    };
    unsafe { libc::closedir(dir) };
    result.map(|_| names)
}

/// The current working directory, opened, to come back to with `fchdir`.
pub fn open_cwd() -> Result<Fd> {
    open(&Path::from("."), libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// The current working directory's absolute name.
pub fn cwd() -> Result<Path> {
    // Small first: a 4 KB buffer would leave a long-lived process one more
    // dirty heap page.
    let mut buf = alloc::vec![0u8; 256];
    loop {
        // SAFETY: getcwd writes at most buf.len() bytes, NUL included.
        let p = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
        if !p.is_null() {
            break;
        }
        match Errno::last() {
            Errno(libc::ERANGE) if buf.len() < 1 << 16 => buf.resize(buf.len() * 2, 0),
            e => return Err(e),
        }
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(Path::new(&buf[..len]))
}

/// chown(2), following no symlink at the last component.
pub fn lchown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    check(unsafe { libc::lchown(path.as_cstr().as_ptr(), uid, gid) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("svkit-fs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn ino(p: &std::path::Path) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap())
    }

    #[test]
    fn write_atomic_replaces_and_reuses_the_two_inodes() {
        let d = scratch("atomic");
        let path = d.join("status");
        let p = Path::from(path.to_str().unwrap());
        write_atomic(&p, b"first, and long\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first, and long\n");
        write_atomic(&p, b"second\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second\n");
        let spare = d.join("status.new");
        let (a, b) = (ino(&path), ino(&spare));
        write_atomic(&p, b"", 0o644).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"",
            "a shorter content leaves no tail"
        );
        // The exchange swapped the inodes: none made, none freed.
        assert_eq!((ino(&path), ino(&spare)), (b, a));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o644);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn open_regular_refuses_links_and_other_types() {
        let d = scratch("regular");
        let p = |n: &str| Path::from(d.join(n).to_str().unwrap());
        std::fs::write(d.join("victim"), b"v").unwrap();
        std::os::unix::fs::symlink(d.join("victim"), d.join("link")).unwrap();
        std::os::unix::fs::symlink(d.join("absent"), d.join("dangling")).unwrap();
        std::fs::hard_link(d.join("victim"), d.join("hard")).unwrap();
        mkfifo(&p("fifo"), 0o600).unwrap();
        let err = |n: &str| open_regular(&p(n), libc::O_WRONLY, 0o644).err();
        assert_eq!(err("link"), Some(Errno(libc::ELOOP)));
        assert_eq!(err("dangling"), Some(Errno(libc::ELOOP)));
        assert!(!d.join("absent").exists());
        assert_eq!(err("hard"), Some(Errno(libc::EMLINK)));
        // Without a reader the open itself fails; with one, fstat tells.
        assert!(matches!(
            err("fifo"),
            Some(Errno(libc::ENXIO | libc::ESPIPE))
        ));
        open_regular(&p("new"), libc::O_WRONLY, 0o644).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(d.join("new")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o644);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
