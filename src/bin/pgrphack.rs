//! pgrphack: run CHILD in a new session and process group. See
//! man/pgrphack.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{Arg, Args, Parser};
use svkit::error::{Doing, Error};
use svkit::sys::shape;
use svkit::{die, exec};

const PROG: &str = "pgrphack";
const USAGE: &str = "pgrphack child";

const HELP: &str = "\
pgrphack: run child as the leader of a new session and process group.
usage: pgrphack child
See man/pgrphack.8.
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
    // daemontools ignores a failing setsid: a process that already leads
    // its group (EPERM) is as good as a new one for the child.
    let _ = shape::setsid().doing(|| "setsid".into());
    die::fatal(PROG, &exec::run(prog))
}
