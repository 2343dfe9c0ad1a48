//! pgrphack: run CHILD in a new session and process group. See
//! man/pgrphack.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::Args;
use svkit::error::Doing;
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

/// daemontools' pgrphack parses no options: every argument is the
/// child's command line.
fn parse(args: &Args) -> Option<&[&core::ffi::CStr]> {
    (!args.is_empty()).then_some(&args[..])
}

fn run(args: Args) -> i32 {
    let prog = parse(&args).unwrap_or_else(|| die::usage_daemontools(PROG, "", USAGE));
    // daemontools ignores a failing setsid: a process that already leads
    // its group (EPERM) is as good as a new one for the child.
    let _ = shape::setsid().doing(|| "setsid".into());
    die::fatal(PROG, &exec::run(prog))
}
