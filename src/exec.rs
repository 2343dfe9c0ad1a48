//! Handing the process over to the next program of a run script's chain
//! (`envdir ./env setuidgid app softlimit -o 4096 ./server`).

use crate::error::{Error, Reason};
use crate::sys::process;
use alloc::format;
use alloc::string::String;
use core::ffi::CStr;

/// Execs `argv[0]` (searched on PATH as the shell would) with `argv`, in
/// this process's current environment. Returns only on failure, with the
/// error to report: `unable to run PROG: REASON`.
pub fn run(argv: &[&CStr]) -> Error {
    let Some(prog) = argv.first() else {
        return Error::Usage("missing prog".into());
    };
    let errno = process::exec(prog, argv);
    Error::Sys {
        doing: format!("run {}", String::from_utf8_lossy(prog.to_bytes())),
        reason: Reason::Errno(errno),
    }
}
