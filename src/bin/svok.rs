//! svok: exit 0 when a supervise is running on DIR. See man/svok.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{self, Args};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{control, die};

const PROG: &str = "svok";
const USAGE: &str = "svok dir";

const HELP: &str = "\
svok: exit 0 when a supervise is running on dir, 100 when none is.
usage: svok dir
See man/svok.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn parse(args: &Args) -> Result<Path, Error> {
    args::one_dir(args)?.ok_or_else(|| Error::Usage("missing dir".into()))
}

fn run(args: Args) -> i32 {
    let dir = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    // A pool (dir/instances) is supervised when every instance is.
    let (count, dirs) = svkit::instances::expand(&dir);
    let pool = count != svkit::instances::Count::Absent;
    for d in &dirs {
        // An instance never started has no directory yet.
        if pool && !svkit::sys::fs::exists(d) {
            return 100;
        }
        match control::is_supervised(d) {
            Ok(true) => {}
            Ok(false) => return 100,
            Err(e) => die::fatal(PROG, &e),
        }
    }
    0
}
