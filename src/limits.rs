//! softlimit's options: which resources each letter limits, the soft
//! limit asked for, and setting it. See man/softlimit.8.

use crate::error::{Doing, Error};
use crate::sys::limits::{self as sys, Resource};
use alloc::format;

/// What an option's value asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Want {
    /// `=`: as high as the hard limit allows.
    Hard,
    /// A number of bytes, files, processes or seconds.
    At(u64),
}

impl Want {
    /// Reads an option's value: `=` or a decimal number. Anything else
    /// (empty, signed, too big for 64 bits) is None, a usage error.
    pub fn parse(bytes: &[u8]) -> Option<Want> {
        if bytes == b"=" {
            return Some(Want::Hard);
        }
        if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        core::str::from_utf8(bytes).ok()?.parse().ok().map(Want::At)
    }

    /// The soft limit to set under `hard`: never above it, as daemontools
    /// lowers a request it could not grant rather than fail.
    pub fn soft(self, hard: u64) -> u64 {
        match self {
            Want::Hard => hard,
            Want::At(n) => n.min(hard),
        }
    }
}

/// The resources an option letter limits (daemontools' table: `-m` is
/// `-d -s -l -a` at once), or None for a letter softlimit does not take.
pub fn resources(letter: char) -> Option<&'static [Resource]> {
    use libc::*;
    Some(match letter {
        'm' => &[RLIMIT_DATA, RLIMIT_STACK, RLIMIT_MEMLOCK, RLIMIT_AS],
        'a' => &[RLIMIT_AS],
        'd' => &[RLIMIT_DATA],
        's' => &[RLIMIT_STACK],
        'l' => &[RLIMIT_MEMLOCK],
        'o' => &[RLIMIT_NOFILE],
        'p' => &[RLIMIT_NPROC],
        'f' => &[RLIMIT_FSIZE],
        'c' => &[RLIMIT_CORE],
        'r' => &[RLIMIT_RSS],
        't' => &[RLIMIT_CPU],
        _ => return None,
    })
}

/// The resource's name in messages, as /proc/PID/limits calls it.
fn name(resource: Resource) -> &'static str {
    match resource {
        libc::RLIMIT_DATA => "data size",
        libc::RLIMIT_STACK => "stack size",
        libc::RLIMIT_MEMLOCK => "locked memory",
        libc::RLIMIT_AS => "address space",
        libc::RLIMIT_NOFILE => "open files",
        libc::RLIMIT_NPROC => "processes",
        libc::RLIMIT_FSIZE => "file size",
        libc::RLIMIT_CORE => "core file size",
        libc::RLIMIT_RSS => "resident set",
        libc::RLIMIT_CPU => "cpu time",
        _ => "resource",
    }
}

/// Sets the soft limit of `resource` as `want` asks, leaving the hard
/// limit alone.
pub fn set(resource: Resource, want: Want) -> Result<(), Error> {
    let doing = || format!("set the {} limit", name(resource));
    let (_, hard) = sys::get(resource).doing(doing)?;
    sys::set(resource, want.soft(hard), hard).doing(doing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_are_numbers_or_equals() {
        assert_eq!(Want::parse(b"="), Some(Want::Hard));
        assert_eq!(Want::parse(b"0"), Some(Want::At(0)));
        assert_eq!(Want::parse(b"65536"), Some(Want::At(65536)));
        assert_eq!(
            Want::parse(b"18446744073709551615"),
            Some(Want::At(u64::MAX))
        );
        for bad in [
            &b""[..],
            b"x",
            b"1k",
            b"-1",
            b"+1",
            b" 1",
            b"==",
            b"18446744073709551616",
        ] {
            assert_eq!(Want::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_request_above_the_hard_limit_is_lowered_to_it() {
        assert_eq!(Want::At(100_000).soft(4096), 4096);
        assert_eq!(Want::At(100).soft(4096), 100);
        assert_eq!(Want::Hard.soft(4096), 4096);
        assert_eq!(Want::Hard.soft(libc::RLIM_INFINITY), libc::RLIM_INFINITY);
    }

    #[test]
    fn m_is_d_s_l_a_together() {
        let mut m = resources('m').unwrap().to_vec();
        let mut each: alloc::vec::Vec<Resource> = "dsla"
            .chars()
            .flat_map(|c| resources(c).unwrap().iter().copied())
            .collect();
        m.sort_unstable();
        each.sort_unstable();
        assert_eq!(m, each);
        assert_eq!(resources('o'), Some(&[libc::RLIMIT_NOFILE][..]));
        assert_eq!(resources('x'), None);
    }

    proptest! {
        #[test]
        fn the_soft_limit_never_exceeds_the_hard(n: u64, hard: u64) {
            prop_assert!(Want::At(n).soft(hard) <= hard);
            prop_assert_eq!(Want::parse(n.to_string().as_bytes()), Some(Want::At(n)));
        }
    }
}
