//! svscanboot: start svscan on the service tree at boot, its messages
//! shown by readproctitle. See man/svscanboot.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{self, Args};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{boot, die};

const PROG: &str = "svscanboot";
const USAGE: &str = "svscanboot [dir]";

const HELP: &str = "\
svscanboot: run svscan dir (default /service) piped into readproctitle.
usage: svscanboot [dir]
See man/svscanboot.8.
";

svkit::main!(PROG, HELP, run);

fn parse(args: &Args) -> Result<Path, Error> {
    Ok(args::one_dir(args)?.unwrap_or_else(|| Path::from("/service")))
}

fn run(args: Args) -> i32 {
    let dir = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match boot::run(&dir) {
        Ok(never) => match never {},
        Err(e) => die::fatal(PROG, &e),
    }
}
