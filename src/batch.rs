//! Output collected for one write(2): the stamped lines of logsink's,
//! multilog's and tai64n's, and the moves they are built with. Lines are
//! short and there are many, so the bytes go in with fixed-size moves
//! the compiler inlines: without the C library, memcpy and memset are
//! origin's byte-at-a-time loops (its `optimize_for_size` set; the other
//! one's `rep movsb` was no faster on lines this short), which took
//! three quarters of the logger's instructions when every line was
//! appended with them.

use alloc::vec;
use alloc::vec::Vec;

/// Output collected, not written yet.
pub struct Batch {
    /// The room, zeroed; `buf[..len]` is the output.
    buf: Vec<u8>,
    len: usize,
}

impl Batch {
    /// An empty batch with room for `capacity` bytes before it reallocates.
    /// The room is zeroed at once: a block of the size the loggers ask for
    /// is a mapping of its own (sys::heap), whose pages cost nothing until
    /// lines are written to them.
    pub fn with_capacity(capacity: usize) -> Batch {
        Batch {
            buf: vec![0; capacity],
            len: 0,
        }
    }

    /// The bytes collected.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Number of bytes collected.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is collected.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets what was collected (it was written), keeping the room.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `bytes`.
    #[inline]
    pub fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            self.grow(end);
        }
        copy(&mut self.buf[self.len..end], bytes);
        self.len = end;
    }

    /// Appends the first `len` bytes of `bytes` by moving all N of them:
    /// one fixed-size move for a stamp of any length. The bytes beyond
    /// `len` are not collected (what is pushed next overwrites them).
    #[inline]
    pub fn push_prefix<const N: usize>(&mut self, bytes: &[u8; N], len: usize) {
        let len = len.min(N);
        if self.len + N > self.buf.len() {
            self.grow(self.len + N);
        }
        block::<N>(&mut self.buf[self.len..], bytes);
        self.len += len;
    }

    /// Appends one byte.
    #[inline]
    pub fn push_byte(&mut self, b: u8) {
        if self.len == self.buf.len() {
            self.grow(self.len + 1);
        }
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// Makes room up to at least `end`, at least doubling it.
    #[cold]
    fn grow(&mut self, end: usize) {
        self.buf.resize(end.max(2 * self.buf.len()), 0);
    }
}

/// Copies `src` to the start of `dst` (panics if `dst` is shorter), with
/// fixed-size moves: two that may overlap for up to twice their size,
/// 32-byte blocks and an overlapping last one beyond.
#[inline]
pub fn copy(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let dst = &mut dst[..n];
    if n > 32 {
        let mut i = 0;
        while n - i > 32 {
            block::<32>(&mut dst[i..], &src[i..]);
            i += 32;
        }
        block::<32>(&mut dst[n - 32..], &src[n - 32..]);
    } else if n >= 16 {
        ends::<16>(dst, src);
    } else if n >= 8 {
        ends::<8>(dst, src);
    } else if n >= 4 {
        ends::<4>(dst, src);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/// Sets every byte of `dst` to `b`, with the moves of `copy`.
pub fn fill(dst: &mut [u8], b: u8) {
    let block = [b; 32];
    let mut rest = dst;
    while rest.len() > 32 {
        let (head, tail) = rest.split_at_mut(32);
        copy(head, &block);
        rest = tail;
    }
    let n = rest.len();
    copy(rest, &block[..n]);
}

/// The first N bytes of `src` to `dst`. Callers pass both at least N
/// long; the checks that make the slices arrays cost nothing then.
#[inline(always)]
fn block<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
        *d = *s;
    }
}

/// The first and the last N bytes of `src` to `dst`, which covers it all
/// when it is N to 2N long.
#[inline(always)]
fn ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
    block::<N>(dst, src);
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
        *d = *s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn copy_copies_every_length_and_nothing_beyond() {
        for n in 0..=200 {
            let src = pattern(n, 1);
            let mut dst = alloc::vec![0xee; n + 40];
            copy(&mut dst[..n], &src);
            assert_eq!(&dst[..n], &src[..], "length {n}");
            assert!(dst[n..].iter().all(|&b| b == 0xee), "length {n}");
        }
    }

    #[test]
    fn fill_sets_every_length_and_nothing_beyond() {
        for n in 0..=200 {
            let mut dst = alloc::vec![0xee; n + 40];
            fill(&mut dst[..n], b'\n');
            assert!(dst[..n].iter().all(|&b| b == b'\n'), "length {n}");
            assert!(dst[n..].iter().all(|&b| b == 0xee), "length {n}");
        }
    }

    #[test]
    fn batch_collects_what_is_pushed() {
        let mut b = Batch::with_capacity(64);
        let mut want = Vec::new();
        for n in 0..=80 {
            let piece = pattern(n, n as u8);
            b.push(&piece);
            b.push_byte(b'\n');
            want.extend_from_slice(&piece);
            want.push(b'\n');
        }
        assert_eq!(b.bytes(), &want[..]);
        assert_eq!(b.len(), want.len());
        b.clear();
        assert!(b.is_empty());
        b.push(b"again");
        assert_eq!(b.bytes(), b"again");
    }

    #[test]
    fn a_prefix_is_collected_up_to_its_length() {
        let mut b = Batch::with_capacity(8);
        let stamp = *b"@4000 stamp and what follows it";
        for len in [0, 6, 31, 40] {
            b.push_prefix(&stamp, len);
            b.push(b"x");
        }
        assert_eq!(
            b.bytes(),
            b"x@4000 x@4000 stamp and what follows itx@4000 stamp and what follows itx"
        );
    }

    proptest! {
        #[test]
        fn a_batch_is_its_pieces_concatenated(
            pieces in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..300), 0..40),
            clear_at in any::<prop::sample::Index>(),
        ) {
            let mut b = Batch::with_capacity(100);
            let mut want = Vec::new();
            let cut = clear_at.index(pieces.len() + 1);
            for (i, p) in pieces.iter().enumerate() {
                if i == cut {
                    b.clear();
                    want.clear();
                }
                b.push(p);
                want.extend_from_slice(p);
            }
            prop_assert_eq!(b.bytes(), &want[..]);
        }
    }
}
