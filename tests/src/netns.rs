//! Named network namespaces: create, enter from a thread, empty, delete, and
//! sweep leftovers of killed runs.
//!
//! Namespaces are made with `ip netns add`, so they live under `/run/netns/`
//! where `ip`, `nsenter` and humans can find them while a test runs.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::names;
use crate::process::{TERM_GRACE, check_success, run_bounded};

/// Where `ip netns add` pins namespaces.
pub const NETNS_DIR: &str = "/run/netns";
/// Bound on each `ip` call the harness makes.
const IP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long processes left in a namespace get to die after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// `/run/netns/NAME`: the file that keeps namespace `NAME` alive.
pub fn netns_path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Runs `ip ARGS…` in the root namespace, bounded, and returns its stdout;
/// an error quotes stdout and stderr. Use `-n NS` to act inside a namespace.
pub fn ip(args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    let label = format!("ip {}", args.join(" "));
    let out = check_success(&label, run_bounded(cmd, label.clone(), None, IP_TIMEOUT)?)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Like [`ip`], feeding `batch` to `ip -batch -` (one command per line, no `ip` word).
pub(crate) fn ip_batch(ns: &str, batch: &str) -> Result<()> {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", ns, "-batch", "-"]);
    let label = format!("ip -n {ns} -batch:\n{batch}");
    check_success(
        &label,
        run_bounded(cmd, label.clone(), Some(batch.as_bytes()), IP_TIMEOUT)?,
    )?;
    Ok(())
}

/// Creates namespace `name` with `ip netns add`.
pub(crate) fn add(name: &str) -> Result<()> {
    ip(&["netns", "add", name]).map(drop)
}

/// Deletes namespace `name`. Its veths, bridge and nftables state go with it
/// once no process holds it any more.
pub(crate) fn delete(name: &str) -> Result<()> {
    ip(&["netns", "delete", name]).map(drop)
}

/// Names under `/run/netns` (empty if the directory does not exist).
pub fn list() -> Result<Vec<String>> {
    let dir = match std::fs::read_dir(NETNS_DIR) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(NETNS_DIR),
    };
    let mut names = Vec::new();
    for entry in dir {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Runs `f` on a fresh thread that has joined namespace `ns`, and returns its
/// result. Only that thread changes namespace, so the caller is unaffected;
/// sockets `f` opens stay in `ns` for their whole life.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let path = netns_path(ns);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            // SAFETY: plain syscall on a valid namespace fd; it affects only this thread.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("setns into {ns}"));
            }
            f()
        });
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Writes sysctls (`("net.ipv6.conf.all.accept_dad", "0")`) inside `ns`.
/// `/proc/sys/net` shows the namespace of the task that opens it, hence the
/// thread from [`in_netns`].
pub fn sysctls(ns: &str, settings: &[(&str, &str)]) -> Result<()> {
    in_netns(ns, || {
        for (key, value) in settings {
            let path = Path::new("/proc/sys").join(key.replace('.', "/"));
            std::fs::write(&path, value)
                .with_context(|| format!("{ns}: sysctl {key}={value} ({})", path.display()))?;
        }
        Ok(())
    })
}

/// Pids of processes whose network namespace is `ns` (`ip netns pids`), never our own.
pub(crate) fn pids(ns: &str) -> Result<Vec<i32>> {
    let me = std::process::id() as i32;
    Ok(ip(&["netns", "pids", ns])?
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|&p| p != me)
        .collect())
}

/// Ends every process inside `ns`: SIGTERM (+SIGCONT) and up to
/// [`TERM_GRACE`], then SIGKILL and up to [`KILL_WAIT`]. Catches what a
/// [`crate::Proc`] guard does not: daemons that forked away from their
/// process group, commands run by hand, leftovers of a killed run.
pub(crate) fn kill_all(ns: &str) -> Result<()> {
    for (signals, wait) in [
        (&[libc::SIGTERM, libc::SIGCONT][..], TERM_GRACE),
        (&[libc::SIGKILL][..], KILL_WAIT),
    ] {
        let found = pids(ns)?;
        if found.is_empty() {
            return Ok(());
        }
        for &pid in &found {
            for &sig in signals {
                // SAFETY: plain syscall; `pids` never returns our own pid.
                unsafe {
                    libc::kill(pid, sig);
                }
            }
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline && !pids(ns)?.is_empty() {
            sleep(Duration::from_millis(20));
        }
    }
    let left = pids(ns)?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("processes {left:?} in {ns} survived SIGKILL"))
    }
}

/// Removes namespaces left behind by harness runs that died without running
/// `Drop` (SIGKILL, abort), and returns their names.
///
/// Conservative: only names that fully match the harness pattern
/// (`ha` + 7 base36 digits + `-br`/`-c`/`-nN`, see [`crate::names`]) *and*
/// whose encoded pid no longer exists. Processes still inside such a
/// namespace (a daemon that detached) are killed first. Runs once, before
/// the first topology of each process; safe to call at any time.
pub fn remove_leftovers() -> Result<Vec<String>> {
    sweep(false)
}

/// [`remove_leftovers`], optionally also taking names that carry our own pid:
/// right at start-up nothing of ours exists yet, so such names belong to an
/// earlier process that had the same pid.
pub(crate) fn sweep(own_pid_is_stale: bool) -> Result<Vec<String>> {
    let me = std::process::id();
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    for name in list()? {
        let Some(pid) = names::netns_owner(&name) else {
            continue;
        };
        let stale = if pid == me {
            own_pid_is_stale
        } else {
            !Path::new(&format!("/proc/{pid}")).exists()
        };
        if !stale {
            continue;
        }
        // Another process may be sweeping the same name: gone is as good as deleted.
        match kill_all(&name).and_then(|()| delete(&name)) {
            Ok(()) => removed.push(name),
            Err(_) if !netns_path(&name).exists() => removed.push(name),
            Err(e) => errors.push(format!("{name}: {e:#}")),
        }
    }
    if errors.is_empty() {
        Ok(removed)
    } else {
        Err(anyhow!("removing leftovers failed:\n{}", errors.join("\n")))
    }
}
