//! One automatically rotated log directory, kept as multilog keeps it:
//! `current`, old files `@TAI64N.s` (`.u` when recovered after an outage),
//! `previous`/`processed`/`state`/`newstate` around a processor, `lock`.
//!
//! After start-up nothing here gives up: a failing call is reported once,
//! then retried every second, and the caller (the line loop) waits, so the
//! pipe fills and the service blocks instead of losing lines.

mod rotation;

use super::gzip;
use super::script::{DirSpec, Stamp};
use super::stamp;
use crate::die;
use crate::error::{Doing, Error, Reason};
use crate::sys::dir::{Dir, fchmod, links, start_writeback, truncate};
use crate::sys::{self, Errno, Fd, Path, fs, sigflag, time};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

/// How long to wait before retrying a failed call.
pub const PAUSE: Duration = Duration::from_secs(1);

/// rotate once `current` is within this many bytes of `s`, at a newline.
pub(super) const SLACK: u64 = 2000;

/// Under `b`, at most this much of the line after the note goes out with
/// it, so that the two fit in the smallest `s`.
const RESUME: usize = 1024;

/// Disk writes of `current` are started every this many bytes, so they
/// run while logging goes on instead of all in the fsync at rotation.
const WRITEBACK: u64 = 1 << 20;

const APPEND: i32 = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;

/// Lines being discarded under `b` while writing fails.
struct Dropping {
    lines: u64,
    /// The bytes discarded last end inside a line: writing resumes only
    /// after its end, so that no line is stored in part.
    mid_line: bool,
}

/// An open, locked log directory.
pub struct LogDir {
    spec: DirSpec,
    stamp: Stamp,
    dir: Dir,
    _lock: Fd,
    current: Fd,
    bytes: u64,
    /// Bytes of `current` whose writing to disk was started.
    kicked: u64,
    /// Monotonic time of the first byte in `current`, for `a`.
    born: Option<Duration>,
    /// An outage was reported and has not ended yet: report it once.
    trouble: bool,
    failing_since: Option<Duration>,
    /// The last byte stored was not a newline.
    mid_line: bool,
    /// Where the last line stored begins in `current`: under `b`, a line
    /// the disk cut is cut back to here.
    line_start: u64,
    /// SIGALRM or `a` asked for a rotation, done at the next line boundary.
    rotation_due: bool,
    dropping: Option<Dropping>,
}

/// Retries `op` every PAUSE until it works, warning once per outage.
fn persist<T>(
    trouble: &mut bool,
    what: impl Fn() -> String,
    mut op: impl FnMut() -> sys::Result<T>,
) -> T {
    loop {
        match op() {
            Ok(v) => return v,
            Err(e) => {
                warn_once(trouble, &what, e);
                sigflag::sleep(PAUSE);
            }
        }
    }
}

fn warn_once(trouble: &mut bool, what: &dyn Fn() -> String, e: Errno) {
    if !*trouble {
        let err = Error::Sys {
            doing: what(),
            reason: Reason::Errno(e),
        };
        die::warn(super::name(), &format_args!("{err}, pausing"));
        *trouble = true;
    }
}

fn count_lines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// The first newline in `b`, by the memchr crate's vectorised search.
pub fn find_newline(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

/// The last newline in `b`.
pub fn find_last_newline(b: &[u8]) -> Option<usize> {
    memchr::memrchr(b'\n', b)
}

impl LogDir {
    /// Creates (if missing), locks and recovers the directory as multilog
    /// does; every failure here is fatal, before any input is read.
    pub fn open(spec: DirSpec, stamp: Stamp) -> Result<LogDir, Error> {
        let name = spec.path.clone();
        // An existing directory is fine; any other failure shows up below.
        let _ = fs::mkdir(&name, 0o700);
        let dir = Dir::open(&name).doing(|| format!("open directory {name}"))?;
        let lock = dir
            .open_file(&Path::from("lock"), APPEND, 0o600)
            .and_then(|l| fs::lock_exclusive_now(&l).map(|_| l))
            .doing(|| format!("lock {name}/lock"))?;
        let cur = Path::from("current");
        let clean = match dir.stat(&cur) {
            // 744: the last logsink reached end of input and synced it.
            Ok(m) if m.mode & 0o100 != 0 => Some(m.size),
            Ok(_) | Err(Errno::ENOENT) => None,
            Err(e) => return Err(e).doing(|| format!("stat {name}/current")),
        };
        let mut d = LogDir {
            current: Fd::from_raw(-1),
            spec,
            stamp,
            dir,
            _lock: lock,
            bytes: 0,
            kicked: 0,
            born: None,
            trouble: false,
            failing_since: None,
            mid_line: false,
            line_start: 0,
            rotation_due: false,
            dropping: None,
        };
        if let Some(size) = clean {
            // A clean end completed the last line.
            d.bytes = size;
            d.kicked = size;
            d.line_start = size;
        } else {
            d.recover()?;
        }
        d.current = d
            .dir
            .open_file(&cur, APPEND, 0o644)
            .and_then(|f| fchmod(&f, 0o644).map(|_| f))
            .doing(|| format!("open {name}/current"))?;
        if d.bytes > 0 {
            d.born = Some(time::monotonic());
        }
        if d.spec.gzip {
            // What a crash or a restart cut short is done now.
            let names = d.dir.list().doing(|| format!("read {name}"))?;
            let (stale, todo) = gzip::leftovers(&names);
            for f in &stale {
                d.dir.remove(f).doing(|| format!("remove {name}/{f}"))?;
            }
            if !todo.is_empty() {
                gzip::spawn(&d.dir, &name, &todo);
            }
        }
        Ok(d)
    }

    /// After a crash: whatever was being processed or written is saved as
    /// an old file, `.s` if the processor had finished, else `.u`.
    fn recover(&mut self) -> Result<(), Error> {
        let name = self.spec.path.clone();
        for f in ["state", "newstate"] {
            self.dir
                .remove(&Path::from(f))
                .doing(|| format!("remove {name}/{f}"))?;
        }
        let processed = Path::from("processed");
        let done = match self.dir.stat(&processed) {
            Ok(m) => m.mode & 0o100 != 0,
            Err(Errno::ENOENT) => false,
            Err(e) => return Err(e).doing(|| format!("stat {name}/processed")),
        };
        if done {
            let _ = self.dir.remove(&Path::from("previous"));
            self.finish("processed", b's');
        } else {
            let _ = self.dir.remove(&processed);
            self.finish("previous", b'u');
        }
        self.finish("current", b'u');
        self.dir
            .open_file(
                &Path::from("state"),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                0o644,
            )
            .doing(|| format!("write to {name}/state"))?;
        Ok(())
    }

    /// When `current` is due for rotation by age (monotonic), if ever.
    pub fn due(&self) -> Option<Duration> {
        if self.rotation_due {
            // Done at the next newline stored: nothing to wait for.
            return None;
        }
        Some(self.born? + self.spec.max_age?)
    }

    /// Rotates a non-empty `current` at its next line boundary (now, or
    /// after the next newline stored) when `asked` (SIGALRM) or when `a`
    /// makes it due by `now`. The one place besides `write`'s size check
    /// that decides a rotation.
    pub fn rotate_if_due(&mut self, now: Duration, asked: bool) {
        if self.bytes > 0 && (asked || self.due().is_some_and(|t| t <= now)) {
            self.rotation_due = true;
        }
        if self.rotation_due && !self.mid_line {
            if self.bytes > 0 {
                self.rotate();
            }
            self.rotation_due = false;
        }
    }

    /// Bytes in `current` now (for `multilog`'s own rotation arithmetic).
    pub(in crate::logsink) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Stores `data` (any bytes, whole lines or not) in `current`,
    /// rotating after the first newline within SLACK bytes of the size.
    /// As multilog does, a line longer than that is cut at the size and
    /// goes on in the next file: no file ever exceeds `s`.
    pub fn write(&mut self, mut data: &[u8]) {
        let size = self.spec.size;
        let limit = size - SLACK;
        while !data.is_empty() {
            if self.dropping.is_some() {
                data = self.skip(data);
                if data.is_empty() {
                    return;
                }
            }
            // multilog rotates a full file when more comes, not before.
            if self.bytes >= size {
                self.rotate();
            }
            let room = (size - self.bytes).min(data.len() as u64) as usize;
            let n = if self.bytes + room as u64 >= limit {
                let from = limit.saturating_sub(self.bytes + 1) as usize;
                find_newline(&data[from..room]).map_or(room, |i| from + i + 1)
            } else {
                room
            };
            let (chunk, rest) = data.split_at(n);
            self.store(chunk);
            data = rest;
            if (self.bytes >= limit || self.rotation_due) && chunk.last() == Some(&b'\n') {
                self.rotate();
            }
        }
    }

    /// Writes `chunk`, waiting while that fails; under `b`, once it has
    /// failed for that long, discards the rest of it and the line it cut.
    /// No rotation: the caller decides those (multilog's own rules, in
    /// `multilog`).
    pub(super) fn store(&mut self, mut chunk: &[u8]) {
        // Writes to a removed file succeed and vanish with it.
        if links(&self.current) == Ok(0) {
            self.reopen();
        }
        while !chunk.is_empty() {
            match self.current.write(chunk) {
                Ok(n) => {
                    self.wrote(&chunk[..n]);
                    chunk = &chunk[n..];
                }
                Err(e) => {
                    let now = time::monotonic();
                    let since = *self.failing_since.get_or_insert(now);
                    if self.spec.block_limit.is_some_and(|b| now - since >= b) {
                        self.start_dropping(chunk);
                        return;
                    }
                    let name = &self.spec.path;
                    warn_once(&mut self.trouble, &|| format!("write {name}/current"), e);
                    sigflag::sleep(PAUSE);
                }
            }
        }
    }

    /// Under `b`: discards `rest` and, so that `current` never ends inside
    /// a line, the head of the line it continues, already stored.
    fn start_dropping(&mut self, rest: &[u8]) {
        if self.mid_line && truncate(&self.current, self.line_start).is_ok() {
            self.bytes = self.line_start;
            self.kicked = self.kicked.min(self.bytes);
            self.mid_line = false;
        }
        self.dropping = Some(Dropping {
            lines: count_lines(rest),
            mid_line: rest.last() != Some(&b'\n'),
        });
    }

    /// Under `b`, while discarding: discards up to the next line start,
    /// where it tries to resume. Returns what is left to write there.
    fn skip<'a>(&mut self, mut data: &'a [u8]) -> &'a [u8] {
        let Some(d) = &mut self.dropping else {
            return data;
        };
        if d.mid_line {
            let Some(i) = find_newline(data) else {
                return &[];
            };
            d.lines += 1;
            d.mid_line = false;
            data = &data[i + 1..];
        }
        if data.is_empty() {
            return data;
        }
        // The note goes out with the line after it, in one write(2): a
        // note is stored only once a line can follow it.
        let first = find_newline(data).map_or(data.len(), |i| i + 1).min(RESUME);
        if self.resume(&data[..first]) {
            return &data[first..];
        }
        if let Some(d) = &mut self.dropping {
            d.lines += count_lines(data);
            d.mid_line = data.last() != Some(&b'\n');
        }
        &[]
    }

    /// `current`, or the whole directory, was removed under us: makes
    /// them again (waiting while that fails) and goes on there.
    fn reopen(&mut self) {
        let name = self.spec.path.clone();
        die::warn(
            super::name(),
            &format_args!("{name}/current was removed, starting a new one"),
        );
        // Our own lock on the old file would keep us from locking it anew.
        self._lock = Fd::from_raw(-1);
        let (dir, lock, current) = persist(
            &mut self.trouble,
            || format!("recreate {name}"),
            || {
                let _ = fs::mkdir(&name, 0o700);
                let dir = Dir::open(&name)?;
                let lock = dir.open_file(&Path::from("lock"), APPEND, 0o600)?;
                fs::lock_exclusive_now(&lock)?;
                dir.open_file(&Path::from("state"), libc::O_WRONLY | libc::O_CREAT, 0o644)?;
                let cur = dir.open_file(&Path::from("current"), APPEND, 0o644)?;
                fchmod(&cur, 0o644)?;
                Ok((dir, lock, cur))
            },
        );
        self.bytes = fs::fstat(&current).map_or(0, |m| m.size);
        self.kicked = self.bytes;
        self.born = (self.bytes > 0).then(time::monotonic);
        self.mid_line = false;
        self.line_start = self.bytes;
        (self.dir, self._lock, self.current) = (dir, lock, current);
    }

    fn wrote(&mut self, b: &[u8]) {
        if let Some(i) = find_last_newline(b) {
            self.line_start = self.bytes + i as u64 + 1;
        }
        self.bytes += b.len() as u64;
        if self.bytes - self.kicked >= WRITEBACK {
            // Only a head start for the fsync at rotation, which checks.
            let _ = start_writeback(&self.current, self.kicked, self.bytes - self.kicked);
            self.kicked = self.bytes;
        }
        self.trouble = false;
        self.failing_since = None;
        self.mid_line = b.last() != Some(&b'\n');
        if self.born.is_none() {
            self.born = Some(time::monotonic());
        }
    }

    /// Under `b`, at a line start: tries to store the line telling how
    /// many lines were discarded, followed by `next`, in one write(2).
    /// True when that worked, and writing goes on. A failing write(2)
    /// costs little, so it is tried for every block: no line is dropped
    /// once space is back.
    fn resume(&mut self, next: &[u8]) -> bool {
        let Some(d) = &self.dropping else {
            return true;
        };
        if d.mid_line {
            return false;
        }
        let mut note = Vec::new();
        let mut prefix = [0; stamp::MAX];
        let n = stamp::format(self.stamp, time::realtime(), &mut prefix);
        note.extend_from_slice(&prefix[..n]);
        note.extend_from_slice(
            format!(
                "{}: warning: discarded {} lines while unable to write\n",
                super::name(),
                d.lines
            )
            .as_bytes(),
        );
        note.extend_from_slice(next);
        // The note too keeps current within s.
        if self.bytes + note.len() as u64 > self.spec.size {
            self.rotate();
        }
        match self.current.write(&note) {
            Ok(k) if k == note.len() => {
                self.dropping = None;
                self.wrote(&note);
                true
            }
            Ok(_) => {
                // Half a note is no line: take it back, try again later.
                let _ = truncate(&self.current, self.bytes);
                false
            }
            Err(_) => false,
        }
    }
}
