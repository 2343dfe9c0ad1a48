//! svc: send commands to the supervise of each DIR. See man/svc.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use alloc::vec::Vec;
use svkit::args::{Arg, Args, Parser};
use svkit::error::Error;
use svkit::request::{Outcome, Request};
use svkit::servicedir::parse_ms;
use svkit::sys::Path;
use svkit::wait::Goal;
use svkit::{die, error};

const PROG: &str = "svc";
const USAGE: &str = "svc [-udoxrpchaitkq12ybDUR] [-w udDUrR] [-T ms] dir...";
/// Exit code when a wait timed out (man/svc.8).
const EXIT_TIMEOUT: i32 = 1;

const HELP: &str = "\
svc: send commands to the supervise of each dir, optionally wait for a state.
usage: svc [-udoxrpchaitkq12ybDUR] [-w udDUrR] [-T ms] dir...
  -u -d      want up / want down (down signal, then CONT)
  -o         once: start if down, do not restart
  -x         exit supervise once the service is down
  -r         restart: down signal, stay wanted up
  -p -c      STOP / CONT
  -h -a -i -t -k -q -1 -2 -y -b
             HUP ALRM INT TERM KILL QUIT USR1 USR2 WINCH ABRT
  -D -U      down / up, and create / remove dir/down
  -w c       wait: u up, U up and ready, d down, D down and finished,
             r restarted, R restarted and ready
  -T ms      give up waiting after ms milliseconds (exit 1)
  -R         rolling restart: restart the instances of each dir one at a
             time, each waiting until ready (-wR, -T each), stop at a failure
See man/svc.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

fn parse(args: &Args) -> Result<(Request, bool, Vec<Path>), Error> {
    let mut p = Parser::new(args);
    let (mut req, mut dirs, mut roll) = (Request::default(), Vec::new(), false);
    while let Some(arg) = p.next()? {
        match arg {
            // -R: a rolling restart (svkit.7, INSTANCES).
            Arg::Short('R') => roll = true,
            // -D and -U: d and u that also create or remove S/down.
            Arg::Short(c @ ('D' | 'U')) => {
                req.down_file = Some(c == 'D');
                req.bytes.push(c.to_ascii_lowercase() as u8);
            }
            Arg::Short('w') => match p.value()? {
                [c] => {
                    req.wait = Some(
                        Goal::from_letter(*c)
                            .ok_or_else(|| Error::Usage("-w takes one of u U d D r R".into()))?,
                    )
                }
                _ => return Err(Error::Usage("-w takes one of u U d D r R".into())),
            },
            Arg::Short('T') => {
                let ms = core::str::from_utf8(p.value()?).ok().and_then(parse_ms);
                req.timeout = Some(ms.ok_or_else(|| Error::Usage("-T takes milliseconds".into()))?);
            }
            Arg::Short(c) if c.is_ascii() && svkit::control::Command::decode(c as u8).is_some() => {
                req.bytes.push(c as u8)
            }
            Arg::Value(v) => dirs.push(Path::from(v)),
            _ => return Err(arg.unexpected()),
        }
    }
    if dirs.is_empty() {
        return Err(Error::Usage("missing dir".into()));
    }
    if roll && (!req.bytes.is_empty() || req.wait.is_some() || req.down_file.is_some()) {
        return Err(Error::Usage("-R takes no other command nor -w".into()));
    }
    Ok((req, roll, dirs))
}

fn run(args: Args) -> i32 {
    let (req, roll, dirs) = parse(&args).unwrap_or_else(|e| die::usage(PROG, USAGE, &e));
    let mut code = 0;
    for dir in &dirs {
        // A pool (dir/instances) is every instance of it.
        let warn = &mut |e: &Error| die::warn(PROG, e);
        match svkit::instances::svc(&req, roll, dir, warn) {
            Ok(Outcome::Done) => {}
            // With a wait, the order is a dependency order: stop at the first failure.
            Ok(Outcome::TimedOut) => {
                die::warn(
                    PROG,
                    &Error::other(alloc::format!("wait for {dir}"), "timed out"),
                );
                return EXIT_TIMEOUT;
            }
            Ok(Outcome::NotSupervised) => {
                die::warn(
                    PROG,
                    &Error::other(
                        alloc::format!("wait for {dir}"),
                        "timed out, supervise not running",
                    ),
                );
                return EXIT_TIMEOUT;
            }
            Err(e) => {
                die::warn(PROG, &e);
                code = error::EXIT_TEMPORARY;
                if req.wait.is_some() || roll {
                    return code;
                }
            }
        }
    }
    code
}
