//! supervise against a `supervise/` prepared by someone else: symlinks,
//! hard links and files of the wrong type where it keeps its own entries.
//! It must never write, chmod or create through them, and must refuse them
//! with a clear message.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A file supervise must never touch: its content and mode.
struct Victim {
    path: PathBuf,
}

impl Victim {
    fn new(s: &Scratch, name: &str) -> Victim {
        let path = s.join(name);
        fs::write(&path, "precious\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        Victim { path }
    }

    fn assert_untouched(&self) {
        assert_eq!(fs::read_to_string(&self.path).unwrap(), "precious\n");
        let mode = fs::metadata(&self.path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600, "{} was chmodded", self.path.display());
    }
}

/// A service that sleeps, with an empty `supervise/` made in advance.
fn service(s: &Scratch) -> PathBuf {
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::create_dir(web.join("supervise")).unwrap();
    web
}

/// Runs supervise on `dir` until it exits; (exit code, stderr).
fn refused(dir: &Path) -> (i32, String) {
    let mut r = Reaper::new();
    r.watch_dir(dir);
    let err = fs::File::create(dir.with_extension("err")).unwrap();
    let pid = r.spawn(Command::new(bin("supervise")).arg(dir).stderr(err));
    let code = r.wait_exit(pid).code().unwrap_or(-1);
    (code, supervise_stderr(dir))
}

fn message(dir: &Path, name: &str, found: &str, want: &str) -> String {
    format!(
        "supervise: fatal: unable to use {}/supervise/{name}: it is {found}, not {want}\n",
        dir.display()
    )
}

#[test]
fn symlinks_where_supervise_writes_are_refused_and_never_followed() {
    for name in ["status.new", "stat.new", "pid", "pid.new", "lock", "status"] {
        let s = Scratch::new("hostile-link");
        let web = service(&s);
        let victim = Victim::new(&s, "victim");
        symlink(&victim.path, web.join("supervise").join(name)).unwrap();
        let (code, err) = refused(&web);
        assert_eq!(
            err,
            message(&web, name, "a symbolic link", "a regular file of its own"),
            "{name}"
        );
        assert_eq!(code, 111, "{name}");
        victim.assert_untouched();
        assert!(!web.join("started").exists());
    }
}

#[test]
fn a_dangling_symlink_creates_nothing_at_its_target() {
    for name in ["lock", "status.new", "pid.new"] {
        let s = Scratch::new("hostile-dangling");
        let web = service(&s);
        let target = s.join("root-only").join("created");
        fs::create_dir(s.join("root-only")).unwrap();
        symlink(&target, web.join("supervise").join(name)).unwrap();
        let (code, err) = refused(&web);
        assert_eq!(code, 111, "{name}: {err}");
        assert!(!target.exists(), "{name}: created through the link");
    }
}

#[test]
fn fifos_that_are_regular_files_or_symlinks_are_refused_untouched() {
    for name in ["control", "ok"] {
        let s = Scratch::new("hostile-fifo");
        let web = service(&s);
        let planted = Victim::new(&s, "planted");
        fs::copy(&planted.path, web.join("supervise").join(name)).unwrap();
        fs::set_permissions(
            web.join("supervise").join(name),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let (code, err) = refused(&web);
        assert_eq!(
            err,
            message(&web, name, "a regular file", "a FIFO"),
            "{name}"
        );
        assert_eq!(code, 111);
        let mode = fs::metadata(web.join("supervise").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{name} was chmodded");

        let s = Scratch::new("hostile-fifo-link");
        let web = service(&s);
        let victim = Victim::new(&s, "victim");
        // The victim readable by others: a chmod to 0600 would show.
        fs::set_permissions(&victim.path, fs::Permissions::from_mode(0o600)).unwrap();
        symlink(&victim.path, web.join("supervise").join(name)).unwrap();
        let (code, err) = refused(&web);
        assert_eq!(
            err,
            message(&web, name, "a symbolic link", "a FIFO"),
            "{name}"
        );
        assert_eq!(code, 111);
        victim.assert_untouched();
    }
}

#[test]
fn a_hard_link_to_another_file_is_refused() {
    let s = Scratch::new("hostile-hardlink");
    let web = service(&s);
    let victim = Victim::new(&s, "victim");
    fs::hard_link(&victim.path, web.join("supervise/status.new")).unwrap();
    let (code, err) = refused(&web);
    assert_eq!(
        err,
        message(
            &web,
            "status.new",
            "a regular file with other hard links",
            "a regular file of its own"
        )
    );
    assert_eq!(code, 111);
    victim.assert_untouched();
}

#[test]
fn a_symlink_planted_while_supervise_runs_is_not_written_through() {
    let s = Scratch::new("hostile-running");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let victim = Victim::new(&s, "victim");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    wait_for("stat to say run", || {
        (fs::read_to_string(web.join("supervise/stat")).ok()? == "run\n").then_some(())
    });
    // Every scratch name supervise writes next, made a link to the victim.
    for name in ["status.new", "stat.new", "pid.new"] {
        let p = web.join("supervise").join(name);
        let _ = fs::remove_file(&p);
        symlink(&victim.path, &p).unwrap();
    }
    // A change of state makes supervise publish status, pid and stat.
    kill(pid, libc::SIGKILL);
    wait_for("supervise to say it cannot write status", || {
        supervise_stderr(&web)
            .contains(&format!(
                "supervise: warning: unable to use {}/supervise/status.new: it is a symbolic link",
                web.display()
            ))
            .then_some(())
    });
    // It removes the links, keeps supervising and publishing: the
    // restarted service shows in status, pid and stat.
    let again = wait_up(&mut r, &web, pid);
    wait_for("pid and stat to follow", || {
        let p = fs::read_to_string(web.join("supervise/pid")).ok()?;
        let stat = fs::read_to_string(web.join("supervise/stat")).ok()?;
        (p == format!("{again}\n") && stat == "run\n").then_some(())
    });
    victim.assert_untouched();
}

#[test]
fn a_symlink_put_at_status_while_supervise_runs_is_swapped_out_not_followed() {
    let s = Scratch::new("hostile-status");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let victim = Victim::new(&s, "victim");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    // Replaced the way an attacker would: a link renamed over status.
    let tmp = web.join("supervise/planted");
    symlink(&victim.path, &tmp).unwrap();
    fs::rename(&tmp, web.join("supervise/status")).unwrap();
    // Two changes of state: the exchange moves the link to status.new,
    // the next publish meets it there.
    call("svc", &["-d", "web"], &s.path);
    wait_for("supervise to say down", || {
        let b = fs::read(web.join("supervise/status")).ok()?;
        (b.len() >= 18 && b[12..16] == [0; 4]).then_some(())
    });
    call("svc", &["-u", "web"], &s.path);
    let again = wait_up(&mut r, &web, pid);
    assert!(again != pid);
    victim.assert_untouched();
    assert!(
        !fs::symlink_metadata(web.join("supervise/status"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_symlink_at_the_notify_socket_or_message_is_refused() {
    for (name, want) in [
        ("notify", "a socket"),
        ("message.new", "a regular file of its own"),
    ] {
        let s = Scratch::new("hostile-notify");
        let web = service(&s);
        fs::write(web.join("notify"), "").unwrap();
        let victim = Victim::new(&s, "victim");
        symlink(&victim.path, web.join("supervise").join(name)).unwrap();
        let (code, err) = refused(&web);
        assert_eq!(err, message(&web, name, "a symbolic link", want), "{name}");
        assert_eq!(code, 111);
        victim.assert_untouched();
    }
}

#[test]
fn a_supervise_that_is_not_a_directory_is_refused() {
    let s = Scratch::new("hostile-notdir");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::write(web.join("supervise"), "").unwrap();
    let (code, err) = refused(&web);
    assert_eq!(
        err,
        format!(
            "supervise: fatal: unable to use {}/supervise: it is a regular file, not a directory\n",
            web.display()
        )
    );
    assert_eq!(code, 111);
}
