//! setuidgid: run PROG as ACCOUNT, with root's privileges gone for good.
//! See man/setuidgid.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use core::ffi::CStr;
use svkit::account::{self, Spec};
use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::{die, exec};

const PROG: &str = "setuidgid";
const USAGE: &str = "setuidgid [-s] account prog...";

const HELP: &str = "\
setuidgid: run prog as account, with root's privileges dropped.
usage: setuidgid [-s] account prog...
  -s         keep the account's supplementary groups
  account    user name whose uid and gid prog runs with
See man/setuidgid.8.
";

svkit::main!(PROG, HELP, run);

struct Command<'a> {
    all_groups: bool,
    account: Spec<'a>,
    prog: &'a [&'a CStr],
}

fn parse(args: &Args) -> Result<Command<'_>, Error> {
    let mut p = Parser::new(args);
    let mut all_groups = false;
    loop {
        match p.next()? {
            Some(Arg::Short('s')) => all_groups = true,
            // PROG and its arguments are not ours to parse.
            Some(Arg::Value(account)) => {
                let account = Spec::parse(account)?;
                let prog = p.rest();
                if prog.is_empty() {
                    return Err(Error::Usage("missing prog".into()));
                }
                return Ok(Command {
                    all_groups,
                    account,
                    prog,
                });
            }
            Some(arg) => return Err(arg.unexpected()),
            None => return Err(Error::Usage("missing account".into())),
        }
    }
}

fn run(args: Args) -> i32 {
    let cmd = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    // Every failure before the exec is fatal: PROG must never run with the
    // privileges it was meant to lose.
    let account =
        account::lookup(cmd.account, cmd.all_groups).unwrap_or_else(|e| die::fatal(PROG, &e));
    if let Err(e) = account::assume(&account) {
        die::fatal(PROG, &e)
    }
    die::fatal(PROG, &exec::run(cmd.prog))
}
