//! The splitter: cuts input into lines as multilog does, a pure machine
//! (no system calls, no clock). Input comes in blocks; a short partial
//! line at the end of a block is left to be offered again with what
//! follows it, a long one is handed on in pieces, and `l` cuts lines into
//! several. What is stored does not depend on where the blocks end.

use super::logdir::{find_last_newline, find_newline};

/// One piece of a line, in input order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Piece<'a> {
    /// The piece begins a line: it gets the stamp, and the actions see
    /// its head.
    pub start: bool,
    /// The line's bytes, without a newline.
    pub text: &'a [u8],
    /// The piece ends its line: a newline follows it.
    pub end: bool,
}

/// Where the splitter is in the input.
#[derive(Clone, Debug)]
pub struct Splitter {
    /// `l`: the most bytes in one line (the stamp not counted).
    max_line: usize,
    /// A partial line this long is handed on without waiting for its end.
    long: usize,
    /// Bytes of a line handed on in part; None at a line start.
    open: Option<usize>,
}

impl Splitter {
    /// A splitter at the start of the input. `long` must be at least 1: a
    /// block can bring no more than twice that.
    pub fn new(max_line: Option<usize>, long: usize) -> Splitter {
        Splitter {
            max_line: max_line.unwrap_or(usize::MAX),
            long: long.max(1),
            open: None,
        }
    }

    /// Whether a line was handed on in part and the rest is still to come.
    pub fn in_line(&self) -> bool {
        self.open.is_some()
    }

    /// Hands the lines in `data` to `emit` piece by piece; returns how many
    /// bytes it used. The rest, a short partial line, is to be offered
    /// again with more after it. At `eof` it uses everything.
    pub fn split<'a>(
        &mut self,
        data: &'a [u8],
        eof: bool,
        mut emit: impl FnMut(Piece<'a>),
    ) -> usize {
        let max = self.max_line;
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            let nl = find_newline(rest);
            // The common case first: a whole line, within `l`.
            if let (None, Some(i)) = (self.open, nl) {
                if i <= max {
                    emit(Piece {
                        start: true,
                        text: &rest[..i],
                        end: true,
                    });
                    pos += i + 1;
                    continue;
                }
            }
            let (text, used, end) = match (self.open, nl) {
                // The rest of a line handed on in part, up to `l`.
                (Some(done), Some(i)) if i <= max - done => (i, i + 1, true),
                // Exactly `l` bytes so far: the next byte decides.
                (Some(done), _) if rest.len() > max - done => (max - done, max - done, true),
                (Some(_), _) => (rest.len(), rest.len(), false),
                // A line longer than `l` is split, never cut.
                (None, Some(i)) if i > max => (max, max, true),
                (None, Some(i)) => (i, i + 1, true),
                (None, None) if rest.len() > max => (max, max, true),
                (None, None) if rest.len() >= self.long || eof => (rest.len(), rest.len(), false),
                (None, None) => break,
            };
            emit(Piece {
                start: self.open.is_none(),
                text: &rest[..text],
                end,
            });
            self.open = (!end).then(|| self.open.unwrap_or(0) + text);
            pos += used;
        }
        pos
    }

    /// The same cut for input that goes out unchanged (no stamp, no
    /// selection, no `l`), without looking at each line: returns how many
    /// bytes of `data` to pass on as they are, up to the last newline, or
    /// all of them when they are long or at `eof`.
    pub fn whole(&mut self, data: &[u8], eof: bool) -> usize {
        let mut cut = find_last_newline(data).map_or(0, |i| i + 1);
        if cut == 0 && (data.len() >= self.long || eof) {
            cut = data.len();
        }
        if cut > 0 {
            self.open = (data[cut - 1] != b'\n').then_some(0);
        }
        cut
    }

    /// At the end of input: the newline that completes a partial last
    /// line, if there is one.
    pub fn finish(&mut self) -> Option<Piece<'static>> {
        self.open.take().map(|_| Piece {
            start: false,
            text: b"",
            end: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const STAMP: &[u8] = b"@ ";

    fn render(out: &mut Vec<u8>, p: Piece) {
        if p.start {
            out.extend_from_slice(STAMP);
        }
        out.extend_from_slice(p.text);
        if p.end {
            out.push(b'\n');
        }
    }

    /// What multilog stores: each line stamped, cut every `max` bytes, a
    /// partial last line completed.
    fn model(input: &[u8], max: Option<usize>) -> Vec<u8> {
        let mut out = Vec::new();
        let body = input.strip_suffix(b"\n").unwrap_or(input);
        if input.is_empty() {
            return out;
        }
        for line in body.split(|&c| c == b'\n') {
            let parts: Vec<&[u8]> = match max {
                Some(m) if !line.is_empty() => line.chunks(m).collect(),
                _ => alloc::vec![line],
            };
            for part in parts {
                out.extend_from_slice(STAMP);
                out.extend_from_slice(part);
                out.push(b'\n');
            }
        }
        out
    }

    /// Feeds `input` as blocks of the given sizes through a buffer of
    /// `room` bytes, as the line loop does; returns what is stored.
    fn run(
        input: &[u8],
        blocks: &[usize],
        room: usize,
        max: Option<usize>,
        whole: bool,
    ) -> Vec<u8> {
        let mut s = Splitter::new(max, room / 2);
        let (mut out, mut pending, mut pos) = (Vec::new(), Vec::new(), 0);
        let mut sizes = blocks.iter().cycle();
        while pos < input.len() {
            let take = (*sizes.next().unwrap())
                .min(room - pending.len())
                .min(input.len() - pos);
            pending.extend_from_slice(&input[pos..pos + take]);
            pos += take;
            let used = if whole {
                let n = s.whole(&pending, false);
                out.extend_from_slice(&pending[..n]);
                n
            } else {
                s.split(&pending, false, |p| render(&mut out, p))
            };
            pending.drain(..used);
            assert!(pending.len() < room, "stuck with a full buffer");
        }
        let used = if whole {
            let n = s.whole(&pending, true);
            out.extend_from_slice(&pending[..n]);
            n
        } else {
            s.split(&pending, true, |p| render(&mut out, p))
        };
        assert_eq!(used, pending.len());
        if let Some(p) = s.finish() {
            render(&mut out, p);
        }
        out
    }

    /// Lines of any length, from empty to far past the buffer.
    fn input() -> impl Strategy<Value = Vec<u8>> {
        let line = (0usize..300, any::<bool>()).prop_map(|(n, nl)| {
            let mut l: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            if nl {
                l.push(b'\n');
            }
            l
        });
        proptest::collection::vec(line, 0..30).prop_map(|ls| ls.concat())
    }

    proptest! {
        #[test]
        fn any_blocks_store_what_multilog_stores(
            input in input(),
            blocks in proptest::collection::vec(1usize..100, 1..8),
            room in 4usize..120,
            max in proptest::option::of(1usize..200),
        ) {
            prop_assert_eq!(run(&input, &blocks, room, max, false), model(&input, max));
        }

        #[test]
        fn passing_blocks_whole_stores_the_same(
            input in input(),
            blocks in proptest::collection::vec(1usize..100, 1..8),
            room in 4usize..120,
        ) {
            let plain: Vec<u8> = model(&input, None)
                .split_inclusive(|&c| c == b'\n')
                .flat_map(|l| l[STAMP.len()..].to_vec())
                .collect();
            prop_assert_eq!(run(&input, &blocks, room, None, true), plain);
        }
    }

    #[test]
    fn a_partial_last_line_is_completed() {
        assert_eq!(run(b"one\ntwo", &[3], 8, None, false), b"@ one\n@ two\n");
        assert_eq!(run(b"", &[3], 8, None, false), b"");
    }

    #[test]
    fn a_line_longer_than_the_buffer_goes_out_in_pieces() {
        let mut s = Splitter::new(None, 4);
        let mut got = Vec::new();
        assert_eq!(s.split(b"abcdefgh", false, |p| got.push(p)), 8);
        assert!(s.in_line());
        assert_eq!(s.split(b"ij\nk", false, |p| got.push(p)), 3);
        let piece = |start, text: &'static [u8], end| Piece { start, text, end };
        assert_eq!(
            got,
            [piece(true, b"abcdefgh", false), piece(false, b"ij", true)]
        );
    }
}
