//! One automatically rotated log directory, kept as multilog keeps it:
//! `current`, old files `@TAI64N.s` (`.u` when recovered after an outage),
//! `previous`/`processed`/`state`/`newstate` around a processor, `lock`.
//!
//! After start-up nothing here gives up: a failing call is reported once,
//! then retried every second, and the caller (the line loop) waits, so the
//! pipe fills and the service blocks instead of losing lines.

use super::PROG;
use super::gzip;
use super::processor;
use super::script::{DirSpec, Stamp};
use super::stamp;
use crate::die;
use crate::error::{Doing, Error, Reason};
use crate::sys::dir::{Dir, fchmod, start_writeback};
use crate::sys::{self, Errno, Fd, Path, fs, sigflag, time};
use crate::tai64::Tai64n;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

/// How long to wait before retrying a failed call.
pub const PAUSE: Duration = Duration::from_secs(1);

/// rotate once `current` is within this many bytes of `s`, at a newline.
const SLACK: u64 = 2000;

/// Disk writes of `current` are started every this many bytes, so they
/// run while logging goes on instead of all in the fsync at rotation.
const WRITEBACK: u64 = 1 << 20;

const APPEND: i32 = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT;

/// Lines being discarded under `b` while writing fails.
struct Dropping {
    lines: u64,
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
        die::warn(PROG, &format_args!("{err}, pausing"));
        *trouble = true;
    }
}

fn count_lines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// The first newline in `b`, by the C library's vectorised memchr.
pub fn find_newline(b: &[u8]) -> Option<usize> {
    // SAFETY: memchr reads at most b.len() bytes of b.
    let p = unsafe { libc::memchr(b.as_ptr().cast(), b'\n' as i32, b.len()) };
    (!p.is_null()).then(|| p as usize - b.as_ptr() as usize)
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
            dropping: None,
        };
        if let Some(size) = clean {
            d.bytes = size;
            d.kicked = size;
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

    /// The directory as named in the script.
    pub fn name(&self) -> &Path {
        &self.spec.path
    }

    /// Bytes in `current`.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// When `current` is due for rotation by age (monotonic), if ever.
    pub fn due(&self) -> Option<Duration> {
        Some(self.born? + self.spec.max_age?)
    }

    /// Stores `data` (any bytes, whole lines or not) in `current`,
    /// rotating after the first newline within SLACK bytes of the size.
    pub fn write(&mut self, mut data: &[u8]) {
        let limit = self.spec.size - SLACK;
        while !data.is_empty() {
            let n = if self.bytes + data.len() as u64 >= limit {
                let from = limit.saturating_sub(self.bytes + 1) as usize;
                find_newline(&data[from..]).map_or(data.len(), |i| from + i + 1)
            } else {
                data.len()
            };
            let (chunk, rest) = data.split_at(n);
            self.store(chunk);
            data = rest;
            if self.bytes >= limit && chunk.last() == Some(&b'\n') {
                self.rotate();
            }
        }
    }

    fn store(&mut self, mut chunk: &[u8]) {
        if self.dropping.is_some() && !self.resume() {
            if let Some(d) = &mut self.dropping {
                d.lines += count_lines(chunk);
            }
            return;
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
                        self.dropping = Some(Dropping {
                            lines: count_lines(chunk),
                        });
                        return;
                    }
                    let name = &self.spec.path;
                    warn_once(&mut self.trouble, &|| format!("write {name}/current"), e);
                    sigflag::sleep(PAUSE);
                }
            }
        }
    }

    fn wrote(&mut self, b: &[u8]) {
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

    /// Under `b`: tries to store the line telling how many lines were
    /// discarded. True when writing works again. A failing write(2) costs
    /// little, so it is tried for every block: no line is dropped once
    /// space is back.
    fn resume(&mut self) -> bool {
        let Some(d) = &self.dropping else {
            return true;
        };
        let mut note = Vec::new();
        if self.mid_line {
            note.push(b'\n');
        }
        let mut prefix = [0; stamp::MAX];
        let n = stamp::format(self.stamp, time::realtime(), &mut prefix);
        note.extend_from_slice(&prefix[..n]);
        note.extend_from_slice(
            format!(
                "{PROG}: warning: discarded {} lines while unable to write\n",
                d.lines
            )
            .as_bytes(),
        );
        match self.current.write(&note) {
            Ok(k) => {
                // The rest goes out now, blocking if need be.
                self.dropping = None;
                self.wrote(&note[..k]);
                self.store_rest(&note[k..]);
                true
            }
            Err(_) => false,
        }
    }

    fn store_rest(&mut self, rest: &[u8]) {
        let name = self.spec.path.clone();
        let mut rest = rest;
        while !rest.is_empty() {
            let n = persist(
                &mut self.trouble,
                || format!("write {name}/current"),
                || self.current.write(rest),
            );
            self.bytes += n as u64;
            rest = &rest[n..];
        }
    }

    /// Finishes `current` and starts a new one (multilog's fullcurrent).
    pub fn rotate(&mut self) {
        let name = self.spec.path.clone();
        let t = &mut self.trouble;
        persist(
            t,
            || format!("write {name}/current to disk"),
            || self.current.sync(),
        );
        persist(
            t,
            || format!("set mode of {name}/current"),
            || fchmod(&self.current, 0o744),
        );
        let (cur, prev) = (Path::from("current"), Path::from("previous"));
        persist(
            t,
            || format!("rename current to previous in {name}"),
            || self.dir.rename(&cur, &prev),
        );
        self.current = persist(
            t,
            || format!("create {name}/current"),
            || {
                let f = self.dir.open_file(&cur, APPEND, 0o644)?;
                fchmod(&f, 0o644).map(|_| f)
            },
        );
        self.bytes = 0;
        self.kicked = 0;
        self.born = None;
        self.mid_line = false;
        let old = match self.spec.processor.clone() {
            None => self.finish("previous", b's'),
            Some(p) => self.process(&p),
        };
        if let Some(old) = old.filter(|_| self.spec.gzip) {
            gzip::spawn(&self.dir, &self.spec.path, &old);
        }
    }

    /// Runs the processor on `previous` until it succeeds, then publishes
    /// its output and state as multilog does.
    fn process(&mut self, program: &[u8]) -> Option<Path> {
        let name = self.spec.path.clone();
        loop {
            match processor::run(&self.dir, program) {
                Ok(st) if st.code() == Some(0) => break,
                Ok(_) => die::warn(PROG, &format_args!("processor failed in {name}, pausing")),
                Err(e) => die::warn(PROG, &format_args!("{e}, pausing")),
            }
            sigflag::sleep(PAUSE);
        }
        let t = &mut self.trouble;
        let sync = |file: &str, mode: Option<u32>| -> sys::Result<()> {
            let f = self.dir.open_file(&Path::from(file), APPEND, 0o644)?;
            f.sync()?;
            mode.map_or(Ok(()), |m| fchmod(&f, m))
        };
        persist(
            t,
            || format!("write {name}/processed to disk"),
            || sync("processed", Some(0o744)),
        );
        persist(
            t,
            || format!("write {name}/newstate to disk"),
            || sync("newstate", None),
        );
        persist(
            t,
            || format!("remove {name}/previous"),
            || self.dir.remove(&Path::from("previous")),
        );
        persist(
            t,
            || format!("rename newstate to state in {name}"),
            || {
                self.dir
                    .rename(&Path::from("newstate"), &Path::from("state"))
            },
        );
        self.finish("processed", b's')
    }

    /// Saves `file` as an old file `@TAI64N.code` (unless a crash left it
    /// linked there already), then keeps at most `n` - 1 old files.
    /// Returns the old file's name.
    fn finish(&mut self, file: &str, code: u8) -> Option<Path> {
        let name = self.spec.path.clone();
        let path = Path::from(file);
        let t = &mut self.trouble;
        let nlink = loop {
            match self.dir.nlink(&path) {
                Ok(n) => break n,
                Err(Errno::ENOENT) => return None,
                Err(e) => {
                    warn_once(t, &|| format!("stat {name}/{file}"), e);
                    sigflag::sleep(PAUSE);
                }
            }
        };
        let mut old = None;
        if nlink == 1 {
            old = Some(persist(
                t,
                || format!("link {name}/{file} to an old file"),
                || {
                    let mut n = Tai64n::now().label().to_vec();
                    n.extend_from_slice(&[b'.', code]);
                    let n = Path::new(&n);
                    self.dir.link(&path, &n).map(|_| n)
                },
            ));
        }
        persist(
            t,
            || format!("remove {name}/{file}"),
            || self.dir.unlink(&path),
        );
        self.prune();
        old
    }

    fn prune(&mut self) {
        let name = self.spec.path.clone();
        let names = persist(
            &mut self.trouble,
            || format!("read {name}"),
            || self.dir.list(),
        );
        let mut old: Vec<&Vec<u8>> = names
            .iter()
            .filter(|n| n.first() == Some(&b'@') && n.len() >= 25)
            .collect();
        let keep = self.spec.num - 1;
        if old.len() <= keep {
            return;
        }
        old.sort();
        for n in &old[..old.len() - keep] {
            // A file someone else removed first is just as gone.
            let _ = self.dir.unlink(&Path::new(n));
        }
    }

    /// At end of input: `current` safely on disk, mode 744, so the next
    /// logsink appends to it instead of saving it as `.u`.
    pub fn close(&mut self) {
        let name = self.spec.path.clone();
        if !self.resume() {
            if let Some(d) = &self.dropping {
                let what = format!(
                    "discarded {} lines: unable to write {name}/current",
                    d.lines
                );
                die::warn(PROG, &what);
            }
        }
        let t = &mut self.trouble;
        persist(
            t,
            || format!("write {name}/current to disk"),
            || self.current.sync(),
        );
        persist(
            t,
            || format!("set mode of {name}/current"),
            || fchmod(&self.current, 0o744),
        );
    }
}
