//! chpst: runit's run-script tool, changing a process's state and then
//! running prog. See man/chpst.8.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

use svkit::args::Args;
use svkit::{chpst, die};

const PROG: &str = "chpst";
const USAGE: &str = "chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] \
                     [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] \
                     [-c n] [-t n] prog";

const HELP: &str = "\
chpst: run prog with a changed process state, as runit's chpst.
usage: chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] ...
  -u user[:group...]  run as user (and those groups)   -U user[:group]  set $UID and $GID
  -b argv0   run prog with this argv[0]                 -e dir   set the variables of envdir dir
  -/ root    change root directory                      -n inc   add inc to the nice value
  -l file    wait for a lock on file                    -L file  lock file or fail at once
  -m -d -o -p -f -c -r -t n   memory, data, open files, processes, file size, core, rss, cpu
  -P         new session and process group              -0 -1 -2  close stdin, stdout, stderr
  -v         verbose (accepted, as runit prints nothing more on success)
See man/chpst.8.
";

svkit::main!(PROG, HELP, run);

fn run(args: Args) -> i32 {
    let opts = chpst::parse(&args).unwrap_or_else(|r| die::runit_usage(PROG, &r.0, USAGE));
    if let Err(e) = chpst::apply(&opts) {
        die::fatal(PROG, &e)
    }
    die::fatal(PROG, &chpst::exec(&opts))
}
