//! The script: multilog's actions, one argument each, parsed once at
//! start-up into what the line loop and the log directories need.
//! See man/logsink.8 for the language.

use crate::error::Error;
use crate::sys::Path;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

/// multilog's bounds and defaults for `s` and `n`.
pub const MIN_SIZE: u64 = 4096;
pub const MAX_SIZE: u64 = 16_777_215;
pub const DEFAULT_SIZE: u64 = 99_999;
pub const DEFAULT_NUM: usize = 10;

/// What goes in front of each line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stamp {
    None,
    /// `t`: `@` + TAI64N label + space, as multilog writes it.
    Tai64n,
    /// `T`: `YYYY-MM-DD HH:MM:SS.NNNNNNNNN` in UTC and two spaces, laid
    /// out as s6-log's `T`.
    Iso,
}

/// One action run for every line, in script order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Action {
    /// `+PATTERN`
    Select(Vec<u8>),
    /// `-PATTERN`
    Deselect(Vec<u8>),
    /// `e`
    Alert,
    /// `=FILE`: the index into `Script::status_files`.
    Status(usize),
    /// `DIR`: the index into `Script::dirs`.
    Dir(usize),
}

/// Where and how one log directory keeps its files.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DirSpec {
    pub path: Path,
    /// `s`: rotate at a line boundary once `current` holds this many bytes
    /// less 2000.
    pub size: u64,
    /// `n`: log files kept, `current` included.
    pub num: usize,
    /// `!`: run through `sh -c` on every finished file.
    pub processor: Option<Vec<u8>>,
    /// `z`: gzip rotated files in a child process.
    pub gzip: bool,
    /// `a`: rotate a non-empty `current` this long after it was started.
    pub max_age: Option<Duration>,
    /// `b`: after failing to write for this long, discard and count lines
    /// instead of blocking the writer.
    pub block_limit: Option<Duration>,
}

/// A parsed script.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Script {
    pub stamp: Stamp,
    pub actions: Vec<Action>,
    pub dirs: Vec<DirSpec>,
    pub status_files: Vec<Path>,
    /// `l`: split lines longer than this many bytes (the stamp excluded).
    pub max_line: Option<usize>,
}

impl DirSpec {
    /// The settings a directory gets when the script sets none: multilog's.
    fn defaults() -> DirSpec {
        DirSpec {
            path: Path::from(""),
            size: DEFAULT_SIZE,
            num: DEFAULT_NUM,
            processor: None,
            gzip: false,
            max_age: None,
            block_limit: None,
        }
    }
}

impl Script {
    /// A script with no action yet.
    fn empty() -> Script {
        Script {
            stamp: Stamp::None,
            actions: Vec::new(),
            dirs: Vec::new(),
            status_files: Vec::new(),
            max_line: None,
        }
    }

    /// Whether any line can be treated differently from another: without
    /// patterns, alerts or status files every line goes to every directory.
    pub fn selects(&self) -> bool {
        self.actions.iter().any(|a| !matches!(a, Action::Dir(_)))
    }
}

/// The directory hint: most mistaken actions are directory names that
/// start with a letter that is an action.
const DIR_RULE: &str = "a directory action starts with . or /";

fn bad(why: core::fmt::Arguments) -> Error {
    Error::Usage(format!("unable to parse script: {why}"))
}

fn shown(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// The number after the action letter; `takes` says what the letter wants.
fn number(arg: &[u8], takes: &str) -> Result<u64, Error> {
    let text = core::str::from_utf8(&arg[1..]).unwrap_or("");
    text.parse::<u64>().map_err(|_| {
        bad(format_args!(
            "action {} is unknown: {} takes {takes}; {DIR_RULE}",
            shown(arg),
            arg[0] as char
        ))
    })
}

fn seconds(arg: &[u8], takes: &str) -> Result<Duration, Error> {
    match number(arg, takes)? {
        0 => Err(bad(format_args!(
            "action {} is out of range: {} takes {takes}",
            shown(arg),
            arg[0] as char
        ))),
        n => Ok(Duration::from_secs(n)),
    }
}

/// Parses logsink's command line: as `parse`, but no script at all is a
/// usage error (multilog reads and discards its input then; a drop-in
/// multilog calls `parse`).
pub fn parse_required(args: &[&[u8]]) -> Result<Script, Error> {
    if args.is_empty() {
        return Err(bad(format_args!(
            "no action: give at least one, such as ./main"
        )));
    }
    parse(args)
}

/// Parses the script; `s` and `n` values out of range are clamped as
/// multilog clamps them, anything it would silently ignore is an error.
pub fn parse(args: &[&[u8]]) -> Result<Script, Error> {
    let (mut script, mut spec) = (Script::empty(), DirSpec::defaults());
    for (i, &arg) in args.iter().enumerate() {
        let Some(&first) = arg.first() else {
            return Err(bad(format_args!(
                "an action is empty: each argument is one action"
            )));
        };
        match first {
            b't' | b'T' if arg.len() == 1 => {
                if i != 0 {
                    return Err(bad(format_args!(
                        "action {} comes too late: t and T stamp every line, so they come first",
                        first as char
                    )));
                }
                script.stamp = if first == b't' {
                    Stamp::Tai64n
                } else {
                    Stamp::Iso
                };
            }
            b's' => {
                spec.size = number(arg, "a size in bytes, as in s99999")?.clamp(MIN_SIZE, MAX_SIZE)
            }
            b'n' => {
                spec.num = number(arg, "a number of files, as in n10")?.clamp(2, 1 << 20) as usize
            }
            b'!' => spec.processor = Some(arg[1..].to_vec()),
            b'z' if arg.len() == 1 => spec.gzip = true,
            b'a' => spec.max_age = Some(seconds(arg, "an age of 1 second or more, as in a3600")?),
            b'b' => spec.block_limit = Some(seconds(arg, "1 second or more, as in b10")?),
            b'l' => {
                let takes = "a line length of 1000 bytes or more, as in l4096";
                let n = number(arg, takes)?;
                if n < 1000 {
                    return Err(bad(format_args!(
                        "action {} is out of range: l takes {takes}",
                        shown(arg)
                    )));
                }
                script.max_line = Some(n as usize);
            }
            b'+' => script.actions.push(Action::Select(arg[1..].to_vec())),
            b'-' => script.actions.push(Action::Deselect(arg[1..].to_vec())),
            b'e' if arg.len() == 1 => script.actions.push(Action::Alert),
            b'=' if arg.len() > 1 => {
                script
                    .actions
                    .push(Action::Status(script.status_files.len()));
                script.status_files.push(Path::new(&arg[1..]));
            }
            b'.' | b'/' => {
                script.actions.push(Action::Dir(script.dirs.len()));
                script.dirs.push(DirSpec {
                    path: Path::new(arg),
                    ..spec.clone()
                });
            }
            _ => {
                return Err(bad(format_args!(
                    "action {} is unknown: {DIR_RULE}",
                    shown(arg)
                )));
            }
        }
    }
    Ok(script)
}

/// A number as daemontools' scan_ulong reads one: the leading digits,
/// 0 when there are none, saturating.
fn lenient(digits: &[u8]) -> u64 {
    digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

/// Parses the script as daemontools' multilog does, for svkit's
/// `multilog`: `t` counts only as the first action (and any first action
/// starting with `t` is one), numbers are read up to their first
/// non-digit, `e` is any action starting with `e`, and every action
/// multilog does not know (logsink's extensions among them) is ignored.
pub fn parse_multilog(args: &[&[u8]]) -> Script {
    let (mut script, mut spec) = (Script::empty(), DirSpec::defaults());
    let mut rest = args;
    if let Some((first, after)) = args.split_first() {
        if first.first() == Some(&b't') {
            script.stamp = Stamp::Tai64n;
            rest = after;
        }
    }
    for &arg in rest {
        match arg.first() {
            Some(b's') => spec.size = lenient(&arg[1..]).clamp(MIN_SIZE, MAX_SIZE),
            Some(b'n') => spec.num = lenient(&arg[1..]).clamp(2, 1 << 20) as usize,
            Some(b'!') => spec.processor = Some(arg[1..].to_vec()),
            Some(b'+') => script.actions.push(Action::Select(arg[1..].to_vec())),
            Some(b'-') => script.actions.push(Action::Deselect(arg[1..].to_vec())),
            Some(b'e') => script.actions.push(Action::Alert),
            Some(b'=') => {
                script
                    .actions
                    .push(Action::Status(script.status_files.len()));
                script.status_files.push(Path::new(&arg[1..]));
            }
            Some(b'.' | b'/') => {
                script.actions.push(Action::Dir(script.dirs.len()));
                script.dirs.push(DirSpec {
                    path: Path::new(arg),
                    ..spec.clone()
                });
            }
            _ => {}
        }
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(args: &[&str]) -> Result<Script, Error> {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        parse(&v)
    }

    #[test]
    fn settings_apply_to_the_directories_after_them() {
        let s = p(&["t", "s5000", "n3", "./a", "!gzip", "s999999999", "/b"]).unwrap();
        assert_eq!(s.stamp, Stamp::Tai64n);
        assert_eq!((s.dirs[0].size, s.dirs[0].num), (5000, 3));
        assert_eq!(s.dirs[0].processor, None);
        assert_eq!(s.dirs[1].size, MAX_SIZE);
        assert_eq!(s.dirs[1].processor.as_deref(), Some(&b"gzip"[..]));
        assert_eq!(s.actions, [Action::Dir(0), Action::Dir(1)]);
        assert!(!s.selects());
    }

    #[test]
    fn defaults_and_clamps_follow_multilog() {
        let s = p(&["s1", "n0", "./a"]).unwrap();
        assert_eq!((s.dirs[0].size, s.dirs[0].num), (MIN_SIZE, 2));
        let s = p(&["./a"]).unwrap();
        assert_eq!((s.dirs[0].size, s.dirs[0].num), (DEFAULT_SIZE, DEFAULT_NUM));
        assert_eq!(s.stamp, Stamp::None);
    }

    #[test]
    fn selection_actions_keep_their_order() {
        let s = p(&["-*", "+STAT*", "=status", "e", "./a"]).unwrap();
        assert_eq!(
            s.actions,
            [
                Action::Deselect(b"*".to_vec()),
                Action::Select(b"STAT*".to_vec()),
                Action::Status(0),
                Action::Alert,
                Action::Dir(0)
            ]
        );
        assert_eq!(s.status_files, [Path::from("status")]);
        assert!(s.selects());
    }

    #[test]
    fn extensions_parse() {
        let s = p(&["T", "z", "a60", "b5", "l4096", "./a"]).unwrap();
        assert_eq!(s.stamp, Stamp::Iso);
        assert!(s.dirs[0].gzip);
        assert_eq!(s.dirs[0].max_age, Some(Duration::from_secs(60)));
        assert_eq!(s.dirs[0].block_limit, Some(Duration::from_secs(5)));
        assert_eq!(s.max_line, Some(4096));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for bad in [
            &["./a", "t"][..],
            &["sbig", "./a"],
            &["x"],
            &["a0", "./a"],
            &["l10", "./a"],
            &[""],
            &["t", "main"],
        ] {
            assert!(matches!(p(bad), Err(Error::Usage(_))), "{bad:?}");
        }
        assert!(matches!(parse_required(&[]), Err(Error::Usage(_))));
        assert_eq!(parse(&[]).unwrap().dirs, []);
    }

    proptest! {
        #[test]
        fn never_panics(args: Vec<Vec<u8>>) {
            let v: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            let _ = parse(&v);
        }
    }

    fn m(args: &[&str]) -> Script {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        parse_multilog(&v)
    }

    #[test]
    fn multilog_ignores_what_multilog_does_not_know() {
        let s = m(&["t", "T", "z", "a5", "b1", "l9999", "x", "", "./a"]);
        assert_eq!(s.stamp, Stamp::Tai64n);
        assert_eq!(s.actions, [Action::Dir(0)]);
        assert!(!s.dirs[0].gzip && s.dirs[0].max_age.is_none());
        assert_eq!(s.max_line, None);
        let s = m(&["./a", "t"]);
        assert_eq!(s.stamp, Stamp::None, "t counts only first");
        assert_eq!(m(&["tfoo"]).stamp, Stamp::Tai64n);
    }

    #[test]
    fn multilog_reads_numbers_as_scan_ulong() {
        let s = m(&["sbig", "n0", "./a", "s5000x", "n3k", "./b", "ex"]);
        assert_eq!((s.dirs[0].size, s.dirs[0].num), (MIN_SIZE, 2));
        assert_eq!((s.dirs[1].size, s.dirs[1].num), (5000, 3));
        assert_eq!(s.actions.last(), Some(&Action::Alert));
    }

    proptest! {
        #[test]
        fn multilog_never_panics(args: Vec<Vec<u8>>) {
            let v: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            let _ = parse_multilog(&v);
        }
    }
}
