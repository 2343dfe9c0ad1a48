//! runit's chpst: a run script's whole process state (account, its ids
//! in the environment, envdir, root, nice, lock, limits, session, closed
//! standard descriptors) changed in one exec. See man/chpst.8.

use crate::account::{self, Account, Spec};
use crate::args::{Arg, Parser};
use crate::envdir;
use crate::error::{Doing, Error};
use crate::limits::{self, Want};
use crate::sys::account as db;
use crate::sys::limits::Resource;
use crate::sys::{Path, process, shape};
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;

/// What the command line asks for, in the order runit applies it.
#[derive(Default)]
pub struct Options<'a> {
    pub user: Option<&'a CStr>,
    pub env_user: Option<&'a CStr>,
    pub argv0: Option<&'a CStr>,
    pub env_dir: Option<Path>,
    pub root: Option<Path>,
    pub nice: i32,
    /// (file, wait): `-l` waits, `-L` does not.
    pub lock: Option<(Path, bool)>,
    pub limits: Vec<(Resource, u64)>,
    pub verbose: bool,
    pub new_session: bool,
    /// `-0 -1 -2`.
    pub close: [bool; 3],
    pub prog: &'a [&'a CStr],
}

/// A command line runit's chpst refuses; the text is the line it prints
/// before its usage line (empty: the usage line alone).
pub struct Refused(pub String);

fn number(v: &[u8]) -> Result<u64, Refused> {
    core::str::from_utf8(v)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or(Refused(String::new()))
}

/// The nice increment: digits, with an optional `+` or `-` before them.
fn increment(v: &[u8]) -> Result<i32, Refused> {
    let (sign, digits) = match v.first() {
        Some(b'-') => (-1, &v[1..]),
        Some(b'+') => (1, &v[1..]),
        _ => (1, v),
    };
    let n = number(digits)?;
    Ok(sign * n.min(i32::MAX as u64) as i32)
}

/// Parses chpst's options, which end at the first operand, `prog`.
pub fn parse<'a>(args: &'a [&'a CStr]) -> Result<Options<'a>, Refused> {
    let mut p = Parser::new(args);
    let mut o = Options::default();
    let needs = |c: char| Refused(format!("option requires an argument -- {c}"));
    loop {
        let arg = p.next().map_err(|_| Refused(String::new()))?;
        let c = match arg {
            Some(Arg::Short(c)) => c,
            Some(Arg::Value(_)) => break,
            Some(Arg::Long(_)) => return Err(Refused("illegal option -- -".into())),
            None => return Err(Refused(String::new())),
        };
        let takes_value = "uUbe/nlLmdopfcrt".contains(c);
        let v: &'a [u8] = if takes_value {
            p.value().map_err(|_| needs(c))?
        } else {
            b""
        };
        let owned = || Path::new(v);
        match c {
            'u' => o.user = Some(arg_cstr(args, v)),
            'U' => o.env_user = Some(arg_cstr(args, v)),
            'b' => o.argv0 = Some(arg_cstr(args, v)),
            'e' => o.env_dir = Some(owned()),
            '/' => o.root = Some(owned()),
            'n' => o.nice = increment(v)?,
            'l' | 'L' => {
                if o.lock.is_some() {
                    return Err(Refused(String::new()));
                }
                o.lock = Some((owned(), c == 'l'));
            }
            'v' => o.verbose = true,
            'P' => o.new_session = true,
            '0' => o.close[0] = true,
            '1' => o.close[1] = true,
            '2' => o.close[2] = true,
            'V' => {
                return Err(Refused(format!(
                    "version svkit {}",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            _ => {
                let letter = match c {
                    'm' => 'm',
                    'd' => 'd',
                    'o' => 'o',
                    'p' => 'p',
                    'f' => 'f',
                    'c' => 'c',
                    'r' => 'r',
                    't' => 't',
                    _ => return Err(Refused(format!("illegal option -- {c}"))),
                };
                let n = number(v)?;
                // -m is softlimit's -m (data, stack, locked memory and
                // address space), the rest one resource each.
                for &r in limits::resources(letter).unwrap_or(&[]) {
                    o.limits.retain(|(have, _)| *have != r);
                    o.limits.push((r, n));
                }
            }
        }
    }
    o.prog = p.command();
    Ok(o)
}

/// The argument whose bytes are `v` (an option's value is a whole
/// argument or the tail of one, and both are NUL-terminated there).
fn arg_cstr<'a>(args: &'a [&'a CStr], v: &'a [u8]) -> &'a CStr {
    args.iter()
        .find_map(|a| {
            let b = a.to_bytes_with_nul();
            let start = v.as_ptr() as usize;
            let base = b.as_ptr() as usize;
            (start >= base && start < base + b.len()).then(|| {
                // A suffix of a C string is a C string.
                CStr::from_bytes_with_nul(&b[start - base..]).ok()
            })?
        })
        .unwrap_or(c"")
}

/// runit's `user[:group[:group...]]`, or `:uid:gid[:gid...]` numerically:
/// the account, its groups the ones named (the first is the gid) or else
/// its own gid alone.
pub fn account(spec: &CStr) -> Result<Account, Error> {
    let text = spec.to_bytes();
    let unknown = || {
        Error::Trouble(format!(
            "unknown user/group: {}",
            String::from_utf8_lossy(text)
        ))
    };
    let mut parts = text.split(|&b| b == b':');
    let first = parts.next().unwrap_or_default();
    if first.is_empty() {
        // `:uid:gid...`, numbers only.
        let ids: Vec<u32> = parts
            .map(|p| core::str::from_utf8(p).ok()?.parse::<u32>().ok())
            .collect::<Option<_>>()
            .ok_or_else(unknown)?;
        let [uid, gid, ..] = ids[..] else {
            return Err(unknown());
        };
        return Ok(Account {
            uid,
            gid,
            groups: ids[1..].to_vec(),
        });
    }
    let name = CString::new(first).map_err(|_| unknown())?;
    let mut acct = account::lookup(Spec::Name(&name), false).map_err(|e| match e {
        Error::Trouble(_) => unknown(),
        e => e,
    })?;
    let mut groups = Vec::new();
    for g in parts {
        let g = CString::new(g).map_err(|_| unknown())?;
        let gid = db::getgrnam(&g)
            .doing(|| format!("look up group {}", g.to_string_lossy()))?
            .ok_or_else(unknown)?;
        groups.push(gid);
    }
    if let Some(&gid) = groups.first() {
        acct.gid = gid;
        acct.groups = groups;
    } else {
        acct.groups = vec![acct.gid];
    }
    Ok(acct)
}

/// Changes this process as `o` says, in runit's order: session, envdir,
/// root, nice, ids in the environment, account, lock, closed descriptors,
/// limits. Then the caller execs.
pub fn apply(o: &Options) -> Result<(), Error> {
    if o.new_session {
        // As runit: a process already leading its group stays as it is.
        let _ = shape::setsid();
    }
    if let Some(dir) = &o.env_dir {
        // runit's words for a directory it cannot read.
        let vars = envdir::read(dir).map_err(|e| match e.errno() {
            Some(errno) => Error::sys(format!("switch to directory: {dir}"), errno),
            None => e,
        })?;
        envdir::apply(&vars)?;
    }
    if let Some(root) = &o.root {
        crate::sys::fs::chdir(root).doing(|| format!("change directory: {root}"))?;
        shape::chroot(&Path::from(".")).doing(|| "change root directory".into())?;
    }
    if o.nice != 0 {
        shape::nice(o.nice).doing(|| "set nice level".into())?;
    }
    if let Some(spec) = o.env_user {
        account::export(&account(spec)?)?;
    }
    if let Some(spec) = o.user {
        account::assume(&account(spec)?)?;
    }
    if let Some((file, wait)) = &o.lock {
        let fd = shape::open_lock_file(file).doing(|| format!("open lock: {file}"))?;
        let locked = match wait {
            true => crate::sys::fs::lock_exclusive(&fd),
            false => crate::sys::fs::lock_exclusive_now(&fd),
        };
        locked.doing(|| format!("lock: {file}"))?;
        // The lock lives in the descriptor, which the program inherits.
        core::mem::forget(fd);
    }
    for (fd, close) in o.close.iter().enumerate() {
        if *close {
            shape::close(fd as i32);
        }
    }
    for &(r, n) in &o.limits {
        limits::set(r, Want::At(n))?;
    }
    Ok(())
}

/// Execs `o.prog`, found on PATH by its own name, with `-b`'s argv[0] if
/// given. Returns only on failure.
pub fn exec(o: &Options) -> Error {
    let Some(&prog) = o.prog.first() else {
        return Error::Usage("missing prog".into());
    };
    let mut argv: Vec<&CStr> = o.prog.to_vec();
    if let Some(a) = o.argv0 {
        argv[0] = a;
    }
    let errno = process::exec(prog, &argv);
    Error::Sys {
        doing: format!("run: {}", String::from_utf8_lossy(prog.to_bytes())),
        reason: crate::error::Reason::Errno(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: &[&str]) -> Result<Options<'static>, String> {
        let owned: Vec<&'static CStr> = v
            .iter()
            .map(|s| &*alloc::boxed::Box::leak(CString::new(*s).unwrap().into_boxed_c_str()))
            .collect();
        let leaked: &'static [&'static CStr] = alloc::boxed::Box::leak(owned.into_boxed_slice());
        parse(leaked).map_err(|r| r.0)
    }

    #[test]
    fn options_end_at_prog() {
        let o = parsed(&["-u", "nobody", "-vP", "-n-3", "prog", "-u", "x"]).unwrap();
        assert_eq!(o.user.unwrap().to_bytes(), b"nobody");
        assert!(o.verbose && o.new_session);
        assert_eq!(o.nice, -3);
        assert_eq!(o.prog.len(), 3);
    }

    #[test]
    fn refusals_read_as_runit_s() {
        assert_eq!(parsed(&["-z", "x"]).err().unwrap(), "illegal option -- z");
        assert_eq!(
            parsed(&["-u"]).err().unwrap(),
            "option requires an argument -- u"
        );
        assert_eq!(parsed(&["-m", "abc", "x"]).err().unwrap(), "");
        assert_eq!(parsed(&["-l", "a", "-L", "b", "x"]).err().unwrap(), "");
        assert_eq!(parsed(&[]).err().unwrap(), "");
    }

    #[test]
    fn m_sets_four_limits() {
        let o = parsed(&["-m", "1000", "-o", "7", "x"]).unwrap();
        assert_eq!(o.limits.len(), 5);
    }
}
