//! The scan machine, event by event, with the clock fixed by each test.

use super::entry::STOP_SERVICE;
use super::*;
use alloc::vec;
use proptest::prelude::*;

const T0: Duration = Duration::from_secs(100);

fn secs(s: u64) -> Duration {
    T0 + Duration::from_secs(s)
}

fn n(s: &str) -> Name {
    Name::from(s.as_bytes())
}

fn listed(items: &[(&str, Found)]) -> Event {
    Event::Listed(items.iter().map(|(name, f)| (n(name), *f)).collect())
}

const PLAIN: Found = Found::Service {
    log: false,
    timeout_kill: Duration::ZERO,
    pool: None,
};
const LOGGED: Found = Found::Service {
    log: true,
    timeout_kill: Duration::ZERO,
    pool: None,
};

/// Runs `events` in order at `now`, returning the tree and every action.
fn run(t: Tree, events: Vec<Event>, now: Duration) -> (Tree, Vec<Action>) {
    let mut all = Vec::new();
    let mut t = t;
    for ev in events {
        let (next, actions) = step(t, ev, now);
        t = next;
        all.extend(actions);
    }
    (t, all)
}

/// A tree supervising `web` (service pid 10, logger pid 11) and `db`
/// (pid 20, no logger), all started at T0.
fn running() -> Tree {
    let (t, actions) = run(
        Tree::new(),
        vec![
            listed(&[("db", PLAIN), ("web", LOGGED)]),
            Event::Started {
                name: n("db"),
                role: Role::Service,
                pid: 20,
            },
            Event::Started {
                name: n("web"),
                role: Role::Service,
                pid: 10,
            },
            Event::Started {
                name: n("web"),
                role: Role::Log,
                pid: 11,
            },
        ],
        T0,
    );
    assert_eq!(actions.len(), 3, "{actions:?}");
    t
}

fn spawn(name: &str, role: Role, piped: bool) -> Action {
    Action::Spawn {
        name: n(name),
        role,
        piped,
    }
}

fn sig(pid: i32, signal: c_int) -> Action {
    Action::Signal { pid, signal }
}

#[test]
fn new_services_start_with_their_logger_on_the_pipe() {
    let (t, actions) = run(
        Tree::new(),
        vec![listed(&[("db", PLAIN), ("web", LOGGED)])],
        T0,
    );
    assert_eq!(
        actions,
        [
            spawn("db", Role::Service, false),
            spawn("web", Role::Service, true),
            spawn("web", Role::Log, true)
        ]
    );
    // Spawning: a second listing must not spawn them twice.
    let (_, again) = step(t, listed(&[("db", PLAIN), ("web", LOGGED)]), T0);
    assert_eq!(again, []);
}

#[test]
fn a_problem_is_told_once_and_again_after_it_went_away() {
    let bad = Found::Ignored(Problem::NotDir);
    let (t, first) = step(Tree::new(), listed(&[("notes", bad)]), T0);
    assert_eq!(
        first,
        [Action::warn(Notice::Problem {
            name: n("notes"),
            found: bad
        })]
    );
    let (t, second) = step(t, listed(&[("notes", bad)]), secs(60));
    assert_eq!(second, [], "told once, not every rescan");
    let (t, _) = step(t, listed(&[]), secs(120));
    let (_, back) = step(t, listed(&[("notes", bad)]), secs(180));
    assert_eq!(back.len(), 1, "it came back: told again");
}

#[test]
fn a_dir_waiting_for_its_run_is_not_started_but_a_running_one_keeps_running() {
    let waiting = Found::Waiting(Role::Service, Problem::NoRun);
    let (t, actions) = step(Tree::new(), listed(&[("new", waiting)]), T0);
    assert!(matches!(actions[..], [Action::Warn(_)]), "{actions:?}");
    assert!(t.entries.is_empty());
    let (t, actions) = step(
        running(),
        listed(&[("db", waiting), ("web", LOGGED)]),
        secs(1),
    );
    assert_eq!(actions, [], "db's run was removed: supervise keeps it");
    assert_eq!(t.entries.get(b"db").unwrap().stage, Stage::Live);
}

#[test]
fn a_dead_supervise_restarts_at_once_after_a_long_life_later_after_a_short_one() {
    let died = |pid| Event::Exited { pid, status: 9 };
    let (t, actions) = step(running(), died(20), secs(30));
    assert_eq!(actions[1..], [spawn("db", Role::Service, false)]);
    assert!(matches!(&actions[0], Action::Warn(w) if matches!(**w, Notice::Died { .. })));
    let (t, _) = step(
        t,
        Event::Started {
            name: n("db"),
            role: Role::Service,
            pid: 21,
        },
        secs(30),
    );
    // Dies again at once: one second after its start, then two.
    let (t, actions) = step(t, died(21), secs(30));
    assert_eq!(actions.len(), 1, "only the warning: {actions:?}");
    assert_eq!(t.deadline(), Some(secs(31)));
    let (t, actions) = step(t, Event::Tick, secs(31));
    assert_eq!(actions, [spawn("db", Role::Service, false)]);
    let (t, _) = step(
        t,
        Event::Started {
            name: n("db"),
            role: Role::Service,
            pid: 22,
        },
        secs(31),
    );
    let (t, _) = step(t, died(22), secs(31));
    assert_eq!(t.deadline(), Some(secs(33)), "the delay doubles");
}

#[test]
fn a_failed_spawn_is_retried_after_a_delay_not_in_a_loop() {
    let (t, _) = step(Tree::new(), listed(&[("db", PLAIN)]), T0);
    let (t, actions) = step(t, failed("db", Failure::Fds), T0);
    assert_eq!(actions, []);
    assert_eq!(t.deadline(), Some(secs(1)));
}

fn failed(name: &str, why: Failure) -> Event {
    Event::SpawnFailed {
        name: n(name),
        role: Role::Service,
        why,
    }
}

#[test]
fn a_failed_spawn_is_told_once_until_one_succeeds() {
    let fork = Failure::Fork(Errno::EAGAIN);
    let told = Action::warn(Notice::SpawnFailed {
        name: n("db"),
        role: Role::Service,
        why: fork,
    });
    let (t, _) = step(Tree::new(), listed(&[("db", PLAIN)]), T0);
    let (t, actions) = step(t, failed("db", fork), T0);
    assert_eq!(actions, core::slice::from_ref(&told));
    let (t, actions) = step(t, Event::Tick, secs(1));
    assert_eq!(actions, [spawn("db", Role::Service, false)]);
    let (t, actions) = step(t, failed("db", fork), secs(1));
    assert_eq!(actions, [], "not told at every retry");
    let (t, _) = step(t, Event::Tick, secs(3));
    let (t, _) = step(t, started("db", 20), secs(3));
    let (t, _) = step(t, Event::Exited { pid: 20, status: 9 }, secs(30));
    let (_, actions) = step(t, failed("db", fork), secs(30));
    assert_eq!(actions, [told], "told again after a success");
}

#[test]
fn services_short_of_fds_are_counted_not_told_one_by_one() {
    let (t, _) = step(
        Tree::new(),
        listed(&[("db", LOGGED), ("web", LOGGED), ("x", PLAIN)]),
        T0,
    );
    let (t, _) = step(t, started("x", 30), T0);
    let (t, a) = step(t, failed("db", Failure::Fds), T0);
    let (t, b) = step(t, failed("web", Failure::Fds), T0);
    assert_eq!((a, b), (vec![], vec![]));
    assert_eq!(t.short_of(Failure::Fds), 2);
    let (t, _) = step(t, Event::Tick, secs(1));
    let (t, _) = step(t, started("db", 20), secs(1));
    let (t, a) = step(t, failed("web", Failure::Fds), secs(1));
    assert_eq!(a, []);
    assert_eq!(t.short_of(Failure::Fds), 1);
}

fn started(name: &str, pid: i32) -> Event {
    Event::Started {
        name: n(name),
        role: Role::Service,
        pid,
    }
}

#[test]
fn a_foreign_supervise_is_told_once_and_asked_about_again_on_rescan() {
    let (t, _) = step(Tree::new(), listed(&[("db", PLAIN)]), T0);
    let foreign = || Event::Foreign {
        name: n("db"),
        role: Role::Service,
    };
    let (t, actions) = step(t, foreign(), T0);
    assert_eq!(actions.len(), 1);
    assert_eq!(t.deadline(), None, "no retry timer: nothing to do");
    let (t, actions) = step(t, listed(&[("db", PLAIN)]), secs(60));
    assert_eq!(actions, [spawn("db", Role::Service, false)]);
    let (_, actions) = step(t, foreign(), secs(60));
    assert_eq!(actions, [], "told once");
}

#[test]
fn a_removed_service_goes_down_before_its_logger_then_the_pipe_closes() {
    let (t, actions) = step(running(), listed(&[("db", PLAIN)]), secs(1));
    assert_eq!(
        actions,
        [sig(10, libc::SIGTERM)],
        "the logger keeps reading"
    );
    let (t, actions) = step(t, Event::Exited { pid: 10, status: 0 }, secs(2));
    assert_eq!(
        actions,
        [
            Action::CloseWrite { name: n("web") },
            Action::Control {
                name: n("web"),
                role: Role::Log,
                down: false
            }
        ],
        "no d: the logger stores what is left and exits at end of input"
    );
    let (t, actions) = step(t, Event::Exited { pid: 11, status: 0 }, secs(3));
    assert_eq!(
        actions,
        [Action::ClosePipe { name: n("web") }, Action::Rescan]
    );
    assert!(!t.entries.contains(b"web"));
}

#[test]
fn a_logger_whose_fifo_is_gone_gets_sigterm() {
    let (t, _) = step(running(), listed(&[("db", PLAIN)]), secs(1));
    let (t, _) = step(t, Event::Exited { pid: 10, status: 0 }, secs(2));
    let (_, actions) = step(
        t,
        Event::ControlFailed {
            name: n("web"),
            role: Role::Log,
        },
        secs(2),
    );
    assert_eq!(actions, [sig(11, libc::SIGTERM)]);
}

#[test]
fn a_supervise_that_does_not_stop_in_time_is_killed_with_its_service() {
    let (t, _) = step(running(), listed(&[("web", LOGGED)]), secs(1));
    assert_eq!(t.deadline(), Some(secs(1) + STOP_SERVICE));
    let (t, actions) = step(t, Event::Tick, secs(1) + STOP_SERVICE);
    assert_eq!(
        actions[1..],
        [
            Action::KillRun {
                name: n("db"),
                role: Role::Service
            },
            sig(20, libc::SIGKILL)
        ]
    );
    assert_eq!(t.deadline(), None, "killed once");
}

#[test]
fn terminate_stops_everything_then_exits() {
    let (t, actions) = step(running(), Event::Terminate, secs(1));
    assert_eq!(actions, [sig(20, libc::SIGTERM), sig(10, libc::SIGTERM)]);
    let (t, actions) = step(t, listed(&[("new", PLAIN)]), secs(1));
    assert_eq!(actions, [], "nothing new starts while stopping");
    let (t, _) = step(t, Event::Exited { pid: 20, status: 0 }, secs(2));
    let (t, _) = step(t, Event::Exited { pid: 10, status: 0 }, secs(2));
    let (_, actions) = step(t, Event::Exited { pid: 11, status: 0 }, secs(2));
    assert_eq!(
        actions,
        [Action::ClosePipe { name: n("web") }, Action::Exit]
    );
    let (_, actions) = step(Tree::new(), Event::Terminate, T0);
    assert_eq!(actions, [Action::Exit], "nothing to stop");
}

#[test]
fn a_supervise_started_after_terminate_is_stopped_too() {
    let (t, _) = step(Tree::new(), listed(&[("db", PLAIN)]), T0);
    let (t, actions) = step(t, Event::Terminate, T0);
    assert_eq!(actions, []);
    let (_, actions) = step(
        t,
        Event::Started {
            name: n("db"),
            role: Role::Service,
            pid: 5,
        },
        T0,
    );
    assert_eq!(actions, [sig(5, libc::SIGTERM)]);
}

#[test]
fn orphans_reaped_by_scan_change_nothing() {
    let before = running();
    let (after, actions) = step(
        before.clone(),
        Event::Exited {
            pid: 999,
            status: 0,
        },
        T0,
    );
    assert_eq!((after, actions), (before, vec![]));
}

#[test]
fn a_foreign_supervise_of_a_removed_dir_is_told_dx() {
    let (t, _) = step(Tree::new(), listed(&[("db", PLAIN)]), T0);
    let (t, _) = step(
        t,
        Event::Foreign {
            name: n("db"),
            role: Role::Service,
        },
        T0,
    );
    let (t, actions) = step(t, listed(&[]), secs(1));
    assert_eq!(
        actions,
        [
            Action::Control {
                name: n("db"),
                role: Role::Service,
                down: true
            },
            Action::Rescan
        ]
    );
    assert!(t.entries.is_empty());
}

#[test]
fn a_service_whose_supervise_awaits_its_restart_is_killed_when_its_dir_goes() {
    // db's supervise died young: its restart is a second away, and the run
    // it left behind may still be running.
    let soon = T0 + Duration::from_millis(500);
    let (t, _) = step(running(), Event::Exited { pid: 20, status: 9 }, soon);
    let (_, actions) = step(t, listed(&[("web", LOGGED)]), soon);
    assert_eq!(
        actions,
        [
            Action::KillRun {
                name: n("db"),
                role: Role::Service
            },
            Action::Rescan
        ]
    );
}

/// Something that happens to scan, for the property test below.
#[derive(Clone, Debug)]
enum Happening {
    /// DIR listed with these of the names present (bit i: NAMES[i]),
    /// logged or not (bit i of the second mask).
    List(u8, u8),
    /// The oldest outstanding spawn is answered: 0 started, 1 failed,
    /// 2 foreign.
    Answer(u8),
    /// A supervise dies (index into the live ones).
    Die(usize),
    /// A control command cannot be delivered.
    ControlFails(usize),
    /// Time passes (ms), and a Tick.
    Wait(u64),
    Terminate,
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        3 => (0u8..8, 0u8..8).prop_map(|(p, l)| Happening::List(p, l)),
        4 => (0u8..3).prop_map(Happening::Answer),
        3 => (0usize..8).prop_map(Happening::Die),
        1 => (0usize..8).prop_map(Happening::ControlFails),
        2 => (0u64..7000).prop_map(Happening::Wait),
        1 => Just(Happening::Terminate),
    ]
}

/// What really runs, as the I/O loop would see it.
#[derive(Default)]
struct World {
    now: Duration,
    next_pid: i32,
    /// Spawns asked for and not answered yet.
    pending: Vec<(Name, Role)>,
    /// Our supervise processes alive: (pid, name, role).
    live: Vec<(i32, Name, Role)>,
    /// Control commands sent, for ControlFails to pick from.
    controlled: Vec<(Name, Role)>,
    terminating: bool,
    exited: bool,
}

impl World {
    fn feed(&mut self, t: Tree, ev: Event) -> Result<Tree, TestCaseError> {
        let (t, actions) = step(t, ev, self.now);
        for a in actions {
            match a {
                Action::Spawn { name, role, .. } => {
                    let slot = (name.clone(), role);
                    // A logger may be restarted while its service stops,
                    // to store the service's last lines; nothing else.
                    let service_stops =
                        t.entries.get(&name).map(|e| e.stage) == Some(Stage::StoppingService);
                    prop_assert!(
                        !self.terminating || (role == Role::Log && service_stops),
                        "spawned while stopping: {slot:?}"
                    );
                    prop_assert!(!self.pending.contains(&slot), "spawned twice: {slot:?}");
                    prop_assert!(
                        !self.live.iter().any(|(_, n, r)| (n, *r) == (&name, role)),
                        "a second supervise on {slot:?}"
                    );
                    self.pending.push(slot);
                }
                Action::Signal { pid, .. } => {
                    prop_assert!(self.live.iter().any(|(p, ..)| *p == pid), "signal to {pid}")
                }
                Action::Control { name, role, .. } => self.controlled.push((name, role)),
                Action::Exit => {
                    prop_assert!(self.terminating, "exit without being told");
                    prop_assert!(self.live.is_empty(), "exit with {:?} alive", self.live);
                    self.exited = true;
                }
                Action::KillRun { .. }
                | Action::CloseWrite { .. }
                | Action::ClosePipe { .. }
                | Action::Warn(_)
                | Action::Rescan => {}
            }
        }
        Ok(t)
    }

    fn happen(&mut self, t: Tree, h: Happening) -> Result<Tree, TestCaseError> {
        let ev = match h {
            Happening::List(present, logged) => Event::Listed(
                (0..NAMES.len())
                    .filter(|i| present & (1 << i) != 0)
                    .map(|i| {
                        let log = logged & (1 << i) != 0;
                        let timeout_kill = Duration::ZERO;
                        (
                            n(NAMES[i]),
                            Found::Service {
                                log,
                                timeout_kill,
                                pool: None,
                            },
                        )
                    })
                    .collect(),
            ),
            Happening::Answer(how) => {
                if self.pending.is_empty() {
                    return Ok(t);
                }
                let (name, role) = self.pending.remove(0);
                match how {
                    0 => {
                        self.next_pid += 1;
                        self.live.push((self.next_pid, name.clone(), role));
                        Event::Started {
                            name,
                            role,
                            pid: self.next_pid,
                        }
                    }
                    1 => Event::SpawnFailed {
                        name,
                        role,
                        why: Failure::Fork(Errno::EAGAIN),
                    },
                    _ => Event::Foreign { name, role },
                }
            }
            Happening::Die(i) => {
                if self.live.is_empty() {
                    return Ok(t);
                }
                let (pid, ..) = self.live.remove(i % self.live.len());
                Event::Exited { pid, status: 0 }
            }
            Happening::ControlFails(i) => {
                if self.controlled.is_empty() {
                    return Ok(t);
                }
                let (name, role) = self.controlled[i % self.controlled.len()].clone();
                Event::ControlFailed { name, role }
            }
            Happening::Wait(ms) => {
                self.now += Duration::from_millis(ms);
                Event::Tick
            }
            Happening::Terminate => {
                self.terminating = true;
                Event::Terminate
            }
        };
        self.feed(t, ev)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Over random sequences: never two supervise processes on one dir,
    /// nothing started while stopping but a logger whose service is still
    /// being stopped, signals only to our own children,
    /// and after SIGTERM, once every spawn is answered and every child
    /// has died, scan exits.
    #[test]
    fn random_sequences_keep_the_invariants(
        hs in proptest::collection::vec(happening(), 0..60),
    ) {
        let mut w = World { now: T0, next_pid: 1000, ..World::default() };
        let mut t = Tree::new();
        for h in hs {
            if w.exited {
                break;
            }
            t = w.happen(t, h)?;
        }
        if !w.exited {
            t = w.happen(t, Happening::Terminate)?;
        }
        while !w.exited {
            let h = if !w.pending.is_empty() {
                Happening::Answer(0)
            } else if !w.live.is_empty() {
                Happening::Die(0)
            } else {
                Happening::Wait(60_000)
            };
            prop_assert!(
                w.now < T0 + Duration::from_secs(3600),
                "never exits: {:?}", t
            );
            t = w.happen(t, h)?;
        }
    }
}

#[test]
fn notices_name_the_service_as_inside_dir() {
    let problem = |name: &str, found| {
        Notice::Problem {
            name: n(name),
            found,
        }
        .to_string()
    };
    let eacces = Problem::Unreadable(crate::sys::Errno(libc::EACCES));
    assert_eq!(
        problem("app", Found::Waiting(Role::Service, eacces)),
        "unable to supervise app: Permission denied"
    );
    assert_eq!(
        problem("web", Found::Waiting(Role::Log, eacces)),
        "unable to supervise web: web/log: Permission denied"
    );
    assert_eq!(
        problem("db", Found::Waiting(Role::Log, Problem::NotExecutable)),
        "unable to supervise db: db/log/run is not executable"
    );
    let died = Notice::Died {
        name: n("web"),
        role: Role::Log,
        status: 111 << 8,
    };
    assert_eq!(
        died.to_string(),
        "supervise web/log exited 111: restarting it"
    );
}

#[test]
fn a_service_gets_its_timeout_kill_on_top_of_the_stop_bound() {
    let slow = Found::Service {
        log: false,
        timeout_kill: Duration::from_secs(20),
        pool: None,
    };
    let (t, _) = step(running(), listed(&[("db", slow), ("web", LOGGED)]), T0);
    let (t, _) = step(t, Event::Terminate, secs(1));
    let db = t.entries.get(b"db").unwrap().service.sup;
    assert_eq!(
        db,
        Sup::Stopping {
            pid: 20,
            kill_at: Some(At::of(secs(21) + STOP_SERVICE))
        },
        "supervise kills it after 20 s itself: scan waits for that"
    );
}

#[test]
fn a_moment_keeps_its_duration_in_half_the_room() {
    let d = secs(3) + Duration::from_nanos(7);
    assert_eq!(At::of(d).duration(), d);
    assert_eq!(At::of(Duration::ZERO).duration(), Duration::ZERO);
    assert_eq!(At::of(d) + STOP_SERVICE, At::of(d + STOP_SERVICE));
    assert_eq!(
        At::of(secs(9)).since(At::of(secs(2))),
        Duration::from_secs(7)
    );
    assert_eq!(At::of(secs(2)).since(At::of(secs(9))), Duration::ZERO);
    assert!(At::of(Duration::MAX) > At::of(secs(1)));
    assert_eq!(core::mem::size_of::<Option<At>>(), 8);
}
