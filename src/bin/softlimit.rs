//! softlimit: run PROG with lower soft resource limits. See
//! man/softlimit.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use core::ffi::CStr;
use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::limits::{self, Want};
use svkit::sys::limits::Resource;
use svkit::{die, exec};

const PROG: &str = "softlimit";
const USAGE: &str = "softlimit [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] \
                     [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] \
                     [-r residentbytes] [-s stackbytes] [-t cpusecs] prog...";

const HELP: &str = "\
softlimit: run prog with lower soft resource limits.
usage: softlimit [-acdflmoprst value] prog...
  -a bytes   all memory (RLIMIT_AS)         -c bytes   core files
  -d bytes   data segment                   -f bytes   file size
  -l bytes   locked memory                  -m bytes   -a, -d, -l and -s at once
  -o n       open files                     -p n       processes
  -r bytes   resident set                   -s bytes   stack
  -t secs    CPU time                       value \"=\" means the hard limit
See man/softlimit.8.
";

svkit::main!(PROG, HELP, run);

type Limits = Vec<(Resource, Want)>;

fn parse(args: &Args) -> Result<(Limits, &[&CStr]), Error> {
    let mut p = Parser::new(args);
    let mut wants = Vec::new();
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Short(c) => {
                let resources = limits::resources(c).ok_or_else(|| arg.unexpected())?;
                let v = p.value()?;
                let want = Want::parse(v).ok_or_else(|| {
                    let v = alloc::string::String::from_utf8_lossy(v);
                    Error::Usage(format!("-{c} takes a number or =, not {v}"))
                })?;
                wants.extend(resources.iter().map(|&r| (r, want)));
            }
            // The first operand is PROG; it and the rest are not ours.
            Arg::Value(_) => return Ok((wants, p.command())),
            Arg::Long(_) => return Err(arg.unexpected()),
        }
    }
    Err(Error::Usage("missing prog".into()))
}

fn run(args: Args) -> i32 {
    // The whole command line is checked before any limit changes.
    let (wants, prog) = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    for (resource, want) in wants {
        if let Err(e) = limits::set(resource, want) {
            die::fatal(PROG, &e)
        }
    }
    die::fatal(PROG, &exec::run(prog))
}
