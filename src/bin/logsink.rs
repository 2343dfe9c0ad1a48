//! logsink: store lines from stdin in rotated log directories, as
//! multilog does. See man/logsink.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use svkit::args::Args;
use svkit::die;
use svkit::logsink::{self, PROG, script};

const USAGE: &str = "logsink script";

const HELP: &str = "\
logsink: store the lines read on stdin in rotated log directories (multilog's script).
usage: logsink script...
  t          prefix each line with a TAI64N label
  T          prefix each line with an ISO 8601 UTC time
  sSIZE      rotate current when it reaches SIZE bytes
  nNUM       keep NUM rotated files
  !PROC      pipe each rotated file through PROC
  +PAT -PAT  select or deselect lines matching PAT
  e          copy selected lines to stderr
  =FILE      keep the last selected line in FILE
  ./dir /dir store selected lines in the log directory dir
See man/logsink.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn run(args: Args) -> i32 {
    // The script is multilog's: every argument is an action, including
    // ones that start with '-', so there is no option parsing.
    let actions: alloc::vec::Vec<&[u8]> = args.iter().map(|a| a.to_bytes()).collect();
    let script = script::parse_required(&actions).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match logsink::run(script) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
