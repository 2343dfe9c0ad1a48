//! scan: supervise every service directory in DIR. See man/scan.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{die, scanner};

const PROG: &str = "scan";
const USAGE: &str = "scan [dir]";

svkit::main!(PROG, run);

fn parse(args: &Args) -> Result<Path, Error> {
    let mut p = Parser::new(args);
    let mut dir = None;
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Value(v) if dir.is_none() => dir = Some(Path::from(v)),
            _ => return Err(arg.unexpected()),
        }
    }
    // daemontools' svscan: the current directory by default.
    Ok(dir.unwrap_or_else(|| Path::from(".")))
}

fn run(args: Args) -> i32 {
    let dir = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match scanner::run::scan(dir) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
