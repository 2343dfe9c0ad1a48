//! logsink against real pipes, signals, a full disk and daemontools'
//! multilog.

mod common;

use common::*;
use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A logsink started with a pipe on stdin and stderr in a file; killed by
/// pid when dropped.
struct Logger {
    child: Child,
    err: PathBuf,
}

impl Logger {
    fn start(cwd: &Path, script: &[&str]) -> Logger {
        Logger::start_with(Command::new(bin("logsink")).args(script), cwd)
    }

    fn start_with(cmd: &mut Command, cwd: &Path) -> Logger {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let err = cwd.join(format!("logsink-{n}.err"));
        let child = cmd
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Logger { child, err }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn stdin(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().unwrap()
    }

    /// Closes stdin and waits for the exit code.
    fn finish(&mut self) -> i32 {
        drop(self.child.stdin.take());
        self.wait()
    }

    fn wait(&mut self) -> i32 {
        let child = &mut self.child;
        wait_for("logsink to exit", || child.try_wait().unwrap())
            .code()
            .unwrap_or(-1)
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs logsink over `input` to the end; returns (exit code, stderr).
fn feed(cwd: &Path, script: &[&str], input: &[u8]) -> (i32, String) {
    let mut l = Logger::start(cwd, script);
    // A logsink that exits at once (lock held, bad script) may leave the
    // input unread: its exit code says so, a broken pipe is no error.
    if let Err(e) = l.stdin().write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let code = l.finish();
    (code, l.stderr())
}

/// `n` numbered lines of `width` bytes, newline included.
fn numbered(from: usize, n: usize, width: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * width);
    for i in from..from + n {
        let head = format!("{i:09} ");
        v.extend_from_slice(head.as_bytes());
        v.extend(std::iter::repeat_n(b'x', width - head.len() - 1));
        v.push(b'\n');
    }
    v
}

/// The old files of a log dir, oldest first.
fn old_files(dir: &Path) -> Vec<PathBuf> {
    // Polled while logsink creates and renames: missing is empty.
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('@'))
        .collect();
    v.sort();
    v
}

/// Everything a log dir holds, oldest first, `current` last.
fn stored(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for f in old_files(dir) {
        all.extend(fs::read(f).unwrap_or_default());
    }
    all.extend(fs::read(dir.join("current")).unwrap_or_default());
    all
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Each line with its first `n` bytes (the stamp) removed.
fn unstamped(b: &[u8], n: usize) -> Vec<u8> {
    b.split_inclusive(|&c| c == b'\n')
        .flat_map(|l| l[n.min(l.len())..].to_vec())
        .collect()
}

#[test]
fn every_line_comes_out_once_across_rotations() {
    let s = Scratch::new("ls-count");
    let input = numbered(0, 30_000, 100);
    let (code, err) = feed(&s.path, &["s100000", "n100", "./main"], &input);
    assert_eq!((code, err.as_str()), (0, ""));
    let main = s.join("main");
    assert_eq!(stored(&main), input);
    let old = old_files(&main);
    assert!(old.len() >= 25, "{} old files", old.len());
    for f in &old {
        let b = fs::read(f).unwrap();
        assert_eq!(b.last(), Some(&b'\n'), "{f:?} ends at a line boundary");
        assert!(
            b.len() as u64 <= 100_000 && b.len() >= 98_000,
            "{}",
            b.len()
        );
        assert!(f.to_string_lossy().ends_with(".s"));
        assert_eq!(mode(f), 0o744);
    }
    assert_eq!(
        mode(&main.join("current")),
        0o744,
        "finished at end of input"
    );
    assert_eq!(mode(&main.join("lock")), 0o600);
}

#[test]
fn n_bounds_the_number_of_old_files() {
    let s = Scratch::new("ls-n");
    let input = numbered(0, 5000, 100);
    assert_eq!(feed(&s.path, &["s4096", "n3", "./main"], &input).0, 0);
    let main = s.join("main");
    assert_eq!(old_files(&main).len(), 2);
    // What is kept is the tail of the input, whole lines.
    let kept = stored(&main);
    assert!(input.ends_with(&kept) && kept.len() > 4000);
    assert_eq!(kept[0..10], input[input.len() - kept.len()..][0..10]);
}

#[test]
fn long_lines_pass_through_whole() {
    let s = Scratch::new("ls-long");
    let mut input = b"short\n".to_vec();
    input.extend(std::iter::repeat_n(b'y', 1_000_000));
    input.extend_from_slice(b"\nend\n");
    // n1000: the long line now fills some 250 files of s4096.
    assert_eq!(
        feed(&s.path, &["t", "s4096", "n1000", "./main"], &input).0,
        0
    );
    assert_eq!(unstamped(&stored(&s.join("main")), 26), input);
}

/// The size of each file of a log dir, oldest first, `current` last.
fn file_sizes(dir: &Path) -> Vec<u64> {
    let mut files = old_files(dir);
    files.push(dir.join("current"));
    files
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .collect()
}

#[test]
fn a_line_longer_than_s_is_split_across_files_as_multilog_does() {
    let s = Scratch::new("ls-split");
    let mut input = Vec::new();
    for (c, n) in [
        (b'a', 10),
        (b'B', 6000),
        (b'c', 3000),
        (b'D', 9000),
        (b'e', 10),
    ] {
        input.extend(std::iter::repeat_n(c, n));
        input.push(b'\n');
    }
    let (code, err) = feed(&s.path, &["s4096", "n100", "./main"], &input);
    assert_eq!((code, err.as_str()), (0, ""));
    let (mcode, merr) = multilog(&s.path, &["s4096", "n100", "./multi"], &input);
    assert_eq!((mcode, merr.as_str()), (0, ""));
    let (ours, theirs) = (s.join("main"), s.join("multi"));
    assert_eq!(file_sizes(&ours), file_sizes(&theirs));
    assert_eq!(file_sizes(&ours), [4096, 4096, 4096, 4096, 1641]);
    assert_eq!(stored(&ours), input);
    assert_eq!(stored(&theirs), input);
}

#[test]
fn a_partial_final_line_gets_its_newline() {
    let s = Scratch::new("ls-partial");
    assert_eq!(feed(&s.path, &["./main"], b"one\ntwo").0, 0);
    assert_eq!(fs::read(s.join("main/current")).unwrap(), b"one\ntwo\n");
    // A clean end leaves current to be appended to by the next run.
    assert_eq!(feed(&s.path, &["./main"], b"three\n").0, 0);
    assert_eq!(
        fs::read(s.join("main/current")).unwrap(),
        b"one\ntwo\nthree\n"
    );
    assert!(old_files(&s.join("main")).is_empty());
}

#[test]
fn patterns_alerts_and_status_file_select_lines() {
    let s = Scratch::new("ls-select");
    // A longer line first: the status file holds the last one alone.
    let input = b"STAT 10\nhello\nnamed[12]: Cleaned cache of 3 RRs\nSTAT 2\nfatal: x\n";
    let script = [
        "-named[*]: Cleaned cache *",
        "./all",
        "-*",
        "+STAT*",
        "=status",
        "./stat",
        "-*",
        "+fatal: *",
        "e",
    ];
    let (code, err) = feed(&s.path, &script, input);
    assert_eq!(code, 0);
    assert_eq!(
        fs::read_to_string(s.join("all/current")).unwrap(),
        "STAT 10\nhello\nSTAT 2\nfatal: x\n"
    );
    assert_eq!(
        fs::read_to_string(s.join("stat/current")).unwrap(),
        "STAT 10\nSTAT 2\n"
    );
    let status = fs::read(s.join("status")).unwrap();
    assert_eq!(status.len(), 1001);
    assert_eq!(mode(&s.join("status")), 0o600, "as multilog makes it");
    assert!(status.starts_with(b"STAT 2\n\n\n"));
    assert!(status.iter().skip(6).all(|&b| b == b'\n'));
    assert_eq!(err, "fatal: x\n");
}

#[test]
fn alerts_show_200_bytes_of_a_long_line() {
    let s = Scratch::new("ls-alert");
    let line = "z".repeat(300) + "\n";
    let (code, err) = feed(&s.path, &["e"], line.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(err, "z".repeat(200) + "...\n");
}

/// Runs daemontools' multilog; fails with an install hint when missing.
fn multilog(cwd: &Path, script: &[&str], input: &[u8]) -> (i32, String) {
    // stderr to a file: multilog blocks on a full stderr pipe, with its
    // signals blocked, while the test is still writing its input.
    let err = cwd.join("multilog.err");
    let mut c = Command::new("/usr/bin/multilog")
        .args(script)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("multilog: {e}; install daemontools"));
    let pid = c.id() as i32;
    let fed = c.stdin.take().unwrap().write_all(input);
    let code = wait_for("multilog to exit", || c.try_wait().unwrap());
    let code = code.code().unwrap_or(-1);
    kill(pid, libc::SIGKILL);
    // A multilog that exits at once (its lock is held) may leave the input
    // unread: a broken pipe then is no error.
    if let Err(e) = fed {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    (code, fs::read_to_string(err).unwrap())
}

#[test]
fn stores_what_multilog_stores_byte_for_byte() {
    let s = Scratch::new("ls-multilog");
    let mut input = numbered(0, 4000, 60);
    // Lines longer than multilog's 1000-byte line buffer, and an empty one.
    input.extend(b"\n");
    input.extend(std::iter::repeat_n(b'w', 2500));
    input.extend(b" 7 tail\nlast");
    let script = |a: &str, b: &str, st: &str| -> Vec<String> {
        [
            "t", "s5000", "n1000", "-* *5*", "+* *15*", "e", st, a, "-*", "+* *7 *", b,
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let ours = script("./a", "./b", "=st");
    let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
    let theirs = script("./ma", "./mb", "=mst");
    let theirs: Vec<&str> = theirs.iter().map(String::as_str).collect();
    let (code, err) = feed(&s.path, &ours, &input);
    let (mcode, merr) = multilog(&s.path, &theirs, &input);
    assert_eq!((code, mcode), (0, 0));
    for (a, m) in [("a", "ma"), ("b", "mb")] {
        let (a, m) = (stored(&s.join(a)), stored(&s.join(m)));
        assert!(a.len() > 1000);
        assert_eq!(unstamped(&a, 26), unstamped(&m, 26), "{a:?}");
    }
    assert_eq!(
        unstamped(err.as_bytes(), 26),
        unstamped(merr.as_bytes(), 26)
    );
    let (st, mst) = (
        fs::read(s.join("st")).unwrap(),
        fs::read(s.join("mst")).unwrap(),
    );
    assert_eq!(st.len(), 1001);
    assert_eq!(st[26..], mst[26..]);
}

#[test]
fn processor_output_and_state_carry_over() {
    let s = Scratch::new("ls-proc");
    // Counts the lines of each finished file, adding to the total it keeps
    // through fd 5 -> fd 4; its output replaces the file.
    let counter = "!n=$(cat <&4); c=$(wc -l); t=$(( ${n:-0} + c )); echo $t >&5; echo total $t";
    let input = numbered(0, 1000, 100);
    assert_eq!(
        feed(&s.path, &["s10000", counter, "n100", "./main"], &input).0,
        0
    );
    let main = s.join("main");
    let old = old_files(&main);
    assert!(old.len() >= 9, "{} old files", old.len());
    let current_lines = lines(&main.join("current")).len();
    let total = 1000 - current_lines;
    let last = fs::read_to_string(old.last().unwrap()).unwrap();
    assert_eq!(last, format!("total {total}\n"));
    assert_eq!(
        fs::read_to_string(main.join("state")).unwrap(),
        format!("{total}\n")
    );
    for f in ["previous", "processed", "newstate"] {
        assert!(!main.join(f).exists(), "{f} left behind");
    }
}

#[test]
fn a_failing_processor_is_run_again() {
    let s = Scratch::new("ls-proc-fail");
    // Fails the first time, then passes its input through.
    let flaky = "!if [ -e ../failed ]; then cat; else touch ../failed; exit 1; fi";
    let mut l = Logger::start(&s.path, &["s4096", flaky, "./main"]);
    l.stdin().write_all(&numbered(0, 100, 100)).unwrap();
    assert_eq!(l.finish(), 0);
    assert!(
        l.stderr()
            .contains("logsink: warning: processor failed in ./main, pausing")
    );
    assert_eq!(stored(&s.join("main")), numbered(0, 100, 100));
}

#[test]
fn a_second_logsink_on_the_same_dir_exits_111_without_reading() {
    let s = Scratch::new("ls-lock");
    let mut first = Logger::start(&s.path, &["./main"]);
    first.stdin().write_all(b"one\n").unwrap();
    wait_for("first line stored", || {
        (fs::read(s.join("main/current")).ok()? == b"one\n").then_some(())
    });
    let input = s.join("input");
    fs::write(&input, "two\n").unwrap();
    let mut f = fs::File::open(&input).unwrap();
    let o = Command::new(bin("logsink"))
        .arg("./main")
        .current_dir(&s.path)
        .stdin(f.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(111));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("logsink: fatal: unable to lock ./main/lock: "),
        "{err}"
    );
    assert_eq!(f.stream_position().unwrap(), 0, "input left unread");
    let mut rest = String::new();
    f.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "two\n");
    assert_eq!(first.finish(), 0);
}

#[test]
fn usage_errors_exit_100() {
    let s = Scratch::new("ls-usage");
    let usage = "logsink: usage: logsink script\n";
    for (script, why) in [
        (
            &["./a", "t"][..],
            "action t comes too late: t and T stamp every line, so they come first",
        ),
        (
            &["t", "main"],
            "action main is unknown: a directory action starts with . or /",
        ),
        (
            &["t", "logs"],
            "action logs is unknown: l takes a line length of 1000 bytes or more, \
             as in l4096; a directory action starts with . or /",
        ),
        (
            &["sbig", "./a"],
            "action sbig is unknown: s takes a size in bytes, as in s99999; \
             a directory action starts with . or /",
        ),
    ] {
        let (code, _, err) = call("logsink", script, &s.path);
        let want = format!("logsink: fatal: unable to parse script: {why}\n{usage}");
        assert_eq!((code, err), (100, want), "{script:?}");
    }
    assert!(!s.join("a").exists());
}

#[test]
fn no_script_is_a_usage_error_without_reading_stdin() {
    let s = Scratch::new("ls-noscript");
    // stdin stays an open pipe: a logsink that read it would never end.
    let mut l = Logger::start(&s.path, &[]);
    assert_eq!(l.wait(), 100);
    assert_eq!(
        l.stderr(),
        "logsink: fatal: unable to parse script: no action: give at least one, \
         such as ./main\nlogsink: usage: logsink script\n"
    );
}

#[test]
fn sigterm_finishes_the_line_then_exits() {
    let s = Scratch::new("ls-term");
    let mut l = Logger::start(&s.path, &["./main"]);
    l.stdin().write_all(b"a\nb").unwrap();
    l.stdin().flush().unwrap();
    wait_for("first line stored", || {
        (fs::read(s.join("main/current")).ok()? == b"a\n").then_some(())
    });
    kill(l.pid(), libc::SIGTERM);
    l.stdin().write_all(b"c\nd\n").unwrap();
    assert_eq!(l.wait(), 0);
    assert_eq!(fs::read(s.join("main/current")).unwrap(), b"a\nbc\n");
    assert_eq!(mode(&s.join("main/current")), 0o744);
}

#[test]
fn sigterm_when_idle_exits_at_once() {
    let s = Scratch::new("ls-term-idle");
    let mut l = Logger::start(&s.path, &["./main"]);
    l.stdin().write_all(b"a\n").unwrap();
    wait_for("line stored", || {
        (fs::read(s.join("main/current")).ok()? == b"a\n").then_some(())
    });
    kill(l.pid(), libc::SIGTERM);
    assert_eq!(l.wait(), 0);
}

#[test]
fn sigalrm_rotates_a_nonempty_current() {
    let s = Scratch::new("ls-alrm");
    let main = s.join("main");
    let mut l = Logger::start(&s.path, &["./main"]);
    l.stdin().write_all(b"a\n").unwrap();
    wait_for("line stored", || {
        (fs::read(main.join("current")).ok()? == b"a\n").then_some(())
    });
    kill(l.pid(), libc::SIGALRM);
    wait_for("rotation", || (old_files(&main).len() == 1).then_some(()));
    assert_eq!(fs::read(&old_files(&main)[0]).unwrap(), b"a\n");
    assert_eq!(fs::read(main.join("current")).unwrap(), b"");
    assert_eq!(mode(&main.join("current")), 0o644);
    // An empty current is not rotated.
    kill(l.pid(), libc::SIGALRM);
    kill(l.pid(), libc::SIGTERM);
    assert_eq!(l.wait(), 0);
    assert_eq!(old_files(&main).len(), 1);
    assert_eq!(stored(&main), b"a\n");
}

#[test]
fn after_sigkill_a_restart_keeps_every_line() {
    let s = Scratch::new("ls-crash");
    let main = s.join("main");
    let first = numbered(0, 20_000, 100);
    let mut l = Logger::start(&s.path, &["s100000", "n1000", "./main"]);
    l.stdin().write_all(&first).unwrap();
    wait_for("every line written", || {
        (stored(&main).len() == first.len()).then_some(())
    });
    kill(l.pid(), libc::SIGKILL);
    l.wait();
    assert_eq!(mode(&main.join("current")), 0o644, "not finished");
    let second = numbered(20_000, 1000, 100);
    assert_eq!(feed(&s.path, &["s100000", "n1000", "./main"], &second).0, 0);
    let all = stored(&main);
    assert_eq!(all.len(), first.len() + second.len());
    assert_eq!(all, [first, second].concat());
    let u: Vec<_> = old_files(&main)
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".u"))
        .collect();
    assert_eq!(u.len(), 1, "the interrupted current is kept as .u");
}

/// Fails unless every number below `lines` starts some line stored in
/// `log` (repeats allowed: at least once).
fn assert_every_number_stored(log: &Path, lines: usize) {
    let mut seen = vec![false; lines];
    for line in stored(log).split(|&c| c == b'\n') {
        let n = line
            .get(..9)
            .and_then(|d| std::str::from_utf8(d).ok()?.parse::<usize>().ok());
        if let Some(n) = n.filter(|&n| n < lines) {
            seen[n] = true;
        }
    }
    let lost: Vec<usize> = (0..lines).filter(|&n| !seen[n]).collect();
    let first: Vec<&usize> = lost.iter().take(10).collect();
    assert!(lost.is_empty(), "{} lines lost: {first:?}", lost.len());
}

#[test]
fn under_scan_a_sigkilled_logger_loses_no_line() {
    let s = Scratch::new("ls-scan-kill9");
    let dir = s.join("service");
    let web = dir.join("web");
    let lines = 300_000;
    let tail = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    // seq's stdio writes 4 KiB blocks, so the pipe nearly always ends
    // inside a line, as a real service's does; in batches, so that the
    // kills below fall while lines still come.
    script(
        web.join("run"),
        &format!(
            "for b in $(seq 0 29); do
               seq -f '%09g {tail}' $((b*10000)) $((b*10000+9999))
               sleep 0.05
             done
             exec sleep 1000"
        ),
    );
    script(
        web.join("log/run"),
        &format!("exec {} s16777215 n1000 ./main", bin("logsink").display()),
    );
    let _tree = Tree::scan(&dir);
    let main = web.join("log/main");
    let mut killed = 0;
    for _ in 0..5 {
        let logger = wait_for("the logger to be up", || {
            let p = status_pid(&web.join("log"));
            (p != 0 && p != killed).then_some(p)
        });
        let before = stored_len(&main);
        wait_for("more lines stored", || {
            (stored_len(&main) > before + 100_000).then_some(())
        });
        kill(logger, libc::SIGKILL);
        killed = logger;
        // Restarted now, not after supervise's back-off for short runs.
        wait_for("the logger to be gone", || (!alive(logger)).then_some(()));
        call("svc", &["-u", web.join("log").to_str().unwrap()], &s.path);
    }
    // The last line stored means the writer is done: nothing more comes.
    let last = format!("{:09} {tail}\n", lines - 1);
    wait_for("the last line stored", || {
        stored(&main).ends_with(last.as_bytes()).then_some(())
    });
    assert_every_number_stored(&main, lines);
}

#[test]
fn a_file_on_stdin_is_read_plainly() {
    let s = Scratch::new("ls-file");
    let input = numbered(0, 20_000, 60);
    fs::write(s.join("in"), &input).unwrap();
    let out = Command::new(bin("logsink"))
        .args(["s100000", "n1000", "./main"])
        .current_dir(&s.path)
        .stdin(fs::File::open(s.join("in")).unwrap())
        .output()
        .unwrap();
    assert_eq!(outcome(&out), (0, String::new(), String::new()));
    assert_eq!(stored(&s.join("main")), input);
}

/// Bytes in a log dir's old files and `current`.
fn stored_len(dir: &Path) -> u64 {
    let mut files = old_files(dir);
    files.push(dir.join("current"));
    files
        .iter()
        .filter_map(|f| fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn sigkill_at_any_instant_loses_no_line() {
    let s = Scratch::new("ls-kill9");
    let main = s.join("main");
    let (reader, mut writer) = std::io::pipe().unwrap();
    let lines = 300_000;
    let input = numbered(0, lines, 40);
    // Odd-sized writes, so the pipe nearly always ends inside a line, and
    // paced, so that the kills below fall while lines still come.
    let w = std::thread::spawn(move || {
        for chunk in input.chunks(7919) {
            writer.write_all(chunk).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
    let script = ["s16777215", "n1000", "./main"];
    // Killed by pid when dropped, like every Logger.
    let start = |r: &std::io::PipeReader| Logger {
        child: Command::new(bin("logsink"))
            .args(script)
            .current_dir(&s.path)
            .stdin(Stdio::from(r.try_clone().unwrap()))
            .stderr(fs::File::create(s.join("err")).unwrap())
            .spawn()
            .unwrap(),
        err: s.join("err"),
    };
    // The test holds the read end, as scan does: what a killed logsink
    // did not take waits in the pipe for the next one.
    for _ in 0..8 {
        let mut l = start(&reader);
        let before = stored_len(&main);
        wait_for("more lines stored", || {
            (stored_len(&main) > before + 100_000).then_some(())
        });
        kill(l.pid(), libc::SIGKILL);
        l.wait();
    }
    let mut l = start(&reader);
    w.join().unwrap();
    assert_eq!(l.wait(), 0, "{}", l.stderr());
    assert_every_number_stored(&main, lines);
}

/// A small tmpfs mounted in a scratch dir, unmounted on drop; the test
/// fails where mounting is not allowed.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("cannot run mount");
        // The tests run as root (README): failing to mount is a broken
        // machine, not a pass.
        assert!(
            o.status.success(),
            "cannot mount a tmpfs (needs root): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        );
        Tmpfs(at.to_path_buf())
    }

    /// Fills the file system up but for about `room` bytes.
    fn fill(&self, room: u64) -> PathBuf {
        let filler = self.0.join("filler");
        let mut f = fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        drop(f);
        let len = fs::metadata(&filler).unwrap().len();
        let f = fs::OpenOptions::new().write(true).open(&filler).unwrap();
        f.set_len(len.saturating_sub(room)).unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_blocks_the_writer_and_loses_nothing() {
    let s = Scratch::new("ls-full");
    let fs_ = Tmpfs::mount(&s.join("mnt"), "4m");
    fs_.fill(64 * 1024);
    let input = numbered(0, 20_000, 100);
    let mut l = Logger::start(&s.path, &["s100000", "n1000", "./mnt/log"]);
    let mut stdin = l.child.stdin.take().unwrap();
    let data = input.clone();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&data).unwrap();
    });
    wait_for("a warning about the full disk", || {
        l.stderr().contains("pausing").then_some(())
    });
    let err = l.stderr();
    assert!(
        err.starts_with(
            "logsink: warning: unable to write ./mnt/log/current: No space left on device, pausing"
        ),
        "{err}"
    );
    assert!(alive(l.pid()), "logsink waits, it does not exit");
    assert!(!writer.is_finished(), "the writer is blocked");
    fs::remove_file(s.join("mnt/filler")).unwrap();
    writer.join().unwrap();
    assert_eq!(l.wait(), 0);
    assert_eq!(stored(&s.join("mnt/log")), input);
    assert_eq!(l.stderr().matches("pausing").count(), 1, "reported once");
}

#[test]
fn never_block_discards_counts_and_says_so() {
    let s = Scratch::new("ls-drop");
    let fs_ = Tmpfs::mount(&s.join("mnt"), "4m");
    fs_.fill(16 * 1024);
    let mut l = Logger::start(&s.path, &["b1", "n1000", "./mnt/log"]);
    let input = numbered(0, 20_000, 100);
    // The writer is not blocked for good: all of its input is taken.
    l.stdin().write_all(&input).unwrap();
    fs::remove_file(s.join("mnt/filler")).unwrap();
    l.stdin().write_all(b"after\n").unwrap();
    assert_eq!(l.finish(), 0);
    let text = String::from_utf8(stored(&s.join("mnt/log"))).unwrap();
    let note = text
        .lines()
        .find(|l| l.starts_with("logsink: warning: discarded "))
        .unwrap_or_else(|| {
            panic!(
                "no line saying how many were discarded: {} {:?} {}",
                l.stderr(),
                fs::read_dir(s.join("mnt/log"))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect::<Vec<_>>(),
                text.len()
            )
        });
    let dropped: usize = note.split(' ').nth(3).unwrap().parse().unwrap();
    let kept = text.lines().filter(|l| l.ends_with("xxx")).count();
    assert!(dropped > 0);
    assert!(text.ends_with("after\n"));
    // Whole lines only: each is either kept or discarded.
    assert_eq!(kept + dropped, 20_000);
}

/// Lines stored and lines a log and stderr say were discarded, checking
/// that every line of `log` is whole: a numbered line, a note or `after`.
fn kept_and_discarded(log: &Path, stderr: &str) -> (Vec<usize>, usize) {
    let text = String::from_utf8(stored(log)).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "ends inside a line"
    );
    let count = |rest: &str| -> usize { rest.split(' ').next().unwrap().parse().unwrap() };
    let (mut kept, mut dropped) = (Vec::new(), 0);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("logsink: warning: discarded ") {
            assert!(rest.ends_with(" lines while unable to write"), "{line}");
            dropped += count(rest);
        } else if line != "after" {
            let whole = line.len() == 99 && line[10..].bytes().all(|c| c == b'x');
            assert!(whole, "a line stored in part: {line:?}");
            kept.push(line[..9].parse().unwrap());
        }
    }
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("logsink: warning: discarded ") {
            dropped += count(rest);
        }
    }
    (kept, dropped)
}

#[test]
fn drop_mode_stores_whole_lines_and_says_in_the_log_how_many_went() {
    let s = Scratch::new("ls-drop-whole");
    let fs_ = Tmpfs::mount(&s.join("mnt"), "4m");
    let filler = fs_.fill(16 * 1024);
    let log = s.join("mnt/log");
    let script = ["b1", "n1000", "./mnt/log"];
    // Input ends while the disk is still full.
    let (code, err1) = feed(&s.path, &script, &numbered(0, 20_000, 100));
    assert_eq!(code, 0);
    // The count is in the log if a note still fits, else on stderr.
    let (kept, dropped) = kept_and_discarded(&log, &err1);
    assert_eq!(kept.len() + dropped, 20_000, "{err1}");
    // Then writing resumes while the lines come.
    let mut l = Logger::start(&s.path, &script);
    l.stdin().write_all(&numbered(20_000, 20_000, 100)).unwrap();
    fs::remove_file(filler).unwrap();
    l.stdin().write_all(b"after\n").unwrap();
    assert_eq!(l.finish(), 0);
    let err = err1 + &l.stderr();
    let (mut kept, dropped) = kept_and_discarded(&log, &err);
    assert_eq!(kept.len() + dropped, 40_000, "{err}");
    let text = String::from_utf8(stored(&log)).unwrap();
    assert!(text.ends_with("after\n"));
    assert!(
        text.contains(" lines while unable to write\n"),
        "no note in the log"
    );
    let n = kept.len();
    kept.dedup();
    assert_eq!(kept.len(), n, "a line stored twice");
}

#[test]
fn iso_stamps_are_utc() {
    let s = Scratch::new("ls-iso");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(feed(&s.path, &["T", "./main"], b"x\n").0, 0);
    let line = fs::read_to_string(s.join("main/current")).unwrap();
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{before}"), "+%Y-%m-%d %H:%M"])
        .output()
        .unwrap();
    let want = String::from_utf8(out.stdout).unwrap();
    let after = Command::new("date")
        .args(["-u", "-d", &format!("@{}", before + 60), "+%Y-%m-%d %H:%M"])
        .output()
        .unwrap();
    let next = String::from_utf8(after.stdout).unwrap();
    // The same minute, or the next if the test straddled two.
    assert!(
        line.starts_with(want.trim()) || line.starts_with(next.trim()),
        "{line}"
    );
    assert_eq!(line.len(), 33);
    assert!(line.ends_with("  x\n"));
    assert_eq!(&line[10..11], " ");
    assert_eq!(&line[19..20], ".");
}

#[test]
fn age_rotates_a_quiet_current() {
    let s = Scratch::new("ls-age");
    let main = s.join("main");
    let mut l = Logger::start(&s.path, &["a1", "./main"]);
    l.stdin().write_all(b"a\n").unwrap();
    wait_for("rotation by age", || {
        (old_files(&main).len() == 1).then_some(())
    });
    assert_eq!(fs::read(&old_files(&main)[0]).unwrap(), b"a\n");
    assert_eq!(l.finish(), 0);
    assert_eq!(old_files(&main).len(), 1, "an empty current is left alone");
}

#[test]
fn a_line_length_cap_splits_never_drops() {
    let s = Scratch::new("ls-cap");
    let mut input = "q".repeat(2500).into_bytes();
    input.extend(b"\nok\n");
    assert_eq!(feed(&s.path, &["l1000", "./main"], &input).0, 0);
    let got = fs::read_to_string(s.join("main/current")).unwrap();
    let lens: Vec<usize> = got.lines().map(str::len).collect();
    assert_eq!(lens, [1000, 1000, 500, 2]);
    assert_eq!(
        got.replace('\n', ""),
        String::from_utf8(input).unwrap().replace('\n', "")
    );
}

#[test]
fn z_gzips_rotated_files_in_the_background() {
    let s = Scratch::new("ls-gzip");
    let main = s.join("main");
    let input = numbered(0, 30_000, 100);
    assert_eq!(
        feed(&s.path, &["s100000", "n1000", "z", "./main"], &input).0,
        0
    );
    // The children outlive logsink: wait until every old file is done.
    let old = wait_for("every old file gzipped", || {
        let old = old_files(&main);
        let names: Vec<String> = fs::read_dir(&main)
            .unwrap()
            .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
            .collect();
        let done = old.iter().all(|f| f.to_string_lossy().ends_with(".s.gz"))
            && !names.iter().any(|n| n.starts_with("gzip-"));
        done.then_some(old)
    });
    assert!(old.len() >= 25, "{} old files", old.len());
    let mut all = Vec::new();
    for f in &old {
        assert_eq!(mode(f), 0o744);
        let o = Command::new("gzip").arg("-dc").arg(f).output().unwrap();
        assert!(o.status.success(), "gzip -dc {f:?}");
        assert_eq!(o.stdout.last(), Some(&b'\n'));
        all.extend(o.stdout);
    }
    all.extend(fs::read(main.join("current")).unwrap());
    assert_eq!(all, input);
}

#[test]
fn a_removed_directory_is_made_again() {
    let s = Scratch::new("ls-removed");
    let main = s.join("main");
    let mut l = Logger::start(&s.path, &["./main"]);
    l.stdin().write_all(b"before\n").unwrap();
    wait_for("first line stored", || {
        (fs::read(main.join("current")).ok()? == b"before\n").then_some(())
    });
    fs::remove_dir_all(&main).unwrap();
    l.stdin().write_all(b"after\n").unwrap();
    assert_eq!(l.finish(), 0);
    assert_eq!(fs::read(main.join("current")).unwrap(), b"after\n");
    assert_eq!(
        l.stderr(),
        "logsink: warning: ./main/current was removed, starting a new one\n"
    );
}

/// Lines of random lengths, from empty to past the read buffer (256 KiB)
/// and the rotation size,
/// written in random pieces: whatever the reads cut, every line comes out
/// whole and once, by the fast path and by the line-by-line one.
#[test]
fn lines_of_any_length_survive_any_split() {
    let s = Scratch::new("ls-random");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut input = Vec::new();
    for i in 0..200 {
        let len = match next(10) {
            0 => next(300_000),
            1 => 999 + next(3),
            2 => 0,
            _ => next(300),
        } as usize;
        input.extend(format!("{i} ").as_bytes());
        input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
        input.push(b'\n');
    }
    for (script, stamp) in [
        (&["s100000", "n1000", "./fast"][..], 0),
        (&["t", "s100000", "n1000", "+*", "./slow"], 26),
    ] {
        let mut l = Logger::start(&s.path, script);
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = (1 + next(70_000) as usize).min(rest.len());
            l.stdin().write_all(&rest[..n]).unwrap();
            rest = &rest[n..];
        }
        assert_eq!(l.finish(), 0);
        let dir = s.join(script.last().unwrap());
        let got = unstamped(&stored(&dir), stamp);
        assert!(got == input, "{} differs", dir.display());
    }
}

#[test]
fn z_finishes_what_an_interrupted_run_left() {
    let s = Scratch::new("ls-gzip-left");
    let main = s.join("main");
    fs::create_dir(&main).unwrap();
    let old = main.join("@400000006b0f6ca213a4c6e5.s");
    fs::write(&old, "x\n").unwrap();
    fs::write(main.join("gzip-@400000006b0f6ca213a4c6e5.s"), "half").unwrap();
    assert_eq!(feed(&s.path, &["z", "./main"], b"y\n").0, 0);
    wait_for("the old file gzipped", || (!old.exists()).then_some(()));
    let o = Command::new("gzip")
        .arg("-dc")
        .arg(main.join("@400000006b0f6ca213a4c6e5.s.gz"))
        .output()
        .unwrap();
    assert_eq!(o.stdout, b"x\n");
    assert!(!main.join("gzip-@400000006b0f6ca213a4c6e5.s").exists());
}

#[test]
fn logsink_and_multilog_lock_each_other_out() {
    let s = Scratch::new("ls-lock-peer");
    let mut peer = Logger::start_with(Command::new("/usr/bin/multilog").arg("./main"), &s.path);
    wait_for("multilog to hold ./main", || {
        s.join("main/current").exists().then_some(())
    });
    let (code, err) = feed(&s.path, &["./main"], b"x\n");
    assert_eq!(code, 111);
    assert!(
        err.starts_with("logsink: fatal: unable to lock ./main/lock"),
        "{err}"
    );
    assert_eq!(peer.finish(), 0);
    let mut ours = Logger::start(&s.path, &["./main"]);
    ours.stdin().write_all(b"y\n").unwrap();
    wait_for("logsink to hold ./main", || {
        (fs::read(s.join("main/current")).ok()? == b"y\n").then_some(())
    });
    let (mcode, _) = multilog(&s.path, &["./main"], b"z\n");
    assert_eq!(mcode, 111);
    assert_eq!(ours.finish(), 0);
}

/// `Anonymous:` of /proc/PID/smaps_rollup, in KiB: the memory that is the
/// process's own (heap, stack, written data), whatever the build.
fn anonymous_kib(pid: i32) -> u64 {
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    let line = rollup
        .lines()
        .find(|l| l.starts_with("Anonymous:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn an_idle_logger_holds_only_the_memory_it_has_used() {
    // One logsink runs beside every logged service. Its 256 KiB input
    // buffer is a mapping of its own, whose pages cost nothing until a
    // read fills them; cleared by hand it cost every idle logger 256 KiB.
    let s = Scratch::new("ls-idle");
    let mut l = Logger::start(&s.path, &["t", "./main"]);
    l.stdin().write_all(b"one line\n").unwrap();
    wait_for("the line stored", || {
        fs::read(s.path.join("main/current"))
            .ok()
            .filter(|b| b.ends_with(b"one line\n"))
    });
    let kib = anonymous_kib(l.pid());
    assert!(kib < 128, "an idle logsink holds {kib} KiB of its own");
    assert_eq!(l.finish(), 0, "{}", l.stderr());
}
