//! svstat: print the status of each service DIR. See man/svstat.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use svkit::args::{Arg, Args, Parser};
use svkit::error::{EXIT_TEMPORARY, Error};
use svkit::instances::{self, Item};
use svkit::report::{self, Report};
use svkit::sys::{Path, fd::Out};
use svkit::tai64::Tai64n;

const PROG: &str = "svstat";
const USAGE: &str = "svstat [--json | --prometheus | -u | -r | -d] dir...";
/// Exit code of the check modes when some DIR is not in the asked state.
const EXIT_NO: i32 = 1;

const HELP: &str = "\
svstat: print the status of each service dir.
usage: svstat [--json | --prometheus | -u | -r | -d] dir...
  dir           a service dir, or a scanned tree: each service in it and its log
  --json        one JSON object per service per line
  --prometheus  the Prometheus text format, for node_exporter's textfile collector
  -u            print nothing; exit 0 when every dir is up, 1 otherwise
  -r            likewise for up and ready
  -d            likewise for down
See man/svstat.8.
";

// Starts through origin, without the C library: see build.rs.
svkit::main!(origin: PROG, HELP, run);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Text,
    Json,
    Prometheus,
    /// Print nothing; the exit code says whether every DIR is up (-u),
    /// up and ready (-r), or down (-d).
    Check(u8),
}

fn parse(args: &Args) -> Result<(Mode, Vec<Path>), Error> {
    let mut p = Parser::new(args);
    let (mut mode, mut dirs) = (Mode::Text, Vec::new());
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Long("json") => mode = Mode::Json,
            Arg::Long("prometheus") => mode = Mode::Prometheus,
            Arg::Short(c @ ('u' | 'r' | 'd')) => mode = Mode::Check(c as u8),
            Arg::Value(v) => dirs.push(Path::from(v)),
            _ => return Err(arg.unexpected()),
        }
    }
    if dirs.is_empty() {
        return Err(Error::Usage("missing dir".into()));
    }
    Ok((mode, dirs))
}

fn run(args: Args) -> i32 {
    let (mode, dirs) = parse(&args).unwrap_or_else(|e| svkit::die::usage(PROG, USAGE, &e));
    let now = Tai64n::now();
    let (mut out, mut code) = (Out::stdout(), 0);
    // Prometheus groups samples by metric, so it needs every report first;
    // so does reading what every service uses in one pass.
    let mut all = Vec::new();
    // A scanned tree stands for the services in it.
    let dirs: Vec<Path> = dirs
        .into_iter()
        .flat_map(|d| report::services_in(&d).unwrap_or_else(|| alloc::vec![d]))
        .collect();
    // A pool (dir/instances) is a line per instance, then a summary.
    let mut seen = Vec::new();
    for item in instances::plan(&dirs) {
        let (dir, member) = match item {
            Item::Summary(pool, n) if mode == Mode::Text => {
                let _ = writeln!(
                    out,
                    "{}",
                    instances::summary(&pool, &seen[seen.len() - n..])
                );
                continue;
            }
            Item::Summary(..) => continue,
            Item::Dir(dir, member) => (dir, member),
        };
        let r = Report {
            pool: member,
            ..report::look(&dir)
        };
        if let Some(e) = r.trouble() {
            // Said once: on stdout where the line or object says it (as
            // daemontools does), on stderr where nothing else would.
            if matches!(mode, Mode::Prometheus | Mode::Check(_)) {
                svkit::die::warn(PROG, &e);
            }
            code = EXIT_TEMPORARY;
        }
        let _ = match mode {
            Mode::Text => writeln!(out, "{}", r.text(now)),
            Mode::Json | Mode::Prometheus => {
                all.push(r.clone());
                Ok(())
            }
            Mode::Check(c) => {
                let yes = match c {
                    b'u' => r.status().is_some_and(|s| s.is_up()),
                    b'r' => r.is_ready(),
                    _ => r.status().is_some_and(|s| !s.is_up()),
                };
                if !yes && code == 0 {
                    code = EXIT_NO;
                }
                Ok(())
            }
        };
        seen.push(r);
    }
    // What the services use: one pass over /proc for all of them.
    svkit::metrics::read_usage(&mut all);
    if mode == Mode::Prometheus {
        out.bytes(svkit::metrics::exposition(&all, now).as_bytes());
    }
    for r in all.iter().filter(|_| mode == Mode::Json) {
        let _ = writeln!(out, "{}", r.json(now));
    }
    // A closed stdout is nothing to report: there is nowhere to say it.
    let _ = out.flush();
    code
}
