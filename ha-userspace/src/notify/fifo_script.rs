//! keepalived's `notify_fifo_script`: a long-running reader of the FIFO,
//! started once with the FIFO's path as its last argument.
//!
//! keepalived starts it when it opens the FIFO, with no timeout; if it ends
//! it logs that and does not start it again; at shutdown it sends SIGTERM to
//! its process group and SIGKILL a second later; and it asks the kernel to
//! send the script SIGTERM should keepalived die. ha does the same.
//!
//! `exec::run` is for programs that finish within a timeout; this one lives
//! as long as the daemon and is stopped on demand, so it is spawned here.
//! It runs as the daemon's user: the command's `user`/`group` are not
//! applied yet (a warning says so).

use std::{path::Path, process::Stdio, time::Duration};

use crate::config::service::Command;

/// How long the script has between SIGTERM and SIGKILL at shutdown.
const TERM_GRACE: Duration = Duration::from_secs(1);

/// The running FIFO reader.
pub(super) struct Reader {
    child: tokio::process::Child,
    pgid: i32,
    program: String,
}

impl Reader {
    /// Starts `cmd` with `fifo` appended; logs and returns `None` when it
    /// cannot be started (keepalived goes on without it too).
    pub(super) fn start(cmd: &Command, fifo: &Path) -> Option<Reader> {
        let Some((program, args)) = cmd.argv.split_first() else {
            tracing::warn!("notify fifo {}: empty notify_fifo_script", fifo.display());
            return None;
        };
        if cmd.user.is_some() || cmd.group.is_some() {
            tracing::warn!(
                "notify fifo script {program}: user/group not applied, it runs as the daemon's user"
            );
        }
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .arg(fifo)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: the closure runs between fork and exec and only calls
        // prctl(2), which is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                // Dies with the daemon, as keepalived's PR_SET_PDEATHSIG.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        match command.spawn() {
            Ok(child) => {
                // No id only once it has been reaped, which it cannot be yet.
                let pid = child.id()?;
                tracing::info!("notify fifo script {program} started (pid {pid})");
                Some(Reader {
                    child,
                    pgid: pid as i32,
                    program: program.clone(),
                })
            }
            Err(e) => {
                tracing::warn!("notify fifo script {program}: cannot run: {e}");
                None
            }
        }
    }

    /// Resolves when the script ends by itself (logged; not restarted),
    /// never when there is none.
    pub(super) async fn exited(reader: &mut Option<Reader>) -> Option<()> {
        let Some(r) = reader else {
            return std::future::pending().await;
        };
        let status = r.child.wait().await;
        tracing::warn!(
            "notify fifo script {} ended ({}), not restarted",
            r.program,
            match status {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            }
        );
        Some(())
    }

    /// SIGTERM to its process group, SIGKILL after [`TERM_GRACE`].
    pub(super) async fn stop(mut self) {
        signal_group(self.pgid, libc::SIGTERM);
        if tokio::time::timeout(TERM_GRACE, self.child.wait())
            .await
            .is_err()
        {
            signal_group(self.pgid, libc::SIGKILL);
            let _ = self.child.wait().await;
        }
        // What it started in its group goes with it.
        signal_group(self.pgid, libc::SIGKILL);
        tracing::info!("notify fifo script {} stopped", self.program);
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; a
    // group that is gone is ESRCH, harmless.
    unsafe { libc::kill(-pgid, signal) };
}
