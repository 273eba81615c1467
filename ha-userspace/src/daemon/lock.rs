//! One `ha run` per network namespace.
//!
//! A second daemon in the same namespace would unpin the first one's XDP
//! program and delete its VIPs at start-up (it removes what a crashed daemon
//! left behind). An exclusive lock on a file named after the namespace keeps
//! it out; the kernel drops the lock when the holder dies, however it dies.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};

/// Where the locks live.
pub const LOCK_DIR: &str = "/run/ha";

/// Held for as long as the daemon runs.
#[derive(Debug)]
pub struct NamespaceLock {
    _file: File,
    path: PathBuf,
}

impl NamespaceLock {
    /// Takes the lock of the network namespace with inode `netns`, or says
    /// which process holds it.
    pub fn acquire(netns: u64) -> Result<NamespaceLock> {
        Self::acquire_at(&Path::new(LOCK_DIR).join(format!("net-{netns}.lock")))
    }

    /// [`acquire`](Self::acquire) at an explicit path.
    pub fn acquire_at(path: &Path) -> Result<NamespaceLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the lock directory {}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            // A symlink planted at the lock's path must not redirect the write.
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                };
                bail!(
                    "another ha is already running in this network namespace{who}: it holds {}; \
                     stop it first (two daemons would remove each other's VIPs and XDP program)",
                    path.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| write!(file, "{}", std::process::id()))
            .with_context(|| format!("writing our pid to {}", path.display()))?;
        Ok(NamespaceLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_pid() {
        let dir = std::env::temp_dir().join(format!("ha-lock-test-{}", std::process::id()));
        let path = dir.join("net-1.lock");
        let first = NamespaceLock::acquire_at(&path).expect("first lock");
        let second = NamespaceLock::acquire_at(&path).expect_err("second lock");
        let msg = format!("{second:#}");
        assert!(msg.contains("already running"), "{msg}");
        assert!(
            msg.contains(&std::process::id().to_string()),
            "names the holder: {msg}"
        );
        drop(first);
        NamespaceLock::acquire_at(&path).expect("free again once dropped");
        let _ = std::fs::remove_dir_all(dir);
    }
}
