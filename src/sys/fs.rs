//! Files, directories, FIFOs and locks.

use super::{Errno, Fd, Path, Result, retry};
use alloc::vec::Vec;
use core::ffi::c_int;
use rustix::fs::{self, Mode, OFlags};

/// Opens `path` with `flags` (O_CLOEXEC is always added) and, when creating,
/// `mode`.
pub fn open(path: &Path, flags: c_int, mode: u32) -> Result<Fd> {
    let (flags, mode) = (oflags(flags), Mode::from_raw_mode(mode));
    retry(|| Ok(fs::open(path.as_cstr(), flags, mode)?.into()))
}

/// open(2)'s flags as the callers spell them (libc::O_*), close-on-exec.
fn oflags(flags: c_int) -> OFlags {
    OFlags::from_bits_retain(flags as u32) | OFlags::CLOEXEC
}

/// Opens `path` relative to the open directory `dir`.
pub fn open_at(dir: &Fd, path: &Path, flags: c_int, mode: u32) -> Result<Fd> {
    let (flags, mode) = (oflags(flags), Mode::from_raw_mode(mode));
    retry(|| Ok(fs::openat(dir, path.as_cstr(), flags, mode)?.into()))
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
        super::dir::fchmod(&fd, mode)?;
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
    fs::ftruncate(&fd, bytes.len() as u64)?;
    drop(fd);
    let swapped = fs::renameat_with(
        fs::CWD,
        tmp.as_cstr(),
        fs::CWD,
        path.as_cstr(),
        fs::RenameFlags::EXCHANGE,
    );
    match swapped {
        Ok(_) => Ok(()),
        // No `path` yet, or a filesystem that cannot exchange (EINVAL on
        // NFS, EXDEV on some overlays...): a plain rename, whose error, if
        // any, is the one worth reporting.
        Err(_) => rename(&tmp, path),
    }
}

/// rename(2).
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    Ok(fs::rename(from.as_cstr(), to.as_cstr())?)
}

/// unlink(2).
pub fn unlink(path: &Path) -> Result<()> {
    Ok(fs::unlink(path.as_cstr())?)
}

/// mkdir(2) with exactly `mode`; Ok(false) when it already existed. The
/// mode is set on the directory made, opened without following a symlink:
/// one put in its place in the meantime is not chmodded through.
pub fn mkdir(path: &Path, mode: u32) -> Result<bool> {
    match fs::mkdir(path.as_cstr(), Mode::from_raw_mode(mode)).map_err(Errno::from) {
        Ok(_) => {
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            super::dir::fchmod(&open(path, flags, 0)?, mode).map(|_| true)
        }
        Err(Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// symlink(2): `path` made a symlink holding `target`; Ok(false) when
/// something is there already (never replaced, never followed).
pub fn symlink(target: &Path, path: &Path) -> Result<bool> {
    match fs::symlink(target.as_cstr(), path.as_cstr()).map_err(Errno::from) {
        Ok(_) => Ok(true),
        Err(Errno::EEXIST) => Ok(false),
        Err(e) => Err(e),
    }
}

/// mkdir(2) with `mode` less the umask, and no chmod that could follow a
/// symlink swapped in meanwhile; Ok(false) when it already existed.
pub fn mkdir_umasked(path: &Path, mode: u32) -> Result<bool> {
    match fs::mkdir(path.as_cstr(), Mode::from_raw_mode(mode)).map_err(Errno::from) {
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
    let kind = fs::FileType::Fifo;
    match fs::mknodat(fs::CWD, path.as_cstr(), kind, Mode::from_raw_mode(mode), 0)
        .map_err(Errno::from)
    {
        Ok(_) => Ok(()),
        Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// chmod(2).
pub fn chmod(path: &Path, mode: u32) -> Result<()> {
    Ok(fs::chmod(path.as_cstr(), Mode::from_raw_mode(mode))?)
}

/// umask(2): sets the mask, returns the previous one.
pub fn umask(mask: u32) -> u32 {
    rustix::process::umask(Mode::from_raw_mode(mask)).as_raw_mode()
}

/// chdir(2).
pub fn chdir(path: &Path) -> Result<()> {
    Ok(rustix::process::chdir(path.as_cstr())?)
}

/// fchdir(2).
pub fn fchdir(dir: &Fd) -> Result<()> {
    Ok(rustix::process::fchdir(dir)?)
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
    // The kernel's field types differ by architecture.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    pub(crate) fn of(st: &fs::Stat) -> Meta {
        Meta {
            mode: st.st_mode as u32,
            size: st.st_size as u64,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            nlink: st.st_nlink as u64,
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
    Ok(Meta::of(&fs::stat(path.as_cstr())?))
}

/// lstat(2): a symlink itself.
pub fn lstat(path: &Path) -> Result<Meta> {
    Ok(Meta::of(&fs::lstat(path.as_cstr())?))
}

/// fstat(2).
pub fn fstat(fd: &Fd) -> Result<Meta> {
    Ok(Meta::of(&fs::fstat(fd)?))
}

/// Whether `path` exists (any type); errors other than ENOENT count as
/// "exists" so that a permission problem never silently changes behaviour.
pub fn exists(path: &Path) -> bool {
    !matches!(stat(path), Err(Errno::ENOENT) | Err(Errno::ENOTDIR))
}

/// Takes an exclusive flock(2) on `fd` without waiting; EWOULDBLOCK when
/// another process holds it.
pub fn lock_exclusive_now(fd: &Fd) -> Result<()> {
    Ok(fs::flock(fd, fs::FlockOperation::NonBlockingLockExclusive)?)
}

/// Takes an exclusive flock(2), waiting for it.
pub fn lock_exclusive(fd: &Fd) -> Result<()> {
    retry(|| Ok(fs::flock(fd, fs::FlockOperation::LockExclusive)?))
}

/// The names in a directory, without "." and "..", in directory order.
pub fn list_dir(path: &Path) -> Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    each_name(path, &mut |name| names.push(name.to_vec()))?;
    Ok(names)
}

/// Hands `f` each name in a directory but "." and "..", in directory
/// order, for a caller that keeps them in a form of its own.
pub fn each_name(path: &Path, f: &mut dyn FnMut(&[u8])) -> Result<()> {
    read_names(&open(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?, f)
}

/// Hands `f` every name the open directory `dir` reads from its current
/// offset but "." and "..". getdents64 through rustix's RawDir, into one
/// buffer: rustix's Dir copies each name into a CString of its own, and
/// its checks bring core's Debug formatting along.
pub(crate) fn read_names(dir: &Fd, f: &mut dyn FnMut(&[u8])) -> Result<()> {
    // Room for a few dozen entries a call; a directory of hundreds takes
    // a few calls, and the buffer fits the arena's largest class.
    let mut buf = Vec::<u8>::with_capacity(1024);
    let mut entries = fs::RawDir::new(dir, buf.spare_capacity_mut());
    loop {
        match entries.next() {
            Some(Ok(entry)) => {
                let name = entry.file_name().to_bytes();
                if name != b"." && name != b".." {
                    f(name);
                }
            }
            // EINTR before any entry was read: nothing lost.
            Some(Err(rustix::io::Errno::INTR)) => {}
            // A directory removed while open reads as empty, as with
            // rustix's Dir.
            Some(Err(rustix::io::Errno::NOENT)) | None => return Ok(()),
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// The current working directory, opened, to come back to with `fchdir`.
pub fn open_cwd() -> Result<Fd> {
    open(&Path::from("."), libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// The current working directory's absolute name.
pub fn cwd() -> Result<Path> {
    // Small first: a 4 KB buffer would leave a long-lived process one more
    // dirty heap page.
    let name = rustix::process::getcwd(Vec::with_capacity(256))?;
    Ok(Path::from(name.as_c_str()))
}

/// chown(2), following no symlink at the last component.
pub fn lchown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    let (uid, gid) = (fs::Uid::from_raw(uid), fs::Gid::from_raw(gid));
    let flags = fs::AtFlags::SYMLINK_NOFOLLOW;
    Ok(fs::chownat(
        fs::CWD,
        path.as_cstr(),
        Some(uid),
        Some(gid),
        flags,
    )?)
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
