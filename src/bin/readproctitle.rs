//! readproctitle: show the tail of stdin in the process title. See
//! man/readproctitle.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::Args;
use svkit::error::EXIT_USAGE;
use svkit::{die, proctitle, sys};

const PROG: &str = "readproctitle";

const HELP: &str = "\
readproctitle: scroll what stdin brings through the last argument, for ps to show.
usage: readproctitle io_ ...
  the last argument (at least 5 bytes; the first 4 stay) is overwritten
See man/readproctitle.8.
";

svkit::main!(PROG, HELP, run);

fn run(args: Args) -> i32 {
    // daemontools' readproctitle exits 100 without a word when it has no
    // argument or the last is too short to show anything.
    let Some(&last) = args.last().filter(|a| a.to_bytes().len() >= 5) else {
        sys::exit(EXIT_USAGE)
    };
    // SAFETY: `last` is one of our argv strings, and nothing else reads
    // the arguments from here on.
    match unsafe { proctitle::run(last) } {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
