//! Unix datagram sockets that learn who sent each datagram: the sd_notify
//! socket a service sends READY=1 to.

use super::{Errno, Fd, Path, Result};
use core::mem::MaybeUninit;
use rustix::io::IoSliceMut;
use rustix::net::{
    self, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketAddrUnix,
    SocketFlags, SocketType,
};

/// Who sent a datagram, as the kernel vouches (SCM_CREDENTIALS).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Sender {
    pub pid: i32,
    pub uid: u32,
}

/// A bound, non-blocking datagram socket at `path` (replacing a stale
/// one), with credential passing on.
pub fn bind_datagram(path: &Path) -> Result<Fd> {
    // sun_path's room, its NUL included.
    if path.as_bytes().len() >= 108 {
        return Err(Errno(libc::ENAMETOOLONG));
    }
    let addr = SocketAddrUnix::new(path.as_cstr())?;
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let fd: Fd = net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, flags, None)?.into();
    net::sockopt::set_socket_passcred(&fd, true)?;
    let _ = rustix::fs::unlink(path.as_cstr());
    net::bind(&fd, &addr)?;
    Ok(fd)
}

/// Receives one datagram into `buf`: its length and its sender. None when
/// nothing is waiting. A datagram longer than `buf` is cut short.
pub fn receive(fd: &Fd, buf: &mut [u8]) -> Result<Option<(usize, Option<Sender>)>> {
    // Room for the credentials and a few descriptors, which are closed:
    // nobody may leave descriptors in supervise.
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1), ScmRights(4))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let flags = RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC;
    let got = match net::recvmsg(fd, &mut [IoSliceMut::new(buf)], &mut control, flags) {
        Ok(got) => got,
        Err(rustix::io::Errno::AGAIN) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut sender = None;
    for message in control.drain() {
        // Descriptors passed (ScmRights) are closed as the message drops.
        if let RecvAncillaryMessage::ScmCredentials(cred) = message {
            sender = Some(Sender {
                pid: cred.pid.as_raw_nonzero().get(),
                uid: cred.uid.as_raw(),
            });
        }
    }
    Ok(Some((got.bytes, sender)))
}
