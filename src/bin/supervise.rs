//! supervise: keep one service running. See man/supervise.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{self, Args};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{die, supervisor};

const PROG: &str = "supervise";
const USAGE: &str = "supervise dir";

const HELP: &str = "\
supervise: keep the service in dir running, obey svc, publish its status.
usage: supervise dir
  dir        the service directory: run, and optionally finish, down, log/ ...
See man/supervise.8 and man/svkit.7.
";

svkit::main!(PROG, HELP, run);

// supervise runs without the C library: see src/nolibc.rs and build.rs.
#[cfg(all(not(test), target_arch = "x86_64", target_os = "linux"))]
#[path = "../nolibc.rs"]
mod nolibc;

fn parse(args: &Args) -> Result<Path, Error> {
    args::one_dir(args)?.ok_or_else(|| Error::Usage("missing dir".into()))
}

fn run(args: Args) -> i32 {
    let dir = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match supervisor::run::supervise(dir) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
