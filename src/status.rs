//! `supervise/status`: the binary state every client reads. Its first 18
//! bytes are daemontools' layout, its first 20 runit's, then svkit's
//! extension (man/svkit.7 has the table).

use crate::error::{Doing, Error};
use crate::sys::{Path, fs};
use crate::tai64::Tai64n;

/// Size of the status svkit writes (extension version 3).
pub const LEN: usize = 59;
/// Size of an extension version 1 status, the shortest svkit ever wrote.
pub const V1_LEN: usize = 54;
/// Size of an extension version 2 status: memory restarts added.
pub const V2_LEN: usize = 58;
/// Bytes daemontools writes and reads.
pub const DAEMONTOOLS_LEN: usize = 18;
/// Bytes runit writes and reads.
pub const RUNIT_LEN: usize = 20;
/// The extension version svkit writes at offset 20.
pub const VERSION: u8 = 3;

/// What the supervisor is running.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RunState {
    Down = 0,
    Run = 1,
    Finish = 2,
}

/// The wanted state, byte 17.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Want {
    Up,
    Down,
    /// daemontools after `svc -o` writes 0: neither. svkit never does,
    /// because runit's `sv` would then never send `u` or `d`.
    Neither,
}

/// How a service tells that it is ready (man/supervise.8, READINESS).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Readiness {
    /// It has no mechanism: ready as soon as it runs.
    AtStart,
    /// It says so itself: notification-fd, or sd_notify's READY=1. A
    /// check, if it has one, only tells its health.
    Says,
    /// Its first passing check makes it ready.
    Check,
}

impl Readiness {
    /// The mechanism of a service that `says` it is ready itself
    /// (notification-fd or notify) and that `has_check` or not.
    pub fn of(says: bool, has_check: bool) -> Readiness {
        match (says, has_check) {
            (true, _) => Readiness::Says,
            (false, true) => Readiness::Check,
            (false, false) => Readiness::AtStart,
        }
    }

    /// Whether the service has a mechanism, so that "ready" tells more
    /// than "up".
    pub fn is_mechanism(self) -> bool {
        self != Readiness::AtStart
    }
}

/// Bits of the extension's second flag byte (version 3).
pub mod more {
    /// The service has a readiness mechanism.
    pub const READINESS: u8 = 1;
    /// The running service's STATUS= text is in `supervise/message`.
    pub const MESSAGE: u8 = 2;
}

/// Bits of the extension's flag byte.
pub mod flag {
    pub const READY: u8 = 1;
    pub const BACKING_OFF: u8 = 2;
    pub const UNHEALTHY: u8 = 4;
    pub const PERMANENT_FAILURE: u8 = 8;
    pub const ONCE: u8 = 16;
    /// The last health check passed.
    pub const HEALTHY: u8 = 32;
    /// The service said RELOADING=1 and not yet READY=1 again.
    pub const RELOADING: u8 = 64;
    /// The service said STOPPING=1.
    pub const STOPPING: u8 = 128;
}

/// svkit's fields after runit's 20 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Extension {
    /// `flag::*` bits.
    pub flags: u8,
    /// When the service became ready (zero: not ready).
    pub ready_at: Tai64n,
    /// Wait status of the last `run` that died.
    pub last_wait: i32,
    /// Deaths nobody asked for since the service was last wanted up.
    pub deaths: u32,
    /// When the next start is due while backing off (zero: none).
    pub next_start: Tai64n,
    /// Restarts by the memory guard since supervise started (version 2).
    pub memory_restarts: u32,
    /// The service has a readiness mechanism (version 3; None in older
    /// files, which leave it to the service's settings).
    pub has_readiness: Option<bool>,
    /// The running service's last STATUS= text is in `supervise/message`
    /// (version 3; None in older files, which leave it to that file).
    pub has_message: Option<bool>,
}

impl Extension {
    /// Whether `bit` (a `flag::*`) is set.
    pub fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }
}

/// A decoded status file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Status {
    /// Last change between up and down.
    pub changed: Tai64n,
    /// Pid of `run` (or of `finish` while it runs, as runit does); 0: none.
    pub pid: u32,
    pub paused: bool,
    pub want: Want,
    /// TERM was sent while wanted down (runit's "got TERM").
    pub term_sent: bool,
    pub state: RunState,
    /// None for files written by daemontools or runit.
    pub ext: Option<Extension>,
}

/// Why a status file could not be decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BadFormat;

impl Status {
    /// Whether `run` is running (what daemontools calls "up").
    pub fn is_up(&self) -> bool {
        self.pid != 0 && self.state == RunState::Run
    }

    /// Whether the service has a readiness mechanism: false under
    /// daemontools and runit, which know none; None in an svkit file
    /// older than version 3, which does not say.
    pub fn has_readiness(&self) -> Option<bool> {
        match self.ext {
            None => Some(false),
            Some(x) => x.has_readiness,
        }
    }

    /// Whether `supervise/message` holds the running service's STATUS=
    /// text: None where the file does not say (then read it to know).
    pub fn has_message(&self) -> Option<bool> {
        match self.ext {
            None => Some(false),
            Some(x) => x.has_message,
        }
    }

    /// Whether `run` is running and ready: it said so (or its check did)
    /// if it has a readiness mechanism. `mechanism` stands in where the
    /// file does not say whether it has one.
    pub fn is_ready(&self, mechanism: bool) -> bool {
        let needs_word = self.has_readiness().unwrap_or(mechanism);
        self.is_up() && (!needs_word || self.ext.is_some_and(|x| x.has(flag::READY)))
    }

    /// The external form: LEN bytes, or runit's 20 without an extension.
    pub fn encode(&self) -> ([u8; LEN], usize) {
        let mut b = [0u8; LEN];
        b[..12].copy_from_slice(&self.changed.encode());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b[16] = self.paused as u8;
        b[17] = match self.want {
            Want::Up => b'u',
            Want::Down => b'd',
            Want::Neither => 0,
        };
        b[18] = self.term_sent as u8;
        b[19] = self.state as u8;
        let Some(x) = self.ext else {
            return (b, RUNIT_LEN);
        };
        b[20] = VERSION;
        b[21] = x.flags;
        b[22..34].copy_from_slice(&x.ready_at.encode());
        b[34..38].copy_from_slice(&x.last_wait.to_le_bytes());
        b[38..42].copy_from_slice(&x.deaths.to_le_bytes());
        b[42..54].copy_from_slice(&x.next_start.encode());
        b[54..58].copy_from_slice(&x.memory_restarts.to_le_bytes());
        // None only comes from decoding an older file: a supervise knows.
        let bit = |set: Option<bool>, bit: u8| if set == Some(true) { bit } else { 0 };
        b[58] = bit(x.has_readiness, more::READINESS) | bit(x.has_message, more::MESSAGE);
        (b, LEN)
    }

    /// Reads a status written by svkit, daemontools (18 bytes) or runit
    /// (20 bytes); longer files of a later svkit version decode to the
    /// fields this version knows.
    pub fn decode(b: &[u8]) -> Result<Status, BadFormat> {
        if b.len() < DAEMONTOOLS_LEN || (b.len() > RUNIT_LEN && (b.len() < V1_LEN || b[20] == 0)) {
            return Err(BadFormat);
        }
        let changed = Tai64n::decode(b[..12].try_into().map_err(|_| BadFormat)?);
        // Every supervisor writes a real TAI64 label (2^62 + ...): anything
        // else is not a status file.
        if changed.secs >> 62 != 1 || changed.nanos >= 1_000_000_000 {
            return Err(BadFormat);
        }
        let pid = u32::from_le_bytes(b[12..16].try_into().map_err(|_| BadFormat)?);
        let paused = flag_byte(b[16])?;
        let want = match b[17] {
            b'u' => Want::Up,
            b'd' => Want::Down,
            0 => Want::Neither,
            _ => return Err(BadFormat),
        };
        let (term_sent, state) = if b.len() >= RUNIT_LEN {
            let state = match b[19] {
                0 => RunState::Down,
                1 => RunState::Run,
                2 => RunState::Finish,
                _ => return Err(BadFormat),
            };
            (flag_byte(b[18])?, state)
        } else {
            (
                false,
                if pid != 0 {
                    RunState::Run
                } else {
                    RunState::Down
                },
            )
        };
        let ext = if b.len() >= V1_LEN {
            Some(Extension {
                flags: b[21],
                ready_at: Tai64n::decode(b[22..34].try_into().map_err(|_| BadFormat)?),
                last_wait: i32::from_le_bytes(b[34..38].try_into().map_err(|_| BadFormat)?),
                deaths: u32::from_le_bytes(b[38..42].try_into().map_err(|_| BadFormat)?),
                next_start: Tai64n::decode(b[42..54].try_into().map_err(|_| BadFormat)?),
                memory_restarts: match b.get(54..V2_LEN) {
                    Some(v) => u32::from_le_bytes(v.try_into().map_err(|_| BadFormat)?),
                    None => 0,
                },
                has_readiness: more_bit(b, more::READINESS),
                has_message: more_bit(b, more::MESSAGE),
            })
        } else {
            None
        };
        Ok(Status {
            changed,
            pid,
            paused,
            want,
            term_sent,
            state,
            ext,
        })
    }
}

/// A bit of version 3's second flag byte; None in older files.
fn more_bit(b: &[u8], bit: u8) -> Option<bool> {
    match b.get(V2_LEN) {
        Some(&v) if b[20] >= 3 => Some(v & bit != 0),
        Some(_) | None => None,
    }
}

fn flag_byte(b: u8) -> Result<bool, BadFormat> {
    match b {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(BadFormat),
    }
}

/// The status file of service directory `dir`.
pub fn path(dir: &Path) -> Path {
    dir.join("supervise/status")
}

/// Reads and decodes `dir`'s status. The error names the file, as in
/// `unable to read S/supervise/status: bad format`.
pub fn read(dir: &Path) -> Result<Status, Error> {
    let p = path(dir);
    let bytes = fs::read_prefix(&p, READ_MAX).doing(|| alloc::format!("read {p}"))?;
    Status::decode(&bytes).map_err(|_| Error::other(alloc::format!("read {p}"), "bad format"))
}

/// `read` for a caller that acts only on a status it could read (scan,
/// after a supervise died): None, and no message made, for any failure.
pub fn read_quietly(dir: &Path) -> Option<Status> {
    let bytes = fs::read_prefix(&path(dir), READ_MAX).ok()?;
    Status::decode(&bytes).ok()
}

/// How much of a status file is read: generously more than any version
/// writes, so a longer future file is still read whole up to what this
/// version understands.
const READ_MAX: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tai() -> impl Strategy<Value = Tai64n> {
        ((1u64 << 62)..(1u64 << 63), 0u32..1_000_000_000)
            .prop_map(|(secs, nanos)| Tai64n { secs, nanos })
    }

    fn any_tai() -> impl Strategy<Value = Tai64n> {
        (any::<u64>(), any::<u32>()).prop_map(|(secs, nanos)| Tai64n { secs, nanos })
    }

    fn status() -> impl Strategy<Value = Status> {
        let ext = (
            any::<u8>(),
            any_tai(),
            any::<i32>(),
            any::<u32>(),
            any_tai(),
            any::<u32>(),
            (any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(flags, ready_at, last_wait, deaths, next_start, memory_restarts, more)| {
                    Extension {
                        flags,
                        ready_at,
                        last_wait,
                        deaths,
                        next_start,
                        memory_restarts,
                        has_readiness: Some(more.0),
                        has_message: Some(more.1),
                    }
                },
            );
        (
            tai(),
            any::<u32>(),
            any::<bool>(),
            prop_oneof![Just(Want::Up), Just(Want::Down), Just(Want::Neither)],
            any::<bool>(),
            prop_oneof![
                Just(RunState::Down),
                Just(RunState::Run),
                Just(RunState::Finish)
            ],
            proptest::option::of(ext),
        )
            .prop_map(
                |(changed, pid, paused, want, term_sent, state, ext)| Status {
                    changed,
                    pid,
                    paused,
                    want,
                    term_sent,
                    state,
                    ext,
                },
            )
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(s in status()) {
            let (b, n) = s.encode();
            prop_assert_eq!(Status::decode(&b[..n]), Ok(s));
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Status::decode(&b);
        }

        #[test]
        fn the_first_18_bytes_read_as_daemontools(s in status()) {
            let (b, _) = s.encode();
            let d = Status::decode(&b[..DAEMONTOOLS_LEN]).unwrap();
            prop_assert_eq!((d.changed, d.pid, d.paused, d.want), (s.changed, s.pid, s.paused, s.want));
        }
    }

    #[test]
    fn a_daemontools_file_decodes() {
        // Written by daemontools' supervise: up, pid 0x1234, wanted up.
        let mut b = [0u8; 18];
        b[0] = 0x40;
        b[7] = 0x0a;
        b[12] = 0x34;
        b[13] = 0x12;
        b[17] = b'u';
        let s = Status::decode(&b).unwrap();
        assert_eq!(
            (s.pid, s.state, s.want, s.ext),
            (0x1234, RunState::Run, Want::Up, None)
        );
    }

    fn up_with(flags: u8, has_readiness: bool) -> ([u8; LEN], usize) {
        Status {
            changed: Tai64n::from_unix(core::time::Duration::ZERO),
            pid: 7,
            paused: false,
            want: Want::Up,
            term_sent: false,
            state: RunState::Run,
            ext: Some(Extension {
                flags,
                memory_restarts: 3,
                has_readiness: Some(has_readiness),
                has_message: Some(true),
                ..Extension::default()
            }),
        }
        .encode()
    }

    #[test]
    fn older_versions_do_not_say_what_version_3_adds() {
        let (mut b, n) = up_with(0, true);
        let v3 = Status::decode(&b[..n]).unwrap();
        assert_eq!(
            (v3.has_readiness(), v3.has_message()),
            (Some(true), Some(true))
        );
        b[20] = 2;
        let v2 = Status::decode(&b[..V2_LEN]).unwrap();
        assert_eq!(
            (
                v2.has_readiness(),
                v2.has_message(),
                v2.ext.unwrap().memory_restarts
            ),
            (None, None, 3)
        );
        b[20] = 1;
        let v1 = Status::decode(&b[..V1_LEN]).unwrap();
        assert_eq!(
            (v1.has_readiness(), v1.ext.unwrap().memory_restarts),
            (None, 0)
        );
        let runit = Status::decode(&b[..RUNIT_LEN]).unwrap();
        assert_eq!(runit.has_readiness(), Some(false));
    }

    #[test]
    fn ready_needs_the_word_only_with_a_mechanism() {
        let ready = |(b, n): ([u8; LEN], usize), mechanism| {
            Status::decode(&b[..n]).unwrap().is_ready(mechanism)
        };
        assert!(ready(up_with(0, false), true), "no mechanism: up is ready");
        assert!(!ready(up_with(0, true), false));
        assert!(ready(up_with(flag::READY, true), false));
        let (mut b, _) = up_with(0, true);
        b[20] = 2;
        assert!(
            !ready((b, V2_LEN), true),
            "an older file: as the caller says"
        );
        assert!(ready((b, V2_LEN), false));
        assert!(ready((b, RUNIT_LEN), true), "runit: up is ready");
    }

    #[test]
    fn short_or_garbled_files_are_bad_format() {
        assert_eq!(Status::decode(&[0x40; 10]), Err(BadFormat));
        assert_eq!(Status::decode(&[0u8; 18]), Err(BadFormat));
        let (mut b, n) = Status {
            changed: Tai64n::from_unix(core::time::Duration::ZERO),
            pid: 0,
            paused: false,
            want: Want::Up,
            term_sent: false,
            state: RunState::Down,
            ext: Some(Extension::default()),
        }
        .encode();
        assert!(Status::decode(&b[..n]).is_ok());
        assert_eq!(Status::decode(&b[..30]), Err(BadFormat));
        b[17] = b'x';
        assert_eq!(Status::decode(&b[..n]), Err(BadFormat));
    }
}
