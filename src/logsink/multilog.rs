//! daemontools' multilog, line for line: the same script run the way
//! multilog runs it, so that its log directories hold the same files.
//!
//! multilog reads its input 1024 bytes at a time, collects each
//! directory's output in a 512-byte buffer, flushes every buffer before
//! each read and rotates only at the end of a flush. Where `current` ends
//! therefore depends on those sizes, and this module keeps them: input is
//! cut into 1024-byte blocks (large reads, so a regular file gives exactly
//! multilog's blocks, and a pipe blocks multilog could have read) and each
//! directory's output is counted through a 512-byte buffer with djb's
//! buffer_put rules. Only the counting is multilog's: the bytes are
//! written once per read of input, as logsink writes them. logsink's
//! extensions stay out.
//! See man/multilog.8.

use super::logdir::{LogDir, SLACK, find_newline};
use super::pattern;
use super::script::{Action, Script, Stamp};
use super::stamp;
use crate::batch::{self, Batch};
use crate::error::{Doing, Error};
use crate::sys::fd::Out;
use crate::sys::{Errno, Fd, fs, sigflag, signal, time};
use alloc::vec;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use core::time::Duration;

/// multilog's input buffer.
const BLOCK: usize = 1024;
/// multilog's buffer per directory.
const DIRBUF: usize = 512;
/// djb's BUFFER_OUTSIZE: the pieces a long put is written in.
const OUTSIZE: usize = 8192;
/// multilog's line: what patterns, `e` and `=` see.
const LINE: usize = 1000;

/// One directory's 512-byte buffer in front of its `current`.
///
/// Where multilog would write each flush of the buffer, this only counts
/// the bytes as multilog's c_write does, to find the same rotation points,
/// and keeps them in `pending`, written with one write(2) per read of
/// input or before a rotation: the same files, with logsink's batching.
struct Buffered {
    dir: LogDir,
    /// DIRBUF bytes.
    buf: Vec<u8>,
    p: usize,
    selected: bool,
    /// Bytes in `current` as multilog counts them, `pending` included.
    bytes: u64,
    size: u64,
    pending: Batch,
}

impl Buffered {
    fn new(dir: LogDir, size: u64) -> Buffered {
        Buffered {
            bytes: dir.bytes(),
            dir,
            buf: vec![0; DIRBUF],
            p: 0,
            selected: true,
            size,
            pending: Batch::with_capacity(64 * BLOCK),
        }
    }

    /// multilog's c_write, called until all of `data` is taken: cut
    /// before `s`, cut at the last newline once within SLACK of it, and
    /// rotate after a piece that ends a line there.
    fn c_write(&mut self, mut data: &[u8]) {
        let slack_mark = self.size - SLACK;
        while !data.is_empty() {
            if self.bytes >= self.size {
                self.rotate();
            }
            let mut len = data.len().min((self.size - self.bytes) as usize);
            if self.bytes + len as u64 >= slack_mark
                && let Some(i) = data[..len].iter().rposition(|&b| b == b'\n')
            {
                len = i + 1;
            }
            let (piece, rest) = data.split_at(len);
            self.pending.push(piece);
            self.bytes += len as u64;
            if self.bytes >= slack_mark && piece.last() == Some(&b'\n') {
                self.rotate();
            }
            data = rest;
        }
    }

    /// Stores what is pending.
    fn commit(&mut self) {
        if !self.pending.is_empty() {
            self.dir.store(self.pending.bytes());
            self.pending.clear();
        }
    }

    fn rotate(&mut self) {
        self.commit();
        self.dir.rotate();
        self.bytes = 0;
    }

    fn flush(&mut self) {
        if self.p > 0 {
            // Lent out, not copied: c_write needs the rest of self.
            let buf = core::mem::take(&mut self.buf);
            self.c_write(&buf[..self.p]);
            self.buf = buf;
            self.p = 0;
        }
    }

    /// djb's buffer_put.
    fn put(&mut self, mut data: &[u8]) {
        if data.len() > DIRBUF - self.p {
            self.flush();
            while data.len() > DIRBUF {
                let n = data.len().min(OUTSIZE);
                self.c_write(&data[..n]);
                data = &data[n..];
            }
        }
        batch::copy(&mut self.buf[self.p..self.p + data.len()], data);
        self.p += data.len();
    }

    /// djb's BUFFER_PUTC.
    fn putc(&mut self, c: u8) {
        if self.p == DIRBUF {
            self.put(&[c]);
        } else {
            self.buf[self.p] = c;
            self.p += 1;
        }
    }
}

struct Multilog {
    script: Script,
    dirs: Vec<Buffered>,
    status: Vec<Fd>,
    line: [u8; LINE + 1],
    len: usize,
    /// The line reached LINE bytes: the rest goes on byte by byte.
    tail: bool,
    /// A byte of the current line was seen (so it has its stamp).
    started: bool,
    prefix: [u8; stamp::MAX],
    plen: usize,
    alert: Out,
}

/// Runs `script` over stdin as multilog would, until end of input or
/// SIGTERM at a line boundary.
pub fn run(script: Script) -> Result<(), Error> {
    // multilog sets 022 too.
    crate::sys::fs::umask(0o022);
    let mut status = Vec::new();
    for path in &script.status_files {
        let f = fs::open(path, libc::O_WRONLY | libc::O_CREAT, 0o600)
            .doing(|| alloc::format!("create {path}"))?;
        status.push(f);
    }
    let mut dirs = Vec::new();
    for spec in &script.dirs {
        dirs.push(Buffered::new(
            LogDir::open(spec.clone(), Stamp::None)?,
            spec.size,
        ));
    }
    sigflag::catch(&[libc::SIGTERM, libc::SIGALRM]).doing(|| "catch signals".into())?;
    signal::ignore(libc::SIGPIPE);
    let mut m = Multilog {
        script,
        dirs,
        status,
        line: [b'\n'; LINE + 1],
        len: 0,
        tail: false,
        started: false,
        prefix: [0; stamp::MAX],
        plen: 0,
        alert: Out::stderr(),
    };
    let result = m.read_all();
    m.end_of_input();
    for d in &mut m.dirs {
        d.flush();
        d.commit();
        d.dir.close();
    }
    result
}

impl Multilog {
    fn read_all(&mut self) -> Result<(), Error> {
        // fd 0 belongs to the process.
        let stdin = ManuallyDrop::new(Fd::from_raw(0));
        let mut buf = vec![0u8; 64 * BLOCK];
        let mut term = false;
        loop {
            self.between_reads();
            term |= sigflag::take(libc::SIGTERM);
            // After SIGTERM multilog reads on only to the end of a line.
            if term && !self.started {
                return Ok(());
            }
            match sigflag::wait_input(&stdin, None) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => return Err(e).doing(|| "wait for standard input".into()),
            }
            term |= sigflag::take(libc::SIGTERM);
            if term && !self.started {
                return Ok(());
            }
            let want = if term { 1 } else { buf.len() };
            match stdin.read(&mut buf[..want]) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    let mut blocks = buf[..n].chunks(BLOCK).peekable();
                    while let Some(block) = blocks.next() {
                        self.feed(block);
                        // The flush multilog does before its next read;
                        // the last one comes at the top of the loop.
                        if blocks.peek().is_some() {
                            self.between_reads();
                        }
                    }
                    // What this read brought is stored before the next
                    // one waits: a logger holds no line back.
                    for d in &mut self.dirs {
                        d.flush();
                        d.commit();
                    }
                }
                Err(Errno::EAGAIN) => sigflag::sleep(Duration::from_millis(10)),
                Err(e) => return Err(e).doing(|| "read standard input".into()),
            }
        }
    }

    /// multilog's flushread: every buffer out, then a rotation SIGALRM
    /// asked for.
    fn between_reads(&mut self) {
        for d in &mut self.dirs {
            d.flush();
        }
        if sigflag::take(libc::SIGALRM) {
            for d in &mut self.dirs {
                if d.bytes > 0 {
                    d.rotate();
                }
            }
        }
    }

    fn feed(&mut self, mut block: &[u8]) {
        if self.script.stamp == Stamp::Tai64n {
            self.plen = stamp::format(Stamp::Tai64n, time::realtime(), &mut self.prefix);
        }
        while !block.is_empty() {
            if self.tail {
                let end = find_newline(block);
                let upto = end.unwrap_or(block.len());
                for d in self.dirs.iter_mut().filter(|d| d.selected) {
                    for &c in &block[..upto] {
                        d.putc(c);
                    }
                }
                block = &block[upto..];
                if end.is_some() {
                    block = &block[1..];
                    self.end_line();
                }
                continue;
            }
            if !self.started {
                self.started = true;
                if self.plen > 0 {
                    batch::copy(&mut self.line[..self.plen], &self.prefix[..self.plen]);
                    self.len = self.plen;
                }
            }
            let room = LINE - self.len;
            let end = find_newline(&block[..block.len().min(room + 1)]);
            match end {
                Some(i) => {
                    batch::copy(&mut self.line[self.len..self.len + i], &block[..i]);
                    self.len += i;
                    block = &block[i + 1..];
                    self.act_and_put();
                    self.end_line();
                }
                None => {
                    let n = block.len().min(room);
                    batch::copy(&mut self.line[self.len..self.len + n], &block[..n]);
                    self.len += n;
                    block = &block[n..];
                    if self.len == LINE {
                        self.act_and_put();
                        self.tail = true;
                    }
                }
            }
        }
    }

    /// At end of input: a partial line is completed, as multilog does.
    fn end_of_input(&mut self) {
        if self.started {
            if !self.tail {
                self.act_and_put();
            }
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        for d in self.dirs.iter_mut().filter(|d| d.selected) {
            d.putc(b'\n');
        }
        batch::fill(&mut self.line[..self.len], b'\n');
        self.len = 0;
        self.tail = false;
        self.started = false;
    }

    /// The actions on the line's head, then the head to the directories
    /// that selected it.
    fn act_and_put(&mut self) {
        let line = &self.line[..self.len];
        let mut selected = true;
        for a in &self.script.actions {
            match a {
                Action::Select(p) => selected = selected || pattern::matches(p, line),
                Action::Deselect(p) => selected = selected && !pattern::matches(p, line),
                Action::Alert if selected => {
                    self.alert.bytes(&line[..line.len().min(200)]);
                    self.alert
                        .bytes(if line.len() > 200 { b"...\n" } else { b"\n" });
                    // Nowhere to report a failing stderr.
                    let _ = self.alert.flush();
                }
                Action::Status(i) if selected => {
                    // The whole 1001-byte line buffer, newlines after the
                    // text, as multilog writes it.
                    let fd = &self.status[*i];
                    while fd.pwrite_all(&self.line, 0).is_err() {
                        sigflag::sleep(super::logdir::PAUSE);
                    }
                }
                Action::Alert | Action::Status(_) => {}
                Action::Dir(j) => {
                    if let Some(d) = self.dirs.get_mut(*j) {
                        d.selected = selected;
                    }
                }
            }
        }
        let line = &self.line[..self.len];
        for d in self.dirs.iter_mut().filter(|d| d.selected) {
            d.put(line);
        }
    }
}
