//! svkit's `chpst` against runit's, side by side: the same options give
//! the same process state, output, messages and exit codes.
mod common;
use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

/// (exit code, stdout, stderr with each fatal line's reason cut off: svkit
/// says the C library's words for an errno, runit its own).
fn outcome_of(prog: &Path, args: &[&str], cwd: &Path) -> (i32, String, String) {
    let o = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let (code, out, err) = outcome(&o);
    let err = err
        .lines()
        .map(|l| match l.strip_prefix("chpst: fatal: unable to ") {
            Some(rest) => format!(
                "unable to {}",
                &rest[..rest.rfind(": ").unwrap_or(rest.len())]
            ),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (code, out, err)
}

#[test]
fn chpst_does_what_runit_s_does() {
    let s = Scratch::new("chpst");
    fs::create_dir(s.join("env")).unwrap();
    fs::write(s.join("env/FOO"), "from envdir  \nsecond line\n").unwrap();
    fs::write(s.join("env/GONE"), "").unwrap();
    let held = s.join("held");
    let mut r = Reaper::new();
    let holder = r.spawn(
        Command::new("/usr/bin/setlock")
            .arg(&held)
            .args(["sleep", "30"]),
    );
    wait_for("the lock to be held", || {
        let o = Command::new("/usr/bin/setlock")
            .args(["-n"])
            .arg(&held)
            .arg("true")
            .output()
            .unwrap();
        (o.status.code() == Some(111)).then_some(())
    });
    let h = held.to_str().unwrap();
    let free = s.join("free");
    let f = free.to_str().unwrap();
    let show_ids = "id -u; id -g; id -G";
    let cases: Vec<Vec<&str>> = vec![
        vec!["-u", "nobody", "sh", "-c", show_ids],
        vec!["-u", "nobody:root", "sh", "-c", show_ids],
        vec!["-u", ":65534:65534:0", "sh", "-c", show_ids],
        vec!["-u", "nobody:no-such-group", "true"],
        vec!["-u", "no-such-user", "true"],
        vec!["-U", "nobody", "sh", "-c", "echo $UID:$GID"],
        vec!["-U", "nobody:root", "sh", "-c", "echo $UID:$GID"],
        vec!["-e", "./env", "sh", "-c", "echo \"[$FOO]\" ${GONE-unset}"],
        vec!["-e", "./missing", "true"],
        vec!["-/", "/", "sh", "-c", "pwd"],
        vec!["-/", "./missing", "true"],
        vec!["-n", "5", "nice"],
        vec!["-n", "+3", "nice"],
        vec!["-L", h, "true"],
        vec!["-l", f, "sh", "-c", "echo locked"],
        vec!["-l", "./no/such/lock", "true"],
        vec![
            "-m",
            "100000000",
            "sh",
            "-c",
            "ulimit -d; ulimit -s; ulimit -l; ulimit -v",
        ],
        vec![
            "-o",
            "7",
            "-p",
            "50",
            "-f",
            "9",
            "-c",
            "0",
            "-t",
            "60",
            "sh",
            "-c",
            "ulimit -n -u -f -c -t",
        ],
        vec![
            "-d",
            "50000000",
            "-r",
            "4000000",
            "sh",
            "-c",
            "ulimit -d -m",
        ],
        vec![
            "-P",
            "sh",
            "-c",
            "read -r a b c d e f g < /proc/$$/stat; [ $$ = $e ] && [ $$ = $f ] && echo leader",
        ],
        vec!["-b", "renamed", "sh", "-c", "echo $0"],
        vec!["-v", "-2", "sh", "-c", "echo out; echo err >&2"],
        vec!["-1", "sh", "-c", "echo gone; echo kept >&2"],
        vec!["-0", "sh", "-c", "cat; echo $?"],
        vec!["no-such-program-xyz"],
        // Usage errors: runit's lines and exit 100.
        vec![],
        vec!["-z", "true"],
        vec!["-u"],
        vec!["-m", "lots", "true"],
        vec!["-n", "x", "true"],
        vec!["-l", "a", "-L", "b", "true"],
    ];
    let mut outcomes = Vec::new();
    for args in &cases {
        let ours = outcome_of(&bin("chpst"), args, &s.path);
        let theirs = outcome_of(Path::new("/usr/bin/chpst"), args, &s.path);
        assert_eq!(ours, theirs, "chpst {args:?}");
        outcomes.push((args.clone(), ours));
    }
    // Both could fail alike (not root, say): a few whose effect is known.
    let out = |args: &[&str]| {
        let (_, (code, out, _)) = outcomes.iter().find(|(a, _)| a == args).unwrap();
        (*code, out.clone())
    };
    let ids = ["-u", "nobody", "sh", "-c", show_ids];
    assert_eq!(out(&ids), (0, "65534\n65534\n65534\n".into()));
    let env = ["-e", "./env", "sh", "-c", "echo \"[$FOO]\" ${GONE-unset}"];
    assert_eq!(out(&env), (0, "[from envdir] unset\n".into()));
    assert_eq!(out(&["-/", "/", "sh", "-c", "pwd"]), (0, "/\n".into()));
    kill(holder, libc::SIGKILL);
}

#[test]
fn usage_lines_are_runit_s() {
    let s = Scratch::new("chpst-usage");
    let (code, out, err) = call("chpst", &["-z", "true"], &s.path);
    assert_eq!((code, out.as_str()), (100, ""));
    assert!(
        err.starts_with("chpst: illegal option -- z\nusage: chpst [-vVP012] "),
        "{err}"
    );
    assert!(err.ends_with(" prog\n\n"), "{err:?}");
}
