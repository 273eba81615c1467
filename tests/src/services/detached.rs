//! A daemon that detached from the test (its own session, parent init), known
//! only by its pid file: how nginx and mariadbd run when a user's script starts
//! them, so the test must find, check and stop them the same way.
//!
//! Before any signal, the pid is checked to be the expected program *in the
//! expected namespace* (`/proc/PID/comm` and `/proc/PID/ns/net`), so a stale
//! pid file never makes the harness signal a process it did not start.
//! A detached daemon escapes [`crate::Proc`]'s process-group kill and its
//! `PDEATHSIG`; if the test dies without `Drop`, the namespace sweep
//! ([`crate::remove_leftovers`], which kills every process inside a leftover
//! namespace) ends it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::netns::netns_path;
use crate::wait_until;

/// Bound on waiting for a daemon to exit after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(3);

/// A pid file written by a daemon of program `comm` running in namespace `ns`.
#[derive(Clone, Debug)]
pub(crate) struct Detached {
    pub(crate) pid_file: PathBuf,
    /// `/proc/PID/comm` of the daemon's main process, e.g. `nginx`, `mariadbd`.
    pub(crate) comm: &'static str,
    pub(crate) ns: String,
    /// The daemon's error log, quoted in failure messages.
    pub(crate) error_log: PathBuf,
}

impl Detached {
    /// The pid of the running daemon, if the pid file names a live (not
    /// zombie) `comm` process inside `ns`.
    pub(crate) fn pid(&self) -> Option<libc::pid_t> {
        let text = fs::read_to_string(&self.pid_file).ok()?;
        let pid: libc::pid_t = text.trim().parse().ok()?;
        (pid > 1 && is_ours(pid, self.comm, &self.ns)).then_some(pid)
    }

    /// [`pid`](Self::pid) as the services' public API gives it.
    pub(crate) fn pid_u32(&self) -> Option<u32> {
        self.pid().map(|p| p as u32)
    }

    /// The error log so far ("" if unreadable), for failure messages.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.error_log).unwrap_or_default()
    }

    /// The daemon is running.
    pub(crate) fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Waits (bounded) until the daemon has exited.
    pub(crate) fn wait_gone(&self, timeout: Duration) -> Result<()> {
        wait_until(
            &format!("{} ({}) to exit", self.comm, self.pid_file.display()),
            timeout,
            || Ok(!self.is_running()),
        )
    }

    /// Waits (bounded) until the pid file names a running daemon.
    pub(crate) fn wait_running(&self, timeout: Duration) -> Result<libc::pid_t> {
        wait_until(
            &format!("{} to write {}", self.comm, self.pid_file.display()),
            timeout,
            || Ok(self.is_running()),
        )?;
        self.pid()
            .with_context(|| format!("{} exited right after starting", self.comm))
    }

    /// Sends `signal` to the daemon's main process only.
    pub(crate) fn signal(&self, signal: i32) -> Result<()> {
        let Some(pid) = self.pid() else {
            bail!("{} is not running ({})", self.comm, self.pid_file.display());
        };
        // SAFETY: plain syscall; `pid` was just checked to be our daemon.
        if unsafe { libc::kill(pid, signal) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("signal {signal} to {} (pid {pid})", self.comm));
        }
        Ok(())
    }

    /// SIGKILL to the daemon and everything in its process group (it is a
    /// session leader, so its workers share its pgid), then waits (bounded)
    /// until it is gone: a crash, or the end of a daemon that ignored SIGTERM.
    /// Nothing to do when it is not running.
    pub(crate) fn kill_all(&self) -> Result<()> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        // SAFETY: getpgid on a pid just checked to be our daemon.
        let pgid = unsafe { libc::getpgid(pid) };
        // SAFETY: plain syscalls; the group is signalled only when the daemon leads it.
        unsafe {
            if pgid == pid {
                libc::kill(-pgid, libc::SIGKILL);
            } else {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        self.wait_gone(KILL_WAIT)
    }

    /// For a guard's `Drop`: [`terminate`](Self::terminate), a failure only
    /// reported (no panic in drop).
    pub(crate) fn terminate_on_drop(&self, grace: Duration) {
        if let Err(e) = self.terminate(grace) {
            eprintln!("hatest: stopping {} in {}: {e:#}", self.comm, self.ns);
        }
    }

    /// SIGTERM, up to `grace` for a clean exit, then [`kill_all`](Self::kill_all).
    pub(crate) fn terminate(&self, grace: Duration) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        self.signal(libc::SIGTERM)?;
        if self.wait_gone(grace).is_ok() {
            return Ok(());
        }
        self.kill_all()
    }
}

/// `pid` is a live `comm` process whose network namespace is `ns`.
fn is_ours(pid: libc::pid_t, comm: &str, ns: &str) -> bool {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let Ok(stat) = fs::read_to_string(proc_dir.join("stat")) else {
        return false;
    };
    // "pid (comm) state …": a zombie has exited already.
    let zombie = stat
        .rsplit_once(") ")
        .is_none_or(|(_, rest)| rest.starts_with('Z'));
    let name = fs::read_to_string(proc_dir.join("comm")).unwrap_or_default();
    !zombie && name.trim_end() == comm && same_netns(&proc_dir, ns)
}

/// `/proc/PID/ns/net` is the namespace pinned at `/run/netns/NS`.
fn same_netns(proc_dir: &Path, ns: &str) -> bool {
    let Ok(link) = fs::read_link(proc_dir.join("ns/net")) else {
        return false;
    };
    let Ok(meta) = fs::metadata(netns_path(ns)) else {
        return false;
    };
    // "net:[4026532281]"
    link.to_string_lossy() == format!("net:[{}]", meta.ino())
}

/// Process `pid`'s network namespace has a TCP socket listening on `port`
/// (`/proc/PID/net/tcp` and `tcp6` show the namespace of that process, so no
/// entering is needed).
pub(crate) fn listening(pid: libc::pid_t, port: u16) -> bool {
    ["tcp", "tcp6"].iter().any(|table| {
        let path = format!("/proc/{pid}/net/{table}");
        fs::read_to_string(path).is_ok_and(|text| listens_in(&text, port))
    })
}

/// One `/proc/net/tcp` table holds a LISTEN (`0A`) socket on `port`:
/// `  0: 00000000:0050 00000000:0000 0A …`.
fn listens_in(table: &str, port: u16) -> bool {
    table.lines().skip(1).any(|line| {
        let mut f = line.split_whitespace();
        let local = f.nth(1);
        let state = f.nth(1);
        state == Some("0A")
            && local
                .and_then(|l| l.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                == Some(port)
    })
}

/// Quotes `s` for a POSIX shell, for the command lines handed to scripts.
pub(crate) fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:,+@%".contains(&b))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `dir` can be written into a configuration file unquoted (nginx, my.cnf):
/// absolute, and only letters, digits and `/._-+`.
pub(crate) fn plain_path(dir: &Path) -> Result<()> {
    let s = dir.to_string_lossy();
    if !dir.is_absolute()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        bail!("{s}: a service directory must be an absolute path of letters, digits and /._-+");
    }
    Ok(())
}

/// [`sh_quote`] of a path.
pub(crate) fn sh_path(p: &Path) -> String {
    sh_quote(&p.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/tmp/ha-1/nginx.conf"), "/tmp/ha-1/nginx.conf");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(rm)"), "'$(rm)'");
    }

    #[test]
    fn listen_tables() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1
";
        assert!(listens_in(t, 80));
        assert!(!listens_in(t, 8080), "established, not listening");
        assert!(!listens_in(t, 443));
    }

    #[test]
    fn a_missing_pid_file_is_not_running() {
        let d = Detached {
            pid_file: PathBuf::from("/nonexistent/hatest.pid"),
            comm: "nginx",
            ns: "nonexistent".into(),
            error_log: PathBuf::from("/nonexistent/error.log"),
        };
        assert!(!d.is_running());
        assert!(d.kill_all().is_ok());
        assert!(d.terminate(Duration::from_millis(1)).is_ok());
    }
}
