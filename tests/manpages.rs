//! Every page in man/ formats without a single groff warning.

use std::path::Path;
use std::process::Command;

#[test]
fn every_man_page_formats_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no man pages in {}", dir.display());
    let mut warned = String::new();
    for page in &pages {
        let out = match Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(page)
            .output()
        {
            Ok(out) => out,
            // CI installs groff: a missing one is a broken machine, not a pass.
            Err(e) => panic!("cannot run groff (apt-get install groff): {e}"),
        };
        let said = [out.stdout, out.stderr].concat();
        if !out.status.success() || !said.is_empty() {
            warned += &format!(
                "{}: {}\n{}",
                page.display(),
                out.status,
                String::from_utf8_lossy(&said)
            );
        }
    }
    assert!(warned.is_empty(), "groff -man -ww -z complained:\n{warned}");
}
