//! scan: supervise every service directory in DIR. See man/scan.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{self, Args};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{die, scanner};

const PROG: &str = "scan";
const USAGE: &str = "scan [dir]";

const HELP: &str = "\
scan: supervise every service directory in dir, with their log pipes.
usage: scan [dir]
  dir        the service tree (default: the current directory)
SIGTERM or SIGINT brings every service down, then its logger, and exits 0.
See man/scan.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn parse(args: &Args) -> Result<Path, Error> {
    // daemontools' svscan: the current directory by default.
    Ok(args::one_dir(args)?.unwrap_or_else(|| Path::from(".")))
}

fn run(args: Args) -> i32 {
    let dir = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match scanner::run::scan(dir) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
