//! The text put in front of each line: a TAI64N label (`t`) or a UTC
//! date and time (`T`).

use super::script::Stamp;
use crate::tai64::Tai64n;
use core::time::Duration;

/// Room for the longest prefix.
pub const MAX: usize = 32;

/// Writes the prefix for a line read at `now` (since the Unix epoch) into
/// `out`; returns its length.
pub fn format(stamp: Stamp, now: Duration, out: &mut [u8; MAX]) -> usize {
    match stamp {
        Stamp::None => 0,
        Stamp::Tai64n => {
            out[..25].copy_from_slice(&Tai64n::from_unix(now).label());
            out[25] = b' ';
            26
        }
        Stamp::Iso => iso(now, out),
    }
}

/// (year, month, day) of a day count since 1970-01-01, by Howard Hinnant's
/// civil_from_days: no table, no loop, exact for every u64 second count
/// a clock can give.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn digits(out: &mut [u8], mut n: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` and two spaces, s6-log's layout, in UTC.
fn iso(now: Duration, out: &mut [u8; MAX]) -> usize {
    let secs = now.as_secs();
    let (y, m, d) = civil((secs / 86_400) as i64);
    let t = secs % 86_400;
    out[..31].copy_from_slice(b"0000-00-00 00:00:00.000000000  ");
    digits(&mut out[0..4], y as u64);
    digits(&mut out[5..7], m as u64);
    digits(&mut out[8..10], d as u64);
    digits(&mut out[11..13], t / 3600);
    digits(&mut out[14..16], t / 60 % 60);
    digits(&mut out[17..19], t % 60);
    digits(&mut out[20..29], now.subsec_nanos() as u64);
    31
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(stamp: Stamp, now: Duration) -> String {
        let mut out = [0; MAX];
        let n = format(stamp, now, &mut out);
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn iso_is_utc_with_nanoseconds() {
        assert_eq!(
            text(Stamp::Iso, Duration::new(1_700_000_000, 5)),
            "2023-11-14 22:13:20.000000005  "
        );
        assert_eq!(
            text(Stamp::Iso, Duration::ZERO),
            "1970-01-01 00:00:00.000000000  "
        );
        // A leap day.
        assert_eq!(
            &text(Stamp::Iso, Duration::from_secs(951_782_400))[..10],
            "2000-02-29"
        );
    }

    #[test]
    fn tai64n_is_a_label_and_a_space() {
        assert_eq!(
            text(Stamp::Tai64n, Duration::new(1, 5)),
            "@400000000000000b00000005 "
        );
        assert_eq!(text(Stamp::None, Duration::new(1, 5)), "");
    }
}
