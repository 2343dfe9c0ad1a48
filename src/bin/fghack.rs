//! fghack: keep a program that puts itself in the background in the
//! foreground. See man/fghack.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::Args;
use svkit::{die, foreground};

const PROG: &str = "fghack";
const USAGE: &str = "fghack child";

const HELP: &str = "\
fghack: run child and wait until it and every process it forked have exited.
usage: fghack child
See man/fghack.8.
";

svkit::main!(PROG, HELP, run);

/// daemontools' fghack parses no options: every argument is the
/// child's command line.
fn parse(args: &Args) -> Option<&[&core::ffi::CStr]> {
    (!args.is_empty()).then_some(&args[..])
}

fn run(args: Args) -> i32 {
    let prog = parse(&args).unwrap_or_else(|| die::usage_daemontools(PROG, "", USAGE));
    foreground::run(PROG, prog).unwrap_or_else(|e| die::fatal(PROG, &e))
}
