//! Unix datagram sockets that learn who sent each datagram: the sd_notify
//! socket a service sends READY=1 to.

use super::{Errno, Fd, Path, Result, check};
use core::ffi::c_int;
use core::mem::{size_of, zeroed};

/// Who sent a datagram, as the kernel vouches (SCM_CREDENTIALS).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Sender {
    pub pid: i32,
    pub uid: u32,
}

/// A bound, non-blocking datagram socket at `path` (replacing a stale
/// one), with credential passing on.
pub fn bind_datagram(path: &Path) -> Result<Fd> {
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    for (d, &s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = s as libc::c_char;
    }
    // SAFETY: plain socket calls on a descriptor we own, with a fully
    // initialised address of the size we pass.
    unsafe {
        let fd = Fd::from_raw(check(libc::socket(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        ))?);
        let on: c_int = 1;
        check(libc::setsockopt(
            fd.raw(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const c_int).cast(),
            size_of::<c_int>() as libc::socklen_t,
        ))?;
        libc::unlink(path.as_cstr().as_ptr());
        check(libc::bind(
            fd.raw(),
            (&addr as *const libc::sockaddr_un).cast(),
            size_of::<libc::sockaddr_un>() as libc::socklen_t,
        ))?;
        Ok(fd)
    }
}

/// Receives one datagram into `buf`: its length and its sender. None when
/// nothing is waiting. A datagram longer than `buf` is cut short.
pub fn receive(fd: &Fd, buf: &mut [u8]) -> Result<Option<(usize, Option<Sender>)>> {
    // Room for one SCM_CREDENTIALS message, 8-byte aligned.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr points at live buffers of the sizes given; the cmsg
    // walk stays within `control` as the CMSG macros guarantee.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>();
        let n = libc::recvmsg(
            fd.raw(),
            &mut msg,
            libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
        );
        if n < 0 {
            return match Errno::last() {
                Errno::EAGAIN => Ok(None),
                e => Err(e),
            };
        }
        let mut sender = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_CREDENTIALS {
                let cred: libc::ucred = core::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                sender = Some(Sender {
                    pid: cred.pid,
                    uid: cred.uid,
                });
            } else if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                // Nobody may leave descriptors in supervise: close them.
                let data = libc::CMSG_DATA(c);
                let len = (*c).cmsg_len as usize - (data as usize - c as usize);
                for i in 0..len / size_of::<c_int>() {
                    let raw: c_int = core::ptr::read_unaligned(data.cast::<c_int>().add(i));
                    drop(Fd::from_raw(raw));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Ok(Some((n as usize, sender)))
    }
}
