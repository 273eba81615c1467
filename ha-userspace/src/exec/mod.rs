//! Running configured programs: check scripts, notify scripts, `MISC_CHECK`.
//!
//! A program runs directly with its arguments (no shell unless its line
//! names one, as keepalived), in a process group of its own so that a
//! timeout kills everything it started, with its output drained and kept
//! to a bounded tail for the log. It never blocks the caller's protocol
//! work: callers await it on a task of their own.
//!
//! Who it runs as: the command's own `user`/`group`, else the global
//! `script_user`/`script_group` ([`Runner`]), else as we run (keepalived
//! defaults to its `keepalived_script` user when that exists; ha does not
//! look for it). Supplementary groups are cleared when the user changes,
//! as keepalived does unless told otherwise.
//!
//! Environment: keepalived hands scripts its own environment less `IFS`,
//! `LD_PRELOAD` and `LD_LIBRARY_PATH` (`notify.c`); so does ha. keepalived
//! points the script's stdout/stderr at /dev/null; ha reads them and keeps a
//! tail for the log. Like keepalived, the script gets SIGTERM when the
//! daemon dies (`PR_SET_PDEATHSIG`).

pub mod path;
pub mod user;

pub mod security;

use std::{process::Stdio, time::Duration};

use tokio::io::AsyncReadExt;

use crate::config::model::{Command, Global};

/// Environment variables removed before a program starts (keepalived's list).
const UNSAFE_ENV: [&str; 3] = ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"];

/// Who programs run as when their [`Command`] names no user: keepalived's
/// global `script_user USER [GROUP]`. The default runs them as we run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runner {
    /// The global script user, `None`: ours.
    pub default_user: Option<String>,
    /// The global script group, `None`: the user's primary group.
    pub default_group: Option<String>,
}

impl Runner {
    /// The runner `global_defs` asks for.
    pub fn from_global(global: &Global) -> Runner {
        Runner {
            default_user: global.script_user.clone(),
            default_group: global.script_group.clone(),
        }
    }

    /// The user and group `cmd` runs as, resolved to ids; `None`: as we run.
    pub fn ids(&self, cmd: &Command) -> anyhow::Result<Option<user::Ids>> {
        if cmd.user.is_some() {
            user::resolve(cmd.user.as_deref(), cmd.group.as_deref())
        } else {
            user::resolve(
                self.default_user.as_deref(),
                cmd.group.as_deref().or(self.default_group.as_deref()),
            )
        }
    }

    /// [`run`] as the user and group `cmd` (or this runner) names. An
    /// unknown user or group is an error, like a missing program.
    pub async fn run(
        &self,
        cmd: &Command,
        extra: &[String],
        timeout: Duration,
    ) -> anyhow::Result<Run> {
        let ids = self.ids(cmd)?;
        run_with(cmd, extra, timeout, ids).await
    }
}

/// The last bytes of a program's output kept for the log.
pub const OUTPUT_TAIL: usize = 4096;

/// How long output is still read after the program has exited.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(100);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (not ours).
    Signalled(i32),
    /// It ran past its timeout; its process group was killed.
    TimedOut,
}

impl Outcome {
    /// keepalived's rule: exit status 0 is success, anything else failure.
    pub fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }
}

/// A finished run: how it ended and the tail of its output (stdout and
/// stderr interleaved as read).
#[derive(Debug, Clone)]
pub struct Run {
    /// How it ended.
    pub outcome: Outcome,
    /// At most [`OUTPUT_TAIL`] bytes, lossily decoded.
    pub output: String,
}

/// Runs `cmd` with `extra` arguments appended, killing its process group
/// after `timeout`. An error means it could not be started at all (not
/// found, not executable): the message names the program.
///
/// It runs as `cmd.user`/`cmd.group` when it names them; use
/// [`Runner::run`] to fall back on the global script user.
pub async fn run(cmd: &Command, extra: &[String], timeout: Duration) -> anyhow::Result<Run> {
    Runner::default().run(cmd, extra, timeout).await
}

/// [`run`] with the ids resolved.
async fn run_with(
    cmd: &Command,
    extra: &[String],
    timeout: Duration,
    ids: Option<user::Ids>,
) -> anyhow::Result<Run> {
    let (program, args) = cmd
        .argv
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("empty command"))?;
    let exe = path::resolve_program(program)
        .ok_or_else(|| anyhow::anyhow!("cannot run {program}: not found in PATH"))?;
    let mut command = tokio::process::Command::new(&exe);
    command
        .arg0(program)
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for var in UNSAFE_ENV {
        command.env_remove(var);
    }
    if let Some(ids) = ids {
        // std clears the supplementary groups when root changes uid.
        command.gid(ids.gid).uid(ids.uid);
    }
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {program}: {e}"))?;
    let pgid = child.id().map(|p| p as i32);
    // Until the program has exited, dropping this run (the daemon stopping
    // aborts its checks) takes its whole process group with it.
    let mut guard = GroupGuard(pgid);
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let drain = async {
        let mut tail = Vec::new();
        let mut buf_out = [0u8; 4096];
        let mut buf_err = [0u8; 4096];
        loop {
            let n = tokio::select! {
                r = read_some(&mut out, &mut buf_out) => r.map(|n| &buf_out[..n]),
                r = read_some(&mut err, &mut buf_err) => r.map(|n| &buf_err[..n]),
            };
            match n {
                Some(bytes) => {
                    tail.extend_from_slice(bytes);
                    if tail.len() > OUTPUT_TAIL {
                        tail.drain(..tail.len() - OUTPUT_TAIL);
                    }
                }
                None if out.is_none() && err.is_none() => break,
                None => {}
            }
        }
        tail
    };
    // The output is read while the program runs; once it has exited, what
    // is left in the pipes is read for a moment more, but a daemon it started
    // that keeps them open does not hold the result back.
    let mut drain = std::pin::pin!(drain);
    let waited = tokio::time::timeout(timeout, async {
        tokio::select! {
            tail = &mut drain => (Some(tail), child.wait().await),
            status = child.wait() => {
                let tail = tokio::time::timeout(DRAIN_AFTER_EXIT, &mut drain).await.ok();
                (tail, status)
            }
        }
    })
    .await;
    let (outcome, tail) = match waited {
        Ok((tail, Ok(status))) => {
            // It exited: what it left running on purpose (a daemon it
            // started) is not ours to kill.
            guard.0 = None;
            use std::os::unix::process::ExitStatusExt;
            let outcome = match (status.code(), status.signal()) {
                (Some(c), _) => Outcome::Exited(c),
                (None, Some(s)) => Outcome::Signalled(s),
                (None, None) => Outcome::Signalled(0),
            };
            (outcome, tail.unwrap_or_default())
        }
        Ok((_, Err(e))) => anyhow::bail!("waiting for {program}: {e}"),
        Err(_) => {
            // Past its timeout: the program and whatever it started in its
            // group go, so a hanging check cannot pile up run after run.
            guard.kill();
            let _ = child.wait().await;
            (Outcome::TimedOut, Vec::new())
        }
    };
    Ok(Run {
        outcome,
        output: String::from_utf8_lossy(&tail).into_owned(),
    })
}

/// The process group of a program still running: killed on drop.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) with a negative pid signals that process group.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads from a pipe, `None` at its end (and forgets it), pending forever
/// once it is gone.
async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut [u8],
) -> Option<usize> {
    let Some(p) = pipe else {
        return std::future::pending().await;
    };
    match p.read(buf).await {
        Ok(0) | Err(_) => {
            *pipe = None;
            None
        }
        Ok(n) => Some(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exit_codes_and_output() {
        let r = run(
            &Command::new(["/bin/sh", "-c", "echo hi; exit 3"]),
            &[],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(r.outcome, Outcome::Exited(3));
        assert_eq!(r.output, "hi\n");
        let r = run(&Command::new(["/bin/true"]), &[], Duration::from_secs(5))
            .await
            .unwrap();
        assert!(r.outcome.success());
    }

    #[tokio::test]
    async fn dropping_a_run_kills_its_group() {
        let marker = format!("sleep {}", 7000 + std::process::id() % 1000);
        let line = format!("{marker} & {marker}");
        let c = Command::new(["/bin/sh", "-c", &line]);
        let r = tokio::time::timeout(
            Duration::from_millis(300),
            run(&c, &[], Duration::from_secs(60)),
        )
        .await;
        assert!(r.is_err(), "the run should still be going");
        let left = || {
            let out = std::process::Command::new("pgrep")
                .args(["-f", &marker])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).lines().count()
        };
        for _ in 0..50 {
            if left() == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} processes of the dropped run left", left());
    }

    #[tokio::test]
    async fn a_timeout_kills_the_group() {
        let t = std::time::Instant::now();
        let r = run(
            &Command::new(["/bin/sh", "-c", "sleep 30 & sleep 30"]),
            &[],
            Duration::from_millis(200),
        )
        .await
        .unwrap();
        assert_eq!(r.outcome, Outcome::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_missing_program_is_an_error_naming_it() {
        let e = run(
            &Command::new(["/nonexistent/x"]),
            &[],
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x"), "{e}");
    }
}
