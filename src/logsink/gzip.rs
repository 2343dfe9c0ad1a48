//! `z`: rotated files gzipped in a child process, so compressing 16 MB
//! never holds up the lines arriving meanwhile. The deflate coder is
//! miniz_oxide's (no_std + alloc); the gzip framing (RFC 1952) and its
//! CRC-32 are here.

use crate::die;
use crate::error::{Doing, Error};
use crate::sys::dir::{Dir, fchmod};
use crate::sys::fork::{close_all_but, fork};
use crate::sys::{self, Path};
use alloc::boxed::Box;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
};

/// CRC-32 (IEEE, reflected), one table lookup per byte.
const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// A gzip member being written: header, raw deflate, CRC and length.
pub struct Gzip {
    coder: Box<CompressorOxide>,
    crc: u32,
    len: u32,
    chunk: Vec<u8>,
}

impl Default for Gzip {
    fn default() -> Self {
        Self::new()
    }
}

impl Gzip {
    /// A new member; its header goes out with the first `push`.
    pub fn new() -> Gzip {
        // Level 6, gzip's default; negative window bits: raw deflate,
        // since gzip has its own framing instead of zlib's.
        let flags = create_comp_flags_from_zip_params(6, -15, 0);
        Gzip {
            coder: Box::new(CompressorOxide::new(flags)),
            crc: !0,
            len: 0,
            chunk: vec![0; 64 * 1024],
        }
    }

    /// The 10-byte header: deflate, no name, no time, Unix.
    pub fn header() -> [u8; 10] {
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
    }

    fn run(&mut self, mut input: &[u8], flush: TDEFLFlush, out: &mut Vec<u8>) {
        loop {
            let (status, used, made) = compress(&mut self.coder, input, &mut self.chunk, flush);
            out.extend_from_slice(&self.chunk[..made]);
            input = &input[used..];
            let done = match flush {
                TDEFLFlush::Finish => status == TDEFLStatus::Done,
                _ => input.is_empty() && made < self.chunk.len(),
            };
            // BadParam or PutBufFailed cannot happen with a buffer this
            // size and a coder used only here; stop rather than spin.
            if done || (status as i32) < 0 {
                return;
            }
        }
    }

    /// Compresses `input`, appending to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.crc = CRC_TABLE[((self.crc ^ b as u32) & 0xff) as usize] ^ (self.crc >> 8);
        }
        self.len = self.len.wrapping_add(input.len() as u32);
        self.run(input, TDEFLFlush::None, out);
    }

    /// Ends the member: the rest of the deflate stream, CRC-32, length.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.run(&[], TDEFLFlush::Finish, out);
        out.extend_from_slice(&(!self.crc).to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
    }
}

/// The whole gzip file for `input`.
pub fn encode(input: &[u8]) -> Vec<u8> {
    let mut out = Gzip::header().to_vec();
    let mut g = Gzip::new();
    g.push(input, &mut out);
    g.finish(&mut out);
    out
}

/// Writes `dir/old.gz` from `dir/old` through a temporary name, synced,
/// then removes `old`: at every moment one complete copy exists.
fn compress_file(dir: &Dir, old: &Path) -> Result<(), Error> {
    let gz = Path::new(&[old.as_bytes(), b".gz"].concat());
    // Not starting with '@', so never counted or pruned as an old file.
    let tmp = Path::new(&[b"gzip-", old.as_bytes()].concat());
    let src = dir
        .open_file(old, libc::O_RDONLY, 0)
        .doing(|| format!("read {old}"))?;
    let dst = dir
        .open_file(&tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644)
        .doing(|| format!("create {tmp}"))?;
    let mut g = Gzip::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut out = Gzip::header().to_vec();
    loop {
        let n = src.read(&mut buf).doing(|| format!("read {old}"))?;
        if n == 0 {
            break;
        }
        g.push(&buf[..n], &mut out);
        dst.write_all(&out).doing(|| format!("write {tmp}"))?;
        out.clear();
    }
    g.finish(&mut out);
    dst.write_all(&out).doing(|| format!("write {tmp}"))?;
    dst.sync().doing(|| format!("write {tmp} to disk"))?;
    fchmod(&dst, 0o744).doing(|| format!("set mode of {tmp}"))?;
    dir.rename(&tmp, &gz)
        .doing(|| format!("rename {tmp} to {gz}"))?;
    dir.unlink(old).doing(|| format!("remove {old}"))
}

/// Starts a child that gzips each of `olds` in `dir` (named `name` in
/// messages), one after the other. A failure leaves that file as it is,
/// uncompressed: nothing is lost.
pub fn spawn(dir: &Dir, name: &Path, olds: &[Path]) {
    // Children of earlier rotations that have finished.
    while sys::process::reap().is_some() {}
    match fork() {
        Ok(Some(_)) => {}
        Ok(None) => {
            // Above all the lock: a logsink started while this child works
            // must be able to take it.
            close_all_but(dir.fd().raw());
            let mut code = 0;
            for old in olds {
                if let Err(e) = compress_file(dir, old) {
                    let _ = dir.remove(&Path::new(&[b"gzip-", old.as_bytes()].concat()));
                    die::warn(super::name(), &format_args!("{e} in {name}"));
                    code = 111;
                }
            }
            sys::exit(code)
        }
        Err(e) => die::warn(
            super::name(),
            &format_args!("unable to fork to gzip files in {name}: {e}"),
        ),
    }
}

/// What an interrupted earlier run left: (temporary files to remove, old
/// `.s` files still to gzip), from a directory listing.
pub fn leftovers(names: &[Vec<u8>]) -> (Vec<Path>, Vec<Path>) {
    let stale = names
        .iter()
        .filter(|n| n.starts_with(b"gzip-"))
        .map(|n| Path::new(n))
        .collect();
    let mut todo: Vec<Path> = names
        .iter()
        .filter(|n| n.first() == Some(&b'@') && n.len() == 27 && n.ends_with(b".s"))
        .filter(|n| !names.contains(&[n.as_slice(), b".gz"].concat()))
        .map(|n| Path::new(n))
        .collect();
    todo.sort();
    (stale, todo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::decompress_to_vec;
    use proptest::prelude::*;

    fn crc(b: &[u8]) -> u32 {
        let mut g = Gzip::new();
        let mut out = Vec::new();
        g.push(b, &mut out);
        !g.crc
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn leftovers_are_temporaries_and_uncompressed_old_files() {
        let names: Vec<Vec<u8>> = [
            "gzip-@400000006b0f6ca213a4c6e5.s",
            "@400000006b0f6ca213a4c6e5.s",
            "@400000006b0f6ca213a4c6e6.s",
            "@400000006b0f6ca213a4c6e6.s.gz",
            "@400000006b0f6ca213a4c6e7.u",
            "current",
        ]
        .iter()
        .map(|n| n.as_bytes().to_vec())
        .collect();
        let (stale, todo) = leftovers(&names);
        assert_eq!(stale, [Path::from("gzip-@400000006b0f6ca213a4c6e5.s")]);
        assert_eq!(todo, [Path::from("@400000006b0f6ca213a4c6e5.s")]);
    }

    #[test]
    fn framing_is_rfc_1952() {
        let gz = encode(b"hello\n");
        assert_eq!(gz[..3], [0x1f, 0x8b, 8]);
        let n = gz.len();
        assert_eq!(gz[n - 4..], 6u32.to_le_bytes());
        assert_eq!(gz[n - 8..n - 4], crc(b"hello\n").to_le_bytes());
    }

    proptest! {
        #[test]
        fn deflate_round_trips(v: Vec<u8>, cut in 0usize..4096) {
            let mut out = Gzip::header().to_vec();
            let mut g = Gzip::new();
            let cut = cut.min(v.len());
            g.push(&v[..cut], &mut out);
            g.push(&v[cut..], &mut out);
            g.finish(&mut out);
            let body = &out[10..out.len() - 8];
            prop_assert_eq!(decompress_to_vec(body).unwrap(), v);
        }
    }
}
