//! Labelling lines with the moment they arrive: daemontools' tai64n.
//! See man/tai64n.8.

use crate::batch::Batch;
use crate::error::{Doing, Error};
use crate::sys::Fd;
use crate::tai64::Tai64n;
use alloc::vec;
use core::mem::ManuallyDrop;

/// Room for the label and its space, moved as one block.
const PREFIX: usize = 32;
/// The label and its space.
const LABEL: usize = 26;

/// Copies standard input to standard output, putting `@` + the TAI64N
/// label of the read that brought it + a space in front of every line. A
/// partial last line is passed on as it is, as tai64n does.
pub fn run() -> Result<(), Error> {
    // fds 0 and 1 belong to the process.
    let stdin = ManuallyDrop::new(Fd::from_raw(0));
    let stdout = ManuallyDrop::new(Fd::from_raw(1));
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Batch::with_capacity(96 * 1024);
    let mut at_start = true;
    let mut prefix = [b' '; PREFIX];
    loop {
        let n = stdin.read(&mut buf).doing(|| "read input".into())?;
        if n == 0 {
            return Ok(());
        }
        // One clock reading per read(2): the lines it brought arrived
        // together.
        prefix[..LABEL - 1].copy_from_slice(&Tai64n::now().label());
        label_lines(&buf[..n], &prefix, LABEL, &mut at_start, &mut out);
        // Written after every read, so a pipe shows each line as it comes.
        stdout
            .write_all(out.bytes())
            .doing(|| "write output".into())?;
        out.clear();
    }
}

/// Appends `input` to `out` with `prefix[..len]` before each line start;
/// `at_start` carries whether the next byte begins a line.
pub fn label_lines(
    mut input: &[u8],
    prefix: &[u8; PREFIX],
    len: usize,
    at_start: &mut bool,
    out: &mut Batch,
) {
    while !input.is_empty() {
        if *at_start {
            out.push_prefix(prefix, len);
        }
        let end = memchr::memchr(b'\n', input).map_or(input.len(), |i| i + 1);
        out.push(&input[..end]);
        *at_start = input[end - 1] == b'\n';
        input = &input[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_start_gets_the_label_even_across_reads() {
        let mut out = Batch::with_capacity(0);
        let mut start = true;
        let label = |l: &[u8; 3]| {
            let mut p = [b'-'; PREFIX];
            p[..3].copy_from_slice(l);
            p
        };
        label_lines(b"a\nb", &label(b"@L "), 3, &mut start, &mut out);
        label_lines(b"c\n\n", &label(b"@M "), 3, &mut start, &mut out);
        label_lines(b"", &label(b"@N "), 3, &mut start, &mut out);
        assert_eq!(out.bytes(), b"@L a\n@L bc\n@M \n");
        assert!(start);
    }
}
