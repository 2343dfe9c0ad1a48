//! The Debian package over daemontools and runit: installing it removes
//! no command a run script calls. daemontools is replaced (svkit answers
//! to all its names and provides it for daemontools-run); runit stays,
//! its sv and chpst diverted to sv.runit and chpst.runit.
mod common;

use common::Scratch;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// daemontools 0.76's programs, all of which Debian's package installs.
const DAEMONTOOLS: &[&str] = &[
    "envdir",
    "envuidgid",
    "fghack",
    "multilog",
    "pgrphack",
    "readproctitle",
    "setlock",
    "setuidgid",
    "softlimit",
    "supervise",
    "svc",
    "svok",
    "svscan",
    "svscanboot",
    "svstat",
    "tai64n",
    "tai64nlocal",
];

fn run(prog: &str, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(prog).args(args).output().unwrap();
    common::outcome(&o)
}

/// A stand-in package: `files` under /usr/bin, each a script saying
/// which package it is from, and `depends` in its control file.
fn fake(dir: &Path, name: &str, version: &str, depends: &str, files: &[&str]) -> PathBuf {
    fs::create_dir_all(dir.join("DEBIAN")).unwrap();
    let mut control = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: all\n\
         Maintainer: test <test@localhost>\nDescription: stands in for {name}\n"
    );
    if !depends.is_empty() {
        control += &format!("Depends: {depends}\n");
    }
    fs::write(dir.join("DEBIAN/control"), control).unwrap();
    for f in files {
        common::script(dir.join(f), &format!("echo {name}"));
    }
    let deb = dir.with_extension("deb");
    let (code, _, err) = run(
        "dpkg-deb",
        &[
            "--root-owner-group",
            "--build",
            dir.to_str().unwrap(),
            deb.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    deb
}

#[test]
fn the_package_replaces_daemontools_and_keeps_runit_s_other_programs() {
    let s = Scratch::new("dropin-deb");
    let built = common::bin("svc").parent().unwrap().to_path_buf();
    let o = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("package/deb"))
        .args(["--from", built.to_str().unwrap(), "--out"])
        .arg(s.join("out"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let (code, out, err) = common::outcome(&o);
    assert_eq!((code, err.as_str()), (0, ""));
    let deb = out.trim().to_string();
    let field = |name: &str| run("dpkg-deb", &["-f", &deb, name]).1.trim().to_string();
    assert_eq!(field("Replaces"), "daemontools");
    assert_eq!(field("Provides"), "daemontools (= 1:0.76-99+svkit)");

    let bins: Vec<String> = DAEMONTOOLS.iter().map(|n| format!("usr/bin/{n}")).collect();
    let bins: Vec<&str> = bins.iter().map(String::as_str).collect();
    let daemontools = fake(
        &s.join("daemontools"),
        "daemontools",
        "1:0.76-8.1",
        "",
        &bins,
    );
    let run_pkg = fake(
        &s.join("daemontools-run"),
        "daemontools-run",
        "1:0.76-8.1",
        "daemontools (>> 1:0.76)",
        &["etc/dt-run-marker"],
    );
    let runit = fake(
        &s.join("runit"),
        "runit",
        "2.1.2-54",
        "",
        &[
            "usr/bin/sv",
            "usr/bin/chpst",
            "usr/bin/runsv",
            "usr/bin/runsvdir",
            "usr/bin/svlogd",
            "usr/share/man/man8/sv.8.gz",
        ],
    );

    let root = s.join("root");
    fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    fs::create_dir_all(root.join("var/lib/dpkg/updates")).unwrap();
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    fs::write(root.join("var/lib/dpkg/diversions"), "").unwrap();
    let root_arg = format!("--root={}", root.display());
    let log_arg = format!("--log={}", s.join("dpkg.log").display());
    let dpkg = |args: &[&str]| {
        let base = [
            &root_arg[..],
            &log_arg,
            "--force-script-chrootless",
            "--force-not-root",
        ];
        run("dpkg", &[&base[..], args].concat())
    };
    for pkg in [&daemontools, &run_pkg, &runit] {
        let (code, _, err) = dpkg(&["-i", pkg.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = dpkg(&["--force-depends", "-i", &deb]);
    assert_eq!(code, 0, "{err}");
    let installed = |pkg: &str| {
        dpkg(&["-s", pkg])
            .1
            .contains("Status: install ok installed")
    };
    assert!(!installed("daemontools"), "daemontools was not replaced");
    assert!(
        installed("daemontools-run"),
        "daemontools-run lost its dependency"
    );
    assert!(installed("runit") && installed("svkit"));
    // Every daemontools name is svkit's now; runit's own programs stay.
    for name in DAEMONTOOLS.iter().chain(&["sv", "chpst"]) {
        let p = root.join("usr/bin").join(name);
        assert!(
            fs::read(&p).unwrap() == fs::read(built.join(name)).unwrap(),
            "/usr/bin/{name} is not svkit's"
        );
    }
    for (name, from) in [
        ("sv.runit", "runit"),
        ("chpst.runit", "runit"),
        ("runsv", "runit"),
        ("svlogd", "runit"),
    ] {
        let text = fs::read_to_string(root.join("usr/bin").join(name)).unwrap();
        assert!(text.contains(&format!("echo {from}")), "{name}: {text}");
    }
    assert!(root.join("usr/share/man/man8/sv.runit.8.gz").exists());

    // Removing svkit gives runit its names back.
    // daemontools-run still depends on what svkit provided.
    let (code, _, err) = dpkg(&["--force-depends", "--purge", "svkit"]);
    assert_eq!(code, 0, "{err}");
    let sv = fs::read_to_string(root.join("usr/bin/sv")).unwrap();
    assert!(sv.contains("echo runit"), "{sv}");
    assert!(!root.join("usr/bin/sv.runit").exists());
    assert!(
        fs::read_to_string(root.join("usr/bin/chpst"))
            .unwrap()
            .contains("echo runit")
    );
}
