//! supervise: keep one service running. See man/supervise.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::sys::Path;
use svkit::{die, supervisor};

const PROG: &str = "supervise";
const USAGE: &str = "supervise dir [instance]";

const HELP: &str = "\
supervise: keep the service in dir running, obey svc, publish its status.
usage: supervise dir [instance]
  dir        the service directory: run, and optionally finish, down, log/ ...
  instance   run instance K of the pool in dir, its state in dir/instance/K
See man/supervise.8 and man/svkit.7.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn parse(args: &Args) -> Result<(Path, Option<u32>), Error> {
    let mut p = Parser::new(args);
    let (mut dir, mut instance) = (None, None);
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Value(v) if dir.is_none() => dir = Some(Path::from(v)),
            Arg::Value(v) if instance.is_none() => {
                let k = v
                    .to_str()
                    .ok()
                    .and_then(|t| svkit::instances::parse(t).ok());
                let bad = || Error::Usage("instance takes a number from 1 to 1000".into());
                let k = k.filter(|&k| k > 0);
                instance = Some(k.ok_or_else(bad)?);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok((
        dir.ok_or_else(|| Error::Usage("missing dir".into()))?,
        instance,
    ))
}

fn run(args: Args) -> i32 {
    let (dir, instance) = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match supervisor::run::supervise_instance(dir, instance) {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
