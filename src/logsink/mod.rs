//! logsink: multilog's logger. Looks at stdin in large blocks (`input`),
//! cuts them into lines (`splitter`), hands each line to the script's
//! actions and writes each directory's share of a block with one write(2)
//! (`logdir`, which alone decides its rotations). See man/logsink.8.

pub mod gzip;
pub mod input;
pub mod logdir;
pub mod multilog;
pub mod pattern;
pub mod processor;
pub mod script;
pub mod splitter;
pub mod stamp;

use crate::batch::{self, Batch};
use crate::error::{Doing, Error};
use crate::sys::fd::Out;
use crate::sys::{Fd, fs, sigflag, signal, time};
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use input::{Fill, Input};
use logdir::{LogDir, PAUSE, find_newline};
use script::{Action, Script, Stamp};
use splitter::{Piece, Splitter};

/// The name in every message.
pub const PROG: &str = "logsink";

/// Set when the logger runs as daemontools' `multilog`, whose name its
/// messages then carry.
static AS_MULTILOG: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Makes the logger's messages say `multilog` instead of `logsink`.
pub fn call_multilog() {
    AS_MULTILOG.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// The name the logger's messages carry.
pub fn name() -> &'static str {
    if AS_MULTILOG.load(core::sync::atomic::Ordering::Relaxed) {
        "multilog"
    } else {
        PROG
    }
}

/// Bytes asked of each read(2): many lines per system call.
const READ: usize = 256 * 1024;
/// A directory's pending output is written once it reaches this.
const FLUSH: usize = 128 * 1024;
/// Patterns, `e` and `=` see this much of a line, stamp included.
const HEAD: usize = 1000;
/// `e` prints this much of a line.
const ALERT: usize = 200;
/// A status file holds the head padded with newlines to this size.
const STATUS: usize = 1001;
/// The pipe size asked for on stdin, so that a busy service wakes the
/// logger less often.
const PIPE_SIZE: usize = 1 << 20;
/// The first and the longest wait for the rest of a partial line.
const IDLE: Duration = Duration::from_millis(1);
const IDLE_MAX: Duration = Duration::from_millis(1024);

/// Runs the script over stdin until end of input or SIGTERM.
pub fn run(script: Script) -> Result<(), Error> {
    // Files get multilog's modes, whatever the caller's umask.
    crate::sys::fs::umask(0o022);
    let mut status = Vec::new();
    for path in &script.status_files {
        let f = fs::open(path, libc::O_WRONLY | libc::O_CREAT, 0o600)
            .doing(|| alloc::format!("write {path}"))?;
        status.push(f);
    }
    let mut dirs = Vec::new();
    for spec in &script.dirs {
        dirs.push(LogDir::open(spec.clone(), script.stamp)?);
    }
    sigflag::catch(&[libc::SIGTERM, libc::SIGALRM]).doing(|| "catch signals".into())?;
    // A closed stderr must not kill the logger through an `e` action.
    signal::ignore(libc::SIGPIPE);
    let mut input = Input::open(READ, PIPE_SIZE);
    let n = dirs.len();
    let mut sink = Sink {
        splitter: Splitter::new(script.max_line, input.room() / 2),
        whole: !script.selects() && script.stamp == Stamp::None && script.max_line.is_none(),
        lines: Lines {
            selects: script.selects(),
            script,
            dirs,
            status,
            outs: (0..n).map(|_| Batch::with_capacity(FLUSH + READ)).collect(),
            sel: vec![true; n],
            head: [0; HEAD],
            padded: [b'\n'; STATUS],
            prefix: [0; stamp::MAX],
            plen: 0,
            alert: Out::stderr(),
        },
    };
    sink.run(&mut input)
}

/// The line loop: input, splitter and what happens to each line.
struct Sink {
    splitter: Splitter,
    /// Every line goes unchanged to every directory: blocks are passed on
    /// whole, straight from the input buffer, without looking at each
    /// line: a small fraction of the instructions of going line by line.
    whole: bool,
    lines: Lines,
}

/// What happens to each line: its stamp, the script's actions, and each
/// directory's share of the output.
struct Lines {
    script: Script,
    selects: bool,
    dirs: Vec<LogDir>,
    status: Vec<Fd>,
    /// Each directory's output not written yet.
    outs: Vec<Batch>,
    /// Which directories take the line being handled.
    sel: Vec<bool>,
    head: [u8; HEAD],
    /// What a status file gets: newlines, but for the line being
    /// written there.
    padded: [u8; STATUS],
    /// The stamp of the lines being handled, and its length.
    prefix: [u8; stamp::MAX],
    plen: usize,
    alert: Out,
}

impl Sink {
    fn run(&mut self, input: &mut Input) -> Result<(), Error> {
        let mut term = false;
        // Set while the input shows nothing new beyond a partial line: the
        // pipe stays readable, so wait by sleeping, a little longer each
        // time, until more comes.
        let mut idle: Option<Duration> = None;
        let result = loop {
            term |= sigflag::take(libc::SIGTERM);
            let asked = sigflag::take(libc::SIGALRM);
            let now = time::monotonic();
            for d in &mut self.lines.dirs {
                d.rotate_if_due(now, asked);
            }
            // Pending bytes are a line begun and not stored: finish it.
            if term && !self.splitter.in_line() && input.pending() == 0 {
                break Ok(());
            }
            let timeout = self.timeout();
            match idle {
                Some(d) => sigflag::sleep(timeout.map_or(d, |t| t.min(d))),
                None => match sigflag::wait_input(input.fd(), timeout) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => break Err(e).doing(|| "wait for standard input".into()),
                },
            }
            // A SIGTERM that came with the input it woke up for counts too.
            term |= sigflag::take(libc::SIGTERM);
            if term && !self.splitter.in_line() && input.pending() == 0 {
                break Ok(());
            }
            match input.fill(term) {
                Ok(Fill::More) => {
                    idle = None;
                    let data = input.data();
                    // After SIGTERM, store no further than the end of this line.
                    let (n, ended) = match find_newline(data) {
                        Some(i) if term => (i + 1, true),
                        _ => (data.len(), false),
                    };
                    let done = self.feed(&data[..n], false);
                    self.lines.flush();
                    if let Err(e) = input.consume(done) {
                        break Err(e).doing(|| "read standard input".into());
                    }
                    // What follows that line stays unread for the next reader.
                    if ended {
                        break Ok(());
                    }
                }
                // Only a partial line keeps the input readable with nothing
                // new: otherwise (EAGAIN after a wake-up) pause briefly, then
                // wait for input again.
                Ok(Fill::Same) if input.pending() > 0 => {
                    idle = Some(idle.map_or(IDLE, |d| (d * 2).min(IDLE_MAX)))
                }
                Ok(Fill::Same) => {
                    idle = None;
                    sigflag::sleep(IDLE);
                }
                Ok(Fill::End) => {
                    let done = self.feed(input.data(), true);
                    self.finish();
                    self.lines.flush();
                    if let Err(e) = input.consume(done) {
                        break Err(e).doing(|| "read standard input".into());
                    }
                    break Ok(());
                }
                Err(e) => break Err(e).doing(|| "read standard input".into()),
            }
        };
        self.lines.flush();
        for d in &mut self.lines.dirs {
            d.close();
        }
        result
    }

    /// Until when to wait for input: the earliest rotation by age.
    fn timeout(&self) -> Option<Duration> {
        let due = self.lines.dirs.iter().filter_map(|d| d.due()).min()?;
        Some(
            due.saturating_sub(time::monotonic())
                .max(Duration::from_millis(1)),
        )
    }

    /// Handles the lines in `data`; returns how many bytes it used (the
    /// rest is a short partial line, to be offered again).
    fn feed(&mut self, data: &[u8], eof: bool) -> usize {
        if self.whole {
            let n = self.splitter.whole(data, eof);
            for d in &mut self.lines.dirs {
                d.write(&data[..n]);
            }
            return n;
        }
        // One clock reading per block: the lines it brought arrived
        // together. Per line, clock_gettime alone took a sixth of the time
        // on a virtual machine's clock.
        let lines = &mut self.lines;
        if lines.script.stamp != Stamp::None {
            lines.plen = stamp::format(lines.script.stamp, time::realtime(), &mut lines.prefix);
        }
        self.splitter.split(data, eof, |p| lines.piece(p))
    }

    /// At the end of input: a partial last line gets its newline.
    fn finish(&mut self) {
        if let Some(p) = self.splitter.finish() {
            if self.whole {
                for d in &mut self.lines.dirs {
                    d.write(b"\n");
                }
            } else {
                self.lines.piece(p);
            }
        }
    }
}

impl Lines {
    fn flush(&mut self) {
        for (d, out) in self.dirs.iter_mut().zip(&mut self.outs) {
            if !out.is_empty() {
                d.write(out.bytes());
                out.clear();
            }
        }
    }

    /// One piece of a line: a line's start gets the stamp and decides
    /// which directories take the line.
    #[inline]
    fn piece(&mut self, p: Piece) {
        let plen = self.plen;
        if p.start && self.selects {
            let take = p.text.len().min(HEAD - plen);
            // Fixed-size and inlined moves, not memcpy: see `batch`.
            self.head[..stamp::MAX].copy_from_slice(&self.prefix);
            batch::copy(&mut self.head[plen..plen + take], &p.text[..take]);
            self.act(plen + take);
        }
        let plen = if p.start { plen } else { 0 };
        let mut full = false;
        for (out, _) in self.outs.iter_mut().zip(&self.sel).filter(|(_, s)| **s) {
            out.push_prefix(&self.prefix, plen);
            out.push(p.text);
            if p.end {
                out.push_byte(b'\n');
            }
            full |= out.len() >= FLUSH;
        }
        if full {
            self.flush();
        }
    }

    /// Runs the actions on the head of a line (`self.head[..len]`).
    fn act(&mut self, len: usize) {
        let view = &self.head[..len];
        let mut selected = true;
        for a in &self.script.actions {
            match a {
                Action::Select(p) => selected = selected || pattern::matches(p, view),
                Action::Deselect(p) => selected = selected && !pattern::matches(p, view),
                Action::Alert if selected => {
                    self.alert.bytes(&view[..len.min(ALERT)]);
                    self.alert.bytes(if len > ALERT { b"...\n" } else { b"\n" });
                    // Nowhere to report a failing stderr.
                    let _ = self.alert.flush();
                }
                Action::Status(i) if selected => {
                    // Not a fresh array per line: filling one took
                    // thousands of instructions (see `batch`).
                    batch::copy(&mut self.padded[..len], view);
                    let path = &self.script.status_files[*i];
                    let mut trouble = false;
                    let fd = &self.status[*i];
                    while let Err(e) = fd.pwrite_all(&self.padded, 0) {
                        if !trouble {
                            let err = Error::sys(alloc::format!("write {path}"), e);
                            crate::die::warn(name(), &format_args!("{err}, pausing"));
                            trouble = true;
                        }
                        sigflag::sleep(PAUSE);
                    }
                    batch::fill(&mut self.padded[..len], b'\n');
                }
                Action::Alert | Action::Status(_) => {}
                Action::Dir(j) => self.sel[*j] = selected,
            }
        }
    }
}
