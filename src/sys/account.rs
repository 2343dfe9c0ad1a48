//! The passwd and group databases, and this process's user and group ids.

use super::{Errno, Result, check};
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};

/// What svkit needs of a passwd entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Passwd {
    pub uid: u32,
    pub gid: u32,
}

/// Looks `name` up in the passwd database (through NSS); None when there
/// is no such account.
pub fn getpwnam(name: &CStr) -> Result<Option<Passwd>> {
    let mut buf: Vec<c_char> = vec![0; 1024];
    loop {
        // SAFETY: pw and buf outlive the call; result points into them or
        // is null.
        let mut pw: libc::passwd = unsafe { core::mem::zeroed() };
        let mut result: *mut libc::passwd = core::ptr::null_mut();
        let r = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pw,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match r {
            0 if result.is_null() => return Ok(None),
            0 => {
                return Ok(Some(Passwd {
                    uid: pw.pw_uid,
                    gid: pw.pw_gid,
                }));
            }
            // Some NSS modules report "no such account" as ENOENT.
            libc::ENOENT => return Ok(None),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            e => return Err(Errno(e)),
        }
    }
}

/// Looks group `name` up in the group database (through NSS); None when
/// there is no such group.
pub fn getgrnam(name: &CStr) -> Result<Option<u32>> {
    let mut buf: Vec<c_char> = vec![0; 1024];
    loop {
        // SAFETY: gr and buf outlive the call; result points into them or
        // is null.
        let mut gr: libc::group = unsafe { core::mem::zeroed() };
        let mut result: *mut libc::group = core::ptr::null_mut();
        let r = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut gr,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        match r {
            0 if result.is_null() => return Ok(None),
            0 => return Ok(Some(gr.gr_gid)),
            libc::ENOENT => return Ok(None),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            e => return Err(Errno(e)),
        }
    }
}

/// The groups of account `name` in the group database, `gid` included.
pub fn getgrouplist(name: &CStr, gid: u32) -> Vec<u32> {
    let mut groups: Vec<libc::gid_t> = vec![0; 32];
    loop {
        let mut n = groups.len() as c_int;
        // SAFETY: groups has room for n entries; n comes back as the count.
        let r = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if r >= 0 {
            groups.truncate(n.max(0) as usize);
            return groups;
        }
        // -1: too small, and n now holds the size needed. The kernel takes
        // at most 65536 groups, so past that setgroups refuses them anyway.
        if groups.len() > 1 << 17 {
            return groups;
        }
        let want = (n.max(0) as usize).max(groups.len() * 2);
        groups.resize(want, 0);
    }
}

/// setgroups(2): replaces the supplementary groups.
pub fn setgroups(groups: &[u32]) -> Result<()> {
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) }).map(drop)
}

/// setgid(2): as root, sets the real, effective and saved gid.
pub fn setgid(gid: u32) -> Result<()> {
    check(unsafe { libc::setgid(gid) }).map(drop)
}

/// setuid(2): as root, sets the real, effective and saved uid.
pub fn setuid(uid: u32) -> Result<()> {
    check(unsafe { libc::setuid(uid) }).map(drop)
}

/// This process's ids as the kernel holds them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Credentials {
    /// Real, effective, saved.
    pub uids: [u32; 3],
    /// Real, effective, saved.
    pub gids: [u32; 3],
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

/// Reads this process's ids back from the kernel.
pub fn credentials() -> Result<Credentials> {
    let (mut u, mut g) = ([0u32; 3], [0u32; 3]);
    // SAFETY: each pointer is to a live u32.
    check(unsafe { libc::getresuid(&mut u[0], &mut u[1], &mut u[2]) })?;
    check(unsafe { libc::getresgid(&mut g[0], &mut g[1], &mut g[2]) })?;
    let n = check(unsafe { libc::getgroups(0, core::ptr::null_mut()) })?;
    let mut groups: Vec<libc::gid_t> = vec![0; n as usize];
    let n = check(unsafe { libc::getgroups(n, groups.as_mut_ptr()) })?;
    groups.truncate(n as usize);
    Ok(Credentials {
        uids: u,
        gids: g,
        groups,
    })
}
