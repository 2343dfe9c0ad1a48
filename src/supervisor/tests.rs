//! The machine cell by cell, with `now` fixed, and random event sequences
//! against a simulated world.

use super::*;
use crate::control::Command;
use alloc::vec;
use libc::{SIGCONT, SIGKILL, SIGTERM};
use proptest::prelude::*;

const RUN: i32 = 100;
const FINISH: i32 = 200;
const ORPHAN: i32 = 300;

fn at(ms: u64) -> Now {
    Now {
        mono: Duration::from_millis(ms),
        wall: Tai64n::from_unix(Duration::from_secs(1_700_000_000)) + Duration::from_millis(ms),
    }
}

fn settings() -> Settings {
    Settings::default()
}

fn go(m: Machine, evs: &[Event], ms: u64) -> (Machine, Vec<Action>) {
    let mut m = m;
    let mut all = Vec::new();
    for ev in evs {
        let (next, out) = step(m, *ev, at(ms));
        m = next;
        all.extend(out);
    }
    (m, all)
}

fn cmd(b: u8) -> Event {
    Event::Control(Command::decode(b).unwrap())
}

fn exited(pid: i32, code: i32) -> Event {
    Event::Exited {
        pid,
        status: code << 8,
    }
}

fn killed(pid: i32, sig: i32) -> Event {
    Event::Exited { pid, status: sig }
}

fn sig(pid: i32, signal: c_int) -> Action {
    Action::Signal { pid, signal }
}

// Fixtures: one machine in each state.
fn down_wanted_down() -> Machine {
    Machine::new(false, None, at(0))
}
fn starting() -> Machine {
    go(Machine::new(true, None, at(0)), &[Event::Tick], 0).0
}
fn up() -> Machine {
    go(
        starting(),
        &[Event::RunStarted {
            pid: RUN,
            settings: settings(),
        }],
        0,
    )
    .0
}
fn finish_starting() -> Machine {
    go(up(), &[exited(RUN, 1)], 20_000).0
}
fn finishing() -> Machine {
    go(
        finish_starting(),
        &[Event::FinishStarted { pid: FINISH }],
        20_000,
    )
    .0
}
fn backing_off() -> Machine {
    go(up(), &[exited(RUN, 1), Event::FinishFailed], 100).0
}
fn orphan() -> Machine {
    Machine::new(true, Some(adopted()), at(0))
}
fn adopted() -> Adopted {
    Adopted {
        pid: ORPHAN,
        changed: at(0).wall,
        has_readiness: false,
        has_message: false,
    }
}
fn with_pidfile() -> Settings {
    Settings {
        pidfile: true,
        pidfile_timeout: Duration::from_millis(1000),
        ..settings()
    }
}
fn launching() -> Machine {
    go(
        starting(),
        &[Event::RunStarted {
            pid: RUN,
            settings: with_pidfile(),
        }],
        0,
    )
    .0
}
fn seeking() -> Machine {
    go(launching(), &[exited(RUN, 0)], 100).0
}

#[test]
fn fixtures_are_in_the_states_they_are_named_for() {
    assert_eq!(down_wanted_down().state, State::Down);
    assert_eq!(starting().state, State::Starting);
    assert_eq!(up().state, State::Up { pid: RUN });
    assert_eq!(finish_starting().state, State::FinishStarting);
    assert_eq!(finishing().state, State::Finishing { pid: FINISH });
    assert_eq!(backing_off().state, State::Down);
    assert!(backing_off().next_start.is_some());
    assert_eq!(orphan().state, State::Orphan { pid: ORPHAN });
    assert_eq!(launching().state, State::Launching { pid: RUN });
    assert_eq!(seeking().state, State::Seeking { launcher: RUN });
}

/// Every control byte in every state: the actions it causes.
#[test]
fn every_control_byte_in_every_state() {
    let signals: Vec<(u8, c_int)> = vec![
        (b'p', libc::SIGSTOP),
        (b'c', SIGCONT),
        (b'h', libc::SIGHUP),
        (b'a', libc::SIGALRM),
        (b'i', libc::SIGINT),
        (b't', SIGTERM),
        (b'k', SIGKILL),
        (b'q', libc::SIGQUIT),
        (b'1', libc::SIGUSR1),
        (b'2', libc::SIGUSR2),
        (b'y', libc::SIGWINCH),
        (b'b', libc::SIGABRT),
    ];
    let fixtures: Vec<(&str, Machine, Option<i32>)> = vec![
        ("down", down_wanted_down(), None),
        ("backing off", backing_off(), None),
        ("starting", starting(), None),
        ("up", up(), Some(RUN)),
        ("finish starting", finish_starting(), None),
        ("finishing", finishing(), None),
        ("orphan", orphan(), Some(ORPHAN)),
        ("launching", launching(), Some(RUN)),
        ("seeking", seeking(), None),
    ];
    for (name, m, target) in fixtures {
        let is_down = m.state == State::Down;
        let expect = |b: u8| -> Vec<Action> {
            match (b, target) {
                (b'u' | b'o' | b'r', None) if is_down => vec![Action::SpawnRun],
                (b'x', None) if is_down => vec![Action::Exit],
                (b'd' | b'r', Some(pid)) => vec![sig(pid, SIGTERM), sig(pid, SIGCONT)],
                _ => vec![],
            }
        };
        for b in *b"udoxr" {
            let (_, out) = go(m, &[cmd(b)], 30_000);
            assert_eq!(out, expect(b), "{name}: {}", b as char);
        }
        for (b, s) in &signals {
            let (_, out) = go(m, &[cmd(*b)], 30_000);
            let want = match target {
                Some(pid) => vec![sig(pid, *s)],
                None => vec![],
            };
            assert_eq!(out, want, "{name}: {}", *b as char);
        }
    }
}

#[test]
fn a_normally_up_service_starts_on_the_first_tick() {
    let (m, out) = go(Machine::new(true, None, at(0)), &[Event::Tick], 0);
    assert_eq!(out, [Action::SpawnRun]);
    assert_eq!(m.state, State::Starting);
}

#[test]
fn a_normally_down_service_waits_for_u() {
    let (m, out) = go(down_wanted_down(), &[Event::Tick], 0);
    assert_eq!((m.state, out), (State::Down, vec![]));
    assert_eq!(m.status().want, Want::Down);
}

#[test]
fn an_idle_service_has_no_deadline() {
    assert_eq!(up().deadline(), None);
    assert_eq!(down_wanted_down().deadline(), None);
}

#[test]
fn status_follows_the_state() {
    let s = up().status();
    assert_eq!(
        (s.pid, s.state, s.want),
        (RUN as u32, RunState::Run, Want::Up)
    );
    assert!(
        s.ext.unwrap().has(flag::READY),
        "no readiness mechanism: ready when up"
    );
    let s = finishing().status();
    assert_eq!((s.pid, s.state), (0, RunState::Finish));
    let s = orphan().status();
    assert_eq!((s.pid, s.state), (ORPHAN as u32, RunState::Run));
    let s = backing_off().status();
    assert!(s.ext.unwrap().has(flag::BACKING_OFF));
    assert_eq!(s.ext.unwrap().next_start, at(1000).wall);
}

#[test]
fn a_long_lived_run_restarts_at_once_and_counts_a_death() {
    let (m, out) = go(up(), &[exited(RUN, 0)], 12_000);
    assert_eq!(out, [Action::SpawnFinish { code: 0, signal: 0 }]);
    let (m, out) = go(m, &[Event::FinishFailed], 12_000);
    assert_eq!(out, [Action::SpawnRun]);
    assert_eq!(m.deaths, 1);
}

#[test]
fn a_crash_loop_backs_off_doubling_up_to_max() {
    let s = Settings {
        backoff_min: Duration::from_millis(1000),
        backoff_max: Duration::from_millis(5000),
        ..settings()
    };
    let mut m = go(
        starting(),
        &[Event::RunStarted {
            pid: RUN,
            settings: s,
        }],
        0,
    )
    .0;
    let mut t = 0;
    let mut delays = Vec::new();
    for _ in 0..5 {
        m = go(m, &[exited(RUN, 1), Event::FinishFailed], t + 10).0;
        let (due, _) = m.next_start.expect("backing off");
        delays.push((due - Duration::from_millis(t)).as_millis());
        t = due.as_millis() as u64;
        assert_eq!(m.deadline(), Some(due));
        let (next, out) = go(m, &[Event::Tick], t);
        assert_eq!(out, [Action::SpawnRun]);
        m = go(
            next,
            &[Event::RunStarted {
                pid: RUN,
                settings: s,
            }],
            t,
        )
        .0;
    }
    assert_eq!(delays, [1000, 2000, 4000, 5000, 5000]);
    assert_eq!(m.deaths, 5);
}

#[test]
fn an_early_tick_does_not_start_a_backing_off_service() {
    let (m, out) = go(backing_off(), &[Event::Tick], 500);
    assert_eq!((m.state, out), (State::Down, vec![]));
}

#[test]
fn u_on_a_backing_off_service_starts_now_and_resets_the_back_off() {
    let (m, out) = go(backing_off(), &[cmd(b'u')], 200);
    assert_eq!(out, [Action::SpawnRun]);
    assert_eq!((m.next_start, m.streak, m.deaths), (None, 0, 0));
}

#[test]
fn d_cancels_the_back_off() {
    let (m, _) = go(backing_off(), &[cmd(b'd')], 200);
    assert_eq!((m.next_start, m.deadline()), (None, None));
}

#[test]
fn finish_gets_the_exit_code_or_256_and_the_signal() {
    let (_, out) = go(up(), &[exited(RUN, 3)], 1);
    assert_eq!(out, [Action::SpawnFinish { code: 3, signal: 0 }]);
    let (_, out) = go(up(), &[killed(RUN, 9)], 1);
    assert_eq!(
        out,
        [Action::SpawnFinish {
            code: 256,
            signal: 9
        }]
    );
}

#[test]
fn finish_exiting_125_is_a_permanent_failure() {
    let (m, out) = go(finishing(), &[exited(FINISH, 125)], 20_001);
    assert_eq!(out, []);
    assert!(m.permanent);
    assert!(!m.want_up);
    assert!(m.status().ext.unwrap().has(flag::PERMANENT_FAILURE));
    let (_, out) = go(m, &[Event::Tick], 90_000);
    assert_eq!(out, [], "never restarted by time");
    let (_, out) = go(m, &[cmd(b'u')], 90_000);
    assert_eq!(out, [Action::SpawnRun], "u clears it");
}

#[test]
fn finish_is_killed_after_its_timeout() {
    let m = finishing();
    assert_eq!(m.deadline(), Some(Duration::from_millis(25_000)));
    let (_, out) = go(m, &[Event::Tick], 25_000);
    assert_eq!(out, [sig(FINISH, SIGKILL)]);
}

#[test]
fn down_terms_then_conts_and_kills_after_timeout_kill() {
    let s = Settings {
        timeout_kill: Duration::from_millis(3000),
        down_signal: libc::SIGHUP,
        ..settings()
    };
    let m = go(
        starting(),
        &[Event::RunStarted {
            pid: RUN,
            settings: s,
        }],
        0,
    )
    .0;
    let (m, out) = go(m, &[cmd(b'd')], 1000);
    assert_eq!(out, [sig(RUN, libc::SIGHUP), sig(RUN, SIGCONT)]);
    assert!(m.run.term_sent);
    assert_eq!(m.deadline(), Some(Duration::from_millis(4000)));
    let (m, out) = go(m, &[Event::Tick], 4000);
    assert_eq!(out, [sig(RUN, SIGKILL)]);
    // Its process group follows it down, and is killed after the timeout.
    let (m, out) = go(m, &[killed(RUN, 9)], 4001);
    assert_eq!(
        out,
        [
            Action::SignalGroup {
                pgid: RUN,
                signal: libc::SIGHUP
            },
            Action::SignalGroup {
                pgid: RUN,
                signal: SIGCONT
            },
            Action::SpawnFinish {
                code: 256,
                signal: 9
            }
        ]
    );
    assert_eq!(m.deaths, 0, "a death svc -d asked for is not counted");
    let (m, _) = go(m, &[Event::FinishFailed], 4001);
    assert_eq!(m.deadline(), Some(Duration::from_millis(7001)));
    let (_, out) = go(m, &[Event::Tick], 7001);
    assert_eq!(
        out,
        [Action::SignalGroup {
            pgid: RUN,
            signal: SIGKILL
        }]
    );
}

#[test]
fn restart_signals_and_starts_again_at_once() {
    let (m, out) = go(up(), &[cmd(b'r')], 1000);
    assert_eq!(out, [sig(RUN, SIGTERM), sig(RUN, SIGCONT)]);
    assert!(!m.run.term_sent, "wanted up: not runit's 'got TERM'");
    let (m, _) = go(m, &[killed(RUN, SIGTERM), Event::FinishFailed], 1001);
    assert_eq!(
        m.state,
        State::Starting,
        "no back-off for an asked-for restart"
    );
    assert_eq!(m.deaths, 0);
}

#[test]
fn x_exits_once_the_service_is_down_without_restarting_it() {
    let (m, out) = go(up(), &[cmd(b'x')], 1000);
    assert_eq!(out, []);
    let (_, out) = go(m, &[exited(RUN, 0), Event::FinishFailed], 20_000);
    assert_eq!(
        out,
        [Action::SpawnFinish { code: 0, signal: 0 }, Action::Exit]
    );
}

#[test]
fn terminate_is_d_then_x() {
    let (m, out) = go(up(), &[Event::Terminate], 1000);
    assert_eq!(out, [sig(RUN, SIGTERM), sig(RUN, SIGCONT)]);
    let (_, out) = go(m, &[killed(RUN, SIGTERM), Event::FinishFailed], 1001);
    assert_eq!(out.last(), Some(&Action::Exit));
}

#[test]
fn d_while_starting_takes_it_down_as_soon_as_it_runs() {
    let (m, out) = go(starting(), &[cmd(b'd')], 0);
    assert_eq!(out, []);
    let (_, out) = go(
        m,
        &[Event::RunStarted {
            pid: RUN,
            settings: settings(),
        }],
        1,
    );
    assert_eq!(out, [sig(RUN, SIGTERM), sig(RUN, SIGCONT)]);
}

#[test]
fn once_starts_and_never_restarts() {
    let (m, out) = go(down_wanted_down(), &[cmd(b'o')], 0);
    assert_eq!(out, [Action::SpawnRun]);
    let m = go(
        m,
        &[Event::RunStarted {
            pid: RUN,
            settings: settings(),
        }],
        0,
    )
    .0;
    assert_eq!(m.status().want, Want::Down);
    assert!(m.status().ext.unwrap().has(flag::ONCE));
    let (m, out) = go(m, &[exited(RUN, 0), Event::FinishFailed], 20_000);
    assert_eq!(out, [Action::SpawnFinish { code: 0, signal: 0 }]);
    assert_eq!(m.state, State::Down);
}

#[test]
fn a_failed_spawn_is_retried_under_the_back_off() {
    let (m, out) = go(starting(), &[Event::RunFailed], 50);
    assert_eq!(out, []);
    assert_eq!(m.deadline(), Some(Duration::from_millis(1050)));
    let (_, out) = go(m, &[Event::Tick], 1050);
    assert_eq!(out, [Action::SpawnRun]);
}

#[test]
fn an_orphan_is_waited_for_then_replaced() {
    let (m, out) = go(orphan(), &[Event::Tick, cmd(b'u')], 0);
    assert_eq!(out, [], "never a second copy while the first runs");
    let (m, out) = go(m, &[Event::OrphanGone], 10);
    assert_eq!(out, [Action::SpawnRun]);
    assert_eq!(m.state, State::Starting);
}

#[test]
fn an_orphan_taken_down_is_not_replaced() {
    let (m, out) = go(orphan(), &[cmd(b'd')], 0);
    assert_eq!(out, [sig(ORPHAN, SIGTERM), sig(ORPHAN, SIGCONT)]);
    let (m, out) = go(m, &[Event::OrphanGone], 10);
    assert_eq!((m.state, out), (State::Down, vec![]));
}

#[test]
fn pause_and_continue_are_shown() {
    let (m, _) = go(up(), &[cmd(b'p')], 0);
    assert!(m.status().paused);
    let (m, _) = go(m, &[cmd(b'c')], 0);
    assert!(!m.status().paused);
}

#[test]
fn exits_of_other_children_are_ignored() {
    let (m, out) = go(up(), &[exited(999, 0)], 0);
    assert_eq!((m.state, out), (State::Up { pid: RUN }, vec![]));
}

#[test]
fn backoff_doubles_and_saturates() {
    let s = settings();
    assert_eq!(backoff(&s, 1), Duration::from_secs(1));
    assert_eq!(backoff(&s, 3), Duration::from_secs(4));
    assert_eq!(backoff(&s, 7), Duration::from_secs(60));
    assert_eq!(backoff(&s, 200), Duration::from_secs(60));
}

const CHECK: i32 = 400;

/// Up with these settings, at time 0.
fn up_with(s: Settings) -> Machine {
    go(
        starting(),
        &[Event::RunStarted {
            pid: RUN,
            settings: s,
        }],
        0,
    )
    .0
}

fn checked_every_second() -> Settings {
    Settings {
        has_check: true,
        check_interval: Some(Duration::from_secs(1)),
        ..settings()
    }
}

#[test]
fn a_service_with_a_mechanism_is_ready_only_when_it_says_so() {
    let s = Settings {
        notification_fd: Some(3),
        ..settings()
    };
    let m = up_with(s);
    assert!(!m.status().ext.unwrap().has(flag::READY));
    let (m, out) = go(m, &[Event::Ready], 500);
    assert_eq!(out, []);
    let x = m.status().ext.unwrap();
    assert!(x.has(flag::READY));
    assert_eq!(x.ready_at, at(500).wall);
    // Ready only once: a second newline does not move the time.
    let (m, _) = go(m, &[Event::Ready], 900);
    assert_eq!(m.status().ext.unwrap().ready_at, at(500).wall);
}

#[test]
fn reloading_and_stopping_are_not_ready() {
    let m = up_with(Settings {
        notify: true,
        ..settings()
    });
    let (m, _) = go(m, &[Event::Ready, Event::Notified(Notice::Reloading)], 10);
    let x = m.status().ext.unwrap();
    assert!(!x.has(flag::READY) && x.has(flag::RELOADING));
    let (m, _) = go(m, &[Event::Ready], 20);
    let x = m.status().ext.unwrap();
    assert!(x.has(flag::READY) && !x.has(flag::RELOADING));
    let (m, _) = go(m, &[Event::Notified(Notice::Stopping)], 30);
    assert!(m.status().ext.unwrap().has(flag::STOPPING));
}

#[test]
fn the_watchdog_restarts_a_silent_service() {
    let s = Settings {
        notify: true,
        watchdog: Some(Duration::from_secs(2)),
        ..settings()
    };
    let m = up_with(s);
    assert_eq!(m.deadline(), Some(Duration::from_secs(2)));
    // A ping moves the deadline.
    let (m, _) = go(m, &[Event::Notified(Notice::Watchdog)], 1500);
    assert_eq!(m.deadline(), Some(Duration::from_millis(3500)));
    let (m, out) = go(m, &[Event::Tick], 3500);
    assert_eq!(
        out,
        [
            Action::Restarting(Why::Watchdog),
            sig(RUN, SIGTERM),
            sig(RUN, SIGCONT)
        ]
    );
    // SIGKILL follows if it does not go: it is presumed hung.
    assert_eq!(
        m.deadline(),
        Some(Duration::from_millis(3500) + FORCED_KILL)
    );
    let (m, out) = go(m, &[Event::Tick], 3500 + 5000);
    assert_eq!(out, [sig(RUN, SIGKILL)]);
    // Its death counts, and it is restarted.
    let (m, _) = go(m, &[killed(RUN, SIGKILL)], 8600);
    assert_eq!(m.deaths, 1);
    let (m, out) = go(m, &[Event::FinishFailed], 8600);
    assert_eq!((m.state, out), (State::Starting, vec![Action::SpawnRun]));
}

#[test]
fn checks_run_one_at_a_time_every_interval() {
    let m = up_with(checked_every_second());
    assert_eq!(m.deadline(), Some(Duration::from_secs(1)));
    let (m, out) = go(m, &[Event::Tick], 1000);
    assert_eq!(out, [Action::SpawnCheck]);
    let (m, out) = go(m, &[Event::CheckStarted { pid: CHECK }, Event::Tick], 1000);
    assert_eq!(out, [], "never two checks at once");
    // The first success makes a service without other mechanisms ready.
    let (m, _) = go(m, &[exited(CHECK, 0)], 1100);
    let x = m.status().ext.unwrap();
    assert!(x.has(flag::READY) && x.has(flag::HEALTHY));
    assert_eq!(m.deadline(), Some(Duration::from_secs(2)));
}

#[test]
fn a_check_that_outlives_its_interval_is_killed_and_fails() {
    let m = up_with(checked_every_second());
    let (m, _) = go(m, &[Event::Tick, Event::CheckStarted { pid: CHECK }], 1000);
    let (m, out) = go(m, &[Event::Tick], 2000);
    assert_eq!(
        out,
        [Action::SignalGroup {
            pgid: CHECK,
            signal: SIGKILL
        }]
    );
    let (m, _) = go(m, &[killed(CHECK, SIGKILL)], 2001);
    assert_eq!(m.run.health.last_ok, Some(false));
    // The next one is due at once.
    let (_, out) = go(m, &[Event::Tick], 2001);
    assert_eq!(out, [Action::SpawnCheck]);
}

/// One check at `t`: ticked, spawned, ended with exit `code` at t + 10.
fn one_check(m: Machine, t: u64, code: i32) -> (Machine, Vec<Action>) {
    let (m, _) = go(m, &[Event::Tick, Event::CheckStarted { pid: CHECK }], t);
    go(m, &[exited(CHECK, code)], t + 10)
}

fn unhealthy_restart(failures: u32) -> Vec<Action> {
    vec![
        Action::Restarting(Why::Unhealthy { failures }),
        sig(RUN, SIGTERM),
        sig(RUN, SIGCONT),
    ]
}

#[test]
fn failed_checks_in_a_row_restart_the_service() {
    let mut m = up_with(Settings {
        check_retries: 2,
        ..checked_every_second()
    });
    // A pass in between starts the count again.
    for (t, code) in [(1000, 1), (2000, 0), (3000, 1)] {
        let (next, out) = one_check(m, t, code);
        assert_eq!(out, [], "at {t}");
        m = next;
    }
    let (m, out) = one_check(m, 4000, 1);
    assert_eq!(out, unhealthy_restart(2));
    assert!(m.status().ext.unwrap().has(flag::UNHEALTHY));
}

#[test]
fn a_check_that_never_passes_restarts_the_service_after_the_grace() {
    let mut m = up_with(Settings {
        check_retries: 2,
        check_grace: Duration::from_millis(2500),
        ..checked_every_second()
    });
    // Within the grace failures do not count...
    for t in [1000, 2000] {
        let (next, out) = one_check(m, t, 1);
        assert_eq!(out, [], "at {t}");
        m = next;
    }
    // ...after it they do, although the service never became ready.
    let (m, out) = one_check(m, 3000, 1);
    assert_eq!(out, []);
    assert!(!m.status().ext.unwrap().has(flag::READY));
    let (_, out) = one_check(m, 4000, 1);
    assert_eq!(out, unhealthy_restart(2));
}

#[test]
fn without_a_grace_a_service_that_never_passes_restarts() {
    let m = up_with(Settings {
        check_retries: 2,
        ..checked_every_second()
    });
    let (m, out) = one_check(m, 1000, 1);
    assert_eq!(out, []);
    let (_, out) = one_check(m, 2000, 1);
    assert_eq!(out, unhealthy_restart(2));
}

#[test]
fn a_passing_check_ends_the_grace_early() {
    let m = up_with(Settings {
        check_retries: 2,
        check_grace: Duration::from_secs(60),
        ..checked_every_second()
    });
    let (m, _) = one_check(m, 1000, 0);
    assert!(m.status().ext.unwrap().has(flag::READY));
    let (m, out) = one_check(m, 2000, 1);
    assert_eq!(out, []);
    let (_, out) = one_check(m, 3000, 1);
    assert_eq!(out, unhealthy_restart(2));
}

#[test]
fn the_grace_starts_again_with_each_start() {
    let s = Settings {
        check_retries: 1,
        check_grace: Duration::from_millis(1500),
        ..checked_every_second()
    };
    let m = up_with(s);
    let (m, _) = one_check(m, 1000, 0);
    let (m, _) = go(m, &[exited(RUN, 0), Event::FinishFailed], 20_000);
    let (m, _) = go(
        m,
        &[Event::RunStarted {
            pid: RUN,
            settings: s,
        }],
        20_000,
    );
    let (m, out) = one_check(m, 21_000, 1);
    assert_eq!(out, [], "in the new run's grace");
    let (_, out) = one_check(m, 22_000, 1);
    assert_eq!(out, unhealthy_restart(1));
}

fn checked_for_readiness() -> Settings {
    Settings {
        has_check: true,
        ..settings()
    }
}

#[test]
fn a_check_without_an_interval_runs_at_once_and_until_it_passes() {
    let m = up_with(checked_for_readiness());
    assert_eq!(m.deadline(), Some(Duration::ZERO), "at once after start");
    let (mut m, out) = go(m, &[Event::Tick], 0);
    assert_eq!(out, [Action::SpawnCheck]);
    (m, _) = go(m, &[Event::CheckStarted { pid: CHECK }], 0);
    let mut t = 0;
    // Failures restart nothing: the check only decides readiness.
    for _ in 0..10 {
        let (next, out) = go(m, &[exited(CHECK, 1)], t + 10);
        assert_eq!(out, []);
        assert_eq!(next.deadline(), Some(Duration::from_millis(t + 10 + 420)));
        t += 10 + 420;
        let (next, out) = go(next, &[Event::Tick, Event::CheckStarted { pid: CHECK }], t);
        assert_eq!(out, [Action::SpawnCheck]);
        m = next;
    }
    assert!(!m.status().ext.unwrap().has(flag::READY));
    let (m, out) = go(m, &[exited(CHECK, 0)], t + 10);
    assert_eq!(out, []);
    assert!(m.status().ext.unwrap().has(flag::READY));
    assert_eq!(m.deadline(), None, "no periodic checks once it passed");
}

#[test]
fn a_readiness_check_that_hangs_is_killed_after_the_limit() {
    let m = up_with(checked_for_readiness());
    let (m, _) = go(m, &[Event::Tick, Event::CheckStarted { pid: CHECK }], 0);
    assert_eq!(m.deadline(), Some(READINESS_CHECK_LIMIT));
    let (m, out) = go(m, &[Event::Tick], 7000);
    assert_eq!(
        out,
        [Action::SignalGroup {
            pgid: CHECK,
            signal: SIGKILL
        }]
    );
    let (m, _) = go(m, &[killed(CHECK, SIGKILL)], 7001);
    assert_eq!(m.deadline(), Some(Duration::from_millis(7001 + 420)));
}

#[test]
fn the_memory_guard_samples_each_second_and_restarts() {
    let m = up_with(Settings {
        memory_limit: Some(1 << 20),
        ..settings()
    });
    let (m, out) = go(m, &[Event::Tick], 1000);
    assert_eq!(out, [Action::SampleMemory { pid: RUN }]);
    let (m, out) = go(m, &[Event::Memory { rss: 1 << 20 }], 1000);
    assert_eq!(out, []);
    assert_eq!(m.deadline(), Some(Duration::from_secs(2)));
    let (m, out) = go(m, &[Event::Memory { rss: 2 << 20 }], 1001);
    assert_eq!(
        out,
        [
            Action::Restarting(Why::Memory {
                rss: 2 << 20,
                limit: 1 << 20
            }),
            sig(RUN, SIGTERM),
            sig(RUN, SIGCONT)
        ]
    );
    assert_eq!(m.status().ext.unwrap().memory_restarts, 1);
}

#[test]
fn none_of_it_wakes_an_idle_plain_service() {
    assert_eq!(up().deadline(), None);
}

#[test]
fn a_check_left_running_when_the_service_dies_is_killed() {
    let m = up_with(checked_every_second());
    let (m, _) = go(m, &[Event::Tick, Event::CheckStarted { pid: CHECK }], 1000);
    let (m, out) = go(m, &[exited(RUN, 0)], 1500);
    assert!(out.contains(&Action::SignalGroup {
        pgid: CHECK,
        signal: SIGKILL
    }));
    // Its result, when reaped, changes nothing.
    let (m2, out) = go(m, &[killed(CHECK, SIGKILL)], 1600);
    assert_eq!(out, []);
    assert_eq!(m2.check, None);
}

/// What the world does between steps, chosen at random.
#[derive(Clone, Debug)]
enum Happening {
    Control(u8),
    Terminate,
    /// Time passes by this many ms, then a Tick.
    Wait(u64),
    /// The run (or finish, or orphan) dies with this status.
    Dies(i32),
    /// The next spawn fails instead of succeeding.
    SpawnFails,
    /// The service says READY=1 or a notice.
    Says(Option<Notice>),
    /// The running check ends, passing or failing.
    CheckEnds(bool),
    /// The memory guard's sample comes back this large (MB).
    Rss(u64),
    /// The daemon a launcher forked away writes its pid file.
    WritesPidFile,
    /// The oldest running stop or reload ends, passing or failing.
    HelperEnds(bool),
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        3 => proptest::sample::select(b"udoxrpchaitkq12yb".to_vec()).prop_map(Happening::Control),
        1 => Just(Happening::Terminate),
        3 => (0u64..20_000).prop_map(Happening::Wait),
        3 => prop_oneof![Just(0), Just(1 << 8), Just(9), Just(125 << 8)].prop_map(Happening::Dies),
        1 => Just(Happening::SpawnFails),
        1 => prop_oneof![
            Just(None),
            Just(Some(Notice::Reloading)),
            Just(Some(Notice::Stopping)),
            Just(Some(Notice::Watchdog)),
            Just(Some(Notice::Status)),
        ]
        .prop_map(Happening::Says),
        2 => any::<bool>().prop_map(Happening::CheckEnds),
        1 => (0u64..4).prop_map(Happening::Rss),
        1 => Just(Happening::WritesPidFile),
        1 => any::<bool>().prop_map(Happening::HelperEnds),
    ]
}

/// A world that answers the machine's actions as the I/O loop would and
/// checks the invariants on every step.
struct World {
    now: u64,
    next_pid: i32,
    run: Option<i32>,
    finish: Option<i32>,
    orphan: Option<i32>,
    fail_next_spawn: bool,
    exited: bool,
    check: Option<i32>,
    settings: Settings,
    /// When the current run was spawned (ms).
    run_started: u64,
    /// With a pid file: the run that forks the daemon away.
    launcher: Option<i32>,
    /// The pid file names the daemon (once the launcher is gone).
    pid_written: bool,
    /// Running stop and reload helpers, oldest first.
    helpers: Vec<i32>,
}

impl World {
    fn feed(&mut self, m: Machine, ev: Event) -> Machine {
        let mut queue = alloc::collections::VecDeque::from([ev]);
        let mut m = m;
        while let Some(ev) = queue.pop_front() {
            let (next, actions) = step(m, ev, at(self.now));
            m = next;
            for a in actions {
                match a {
                    Action::SpawnRun => {
                        assert!(
                            self.run.is_none() && self.orphan.is_none(),
                            "two runs at once: {m:?}"
                        );
                        assert!(m.want_up || m.once, "start while wanted down: {m:?}");
                        assert!(self.launcher.is_none(), "two launchers at once: {m:?}");
                        if self.fail_next_spawn {
                            self.fail_next_spawn = false;
                            queue.push_back(Event::RunFailed);
                        } else {
                            self.next_pid += 1;
                            self.pid_written = false;
                            match self.settings.pidfile {
                                true => self.launcher = Some(self.next_pid),
                                false => self.run = Some(self.next_pid),
                            }
                            self.run_started = self.now;
                            queue.push_back(Event::RunStarted {
                                pid: self.next_pid,
                                settings: self.settings,
                            });
                        }
                    }
                    Action::SpawnFinish { .. } => {
                        assert!(
                            self.run.is_none() && self.finish.is_none() && self.launcher.is_none(),
                            "finish beside run: {m:?}"
                        );
                        self.next_pid += 1;
                        self.finish = Some(self.next_pid);
                        queue.push_back(Event::FinishStarted { pid: self.next_pid });
                    }
                    Action::Signal { pid, signal } => {
                        assert!(
                            [self.run, self.finish, self.orphan, self.launcher]
                                .contains(&Some(pid)),
                            "signal {signal} to {pid}, which is not ours: {m:?}"
                        );
                    }
                    Action::SignalGroup { .. } => {}
                    Action::SpawnCheck => {
                        assert!(self.check.is_none(), "two checks at once: {m:?}");
                        assert!(self.run.is_some(), "a check with no service: {m:?}");
                        self.next_pid += 1;
                        self.check = Some(self.next_pid);
                        queue.push_back(Event::CheckStarted { pid: self.next_pid });
                    }
                    Action::SampleMemory { pid } => {
                        assert_eq!(self.run, Some(pid), "sampling what is not the run");
                    }
                    Action::Restarting(Why::Unhealthy { failures }) => {
                        assert!(
                            failures >= self.settings.check_retries,
                            "restarted after {failures} failed checks: {m:?}"
                        );
                        // Failures within the grace never count: this many
                        // checks take at least this long after the start.
                        let grace = self.settings.check_grace.as_millis() as u64;
                        assert!(
                            self.now >= self.run_started + grace,
                            "an unhealthy restart within check-grace: {m:?}"
                        );
                    }
                    Action::Restarting(_) => {}
                    Action::ReadPidFile => {
                        assert!(
                            self.run.is_none() && self.launcher.is_none(),
                            "pid file read while the service runs: {m:?}"
                        );
                        if self.pid_written {
                            self.next_pid += 1;
                            self.run = Some(self.next_pid);
                            queue.push_back(Event::PidFound { pid: self.next_pid });
                        } else {
                            queue.push_back(Event::PidNotYet);
                        }
                    }
                    Action::GiveUpPidFile => {}
                    Action::SpawnHelper { helper, pid } => {
                        assert_eq!(
                            self.run,
                            Some(pid),
                            "{helper:?} for what is not the service"
                        );
                        if self.fail_next_spawn {
                            self.fail_next_spawn = false;
                            queue.push_back(Event::HelperFailed { helper });
                        } else {
                            self.next_pid += 1;
                            self.helpers.push(self.next_pid);
                            queue.push_back(Event::HelperStarted {
                                helper,
                                pid: self.next_pid,
                            });
                        }
                    }
                    Action::HelperEnded { .. } => {}
                    Action::Exit => {
                        assert!(
                            self.run.is_none() && self.orphan.is_none() && self.launcher.is_none(),
                            "exit with the service up"
                        );
                        self.exited = true;
                        return m;
                    }
                }
            }
        }
        m
    }

    fn happen(&mut self, m: Machine, h: Happening) -> Machine {
        match h {
            Happening::Control(b) => self.feed(m, cmd(b)),
            Happening::Terminate => self.feed(m, Event::Terminate),
            Happening::Wait(ms) => {
                self.now += ms;
                self.feed(m, Event::Tick)
            }
            Happening::Dies(status) => {
                if self.orphan.take().is_some() {
                    return self.feed(m, Event::OrphanGone);
                }
                if let Some(pid) = self.launcher.take() {
                    return self.feed(m, Event::Exited { pid, status });
                }
                match (self.run.take(), self.finish.take()) {
                    (Some(pid), _) | (None, Some(pid)) => {
                        self.feed(m, Event::Exited { pid, status })
                    }
                    (None, None) => m,
                }
            }
            Happening::SpawnFails => {
                self.fail_next_spawn = true;
                m
            }
            Happening::Says(None) => self.feed(m, Event::Ready),
            Happening::Says(Some(n)) => self.feed(m, Event::Notified(n)),
            Happening::CheckEnds(ok) => match self.check.take() {
                Some(pid) => self.feed(m, exited(pid, if ok { 0 } else { 1 })),
                None => m,
            },
            Happening::WritesPidFile => {
                self.pid_written = true;
                m
            }
            Happening::HelperEnds(ok) => match self.helpers.is_empty() {
                true => m,
                false => {
                    let pid = self.helpers.remove(0);
                    self.feed(m, exited(pid, if ok { 0 } else { 1 }))
                }
            },
            Happening::Rss(mb) => match self.run {
                Some(_) => self.feed(m, Event::Memory { rss: mb << 20 }),
                None => m,
            },
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Over random event sequences: never two runs, never a start while
    /// wanted down, signals only to our own processes, and a deadline
    /// whenever something is pending.
    #[test]
    fn random_sequences_keep_the_invariants(
        normally_up: bool,
        with_orphan: bool,
        extras in (any::<bool>(), 0u8..3, any::<bool>(), any::<bool>()),
        helpers in (any::<bool>(), any::<bool>(), any::<bool>()),
        hs in proptest::collection::vec(happening(), 0..60),
    ) {
        let orphan = with_orphan.then_some(adopted());
        let mut w = World {
            now: 0, next_pid: 1000, run: None, finish: None,
            orphan: orphan.map(|o| o.pid), fail_next_spawn: false, exited: false,
            check: None, run_started: 0, launcher: None, pid_written: false,
            helpers: Vec::new(),
            settings: Settings {
                pidfile: helpers.0,
                pidfile_timeout: Duration::from_secs(2),
                has_stop: helpers.1,
                has_reload: helpers.2,
                check_grace: Duration::from_millis(if extras.3 { 2500 } else { 0 }),
                notify: extras.0,
                watchdog: extras.0.then_some(Duration::from_secs(3)),
                // 0: no check; 1: periodic; 2: readiness only.
                has_check: extras.1 > 0,
                check_interval: (extras.1 == 1).then_some(Duration::from_secs(1)),
                memory_limit: extras.2.then_some(2 << 20),
                ..settings()
            },
        };
        let mut m = w.feed(Machine::new(normally_up, orphan, at(0)), Event::Tick);
        for h in hs {
            if w.exited {
                break;
            }
            m = w.happen(m, h);
            // The status always tells the truth about what runs.
            let s = m.status();
            prop_assert_eq!(s.pid != 0, w.run.is_some() || w.orphan.is_some(), "{:?}", m);
            if m.state == State::Down && m.want_up && !m.permanent && !m.exit_when_down {
                prop_assert!(m.deadline().is_some(), "wanted up, down, and nothing will start it: {:?}", m);
            }
            // A pid file is read until it names the daemon or time is up.
            if matches!(m.state, State::Seeking { .. }) {
                prop_assert!(m.deadline().is_some(), "seeking with nothing due: {:?}", m);
            }
            // A check that decides readiness is never left waiting (a
            // service that said RELOADING=1 or STOPPING=1 speaks for itself).
            let unready = m.run.ready_at.is_zero() && !m.run.health.ending && m.check.is_none()
                && !m.run.reloading && !m.run.stopping;
            if matches!(m.state, State::Up { .. }) && m.settings.has_check && unready {
                prop_assert!(m.deadline().is_some(), "up, unready, no check running and none due: {:?}", m);
            }
        }
    }
}

const DAEMON: i32 = 500;
const HELPER: i32 = 600;

#[test]
fn a_pidfile_run_launches_and_the_daemon_it_names_is_the_service() {
    let m = launching();
    assert_eq!((m.status().pid, m.status().state), (0, RunState::Down));
    let (m, out) = go(m, &[exited(RUN, 0)], 100);
    assert_eq!(out, [Action::ReadPidFile]);
    // Not there yet: read again at a steady pace.
    let (m, out) = go(m, &[Event::PidNotYet], 100);
    assert_eq!(out, []);
    assert_eq!(m.deadline(), Some(Duration::from_millis(150)));
    let (m, out) = go(m, &[Event::Tick], 150);
    assert_eq!(out, [Action::ReadPidFile]);
    let (m, out) = go(m, &[Event::PidFound { pid: DAEMON }], 150);
    assert_eq!(out, []);
    assert_eq!(m.state, State::Up { pid: DAEMON });
    let s = m.status();
    assert_eq!((s.pid, s.state), (DAEMON as u32, RunState::Run));
    assert_eq!(s.changed, at(0).wall, "up since its launch");
    assert!(s.ext.unwrap().has(flag::READY));
    // Signals go to the daemon, and its death is the service's.
    let (_, out) = go(m, &[cmd(b'k')], 200);
    assert_eq!(out, [sig(DAEMON, SIGKILL)]);
    let (m, out) = go(m, &[exited(DAEMON, 1)], 20_000);
    assert_eq!(out, [Action::SpawnFinish { code: 1, signal: 0 }]);
    assert_eq!(m.deaths, 1);
}

#[test]
fn a_pid_file_that_never_names_the_daemon_is_a_failed_start() {
    let (m, _) = go(seeking(), &[Event::PidNotYet], 100);
    let (m, out) = go(m, &[Event::Tick, Event::PidNotYet], 1100);
    assert_eq!(
        out,
        [
            Action::ReadPidFile,
            Action::GiveUpPidFile,
            Action::SignalGroup {
                pgid: RUN,
                signal: SIGTERM
            },
            Action::SignalGroup {
                pgid: RUN,
                signal: SIGCONT
            },
        ]
    );
    assert_eq!(m.state, State::Down);
    assert!(m.status().ext.unwrap().has(flag::BACKING_OFF));
}

#[test]
fn a_launcher_that_fails_is_a_death() {
    let (m, out) = go(launching(), &[exited(RUN, 2)], 100);
    assert_eq!(out, [Action::SpawnFinish { code: 2, signal: 0 }]);
    assert_eq!(m.deaths, 1);
}

#[test]
fn d_while_seeking_takes_the_daemon_down_once_found() {
    let (m, out) = go(seeking(), &[cmd(b'd')], 100);
    assert_eq!(out, []);
    let (m, out) = go(m, &[Event::PidFound { pid: DAEMON }], 120);
    assert_eq!(out, [sig(DAEMON, SIGTERM), sig(DAEMON, SIGCONT)]);
    assert_eq!(m.status().want, Want::Down);
}

fn with_stop() -> Settings {
    Settings {
        has_stop: true,
        timeout_kill: Duration::from_millis(1000),
        ..settings()
    }
}

#[test]
fn down_runs_stop_then_the_down_signal_then_sigkill() {
    let m = up_with(with_stop());
    let (m, out) = go(m, &[cmd(b'd')], 0);
    assert_eq!(
        out,
        [Action::SpawnHelper {
            helper: Helper::Stop,
            pid: RUN
        }]
    );
    let (m, out) = go(
        m,
        &[Event::HelperStarted {
            helper: Helper::Stop,
            pid: HELPER,
        }],
        0,
    );
    assert_eq!(out, []);
    assert_eq!(m.deadline(), Some(Duration::from_millis(1000)));
    // A second d does not run a second stop.
    let (m, out) = go(m, &[cmd(b'd')], 10);
    assert_eq!(out, []);
    let (m, out) = go(m, &[Event::Tick], 1000);
    assert_eq!(
        out,
        [
            Action::SignalGroup {
                pgid: HELPER,
                signal: SIGKILL
            },
            sig(RUN, SIGTERM),
            sig(RUN, SIGCONT)
        ]
    );
    let (m, out) = go(m, &[Event::Tick], 2000);
    assert_eq!(out, [sig(RUN, SIGKILL)]);
    // The killed stop is reported.
    let (_, out) = go(m, &[killed(HELPER, SIGKILL)], 2001);
    assert_eq!(
        out,
        [Action::HelperEnded {
            helper: Helper::Stop,
            status: SIGKILL
        }]
    );
}

#[test]
fn a_service_that_stops_in_time_gets_no_signal() {
    let m = up_with(with_stop());
    let (m, _) = go(
        m,
        &[
            cmd(b'd'),
            Event::HelperStarted {
                helper: Helper::Stop,
                pid: HELPER,
            },
        ],
        0,
    );
    let (m, out) = go(m, &[exited(HELPER, 0), exited(RUN, 0)], 300);
    assert_eq!(
        out,
        [
            Action::SignalGroup {
                pgid: RUN,
                signal: SIGTERM
            },
            Action::SignalGroup {
                pgid: RUN,
                signal: SIGCONT
            },
            Action::SpawnFinish { code: 0, signal: 0 },
        ]
    );
    assert_eq!(m.deaths, 0, "asked for");
    let (m, _) = go(m, &[Event::FinishFailed], 300);
    assert_eq!(
        (m.state, m.deadline()),
        (State::Down, Some(Duration::from_millis(1300)))
    );
    let (_, out) = go(m, &[Event::Tick], 1300);
    assert_eq!(
        out,
        [Action::SignalGroup {
            pgid: RUN,
            signal: SIGKILL
        }]
    );
}

#[test]
fn a_stop_that_cannot_run_falls_back_to_the_down_signal() {
    let m = up_with(with_stop());
    let (m, _) = go(m, &[cmd(b'd')], 0);
    let (m, out) = go(
        m,
        &[Event::HelperFailed {
            helper: Helper::Stop,
        }],
        0,
    );
    assert_eq!(out, [sig(RUN, SIGTERM), sig(RUN, SIGCONT)]);
    assert_eq!(m.deadline(), Some(Duration::from_millis(1000)));
}

#[test]
fn h_runs_reload_one_at_a_time_and_falls_back_to_sighup() {
    let m = up_with(Settings {
        has_reload: true,
        ..settings()
    });
    let spawn = Action::SpawnHelper {
        helper: Helper::Reload,
        pid: RUN,
    };
    let (m, out) = go(m, &[cmd(b'h')], 0);
    assert_eq!(out, [spawn]);
    let (m, out) = go(m, &[cmd(b'h')], 10);
    assert_eq!(out, [], "one reload at a time");
    let (m, out) = go(
        m,
        &[
            Event::HelperStarted {
                helper: Helper::Reload,
                pid: HELPER,
            },
            exited(HELPER, 0),
        ],
        20,
    );
    assert_eq!(out, []);
    assert_eq!(m.state, State::Up { pid: RUN });
    let (m, out) = go(m, &[cmd(b'h')], 30);
    assert_eq!(out, [spawn]);
    let (_, out) = go(
        m,
        &[Event::HelperFailed {
            helper: Helper::Reload,
        }],
        30,
    );
    assert_eq!(out, [sig(RUN, libc::SIGHUP)]);
}

#[test]
fn the_daemon_found_after_r_during_its_launch_is_checked_afresh() {
    let s = Settings {
        check_retries: 1,
        ..Settings {
            pidfile: true,
            ..checked_every_second()
        }
    };
    let (m, _) = go(
        starting(),
        &[Event::RunStarted {
            pid: RUN,
            settings: s,
        }],
        0,
    );
    // r signals the launcher, which exits 0 all the same.
    let (m, out) = go(m, &[cmd(b'r')], 10);
    assert_eq!(out, [sig(RUN, SIGTERM), sig(RUN, SIGCONT)]);
    let (m, _) = go(m, &[exited(RUN, 0), Event::PidFound { pid: DAEMON }], 20);
    assert_eq!(m.state, State::Up { pid: DAEMON });
    let (m, _) = go(m, &[Event::Tick, Event::CheckStarted { pid: CHECK }], 1020);
    let (_, out) = go(m, &[exited(CHECK, 1)], 1030);
    assert_eq!(
        out,
        [
            Action::Restarting(Why::Unhealthy { failures: 1 }),
            sig(DAEMON, SIGTERM),
            sig(DAEMON, SIGCONT)
        ]
    );
}

#[test]
fn down_on_a_paused_service_continues_it_for_stop() {
    let m = up_with(with_stop());
    let (m, _) = go(m, &[cmd(b'p')], 0);
    let (m, out) = go(m, &[cmd(b'd')], 10);
    assert_eq!(
        out,
        [
            sig(RUN, SIGCONT),
            Action::SpawnHelper {
                helper: Helper::Stop,
                pid: RUN
            }
        ]
    );
    assert!(!m.status().paused);
}
