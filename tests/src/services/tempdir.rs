//! A directory for one test's service files (configurations, data, logs,
//! images, mount points), removed on drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};

use super::loopfs::{cleanup_under, mounts_under};

/// `/tmp/hatest-PID-SEQ-TAG`, created empty (mode 0755: root-run daemons
/// read it). On drop, whatever is mounted below it is unmounted and loop
/// devices backed by its files are detached first, so removing it never
/// reaches into a mounted filesystem; if a mount survives, the directory is
/// left in place (and named in a message) rather than emptied through it.
///
/// A run killed before `Drop` leaves its directories behind; the first
/// `TempDir` of a later process removes those whose pid is gone (after
/// unmounting what is under them), as the namespace sweep does for
/// namespaces.
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
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_stale);
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

/// Removes `hatest-PID-SEQ-TAG` directories of processes that no longer exist.
/// Best effort: a failure is reported and the directory left.
fn sweep_stale() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = fs::read_dir(&tmp) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_owner(&name) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || pid == me || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = entry.path();
        let result = cleanup_under(&path).and_then(|()| {
            if mounts_under(&path)?.is_empty() {
                fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))
            } else {
                bail!("{} still has mounts", path.display())
            }
        });
        if let Err(e) = result {
            eprintln!("hatest: leftover {}: {e:#}", path.display());
        }
    }
}

/// The pid in a `hatest-PID-SEQ-TAG` name (TAG as [`TempDir::new`] allows).
fn stale_owner(name: &str) -> Option<u32> {
    let mut parts = name.strip_prefix("hatest-")?.splitn(3, '-');
    let pid = parts.next()?;
    let seq = parts.next()?;
    let tag = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let tag_ok = !tag.is_empty()
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (digits(pid) && digits(seq) && tag_ok).then(|| pid.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_of_names() {
        assert_eq!(stale_owner("hatest-123-0-nginx-vip"), Some(123));
        assert_eq!(stale_owner("hatest-123-7-loopfs"), Some(123));
        assert_eq!(stale_owner("hatest-123-stdout"), None);
        assert_eq!(stale_owner("hatest-x-0-a"), None);
        assert_eq!(stale_owner("ha0039u03-n1-ha"), None);
        assert_eq!(stale_owner("hatest-1-2-a b"), None);
    }
}
