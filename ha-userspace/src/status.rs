//! What the daemon reports about itself: a JSON status file, rewritten when
//! something changes (never on a timer, so an idle daemon does not wake up).
//!
//! Tests and operators read it to see each instance's state, who the master is,
//! and why adverts were dropped (one counter per reason).

use std::{
    collections::BTreeMap,
    net::IpAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;
use tokio::sync::Notify;
use tracing::warn;

/// The whole status document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// The daemon's process id.
    pub pid: u32,
    /// One entry per configured instance, in file order.
    pub instances: Vec<InstanceStatus>,
    /// One entry per receive socket: drops before an advert reaches an instance.
    pub sockets: Vec<SocketStatus>,
    /// The XDP program's counters by name (summed over CPUs and interfaces),
    /// refreshed with the heartbeat; empty on the socket datapath.
    pub xdp: BTreeMap<&'static str, u64>,
    /// Every health check, tracked file and process, and real server, with
    /// its state and its last failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::health::Status>,
}

/// One virtual router.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InstanceStatus {
    /// Instance name from the configuration.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Interface adverts use.
    pub interface: String,
    /// `init`, `backup`, `master`, `releasing` or `fault`.
    pub state: String,
    /// Why the instance is in fault: `link`, `vips`, `send`, `tracker N`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// Effective priority.
    pub priority: u8,
    /// The current master's address as last heard (ours when master).
    pub master: Option<IpAddr>,
    /// Event counters, by name.
    pub counters: BTreeMap<&'static str, u64>,
}

/// One raw receive socket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SocketStatus {
    /// Interface name.
    pub interface: String,
    /// `IPv4` or `IPv6`.
    pub family: String,
    /// Adverts dropped before demultiplexing, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
}

/// The shared, mutable status plus a wake-up for the writer.
#[derive(Debug, Default)]
pub struct StatusBoard {
    doc: Mutex<Status>,
    changed: Notify,
    /// Held from snapshot to rename: the final write at exit must not be
    /// overtaken by a background write still under way (same temp file).
    writing: Mutex<()>,
}

/// Writes are at least this far apart, so a burst of changes costs one write.
const MIN_WRITE_GAP: Duration = Duration::from_millis(20);

/// Writes `bytes` to `path` atomically (a temporary file, then a rename),
/// mode 0644 in a 0755 directory, never through a symlink: the temporary file
/// is created anew (`O_EXCL` refuses a link planted at its name), and a
/// rename replaces a link at `path` instead of writing where it points.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    let tmp = path.with_extension("tmp");
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    file.write_all(bytes)?;
    std::fs::rename(&tmp, path)
}

impl StatusBoard {
    /// A board for `instances` and `sockets`, already sized.
    pub fn new(instances: Vec<InstanceStatus>, sockets: Vec<SocketStatus>) -> Arc<StatusBoard> {
        Arc::new(StatusBoard {
            doc: Mutex::new(Status {
                pid: std::process::id(),
                instances,
                sockets,
                xdp: BTreeMap::new(),
                checks: Vec::new(),
            }),
            changed: Notify::new(),
            writing: Mutex::new(()),
        })
    }

    /// Changes instance `i` and wakes the writer.
    pub fn instance(&self, i: usize, f: impl FnOnce(&mut InstanceStatus)) {
        if let Some(s) = crate::sync::lock(&self.doc).instances.get_mut(i) {
            f(s);
        }
        self.changed.notify_one();
    }

    /// Adds one to counter `name` of instance `i`.
    pub fn count(&self, i: usize, name: &'static str) {
        self.instance(i, |s| *s.counters.entry(name).or_default() += 1);
    }

    /// Adds one to a counter that moves on every advert (`adverts_tx`): it is
    /// written with the next change, but does not wake the writer itself, so a
    /// master sending 5000 adverts a second does not rewrite the file 50 times.
    pub fn count_quietly(&self, i: usize, name: &'static str) {
        if let Some(s) = crate::sync::lock(&self.doc).instances.get_mut(i) {
            *s.counters.entry(name).or_default() += 1;
        }
    }

    /// Adds one to drop counter `reason` of socket `i`.
    pub fn socket_drop(&self, i: usize, reason: &'static str) {
        if let Some(s) = crate::sync::lock(&self.doc).sockets.get_mut(i) {
            *s.dropped.entry(reason).or_default() += 1;
        }
        self.changed.notify_one();
    }

    /// Replaces the XDP counters; wakes the writer only if one changed.
    pub fn set_xdp(&self, counters: impl IntoIterator<Item = (&'static str, u64)>) {
        let fresh: BTreeMap<_, _> = counters.into_iter().filter(|(_, v)| *v != 0).collect();
        let mut doc = crate::sync::lock(&self.doc);
        if doc.xdp != fresh {
            doc.xdp = fresh;
            drop(doc);
            self.changed.notify_one();
        }
    }

    /// Replaces the checks' statuses; wakes the writer only if one changed.
    pub fn set_checks(&self, checks: Vec<crate::health::Status>) {
        let mut doc = crate::sync::lock(&self.doc);
        if doc.checks != checks {
            doc.checks = checks;
            drop(doc);
            self.changed.notify_one();
        }
    }

    /// A copy of the document.
    pub fn snapshot(&self) -> Status {
        crate::sync::lock(&self.doc).clone()
    }

    /// Rewrites `path` (atomically: temp file + rename) after every change
    /// until the task is dropped.
    ///
    /// On a blocking thread: a rename on ext4 also flushes the file, and the
    /// daemon's single runtime thread must not wait for a disk while a new
    /// master's VIP and gratuitous ARP are due (it delayed them by ~0.7 ms).
    pub async fn write_loop(self: Arc<Self>, path: PathBuf) {
        let path = Arc::new(path);
        loop {
            self.changed.notified().await;
            let (board, path) = (self.clone(), path.clone());
            if let Err(e) = tokio::task::spawn_blocking(move || board.write(&path)).await {
                warn!(error = %e, "the status writer failed");
            }
            tokio::time::sleep(MIN_WRITE_GAP).await;
        }
    }

    /// Writes the document to `path` now; failures are logged, not fatal.
    pub fn write(&self, path: &std::path::Path) {
        let _writing = crate::sync::lock(&self.writing);
        let json = match serde_json::to_vec_pretty(&self.snapshot()) {
            Ok(j) => j,
            Err(e) => return warn!(error = %e, "cannot encode the status"),
        };
        if let Err(e) = write_file(path, &json) {
            warn!(path = %path.display(), error = %e, "cannot write the status file");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, symlink};

    use super::*;

    #[test]
    fn the_status_file_never_follows_a_symlink() {
        let dir = std::env::temp_dir().join(format!("ha-status-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = dir.join("status.json");
        symlink(&victim, &path).unwrap();
        symlink(&victim, path.with_extension("tmp")).unwrap();
        write_file(&path, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, 0o644);
        let _ = std::fs::remove_dir_all(dir);
    }
}
