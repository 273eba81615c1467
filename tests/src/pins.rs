//! bpffs pins that `ha` leaves for a network namespace.
//!
//! `ha run` pins its XDP program and maps under `/sys/fs/bpf/ha/net-<netns
//! inode>`. bpffs belongs to the host, not to the namespace, so deleting a test
//! host does not remove them; a daemon killed with SIGKILL leaves them on
//! purpose (its stale heartbeat keeps the dead host from answering ARP).

use std::{
    collections::HashSet,
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

/// Where `ha` pins for each network namespace.
const HA_PINS: &str = "/sys/fs/bpf/ha";

/// The pin directory `ha` uses in namespace `ns` (`None` if it has no inode to read).
pub fn ha_pin_dir(ns: &str) -> Option<PathBuf> {
    let ino = fs::metadata(crate::netns::netns_path(ns)).ok()?.ino();
    Some(Path::new(HA_PINS).join(format!("net-{ino}")))
}

/// Removes the pins `ha` left for namespace `ns`; call it before deleting `ns`.
pub fn remove_for(ns: &str) {
    if let Some(dir) = ha_pin_dir(ns) {
        let _ = fs::remove_dir_all(dir);
        // The parent too, once empty (remove_dir refuses it otherwise).
        let _ = fs::remove_dir(HA_PINS);
    }
}

/// Removes `net-*` pin directories whose namespace no longer exists (no
/// process and no /run/netns name refers to it): left by a test run that was
/// killed before its teardown. Returns what it removed.
pub fn sweep_orphans() -> Vec<PathBuf> {
    let Ok(dirs) = fs::read_dir(HA_PINS) else {
        return Vec::new();
    };
    let live = live_netns_inodes();
    let mut removed = Vec::new();
    for dir in dirs.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        let Some(ino) = name
            .strip_prefix("net-")
            .and_then(|i| i.parse::<u64>().ok())
        else {
            continue;
        };
        if !live.contains(&ino) && fs::remove_dir_all(dir.path()).is_ok() {
            removed.push(dir.path());
        }
    }
    removed
}

/// Inodes of every network namespace in use: by a process or by a name in /run/netns.
fn live_netns_inodes() -> HashSet<u64> {
    let mut live = HashSet::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(m) = fs::metadata(entry.path().join("ns/net")) {
            live.insert(m.ino());
        }
    }
    for ns in crate::netns::list().unwrap_or_default() {
        if let Ok(m) = fs::metadata(crate::netns::netns_path(&ns)) {
            live.insert(m.ino());
        }
    }
    live
}
