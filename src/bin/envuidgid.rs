//! envuidgid: run PROG with UID and GID set to ACCOUNT's ids. See
//! man/envuidgid.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use svkit::account::{self, Spec};
use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::{die, exec};

const PROG: &str = "envuidgid";
const USAGE: &str = "envuidgid account child";

const HELP: &str = "\
envuidgid: run child with $UID and $GID set to account's uid and gid.
usage: envuidgid account child
See man/envuidgid.8.
";

svkit::main!(PROG, HELP, run);

fn parse(args: &Args) -> Result<(Spec<'_>, &[&CStr]), Error> {
    let mut p = Parser::new(args);
    match p.next()? {
        // The child and its arguments are not ours to parse.
        Some(Arg::Value(account)) => match p.rest() {
            [] => Err(Error::Usage("missing child".into())),
            prog => Ok((Spec::Name(account), prog)),
        },
        Some(arg) => Err(arg.unexpected()),
        None => Err(Error::Usage("missing account".into())),
    }
}

fn run(args: Args) -> i32 {
    let (spec, prog) = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    let account = account::lookup(spec, false).unwrap_or_else(|e| die::fatal(PROG, &e));
    if let Err(e) = account::export(&account) {
        die::fatal(PROG, &e)
    }
    die::fatal(PROG, &exec::run(prog))
}
