//! svstat --prometheus: the Prometheus text exposition format, for
//! node_exporter's textfile collector. Every metric is a gauge with a
//! `service` label: deaths reset on `svc -u`, so they are not counters.

use crate::report::Report;
use crate::status::Want;
use crate::tai64::Tai64n;
use alloc::string::String;
use core::fmt::Write;

/// (name, help, value of one report; None leaves the service out).
type Metric = (
    &'static str,
    &'static str,
    fn(&Report, Tai64n) -> Option<u64>,
);

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
                let _ = writeln!(out, "{name}{{service=\"{}\"}} {v}", label(&r.dir.lossy()));
            }
        }
    }
    out
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
        };
        let text = exposition(&[r], Tai64n::ZERO);
        assert!(text.contains("svkit_supervised{service=\"/service/x\"} 1\n"));
        assert!(text.contains("svkit_status_readable{service=\"/service/x\"} 0\n"));
        assert!(!text.contains("svkit_up{"));
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
        };
        let text = exposition(&[r], Tai64n::ZERO);
        assert!(text.contains("svkit_supervised{service=\"/service/x\"} 0\n"));
        assert!(!text.contains("svkit_up{"));
        assert_eq!(text.matches("# TYPE ").count(), METRICS.len());
    }
}
