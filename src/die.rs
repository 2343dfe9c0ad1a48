//! The only code that prints diagnostics, and how a program ends on an
//! error (`fatal`, `usage`). A program ends normally through `main!`,
//! with what its `run` returns; a forked child, with `sys::exit`.
//!
//! Messages have daemontools' form, one write(2) each so that lines from
//! many supervisors sharing scan's stderr never interleave:
//! `NAME: fatal: unable to DO THING: REASON`, `NAME: warning: ...`.

use crate::error::{EXIT_TEMPORARY, EXIT_USAGE, Error};
use crate::sys::{self, fd::Out};
use core::fmt::{Display, Write};

fn say(prog: &str, kind: &str, what: &dyn Display) {
    let mut err = Out::stderr();
    let _ = writeln!(err, "{prog}: {kind}: {what}");
    // Nowhere left to report a failing stderr.
    let _ = err.flush();
}

/// Prints a warning and carries on.
pub fn warn(prog: &str, what: &dyn Display) {
    say(prog, "warning", what);
}

/// Prints the error and exits with its exit code.
pub fn fatal(prog: &str, e: &Error) -> ! {
    say(prog, "fatal", e);
    sys::exit(e.exit_code())
}

/// Prints what is wrong with the command line and the usage line, exit 100.
pub fn usage(prog: &str, usage: &str, e: &Error) -> ! {
    let mut err = Out::stderr();
    let _ = writeln!(err, "{prog}: fatal: {e}");
    let _ = writeln!(err, "{prog}: usage: {usage}");
    let _ = err.flush();
    sys::exit(EXIT_USAGE)
}

/// daemontools' own form of a usage error, for the programs under its
/// names: the problem, if any, as `PROG: PROBLEM` (getopt's `illegal
/// option -- x`), then `PROG: usage: USAGE`; exit 100.
pub fn usage_daemontools(prog: &str, problem: &str, usage: &str) -> ! {
    let mut err = Out::stderr();
    if !problem.is_empty() {
        let _ = writeln!(err, "{prog}: {problem}");
    }
    let _ = writeln!(err, "{prog}: usage: {usage}");
    let _ = err.flush();
    sys::exit(EXIT_USAGE)
}

/// runit's form of a usage error (`sv`, `chpst`): the problem, if any,
/// as `PROG: PROBLEM`, then `usage: USAGE` and an empty line; exit 100.
pub fn runit_usage(prog: &str, problem: &str, usage: &str) -> ! {
    runit_usage_as(prog, problem, usage, EXIT_USAGE)
}

/// `runit_usage` with another exit code (sv as an init script exits 2).
pub fn runit_usage_as(prog: &str, problem: &str, usage: &str, code: i32) -> ! {
    let mut err = Out::stderr();
    if !problem.is_empty() {
        let _ = writeln!(err, "{prog}: {problem}");
    }
    let _ = writeln!(err, "usage: {usage}\n");
    let _ = err.flush();
    sys::exit(code)
}

/// The panic handler of every binary: a bug, reported as a temporary
/// failure so that supervisors retry rather than give up.
pub fn panicked(prog: &str, info: &core::panic::PanicInfo) -> ! {
    say(
        prog,
        "fatal",
        &format_args!("internal error: {}", info.message()),
    );
    sys::exit(EXIT_TEMPORARY)
}

/// Answers `--help` (prints `help`) or `--version` given as the first
/// argument, on stdout, and returns the exit code 0; None for any other
/// command line. Only the first argument counts, so `envdir d prog --help`
/// still runs prog, and svc's `-h` stays SIGHUP.
pub fn help_or_version(prog: &str, help: &str, args: &[&core::ffi::CStr]) -> Option<i32> {
    let mut out = Out::stdout();
    match args.first().map(|a| a.to_bytes()) {
        Some(b"--help") => {
            let _ = writeln!(out, "{}", help.trim_end());
        }
        Some(b"--version") => {
            let _ = writeln!(out, "{prog} (svkit) {}", env!("CARGO_PKG_VERSION"));
        }
        _ => return None,
    }
    Some(match out.flush() {
        Ok(()) => 0,
        Err(_) => EXIT_TEMPORARY,
    })
}
