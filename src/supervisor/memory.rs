//! The memory guard's measure: the resident memory of a service, summed
//! over every process of its session (a run script that does not exec its
//! daemon still has the daemon in its session), read from /proc.

use crate::sys::{Path, fs};

/// Resident bytes of all processes in session `sid`; None when /proc
/// cannot be read at all.
pub fn session_rss(sid: i32) -> Option<u64> {
    let page = crate::sys::page_size();
    let mut total = 0u64;
    for name in fs::list_dir(&Path::from("/proc")).ok()? {
        if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let path = Path::from("/proc").join(&name).join("stat");
        // A process that ended since the listing has nothing to count.
        let Ok(text) = fs::read_prefix(&path, 1024) else {
            continue;
        };
        if let Some((session, pages)) = parse_stat(&text)
            && session == sid
        {
            total = total.saturating_add(pages.saturating_mul(page));
        }
    }
    Some(total)
}

/// (session, resident pages) from /proc/PID/stat. Fields are counted from
/// the last ')': the command name may hold spaces and parentheses.
pub fn parse_stat(text: &[u8]) -> Option<(i32, u64)> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = core::str::from_utf8(&text[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... rss(24).
    let session = fields.nth(3)?.parse().ok()?;
    let rss = fields.nth(24 - 7)?.parse().ok()?;
    Some((session, rss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_and_rss_come_after_the_name() {
        let line = b"42 (a) b (c)) S 1 42 40 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123 4567 89 18446744073709551615";
        assert_eq!(parse_stat(line), Some((40, 89)));
        assert_eq!(parse_stat(b"42 (x) S 1"), None);
    }

    #[test]
    fn our_own_session_uses_memory() {
        let sid = crate::sys::getsid();
        assert!(session_rss(sid).unwrap() > 0);
    }
}
