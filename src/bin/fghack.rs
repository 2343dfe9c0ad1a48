//! fghack: keep a program that puts itself in the background in the
//! foreground. See man/fghack.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::{die, foreground};

const PROG: &str = "fghack";
const USAGE: &str = "fghack child";

const HELP: &str = "\
fghack: run child and wait until it and every process it forked have exited.
usage: fghack child
See man/fghack.8.
";

svkit::main!(PROG, HELP, run);

fn parse(args: &Args) -> Result<&[&core::ffi::CStr], Error> {
    let mut p = Parser::new(args);
    match p.next()? {
        Some(Arg::Value(_)) => Ok(p.command()),
        Some(arg) => Err(arg.unexpected()),
        None => Err(Error::Usage("missing child".into())),
    }
}

fn run(args: Args) -> i32 {
    let prog = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    foreground::run(PROG, prog).unwrap_or_else(|e| die::fatal(PROG, &e))
}
