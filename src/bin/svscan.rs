//! svscan: daemontools' name for scan. See man/svscan.8 and
//! man/scan.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::Args;
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{die, scanner};

const PROG: &str = "svscan";
const USAGE: &str = "svscan [dir]";

const HELP: &str = "\
svscan: supervise every service directory in dir, with their log pipes (as scan).
usage: svscan [dir]
  dir        the service tree (default: the current directory)
See man/svscan.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn parse(args: &Args) -> Result<Path, Error> {
    // daemontools' svscan takes its first argument as the directory,
    // whatever it looks like, and ignores the rest.
    Ok(args
        .first()
        .map_or_else(|| Path::from("."), |a| Path::from(*a)))
}

fn run(args: Args) -> i32 {
    let dir = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    scanner::run::call_svscan();
    match scanner::run::scan(dir) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
