//! File names as the kernel sees them: bytes, NUL-terminated for syscalls,
//! shown lossily as UTF-8 in messages.

use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::CStr;
use core::fmt;

/// An owned path: any bytes but NUL.
#[derive(Clone, PartialEq, Eq, Debug, PartialOrd, Ord, Hash)]
pub struct Path(CString);

impl Path {
    /// A path from bytes; an interior NUL (impossible from argv or a
    /// directory listing) is cut off there.
    pub fn new(bytes: &[u8]) -> Path {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        // Cannot fail: the bytes up to `end` hold no NUL.
        Path(CString::new(&bytes[..end]).unwrap_or_default())
    }

    /// `self/name`, without doubling a trailing slash.
    pub fn join(&self, name: impl AsRef<[u8]>) -> Path {
        let mut v: Vec<u8> = self.0.as_bytes().to_vec();
        if !v.is_empty() && v.last() != Some(&b'/') {
            v.push(b'/');
        }
        v.extend_from_slice(name.as_ref());
        Path::new(&v)
    }

    /// The bytes, without the terminating NUL.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// For handing to a syscall.
    pub fn as_cstr(&self) -> &CStr {
        &self.0
    }

    /// The last component ("web" for "/service/web/"), or the whole path
    /// when it has no slash.
    pub fn file_name(&self) -> &[u8] {
        let b = self.as_bytes();
        let b = b.strip_suffix(b"/").unwrap_or(b);
        match b.iter().rposition(|&c| c == b'/') {
            Some(i) => &b[i + 1..],
            None => b,
        }
    }

    /// The path as text for messages and JSON.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl From<&str> for Path {
    fn from(s: &str) -> Path {
        Path::new(s.as_bytes())
    }
}

impl From<&CStr> for Path {
    fn from(s: &CStr) -> Path {
        Path(s.into())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_adds_one_slash() {
        assert_eq!(Path::from("a").join("b").as_bytes(), b"a/b");
        assert_eq!(Path::from("a/").join("b").as_bytes(), b"a/b");
        assert_eq!(Path::from("").join("b").as_bytes(), b"b");
    }

    #[test]
    fn file_name_ignores_a_trailing_slash() {
        assert_eq!(Path::from("/service/web/").file_name(), b"web");
        assert_eq!(Path::from("web").file_name(), b"web");
    }
}
