//! multilog: daemontools' logger, as svkit's logsink with multilog's
//! reading of the script. See man/multilog.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use svkit::args::Args;
use svkit::die;
use svkit::logsink::{self, multilog, script};

const PROG: &str = "multilog";

const HELP: &str = "\
multilog: store the lines read on stdin in rotated log directories.
usage: multilog script...
  t          first action: prefix each line with a TAI64N label
  sSIZE nNUM !PROC   rotation size, files kept, processor for what follows
  +PAT -PAT  select or deselect lines matching PAT
  e          copy selected lines to stderr
  =FILE      keep the last selected line in FILE
  ./dir /dir store selected lines in the log directory dir
Actions multilog does not know are ignored; logsink has the extensions.
See man/multilog.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn run(args: Args) -> i32 {
    // Every argument is an action, as for multilog: no option parsing, and
    // no usage error (multilog ignores what it does not know).
    let actions: alloc::vec::Vec<&[u8]> = args.iter().map(|a| a.to_bytes()).collect();
    logsink::call_multilog();
    match multilog::run(script::parse_multilog(&actions)) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
