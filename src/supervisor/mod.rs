//! supervise's policy, as a pure state machine: `step(machine, event, now)`
//! returns the next machine and the actions to perform. No syscalls, no
//! clock: `run.rs` owns the fds and children and feeds back what happened.
//! man/supervise.8 describes the behaviour; this is its only definition.

pub mod pidfile;
pub mod run;

use crate::control::Command;
use crate::servicedir::Settings;
use crate::status::{Extension, Readiness, RunState, Status, Want, flag};
use crate::tai64::Tai64n;
use alloc::vec::Vec;
use core::ffi::c_int;
use core::time::Duration;

/// A run that lived this long restarts at once, whatever came before.
pub const LONG_LIVED: Duration = Duration::from_secs(10);
/// The memory guard samples no more often than this.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// SIGKILL after a restart supervise decided on (watchdog, health, memory)
/// when `timeout-kill` is not set: the service is presumed hung.
pub const FORCED_KILL: Duration = Duration::from_secs(5);
/// Without a `check-interval`, a failed readiness check is tried again
/// this long after it ended: the pace of runit's `sv check` (420 ms).
pub const READINESS_PACE: Duration = Duration::from_millis(420);
/// Without a `check-interval`, a check still running after this long is
/// killed and fails: runit's `sv` gives up waiting after 7 seconds.
pub const READINESS_CHECK_LIMIT: Duration = Duration::from_secs(7);
/// While a `run` that forked away is gone and its pid file not yet there,
/// supervise reads the pid file this often.
pub const PIDFILE_PACE: Duration = Duration::from_millis(50);

/// How long a check may run before it is killed: one interval, or
/// READINESS_CHECK_LIMIT when the check only decides readiness.
fn check_limit(s: &Settings) -> Option<Duration> {
    match s.check_interval {
        Some(i) => Some(i),
        None => s.has_check.then_some(READINESS_CHECK_LIMIT),
    }
}

/// The two clocks at the moment of an event.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Now {
    /// Monotonic, for deadlines.
    pub mono: Duration,
    /// Real time, for what is published.
    pub wall: Tai64n,
}

impl Now {
    /// The real time at which monotonic time `at` falls.
    fn wall_at(self, at: Duration) -> Tai64n {
        self.wall + at.saturating_sub(self.mono)
    }
}

/// What supervise is running.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Nothing.
    Down,
    /// `./run` is being spawned; `RunStarted` or `RunFailed` comes next.
    Starting,
    /// `./run` runs.
    Up { pid: i32 },
    /// `./finish` is being spawned; `FinishStarted` or `FinishFailed` next.
    FinishStarting,
    /// `./finish` runs.
    Finishing { pid: i32 },
    /// A `run` left behind by a supervise that was killed still runs; it is
    /// not our child, so we watch it (pidfd) instead of reaping it.
    Orphan { pid: i32 },
    /// With `pidfile`: `./run` runs and is expected to fork the daemon
    /// away and exit 0.
    Launching { pid: i32 },
    /// With `pidfile`: `./run` exited 0; the pid file is read until it
    /// names the daemon or `pidfile-timeout` passes. `launcher` was run's
    /// pid, the id of the process group it led.
    Seeking { launcher: i32 },
}

/// A program supervise runs on the service's behalf.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Helper {
    /// `./stop PID`: how `svc -d` asks the service to stop.
    Stop,
    /// `./reload PID`: what `svc -h` runs instead of sending SIGHUP.
    Reload,
}

/// A running helper: its pid (0 while being spawned) and when it is
/// killed if still running.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Running {
    pub pid: i32,
    /// None once SIGKILL was sent.
    kill_at: Option<Duration>,
}

/// A `run` left alive by a previous supervise, as its status told.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Adopted {
    pub pid: i32,
    /// Its last change between up and down.
    pub changed: Tai64n,
    /// Whether the service has a readiness mechanism.
    pub has_readiness: bool,
    /// Whether `supervise/message` may hold its STATUS= text.
    pub has_message: bool,
}

/// What happened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// A deadline passed (or the loop just started). Harmless when early.
    Tick,
    /// A control byte arrived.
    Control(Command),
    /// supervise got SIGTERM or SIGINT: down, then exit.
    Terminate,
    /// `./run` was spawned, with the settings read for this start.
    RunStarted { pid: i32, settings: Settings },
    /// `./run` could not be spawned (already reported).
    RunFailed,
    /// `./finish` was spawned.
    FinishStarted { pid: i32 },
    /// There is no `./finish`, or it could not be spawned.
    FinishFailed,
    /// A child was reaped, with its wait status.
    Exited { pid: i32, status: i32 },
    /// The orphaned `run` has died.
    OrphanGone,
    /// The service said it is ready (notification-fd newline, READY=1).
    Ready,
    /// Another sd_notify message from the service.
    Notified(Notice),
    /// `./check` was spawned.
    CheckStarted { pid: i32 },
    /// `./check` could not be spawned (already reported): a failed check.
    CheckFailed,
    /// The service's resident memory, in bytes.
    Memory { rss: u64 },
    /// The pid file names a live descendant of supervise: the daemon.
    PidFound { pid: i32 },
    /// The pid file is absent, or does not (yet) name a live descendant.
    PidNotYet,
    /// A helper was spawned.
    HelperStarted { helper: Helper, pid: i32 },
    /// A helper could not be spawned (already reported).
    HelperFailed { helper: Helper },
}

/// sd_notify messages besides READY=1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notice {
    Reloading,
    Stopping,
    Watchdog,
    /// A STATUS= text, already written to `supervise/message`.
    Status,
}

/// Why supervise restarts a service on its own; reported on stderr.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Why {
    /// No WATCHDOG=1 within watchdog-timeout.
    Watchdog,
    /// This many checks failed in a row.
    Unhealthy { failures: u32 },
    /// Resident memory over memory-limit.
    Memory { rss: u64, limit: u64 },
}

/// What the I/O loop must do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Spawn `./run`; answer with `RunStarted` or `RunFailed`.
    SpawnRun,
    /// Spawn `./finish CODE SIGNAL`; answer `FinishStarted`/`FinishFailed`.
    SpawnFinish { code: i32, signal: i32 },
    /// kill(pid, signal).
    Signal { pid: i32, signal: c_int },
    /// kill(-pgid, signal): what is left of a service's process group.
    SignalGroup { pgid: i32, signal: c_int },
    /// Exit supervise (status already published).
    Exit,
    /// Spawn `./check`; answer `CheckStarted` or `CheckFailed`.
    SpawnCheck,
    /// Measure the resident memory of the service led by `pid`; answer
    /// `Memory` (or nothing if it cannot be read).
    SampleMemory { pid: i32 },
    /// Say on stderr why the service is being restarted.
    Restarting(Why),
    /// Read the pid file and check what it names; answer `PidFound` (and
    /// watch that process) or `PidNotYet`.
    ReadPidFile,
    /// Say on stderr that the pid file never named the daemon, and why.
    GiveUpPidFile,
    /// Spawn `./stop PID` or `./reload PID`; answer `HelperStarted` or
    /// `HelperFailed`.
    SpawnHelper { helper: Helper, pid: i32 },
    /// Say on stderr that a helper failed, with its wait status.
    HelperEnded { helper: Helper, status: i32 },
}

/// The health checks of one run.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Health {
    /// When the next check is due (monotonic).
    next: Option<Duration>,
    /// Failed checks in a row that counted (outside the grace).
    pub failures: u32,
    /// `check-grace`: failed checks before this (monotonic) do not count;
    /// None once a check passed or when there is no grace.
    grace_until: Option<Duration>,
    /// Whether the last check passed; None before the first.
    pub last_ok: Option<bool>,
    /// The run is being taken down or restarted: results no longer count.
    pub ending: bool,
}

/// A running `./check`: never two at once. It can outlive the run it
/// checked (killed with it, it is reaped later), so it is not part of
/// `Run`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Check {
    pub pid: i32,
    /// When it started: it is killed one interval later.
    started: Duration,
    /// It was sent SIGKILL.
    killed: bool,
}

/// One run of the service, from its start to its death: replaced whole
/// when a run starts and when it dies, so nothing of one run is left over
/// for the next.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Run {
    /// When it started, monotonic.
    started: Duration,
    /// Its end was asked for (d, r, a signal command): restart at once
    /// and do not count it as a death.
    asked: bool,
    pub paused: bool,
    /// The down signal was sent while wanted down.
    pub term_sent: bool,
    /// When it became ready; zero while not ready.
    pub ready_at: Tai64n,
    /// RELOADING=1 and no READY=1 since.
    pub reloading: bool,
    /// STOPPING=1.
    pub stopping: bool,
    /// It sent a STATUS= text (in `supervise/message`).
    pub message: bool,
    pub health: Health,
    /// Restart unless a WATCHDOG=1 comes before this (monotonic).
    watchdog_at: Option<Duration>,
    /// The memory guard's next sample (monotonic).
    sample_at: Option<Duration>,
    /// Seeking: read the pid file again at this time (monotonic).
    seek_next: Option<Duration>,
    /// Seeking: give up at this time (monotonic).
    seek_until: Option<Duration>,
    /// `./stop` was run: the down signal follows at this time unless the
    /// service is gone.
    stop_fallback: Option<Duration>,
}

/// What a run that died leaves to decide its successor's start, kept
/// while its finish runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
struct Ended {
    /// When it started: the back-off counts from there.
    started: Duration,
    /// Restart at once: its end was asked for (or `u` came while
    /// finishing), or it lived LONG_LIVED.
    at_once: bool,
}

/// The whole state of one supervised service.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Machine {
    pub state: State,
    /// Wanted up; otherwise down. (Never daemontools' "neither": runit's
    /// `sv` would then never send `u` or `d`.)
    pub want_up: bool,
    /// Started by `o`: never restarted.
    pub once: bool,
    /// `x` or SIGTERM: exit once the service is down.
    pub exit_when_down: bool,
    /// `finish` exited 125: not restarted until `u`.
    pub permanent: bool,
    /// Settings read at the last start.
    pub settings: Settings,
    /// The service has a readiness mechanism: decided at each start from
    /// the settings; for an orphan, as its supervise told.
    pub has_readiness: bool,
    /// Last change between up and down.
    pub changed: Tai64n,
    /// Wait status of the last run that died.
    pub last_wait: i32,
    /// Deaths nobody asked for since the service was last wanted up.
    pub deaths: u32,
    /// Consecutive short-lived runs: the back-off exponent.
    streak: u32,
    /// Backing off: the next start is due at (monotonic, real time).
    next_start: Option<(Duration, Tai64n)>,
    /// SIGKILL what `state` runs (run, launcher, finish or orphan) at
    /// this time.
    kill_at: Option<Duration>,
    /// A service taken down has exited: its process group gets SIGKILL at
    /// this time.
    group_kill: Option<(i32, Duration)>,
    /// The current run (or the orphan); a blank one between runs.
    pub run: Run,
    /// The last run that died, while its finish runs.
    ended: Ended,
    /// The running check, if any.
    pub check: Option<Check>,
    /// Restarts by the memory guard since supervise started.
    pub memory_restarts: u32,
    /// `./stop` is running.
    pub stop: Option<Running>,
    /// `./reload` is running.
    pub reload: Option<Running>,
}

impl Machine {
    /// A fresh supervise: `normally_up` unless S/down exists; `orphan` is a
    /// run left alive by a previous supervise.
    pub fn new(normally_up: bool, orphan: Option<Adopted>, now: Now) -> Machine {
        let (state, changed, has_readiness, message) = match orphan {
            Some(o) => (
                State::Orphan { pid: o.pid },
                o.changed,
                o.has_readiness,
                o.has_message,
            ),
            None => (State::Down, now.wall, false, false),
        };
        Machine {
            state,
            want_up: normally_up,
            once: false,
            exit_when_down: false,
            permanent: false,
            settings: Settings::default(),
            has_readiness,
            changed,
            last_wait: 0,
            deaths: 0,
            streak: 0,
            next_start: None,
            kill_at: None,
            group_kill: None,
            run: Run {
                started: now.mono,
                message,
                ..Run::default()
            },
            ended: Ended::default(),
            check: None,
            memory_restarts: 0,
            stop: None,
            reload: None,
        }
    }

    /// The pid of the running `run` (ours or an orphan), if any.
    pub fn run_pid(&self) -> Option<i32> {
        match self.state {
            State::Up { pid } | State::Orphan { pid } => Some(pid),
            _ => None,
        }
    }

    /// The earliest moment something is due; None: nothing, wait forever.
    pub fn deadline(&self) -> Option<Duration> {
        let start = match self.state {
            State::Down => self.next_start.map(|(at, _)| at),
            _ => None,
        };
        let check = match self.check {
            Some(c) if !c.killed => check_limit(&self.settings).map(|i| c.started + i),
            Some(_) => None,
            None => self.run.health.next,
        };
        let seek = match self.state {
            State::Seeking { .. } => self.run.seek_next,
            _ => None,
        };
        [
            start,
            self.kill_at,
            self.group_kill.map(|(_, at)| at),
            check,
            self.run.watchdog_at,
            self.run.sample_at,
            seek,
            self.run.stop_fallback,
            self.stop.and_then(|h| h.kill_at),
            self.reload.and_then(|h| h.kill_at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// What `supervise/status` says about this machine.
    pub fn status(&self) -> Status {
        let (pid, state) = match self.state {
            State::Up { pid } | State::Orphan { pid } => (pid as u32, RunState::Run),
            State::FinishStarting | State::Finishing { .. } => (0, RunState::Finish),
            // Until the pid file names the daemon, nothing runs that `svc`
            // may signal as the service: it is still starting.
            State::Down | State::Starting | State::Launching { .. } | State::Seeking { .. } => {
                (0, RunState::Down)
            }
        };
        let up = state == RunState::Run;
        let run = &self.run;
        let mut flags = 0;
        if up && !run.ready_at.is_zero() {
            flags |= flag::READY;
        }
        if self.next_start.is_some() {
            flags |= flag::BACKING_OFF;
        }
        if self.permanent {
            flags |= flag::PERMANENT_FAILURE;
        }
        if self.once {
            flags |= flag::ONCE;
        }
        if up {
            flags |= match run.health.last_ok {
                Some(true) => flag::HEALTHY,
                Some(false) => flag::UNHEALTHY,
                None => 0,
            };
            if run.reloading {
                flags |= flag::RELOADING;
            }
            if run.stopping {
                flags |= flag::STOPPING;
            }
        }
        Status {
            changed: self.changed,
            pid,
            paused: up && run.paused,
            want: if self.want_up { Want::Up } else { Want::Down },
            term_sent: run.term_sent,
            state,
            ext: Some(Extension {
                flags,
                ready_at: if up { run.ready_at } else { Tai64n::ZERO },
                last_wait: self.last_wait,
                deaths: self.deaths,
                next_start: self.next_start.map_or(Tai64n::ZERO, |(_, wall)| wall),
                memory_restarts: self.memory_restarts,
                has_readiness: Some(self.has_readiness),
                has_message: Some(up && run.message),
            }),
        }
    }
}

/// The restart delay after `streak` short-lived runs in a row: MIN, 2 MIN,
/// 4 MIN ... up to MAX.
pub fn backoff(settings: &Settings, streak: u32) -> Duration {
    let factor = 1u32
        .checked_shl(streak.saturating_sub(1))
        .unwrap_or(u32::MAX);
    settings
        .backoff_min
        .checked_mul(factor)
        .unwrap_or(Duration::MAX)
        .min(settings.backoff_max)
}

/// Whether a signal sent by a control command counts as asking the service
/// to end: everything but pause, continue and the window-size notice.
fn ends_service(signal: c_int) -> bool {
    !matches!(signal, libc::SIGSTOP | libc::SIGCONT | libc::SIGWINCH)
}

/// The policy: the next machine and what to do, for one event at `now`.
/// Each event has its function below; where the state matters, it
/// decides for every state, with no wildcard.
pub fn step(m: Machine, ev: Event, now: Now) -> (Machine, Vec<Action>) {
    use Event::*;
    let (mut m, mut out) = (m, Vec::new());
    let (mm, o) = (&mut m, &mut out);
    match ev {
        Tick => tick(mm, now, o),
        Control(cmd) => control(mm, cmd, now, o),
        Terminate => {
            control(mm, Command::Down, now, o);
            control(mm, Command::Exit, now, o);
        }
        RunStarted { pid, settings } => run_spawned(mm, Some((pid, settings)), now, o),
        RunFailed => run_spawned(mm, None, now, o),
        FinishStarted { pid } => finish_spawned(mm, Some(pid), now, o),
        FinishFailed => finish_spawned(mm, None, now, o),
        Exited { pid, status } => exited(mm, pid, status, now, o),
        OrphanGone => orphan_gone(mm, now, o),
        Ready => spoke(mm, None, now),
        Notified(notice) => spoke(mm, Some(notice), now),
        CheckStarted { pid } => check_started(mm, pid, now),
        CheckFailed => checked(mm, false, now, o),
        Memory { rss } => memory(mm, rss, now, o),
        PidFound { pid } => pid_file_read(mm, Some(pid), now, o),
        PidNotYet => pid_file_read(mm, None, now, o),
        HelperStarted { helper, pid } => match helper {
            Helper::Stop => mm.stop = mm.stop.map(|h| Running { pid, ..h }),
            Helper::Reload => mm.reload = mm.reload.map(|h| Running { pid, ..h }),
        },
        HelperFailed { helper } => helper_failed(mm, helper, now, o),
    }
    (m, out)
}

/// `./run` was spawned (with the settings read for this start), or
/// could not be: a new run begins, or a failed start is backed off.
fn run_spawned(m: &mut Machine, spawned: Option<(i32, Settings)>, now: Now, out: &mut Vec<Action>) {
    use State::*;
    match (m.state, spawned) {
        (Starting, Some((pid, settings))) => {
            m.settings = settings;
            m.has_readiness = settings.readiness().is_mechanism();
            // For a daemon that forks away too: it starts with its
            // launcher, and a new supervise recognises an orphan by a
            // start time close to this one.
            m.changed = now.wall;
            (m.next_start, m.kill_at) = (None, None);
            m.run = Run {
                started: now.mono,
                ..Run::default()
            };
            if settings.pidfile {
                // The service is the daemon run forks away; run itself
                // is only how it gets started.
                m.state = Launching { pid };
            } else {
                enter_up(m, pid, now);
            }
            if !m.want_up && !m.once {
                // `d` arrived while it was being spawned.
                take_down(m, pid, now, out);
            }
        }
        (Starting, None) => {
            m.state = Down;
            m.streak += 1;
            after_down(m, now.mono, now, out);
        }
        // Only Starting asks for a spawn of run, so only it hears back.
        (
            Down
            | Up { .. }
            | FinishStarting
            | Finishing { .. }
            | Orphan { .. }
            | Launching { .. }
            | Seeking { .. },
            _,
        ) => {}
    }
}

/// A child was reaped: a check, a helper, the run, its launcher or finish.
fn exited(m: &mut Machine, pid: i32, status: i32, now: Now, out: &mut Vec<Action>) {
    use State::*;
    // The check is reaped like any child, in whatever state.
    if m.check.is_some_and(|c| c.pid == pid) {
        m.check = None;
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        return checked(m, ok, now, out);
    }
    // So are stop and reload; their failure is reported, not fatal.
    if let Some(helper) = helper_of(m, pid) {
        match helper {
            Helper::Stop => m.stop = None,
            Helper::Reload => m.reload = None,
        }
        if status != 0 {
            out.push(Action::HelperEnded { helper, status });
        }
        return;
    }
    match m.state {
        Up { pid: run } if pid == run => died(m, run, status, now, out),
        Launching { pid: run } if pid == run && status == 0 => {
            (m.state, m.kill_at) = (Seeking { launcher: run }, None);
            m.run.seek_until = Some(now.mono + m.settings.pidfile_timeout);
            m.run.seek_next = None;
            out.push(Action::ReadPidFile);
        }
        // A launcher that failed started nothing to follow.
        Launching { pid: run } if pid == run => died(m, run, status, now, out),
        Finishing { pid: finish } if pid == finish => {
            m.kill_at = None;
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 125 {
                // s6's convention: the service has failed for good.
                m.permanent = true;
                m.want_up = false;
            }
            m.state = Down;
            after_run(m, now, out);
        }
        // Someone else's child (or one already handled): nothing to do.
        Up { .. } | Launching { .. } | Finishing { .. } => {}
        // No child of ours runs as the service (the orphan is not ours).
        Down | Starting | FinishStarting | Orphan { .. } | Seeking { .. } => {}
    }
}

/// The service (`run`, or the daemon it forked away) has died: everything
/// a death does, up to spawning `./finish`.
fn died(m: &mut Machine, run: i32, status: i32, now: Now, out: &mut Vec<Action>) {
    let lifetime = now.mono.saturating_sub(m.run.started);
    m.ended = Ended {
        started: m.run.started,
        at_once: m.run.asked || lifetime >= LONG_LIVED,
    };
    if !m.run.asked {
        m.deaths = m.deaths.saturating_add(1);
    }
    m.run = Run::default();
    (m.last_wait, m.kill_at, m.changed) = (status, None, now.wall);
    if let Some(check) = &mut m.check
        && !check.killed
    {
        // A check of a service that is gone checks nothing.
        out.push(Action::SignalGroup {
            pgid: check.pid,
            signal: libc::SIGKILL,
        });
        check.killed = true;
    }
    if !m.want_up && !m.once {
        // Taken down: what the service left in its process group
        // goes too, so `svc -d` leaves no orphans behind.
        let sig = m.settings.down_signal;
        out.push(Action::SignalGroup {
            pgid: run,
            signal: sig,
        });
        out.push(Action::SignalGroup {
            pgid: run,
            signal: libc::SIGCONT,
        });
        if !m.settings.timeout_kill.is_zero() {
            m.group_kill = Some((run, now.mono + m.settings.timeout_kill));
        }
    }
    let (code, signal) = match (libc::WIFEXITED(status), libc::WIFSIGNALED(status)) {
        (true, _) => (libc::WEXITSTATUS(status), 0),
        (_, true) => (256, libc::WTERMSIG(status)),
        _ => (256, 0),
    };
    m.state = State::FinishStarting;
    out.push(Action::SpawnFinish { code, signal });
}

/// `./finish` was spawned, and gets `timeout-finish` to run; or there is
/// none, or it could not be spawned: the run is over.
fn finish_spawned(m: &mut Machine, spawned: Option<i32>, now: Now, out: &mut Vec<Action>) {
    use State::*;
    match (m.state, spawned) {
        (FinishStarting, Some(pid)) => {
            m.state = Finishing { pid };
            let t = m.settings.timeout_finish;
            m.kill_at = (!t.is_zero()).then(|| now.mono + t);
        }
        (FinishStarting, None) => {
            m.state = Down;
            after_run(m, now, out);
        }
        // Only FinishStarting asks for a spawn of finish.
        (
            Down
            | Starting
            | Up { .. }
            | Finishing { .. }
            | Orphan { .. }
            | Launching { .. }
            | Seeking { .. },
            _,
        ) => {}
    }
}

/// The orphaned `run` died: start afresh, as a new supervise would.
fn orphan_gone(m: &mut Machine, now: Now, out: &mut Vec<Action>) {
    use State::*;
    match m.state {
        Orphan { .. } => {
            (m.state, m.kill_at, m.streak) = (Down, None, 0);
            m.run = Run::default();
            m.changed = now.wall;
            after_down(m, now.mono, now, out);
        }
        Down
        | Starting
        | Up { .. }
        | FinishStarting
        | Finishing { .. }
        | Launching { .. }
        | Seeking { .. } => {}
    }
}

/// The service said READY=1 (or a notification-fd newline): `None`; or
/// RELOADING=1, STOPPING=1 or WATCHDOG=1.
fn spoke(m: &mut Machine, notice: Option<Notice>, now: Now) {
    use State::*;
    let run = &mut m.run;
    match (m.state, notice) {
        (Up { .. }, None) => {
            if run.ready_at.is_zero() {
                run.ready_at = now.wall;
            }
            run.reloading = false;
        }
        (Up { .. }, Some(Notice::Reloading)) => {
            (run.reloading, run.ready_at) = (true, Tai64n::ZERO)
        }
        (Up { .. }, Some(Notice::Stopping)) => (run.stopping, run.ready_at) = (true, Tai64n::ZERO),
        (Up { .. }, Some(Notice::Watchdog)) => {
            if let Some(t) = m.settings.watchdog.filter(|_| run.watchdog_at.is_some()) {
                run.watchdog_at = Some(now.mono + t);
            }
        }
        // An orphan's STATUS= is heard too: it is the service.
        (Up { .. } | Orphan { .. }, Some(Notice::Status)) => run.message = true,
        // Only a running service speaks; a late message changes nothing.
        (Down | FinishStarting | Finishing { .. } | Orphan { .. }, _) => {}
        // A daemon that says READY=1 before its pid file is read is not
        // yet the service: it says so again, or a check tells.
        (Starting | Launching { .. } | Seeking { .. }, _) => {}
    }
}

/// `./check` was spawned: it runs one interval at most, and the next is
/// due one interval after this one started.
fn check_started(m: &mut Machine, pid: i32, now: Now) {
    m.check = Some(Check {
        pid,
        started: now.mono,
        killed: false,
    });
    let up = matches!(m.state, State::Up { .. });
    m.run.health.next = m
        .settings
        .check_interval
        .filter(|_| up)
        .map(|i| now.mono + i);
}

/// The memory guard's sample came back.
fn memory(m: &mut Machine, rss: u64, now: Now, out: &mut Vec<Action>) {
    use State::*;
    match m.state {
        Up { pid } => {
            if let Some(limit) = m.settings.memory_limit
                && rss > limit
                && m.run.sample_at.is_some()
            {
                m.memory_restarts = m.memory_restarts.saturating_add(1);
                out.push(Action::Restarting(Why::Memory { rss, limit }));
                force_restart(m, pid, now, out);
            }
        }
        Down
        | Starting
        | FinishStarting
        | Finishing { .. }
        | Orphan { .. }
        | Launching { .. }
        | Seeking { .. } => {}
    }
}

/// The pid file was read: it names the daemon, which is the service now;
/// or not yet: read it again, or give up.
fn pid_file_read(m: &mut Machine, found: Option<i32>, now: Now, out: &mut Vec<Action>) {
    use State::*;
    match (m.state, found) {
        (Seeking { .. }, Some(pid)) => {
            (m.run.seek_next, m.run.seek_until) = (None, None);
            enter_up(m, pid, now);
            if !m.want_up && !m.once {
                // Taken down while it was starting: now it can be.
                take_down(m, pid, now, out);
            }
        }
        (Seeking { launcher }, None) if m.run.seek_until.is_some_and(|at| at <= now.mono) => {
            // A failed start: whatever the launcher left in its process
            // group goes, and the back-off applies.
            out.push(Action::GiveUpPidFile);
            for signal in [m.settings.down_signal, libc::SIGCONT] {
                out.push(Action::SignalGroup {
                    pgid: launcher,
                    signal,
                });
            }
            (m.state, m.run.seek_next, m.run.seek_until) = (Down, None, None);
            m.streak += 1;
            after_down(m, now.mono, now, out);
        }
        (Seeking { .. }, None) => m.run.seek_next = Some(now.mono + PIDFILE_PACE),
        // Only Seeking asks for the pid file.
        (
            Down
            | Starting
            | Up { .. }
            | FinishStarting
            | Finishing { .. }
            | Orphan { .. }
            | Launching { .. },
            _,
        ) => {}
    }
}

/// A helper could not be spawned: the documented fallback, the down
/// signal or SIGHUP.
fn helper_failed(m: &mut Machine, helper: Helper, now: Now, out: &mut Vec<Action>) {
    match helper {
        Helper::Stop => m.stop = None,
        Helper::Reload => m.reload = None,
    }
    if let State::Up { pid } = m.state {
        match helper {
            Helper::Stop if m.run.stop_fallback.is_some() => stop_fallback(m, pid, now, out),
            Helper::Stop => {}
            Helper::Reload => out.push(Action::Signal {
                pid,
                signal: libc::SIGHUP,
            }),
        }
    }
}

/// Which helper `pid` is, if it is one.
fn helper_of(m: &Machine, pid: i32) -> Option<Helper> {
    match (m.stop, m.reload) {
        (Some(h), _) if h.pid == pid && pid != 0 => Some(Helper::Stop),
        (_, Some(h)) if h.pid == pid && pid != 0 => Some(Helper::Reload),
        _ => None,
    }
}

/// How long `./stop` has before the down signal follows (and the down
/// signal before SIGKILL), and how long a helper may run.
fn helper_limit(s: &Settings) -> Duration {
    match s.timeout_kill.is_zero() {
        true => FORCED_KILL,
        false => s.timeout_kill,
    }
}

/// `pid` is the service now: what watches a running service starts.
fn enter_up(m: &mut Machine, pid: i32, now: Now) {
    let settings = m.settings;
    m.state = State::Up { pid };
    // No readiness mechanism: ready as soon as it runs.
    m.run.ready_at = match settings.readiness() {
        Readiness::Says | Readiness::Check => Tai64n::ZERO,
        Readiness::AtStart => now.wall,
    };
    m.run.health = Health {
        // Periodic checks start one interval in; a check that only
        // decides readiness runs at once (runit's `sv check`).
        next: match settings.check_interval {
            Some(i) => Some(now.mono + i),
            None => settings.has_check.then_some(now.mono),
        },
        grace_until: Some(now.mono + settings.check_grace)
            .filter(|_| !settings.check_grace.is_zero()),
        ..Health::default()
    };
    m.run.watchdog_at = settings
        .watchdog
        .filter(|_| settings.notify)
        .map(|t| now.mono + t);
    m.run.sample_at = settings.memory_limit.map(|_| now.mono + SAMPLE_EVERY);
}

/// `./stop` did not stop the service in time (or could not run): the
/// down signal, and SIGKILL after the same time again.
fn stop_fallback(m: &mut Machine, pid: i32, now: Now, out: &mut Vec<Action>) {
    m.run.stop_fallback = None;
    signal_down(m, pid, out);
    m.run.term_sent = !m.want_up;
    let t = helper_limit(&m.settings);
    m.kill_at = Some(m.kill_at.map_or(now.mono + t, |k| k.min(now.mono + t)));
}

/// A check ended: passed (`ok`) or failed. Failures count once
/// `check-grace` is over (or a check passed), whether or not the service
/// ever became ready: one that hangs at start is as unhealthy as one that
/// hangs later. `check-retries` of them in a row restart it.
fn checked(m: &mut Machine, ok: bool, now: Now, out: &mut Vec<Action>) {
    let State::Up { pid } = m.state else {
        return;
    };
    if m.run.health.ending {
        return;
    }
    m.run.health.last_ok = Some(ok);
    let Some(interval) = m.settings.check_interval else {
        // Without an interval the check only decides readiness: retried
        // at a steady pace until it passes, then never run again for
        // this run, and its failures restart nothing.
        m.run.health.next = (!ok).then_some(now.mono + READINESS_PACE);
        if ok {
            became_healthy(m, now);
        }
        return;
    };
    let h = &mut m.run.health;
    if h.next.is_none() {
        h.next = Some(now.mono + interval);
    }
    if ok {
        became_healthy(m, now);
        return;
    }
    if h.grace_until.is_some_and(|g| now.mono < g) {
        return;
    }
    h.failures += 1;
    if h.failures >= m.settings.check_retries {
        let failures = h.failures;
        h.failures = 0;
        out.push(Action::Restarting(Why::Unhealthy { failures }));
        force_restart(m, pid, now, out);
    }
}

/// A check passed: the failure count and the grace are over, and a
/// service that does not say it is ready itself is ready.
fn became_healthy(m: &mut Machine, now: Now) {
    (m.run.health.failures, m.run.health.grace_until) = (0, None);
    let by_check = match m.settings.readiness() {
        Readiness::Check | Readiness::AtStart => true,
        Readiness::Says => false,
    };
    if m.run.ready_at.is_zero() && by_check {
        m.run.ready_at = now.wall;
    }
}

/// A restart supervise decided on: the down signal (and CONT), then
/// SIGKILL after `timeout-kill`, or FORCED_KILL if none is set. Counts as
/// a death: nobody asked for it.
fn force_restart(m: &mut Machine, pid: i32, now: Now, out: &mut Vec<Action>) {
    signal_down(m, pid, out);
    let t = match m.settings.timeout_kill.is_zero() {
        true => FORCED_KILL,
        false => m.settings.timeout_kill,
    };
    m.kill_at = Some(m.kill_at.map_or(now.mono + t, |k| k.min(now.mono + t)));
    // Nothing more to watch in a run that is on its way out.
    (m.run.watchdog_at, m.run.sample_at, m.run.health.next) = (None, None, None);
}

/// The down signal, and CONT: a stopped process never sees it otherwise.
/// Check results of a run on its way out no longer count.
fn signal_down(m: &mut Machine, pid: i32, out: &mut Vec<Action>) {
    out.push(Action::Signal {
        pid,
        signal: m.settings.down_signal,
    });
    out.push(Action::Signal {
        pid,
        signal: libc::SIGCONT,
    });
    m.run.paused = false;
    m.run.health.ending = true;
}

fn start(m: &mut Machine, out: &mut Vec<Action>) {
    m.state = State::Starting;
    m.next_start = None;
    out.push(Action::SpawnRun);
}

/// Sends the down signal (and CONT: a stopped process never sees it
/// otherwise) to the run, arming the SIGKILL timeout.
fn take_down(m: &mut Machine, pid: i32, now: Now, out: &mut Vec<Action>) {
    if matches!(m.state, State::Up { .. }) && m.settings.has_stop {
        // The service's own way to stop; the signals follow if it is
        // not down in time.
        (m.run.asked, m.run.health.ending) = (true, true);
        if m.run.paused {
            // Paused, it would sleep through whatever stop asks of it.
            out.push(Action::Signal {
                pid,
                signal: libc::SIGCONT,
            });
            m.run.paused = false;
        }
        if m.stop.is_none() && m.run.stop_fallback.is_none() {
            let at = now.mono + helper_limit(&m.settings);
            m.stop = Some(Running {
                pid: 0,
                kill_at: Some(at),
            });
            m.run.stop_fallback = Some(at);
            out.push(Action::SpawnHelper {
                helper: Helper::Stop,
                pid,
            });
        }
        return;
    }
    signal_down(m, pid, out);
    m.run.asked = true;
    m.run.term_sent = !m.want_up;
    if !m.settings.timeout_kill.is_zero() && m.kill_at.is_none() {
        m.kill_at = Some(now.mono + m.settings.timeout_kill);
    }
}

/// After a run ended and its finish is done: restart now, later, or not.
fn after_run(m: &mut Machine, now: Now, out: &mut Vec<Action>) {
    let Ended { started, at_once } = m.ended;
    if at_once {
        m.streak = 0;
    } else {
        m.streak += 1;
    }
    let earliest = if at_once { now.mono } else { started };
    after_down(m, earliest, now, out);
}

/// The service is down (`m.state == Down`): start it when it is wanted up,
/// no sooner than the back-off allows from `since`; or exit if told to.
fn after_down(m: &mut Machine, since: Duration, now: Now, out: &mut Vec<Action>) {
    if m.exit_when_down {
        out.push(Action::Exit);
        return;
    }
    if !m.want_up || m.permanent {
        return;
    }
    let due = if m.streak == 0 {
        now.mono
    } else {
        since + backoff(&m.settings, m.streak)
    };
    if due <= now.mono {
        start(m, out);
    } else {
        m.next_start = Some((due, now.wall_at(due)));
    }
}

fn tick(m: &mut Machine, now: Now, out: &mut Vec<Action>) {
    if let Some((pgid, at)) = m.group_kill
        && at <= now.mono
    {
        out.push(Action::SignalGroup {
            pgid,
            signal: libc::SIGKILL,
        });
        m.group_kill = None;
    }
    // A helper that outlives its time is killed, whatever the service.
    for helper in [&mut m.stop, &mut m.reload] {
        if let Some(h) = helper
            && h.pid != 0
            && h.kill_at.is_some_and(|at| at <= now.mono)
        {
            out.push(Action::SignalGroup {
                pgid: h.pid,
                signal: libc::SIGKILL,
            });
            h.kill_at = None;
        }
    }
    match m.state {
        State::Down => {
            if m.exit_when_down {
                out.push(Action::Exit);
            } else if m.want_up && !m.permanent && m.next_start.is_none_or(|(at, _)| at <= now.mono)
            {
                start(m, out);
            }
        }
        State::Up { pid } => {
            if m.run.stop_fallback.is_some_and(|at| at <= now.mono) {
                stop_fallback(m, pid, now, out);
            }
            up_timers(m, pid, now, out);
            if m.kill_at.is_some_and(|at| at <= now.mono) {
                out.push(Action::Signal {
                    pid,
                    signal: libc::SIGKILL,
                });
                m.kill_at = None;
            }
        }
        State::Seeking { .. } => {
            if m.run.seek_next.is_some_and(|at| at <= now.mono) {
                m.run.seek_next = None;
                out.push(Action::ReadPidFile);
            }
        }
        State::Finishing { pid } | State::Orphan { pid } | State::Launching { pid } => {
            if m.kill_at.is_some_and(|at| at <= now.mono) {
                out.push(Action::Signal {
                    pid,
                    signal: libc::SIGKILL,
                });
                m.kill_at = None;
            }
        }
        State::Starting | State::FinishStarting => {}
    }
}

/// The timers of a running service: watchdog, checks, memory samples.
fn up_timers(m: &mut Machine, pid: i32, now: Now, out: &mut Vec<Action>) {
    let due = |at: Option<Duration>| at.is_some_and(|at| at <= now.mono);
    if due(m.run.watchdog_at) {
        out.push(Action::Restarting(Why::Watchdog));
        force_restart(m, pid, now, out);
        return;
    }
    match &mut m.check {
        Some(check) => {
            let limit = check_limit(&m.settings).map(|i| check.started + i);
            if !check.killed && due(limit) {
                // Outlived its interval: killed, and counted as failed when
                // it is reaped.
                out.push(Action::SignalGroup {
                    pgid: check.pid,
                    signal: libc::SIGKILL,
                });
                check.killed = true;
            }
        }
        None if due(m.run.health.next) => {
            m.run.health.next = None;
            out.push(Action::SpawnCheck);
        }
        None => {}
    }
    if due(m.run.sample_at) {
        m.run.sample_at = Some(now.mono + SAMPLE_EVERY);
        out.push(Action::SampleMemory { pid });
    }
}

fn control(m: &mut Machine, cmd: Command, now: Now, out: &mut Vec<Action>) {
    use State::*;
    match cmd {
        Command::Up | Command::Restart => {
            (m.want_up, m.once, m.permanent, m.deaths, m.streak) = (true, false, false, 0, 0);
            match m.state {
                Down => start(m, out),
                Up { pid } | Orphan { pid } | Launching { pid } if cmd == Command::Restart => {
                    take_down(m, pid, now, out)
                }
                // Restart at once when the current run or finish is over.
                FinishStarting | Finishing { .. } => m.ended.at_once = true,
                Starting | Up { .. } | Orphan { .. } | Launching { .. } | Seeking { .. } => {}
            }
        }
        Command::Down => {
            (m.want_up, m.once, m.next_start) = (false, false, None);
            match m.state {
                Up { pid } | Orphan { pid } | Launching { pid } => take_down(m, pid, now, out),
                // Starting: the signal goes out when RunStarted arrives;
                // Seeking: when the pid file names the daemon.
                Down | Starting | FinishStarting | Finishing { .. } | Seeking { .. } => {}
            }
        }
        Command::Once => {
            (m.want_up, m.once, m.next_start) = (false, true, None);
            match m.state {
                Down => start(m, out),
                Starting
                | Up { .. }
                | FinishStarting
                | Finishing { .. }
                | Orphan { .. }
                | Launching { .. }
                | Seeking { .. } => {}
            }
        }
        Command::Exit => {
            m.exit_when_down = true;
            match m.state {
                Down => out.push(Action::Exit),
                Starting
                | Up { .. }
                | FinishStarting
                | Finishing { .. }
                | Orphan { .. }
                | Launching { .. }
                | Seeking { .. } => {}
            }
        }
        Command::Signal(signal) => match m.state {
            Up { pid } if signal == libc::SIGHUP && m.settings.has_reload => {
                // Never two reloads at once: one running is still at it.
                if m.reload.is_none() {
                    m.reload = Some(Running {
                        pid: 0,
                        kill_at: Some(now.mono + helper_limit(&m.settings)),
                    });
                    out.push(Action::SpawnHelper {
                        helper: Helper::Reload,
                        pid,
                    });
                }
            }
            Up { pid } | Orphan { pid } | Launching { pid } => {
                out.push(Action::Signal { pid, signal });
                match signal {
                    libc::SIGSTOP => m.run.paused = true,
                    libc::SIGCONT => m.run.paused = false,
                    _ => {}
                }
                if ends_service(signal) {
                    m.run.asked = true;
                    m.run.term_sent |= signal == libc::SIGTERM && !m.want_up;
                }
            }
            // Signals are for the service; finish and nothing get none,
            // nor a pid file's process before it was checked.
            Down | Starting | FinishStarting | Finishing { .. } | Seeking { .. } => {}
        },
    }
}

#[cfg(test)]
mod tests;
