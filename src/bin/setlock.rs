//! setlock: run PROG holding a lock on FILE. See man/setlock.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use core::ffi::CStr;
use svkit::args::{Arg, Args, Parser};
use svkit::sys::{self, Path};
use svkit::{die, exec, lock};

const PROG: &str = "setlock";
const USAGE: &str = "setlock [ -nNxX ] file program [ arg ... ]";

const HELP: &str = "\
setlock: open file, lock it, and run program holding the lock.
usage: setlock [ -nNxX ] file program [ arg ... ]
  -n         fail at once if the lock is held     -N  wait for it (default)
  -x         exit 0 quietly if file cannot be opened or locked
  -X         report that and exit 111 (default)
See man/setlock.8.
";

svkit::main!(PROG, HELP, run);

struct Command<'a> {
    wait: bool,
    quiet: bool,
    file: Path,
    prog: &'a [&'a CStr],
}

/// The line daemontools' setlock prints before its usage line, if any.
struct Refused(&'static str, Option<char>);

fn parse(args: &Args) -> Result<Command<'_>, Refused> {
    let mut p = Parser::new(args);
    let (mut wait, mut quiet) = (true, false);
    loop {
        match p.next().map_err(|_| Refused("", None))? {
            Some(Arg::Short('n')) => wait = false,
            Some(Arg::Short('N')) => wait = true,
            Some(Arg::Short('x')) => quiet = true,
            Some(Arg::Short('X')) => quiet = false,
            // PROG and its arguments are not ours to parse.
            Some(Arg::Value(file)) => {
                return match p.rest() {
                    [] => Err(Refused("", None)),
                    prog => Ok(Command {
                        wait,
                        quiet,
                        file: Path::from(file),
                        prog,
                    }),
                };
            }
            Some(Arg::Short(c)) => return Err(Refused("illegal option -- ", Some(c))),
            Some(_) => return Err(Refused("illegal option -- ", Some('-'))),
            None => return Err(Refused("", None)),
        }
    }
}

fn run(args: Args) -> i32 {
    let cmd = parse(&args).unwrap_or_else(|Refused(text, c)| {
        let problem = alloc::format!(
            "{text}{}",
            c.map(alloc::string::String::from).unwrap_or_default()
        );
        die::usage_daemontools(PROG, &problem, USAGE)
    });
    match lock::take(&cmd.file, cmd.wait) {
        // The lock lives in the descriptor, which the program inherits.
        Ok(fd) => core::mem::forget(fd),
        Err(_) if cmd.quiet => sys::exit(0),
        Err(e) => die::fatal(PROG, &e),
    }
    die::fatal(PROG, &exec::run(cmd.prog))
}
