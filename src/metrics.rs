//! svstat --prometheus: the Prometheus text exposition format, for
//! node_exporter's textfile collector. Every state metric is a gauge with
//! a `service` label: deaths reset on `svc -u`, so they are not counters.
//! Also what a service's processes use, read from /proc only when svstat
//! asks (supervise never wakes up for it).

use crate::procfs;
use crate::report::Report;
use crate::status::Want;
use crate::tai64::Tai64n;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// (name, help, value of one report; None leaves the service out).
type Metric = (
    &'static str,
    &'static str,
    fn(&Report, Tai64n) -> Option<u64>,
);

/// What the processes of a service use, summed over its session: supervise
/// starts `run` with setsid, so the session is the service's process group
/// and whatever a run script starts without leaving it, the same set the
/// memory guard measures.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Usage {
    /// Resident memory, bytes.
    pub rss: u64,
    /// User and system CPU time, with that of reaped children, in clock
    /// ticks (USER_HZ).
    pub cpu_ticks: u64,
    /// Processes in the session.
    pub processes: u64,
    /// Open file descriptors; None when some process's /proc/PID/fd could
    /// not be listed (another user's service, read without privileges).
    pub fds: Option<u64>,
}

/// Fills in `usage` for every report whose service is up, in one pass
/// over /proc.
pub fn read_usage(reports: &mut [Report]) {
    // The service's session is its pid's: run leads one of its own, and a
    // daemon followed through a pid file may still sit in the session of
    // the run that launched it and has exited.
    let sessions: Vec<i32> = reports
        .iter()
        .map(|r| r.status().filter(|s| s.is_up()).map_or(0, |s| s.pid as i32))
        .map(|pid| match pid {
            0 => 0,
            pid => procfs::stat(pid).map_or(pid, |st| st.session),
        })
        .collect();
    if sessions.iter().all(|&s| s == 0) {
        return;
    }
    let page = crate::sys::page_size();
    let mut usage: Vec<Usage> =
        alloc::vec![Usage { fds: Some(0), ..Usage::default() }; reports.len()];
    let listed = procfs::for_each(|pid, stat| {
        if stat.session == 0 {
            return;
        }
        let fds = procfs::open_fds(pid);
        for (u, _) in usage
            .iter_mut()
            .zip(&sessions)
            .filter(|(_, s)| **s == stat.session)
        {
            u.rss = u.rss.saturating_add(stat.rss_pages.saturating_mul(page));
            u.cpu_ticks = u.cpu_ticks.saturating_add(stat.cpu_ticks);
            u.processes += 1;
            u.fds = u.fds.zip(fds).map(|(a, b)| a + b);
        }
    });
    if listed.is_none() {
        return;
    }
    for ((r, u), s) in reports.iter_mut().zip(usage).zip(sessions) {
        if s != 0 && u.processes > 0 {
            r.usage = Some(u);
        }
    }
}

/// Clock ticks as seconds with three decimals, without floating point.
pub fn seconds(ticks: u64) -> String {
    let hz = crate::sys::clock_ticks();
    let milli = ticks.saturating_mul(1000) / hz;
    alloc::format!("{}.{:03}", milli / 1000, milli % 1000)
}

/// (name, type, help, value of one report as text).
type Resource = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Usage) -> Option<String>,
);

const RESOURCES: &[Resource] = &[
    (
        "svkit_memory_resident_bytes",
        "gauge",
        "Resident memory of the service's processes (its session).",
        |u| Some(alloc::format!("{}", u.rss)),
    ),
    (
        "svkit_cpu_seconds_total",
        "counter",
        "CPU time of the service's processes and their reaped children; restarts from 0 with the service.",
        |u| Some(seconds(u.cpu_ticks)),
    ),
    (
        "svkit_open_fds",
        "gauge",
        "Open file descriptors of the service's processes.",
        |u| u.fds.map(|n| alloc::format!("{n}")),
    ),
    (
        "svkit_processes",
        "gauge",
        "Processes in the service's session.",
        |u| Some(alloc::format!("{}", u.processes)),
    ),
];

const METRICS: &[Metric] = &[
    (
        "svkit_supervised",
        "1 if a supervise runs on the service directory.",
        |r, _| Some(r.supervised as u64),
    ),
    (
        "svkit_status_readable",
        "1 if the service's supervise/status could be read; the other state metrics need it.",
        |r, _| Some(r.status().is_some() as u64),
    ),
    (
        "svkit_up",
        "1 if the service's run process is running.",
        |r, _| r.status().map(|s| s.is_up() as u64),
    ),
    (
        "svkit_ready",
        "1 if the service is up and ready.",
        |r, _| r.status().map(|_| r.is_ready() as u64),
    ),
    (
        "svkit_healthy",
        "1 if the service is up and its last health check (if any) passed.",
        |r, _| {
            r.status()
                .map(|s| (s.is_up() && r.healthy() != Some(false)) as u64)
        },
    ),
    (
        "svkit_wanted_up",
        "1 if the service is wanted up.",
        |r, _| r.status().map(|s| (s.want == Want::Up) as u64),
    ),
    (
        "svkit_state_seconds",
        "Seconds since the service last went up or down.",
        |r, now| r.status().map(|s| s.changed.min(now).seconds_until(now)),
    ),
    (
        "svkit_deaths",
        "Deaths nobody asked for since the service was last wanted up.",
        |r, _| r.status().and_then(|s| s.ext).map(|x| x.deaths.into()),
    ),
    (
        "svkit_memory_restarts",
        "Restarts by the memory guard since supervise started.",
        |r, _| {
            r.status()
                .and_then(|s| s.ext)
                .map(|x| x.memory_restarts.into())
        },
    ),
    (
        "svkit_pid",
        "Pid of the service's run process, while it runs.",
        |r, _| r.status().filter(|s| s.is_up()).map(|s| s.pid.into()),
    ),
];

/// The whole exposition for these services.
pub fn exposition(reports: &[Report], now: Tai64n) -> String {
    let mut out = String::new();
    for (name, help, value) in METRICS {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
        for r in reports {
            if let Some(v) = value(r, now) {
                let _ = writeln!(out, "{name}{{{}}} {v}", labels(r));
            }
        }
    }
    for (name, kind, help, value) in RESOURCES {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
        for r in reports {
            if let Some(v) = r.usage.as_ref().and_then(value) {
                let _ = writeln!(out, "{name}{{{}}} {v}", labels(r));
            }
        }
    }
    out
}

/// A sample's labels: `service="DIR"`, or for an instance of a pool
/// `service="POOL",instance="K"`.
fn labels(r: &Report) -> String {
    match &r.pool {
        Some((pool, k)) => alloc::format!("service=\"{}\",instance=\"{k}\"", label(&pool.lossy())),
        None => alloc::format!("service=\"{}\"", label(&r.dir.lossy())),
    }
}

/// A label value: backslash, double quote and newline escaped.
fn label(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Seen;
    use crate::sys::Path;

    #[test]
    fn an_unreadable_status_is_still_supervised() {
        let r = Report {
            dir: Path::from("/service/x"),
            normally_up: true,
            supervised: true,
            readiness: false,
            seen: Seen::Trouble {
                verb: "open",
                file: "supervise/status",
                reason: crate::error::Reason::Errno(crate::sys::Errno(libc::EACCES)),
            },
            message: None,
            usage: None,
            pool: None,
        };
        let text = exposition(&[r], Tai64n::ZERO);
        assert!(text.contains("svkit_supervised{service=\"/service/x\"} 1\n"));
        assert!(text.contains("svkit_status_readable{service=\"/service/x\"} 0\n"));
        assert!(!text.contains("svkit_up{"));
    }

    #[test]
    fn cpu_seconds_have_three_decimals() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(12345), "123.450");
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn an_unsupervised_service_is_only_not_supervised() {
        let r = Report {
            dir: Path::from("/service/x"),
            normally_up: true,
            supervised: false,
            readiness: false,
            seen: Seen::NotRunning,
            message: None,
            usage: None,
            pool: None,
        };
        let text = exposition(&[r], Tai64n::ZERO);
        assert!(text.contains("svkit_supervised{service=\"/service/x\"} 0\n"));
        assert!(!text.contains("svkit_up{"));
        assert_eq!(
            text.matches("# TYPE ").count(),
            METRICS.len() + RESOURCES.len()
        );
    }
}
