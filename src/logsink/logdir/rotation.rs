//! Finishing files in a log directory, as multilog does: `current` synced
//! and renamed to `previous`, fed through the processor if there is one,
//! saved as an old file `@TAI64N.s`, the oldest removed past `n`.

use super::{APPEND, LogDir, PAUSE, persist, warn_once};
use crate::die;
use crate::logsink::{gzip, processor};
use crate::sys::dir::fchmod;
use crate::sys::{self, Errno, Path, sigflag};
use crate::tai64::Tai64n;
use alloc::format;
use alloc::vec::Vec;

impl LogDir {
    /// Finishes `current` and starts a new one (multilog's fullcurrent).
    /// LogDir decides when for logsink (see `write` and `rotate_if_due`);
    /// the `multilog` name decides by multilog's own buffer arithmetic,
    /// which its byte-identical files depend on.
    pub(in crate::logsink) fn rotate(&mut self) {
        let name = self.spec.path.clone();
        self.seal_current();
        let t = &mut self.trouble;
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
        self.line_start = 0;
        self.rotation_due = false;
        let old = match self.spec.processor.clone() {
            None => self.finish("previous", b's'),
            Some(p) => self.process(&p),
        };
        if let Some(old) = old.filter(|_| self.spec.gzip) {
            gzip::spawn(&self.dir, &self.spec.path, &[old]);
        }
    }

    /// Runs the processor on `previous` until it succeeds, then publishes
    /// its output and state as multilog does.
    fn process(&mut self, program: &[u8]) -> Option<Path> {
        let name = self.spec.path.clone();
        loop {
            match processor::run(&self.dir, program) {
                Ok(st) if st.code() == Some(0) => break,
                Ok(_) => die::warn(
                    crate::logsink::name(),
                    &format_args!("processor failed in {name}, pausing"),
                ),
                Err(e) => die::warn(crate::logsink::name(), &format_args!("{e}, pausing")),
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
    pub(super) fn finish(&mut self, file: &str, code: u8) -> Option<Path> {
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
        if !self.resume(&[]) {
            if let Some(d) = &self.dropping {
                let what = format!(
                    "discarded {} lines: unable to write {name}/current",
                    d.lines
                );
                die::warn(crate::logsink::name(), &what);
            }
        }
        self.seal_current();
    }

    /// `current` on disk and marked finished (mode 744), multilog's sign
    /// that it holds nothing unsaved: before a rotation and at the end.
    fn seal_current(&mut self) {
        let name = &self.spec.path;
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
