//! Showing the last bytes of a stream in `ps`: daemontools'
//! readproctitle, which svscanboot feeds svscan's error output into.
//! See man/readproctitle.8.

use crate::error::{Doing, Error};
use crate::sys::{Fd, shape};
use alloc::vec::Vec;
use core::ffi::CStr;
use core::mem::ManuallyDrop;

/// The bytes at the start of the title that never scroll away
/// (daemontools keeps three).
const KEEP: usize = 3;

/// Slides what `input` brings into `title` from the right, past its first
/// KEEP bytes; NUL bytes are skipped, as they would end the title.
pub fn scroll(title: &mut [u8], input: &[u8]) {
    if title.len() <= KEEP {
        return;
    }
    let window = &mut title[KEEP..];
    for &b in input.iter().filter(|&&b| b != 0) {
        window.copy_within(1.., 0);
        if let Some(last) = window.last_mut() {
            *last = b;
        }
    }
}

/// Reads standard input until its end, showing its tail in `arg` (the
/// last command-line argument, which the kernel lets `ps` see).
///
/// # Safety
/// `arg` must be one of this process's argv strings, and the caller must
/// not read it while this runs.
pub unsafe fn run(arg: &CStr) -> Result<(), Error> {
    // fd 0 belongs to the process.
    let stdin = ManuallyDrop::new(Fd::from_raw(0));
    let mut title: Vec<u8> = arg.to_bytes().to_vec();
    let mut buf = [0u8; 1024];
    loop {
        let n = stdin.read(&mut buf).doing(|| "read input".into())?;
        if n == 0 {
            return Ok(());
        }
        scroll(&mut title, &buf[..n]);
        // SAFETY: passed on from the caller.
        unsafe { shape::overwrite_arg(arg, &title) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_scrolls_in_from_the_right_past_three_kept_bytes() {
        let mut t = *b"ab:.....";
        scroll(&mut t, b"hi\0\n");
        assert_eq!(&t, b"ab:..hi\n");
        scroll(&mut t, b"0123456789");
        assert_eq!(&t, b"ab:56789");
    }
}
