//! svstat's output, byte for byte, and its exit codes.

mod common;

use common::*;
use std::fs;

#[test]
fn lines_are_daemontools_lines() {
    let s = Scratch::new("svstat-lines");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let line = |s: &Scratch| call("svstat", &["web"], &s.path).1;
    let re_up = format!("web: up (pid {pid}) ");
    assert!(
        line(&s).starts_with(&re_up) && line(&s).ends_with(" seconds\n"),
        "{}",
        line(&s)
    );

    fs::write(web.join("down"), "").unwrap();
    assert!(
        line(&s).ends_with(" seconds, normally down\n"),
        "{}",
        line(&s)
    );
    call("svc", &["-p", "web"], &s.path);
    wait_for("paused", || {
        line(&s)
            .ends_with(", normally down, paused\n")
            .then_some(())
    });
    call("svc", &["-c", "web"], &s.path);
    fs::remove_file(web.join("down")).unwrap();

    // svc -o: daemontools' line has no "want down" (its supervise wants
    // nothing), though svkit's status byte says `d` as runit's does.
    call("svc", &["-o", "web"], &s.path);
    wait_for("status to say want d", || {
        (status_bytes(&web)?[17] == b'd').then_some(())
    });
    let l = line(&s);
    assert!(l.starts_with(&re_up) && l.ends_with(" seconds\n"), "{l}");
    call("svc", &["-d", "-wd", "-T", "10000", "web"], &s.path);
    let l = line(&s);
    assert!(
        l.starts_with("web: down ") && l.ends_with(" seconds, normally up\n"),
        "{l}"
    );
}

/// `svc -o` on a normally-down service, side by side with daemontools'
/// supervise, svc and svstat on a twin service.
#[test]
fn once_reads_as_daemontools_prints_it() {
    let s = Scratch::new("svstat-once");
    let (ours, theirs) = (s.join("ours"), s.join("theirs"));
    for dir in [&ours, &theirs] {
        script(dir.join("run"), "exec sleep 1000");
        fs::write(dir.join("down"), "").unwrap();
    }
    let mut r = Reaper::new();
    start_supervise(&mut r, &ours);
    r.spawn(std::process::Command::new("/usr/bin/supervise").arg(&theirs));
    r.watch_dir(&theirs);
    wait_for("daemontools' supervise", || {
        status_bytes(&theirs).map(|_| ())
    });
    assert_eq!(call("svc", &["-o", "ours"], &s.path).0, 0);
    let o = std::process::Command::new("/usr/bin/svc")
        .args(["-o", "theirs"])
        .current_dir(&s.path)
        .status()
        .expect("daemontools' svc: install daemontools (see .ci/run)");
    assert!(o.success());
    let (a, b) = (wait_up(&mut r, &ours, 0), wait_up(&mut r, &theirs, 0));
    // Pids and seconds differ; the rest of the line must not.
    let shape = |line: String, pid: i32| {
        let line = line.replace(&format!("(pid {pid})"), "(pid N)");
        let (head, tail) = line.split_once(") ").unwrap();
        let tail = tail.split_once(' ').unwrap().1.to_string();
        format!("{head}) T {tail}")
    };
    let daemontools = std::process::Command::new("/usr/bin/svstat")
        .arg("theirs")
        .current_dir(&s.path)
        .output()
        .unwrap();
    let theirs_line = shape(String::from_utf8(daemontools.stdout).unwrap(), b);
    assert_eq!(theirs_line, "theirs: up (pid N) T seconds, normally down\n");
    let ours_line = shape(call("svstat", &["ours"], &s.path).1, a);
    assert_eq!(ours_line, "ours: up (pid N) T seconds, normally down\n");
}

#[test]
fn not_running_and_unreadable_dirs() {
    let s = Scratch::new("svstat-bad");
    fs::create_dir_all(s.join("idle")).unwrap();
    fs::write(s.join("file"), "").unwrap();
    let (code, out, err) = call("svstat", &["idle", "nope", "file"], &s.path);
    assert_eq!(code, 111);
    assert_eq!(
        out,
        "idle: supervise not running\nnope: unable to chdir: No such file or directory\nfile: unable to chdir: Not a directory\n"
    );
    // Once, on stdout, as daemontools' svstat says it: no stderr echo.
    assert_eq!(err, "");
    let (code, out, _) = call("svstat", &["idle"], &s.path);
    assert_eq!((code, out.as_str()), (0, "idle: supervise not running\n"));
}

#[test]
fn a_garbled_status_is_bad_format() {
    let s = Scratch::new("svstat-garbled");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    for junk in [&b"short"[..], &[0xffu8; 54][..], &[0u8; 25][..]] {
        // Replace it the way supervise does, so the running one is not
        // disturbed mid-write; it rewrites the file on its next change.
        fs::write(web.join("supervise/junk"), junk).unwrap();
        fs::rename(web.join("supervise/junk"), web.join("supervise/status")).unwrap();
        let (code, out, err) = call("svstat", &["web"], &s.path);
        assert_eq!(code, 111);
        assert_eq!(out, "web: unable to read supervise/status: bad format\n");
        assert_eq!(err, "", "said once, on stdout");
        // Where stdout has no line to carry it, stderr says it.
        let (code, _, err) = call("svstat", &["--prometheus", "web"], &s.path);
        assert_eq!(code, 111);
        assert_eq!(
            err,
            "svstat: warning: unable to read web/supervise/status: bad format\n"
        );
    }
}

#[test]
fn deaths_and_back_off_are_appended() {
    let s = Scratch::new("svstat-deaths");
    let web = s.join("web");
    script(web.join("run"), "exit 1");
    fs::write(web.join("backoff"), "60000 60000").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let l = wait_for("backing off", || {
        let l = call("svstat", &["web"], &s.path).1;
        l.contains("backing off").then_some(l)
    });
    assert!(
        l.starts_with("web: down ") && l.contains(", normally up, want up, backing off "),
        "{l}"
    );
    assert!(l.ends_with(" seconds, 1 death\n"), "{l}");
}

#[test]
fn ready_is_shown_only_for_services_with_a_readiness_mechanism() {
    let s = Scratch::new("svstat-ready");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    script(web.join("check"), "exit 0");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // Ready once the check has passed; a check too slow on a loaded
    // machine fails and is retried, so wait for it.
    let said = |s: &Scratch| {
        wait_for("svstat to say ready", || {
            let l = call("svstat", &["web"], &s.path).1;
            l.contains(" seconds, ready ").then_some(())
        })
    };
    said(&s);
    // supervise published the mechanism it found at the start: svstat
    // reads no setting, so one changed since counts from the next start.
    fs::remove_file(web.join("check")).unwrap();
    said(&s);
}

#[test]
fn json_has_one_object_per_dir() {
    let s = Scratch::new("svstat-json");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::create_dir_all(s.join("idle")).unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let (code, out, _) = call("svstat", &["--json", "web", "idle"], &s.path);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(&format!(
            "{{\"dir\":\"web\",\"supervise\":true,\"state\":\"run\",\"up\":true,\"pid\":{pid},"
        )),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("\"normally_up\":true,\"want\":\"up\",\"paused\":false,\"ready\":true"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "{\"dir\":\"idle\",\"supervise\":false}");
}

#[test]
fn check_modes_answer_with_the_exit_code_alone() {
    let s = Scratch::new("svstat-check");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    fs::create_dir_all(s.join("idle")).unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    assert_eq!(
        call("svstat", &["-u", "web"], &s.path),
        (0, String::new(), String::new())
    );
    assert_eq!(call("svstat", &["-r", "web"], &s.path).0, 0);
    assert_eq!(call("svstat", &["-d", "web"], &s.path).0, 1);
    assert_eq!(
        call("svstat", &["-u", "web", "idle"], &s.path).0,
        1,
        "idle has no supervise"
    );
    assert_eq!(call("svstat", &["-u", "web", "nope"], &s.path).0, 111);
    call("svc", &["-d", "-wd", "-T", "10000", "web"], &s.path);
    assert_eq!(call("svstat", &["-d", "web"], &s.path).0, 0);
}

#[test]
fn usage_errors_exit_100() {
    let s = Scratch::new("svstat-usage");
    let (code, _, err) = call("svstat", &[], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            100,
            "svstat: fatal: missing dir\nsvstat: usage: svstat [--json | --prometheus | -u | -r | -d] dir...\n"
        )
    );
    let (code, _, err) = call("svstat", &["-x", "a"], &s.path);
    assert_eq!(
        (code, err.as_str()),
        (
            100,
            "svstat: fatal: invalid option -x\nsvstat: usage: svstat [--json | --prometheus | -u | -r | -d] dir...\n"
        )
    );
}

/// Whether the ELF file at `path` asks for a dynamic loader (PT_INTERP).
fn wants_a_loader(path: &std::path::Path) -> bool {
    let elf = fs::read(path).unwrap();
    let word = |at: usize, n: usize| {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&elf[at..at + n]);
        u64::from_le_bytes(b) as usize
    };
    assert_eq!(&elf[..5], b"\x7fELF\x02", "a 64-bit ELF file");
    let (phoff, phentsize, phnum) = (word(0x20, 8), word(0x36, 2), word(0x38, 2));
    (0..phnum).any(|i| word(phoff + i * phentsize, 4) == 3)
}

/// Health scripts run svstat all the time: without ld.so and libc.so to
/// map and relocate, a call costs a fifth (build.rs, README).
#[cfg(target_os = "linux")]
#[test]
fn svc_svstat_and_svok_need_no_dynamic_loader() {
    for name in ["svc", "svstat", "svok", "supervise"] {
        assert!(!wants_a_loader(&bin(name)), "{name}");
    }
    // setuidgid does (NSS): the check can tell the two apart.
    assert!(wants_a_loader(&bin("setuidgid")));
}

/// Runs svkit's svstat as nobody (through setuidgid) in `s`.
fn svstat_as_nobody(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    as_nobody(s, "svstat", args)
}

/// `promtool check metrics` on an exposition: no complaint.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    let mut p = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool: install prometheus (see .ci/run)");
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = p.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && said.is_empty(),
        "promtool: {said}\n{text}"
    );
}

#[test]
fn anyone_reads_a_root_owned_service() {
    let s = Scratch::new("svstat-nobody");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    let pid = wait_up(&mut r, &web, 0);
    let (code, out, err) = svstat_as_nobody(&s, &["web"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with(&format!("web: up (pid {pid}) ")), "{out}");
    let (code, out, _) = svstat_as_nobody(&s, &["--json", "web"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\"supervise\":true,\"state\":\"run\",\"up\":true"),
        "{out}"
    );
    let (code, out, _) = svstat_as_nobody(&s, &["--prometheus", "web"]);
    assert_eq!(code, 0);
    for line in [
        "svkit_supervised{service=\"web\"} 1\n",
        "svkit_status_readable{service=\"web\"} 1\n",
        "svkit_up{service=\"web\"} 1\n",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    promtool_accepts(&out);
    assert_eq!(svstat_as_nobody(&s, &["-u", "web"]).0, 0);
}

#[test]
fn an_unreadable_status_is_not_a_missing_supervise() {
    let s = Scratch::new("svstat-unreadable");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // Held until supervise next publishes (nothing changes meanwhile).
    let status = web.join("supervise/status");
    fs::set_permissions(&status, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (code, out, _) = svstat_as_nobody(&s, &["--prometheus", "web"]);
    assert_eq!(code, 111);
    assert!(
        out.contains("svkit_supervised{service=\"web\"} 1\n"),
        "{out}"
    );
    assert!(
        out.contains("svkit_status_readable{service=\"web\"} 0\n"),
        "{out}"
    );
    assert!(!out.contains("svkit_up{"), "{out}");
    promtool_accepts(&out);
}

#[test]
fn a_supervise_without_status_yet_is_starting() {
    let s = Scratch::new("svstat-starting");
    let web = s.join("web");
    script(web.join("run"), "exec sleep 1000");
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    // The window before supervise's first publish, held open: it
    // publishes again only when something changes.
    fs::remove_file(web.join("supervise/status")).unwrap();
    assert_eq!(
        call("svstat", &["web"], &s.path),
        (0, "web: supervise starting\n".into(), "".into())
    );
    assert_eq!(
        call("svstat", &["--json", "web"], &s.path).1,
        "{\"dir\":\"web\",\"supervise\":true,\"starting\":true}\n"
    );
    assert_eq!(call("svstat", &["-u", "web"], &s.path).0, 1);
}

#[test]
fn a_scanned_tree_lists_each_service_and_its_logger() {
    let s = Scratch::new("svstat-tree");
    let tree = s.join("service");
    for d in ["web", "web/log", "db", ".hidden"] {
        script(tree.join(d).join("run"), "exec sleep 1000");
    }
    fs::write(tree.join("README"), "not a service\n").unwrap();
    let mut r = Reaper::new();
    start_supervise(&mut r, &tree.join("web"));
    start_supervise(&mut r, &tree.join("web/log"));
    let web = wait_up(&mut r, &tree.join("web"), 0);
    let log = wait_up(&mut r, &tree.join("web/log"), 0);
    let (code, out, err) = call("svstat", &["service"], &s.path);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "service/db: supervise not running");
    assert!(
        lines[1].starts_with(&format!("service/web: up (pid {web}) ")),
        "{out}"
    );
    assert!(
        lines[2].starts_with(&format!("service/web/log: up (pid {log}) ")),
        "{out}"
    );
    let (_, json, _) = call("svstat", &["--json", "service/"], &s.path);
    let dirs: Vec<&str> = json.lines().map(|l| l.split('"').nth(3).unwrap()).collect();
    assert_eq!(dirs, ["service/db", "service/web", "service/web/log"]);
    let (_, prom, _) = call("svstat", &["--prometheus", "service"], &s.path);
    for svc in ["service/db", "service/web", "service/web/log"] {
        assert!(
            prom.contains(&format!("svkit_supervised{{service=\"{svc}\"}}")),
            "{prom}"
        );
    }
    promtool_accepts(&prom);
    // A service dir is still itself, not its log.
    let (_, out, _) = call("svstat", &["service/web"], &s.path);
    assert_eq!(out.lines().count(), 1, "{out}");
}

/// The value of `metric` for service `svc` in an exposition.
fn sample(text: &str, metric: &str, svc: &str) -> Option<f64> {
    let head = format!("{metric}{{service=\"{svc}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&head))
        .map(|v| v.parse().unwrap())
}

#[test]
fn resource_metrics_follow_what_the_service_uses() {
    let s = Scratch::new("svstat-usage");
    let web = s.join("web");
    // Waits for `grow`, holds 64 MB in a shell variable, waits for
    // `burn`, counts to a million: memory, then CPU, on cue.
    script(
        web.join("run"),
        "while [ ! -e grow ]; do sleep 0.05; done\n\
         x=$(head -c 64000000 /dev/zero | tr '\\0' a)\n\
         touch grown\n\
         while [ ! -e burn ]; do sleep 0.05; done\n\
         i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done\n\
         touch burnt\n\
         while :; do sleep 1; done",
    );
    let mut r = Reaper::new();
    start_supervise(&mut r, &web);
    wait_up(&mut r, &web, 0);
    let prom = || {
        let (code, out, err) = call("svstat", &["--prometheus", "web"], &s.path);
        assert_eq!((code, err.as_str()), (0, ""), "{out}");
        out
    };
    let before = prom();
    promtool_accepts(&before);
    assert!(before.contains("# TYPE svkit_cpu_seconds_total counter\n"));
    let rss0 = sample(&before, "svkit_memory_resident_bytes", "web").unwrap();
    let cpu0 = sample(&before, "svkit_cpu_seconds_total", "web").unwrap();
    assert!(sample(&before, "svkit_processes", "web").unwrap() >= 1.0);
    // stdin, stdout, stderr at least.
    assert!(sample(&before, "svkit_open_fds", "web").unwrap() >= 3.0);

    fs::write(web.join("grow"), "").unwrap();
    wait_for("the service to hold 64 MB", || {
        web.join("grown").exists().then_some(())
    });
    let grown = prom();
    let rss1 = sample(&grown, "svkit_memory_resident_bytes", "web").unwrap();
    assert!(rss1 > rss0 + 50e6, "{rss0} -> {rss1}");

    fs::write(web.join("burn"), "").unwrap();
    wait_for("the service to burn CPU", || {
        web.join("burnt").exists().then_some(())
    });
    let burnt = prom();
    promtool_accepts(&burnt);
    let cpu1 = sample(&burnt, "svkit_cpu_seconds_total", "web").unwrap();
    assert!(cpu1 >= cpu0 + 0.2, "{cpu0} -> {cpu1}");

    let (_, json, _) = call("svstat", &["--json", "web"], &s.path);
    for field in [
        "\"memory_bytes\":",
        "\"cpu_seconds\":",
        "\"open_fds\":",
        "\"processes\":",
    ] {
        assert!(json.contains(field), "{field}: {json}");
    }
}

/// The example alerting rules of svstat.8, between its `rules begin` and
/// `rules end` comments, as a file: what a user copies out of the page.
#[test]
fn the_man_pages_alerting_rules_pass_promtool() {
    let page = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/svstat.8")).unwrap();
    let rules: Vec<&str> = page
        .lines()
        .skip_while(|l| !l.starts_with(".\\\" rules begin"))
        .skip(1)
        .take_while(|l| !l.starts_with(".\\\" rules end"))
        .filter(|l| !l.starts_with('.'))
        .collect();
    assert!(rules.len() > 10, "no rules found in svstat.8");
    let text = rules.join("\n").replace("\\-", "-").replace("\\e", "\\");
    for alert in ["HighMemory", "RestartStorm", "NotReady", "HighCPU"] {
        assert!(text.contains(&format!("alert: Service{alert}")), "{alert}");
    }
    let s = Scratch::new("svstat-rules");
    let file = s.join("svkit.rules.yml");
    fs::write(&file, text + "\n").unwrap();
    let o = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool: install prometheus (see .ci/run)");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
