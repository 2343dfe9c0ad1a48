//! envuidgid: run PROG with UID and GID set to ACCOUNT's ids. See
//! man/envuidgid.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use svkit::account::{self, Spec};
use svkit::args::Args;
use svkit::{die, exec};

const PROG: &str = "envuidgid";
const USAGE: &str = "envuidgid account child";

const HELP: &str = "\
envuidgid: run child with $UID and $GID set to account's uid and gid.
usage: envuidgid account child
See man/envuidgid.8.
";

svkit::main!(PROG, HELP, run);

/// daemontools' envuidgid parses no options: the first argument is the
/// account, whatever it looks like, and the rest the child.
fn parse(args: &Args) -> Option<(Spec<'_>, &[&CStr])> {
    match &args[..] {
        [account, child @ ..] if !child.is_empty() => Some((Spec::Name(account), child)),
        _ => None,
    }
}

fn run(args: Args) -> i32 {
    let (spec, prog) = parse(&args).unwrap_or_else(|| die::usage_daemontools(PROG, "", USAGE));
    let account = account::lookup(spec, false).unwrap_or_else(|e| die::fatal(PROG, &e));
    if let Err(e) = account::export(&account) {
        die::fatal(PROG, &e)
    }
    die::fatal(PROG, &exec::run(prog))
}
