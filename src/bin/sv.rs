//! sv: runit's service control by name. See man/sv.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::ffi::CStr;
use svkit::args::{Arg, Args, Parser};
use svkit::die;
use svkit::sv::{self, Plan, Sv};

const PROG: &str = "sv";
const USAGE: &str = "sv [-v] [-w sec] command service ...";

const HELP: &str = "\
sv: control and report services by name, as runit's sv.
usage: sv [-v] [-w sec] command service ...
  command    status up down once pause cont hup alarm interrupt quit 1 2 term kill exit
             start stop restart reload shutdown try-restart check force-stop
             force-reload force-restart force-shutdown
  -v         wait (up to 7 s, or $SVWAIT) for the command to take effect
  -w sec     wait up to sec seconds (and imply -v)
  service    a directory, or a name in $SVDIR (default /service)
See man/sv.8.
";

svkit::main!(PROG, HELP, run);

struct Command<'a> {
    plan: Plan,
    lsb: bool,
    wait: Option<u64>,
    services: &'a [&'a CStr],
}

/// The command line; `name` is what sv was called by, and any other name
/// than sv makes it an init script for the service of that name in
/// SVDIR, as runit's sv.
fn parse<'a>(args: &'a Args, name: &'a &'static CStr) -> Result<Command<'a>, String> {
    let lsb = name.to_bytes() != b"sv";
    let mut p = Parser::new(args);
    let (mut verbose, mut wait) = (false, None);
    let action = loop {
        match p.next().map_err(|_| String::new())? {
            Some(Arg::Short('v')) => verbose = true,
            // runit's -w falls through to -v: a wait implies verbose.
            Some(Arg::Short('w')) => {
                let v = p
                    .value()
                    .map_err(|_| String::from("option requires an argument -- w"))?;
                wait = Some(sv::lenient(v));
                verbose = true;
            }
            Some(Arg::Short('V')) => {
                return Err(format!("version svkit {}", env!("CARGO_PKG_VERSION")));
            }
            Some(Arg::Short(c)) => return Err(format!("illegal option -- {c}")),
            Some(Arg::Long(_)) => return Err("illegal option -- -".into()),
            Some(Arg::Value(a)) => break a,
            None => return Err(String::new()),
        }
    };
    let plan = sv::plan(action.to_bytes(), verbose, lsb).ok_or_else(String::new)?;
    let services = if lsb {
        core::slice::from_ref(name)
    } else {
        p.rest()
    };
    match services {
        [] => Err(String::new()),
        services => Ok(Command {
            plan,
            lsb,
            wait,
            services,
        }),
    }
}

fn run(args: Args) -> i32 {
    let name: &'static CStr = svkit::sys::program::invoked_name();
    let cmd = parse(&args, &name).unwrap_or_else(|problem| {
        if name.to_bytes() == b"sv" {
            die::runit_usage(PROG, &problem, USAGE)
        } else {
            // As an init script: runit's shorter usage line, exit 2.
            let shown = name.to_string_lossy();
            die::runit_usage_as(&shown, &problem, &format!("{shown} [-w sec] command"), 2)
        }
    });
    match Sv::new(cmd.plan, cmd.lsb, cmd.wait, cmd.services) {
        Ok(sv) => sv.run(),
        // runit's sv: a fatal error exits 100 (151 as an init script).
        Err(e) => die::fatal(PROG, &svkit::error::Error::Usage(format!("{e}"))),
    }
}
