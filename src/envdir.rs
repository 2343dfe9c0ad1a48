//! envdir's directory of variables: each file sets the variable it is
//! named after to its first line, or removes it when empty.
//! See man/envdir.8.

use crate::error::{Doing, Error};
use crate::sys::{Path, env, fs};
use alloc::ffi::CString;
use alloc::format;
use alloc::vec::Vec;

/// One file's effect on the environment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Var {
    pub name: CString,
    /// None removes the variable.
    pub value: Option<CString>,
}

/// The value a file holding `content` (or at least its first line) gives
/// its variable, as daemontools computes it: None for an empty file;
/// otherwise the first line without its trailing spaces and tabs, NULs
/// turned into newlines.
pub fn value(content: &[u8]) -> Option<CString> {
    if content.is_empty() {
        return None;
    }
    let line = match content.iter().position(|&b| b == b'\n') {
        Some(end) => &content[..end],
        None => content,
    };
    let keep = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |last| last + 1);
    let bytes: Vec<u8> = line[..keep]
        .iter()
        .map(|&b| if b == 0 { b'\n' } else { b })
        .collect();
    // No NUL is left in `bytes`, so this cannot fail.
    CString::new(bytes).ok()
}

/// Reads every variable of `dir`, in name order. Names starting with `.`
/// are skipped, as daemontools does; a name with `=` is an error, since it
/// would set a different variable than the file says.
pub fn read(dir: &Path) -> Result<Vec<Var>, Error> {
    let mut names = fs::list_dir(dir).doing(|| format!("read {dir}"))?;
    names.sort();
    let mut vars = Vec::new();
    for name in names.into_iter().filter(|n| !n.starts_with(b".")) {
        let path = dir.join(&name);
        if name.contains(&b'=') {
            return Err(Error::Trouble(format!(
                "bad variable name {path}: contains ="
            )));
        }
        let content = first_line(&path).doing(|| format!("read {path}"))?;
        vars.push(Var {
            // list_dir's names hold no NUL, so this cannot fail.
            name: CString::new(name).unwrap_or_default(),
            value: value(&content),
        });
    }
    Ok(vars)
}

/// The start of a file, up to and including its first newline: a value is
/// one line, however big the rest of the file is.
fn first_line(path: &Path) -> crate::sys::Result<Vec<u8>> {
    let fd = fs::open(path, libc::O_RDONLY, 0)?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match fd.read(&mut chunk)? {
            0 => return Ok(out),
            n => {
                out.extend_from_slice(&chunk[..n]);
                if chunk[..n].contains(&b'\n') {
                    return Ok(out);
                }
            }
        }
    }
}

/// Sets and removes the variables in this process's environment, which
/// the program exec'd next inherits.
pub fn apply(vars: &[Var]) -> Result<(), Error> {
    for var in vars {
        let shown = || format!("set {}", var.name.to_string_lossy());
        match &var.value {
            Some(v) => env::set(&var.name, v).doing(shown)?,
            None => env::unset(&var.name).doing(shown)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &[u8]) -> Option<Vec<u8>> {
        value(s).map(|c| c.into_bytes())
    }

    #[test]
    fn an_empty_file_removes_the_variable() {
        assert_eq!(v(b""), None);
    }

    #[test]
    fn the_value_is_the_first_line_without_trailing_blanks() {
        assert_eq!(v(b"x"), Some(b"x".to_vec()));
        assert_eq!(v(b"a b \t \nsecond\n"), Some(b"a b".to_vec()));
        assert_eq!(v(b" lead\n"), Some(b" lead".to_vec()));
        assert_eq!(v(b"\n"), Some(b"".to_vec()), "an empty line sets ''");
        assert_eq!(v(b"  \t"), Some(b"".to_vec()));
    }

    #[test]
    fn nuls_become_newlines_after_trimming() {
        assert_eq!(v(b"a\0b\n"), Some(b"a\nb".to_vec()));
        // daemontools trims before turning NULs into newlines, so a
        // trailing NUL stops the trimming and survives as a newline.
        assert_eq!(v(b"a \0 \n"), Some(b"a \n".to_vec()));
    }

    proptest! {
        #[test]
        fn a_value_is_the_first_line_trimmed(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(c) = value(&bytes) {
                let b = c.as_bytes();
                prop_assert!(!b.ends_with(b" ") && !b.ends_with(b"\t"));
                let line: Vec<u8> = bytes
                    .iter()
                    .take_while(|&&x| x != b'\n')
                    .map(|&x| if x == 0 { b'\n' } else { x })
                    .collect();
                prop_assert!(line.starts_with(b), "the value comes from the first line");
            }
        }
    }
}
