//! package/: the list of commands, the install script and the Debian
//! package, checked against what src/bin and man/ hold.

mod common;

use common::Scratch;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binaries package/commands lists, in its order.
fn commands() -> Vec<String> {
    fs::read_to_string(root().join("package/commands"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The names of the files in `dir` that end in `.ext`, without it.
fn stems(dir: &Path, ext: &str) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect()
}

#[test]
fn commands_lists_exactly_the_binaries_in_src_bin() {
    let listed = commands();
    let set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(set.len(), listed.len(), "a name listed twice: {listed:?}");
    assert!(
        listed.iter().all(|n| !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
        "package/commands has a blank or odd line: {listed:?}"
    );
    assert_eq!(
        set,
        stems(&root().join("src/bin"), "rs"),
        "package/commands vs src/bin/*.rs"
    );
}

#[test]
fn every_command_has_a_section_8_man_page() {
    let pages = stems(&root().join("man"), "8");
    let missing: Vec<String> = commands()
        .into_iter()
        .filter(|c| !pages.contains(c))
        .collect();
    assert!(missing.is_empty(), "no man/NAME.8 for {missing:?}");
    assert!(root().join("man/svkit.7").is_file(), "no man/svkit.7");
}

/// Runs a script in package/ with `args` from `cwd`; returns (exit code,
/// stdout, stderr).
fn script(name: &str, args: &[&str], cwd: &Path) -> (i32, String, String) {
    let o = Command::new(root().join("package").join(name))
        .args(args)
        .current_dir(cwd)
        .env_remove("DESTDIR")
        .env_remove("PREFIX")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Where cargo put the binaries of this test run: the install script
/// takes them from there (`--from`) instead of building release ones.
fn built() -> PathBuf {
    common::bin("svc").parent().unwrap().to_path_buf()
}

/// Copies the built binaries to `dir`, leaving out `except`.
fn copy_built(dir: &Path, except: &str) {
    fs::create_dir_all(dir).unwrap();
    for c in commands().iter().filter(|c| *c != except) {
        fs::copy(built().join(c), dir.join(c)).unwrap();
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn same(a: &Path, b: &Path) -> bool {
    fs::read(a).unwrap() == fs::read(b).unwrap()
}

#[test]
fn install_puts_every_binary_and_man_page_where_promised() {
    let s = Scratch::new("install");
    let from = built();
    let (code, out, err) = script(
        "install",
        &[
            "--from",
            from.to_str().unwrap(),
            "--destdir",
            "stage",
            "--prefix",
            "/opt/sv",
        ],
        &s.path,
    );
    assert_eq!((code, err.as_str()), (0, ""), "stdout: {out}");
    let base = s.join("stage/opt/sv");
    for c in commands() {
        let exe = base.join("bin").join(&c);
        assert_eq!(mode(&exe), 0o755, "{}", exe.display());
        assert!(
            same(&exe, &from.join(&c)),
            "{} is not the built one",
            exe.display()
        );
        let page = base.join(format!("share/man/man8/{c}.8"));
        assert_eq!(mode(&page), 0o644, "{}", page.display());
        assert!(same(&page, &root().join(format!("man/{c}.8"))));
    }
    assert!(same(
        &base.join("share/man/man7/svkit.7"),
        &root().join("man/svkit.7")
    ));

    // Installed, a program runs from there: svc with no dir is a usage error.
    let o = Command::new(base.join("bin/svc")).output().unwrap();
    assert_eq!(o.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&o.stderr).contains("svc: usage: svc "));
}

#[test]
fn install_refuses_a_foreign_binary_unless_forced() {
    let s = Scratch::new("install-foreign");
    let from = built();
    let args = [
        "--from",
        from.to_str().unwrap(),
        "--destdir",
        "stage",
        "--prefix",
        "/usr",
    ];
    // daemontools' svstat, as far as the script can tell.
    let theirs = s.join("stage/usr/bin/svstat");
    common::script(&theirs, "echo daemontools");
    let (code, _, err) = script("install", &args, &s.path);
    assert_eq!(code, 111, "stderr: {err}");
    assert!(
        err.contains(&format!("\n  {}\n", theirs.display())),
        "stderr: {err}"
    );
    assert!(
        err.contains("--prefix /usr/local/lib/svkit") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&theirs).unwrap(),
        "#!/bin/sh\necho daemontools\n"
    );
    assert!(
        !s.join("stage/usr/bin/svc").exists(),
        "installed something after refusing"
    );

    let (code, _, err) = script("install", &[&args[..], &["--force"]].concat(), &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(same(&theirs, &from.join("svstat")));
}

#[test]
fn install_replaces_what_it_installed_before_without_force() {
    let s = Scratch::new("install-upgrade");
    let from = s.join("from");
    copy_built(&from, "");
    let args = ["--from", "from", "--destdir", "stage", "--prefix", "/usr"];
    assert_eq!(script("install", &args, &s.path).0, 0);
    // A newer build: svc differs from the installed one, which the
    // previous install recorded as svkit's.
    fs::OpenOptions::new()
        .append(true)
        .open(from.join("svc"))
        .unwrap()
        .write_all(b"new")
        .unwrap();
    let (code, _, err) = script("install", &args, &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(same(&s.join("stage/usr/bin/svc"), &from.join("svc")));
}

#[test]
fn install_fails_clearly_when_a_listed_binary_was_not_built() {
    let s = Scratch::new("install-missing");
    copy_built(&s.join("from"), "svok");
    let (code, _, err) = script(
        "install",
        &["--from", "from", "--destdir", "stage"],
        &s.path,
    );
    assert_eq!(code, 111);
    assert_eq!(
        err,
        format!(
            "package/install: fatal: unable to find {}: package/commands lists svok but it was not built\n",
            s.join("from/svok").display()
        )
    );
    assert!(!s.join("stage/usr/local/bin/svc").exists());
}

#[test]
fn usage_errors_exit_100_and_help_exits_0() {
    let s = Scratch::new("usage");
    let cases: [(&str, &[&str]); 6] = [
        ("install", &["--bogus"]),
        ("install", &["--prefix"]),
        ("install", &["--prefix", "usr"]),
        ("install", &["--from"]),
        ("deb", &["--out"]),
        ("deb", &["--prefix", "/usr"]),
    ];
    for (name, args) in cases {
        let (code, out, err) = script(name, args, &s.path);
        assert_eq!(code, 100, "{name} {args:?}: {err}");
        let usage = format!("\npackage/{name}: usage: package/{name} ");
        assert!(
            out.is_empty() && err.contains(&usage),
            "{name} {args:?}: {err}"
        );
    }
    for name in ["install", "deb"] {
        let (code, out, _) = script(name, &["--help"], &s.path);
        assert_eq!(code, 0);
        assert!(
            out.starts_with(&format!("usage: package/{name} ")) && out.contains("--from"),
            "{out}"
        );
    }
}

/// The shell scripts under package/, found by their `#!/bin/sh` line.
fn shell_scripts(dir: &Path, found: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            shell_scripts(&p, found);
        } else if fs::read(&p).unwrap().starts_with(b"#!/bin/sh\n") {
            found.push(p);
        }
    }
}

#[test]
fn package_scripts_are_posix_sh_and_shellcheck_clean() {
    let mut scripts = Vec::new();
    shell_scripts(&root().join("package"), &mut scripts);
    assert!(
        scripts.contains(&root().join("package/install")),
        "{scripts:?}"
    );
    for p in &scripts {
        assert_eq!(mode(p) & 0o111, 0o111, "{} is not executable", p.display());
        let o = Command::new("sh").arg("-n").arg(p).output().unwrap();
        assert!(
            o.status.success(),
            "sh -n {}: {}",
            p.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    match Command::new("shellcheck")
        .arg("--shell=sh")
        .args(&scripts)
        .output()
    {
        Ok(o) => assert!(
            o.status.success(),
            "shellcheck:\n{}",
            String::from_utf8_lossy(&o.stdout)
        ),
        // CI installs shellcheck: a missing one is a broken machine, not a pass.
        Err(e) => panic!("cannot run shellcheck (apt-get install shellcheck): {e}"),
    }
}

/// Runs a program to completion; returns (exit code, stdout, stderr), or
/// None when it is not installed.
fn tool(prog: &str, args: &[&str]) -> Option<(i32, String, String)> {
    let o = match Command::new(prog).args(args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot run {prog}: {e}"),
    };
    Some((
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    ))
}

/// Runs `tool` and returns its stdout, failing the test unless it exits 0.
fn ok(prog: &str, args: &[&str]) -> String {
    let (code, out, err) = tool(prog, args).unwrap();
    assert_eq!(code, 0, "{prog} {args:?}: {err}");
    out
}

/// A package named daemontools that owns a /usr/bin/svc, as the real one.
fn fake_daemontools(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir.join("DEBIAN")).unwrap();
    fs::create_dir_all(dir.join("usr/bin")).unwrap();
    fs::write(
        dir.join("DEBIAN/control"),
        "Package: daemontools\nVersion: 1:0.76-8.1\nArchitecture: all\n\
         Maintainer: test <test@localhost>\nDescription: stands in for daemontools\n",
    )
    .unwrap();
    common::script(dir.join("usr/bin/svc"), "echo daemontools");
    let deb = dir.with_extension("deb");
    ok(
        "dpkg-deb",
        &[
            "--root-owner-group",
            "--build",
            dir.to_str().unwrap(),
            deb.to_str().unwrap(),
        ],
    );
    deb
}

#[test]
fn deb_holds_the_programs_man_pages_and_unit_and_installs_with_dpkg() {
    let (_, arch, _) = tool("dpkg", &["--print-architecture"]).expect("dpkg is not installed");
    assert!(
        tool("dpkg-deb", &["--version"]).is_some(),
        "dpkg-deb is not installed"
    );
    let s = Scratch::new("deb");
    let from = built();
    let (code, out, err) = script(
        "deb",
        &["--from", from.to_str().unwrap(), "--out", "out"],
        &s.path,
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let version = env!("CARGO_PKG_VERSION").replace('-', "~");
    let deb = s.join(format!("out/svkit_{version}_{}.deb", arch.trim()));
    assert_eq!(out, format!("{}\n", deb.display()));
    let deb = deb.to_str().unwrap();

    let field = |name: &str| ok("dpkg-deb", &["-f", deb, name]).trim().to_string();
    assert_eq!(field("Package"), "svkit");
    assert_eq!(field("Version"), version);
    assert_eq!(field("Architecture"), arch.trim());
    assert_eq!(field("Conflicts"), "daemontools");
    assert_eq!(field("Replaces"), "daemontools");
    assert!(
        field("Depends").starts_with("libc6 (>= 2."),
        "{}",
        field("Depends")
    );

    // Every file, with its mode and owner: `-rwxr-xr-x root/root SIZE DATE TIME ./PATH`.
    let mut files = BTreeSet::new();
    for line in ok("dpkg-deb", &["-c", deb]).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[1], "root/root", "{line}");
        if !f[0].starts_with('d') {
            files.insert(format!("{} {}", f[0], f[5]));
        }
    }
    let mut want = BTreeSet::from([
        "-rw-r--r-- ./usr/lib/systemd/system/svkit-scan.service".to_string(),
        "-rw-r--r-- ./usr/share/doc/svkit/changelog.Debian.gz".to_string(),
        "-rw-r--r-- ./usr/share/doc/svkit/copyright".to_string(),
        "-rw-r--r-- ./usr/share/man/man7/svkit.7.gz".to_string(),
    ]);
    for c in commands() {
        want.insert(format!("-rwxr-xr-x ./usr/bin/{c}"));
        want.insert(format!("-rw-r--r-- ./usr/share/man/man8/{c}.8.gz"));
    }
    assert_eq!(files, want);

    // Installed with dpkg into a root of its own, whose maintainer scripts
    // run unchrooted with DPKG_ROOT set. libc6 is not in that root's
    // database, hence --force-depends.
    let root = s.join("root");
    fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    fs::create_dir_all(root.join("var/lib/dpkg/updates")).unwrap();
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let (root_arg, log_arg) = (
        format!("--root={}", root.display()),
        format!("--log={}", s.join("dpkg.log").display()),
    );
    let dpkg = |args: &[&str]| {
        let base = [
            &root_arg,
            &log_arg,
            "--force-script-chrootless",
            "--force-not-root",
        ];
        tool("dpkg", &[&base[..], args].concat()).unwrap()
    };
    let theirs = fake_daemontools(&s.join("daemontools"));
    assert_eq!(dpkg(&["-i", theirs.to_str().unwrap()]).0, 0);
    // svkit answers to every daemontools name: it replaces the package
    // (tests/dropin_package.rs has the whole story).
    let (code, _, err) = dpkg(&["--force-depends", "-i", deb]);
    assert_eq!(code, 0, "{err}");
    assert!(root.join("service").is_dir(), "postinst made no /service");
    assert!(same(&root.join("usr/bin/svc"), &from.join("svc")));
    // The changelog is one dpkg reads, for the package's version.
    let changelog = root.join("usr/share/doc/svkit/changelog.Debian.gz");
    let text = s.join("changelog");
    fs::write(&text, ok("gzip", &["-dc", changelog.to_str().unwrap()])).unwrap();
    let parsed = |f: &str| {
        ok(
            "dpkg-parsechangelog",
            &["-l", text.to_str().unwrap(), "-S", f],
        )
    };
    assert_eq!(parsed("Source").trim(), "svkit");
    assert_eq!(parsed("Version").trim(), version);
    assert_eq!(parsed("Distribution").trim(), "unstable");
    assert_eq!(dpkg(&["--purge", "svkit"]).0, 0);
    assert!(!root.join("service").exists() && !root.join("usr/bin/svc").exists());
}

#[test]
fn install_tells_a_program_the_shell_does_not_find_from_one_it_finds_elsewhere() {
    let s = Scratch::new("install-path");
    let base = s.join("opt");
    let install = |path: &str| {
        let o = Command::new(root().join("package/install"))
            .args(["--from", built().to_str().unwrap(), "--prefix"])
            .arg(&base)
            .current_dir(&s.path)
            .env_remove("DESTDIR")
            .env_remove("PREFIX")
            .env("PATH", path)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // What a shell with PATH=/usr/bin:/bin finds: daemontools' programs
    // of the same names, where installed, and nothing for the rest.
    let (mut elsewhere, mut nowhere) = (String::new(), String::new());
    for c in commands() {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(&c).exists());
        let list = if found { &mut elsewhere } else { &mut nowhere };
        list.push(' ');
        list.push_str(&c);
    }
    assert!(!nowhere.is_empty(), "scan and logsink are svkit's alone");
    let mut want = format!(
        "package/install: warning: put {}/bin on PATH: the shell finds nothing for{nowhere}\n",
        base.display()
    );
    if !elsewhere.is_empty() {
        want += &format!(
            "package/install: warning: put {}/bin first on PATH: the shell finds something else for{elsewhere}\n",
            base.display()
        );
    }
    assert_eq!(install("/usr/bin:/bin"), (Some(0), want));
    let first = format!("{}/bin:/usr/bin:/bin", base.display());
    assert_eq!(install(&first), (Some(0), String::new()));
}

#[test]
fn the_container_health_probe_checks_every_service_and_says_when_there_is_none() {
    let s = Scratch::new("health");
    let tree = s.join("service");
    fs::create_dir_all(&tree).unwrap();
    let t = tree.to_str().unwrap();
    // daemontools' svstat (no -r) is in /usr/bin: svkit's comes first,
    // as in the image, where it is beside the probe.
    let path = format!("{}:/usr/bin:/bin", built().display());
    let probe = |args: &[&str]| {
        let o = Command::new(root().join("package/container/health"))
            .args(args)
            .env("PATH", &path)
            .output()
            .unwrap();
        common::outcome(&o)
    };
    let none = format!("svkit-health: warning: no service in {t}: nothing is up\n");
    assert_eq!(probe(&[t]), (1, String::new(), none.clone()));
    // Neither a file nor a dot directory is a service.
    fs::write(tree.join("README"), "x\n").unwrap();
    fs::create_dir_all(tree.join(".hidden")).unwrap();
    assert_eq!(probe(&["-u", t]), (1, String::new(), none));

    let mut r = common::Reaper::new();
    let (web, db) = (tree.join("web"), tree.join("db"));
    for d in [&web, &db] {
        common::script(d.join("run"), "exec sleep 1000");
    }
    fs::write(db.join("down"), "").unwrap();
    for d in [&web, &db] {
        common::start_supervise(&mut r, d);
    }
    common::wait_up(&mut r, &web, 0);
    assert_eq!(probe(&[t]).0, 1, "db is down");
    assert_eq!(probe(&["-u", t]).0, 1, "db is down");
    assert_eq!(common::call("svc", &["-u", "db"], &tree).0, 0);
    common::wait_up(&mut r, &db, 0);
    // Neither has a readiness mechanism: up is ready.
    assert_eq!(probe(&[t]), (0, String::new(), String::new()));
    assert_eq!(probe(&["-u", t]), (0, String::new(), String::new()));
    assert_eq!(probe(&["-x"]).0, 100);
}
