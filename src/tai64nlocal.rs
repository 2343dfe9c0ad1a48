//! tai64nlocal's conversion: a `@` + 24 hex digit TAI64N label at the
//! start of a line becomes `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` in local time;
//! everything else passes through. Works on a stream in pieces of any
//! size, so a label split between two reads converts all the same.

use crate::sys::time;
use crate::tai64::Tai64n;
use alloc::vec::Vec;

/// Where the converter is in its input.
#[derive(Clone, Copy, Debug)]
enum At {
    LineStart,
    /// After `@`: the hex digits so far.
    Label([u8; 24], usize),
    Line,
}

/// The streaming converter.
pub struct Converter {
    at: At,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new()
    }
}

impl Converter {
    /// A converter at the start of a line.
    pub fn new() -> Converter {
        Converter { at: At::LineStart }
    }

    /// Converts `input`, appending to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            match self.at {
                At::Line => {
                    // Copy the rest of the line in one go.
                    let rest = &input[i..];
                    match rest.iter().position(|&b| b == b'\n') {
                        Some(n) => {
                            out.extend_from_slice(&rest[..=n]);
                            i += n + 1;
                            self.at = At::LineStart;
                        }
                        None => {
                            out.extend_from_slice(rest);
                            i = input.len();
                        }
                    }
                }
                At::LineStart => {
                    self.at = if input[i] == b'@' {
                        i += 1;
                        At::Label([0; 24], 0)
                    } else {
                        At::Line
                    };
                }
                At::Label(mut hex, n) if n < 24 && input[i].is_ascii_hexdigit() => {
                    hex[n] = input[i];
                    self.at = At::Label(hex, n + 1);
                    i += 1;
                }
                At::Label(hex, n) => {
                    emit(&hex[..n], out);
                    self.at = At::Line;
                }
            }
        }
    }

    /// At end of input: a label cut short by it is still written out.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if let At::Label(hex, n) = self.at {
            emit(&hex[..n], out);
        }
        self.at = At::LineStart;
    }
}

/// Writes a label's local time, or the label unchanged when it is not a
/// full 24 digits or names a time the C library cannot show.
fn emit(hex: &[u8], out: &mut Vec<u8>) {
    let mut label = [b'@'; 25];
    label[1..1 + hex.len()].copy_from_slice(hex);
    let shown = (hex.len() == 24)
        .then(|| Tai64n::parse_label(&label))
        .flatten()
        .and_then(|t| {
            let unix =
                (t.secs as i64).wrapping_sub(Tai64n::from_unix(Default::default()).secs as i64);
            Some((time::local(unix)?, t.nanos))
        });
    match shown {
        Some((lt, nanos)) => {
            let mut b = [0u8; 29];
            b.copy_from_slice(b"0000-00-00 00:00:00.000000000");
            digits(&mut b[0..4], lt.year.max(0) as u64);
            digits(&mut b[5..7], lt.month as u64);
            digits(&mut b[8..10], lt.day as u64);
            digits(&mut b[11..13], lt.hour as u64);
            digits(&mut b[14..16], lt.minute as u64);
            digits(&mut b[17..19], lt.second as u64);
            digits(&mut b[20..29], nanos as u64);
            out.extend_from_slice(&b);
        }
        None => out.extend_from_slice(&label[..1 + hex.len()]),
    }
}

fn digits(out: &mut [u8], mut n: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn convert(pieces: &[&[u8]]) -> Vec<u8> {
        let mut c = Converter::new();
        let mut out = Vec::new();
        for p in pieces {
            c.feed(p, &mut out);
        }
        c.finish(&mut out);
        out
    }

    #[test]
    fn lines_without_a_label_pass_through() {
        assert_eq!(convert(&[b"hello\n@zz\n\nx@4 y"]), b"hello\n@zz\n\nx@4 y");
        assert_eq!(convert(&[b"@4000 short\n"]), b"@4000 short\n");
    }

    proptest! {
        #[test]
        fn output_is_input_when_no_line_starts_with_at(v in "[^@]{0,200}") {
            prop_assert_eq!(convert(&[v.as_bytes()]), v.as_bytes());
        }

        #[test]
        fn splitting_the_input_changes_nothing(v in "(@40000000[0-9a-f]{16} x\n|[a-z@ \n]{0,5}){0,6}", cut in 0usize..200) {
            let b = v.as_bytes();
            let cut = cut.min(b.len());
            prop_assert_eq!(convert(&[b]), convert(&[&b[..cut], &b[cut..]]));
        }
    }
}
