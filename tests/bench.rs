//! bench/svbench, the benchmark users run, in its quick mode: it measures
//! every figure for svkit, compares with the peers installed, says what
//! it could not measure, and leaves nothing behind.

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

fn svbench(args: &[&str], tmp: &Path) -> (i32, String, String) {
    let o = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/svbench"))
        .args(args)
        .arg("--tmp")
        .arg(tmp)
        .output()
        .unwrap();
    outcome(&o)
}

/// Nothing of a run is left: no temporary dir, no process whose command
/// line or working directory is under `tmp`.
fn nothing_left(tmp: &Path) {
    let left: Vec<_> = fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let tmp = tmp.to_str().unwrap();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        let cmd = cmdline(pid).join(" ");
        assert!(
            !cwd.starts_with(tmp) && !cmd.contains(tmp),
            "left running: {pid} {cmd}"
        );
    }
}

#[test]
fn the_benchmark_measures_every_figure_for_svkit_in_quick_mode() {
    let s = Scratch::new("bench");
    let tmp = s.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let dir = bin("scan").parent().unwrap().to_str().unwrap().to_string();
    let json = s.join("out.json");
    let (code, out, err) = svbench(
        &[
            "--quick",
            "--bin",
            &dir,
            "--suite",
            "svkit",
            "--settle",
            "1",
            "--json",
            json.to_str().unwrap(),
        ],
        &tmp,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    for label in [
        "idle supervisor, PSS (KB)",
        "idle supervisor, private dirty (KB)",
        "restart after SIGKILL, up 1.1 s (ms)",
        "svc -d until reaped and published (ms)",
        "svc -u until running (ms)",
        "svstat DIR, one call (us)",
        "6 services all up from cold (ms)",
        "scanner + supervisors per service, of 6 (KB PSS)",
        "new service picked up, tree of 6 (ms)",
        "scan: 6 services all up, first lines logged (ms)",
        "scan: the scanner's RSS, 6 up (KB)",
        "scan: the scanner's CPU until 6 up (ms)",
        "scan: the scanner's open files, 6 up (fds)",
        "scan: idle wake-ups of the scanner, 0.5 s, 6 up (switches)",
        "scan: idle wake-ups of the whole tree, 0.5 s, 6 up (switches)",
        "scan: stop until all of 6 gone (ms)",
        "scan: last lines lost, of 3 (lines)",
        "logger, 1 MB with t, on ",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in:\n{out}"));
        // median [min-max] n: a figure, not "-".
        assert!(line.contains(" ["), "{label} not measured:\n{out}\n{err}");
    }
    // An idle tree wakes nothing up, and SIGTERM to scan loses no line.
    for label in [
        "scan: idle wake-ups of the whole tree, 0.5 s, 6 up (switches)",
        "scan: last lines lost, of 3 (lines)",
    ] {
        let line = out.lines().find(|l| l.starts_with(label)).unwrap();
        assert!(line.trim_end().ends_with(" 0 [0-0] 2"), "{line}\n{err}");
    }
    assert!(fs::read_to_string(&json).unwrap().contains("\"rows\""));
    nothing_left(&tmp);
}

#[test]
fn the_benchmark_compares_with_the_peers_installed() {
    let s = Scratch::new("bench-peers");
    let tmp = s.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let dir = bin("scan").parent().unwrap().to_str().unwrap().to_string();
    let (code, out, err) = svbench(
        &[
            "--quick", "--bin", &dir, "--only", "svstat", "--only", "memory",
        ],
        &tmp,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    // CI installs all three; each one gets a column and svkit a ratio.
    assert!(
        out.starts_with("svbench: daemontools runit s6 svkit;"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("svstat DIR, one call (us)"))
        .unwrap();
    assert_eq!(line.matches(" [").count(), 4, "{line}");
    assert!(line.trim_end().rsplit(' ').next().unwrap().starts_with('x'));
    nothing_left(&tmp);
}

#[test]
fn the_benchmark_prints_the_readme_table_with_its_command_line() {
    let s = Scratch::new("bench-markdown");
    let tmp = s.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let dir = bin("scan").parent().unwrap().to_str().unwrap().to_string();
    let args = [
        "--quick",
        "--bin",
        &dir,
        "--only",
        "scan",
        "--n",
        "2",
        "--n",
        "4",
        "--markdown",
    ];
    let (code, out, err) = svbench(&args, &tmp);
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "| measure | best peer | svkit | ratio |",
            "|---|---|---|---|"
        ],
        "{out}"
    );
    // One row per figure and N, each with the best peer named (CI installs
    // all three) and a ratio; then the exact command line.
    let rows: Vec<&str> = lines[2..]
        .iter()
        .copied()
        .take_while(|l| l.starts_with("| "))
        .collect();
    assert_eq!(rows.len(), 16, "{out}");
    for n in ["2", "4"] {
        let stop = format!("| scan: stop until all of {n} gone | ");
        let row = rows.iter().find(|r| r.starts_with(&stop)).expect(&stop);
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(
            cells[1].ends_with(')') && cells[2].ends_with(" ms"),
            "{row}"
        );
        assert!(cells[3].starts_with('×'), "{row}");
    }
    let lost = rows
        .iter()
        .find(|r| r.starts_with("| scan: last lines lost, of 2 | "))
        .expect("lost lines");
    assert_eq!(lost.split(" | ").nth(2), Some("0 lines"), "{lost}");
    let tail = &lines[2 + rows.len()..];
    assert_eq!(tail[0], "", "{out}");
    let cmd = format!(
        "`{} {} --tmp {}` (",
        concat!(env!("CARGO_MANIFEST_DIR"), "/bench/svbench"),
        args.join(" "),
        tmp.display()
    );
    assert!(tail[1].starts_with(&cmd), "{}\n{cmd}", tail[1]);
    nothing_left(&tmp);
}

#[test]
fn the_benchmark_says_what_it_could_not_measure() {
    let s = Scratch::new("bench-missing");
    let tmp = s.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let (code, out, err) = svbench(
        &["--quick", "--bin", "/nonexistent", "--suite", "svkit"],
        &tmp,
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            111,
            "",
            "svbench: svkit: not measured: scan, supervise, svc, svstat, logsink not found \
             in /nonexistent (cargo build --release?)\nsvbench: fatal: nothing to measure\n"
        )
    );
    nothing_left(&tmp);
}

#[test]
fn a_bad_option_is_a_usage_error() {
    let s = Scratch::new("bench-usage");
    for args in [
        &["--bogus"][..],
        &["--n", "0"][..],
        &["--only", "nothing"][..],
    ] {
        let (code, out, err) = svbench(args, &s.path);
        assert_eq!(code, 100, "{args:?}: {err}");
        assert!(
            out.is_empty() && err.starts_with("svbench: fatal: "),
            "{err}"
        );
        assert!(err.contains("\nsvbench: usage: bench/svbench "), "{err}");
    }
}
