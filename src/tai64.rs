//! TAI64N timestamps as daemontools writes them: the second count is
//! 2^62 + 10 + Unix time (daemontools' fixed 10-second TAI offset, which
//! runit's `sv` also assumes), then nanoseconds, both big-endian.

use core::time::Duration;

/// 2^62 + 10: the label of the Unix epoch.
const EPOCH: u64 = (1 << 62) + 10;

/// A TAI64N moment. All zeros means "never" in status files.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default, Hash)]
pub struct Tai64n {
    pub secs: u64,
    pub nanos: u32,
}

impl Tai64n {
    /// "Never": twelve zero bytes.
    pub const ZERO: Tai64n = Tai64n { secs: 0, nanos: 0 };

    /// The moment `since_epoch` after the Unix epoch.
    pub fn from_unix(since_epoch: Duration) -> Tai64n {
        Tai64n {
            secs: EPOCH + since_epoch.as_secs(),
            nanos: since_epoch.subsec_nanos(),
        }
    }

    /// Time since the Unix epoch; zero for moments before it.
    pub fn to_unix(self) -> Duration {
        Duration::new(self.secs.saturating_sub(EPOCH), self.nanos.min(999_999_999))
    }

    /// Now, by the real-time clock.
    pub fn now() -> Tai64n {
        Tai64n::from_unix(crate::sys::time::realtime())
    }

    /// Whether this is "never".
    pub fn is_zero(self) -> bool {
        self == Tai64n::ZERO
    }

    /// The 12-byte external form.
    pub fn encode(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.secs.to_be_bytes());
        b[8..].copy_from_slice(&self.nanos.to_be_bytes());
        b
    }

    /// Reads the 12-byte external form.
    pub fn decode(b: &[u8; 12]) -> Tai64n {
        let mut s = [0u8; 8];
        let mut n = [0u8; 4];
        s.copy_from_slice(&b[..8]);
        n.copy_from_slice(&b[8..]);
        Tai64n {
            secs: u64::from_be_bytes(s),
            nanos: u32::from_be_bytes(n),
        }
    }

    /// Seconds from `self` to `later` (0 if `later` is earlier), counted
    /// as daemontools' svstat does: by the second labels alone, so both
    /// tools print the same number for the same status file.
    pub fn seconds_until(self, later: Tai64n) -> u64 {
        later.secs.saturating_sub(self.secs)
    }

    /// The `@` + 24 hex digits label multilog puts before each line.
    pub fn label(self) -> [u8; 25] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'@'; 25];
        for (i, byte) in self.encode().iter().enumerate() {
            out[1 + 2 * i] = HEX[(byte >> 4) as usize];
            out[2 + 2 * i] = HEX[(byte & 15) as usize];
        }
        out
    }

    /// Parses a `@` + 24 hex digits label.
    pub fn parse_label(text: &[u8]) -> Option<Tai64n> {
        let hex = text.strip_prefix(b"@")?.get(..24)?;
        let mut b = [0u8; 12];
        for (i, pair) in hex.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            b[i] = (hi * 16 + lo) as u8;
        }
        Some(Tai64n::decode(&b))
    }
}

impl core::ops::Add<Duration> for Tai64n {
    type Output = Tai64n;
    fn add(self, d: Duration) -> Tai64n {
        let nanos = self.nanos as u64 + d.subsec_nanos() as u64;
        Tai64n {
            secs: self.secs + d.as_secs() + nanos / 1_000_000_000,
            nanos: (nanos % 1_000_000_000) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_epoch_is_2_to_the_62_plus_10() {
        let t = Tai64n::from_unix(Duration::ZERO);
        assert_eq!(t.encode(), [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0]);
    }

    #[test]
    fn labels_are_24_hex_digits() {
        let t = Tai64n::from_unix(Duration::new(1, 5));
        assert_eq!(&t.label(), b"@400000000000000b00000005");
        assert_eq!(Tai64n::parse_label(&t.label()), Some(t));
    }

    #[test]
    fn seconds_until_compares_second_labels_like_daemontools() {
        let a = Tai64n::from_unix(Duration::new(10, 900_000_000));
        assert_eq!(
            a.seconds_until(Tai64n::from_unix(Duration::new(12, 100_000_000))),
            2
        );
        assert_eq!(a.seconds_until(Tai64n::from_unix(Duration::new(5, 0))), 0);
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(secs: u64, nanos in 0u32..1_000_000_000) {
            let t = Tai64n { secs, nanos };
            prop_assert_eq!(Tai64n::decode(&t.encode()), t);
        }
    }
}
