//! CPU time of a daemon and everything it forks, from a cgroup of its own.
//!
//! A health-check script runs in a child that exits within milliseconds:
//! its CPU is charged to the cgroup as it runs, so the cgroup's counter holds
//! the fork/exec cost that a look at the live processes' utime/stime misses
//! (and with µs or ns resolution, where /proc ticks at 10 ms). cgroup v2
//! (`cpu.stat` `usage_usec`, present in every cgroup) is used where mounted,
//! else v1's `cpuacct.usage` (ns).

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V2,
    V1Cpuacct,
}

/// A cgroup made for one measurement; its processes are moved back to the
/// root cgroup and the directory removed on drop.
#[derive(Debug)]
pub struct CpuGroup {
    root: PathBuf,
    dir: PathBuf,
    version: Version,
}

/// The cgroup v2 mount, else the v1 hierarchy with `cpuacct`.
fn find_mount() -> Result<(PathBuf, Version)> {
    let mounts = fs::read_to_string("/proc/mounts").context("reading /proc/mounts")?;
    let mut v1 = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(dir), Some(kind), Some(opts)) = (f.get(1), f.get(2), f.get(3)) else {
            continue;
        };
        if *kind == "cgroup2" {
            return Ok((PathBuf::from(dir), Version::V2));
        }
        if *kind == "cgroup" && opts.split(',').any(|o| o == "cpuacct") && v1.is_none() {
            v1 = Some(PathBuf::from(dir));
        }
    }
    match v1 {
        Some(d) => Ok((d, Version::V1Cpuacct)),
        None => bail!("no cgroup2 mount and no cgroup v1 cpuacct hierarchy in /proc/mounts"),
    }
}

impl CpuGroup {
    /// Creates `ha-bench-NAME` (letters, digits, `-`) under the hierarchy's root.
    pub fn create(name: &str) -> Result<CpuGroup> {
        let (root, version) = find_mount()?;
        let dir = root.join(format!("ha-bench-{name}"));
        if dir.exists() {
            // A leftover of a killed run: empty it into the root first.
            dissolve(&root, &dir)?;
        }
        fs::create_dir(&dir).with_context(|| format!("creating cgroup {}", dir.display()))?;
        Ok(CpuGroup { root, dir, version })
    }

    /// Moves the processes `pids` (whole processes, with their threads) into
    /// the group; what they fork from now on starts in it.
    pub fn adopt(&self, pids: &[u32]) -> Result<()> {
        let procs = self.dir.join("cgroup.procs");
        for pid in pids {
            match fs::write(&procs, pid.to_string()) {
                Ok(()) => {}
                // The process exited meanwhile (a script): nothing to move.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("moving {pid} into {}", procs.display()));
                }
            }
        }
        Ok(())
    }

    /// CPU time of every task that ran in the group, in ns.
    pub fn usage_ns(&self) -> Result<u64> {
        match self.version {
            Version::V2 => {
                let path = self.dir.join("cpu.stat");
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let usec = text
                    .lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .with_context(|| format!("no usage_usec in {}", path.display()))?;
                Ok(usec * 1000)
            }
            Version::V1Cpuacct => {
                let path = self.dir.join("cpuacct.usage");
                fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim()
                    .parse()
                    .with_context(|| format!("parsing {}", path.display()))
            }
        }
    }

    /// What the measurement used, for the report.
    pub fn describe(&self) -> &'static str {
        match self.version {
            Version::V2 => "cgroup v2 cpu.stat usage_usec",
            Version::V1Cpuacct => "cgroup v1 cpuacct.usage",
        }
    }
}

/// Moves whatever is left in `dir` to `root`, then removes `dir`.
fn dissolve(root: &Path, dir: &Path) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        let left = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in left.split_whitespace() {
            let _ = fs::write(root.join("cgroup.procs"), pid);
        }
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() >= end => {
                return Err(e).with_context(|| format!("removing cgroup {}", dir.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        if let Err(e) = dissolve(&self.root, &self.dir) {
            eprintln!("xtask: {e:#}");
        }
    }
}
