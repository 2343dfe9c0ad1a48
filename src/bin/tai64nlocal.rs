//! tai64nlocal: show TAI64N labels at the start of lines in local time.
//! See man/tai64nlocal.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use svkit::args::{Args, Parser};
use svkit::die;
use svkit::error::{Doing, Error};
use svkit::sys::{Fd, time};
use svkit::tai64nlocal::Converter;

const PROG: &str = "tai64nlocal";
const USAGE: &str = "tai64nlocal";

const HELP: &str = "\
tai64nlocal: turn the TAI64N labels at the start of lines into local time.
usage: tai64nlocal < input
See man/tai64nlocal.8.
";

svkit::main!(PROG, HELP, run);

fn parse(args: &Args) -> Result<(), Error> {
    match Parser::new(args).next()? {
        Some(arg) => Err(arg.unexpected()),
        None => Ok(()),
    }
}

fn convert() -> Result<(), Error> {
    // fds 0 and 1 belong to the process.
    let stdin = core::mem::ManuallyDrop::new(Fd::from_raw(0));
    let stdout = core::mem::ManuallyDrop::new(Fd::from_raw(1));
    time::load_time_zone();
    let mut c = Converter::new();
    let mut buf = alloc::vec![0u8; 64 * 1024];
    let mut out = alloc::vec::Vec::with_capacity(128 * 1024);
    loop {
        let n = stdin.read(&mut buf).doing(|| "read input".into())?;
        if n == 0 {
            c.finish(&mut out);
        } else {
            c.feed(&buf[..n], &mut out);
        }
        // Written after every read, so `tail -f | tai64nlocal` shows each
        // line as it comes.
        stdout.write_all(&out).doing(|| "write output".into())?;
        out.clear();
        if n == 0 {
            return Ok(());
        }
    }
}

fn run(args: Args) -> i32 {
    parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    match convert() {
        Ok(()) => 0,
        Err(e) => die::fatal(PROG, &e),
    }
}
