//! End-to-end agent tests reach nothing but loopback: they run only inside a network
//! namespace that holds `lo` alone. Under CI they must run, so a missing namespace or a
//! missing agent binary fails there instead of skipping.

use std::path::{Path, PathBuf};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Whether this process sees only the loopback interface.
fn loopback_only() -> bool {
    // /proc/self/net/dev lists this namespace's interfaces (/sys may show the host's).
    let Ok(dev) = std::fs::read_to_string("/proc/self/net/dev") else {
        return false;
    };
    let interfaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    interfaces == ["lo"]
}

/// The agent binary, if the test may run: isolated and installed. Outside CI a missing
/// namespace or binary skips the test with a note; in CI it fails it.
pub fn agent_binary(name: &str) -> Option<PathBuf> {
    if !loopback_only() {
        assert!(
            !in_ci(),
            "agent tests must run in a loopback-only network namespace: run scripts/test"
        );
        eprintln!("skipped: not in a loopback-only network namespace (scripts/test runs these)");
        return None;
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("agents/node_modules/.bin")
        .join(name);
    if !bin.exists() {
        assert!(
            !in_ci(),
            "{} is missing: scripts/install-agents installs it",
            bin.display()
        );
        eprintln!(
            "skipped: {} is missing: run scripts/install-agents",
            bin.display()
        );
        return None;
    }
    Some(bin)
}

/// A scratch directory for an agent's home. Not under /tmp: Codex refuses that.
pub fn agent_home() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("agent home")
}
