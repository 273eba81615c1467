//! Processes inside a test namespace: guarded children ([`Proc`]) and
//! bounded one-shot runs. [`crate::HostCommand`] builds both.
//!
//! A child never outlives its test:
//! - it gets its own process group, and [`Proc`]'s `Drop` sends SIGTERM (and
//!   SIGCONT, so a SIGSTOPped daemon can act on it) to the whole group, waits
//!   a short grace, then SIGKILLs the group and reaps the leader;
//! - it gets `PR_SET_PDEATHSIG = SIGKILL`, so it dies with the test even when
//!   the test process is SIGKILLed and no `Drop` runs. Linux ties that signal
//!   to the *thread* that forked: keep a [`Proc`] on the thread that spawned it.
//!
//! Output is captured into unlinked temporary files (nothing to clean up, no
//! pipe that a chatty daemon could fill), readable at any time with
//! [`Proc::stdout`] / [`Proc::stderr`], and printed when a `Proc` is dropped
//! during a panic, so a failing test shows the daemon's logs.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a child gets between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(1);
/// Default bound on a one-shot command ([`crate::HostCommand::run`]).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long killed grandchildren get to disappear (be reaped by init).
const GROUP_EXIT_WAIT: Duration = Duration::from_secs(2);
/// Poll period while waiting for a child to exit.
const POLL: Duration = Duration::from_millis(5);
/// Captured output printed by `Drop` during a panic is cut to its last bytes.
const PANIC_TAIL: usize = 16 * 1024;

/// Runs `cmd` to completion with captured output, killing it after `timeout`.
pub(crate) fn run_bounded(
    cmd: Command,
    label: String,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output> {
    let mut proc = Proc::spawn(cmd, label, stdin)?;
    // The caller gets (or reports) the output itself.
    proc.echo_on_panic = false;
    if proc.wait_timeout(timeout)?.is_none() {
        proc.stop()?;
        bail!(
            "`{}` did not finish within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
            proc.label,
            proc.stdout(),
            proc.stderr()
        );
    }
    let status = proc.stop()?;
    Ok(Output {
        status,
        stdout: proc.out.read(),
        stderr: proc.err.read(),
    })
}

/// Turns a failed [`Output`] into an error that shows what the program said.
pub(crate) fn check_success(label: &str, out: Output) -> Result<Output> {
    if out.status.success() {
        return Ok(out);
    }
    bail!(
        "`{label}` failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An unlinked temporary file a child writes to and we read from.
///
/// Opened with `O_APPEND`, so the child's writes always land at the end, and
/// read with `pread`, so our reads never move the shared file offset.
#[derive(Debug)]
struct Capture {
    file: File,
}

impl Capture {
    fn new(tag: &str) -> Result<Self> {
        let file = unlinked_file(tag, true)?;
        Ok(Self { file })
    }

    fn read(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match self.file.read_at(&mut chunk, data.len() as u64) {
                Ok(0) | Err(_) => return data,
                Ok(n) => data.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// Creates a fresh file in the temp directory and unlinks it at once, so a
/// SIGKILLed test leaves nothing behind.
fn unlinked_file(tag: &str, append: bool) -> Result<File> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "hatest-{}-{}-{tag}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(!append)
        .append(append)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::fs::remove_file(&path).with_context(|| format!("unlinking {}", path.display()))?;
    Ok(file)
}

/// Standard input for a child: `/dev/null`, or a file holding `bytes`.
fn stdin_from(bytes: Option<&[u8]>) -> Result<Stdio> {
    let Some(bytes) = bytes else {
        return Ok(Stdio::null());
    };
    let mut file = unlinked_file("stdin", false)?;
    file.write_all(bytes)?;
    // The child inherits this file offset: rewind so it reads from the start.
    file.seek(SeekFrom::Start(0))?;
    Ok(Stdio::from(file))
}

/// A child process inside a namespace, killed and reaped on `Drop`.
///
/// The child is never reaped before `Drop` (or [`stop`](Self::stop)): exit is
/// observed with `waitid(WNOWAIT)`, so its pid, and with it the process group
/// id, cannot be recycled while we may still signal the group.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    label: String,
    out: Capture,
    err: Capture,
    reaped: Option<ExitStatus>,
    /// Print the captured output when dropped during a panic.
    echo_on_panic: bool,
}

impl Proc {
    pub(crate) fn spawn(mut cmd: Command, label: String, stdin: Option<&[u8]>) -> Result<Self> {
        let out = Capture::new("stdout")?;
        let err = Capture::new("stderr")?;
        cmd.stdin(stdin_from(stdin)?)
            .stdout(out.file.try_clone()?)
            .stderr(err.file.try_clone()?)
            .process_group(0);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only calls
        // async-signal-safe functions (prctl, getppid) without allocating.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting `{label}`"))?;
        Ok(Self {
            child,
            label,
            out,
            err,
            reaped: None,
            echo_on_panic: true,
        })
    }

    /// Process id of the program (both entry methods exec, so this is the
    /// program itself, not `nsenter`/`ip`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `ns: program args…`
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`, `libc::SIGSTOP`) to the program
    /// only, not its process group. An error once the child has been reaped.
    pub fn kill(&self, signal: i32) -> Result<()> {
        if self.reaped.is_some() {
            bail!("`{}` was already reaped", self.label);
        }
        // SAFETY: plain syscall; the pid is our unreaped child, so it is not recycled.
        if unsafe { libc::kill(self.pid() as libc::pid_t, signal) } != 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("signal {signal} to `{}`", self.label));
        }
        Ok(())
    }

    /// Sends `signal` to the program and every process it forked (its process
    /// group): how a whole daemon such as keepalived (parent + VRRP child) is
    /// killed at once.
    pub fn kill_group(&self, signal: i32) -> Result<()> {
        if self.reaped.is_some() {
            bail!("`{}` was already reaped", self.label);
        }
        self.signal_group(signal);
        Ok(())
    }

    fn signal_group(&self, signal: i32) {
        // SAFETY: plain syscall. The group leader is unreaped, so the group id
        // still names our child's group. Errors (ESRCH) mean nobody is left.
        unsafe {
            libc::kill(-(self.pid() as libc::pid_t), signal);
        }
    }

    /// The exit status if the program has exited, without reaping it.
    pub fn try_wait(&self) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.reaped {
            return Ok(Some(status));
        }
        // SAFETY: zeroed siginfo_t is a valid out-parameter for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child with a valid siginfo pointer.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                self.pid() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("waitid on `{}`", self.label));
        }
        // SAFETY: waitid filled a SIGCHLD siginfo (or left it zeroed: si_pid 0).
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        let raw = match info.si_code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            libc::CLD_DUMPED => status | 0x80,
            _ => status,
        };
        Ok(Some(ExitStatus::from_raw(raw)))
    }

    /// Waits up to `timeout` for the program to exit; `None` if it is still
    /// running. Does not reap.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            sleep(POLL.min(deadline - now));
        }
    }

    /// Output captured so far on standard output (lossy UTF-8).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.read()).into_owned()
    }

    /// Output captured so far on standard error (lossy UTF-8).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.read()).into_owned()
    }

    /// Stops the program as `Drop` does and returns its exit status:
    /// SIGTERM + SIGCONT to the group, up to [`TERM_GRACE`], SIGKILL to the
    /// group (also sweeping children left behind by a leader that already
    /// exited), reap, and wait (bounded) until no group member is left.
    /// Idempotent.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.reaped {
            return Ok(status);
        }
        if self.try_wait()?.is_none() {
            self.signal_group(libc::SIGTERM);
            self.signal_group(libc::SIGCONT);
            self.wait_timeout(TERM_GRACE)?;
        }
        self.signal_group(libc::SIGKILL);
        let status = self
            .child
            .wait()
            .with_context(|| format!("reaping `{}`", self.label))?;
        self.reaped = Some(status);
        self.wait_group_gone();
        Ok(status)
    }

    /// Waits (bounded) until the killed group has no live member left, so a
    /// test that goes on after `Drop` never meets a dying grandchild. Only
    /// probes, never signals: the leader is reaped by now. Zombies count as
    /// gone: orphans wait for init to reap them, which some inits do slowly.
    fn wait_group_gone(&self) {
        let pgid = self.pid() as libc::pid_t;
        let deadline = Instant::now() + GROUP_EXIT_WAIT;
        // SAFETY: signal 0 only checks whether the group has any member.
        while unsafe { libc::kill(-pgid, 0) } == 0 && group_has_live_member(pgid) {
            if Instant::now() >= deadline {
                eprintln!(
                    "hatest: process group of `{}` still not empty after {GROUP_EXIT_WAIT:?}",
                    self.label
                );
                return;
            }
            sleep(POLL);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let stopped = self.stop();
        if self.echo_on_panic && std::thread::panicking() {
            eprintln!(
                "---- `{}` ({:?}) stdout:\n{}\n---- stderr:\n{}",
                self.label,
                stopped,
                tail(&self.stdout()),
                tail(&self.stderr())
            );
        } else if let Err(e) = stopped {
            eprintln!("hatest: stopping `{}`: {e:#}", self.label);
        }
    }
}

/// Some process in group `pgid` is not a zombie (scans `/proc/*/stat`).
fn group_has_live_member(pgid: libc::pid_t) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .any(|stat| {
            // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
            let mut fields = stat.rsplit_once(") ").map_or("", |(_, r)| r).split(' ');
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|g| g.parse::<libc::pid_t>().ok());
            pgrp == Some(pgid) && state != Some("Z")
        })
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(PANIC_TAIL);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
