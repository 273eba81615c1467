//! A directory for one test's service files (configurations, data, logs,
//! images, mount points), removed on drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

use super::loopfs::{cleanup_under, mounts_under};

/// `/tmp/hatest-PID-SEQ-TAG`, created empty (mode 0755: root-run daemons
/// read it). On drop, whatever is mounted below it is unmounted and loop
/// devices backed by its files are detached first, so removing it never
/// reaches into a mounted filesystem; if a mount survives, the directory is
/// left in place (and named in a message) rather than emptied through it.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh directory; `tag` (letters, digits, `-`, `_`) names the test.
    pub fn new(tag: &str) -> Result<TempDir> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        if tag.is_empty()
            || !tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            bail!("temp dir tag must be letters, digits, - and _, got {tag:?}");
        }
        let path = std::env::temp_dir().join(format!(
            "hatest-{}-{}-{tag}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        if path.exists() {
            // A leftover of an earlier process with the same pid.
            cleanup_under(&path)?;
            fs::remove_dir_all(&path)
                .with_context(|| format!("removing stale {}", path.display()))?;
        }
        fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path/name`, created (with parents) if missing: one service's own directory.
    pub fn sub(&self, name: &str) -> Result<PathBuf> {
        let p = self.path.join(name);
        fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = cleanup_under(&self.path) {
            eprintln!("hatest: {e:#}");
        }
        match mounts_under(&self.path) {
            Ok(m) if m.is_empty() => {
                if let Err(e) = fs::remove_dir_all(&self.path) {
                    eprintln!("hatest: removing {}: {e}", self.path.display());
                }
            }
            Ok(m) => eprintln!(
                "hatest: leaving {} in place: still mounted there: {m:?}",
                self.path.display()
            ),
            Err(e) => eprintln!("hatest: leaving {} in place: {e:#}", self.path.display()),
        }
    }
}
