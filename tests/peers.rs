//! The peers the compatibility tests run side by side with svkit are the
//! real ones: each /usr/bin program those tests call belongs to Debian's
//! daemontools or runit package. A missing peer already fails the test
//! that runs it; a peer that is not the peer's (svkit installed over
//! daemontools into /usr, say) would make svkit agree with itself, and
//! fails here.

use std::process::Command;

/// Each package, and the programs of it that tests/ call by /usr/bin path.
const PEERS: &[(&str, &[&str])] = &[
    (
        "daemontools",
        &[
            "envuidgid",
            "fghack",
            "multilog",
            "pgrphack",
            "readproctitle",
            "setlock",
            "supervise",
            "svc",
            "svok",
            "svscan",
            "svscanboot",
            "svstat",
            "tai64n",
            "tai64nlocal",
        ],
    ),
    ("runit", &["chpst", "runsv", "runsvdir", "sv"]),
];

#[test]
fn every_peer_program_is_its_debian_package_s() {
    for (package, names) in PEERS {
        for name in *names {
            let path = format!("/usr/bin/{name}");
            let o = Command::new("dpkg")
                .args(["-S", &path])
                .output()
                .expect("dpkg, to tell which package owns a peer");
            let owner = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success() && owner.starts_with(&format!("{package}: ")),
                "{path} is not {package}'s (apt-get install {package}): {owner}{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}
