//! The command line: argv as C strings, and an option parser in lexopt's
//! style (`-abc` clusters, `-T5000` or `-T 5000`, `--name[=value]`, `--`).

use crate::error::Error;
use crate::sys::Path;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};

/// The process arguments, argv[0] excluded.
pub type Args = Vec<&'static CStr>;

/// Collects argv. The strings live as long as the process does.
///
/// # Safety
/// `argv` must point to `argc` valid NUL-terminated strings, as C's `main`
/// receives them.
pub unsafe fn from_raw(argc: c_int, argv: *const *const c_char) -> Args {
    (1..argc.max(1) as usize)
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) })
        .collect()
}

/// One parsed command-line item.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arg<'a> {
    /// `-x`
    Short(char),
    /// `--name` (its `=value`, if any, comes from `Parser::value`)
    Long(&'a str),
    /// An operand.
    Value(&'a CStr),
}

impl Arg<'_> {
    /// The usage error for an item the program does not take.
    pub fn unexpected(self) -> Error {
        match self {
            Arg::Short(c) => Error::Usage(format!("invalid option -{c}")),
            Arg::Long(n) => Error::Usage(format!("invalid option --{n}")),
            Arg::Value(v) => Error::Usage(format!(
                "unexpected argument {}",
                String::from_utf8_lossy(v.to_bytes())
            )),
        }
    }
}

/// Walks a command line one item at a time.
pub struct Parser<'a> {
    args: &'a [&'a CStr],
    next: usize,
    /// Inside `-abc`: (index of that argument, offset of the next letter).
    cluster: Option<(usize, usize)>,
    /// `--name=value`: the value, waiting for `value()`.
    attached: Option<&'a [u8]>,
    only_values: bool,
    last: Option<Arg<'a>>,
}

impl<'a> Parser<'a> {
    /// A parser over `args` (argv[0] excluded).
    pub fn new(args: &'a [&'a CStr]) -> Parser<'a> {
        Parser {
            args,
            next: 0,
            cluster: None,
            attached: None,
            only_values: false,
            last: None,
        }
    }

    /// The next item, or None at the end. (lexopt's name; it returns a
    /// Result, so it cannot be `Iterator::next`.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Arg<'a>>, Error> {
        if let Some(v) = self.attached.take() {
            let name = match self.last {
                Some(Arg::Long(n)) => n,
                _ => "",
            };
            return Err(Error::Usage(format!(
                "option --{name} takes no value: {}",
                String::from_utf8_lossy(v)
            )));
        }
        if let Some((i, off)) = self.cluster {
            let bytes = self.args[i].to_bytes();
            if let Some(c) = char_at(bytes, off) {
                let end = off + c.len_utf8();
                self.cluster = (end < bytes.len()).then_some((i, end));
                return Ok(Some(self.emit(Arg::Short(c))));
            }
            self.cluster = None;
        }
        let Some(&arg) = self.args.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let bytes = arg.to_bytes();
        if self.only_values || bytes.len() < 2 || bytes[0] != b'-' {
            return Ok(Some(self.emit(Arg::Value(arg))));
        }
        if bytes == b"--" {
            self.only_values = true;
            return self.next();
        }
        if let Some(long) = bytes.strip_prefix(b"--") {
            let (name, value) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                None => (long, None),
            };
            let name =
                core::str::from_utf8(name).map_err(|_| Error::Usage("invalid option".into()))?;
            self.attached = value;
            return Ok(Some(self.emit(Arg::Long(name))));
        }
        self.cluster = Some((self.next - 1, 1));
        self.next()
    }

    fn emit(&mut self, arg: Arg<'a>) -> Arg<'a> {
        self.last = Some(arg);
        arg
    }

    /// The value of the option just returned: the rest of its cluster
    /// (`-T5000`), its `=value`, or the next argument.
    pub fn value(&mut self) -> Result<&'a [u8], Error> {
        if let Some(v) = self.attached.take() {
            return Ok(v);
        }
        if let Some((i, off)) = self.cluster.take() {
            return Ok(&self.args[i].to_bytes()[off..]);
        }
        match self.args.get(self.next) {
            Some(a) => {
                self.next += 1;
                Ok(a.to_bytes())
            }
            None => Err(Error::Usage(match self.last {
                Some(Arg::Short(c)) => format!("missing argument for -{c}"),
                Some(Arg::Long(n)) => format!("missing argument for --{n}"),
                _ => "missing argument".into(),
            })),
        }
    }

    /// Everything not parsed yet, verbatim: `setuidgid USER PROG ARGS...`
    /// stops at its first operand and passes the rest on untouched.
    pub fn rest(&mut self) -> &'a [&'a CStr] {
        let r = &self.args[self.next..];
        self.next = self.args.len();
        r
    }

    /// The operand just returned and everything after it, verbatim: the
    /// `PROG ARGS...` of `softlimit -o 64 prog -x`, whose options end at
    /// its first operand. Empty unless the last item was an operand.
    pub fn command(&mut self) -> &'a [&'a CStr] {
        match self.last {
            // An operand is always the argument just consumed, `--` or not.
            Some(Arg::Value(_)) => {
                let r = &self.args[self.next - 1..];
                self.next = self.args.len();
                r
            }
            _ => &[],
        }
    }
}

fn char_at(bytes: &[u8], off: usize) -> Option<char> {
    let rest = bytes.get(off..)?;
    let len = match rest.first()? {
        b if *b < 0x80 => 1,
        b if *b >= 0xf0 => 4,
        b if *b >= 0xe0 => 3,
        _ => 2,
    };
    core::str::from_utf8(rest.get(..len)?)
        .ok()?
        .chars()
        .next()
        .or(Some('?'))
}

/// The one operand of a program that takes a single directory (supervise,
/// svok, scan) and no options: None when it was left out, a usage error
/// for anything more.
pub fn one_dir(args: &[&CStr]) -> Result<Option<Path>, Error> {
    let mut p = Parser::new(args);
    let mut dir = None;
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Value(v) if dir.is_none() => dir = Some(Path::from(v)),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(dir)
}

/// An operand as UTF-8 text, or a usage error naming `what`.
pub fn text<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Error> {
    core::str::from_utf8(bytes).map_err(|_| Error::Usage(format!("{what} is not valid text")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::ffi::CString;

    #[test]
    fn one_dir_takes_one_operand_and_no_option() {
        let ok = |v: &[&str]| {
            let a = cs(v);
            let r: Vec<&CStr> = a.iter().map(|c| c.as_c_str()).collect();
            one_dir(&r).map(|d| d.map(|d| d.lossy()))
        };
        assert_eq!(ok(&["web"]).unwrap(), Some("web".into()));
        assert_eq!(ok(&[]).unwrap(), None);
        assert!(ok(&["a", "b"]).is_err());
        assert!(ok(&["-x", "a"]).is_err());
    }

    fn cs(v: &[&str]) -> Vec<CString> {
        v.iter().map(|s| CString::new(*s).unwrap()).collect()
    }

    fn all(v: &[&str]) -> Vec<String> {
        let owned = cs(v);
        let refs: Vec<&CStr> = owned.iter().map(|c| c.as_c_str()).collect();
        let mut p = Parser::new(&refs);
        let mut out = Vec::new();
        while let Some(a) = p.next().unwrap() {
            out.push(match a {
                Arg::Short('T') => format!("T={}", String::from_utf8_lossy(p.value().unwrap())),
                Arg::Short(c) => format!("-{c}"),
                Arg::Long(n) => format!("--{n}"),
                Arg::Value(v) => String::from_utf8_lossy(v.to_bytes()).into_owned(),
            });
        }
        out
    }

    #[test]
    fn clusters_split_into_letters() {
        assert_eq!(all(&["-dx", "a"]), ["-d", "-x", "a"]);
    }

    #[test]
    fn option_values_attach_or_follow() {
        assert_eq!(all(&["-T5000", "a"]), ["T=5000", "a"]);
        assert_eq!(all(&["-uT", "5", "a"]), ["-u", "T=5", "a"]);
    }

    #[test]
    fn double_dash_ends_options() {
        assert_eq!(all(&["--", "-d"]), ["-d"]);
        assert_eq!(all(&["-", "--json"]), ["-", "--json"]);
    }

    #[test]
    fn missing_value_is_a_usage_error() {
        let owned = cs(&["-T"]);
        let refs: Vec<&CStr> = owned.iter().map(|c| c.as_c_str()).collect();
        let mut p = Parser::new(&refs);
        assert_eq!(p.next().unwrap(), Some(Arg::Short('T')));
        assert_eq!(
            p.value().unwrap_err(),
            Error::Usage("missing argument for -T".into())
        );
    }

    #[test]
    fn rest_is_verbatim() {
        let owned = cs(&["-s", "user", "prog", "-x"]);
        let refs: Vec<&CStr> = owned.iter().map(|c| c.as_c_str()).collect();
        let mut p = Parser::new(&refs);
        assert_eq!(p.next().unwrap(), Some(Arg::Short('s')));
        assert!(matches!(p.next().unwrap(), Some(Arg::Value(_))));
        assert_eq!(p.rest().len(), 2);
    }

    #[test]
    fn command_starts_at_the_operand_just_returned() {
        let owned = cs(&["-o", "64", "--", "prog", "-x"]);
        let refs: Vec<&CStr> = owned.iter().map(|c| c.as_c_str()).collect();
        let mut p = Parser::new(&refs);
        assert_eq!(p.next().unwrap(), Some(Arg::Short('o')));
        assert_eq!(p.value().unwrap(), b"64");
        assert!(p.command().is_empty(), "no operand yet");
        assert!(matches!(p.next().unwrap(), Some(Arg::Value(_))));
        let cmd: Vec<&[u8]> = p.command().iter().map(|a| a.to_bytes()).collect();
        assert_eq!(cmd, [&b"prog"[..], b"-x"]);
        assert_eq!(p.next().unwrap(), None);
    }
}
