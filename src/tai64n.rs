//! Labelling lines with the moment they arrive: daemontools' tai64n.
//! See man/tai64n.8.

use crate::error::{Doing, Error};
use crate::sys::Fd;
use crate::tai64::Tai64n;
use alloc::vec;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;

/// Copies standard input to standard output, putting `@` + the TAI64N
/// label of the read that brought it + a space in front of every line. A
/// partial last line is passed on as it is, as tai64n does.
pub fn run() -> Result<(), Error> {
    // fds 0 and 1 belong to the process.
    let stdin = ManuallyDrop::new(Fd::from_raw(0));
    let stdout = ManuallyDrop::new(Fd::from_raw(1));
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(96 * 1024);
    let mut at_start = true;
    loop {
        let n = stdin.read(&mut buf).doing(|| "read input".into())?;
        if n == 0 {
            return Ok(());
        }
        // One clock reading per read(2): the lines it brought arrived
        // together.
        let label = Tai64n::now().label();
        label_lines(&buf[..n], &label, &mut at_start, &mut out);
        // Written after every read, so a pipe shows each line as it comes.
        stdout.write_all(&out).doing(|| "write output".into())?;
        out.clear();
    }
}

/// Appends `input` to `out` with `label` and a space before each line
/// start; `at_start` carries whether the next byte begins a line.
pub fn label_lines(input: &[u8], label: &[u8], at_start: &mut bool, out: &mut Vec<u8>) {
    for line in input.split_inclusive(|&b| b == b'\n') {
        if *at_start {
            out.extend_from_slice(label);
            out.push(b' ');
        }
        out.extend_from_slice(line);
        *at_start = line.ends_with(b"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_start_gets_the_label_even_across_reads() {
        let mut out = Vec::new();
        let mut start = true;
        label_lines(b"a\nb", b"@L", &mut start, &mut out);
        label_lines(b"c\n\n", b"@M", &mut start, &mut out);
        assert_eq!(out, b"@L a\n@L bc\n@M \n");
        assert!(start);
    }
}
