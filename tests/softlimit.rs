//! softlimit, checked from /proc/self/limits of the program it runs.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Runs softlimit with `args`; with `hard`, its open-files limit starts at
/// (soft 64, hard `hard`).
fn softlimit(args: &[&str], hard: Option<u64>, cwd: &Path) -> (i32, String, String) {
    let mut cmd = Command::new(bin("softlimit"));
    cmd.args(args).current_dir(cwd);
    if let Some(hard) = hard {
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::rlimit {
                    rlim_cur: 64,
                    rlim_max: hard,
                };
                match libc::setrlimit(libc::RLIMIT_NOFILE, &r) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
    }
    outcome(&cmd.output().unwrap())
}

/// /proc/self/limits as name => (soft, hard); "unlimited" is u64::MAX.
fn limits(text: &str) -> BTreeMap<String, (u64, u64)> {
    let n = |s: &str| match s {
        "unlimited" => u64::MAX,
        s => s.parse().unwrap(),
    };
    text.lines()
        .skip(1)
        .map(|l| {
            // Names are words separated by single spaces; columns by more.
            let cols: Vec<&str> = l
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (cols[0].to_string(), (n(cols[1]), n(cols[2])))
        })
        .collect()
}

#[test]
fn each_option_sets_its_soft_limit_in_the_child() {
    let s = Scratch::new("softlimit-each");
    let asked: &[(&str, u64, &str)] = &[
        ("-a", 3_000_000_000, "Max address space"),
        ("-c", 0, "Max core file size"),
        ("-d", 2_000_000_000, "Max data size"),
        ("-f", 1_000_000_000, "Max file size"),
        ("-l", 65536, "Max locked memory"),
        ("-o", 100, "Max open files"),
        ("-p", 500, "Max processes"),
        ("-r", 50_000_000, "Max resident set"),
        ("-s", 4_000_000, "Max stack size"),
        ("-t", 1000, "Max cpu time"),
    ];
    let mut args: Vec<String> = Vec::new();
    for (opt, n, _) in asked {
        args.extend([opt.to_string(), n.to_string()]);
    }
    args.extend(["cat".into(), "/proc/self/limits".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = softlimit(&args, None, &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    let got = limits(&out);
    for (opt, n, name) in asked {
        let (soft, hard) = got[*name];
        // A request above the hard limit is lowered to it.
        assert_eq!(soft, (*n).min(hard), "{opt} {n}: {name}");
    }
}

#[test]
fn m_limits_data_stack_locked_memory_and_address_space() {
    let s = Scratch::new("softlimit-m");
    let (code, out, _) = softlimit(
        &["-m", "1000000000", "cat", "/proc/self/limits"],
        None,
        &s.path,
    );
    assert_eq!(code, 0);
    let got = limits(&out);
    for name in [
        "Max data size",
        "Max stack size",
        "Max locked memory",
        "Max address space",
    ] {
        let (soft, hard) = got[name];
        assert_eq!(soft, 1_000_000_000.min(hard), "{name}");
    }
    let (_, before, _) = softlimit(&["cat", "/proc/self/limits"], None, &s.path);
    assert_eq!(
        got["Max resident set"],
        limits(&before)["Max resident set"],
        "-m leaves -r alone, as daemontools does"
    );
}

#[test]
fn equals_raises_the_soft_limit_to_the_hard() {
    let s = Scratch::new("softlimit-eq");
    let (code, out, _) = softlimit(
        &["-o", "=", "cat", "/proc/self/limits"],
        Some(2048),
        &s.path,
    );
    assert_eq!(code, 0);
    assert_eq!(limits(&out)["Max open files"], (2048, 2048));
}

#[test]
fn a_limit_above_the_hard_limit_is_lowered_to_it() {
    let s = Scratch::new("softlimit-lower");
    let (code, out, err) = softlimit(
        &["-o", "100000", "cat", "/proc/self/limits"],
        Some(512),
        &s.path,
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(limits(&out)["Max open files"], (512, 512));
    let (_, out, _) = softlimit(
        &["-o", "100", "cat", "/proc/self/limits"],
        Some(512),
        &s.path,
    );
    assert_eq!(
        limits(&out)["Max open files"],
        (100, 512),
        "the hard limit stays"
    );
}

#[test]
fn prog_arguments_pass_untouched() {
    let s = Scratch::new("softlimit-args");
    let (code, out, _) = softlimit(
        &[
            "-o",
            "100",
            "sh",
            "-c",
            "printf '%s|' \"$@\"",
            "sh",
            "-o",
            "5",
            "--",
        ],
        None,
        &s.path,
    );
    assert_eq!((code, out.as_str()), (0, "-o|5|--|"));
}

#[test]
fn a_prog_that_cannot_run_exits_111() {
    let s = Scratch::new("softlimit-noprog");
    let (code, _, err) = softlimit(&["-o", "100", "/nonexistent/prog"], None, &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            111,
            "softlimit: fatal: unable to run /nonexistent/prog: No such file or directory\n"
        )
    );
}

#[test]
fn bad_command_lines_exit_100_before_prog_runs() {
    let s = Scratch::new("softlimit-usage");
    let usage = "softlimit: usage: softlimit [-a allbytes] [-c corebytes] [-d databytes] \
                 [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] \
                 [-r residentbytes] [-s stackbytes] [-t cpusecs] prog...\n";
    for (args, why) in [
        (&[][..], "missing prog"),
        (&["-o", "100"], "missing prog"),
        (
            &["-o", "lots", "touch", "ran"],
            "-o takes a number or =, not lots",
        ),
        (&["-o", "", "touch", "ran"], "-o takes a number or =, not "),
        (
            &["-o", "-1", "touch", "ran"],
            "-o takes a number or =, not -1",
        ),
        (
            &["-m", "1k", "touch", "ran"],
            "-m takes a number or =, not 1k",
        ),
        (&["-o", "1", "-x", "1", "touch", "ran"], "invalid option -x"),
        (&["--open", "1", "touch", "ran"], "invalid option --open"),
        (&["-o"], "missing argument for -o"),
    ] {
        let (code, out, err) = softlimit(args, None, &s.path);
        assert_eq!(
            (code, out.as_str(), err),
            (100, "", format!("softlimit: fatal: {why}\n{usage}")),
            "{args:?}"
        );
    }
    assert!(!s.join("ran").exists(), "PROG ran");
}
