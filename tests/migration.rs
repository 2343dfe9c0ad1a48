//! Migration: a service tree written in daemontools' idioms and one in
//! runit's, run with only svkit's programs on PATH (a scratch directory
//! of links to the built binaries and a few /bin essentials, not /usr/bin
//! where daemontools and runit live), give what daemontools and runit
//! give for the same trees.
mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run script needs besides the supervision suite.
const ESSENTIALS: &[&str] = &["sh", "sleep", "cat", "id"];

/// A directory holding svkit's programs (links to the built ones) and the
/// essentials, and nothing else: the PATH of the svkit runs.
fn svkit_path(s: &Scratch) -> PathBuf {
    let dir = s.join("path");
    fs::create_dir_all(&dir).unwrap();
    let commands =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/package/commands")).unwrap();
    for name in commands.split_whitespace() {
        symlink(bin(name), dir.join(name)).unwrap();
    }
    for name in ESSENTIALS {
        symlink(Path::new("/bin").join(name), dir.join(name)).unwrap();
    }
    dir
}

fn open_to_all(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// daemontools' idioms: a service that drops to nobody through
/// setuidgid, envdir and softlimit, logged by multilog.
fn daemontools_tree(root: &Path) -> PathBuf {
    let tree = root.join("service");
    let app = tree.join("app");
    script(
        app.join("run"),
        "exec 2>&1\nexec setuidgid nobody envdir ./env softlimit -m 100000000 ./prog",
    );
    script(
        app.join("prog"),
        "echo \"uid=$(id -u) greeting=$GREETING data=$(ulimit -d)\"\nexec sleep 300",
    );
    fs::create_dir_all(app.join("env")).unwrap();
    fs::write(app.join("env/GREETING"), "hello from envdir\n").unwrap();
    script(app.join("log/run"), "exec multilog t s4096 n3 ./main");
    for d in [root, &tree, &app, &app.join("env")] {
        open_to_all(d);
    }
    tree
}

/// What the daemontools tree shows once its service ran: the logged
/// lines without their stamps, and the log directory's files.
fn daemontools_result(tree: &Path) -> (Vec<String>, Vec<String>) {
    let current = tree.join("app/log/main/current");
    let lines = wait_for("the service's line in the log", || {
        let l = lines(&current);
        (!l.is_empty()).then_some(l)
    });
    let lines = lines
        .iter()
        .map(|l| {
            assert!(l.starts_with("@4000000") && l.as_bytes()[25] == b' ', "{l}");
            l[26..].to_string()
        })
        .collect();
    let mut files: Vec<String> = fs::read_dir(tree.join("app/log/main"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    (lines, files)
}

#[test]
fn a_daemontools_tree_runs_the_same_with_only_svkit_on_path() {
    let s = Scratch::new("migrate-dt");
    let path = svkit_path(&s);
    let mut results = Vec::new();
    // svscanboot gives svscan daemontools' PATH after svkit's own
    // directory, as daemontools' svscanboot sets its PATH.
    for (who, svscan, path) in [
        (
            "svkit",
            path.join("svscan"),
            path.to_str().unwrap().to_string(),
        ),
        (
            "svkit-boot",
            path.join("svscanboot"),
            path.to_str().unwrap().to_string(),
        ),
        (
            "daemontools",
            PathBuf::from("/usr/bin/svscan"),
            "/usr/bin:/bin".to_string(),
        ),
    ] {
        let root = s.join(who);
        fs::create_dir_all(&root).unwrap();
        let tree = daemontools_tree(&root);
        let mut r = Reaper::new();
        r.watch_dir(&tree.join("app"));
        r.watch_dir(&tree.join("app/log"));
        let t = Tree::spawn(
            Command::new(&svscan)
                .arg(&tree)
                .env_clear()
                .env("PATH", &path),
            root.join("svscan.err"),
        );
        results.push((who, daemontools_result(&tree)));
        // svc and svstat from the same PATH work on the tree.
        let svstat = Command::new("svstat")
            .arg(tree.join("app"))
            .env("PATH", &path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&svstat.stdout).into_owned();
        assert!(text.contains(": up (pid "), "{who}: {text}");
        drop(t);
    }
    let (ours, boot, theirs) = (&results[0].1, &results[1].1, &results[2].1);
    assert_eq!(ours, theirs, "svkit vs daemontools");
    assert_eq!(boot, theirs, "svscanboot vs daemontools");
    assert_eq!(ours.0, ["uid=65534 greeting=hello from envdir data=97656"]);
    assert_eq!(ours.1, ["current", "lock", "state"]);
}

/// runit's idioms: chpst drops to nobody and reads an envdir; a check
/// script says when the service works; sv drives it.
fn runit_tree(root: &Path) -> PathBuf {
    let tree = root.join("service");
    let web = tree.join("web");
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    script(
        web.join("run"),
        "exec 2>&1\nexec chpst -u nobody -e ./env ./prog",
    );
    script(
        web.join("prog"),
        &format!(
            "echo \"uid=$(id -u) greeting=$GREETING\" > {}/web.$$\nexec sleep 300",
            out.display()
        ),
    );
    script(
        web.join("check"),
        "read -r pid < supervise/pid && [ -d /proc/$pid ]",
    );
    fs::create_dir_all(web.join("env")).unwrap();
    fs::write(web.join("env/GREETING"), "hello from chpst -e\n").unwrap();
    for d in [root, &tree, &web, &web.join("env")] {
        open_to_all(d);
    }
    tree
}

/// Masks pids and seconds.
fn digits_masked(text: &str) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

#[test]
fn a_runit_tree_runs_the_same_with_only_svkit_on_path() {
    let s = Scratch::new("migrate-runit");
    let path = svkit_path(&s);
    let mut results = Vec::new();
    for (who, scanner, path) in [
        (
            "svkit",
            path.join("svscan"),
            path.to_str().unwrap().to_string(),
        ),
        (
            "runit",
            PathBuf::from("/usr/bin/runsvdir"),
            "/usr/bin:/bin".to_string(),
        ),
    ] {
        let root = s.join(who);
        fs::create_dir_all(&root).unwrap();
        let tree = runit_tree(&root);
        let mut r = Reaper::new();
        r.watch_dir(&tree.join("web"));
        let t = Tree::spawn(
            Command::new(&scanner)
                .arg(&tree)
                .env_clear()
                .env("PATH", &path),
            root.join("scanner.err"),
        );
        let out = root.join("out");
        let count = || fs::read_dir(&out).unwrap().count();
        wait_for("the service to write its line", || {
            (count() == 1).then_some(())
        });
        let sv = |args: &[&str]| {
            let o = Command::new("sv")
                .args(args)
                .env_clear()
                .env("PATH", &path)
                .env("SVDIR", &tree)
                .output()
                .unwrap();
            let (code, out, err) = outcome(&o);
            (code, digits_masked(&out), err)
        };
        let mut seen = vec![
            sv(&["-w", "10", "check", "web"]),
            sv(&["status", "web"]),
            sv(&["-w", "10", "restart", "web"]),
        ];
        wait_for("the restarted service's line", || {
            (count() == 2).then_some(())
        });
        seen.push(sv(&["-w", "10", "check", "web"]));
        seen.push(sv(&["-w", "10", "down", "web"]));
        seen.push(sv(&["status", "nosuch"]));
        let mut written: Vec<String> = fs::read_dir(&out)
            .unwrap()
            .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        written.sort();
        results.push((who, seen, written));
        drop(t);
    }
    let (ours, theirs) = (&results[0], &results[1]);
    assert_eq!((&ours.1, &ours.2), (&theirs.1, &theirs.2), "svkit vs runit");
    assert_eq!(ours.2, ["uid=65534 greeting=hello from chpst -e\n"; 2]);
    assert_eq!(
        ours.1[1],
        (0, "run: web: (pid N) Ns\n".to_string(), String::new())
    );
}
