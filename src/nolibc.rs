//! The C library functions supervise calls, made directly from system
//! calls, so that supervise runs without the C library: no ld.so, no
//! libc.so mapped into every supervised service's supervisor.
//!
//! Why: of an idle supervise's PSS, libc.so and ld.so were about 170 KB
//! and their relocated data most of its private dirty pages; runit's runsv
//! pays the same, so only leaving them out gets below it. Measured with
//! ../shared/bench memory: one idle supervise 104 KB PSS against
//! daemontools' 375 in the same run (was 338 against 291), private dirty
//! 20 KB against 92. Only supervise is built this way (see build.rs): it
//! is the one program of which one runs per service. The others keep
//! glibc (setuidgid needs its NSS, logsink its vectorised memchr).
//!
//! svc, svstat and svok, which health scripts and operators run all the
//! time, are built the same way: without ld.so to map and relocate libc
//! an exec of them costs less.
//!
//! Each function follows its glibc namesake for what these programs use
//! of it on x86_64 Linux: -1 and errno on failure, the same structure
//! layouts. Compiled into those binaries only (`#[path]` in src/bin),
//! never into the library, whose other users must keep glibc's.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    clippy::missing_safety_doc
)]

extern crate alloc;

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::arch::{asm, global_asm};
use core::ffi::CStr;
use core::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};
use core::ptr;
use svkit::sys::process::Spawn;
use svkit::sys::{Path, fork};

type size_t = usize;
type ssize_t = isize;

static mut ERRNO: c_int = 0;

/// The environment, set by `_start` from the initial stack.
#[unsafe(no_mangle)]
pub static mut environ: *const *const c_char = ptr::null();

#[inline(always)]
unsafe fn raw(n: c_long, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    let ret: isize;
    // SAFETY: the Linux x86_64 system call convention; the kernel
    // clobbers only rcx and r11.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret,
             in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
             lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// A system call's result as C returns it: -1 with errno set on failure.
fn ret(r: isize) -> isize {
    if (-4095..0).contains(&r) {
        // SAFETY: single-threaded: nothing else touches errno.
        unsafe { ERRNO = -r as c_int };
        -1
    } else {
        r
    }
}

unsafe fn sc(n: c_long, a: [usize; 6]) -> isize {
    ret(unsafe { raw(n, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

macro_rules! a {
    () => { [0, 0, 0, 0, 0, 0] };
    ($a:expr) => { [$a as usize, 0, 0, 0, 0, 0] };
    ($a:expr, $b:expr) => { [$a as usize, $b as usize, 0, 0, 0, 0] };
    ($a:expr, $b:expr, $c:expr) => { [$a as usize, $b as usize, $c as usize, 0, 0, 0] };
    ($a:expr, $b:expr, $c:expr, $d:expr) => { [$a as usize, $b as usize, $c as usize, $d as usize, 0, 0] };
    ($a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => { [$a as usize, $b as usize, $c as usize, $d as usize, $e as usize, 0] };
}

// ---- start-up -----------------------------------------------------------

global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start_c,
);

// The signal return trampoline the kernel jumps to after a handler.
global_asm!(
    ".globl svkit_restore_rt",
    "svkit_restore_rt:",
    "mov eax, 15",
    "syscall",
    "ud2",
);

unsafe extern "C" {
    fn main(argc: c_int, argv: *const *const c_char) -> c_int;
    fn svkit_restore_rt();
}

unsafe extern "C" fn start_c(sp: *const usize) -> ! {
    // SAFETY: the kernel's initial stack: argc, argv[argc], NULL, envp.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const c_char;
        environ = argv.add(argc + 1);
        _exit(main(argc as c_int, argv))
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn __errno_location() -> *mut c_int {
    &raw mut ERRNO
}

#[unsafe(no_mangle)]
pub extern "C" fn _exit(status: c_int) -> ! {
    loop {
        // SAFETY: exit_group does not return.
        unsafe { raw(libc::SYS_exit_group, status as usize, 0, 0, 0, 0, 0) };
    }
}

// ---- plain system calls -------------------------------------------------

#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    unsafe { sc(libc::SYS_read, a!(fd, buf, n)) }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    unsafe { sc(libc::SYS_write, a!(fd, buf, n)) }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pwrite(fd: c_int, buf: *const c_void, n: size_t, off: i64) -> ssize_t {
    unsafe { sc(libc::SYS_pwrite64, a!(fd, buf, n, off)) }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    unsafe { sc(libc::SYS_close, a!(fd)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    unsafe { sc(libc::SYS_openat, a!(libc::AT_FDCWD, path, flags, mode)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_long) -> c_int {
    unsafe { sc(libc::SYS_fcntl, a!(fd, cmd, arg)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(from: c_int, to: c_int) -> c_int {
    unsafe { sc(libc::SYS_dup2, a!(from, to)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pipe2(fds: *mut c_int, flags: c_int) -> c_int {
    unsafe { sc(libc::SYS_pipe2, a!(fds, flags)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: c_int) -> c_int {
    unsafe { sc(libc::SYS_poll, a!(fds, n, timeout)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chdir(path: *const c_char) -> c_int {
    unsafe { sc(libc::SYS_chdir, a!(path)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chmod(path: *const c_char, mode: libc::mode_t) -> c_int {
    unsafe { sc(libc::SYS_chmod, a!(path, mode)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fchmod(fd: c_int, mode: libc::mode_t) -> c_int {
    unsafe { sc(libc::SYS_fchmod, a!(fd, mode)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lchown(path: *const c_char, uid: libc::uid_t, gid: libc::gid_t) -> c_int {
    unsafe { sc(libc::SYS_lchown, a!(path, uid, gid)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mkdir(path: *const c_char, mode: libc::mode_t) -> c_int {
    unsafe { sc(libc::SYS_mkdir, a!(path, mode)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mkfifo(path: *const c_char, mode: libc::mode_t) -> c_int {
    unsafe { sc(libc::SYS_mknod, a!(path, libc::S_IFIFO | mode, 0)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn symlink(target: *const c_char, path: *const c_char) -> c_int {
    unsafe { sc(libc::SYS_symlink, a!(target, path)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn unlink(path: *const c_char) -> c_int {
    unsafe { sc(libc::SYS_unlink, a!(path)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rename(from: *const c_char, to: *const c_char) -> c_int {
    unsafe { sc(libc::SYS_rename, a!(from, to)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn renameat2(
    fd1: c_int,
    from: *const c_char,
    fd2: c_int,
    to: *const c_char,
    flags: c_uint,
) -> c_int {
    unsafe { sc(libc::SYS_renameat2, a!(fd1, from, fd2, to, flags)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ftruncate(fd: c_int, len: i64) -> c_int {
    unsafe { sc(libc::SYS_ftruncate, a!(fd, len)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn flock(fd: c_int, op: c_int) -> c_int {
    unsafe { sc(libc::SYS_flock, a!(fd, op)) as c_int }
}
// glibc's struct stat is the kernel's on x86_64.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fstat(fd: c_int, st: *mut libc::stat) -> c_int {
    unsafe { sc(libc::SYS_fstat, a!(fd, st)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn stat(path: *const c_char, st: *mut libc::stat) -> c_int {
    unsafe { sc(libc::SYS_stat, a!(path, st)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lstat(path: *const c_char, st: *mut libc::stat) -> c_int {
    unsafe { sc(libc::SYS_lstat, a!(path, st)) as c_int }
}
#[unsafe(no_mangle)]
pub extern "C" fn umask(mask: libc::mode_t) -> libc::mode_t {
    unsafe { sc(libc::SYS_umask, a!(mask)) as libc::mode_t }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getcwd(buf: *mut c_char, size: size_t) -> *mut c_char {
    match unsafe { sc(libc::SYS_getcwd, a!(buf, size)) } {
        -1 => ptr::null_mut(),
        _ => buf,
    }
}
#[unsafe(no_mangle)]
pub extern "C" fn getpid() -> libc::pid_t {
    unsafe { sc(libc::SYS_getpid, a!()) as libc::pid_t }
}
#[unsafe(no_mangle)]
pub extern "C" fn kill(pid: libc::pid_t, sig: c_int) -> c_int {
    unsafe { sc(libc::SYS_kill, a!(pid, sig)) as c_int }
}
/// glibc's variadic prctl(2); its integer arguments arrive in the same
/// registers as a five-argument function's. (supervise: the child
/// subreaper a pid file needs.)
#[unsafe(no_mangle)]
pub extern "C" fn prctl(option: c_int, a: c_ulong, b: c_ulong, c: c_ulong, d: c_ulong) -> c_int {
    unsafe { sc(libc::SYS_prctl, a!(option, a, b, c, d)) as c_int }
}
#[unsafe(no_mangle)]
pub extern "C" fn setsid() -> libc::pid_t {
    unsafe { sc(libc::SYS_setsid, a!()) as libc::pid_t }
}
#[unsafe(no_mangle)]
pub extern "C" fn setpgid(pid: libc::pid_t, pgid: libc::pid_t) -> c_int {
    unsafe { sc(libc::SYS_setpgid, a!(pid, pgid)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    unsafe { sc(libc::SYS_execve, a!(path, argv, envp)) as c_int }
}
#[unsafe(no_mangle)]
pub extern "C" fn fork() -> libc::pid_t {
    unsafe { sc(libc::SYS_fork, a!()) as libc::pid_t }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn waitpid(
    pid: libc::pid_t,
    status: *mut c_int,
    options: c_int,
) -> libc::pid_t {
    unsafe { sc(libc::SYS_wait4, a!(pid, status, options, 0)) as libc::pid_t }
}
#[unsafe(no_mangle)]
pub extern "C" fn inotify_init1(flags: c_int) -> c_int {
    unsafe { sc(libc::SYS_inotify_init1, a!(flags)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn inotify_add_watch(fd: c_int, path: *const c_char, mask: u32) -> c_int {
    unsafe { sc(libc::SYS_inotify_add_watch, a!(fd, path, mask)) as c_int }
}
#[unsafe(no_mangle)]
pub extern "C" fn socket(domain: c_int, ty: c_int, proto: c_int) -> c_int {
    unsafe { sc(libc::SYS_socket, a!(domain, ty, proto)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bind(
    fd: c_int,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> c_int {
    unsafe { sc(libc::SYS_bind, a!(fd, addr, len)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: libc::socklen_t,
) -> c_int {
    unsafe { sc(libc::SYS_setsockopt, a!(fd, level, name, val, len)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t {
    unsafe { sc(libc::SYS_recvmsg, a!(fd, msg, flags)) }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(clock: libc::clockid_t, ts: *mut libc::timespec) -> c_int {
    unsafe { sc(libc::SYS_clock_gettime, a!(clock, ts)) as c_int }
}
/// glibc's variadic syscall(2); on x86_64 its integer arguments arrive in
/// the same registers as a six-argument function's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn syscall(
    n: c_long,
    a: c_long,
    b: c_long,
    c: c_long,
    d: c_long,
    e: c_long,
    f: c_long,
) -> c_long {
    unsafe {
        sc(
            n,
            [
                a as usize, b as usize, c as usize, d as usize, e as usize, f as usize,
            ],
        ) as c_long
    }
}
#[unsafe(no_mangle)]
pub extern "C" fn sysconf(name: c_int) -> c_long {
    match name {
        libc::_SC_PAGESIZE => 4096,
        libc::_SC_CLK_TCK => 100,
        _ => {
            unsafe { ERRNO = libc::EINVAL };
            -1
        }
    }
}

// ---- signals ------------------------------------------------------------

#[unsafe(no_mangle)]
pub extern "C" fn __libc_current_sigrtmax() -> c_int {
    64
}

/// The kernel's half of a sigset_t: 64 signals, one word.
unsafe fn word(set: *const libc::sigset_t) -> *mut u64 {
    set as *mut u64
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigemptyset(set: *mut libc::sigset_t) -> c_int {
    unsafe { ptr::write_bytes(set as *mut u8, 0, core::mem::size_of::<libc::sigset_t>()) };
    0
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigfillset(set: *mut libc::sigset_t) -> c_int {
    unsafe { ptr::write_bytes(set as *mut u8, 0xff, core::mem::size_of::<libc::sigset_t>()) };
    0
}
fn bit(sig: c_int) -> Option<u64> {
    if (1..=64).contains(&sig) {
        Some(1 << (sig - 1))
    } else {
        unsafe { ERRNO = libc::EINVAL };
        None
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigaddset(set: *mut libc::sigset_t, sig: c_int) -> c_int {
    match bit(sig) {
        Some(b) => {
            unsafe { *word(set) |= b };
            0
        }
        None => -1,
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigdelset(set: *mut libc::sigset_t, sig: c_int) -> c_int {
    match bit(sig) {
        Some(b) => {
            unsafe { *word(set) &= !b };
            0
        }
        None => -1,
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigprocmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> c_int {
    unsafe { sc(libc::SYS_rt_sigprocmask, a!(how, set, old, 8)) as c_int }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn signalfd(fd: c_int, mask: *const libc::sigset_t, flags: c_int) -> c_int {
    unsafe { sc(libc::SYS_signalfd4, a!(fd, mask, 8, flags)) as c_int }
}

/// Tells the kernel that `restorer` returns from a handler.
const SA_RESTORER: u64 = 0x0400_0000;

/// The kernel's struct sigaction on x86_64.
#[repr(C)]
struct KernelAction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sigaction(
    sig: c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    let mut k = KernelAction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let mut ko = KernelAction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    unsafe {
        if !act.is_null() {
            k.handler = (*act).sa_sigaction;
            k.flags = (*act).sa_flags as u32 as u64 | SA_RESTORER;
            k.restorer = svkit_restore_rt as *const () as usize;
            k.mask = *word(&(*act).sa_mask);
        }
        let kp = if act.is_null() {
            ptr::null()
        } else {
            &raw const k
        };
        let op = if old.is_null() {
            ptr::null_mut()
        } else {
            &raw mut ko
        };
        let r = sc(libc::SYS_rt_sigaction, a!(sig, kp, op, 8));
        if r == 0 && !old.is_null() {
            sigemptyset(&mut (*old).sa_mask);
            (*old).sa_sigaction = ko.handler;
            (*old).sa_flags = ko.flags as c_int;
            *word(&(*old).sa_mask) = ko.mask;
        }
        r as c_int
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn signal(sig: c_int, handler: libc::sighandler_t) -> libc::sighandler_t {
    unsafe {
        let mut act: libc::sigaction = core::mem::zeroed();
        act.sa_sigaction = handler;
        act.sa_flags = libc::SA_RESTART;
        let mut old: libc::sigaction = core::mem::zeroed();
        match sigaction(sig, &act, &mut old) {
            0 => old.sa_sigaction,
            _ => libc::SIG_ERR,
        }
    }
}

// ---- memory and strings -------------------------------------------------
// In assembly (rep movsb/stosb) or volatile loops: the compiler would
// otherwise turn these loops into calls to the very functions they are.

#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut c_void, src: *const c_void, n: size_t) -> *mut c_void {
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dst
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut c_void, src: *const c_void, n: size_t) -> *mut c_void {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        return unsafe { memcpy(dst, src, n) };
    }
    // Overlapping with dst above src: copy backwards.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rcx") n => _,
             inout("rdi") (dst as *mut u8).add(n).wrapping_sub(1) => _,
             inout("rsi") (src as *const u8).add(n).wrapping_sub(1) => _,
             options(nostack));
    }
    dst
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut c_void, c: c_int, n: size_t) -> *mut c_void {
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8,
             options(nostack, preserves_flags));
    }
    dst
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const c_void, b: *const c_void, n: size_t) -> c_int {
    unsafe { memcmp(a, b, n) }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const c_void, b: *const c_void, n: size_t) -> c_int {
    let (a, b) = (a as *const u8, b as *const u8);
    for i in 0..n {
        let (x, y) = unsafe { (ptr::read_volatile(a.add(i)), ptr::read_volatile(b.add(i))) };
        if x != y {
            return x as c_int - y as c_int;
        }
    }
    0
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const c_char) -> size_t {
    let mut n = 0;
    while unsafe { ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

// ---- the heap: whole pages from mmap, a few kept for reuse ---------------
// svkit's allocator serves blocks up to 1 KB from its own arena; what comes
// here is rare (a settings file's buffer, a directory listing), so pages
// straight from the kernel do, with the last freed ones kept for the next.

const HEADER: usize = 16;
const KEEP: usize = 4;
static mut KEPT: [(usize, usize); KEEP] = [(0, 0); KEEP];

unsafe fn map(len: usize) -> *mut u8 {
    unsafe {
        let kept = &raw mut KEPT;
        for slot in (*kept).iter_mut() {
            if slot.1 >= len && slot.1 <= 2 * len {
                let base = slot.0 as *mut u8;
                *slot = (0, 0);
                return base;
            }
        }
        let r = raw(
            libc::SYS_mmap,
            0,
            len,
            (libc::PROT_READ | libc::PROT_WRITE) as usize,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as usize,
            usize::MAX,
            0,
        );
        if ret(r) == -1 {
            ptr::null_mut()
        } else {
            r as *mut u8
        }
    }
}

/// A block of `n` bytes at `align` (a power of two up to a page).
unsafe fn alloc(n: usize, align: usize) -> *mut u8 {
    let lead = align.max(HEADER);
    let Some(len) = n.checked_add(lead + 4095).map(|l| l & !4095) else {
        unsafe { ERRNO = libc::ENOMEM };
        return ptr::null_mut();
    };
    unsafe {
        let base = map(len);
        if base.is_null() {
            return base;
        }
        let p = base.add(lead);
        // The base and length of the mapping sit just before the block.
        (p as *mut usize).sub(2).write(base as usize);
        (p as *mut usize).sub(1).write(len);
        p
    }
}

unsafe fn mapping(p: *mut u8) -> (usize, usize) {
    unsafe {
        (
            (p as *mut usize).sub(2).read(),
            (p as *mut usize).sub(1).read(),
        )
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(n: size_t) -> *mut c_void {
    unsafe { alloc(n, HEADER) as *mut c_void }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    unsafe {
        let (base, len) = mapping(p as *mut u8);
        let kept = &raw mut KEPT;
        for slot in (*kept).iter_mut() {
            if slot.0 == 0 {
                *slot = (base, len);
                return;
            }
        }
        raw(libc::SYS_munmap, base, len, 0, 0, 0, 0);
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, n: size_t) -> *mut c_void {
    if p.is_null() {
        return unsafe { malloc(n) };
    }
    unsafe {
        let (base, len) = mapping(p as *mut u8);
        let room = base + len - p as usize;
        if n <= room {
            return p;
        }
        let q = malloc(n);
        if !q.is_null() {
            memcpy(q, p, room);
            free(p);
        }
        q
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: size_t, n: size_t) -> c_int {
    if !align.is_power_of_two() || align > 4096 {
        return libc::EINVAL;
    }
    let p = unsafe { alloc(n, align) };
    if p.is_null() {
        return libc::ENOMEM;
    }
    unsafe { *out = p as *mut c_void };
    0
}

// ---- directories ---------------------------------------------------------

#[repr(C, align(8))]
pub struct Dir {
    fd: c_int,
    pos: usize,
    len: usize,
    buf: [u8; 4096],
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn opendir(path: *const c_char) -> *mut Dir {
    unsafe {
        let fd = open(
            path,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        );
        if fd < 0 {
            return ptr::null_mut();
        }
        let d = malloc(core::mem::size_of::<Dir>()) as *mut Dir;
        if d.is_null() {
            close(fd);
            return d;
        }
        (*d).fd = fd;
        (*d).pos = 0;
        (*d).len = 0;
        d
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readdir(d: *mut Dir) -> *mut libc::dirent {
    unsafe {
        if (*d).pos >= (*d).len {
            let n = sc(
                libc::SYS_getdents64,
                a!((*d).fd, (*d).buf.as_mut_ptr(), 4096),
            );
            if n <= 0 {
                return ptr::null_mut();
            }
            (*d).pos = 0;
            (*d).len = n as usize;
        }
        // glibc's struct dirent is the kernel's linux_dirent64 on x86_64.
        let e = (*d).buf.as_mut_ptr().add((*d).pos) as *mut libc::dirent;
        (*d).pos += (*e).d_reclen as usize;
        e
    }
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn closedir(d: *mut Dir) -> c_int {
    unsafe {
        let r = close((*d).fd);
        free(d as *mut c_void);
        r
    }
}

// ---- error texts -----------------------------------------------------------

const TEXTS: &[(c_int, &str)] = &[
    (libc::EPERM, "Operation not permitted\0"),
    (libc::ENOENT, "No such file or directory\0"),
    (libc::ESRCH, "No such process\0"),
    (libc::EINTR, "Interrupted system call\0"),
    (libc::EIO, "Input/output error\0"),
    (libc::ENXIO, "No such device or address\0"),
    (libc::E2BIG, "Argument list too long\0"),
    (libc::ENOEXEC, "Exec format error\0"),
    (libc::EBADF, "Bad file descriptor\0"),
    (libc::ECHILD, "No child processes\0"),
    (libc::EAGAIN, "Resource temporarily unavailable\0"),
    (libc::ENOMEM, "Cannot allocate memory\0"),
    (libc::EACCES, "Permission denied\0"),
    (libc::EFAULT, "Bad address\0"),
    (libc::EBUSY, "Device or resource busy\0"),
    (libc::EEXIST, "File exists\0"),
    (libc::EXDEV, "Invalid cross-device link\0"),
    (libc::ENODEV, "No such device\0"),
    (libc::ENOTDIR, "Not a directory\0"),
    (libc::EISDIR, "Is a directory\0"),
    (libc::EINVAL, "Invalid argument\0"),
    (libc::ENFILE, "Too many open files in system\0"),
    (libc::EMFILE, "Too many open files\0"),
    (libc::ETXTBSY, "Text file busy\0"),
    (libc::EFBIG, "File too large\0"),
    (libc::ENOSPC, "No space left on device\0"),
    (libc::ESPIPE, "Illegal seek\0"),
    (libc::EROFS, "Read-only file system\0"),
    (libc::EMLINK, "Too many links\0"),
    (libc::EPIPE, "Broken pipe\0"),
    (libc::ENAMETOOLONG, "File name too long\0"),
    (libc::ENOSYS, "Function not implemented\0"),
    (libc::ENOTEMPTY, "Directory not empty\0"),
    (libc::ELOOP, "Too many levels of symbolic links\0"),
    (libc::EADDRINUSE, "Address already in use\0"),
    (libc::ECONNREFUSED, "Connection refused\0"),
    (libc::EOPNOTSUPP, "Operation not supported\0"),
    (libc::EDQUOT, "Disk quota exceeded\0"),
];

/// glibc's text for `e`, or "Unknown error N" as glibc says it, in a
/// static buffer (supervise is single-threaded).
#[unsafe(no_mangle)]
pub extern "C" fn strerror(e: c_int) -> *const c_char {
    if let Some((_, text)) = TEXTS.iter().find(|(n, _)| *n == e) {
        return text.as_ptr() as *const c_char;
    }
    const PREFIX: &[u8] = b"Unknown error ";
    static mut UNKNOWN: [u8; 32] = [0; 32];
    let buf = &raw mut UNKNOWN;
    let mut digits = [0u8; 10];
    let digits = svkit::sys::decimal(e.unsigned_abs(), &mut digits);
    // SAFETY: single-threaded; prefix, sign, 10 digits and NUL fit in 32.
    unsafe {
        let buf = &mut *buf;
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        let mut at = PREFIX.len();
        if e < 0 {
            buf[at] = b'-';
            at += 1;
        }
        buf[at..at + digits.len()].copy_from_slice(digits);
        buf[at + digits.len()] = 0;
        buf.as_ptr() as *const c_char
    }
}

// ---- posix_spawn ------------------------------------------------------------
// svkit calls posix_spawn from one place, sys::process::spawn, which asks
// for a session or a process group, dup2s, every signal at its default and
// none blocked. sys::fork::fork_exec_checked already starts a program just
// so (for the spawns posix_spawn cannot do), exec failure reported back
// included: posix_spawn here records the flags and the dup2s in glibc's
// opaque objects and hands them to it. Its child always resets every
// signal and unblocks all, so the signal attributes need no storing. The
// child is a fork, not a vfork: these programs are small.

#[repr(C)]
struct Attr {
    flags: i16,
}

const DUPS: usize = 8;
#[repr(C)]
struct Actions {
    n: usize,
    dup: [(c_int, c_int); DUPS],
}

const _: () =
    assert!(core::mem::size_of::<Attr>() <= core::mem::size_of::<libc::posix_spawnattr_t>());
const _: () = assert!(
    core::mem::size_of::<Actions>() <= core::mem::size_of::<libc::posix_spawn_file_actions_t>()
);

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawnattr_init(a: *mut libc::posix_spawnattr_t) -> c_int {
    unsafe { (a as *mut Attr).write(Attr { flags: 0 }) };
    0
}
#[unsafe(no_mangle)]
pub extern "C" fn posix_spawnattr_destroy(_: *mut libc::posix_spawnattr_t) -> c_int {
    0
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawnattr_setflags(
    a: *mut libc::posix_spawnattr_t,
    f: i16,
) -> c_int {
    unsafe { (*(a as *mut Attr)).flags = f };
    0
}
/// The group is always the child's own (0): fork_exec's `new_group`.
#[unsafe(no_mangle)]
pub extern "C" fn posix_spawnattr_setpgroup(
    _: *mut libc::posix_spawnattr_t,
    _: libc::pid_t,
) -> c_int {
    0
}
/// Always the empty mask: see above.
#[unsafe(no_mangle)]
pub extern "C" fn posix_spawnattr_setsigmask(
    _: *mut libc::posix_spawnattr_t,
    _: *const libc::sigset_t,
) -> c_int {
    0
}
/// Always every signal: see above.
#[unsafe(no_mangle)]
pub extern "C" fn posix_spawnattr_setsigdefault(
    _: *mut libc::posix_spawnattr_t,
    _: *const libc::sigset_t,
) -> c_int {
    0
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawn_file_actions_init(
    f: *mut libc::posix_spawn_file_actions_t,
) -> c_int {
    unsafe {
        (f as *mut Actions).write(Actions {
            n: 0,
            dup: [(0, 0); DUPS],
        })
    };
    0
}
#[unsafe(no_mangle)]
pub extern "C" fn posix_spawn_file_actions_destroy(
    _: *mut libc::posix_spawn_file_actions_t,
) -> c_int {
    0
}
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawn_file_actions_adddup2(
    f: *mut libc::posix_spawn_file_actions_t,
    from: c_int,
    to: c_int,
) -> c_int {
    let acts = unsafe { &mut *(f as *mut Actions) };
    if acts.n == DUPS {
        return libc::ENOMEM;
    }
    acts.dup[acts.n] = (from, to);
    acts.n += 1;
    0
}

/// The strings of a NULL-terminated array.
unsafe fn strings<'a>(list: *const *mut c_char) -> Vec<&'a CStr> {
    let mut out = Vec::new();
    let mut p = list;
    unsafe {
        while !(*p).is_null() {
            out.push(CStr::from_ptr(*p));
            p = p.add(1);
        }
    }
    out
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    acts: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    unsafe {
        let flags = match attr.is_null() {
            true => 0,
            false => (*(attr as *const Attr)).flags,
        };
        let dup = match acts.is_null() {
            true => &[][..],
            false => {
                let a = &*(acts as *const Actions);
                &a.dup[..a.n]
            }
        };
        let args = strings(argv);
        // Our own environment is inherited as it is; another is copied.
        let env: Option<Vec<CString>> = (envp.cast::<*const c_char>() != environ)
            .then(|| strings(envp).into_iter().map(CString::from).collect());
        let opts = Spawn {
            new_session: flags & libc::POSIX_SPAWN_SETSID != 0,
            new_group: flags & libc::POSIX_SPAWN_SETPGROUP as i16 != 0,
            dup,
            env: env.as_deref(),
            ..Spawn::default()
        };
        match fork::fork_exec_checked(&Path::from(CStr::from_ptr(path)), &args, &opts) {
            Ok(child) => {
                if !pid.is_null() {
                    *pid = child;
                }
                0
            }
            Err(e) => e.0,
        }
    }
}
