//! envdir: run PROG with the variables of DIR set. See man/envdir.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{die, envdir, exec};

const PROG: &str = "envdir";
const USAGE: &str = "envdir dir prog...";

const HELP: &str = "\
envdir: run prog with the environment variables that dir's files name.
usage: envdir dir prog...
  dir        one file per variable: first line is the value, empty file unsets it
  prog...    the program and its arguments, exec'd with the new environment
See man/envdir.8.
";

svkit::main!(PROG, HELP, run);

fn parse(args: &Args) -> Result<(Path, &[&CStr]), Error> {
    let mut p = Parser::new(args);
    match p.next()? {
        // PROG and its arguments are not ours to parse.
        Some(Arg::Value(dir)) => match p.rest() {
            [] => Err(Error::Usage("missing prog".into())),
            prog => Ok((Path::from(dir), prog)),
        },
        Some(arg) => Err(arg.unexpected()),
        None => Err(Error::Usage("missing dir".into())),
    }
}

fn run(args: Args) -> i32 {
    let (dir, prog) = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    let vars = envdir::read(&dir).unwrap_or_else(|e| die::fatal(PROG, &e));
    if let Err(e) = envdir::apply(&vars) {
        die::fatal(PROG, &e)
    }
    die::fatal(PROG, &exec::run(prog))
}
