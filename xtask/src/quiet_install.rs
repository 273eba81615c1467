//! Installing Debian packages that ship a system service without starting it.
//!
//! nginx and MariaDB are installed for the scenario tests, which run their own
//! instances in test namespaces with files under a temporary directory. A
//! system-wide nginx on port 80 or a mariadbd on 3306 would only get in the way
//! (and outlive the run), so their maintainer scripts must not start one:
//!
//! - `invoke-rc.d` and `deb-systemd-invoke` ask `/usr/sbin/policy-rc.d` first,
//!   and exit code 101 means "action forbidden" (Debian policy, "Starting
//!   System Services"). [`PolicyRcd`] writes one for the duration of the install
//!   when none exists, and removes exactly that file afterwards, also on error.
//! - A service started anyway (an existing policy-rc.d that allows it, a package
//!   that bypasses invoke-rc.d) is stopped again by [`stop_started`], but only
//!   for packages this run installed: a service that was there before is the
//!   machine owner's business.

use std::{
    fs,
    io::ErrorKind,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

/// Where invoke-rc.d looks for the local policy.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";
/// Exit code 101: "action forbidden by policy" for every service and action.
const DENY_ALL: &str = "#!/bin/sh\n# Written by `cargo xtask setup` while it installs packages; removed afterwards.\nexit 101\n";

/// A system service a package may start, and the pid file its init script writes.
struct Service {
    package: &'static str,
    pid_file: &'static str,
}

/// The packages with a daemon, and where that daemon records its pid.
const SERVICES: &[Service] = &[
    Service {
        package: "nginx-light",
        pid_file: "/run/nginx.pid",
    },
    Service {
        package: "mariadb-server",
        pid_file: "/run/mysqld/mysqld.pid",
    },
];

/// How long a stopped service gets to exit before SIGKILL.
const STOP_WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// `/usr/sbin/policy-rc.d` forbidding every service start, while it lives.
/// Removes the file on drop only if this guard created it.
pub struct PolicyRcd {
    created: Option<PathBuf>,
}

impl PolicyRcd {
    /// Writes the deny-all policy unless a policy file exists already (then
    /// that one rules, and is left alone).
    pub fn install() -> Result<Self> {
        Self::install_at(Path::new(POLICY_RC_D))
    }

    fn install_at(path: &Path) -> Result<Self> {
        match fs::symlink_metadata(path) {
            Ok(_) => return Ok(Self { created: None }),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
        }
        fs::write(path, DENY_ALL).with_context(|| format!("writing {}", path.display()))?;
        let created = Self {
            created: Some(path.to_path_buf()),
        };
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
        Ok(created)
    }
}

impl Drop for PolicyRcd {
    fn drop(&mut self) {
        if let Some(path) = self.created.take()
            && let Err(e) = fs::remove_file(&path)
        {
            eprintln!(
                "xtask setup: could not remove {}: {e}; remove it by hand",
                path.display()
            );
        }
    }
}

/// Stops the system daemon of every package in `installed` (the packages this
/// run installed) that is running now: SIGTERM to the pid in its pid file,
/// SIGKILL after [`STOP_WAIT`].
pub fn stop_started(installed: &[&str]) -> Result<()> {
    for svc in SERVICES.iter().filter(|s| installed.contains(&s.package)) {
        let Some(pid) = running_pid(Path::new(svc.pid_file)) else {
            continue;
        };
        println!(
            "xtask setup: installing {} started its daemon (pid {pid}, {}); stopping it",
            svc.package, svc.pid_file
        );
        stop(pid).with_context(|| format!("stopping {} (pid {pid})", svc.package))?;
    }
    Ok(())
}

/// The live process named in `pid_file`, if any.
fn running_pid(pid_file: &Path) -> Option<libc::pid_t> {
    let text = fs::read_to_string(pid_file).ok()?;
    let pid: libc::pid_t = text.trim().parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    (pid > 1 && unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

fn stop(pid: libc::pid_t) -> Result<()> {
    // SAFETY: plain syscall on a pid read from the service's own pid file.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_WAIT;
    // SAFETY: signal 0 only probes.
    while unsafe { libc::kill(pid, 0) } == 0 && !is_zombie(pid) {
        if Instant::now() >= deadline {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return Ok(());
        }
        sleep(POLL);
    }
    Ok(())
}

fn is_zombie(pid: libc::pid_t) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-policy-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_a_deny_all_policy_and_removes_it() {
        let dir = scratch("fresh");
        let path = dir.join("policy-rc.d");
        {
            let _guard = PolicyRcd::install_at(&path).unwrap();
            assert_eq!(fs::read_to_string(&path).unwrap(), DENY_ALL);
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
            let out = std::process::Command::new(&path).status().unwrap();
            assert_eq!(out.code(), Some(101));
        }
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn leaves_an_existing_policy_alone() {
        let dir = scratch("existing");
        let path = dir.join("policy-rc.d");
        fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        drop(PolicyRcd::install_at(&path).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "#!/bin/sh\nexit 0\n");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_stale_pid_file_names_no_running_daemon() {
        let dir = scratch("pid");
        let pid_file = dir.join("x.pid");
        assert_eq!(running_pid(&pid_file), None);
        fs::write(&pid_file, "1\n").unwrap();
        assert_eq!(running_pid(&pid_file), None, "pid 1 is never ours to stop");
        fs::write(&pid_file, "garbage").unwrap();
        assert_eq!(running_pid(&pid_file), None);
        fs::remove_dir_all(dir).unwrap();
    }
}
