//! multilog's patterns: a star before the end matches any run of bytes
//! that does not contain the next pattern byte; a star at the end matches
//! anything; every other byte matches itself. No backtracking, so that
//! existing `-named[*]: *` scripts select exactly the lines they did.

/// Whether `pattern` matches all of `line`.
pub fn matches(pattern: &[u8], line: &[u8]) -> bool {
    let (mut p, mut l) = (pattern, line);
    loop {
        match p {
            [] => return l.is_empty(),
            [b'*'] => return true,
            [b'*', next, ..] => match l.iter().position(|c| c == next) {
                // The star stops before the first `next`; the pattern goes
                // on from `next`, which matches it.
                Some(i) => {
                    l = &l[i..];
                    p = &p[1..];
                }
                None => return false,
            },
            [c, rest @ ..] => match l.split_first() {
                Some((b, tail)) if b == c => {
                    l = tail;
                    p = rest;
                }
                _ => return false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_bytes_match_the_whole_line_only() {
        assert!(matches(b"hello", b"hello"));
        assert!(!matches(b"hello", b"hello world"));
        assert!(!matches(b"hello", b"hell"));
        assert!(matches(b"", b""));
        assert!(!matches(b"", b"x"));
    }

    #[test]
    fn a_final_star_matches_anything() {
        assert!(matches(b"*", b""));
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"STAT*", b"STAT ok"));
        assert!(!matches(b"STAT*", b"xSTAT"));
    }

    #[test]
    fn an_inner_star_stops_at_the_next_pattern_byte() {
        let p = b"named[*]: Cleaned cache *";
        assert!(matches(p, b"named[135]: Cleaned cache of 3121 RRs"));
        assert!(!matches(p, b"named[1]2]: Cleaned cache x"));
        // No backtracking: the star stops at the first 'b'.
        assert!(!matches(b"*bc", b"abbc"));
        assert!(matches(b"*bc", b"abc"));
        assert!(matches(b"* fatal: *", b"@4000 fatal: out of memory"));
    }

    proptest! {
        #[test]
        fn never_panics(p: Vec<u8>, l: Vec<u8>) {
            let _ = matches(&p, &l);
        }

        #[test]
        fn a_star_free_pattern_is_equality(p in "[a-c]{0,6}", l in "[a-c]{0,6}") {
            prop_assert_eq!(matches(p.as_bytes(), l.as_bytes()), p == l);
        }
    }
}
