//! tai64n: put a TAI64N label in front of every line. See
//! man/tai64n.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::Args;
use svkit::{die, tai64n};

const PROG: &str = "tai64n";

const HELP: &str = "\
tai64n: copy stdin to stdout, each line prefixed with @, its TAI64N label and a space.
usage: tai64n < input
See man/tai64n.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn run(_args: Args) -> i32 {
    // daemontools' tai64n ignores its arguments.
    match tai64n::run() {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
