//! Pools (man/svkit.7, "INSTANCES"): an entry whose `S/instances` holds N
//! has N instance slots instead of its own. `resize` and `trim` are the
//! machine's part; `Watcher` is the I/O loop's, telling it at once when an
//! `instances` file changes.

use super::entry::{At, Entry, Slot, Sup};
use super::{Found, Name, Role, Table};
use crate::instances::{self, Count};
use crate::servicedir::ServiceDir;
use crate::sys::inotify::Inotify;
use crate::sys::{Fd, Path, env};
use alloc::ffi::CString;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::CStr;

/// Sets the pool size found at a listing: new instances are due at once;
/// surplus ones are left for `advance` to stop (no longer wanted).
pub fn resize(e: &mut Entry, pool: Option<u32>, now: At) {
    e.pool = pool;
    let n = pool.unwrap_or(0) as usize;
    while e.instances.len() < n {
        e.instances.push(Slot::new(Sup::Idle { due: now }, now));
    }
}

/// Forgets the surplus instances that are gone, highest first.
pub fn trim(e: &mut Entry) {
    let n = e.pool.unwrap_or(0) as usize;
    while e.instances.len() > n && e.instances.last().is_some_and(|s| s.sup == Sup::Done) {
        e.instances.pop();
    }
}

/// The pool size of service dir `name` for the listing: None for a plain
/// service, and for an invalid count (`Watcher::told` reports it).
pub fn pool_of(name: &Path) -> Option<u32> {
    match instances::read(&ServiceDir::new(name.clone()), &mut |_| {}) {
        Count::Absent => None,
        Count::Pool(n) => Some(n),
    }
}

/// Changes to the entries of a service dir that may change its count.
const EVENTS: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_ONLYDIR;

/// Watches every service dir for its `instances` file, apart from the
/// watch on DIR: only events naming `instances` call for a listing, so a
/// service writing files of its own into S costs scan no rescans.
pub struct Watcher {
    inotify: Option<Inotify>,
    /// Each service of the last listing.
    services: Table<Kept>,
    /// What was said about each service's invalid count: said once.
    told: Table<String>,
}

/// What the watcher keeps of one service.
struct Kept {
    /// The watch on its dir.
    wd: Option<i32>,
    /// Its pool size at the last listing.
    size: Option<u32>,
}

impl Watcher {
    /// A watcher; without inotify, counts are read at each listing only.
    pub fn new() -> Watcher {
        Watcher {
            inotify: Inotify::new().ok(),
            services: Table::new(),
            told: Table::new(),
        }
    }

    /// What to poll, if anything.
    pub fn fd(&self) -> Option<&Fd> {
        self.inotify.as_ref().map(|i| i.fd())
    }

    /// Follows a listing: watches the services found, forgets the others,
    /// and returns the warnings about invalid counts not told before.
    /// An empty file, which an editor or a shell's `>` leaves for a moment,
    /// keeps the size last seen.
    pub fn update(&mut self, found: &mut [(Name, Found)]) -> Vec<String> {
        let count = found
            .iter()
            .filter(|(_, f)| matches!(f, Found::Service { .. }))
            .count();
        let mut services = Table::with_capacity(count);
        let mut out = Vec::new();
        let mut said = Table::new();
        for (name, f) in found.iter_mut() {
            let Found::Service { pool, .. } = f else {
                continue;
            };
            let last = self.services.get(name);
            // Watched before its count is read: a change after the read
            // is heard.
            let wd = match (last.and_then(|k| k.wd), &self.inotify) {
                (Some(wd), _) => Some(wd),
                (None, Some(i)) => i.watch(&Path::new(name), EVENTS).ok(),
                (None, None) => None,
            };
            let dir = ServiceDir::new(Path::new(name));
            if pool.is_none() && crate::sys::fs::exists(&dir.file(instances::FILE)) {
                let mut bad = None;
                let empty = dir
                    .setting(instances::FILE, &mut |_| {})
                    .is_some_and(|t| t.is_empty());
                if empty {
                    // Caught between `>` emptying it and the write: the
                    // size it had, until the writer's close says more.
                    *pool = last.and_then(|k| k.size);
                } else {
                    instances::read(&dir, &mut |e| bad = Some(e.to_string()));
                }
                if let Some(text) = bad {
                    if self.told.get(name) != Some(&text) {
                        out.push(text.clone());
                    }
                    said.insert(name, text);
                }
            }
            services.insert(name, Kept { wd, size: *pool });
        }
        if let Some(i) = &self.inotify {
            for (name, k) in self.services.iter() {
                if let Some(wd) = k.wd
                    && !services.contains(name)
                {
                    // EINVAL: the dir is gone, and its watch with it.
                    let _ = i.unwatch(wd);
                }
            }
        }
        self.services = services;
        self.told = said;
        out
    }

    /// Reads what happened; true when some `instances` file changed.
    pub fn changed(&self) -> bool {
        let Some(i) = &self.inotify else { return false };
        let mut any = false;
        i.drain_names(&mut |name| any |= name == instances::FILE.as_bytes());
        any
    }
}

impl Default for Watcher {
    fn default() -> Self {
        Watcher::new()
    }
}

/// For `Role::Instance(k)`: the instance number as supervise's argument.
pub fn argument(role: Role) -> Option<alloc::ffi::CString> {
    match role {
        Role::Instance(k) => Some(number(k)),
        Role::Service | Role::Log => None,
    }
}

/// Sets `SVKIT_INSTANCE` and `SVKIT_INSTANCES` in scan's environment for
/// the spawn of `role` on `name`, when it is an instance; whether it did.
pub fn set_env(role: Role, name: &Path) -> bool {
    let Role::Instance(k) = role else {
        return false;
    };
    let set = |var: &CStr, v: u32| {
        // ENOMEM only; supervise then sets them for its programs itself.
        let _ = env::set(var, &number(v));
    };
    set(c"SVKIT_INSTANCE", k);
    if let Some(n) = pool_of(name) {
        set(c"SVKIT_INSTANCES", n);
    }
    true
}

/// `n` in decimal, for an argument or the environment: `sys::decimal`'s
/// digits, not `to_string`'s, which inlines core's formatting at each use.
fn number(n: u32) -> CString {
    // Digits only: no NUL can be in them.
    CString::new(crate::sys::decimal(n, &mut [0; 10])).unwrap_or_default()
}

/// Takes them out again: no other supervise must inherit them.
pub fn unset_env() {
    let _ = env::unset(c"SVKIT_INSTANCE");
    let _ = env::unset(c"SVKIT_INSTANCES");
}

#[cfg(test)]
mod tests {
    use super::super::{Action, Event, Failure, Tree, step};
    use super::*;
    use alloc::vec;
    use core::time::Duration;

    const T0: Duration = Duration::from_secs(100);

    fn pool(n: u32) -> Event {
        Event::Listed(vec![(
            Name::from(&b"web"[..]),
            Found::Service {
                log: true,
                timeout_kill: Duration::ZERO,
                pool: Some(n),
            },
        )])
    }

    fn spawn(role: Role) -> Action {
        Action::Spawn {
            name: Name::from(&b"web"[..]),
            role,
            piped: true,
        }
    }

    fn started(t: Tree, k: u32) -> Tree {
        let pid = 100 + k as i32;
        let role = Role::Instance(k);
        step(
            t,
            Event::Started {
                name: Name::from(&b"web"[..]),
                role,
                pid,
            },
            T0,
        )
        .0
    }

    /// A tree running instances 1..=n of `web`, and its logger.
    fn running(n: u32) -> Tree {
        let (mut t, actions) = step(Tree::new(), pool(n), T0);
        let mut want = vec![spawn(Role::Log)];
        want.extend((1..=n).map(|k| spawn(Role::Instance(k))));
        let mut got = actions.clone();
        got.sort_by_key(|a| alloc::format!("{a:?}"));
        want.sort_by_key(|a| alloc::format!("{a:?}"));
        assert_eq!(got, want);
        for k in 1..=n {
            t = started(t, k);
        }
        step(
            t,
            Event::Started {
                name: Name::from(&b"web"[..]),
                role: Role::Log,
                pid: 99,
            },
            T0,
        )
        .0
    }

    #[test]
    fn instances_short_of_processes_are_counted_each() {
        let (t, _) = step(Tree::new(), pool(3), T0);
        let failed = |k| Event::SpawnFailed {
            name: Name::from(&b"web"[..]),
            role: Role::Instance(k),
            why: Failure::Procs,
        };
        let (t, a) = step(t, failed(1), T0);
        let (t, b) = step(t, failed(3), T0);
        assert_eq!((a, b), (vec![], vec![]), "counted, not told one by one");
        assert_eq!(t.short_of(Failure::Procs), 2);
        assert_eq!(t.short_of(Failure::Fds), 0);
    }

    #[test]
    fn growing_starts_only_the_new_instances() {
        let (_, actions) = step(running(4), pool(6), T0);
        assert_eq!(
            actions,
            [spawn(Role::Instance(5)), spawn(Role::Instance(6))]
        );
    }

    #[test]
    fn shrinking_stops_the_highest_surplus_instances_only() {
        let (t, actions) = step(running(4), pool(2), T0);
        let term = |pid| Action::Signal {
            pid,
            signal: libc::SIGTERM,
        };
        assert_eq!(actions, [term(103), term(104)]);
        let (t, actions) = step(
            t,
            Event::Exited {
                pid: 104,
                status: 0,
            },
            T0,
        );
        assert_eq!(actions, []);
        // 4 is forgotten; 3, still stopping, keeps its slot.
        assert_eq!(t.entries.get(b"web").unwrap().instances.len(), 3);
        let (t, _) = step(
            t,
            Event::Exited {
                pid: 103,
                status: 0,
            },
            T0,
        );
        assert_eq!(t.entries.get(b"web").unwrap().instances.len(), 2);
    }

    #[test]
    fn an_instance_wanted_again_while_stopping_starts_once_gone() {
        let (t, _) = step(running(4), pool(3), T0);
        let (t, actions) = step(t, pool(4), T0);
        assert_eq!(actions, []);
        let (_, actions) = step(
            t,
            Event::Exited {
                pid: 104,
                status: 0,
            },
            T0,
        );
        assert_eq!(actions, [spawn(Role::Instance(4))]);
    }

    #[test]
    fn zero_instances_run_nothing_but_the_logger() {
        let (_, actions) = step(Tree::new(), pool(0), T0);
        assert_eq!(actions, [spawn(Role::Log)]);
    }

    #[test]
    fn a_pool_made_plain_stops_its_instances_and_starts_the_service() {
        let plain = Event::Listed(vec![(
            Name::from(&b"web"[..]),
            Found::Service {
                log: true,
                timeout_kill: Duration::ZERO,
                pool: None,
            },
        )]);
        let (_, actions) = step(running(2), plain, T0);
        let term = |pid| Action::Signal {
            pid,
            signal: libc::SIGTERM,
        };
        assert_eq!(actions, [spawn(Role::Service), term(101), term(102)]);
    }
}
