//! Who setuidgid becomes: an account from the passwd database, or a
//! numeric UID:GID, and the one-way switch of this process to it.
//! See man/setuidgid.8.

use crate::error::{Doing, Error};
use crate::sys::account as db;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;

/// How the command line names the account.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Spec<'a> {
    /// A name to look up in the passwd database.
    Name(&'a CStr),
    /// `UID:GID`, used as given.
    Ids { uid: u32, gid: u32 },
}

impl<'a> Spec<'a> {
    /// Reads ACCOUNT. A `:` makes it numeric, since no account name may
    /// contain one (it separates the fields of /etc/passwd).
    pub fn parse(arg: &'a CStr) -> Result<Spec<'a>, Error> {
        let bytes = arg.to_bytes();
        let Some(colon) = bytes.iter().position(|&b| b == b':') else {
            return Ok(Spec::Name(arg));
        };
        let bad = || {
            Error::Usage(format!(
                "account {} is neither a name nor UID:GID",
                String::from_utf8_lossy(bytes)
            ))
        };
        let uid = id(&bytes[..colon]).ok_or_else(bad)?;
        let gid = id(&bytes[colon + 1..]).ok_or_else(bad)?;
        Ok(Spec::Ids { uid, gid })
    }
}

/// A decimal id. The all-ones id is refused: to setuid(2) and setgid(2)
/// it means "leave unchanged", which would keep root's.
fn id(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(digits)
        .ok()?
        .parse::<u32>()
        .ok()
        .filter(|&n| n != u32::MAX)
}

/// The ids this process takes on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    /// The supplementary groups, exactly.
    pub groups: Vec<u32>,
}

/// Resolves `spec`. The supplementary groups are the account's gid alone,
/// or with `all_groups` (`-s`) its groups in the group database; a numeric
/// UID:GID names no account there, so it always gets its gid alone.
pub fn lookup(spec: Spec, all_groups: bool) -> Result<Account, Error> {
    match spec {
        Spec::Ids { uid, gid } => Ok(Account {
            uid,
            gid,
            groups: vec![gid],
        }),
        Spec::Name(name) => {
            let shown = || String::from_utf8_lossy(name.to_bytes()).into_owned();
            let pw = db::getpwnam(name)
                .doing(|| format!("look up account {}", shown()))?
                .ok_or_else(|| Error::Trouble(format!("unknown account {}", shown())))?;
            let groups = if all_groups {
                db::getgrouplist(name, pw.gid)
            } else {
                vec![pw.gid]
            };
            Ok(Account {
                uid: pw.uid,
                gid: pw.gid,
                groups,
            })
        }
    }
}

/// Turns this process into `account`: groups first and the uid last, as
/// only root may change them, then reads the ids back from the kernel.
/// Any difference is an error, so a caller that gets Ok runs with exactly
/// the account's privileges and no way back to the old ones.
pub fn assume(account: &Account) -> Result<(), Error> {
    db::setgroups(&account.groups).doing(|| "setgroups".into())?;
    db::setgid(account.gid).doing(|| "setgid".into())?;
    db::setuid(account.uid).doing(|| "setuid".into())?;
    let now = db::credentials().doing(|| "read credentials".into())?;
    let want = db::Credentials {
        uids: [account.uid; 3],
        gids: [account.gid; 3],
        groups: account.groups.clone(),
    };
    if !same(&now, &want) {
        return Err(Error::Trouble(format!(
            "ids did not change as asked: uids {:?}, gids {:?}, groups {:?}",
            now.uids, now.gids, now.groups
        )));
    }
    Ok(())
}

/// Puts the account's ids in the environment as `UID` and `GID`, for a
/// program that drops privileges itself later (envuidgid, chpst -U).
pub fn export(account: &Account) -> Result<(), Error> {
    use crate::sys::env;
    let num = |n: u32| alloc::ffi::CString::new(format!("{n}")).unwrap_or_default();
    env::set(c"UID", &num(account.uid)).doing(|| "set UID".into())?;
    env::set(c"GID", &num(account.gid)).doing(|| "set GID".into())
}

/// Equal ids, and equal groups in any order.
fn same(a: &db::Credentials, b: &db::Credentials) -> bool {
    let sorted = |g: &[u32]| {
        let mut g = g.to_vec();
        g.sort_unstable();
        g.dedup();
        g
    };
    a.uids == b.uids && a.gids == b.gids && sorted(&a.groups) == sorted(&b.groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::ffi::CString;

    /// ACCOUNT as text: `name NAME` or `ids UID GID`.
    fn parse(s: &str) -> Result<String, Error> {
        let c = CString::new(s).unwrap();
        Spec::parse(&c).map(|spec| match spec {
            Spec::Name(n) => format!("name {}", n.to_str().unwrap()),
            Spec::Ids { uid, gid } => format!("ids {uid} {gid}"),
        })
    }

    #[test]
    fn a_colon_makes_the_account_numeric() {
        assert_eq!(parse("nobody").unwrap(), "name nobody");
        assert_eq!(parse("1000:100").unwrap(), "ids 1000 100");
        assert_eq!(parse("0:0").unwrap(), "ids 0 0");
    }

    #[test]
    fn malformed_ids_are_usage_errors() {
        for bad in [
            ":", "1:", ":1", "a:1", "1:b", "1:2:3", "-1:0", "+1:0", " 1:0",
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 100, "{bad}");
        }
    }

    #[test]
    fn the_leave_unchanged_id_is_refused() {
        assert!(parse("4294967295:1").is_err());
        assert!(parse("1:4294967295").is_err());
        assert!(parse("4294967296:1").is_err());
        assert_eq!(parse("4294967294:1").unwrap(), "ids 4294967294 1");
    }

    #[test]
    fn numeric_ids_get_their_gid_alone_even_with_all_groups() {
        let a = lookup(Spec::Ids { uid: 7, gid: 9 }, true).unwrap();
        assert_eq!(
            a,
            Account {
                uid: 7,
                gid: 9,
                groups: vec![9]
            }
        );
    }

    #[test]
    fn groups_compare_as_sets() {
        let c = |groups: Vec<u32>| db::Credentials {
            uids: [1; 3],
            gids: [2; 3],
            groups,
        };
        assert!(same(&c(vec![3, 2]), &c(vec![2, 3])));
        assert!(!same(&c(vec![2, 0]), &c(vec![2])));
        let mut saved_root = c(vec![2]);
        saved_root.uids[2] = 0;
        assert!(!same(&saved_root, &c(vec![2])));
    }
}
