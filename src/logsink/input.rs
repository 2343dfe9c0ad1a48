//! Standard input, taken only once it is stored: a logsink killed at any
//! instant leaves every line it has not written in the pipe, for the next
//! one (scan holds the pipe open across restarts). From a pipe, tee(2)
//! copies its head into a private pipe, the line loop stores what it can,
//! and only then are those bytes dropped from standard input. A kill while
//! writing therefore repeats lines, never loses them. Anything else (a
//! file, a terminal) is read plainly.

use crate::sys::{Errno, Fd, Path, fs, pipe};
use alloc::vec;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;

/// What a `fill` brought.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fill {
    /// Bytes not seen before follow the pending ones.
    More,
    /// Nothing new yet: what is pending is all there is.
    Same,
    /// End of input: what is pending is the last of it.
    End,
}

struct Peek {
    /// The private pipe, read end and write end.
    r: Fd,
    w: Fd,
    /// Where consumed bytes go without a copy; None: read them instead.
    null: Option<Fd>,
}

/// Standard input and the unconsumed bytes at its head.
pub struct Input {
    // fd 0 belongs to the process, not to this value.
    stdin: ManuallyDrop<Fd>,
    peek: Option<Peek>,
    buf: Vec<u8>,
    /// `buf[..pending]` is unconsumed input, seen.
    pending: usize,
    /// The most one fill can bring.
    room: usize,
}

impl Input {
    /// Standard input, read `block` bytes at most at a time; asks for a
    /// pipe of `pipe_size` when it is a pipe.
    pub fn open(block: usize, pipe_size: usize) -> Input {
        let stdin = ManuallyDrop::new(Fd::from_raw(0));
        let mut room = block;
        let peek = fs::fstat(&stdin)
            .is_ok_and(|m| m.is_fifo())
            .then(|| {
                let cap = pipe::set_capacity(&stdin, pipe_size).ok()?;
                let (r, w) = crate::sys::fd::pipe().ok()?;
                let own = pipe::set_capacity(&w, pipe_size).ok()?;
                room = room.min(cap).min(own);
                let null = fs::open(&Path::from("/dev/null"), libc::O_WRONLY, 0).ok();
                Some(Peek { r, w, null })
            })
            .flatten();
        Input {
            stdin,
            peek,
            buf: vec![0; block],
            pending: 0,
            room,
        }
    }

    /// The most bytes a fill can bring: a partial line this long must be
    /// handed on, as no more of it can be seen before it is consumed.
    pub fn room(&self) -> usize {
        self.room
    }

    /// The standard input descriptor, to wait on.
    pub fn fd(&self) -> &Fd {
        &self.stdin
    }

    /// Whether seen bytes wait to be consumed.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The unconsumed bytes seen so far.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.pending]
    }

    /// Sees more of standard input; `one` asks for a single new byte (a
    /// plain read after SIGTERM: what is not read stays for the next
    /// reader).
    pub fn fill(&mut self, one: bool) -> crate::sys::Result<Fill> {
        let Some(p) = &self.peek else {
            let want = if one { 1 } else { self.room - self.pending };
            return match self
                .stdin
                .read(&mut self.buf[self.pending..self.pending + want])
            {
                Ok(0) => Ok(Fill::End),
                Ok(k) => {
                    self.pending += k;
                    Ok(Fill::More)
                }
                Err(Errno::EAGAIN) => Ok(Fill::Same),
                Err(e) => Err(e),
            };
        };
        let k = match pipe::tee(&self.stdin, &p.w, self.room) {
            Ok(0) => return Ok(Fill::End),
            Ok(k) => k,
            Err(Errno::EAGAIN) => return Ok(Fill::Same),
            Err(e) => return Err(e),
        };
        // The private pipe was empty: it holds exactly these k bytes, the
        // pending ones first (tee always copies from the head).
        let got = p.r.read_full(&mut self.buf[..k])?;
        let before = core::mem::replace(&mut self.pending, got);
        if got > before {
            return Ok(Fill::More);
        }
        if !pipe::hung_up(&self.stdin) {
            return Ok(Fill::Same);
        }
        // No writer is left: what the pipe holds now is all there will be.
        let k = pipe::tee(&self.stdin, &p.w, self.room)?;
        self.pending = p.r.read_full(&mut self.buf[..k])?;
        Ok(Fill::End)
    }

    /// Drops the first `n` pending bytes from standard input: they are
    /// stored.
    pub fn consume(&mut self, n: usize) -> crate::sys::Result<()> {
        if let Some(p) = &mut self.peek {
            let mut left = n;
            while left > 0 {
                let k = match &p.null {
                    Some(null) => match pipe::splice(&self.stdin, null, left) {
                        Err(Errno::EINVAL) => {
                            // A /dev/null that takes no splice: read instead.
                            p.null = None;
                            continue;
                        }
                        r => r?,
                    },
                    // Stored already: these bytes of buf may be overwritten.
                    None => self.stdin.read(&mut self.buf[n - left..n])?,
                };
                if k == 0 {
                    break;
                }
                left -= k;
            }
        }
        self.buf.copy_within(n..self.pending, 0);
        self.pending -= n;
        Ok(())
    }
}
