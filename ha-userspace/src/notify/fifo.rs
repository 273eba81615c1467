//! keepalived's `notify_fifo`: every state change as one line in a named
//! pipe, `INSTANCE "VI_1" MASTER 100` or `GROUP "G1" MASTER 0`.
//!
//! As keepalived, the pipe is created when absent (mode 0644, so a reader
//! running as another user can open it, less the umask) and removed at the
//! end only if ha created it; it is opened read-write and non-blocking, so
//! opening never waits for a reader and a write never fails for the lack of
//! one. keepalived drops a line the full pipe cannot take; ha keeps up to
//! [`FIFO_QUEUE`] lines waiting in a writer task for the reader to catch up,
//! and beyond that drops them, counted and logged, so a stuck reader never
//! holds back the protocol.

use std::{
    fs::{File, OpenOptions},
    io::Write,
    os::unix::fs::{FileTypeExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use futures::FutureExt;
use tokio::{
    io::{Interest, unix::AsyncFd},
    sync::mpsc,
};

use super::{Kind, NotifyState, Task, fifo_script::Reader};
use crate::config::service::NotifyFifo;

/// Lines waiting for a reader before new ones are dropped.
pub const FIFO_QUEUE: usize = 1024;

/// How long, once every handle is gone, the writer still waits for a full
/// pipe to take the remaining lines (keepalived's own grace for children at
/// shutdown is one second too).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// How often a writer waiting on a full pipe looks whether it is shutting
/// down.
const POLL: Duration = Duration::from_millis(100);

/// keepalived's notify FIFO: opened by [`Fifo::open`], written through
/// [`FifoHandle`]s.
pub struct Fifo;

/// Where notifiers send their lines. Cheap to clone; the writer task ends
/// once every clone is gone.
#[derive(Debug, Clone)]
pub struct FifoHandle {
    lines: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl Fifo {
    /// Creates the FIFO at `cfg.path` if absent and opens it. Errors when
    /// the path exists and is not a FIFO (a symlink included, as
    /// keepalived's `O_NOFOLLOW`) or cannot be created or opened; the
    /// message names the path. The returned future writes the lines, starts
    /// `cfg.script` with the path as its last argument, and at the end
    /// removes the FIFO (if created here) and stops the script: spawn it.
    pub fn open(cfg: &NotifyFifo) -> anyhow::Result<(FifoHandle, Task)> {
        let path = cfg.path.clone();
        // keepalived's `notify_fifo PATH USER [GROUP]`: the owner of a FIFO
        // it creates, so a reader running as that user may open it. Looked
        // up first: an unknown name changes nothing.
        let owner = crate::exec::user::resolve(cfg.user.as_deref(), cfg.group.as_deref())
            .with_context(|| format!("notify fifo {}: owner", path.display()))?;
        let created = create(&path)?;
        if created && let Some(ids) = owner {
            std::os::unix::fs::chown(&path, Some(ids.uid), Some(ids.gid)).with_context(|| {
                format!(
                    "notify fifo {}: cannot give it to uid {} gid {}",
                    path.display(),
                    ids.uid,
                    ids.gid
                )
            })?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&path)
            .with_context(|| format!("notify fifo {}: cannot open", path.display()))?;
        let (lines, queue) = mpsc::channel(FIFO_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let handle = FifoHandle {
            lines,
            dropped: dropped.clone(),
        };
        let writer = Writer {
            path,
            created,
            dropped,
        };
        Ok((handle, writer.run(file, queue, cfg.script.clone()).boxed()))
    }
}

impl FifoHandle {
    /// Lines dropped so far because the reader did not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues the line of one event; never waits.
    pub(super) fn line(&self, kind: Kind, name: &str, state: NotifyState, priority: u8) {
        let line = format!("{} \"{name}\" {} {priority}\n", kind.word(), state.word());
        match self.lines.try_send(line) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(line)) => count_drop(&self.dropped, &line),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("notify fifo writer gone, line for {name} not written")
            }
        }
    }
}

/// Counts a dropped line, and logs the first and then every power of two.
fn count_drop(dropped: &AtomicU64, line: &str) {
    let n = dropped.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() {
        tracing::warn!(
            "notify fifo: reader not keeping up, {n} line(s) dropped so far (latest: {})",
            line.trim_end()
        );
    }
}

/// Makes sure `path` is a FIFO; true when it was created here.
fn create(path: &Path) -> anyhow::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => Ok(false),
        Ok(_) => anyhow::bail!("notify fifo {}: exists and is not a FIFO", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                .with_context(|| format!("notify fifo {}: NUL in path", path.display()))?;
            // SAFETY: `c` is a valid NUL-terminated path for the call.
            if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } != 0 {
                let e = std::io::Error::last_os_error();
                return Err(e)
                    .with_context(|| format!("notify fifo {}: cannot create", path.display()));
            }
            Ok(true)
        }
        Err(e) => Err(e).with_context(|| format!("notify fifo {}: cannot inspect", path.display())),
    }
}

/// The writer task's state.
struct Writer {
    path: PathBuf,
    created: bool,
    dropped: Arc<AtomicU64>,
}

impl Writer {
    async fn run(
        self,
        file: File,
        mut queue: mpsc::Receiver<String>,
        script: Option<crate::config::service::Command>,
    ) {
        // SAFETY: the `File` owns its descriptor and keeps it open, the same
        // one, for as long as the `AsyncFd` holds it.
        let fd = match unsafe { AsyncFd::register_with_interest(file, Interest::WRITABLE) } {
            Ok(fd) => Some(fd),
            Err(e) => {
                tracing::warn!("notify fifo {}: cannot poll: {e}", self.path.display());
                None
            }
        };
        let mut reader = script.and_then(|cmd| Reader::start(&cmd, &self.path));
        let mut giving_up = false;
        loop {
            tokio::select! {
                line = queue.recv() => {
                    let Some(line) = line else { break };
                    let written = match &fd {
                        Some(fd) if !giving_up => self.write(fd, line.as_bytes(), &queue).await,
                        _ => false,
                    };
                    if !written {
                        // Once a line could not go out at shutdown, the rest
                        // are dropped at once rather than a second each.
                        giving_up = queue.is_closed();
                        count_drop(&self.dropped, &line);
                    }
                }
                Some(()) = Reader::exited(&mut reader) => reader = None,
            }
        }
        // keepalived removes the FIFO before closing it, so that a reader
        // that reopens it in a loop cannot find it again.
        if self.created
            && let Err(e) = std::fs::remove_file(&self.path)
        {
            tracing::warn!("notify fifo {}: cannot remove: {e}", self.path.display());
        }
        drop(fd);
        if let Some(reader) = reader {
            reader.stop().await;
        }
    }

    /// Writes one line, waiting while the pipe is full; false when it was
    /// not (fully) written.
    async fn write(&self, fd: &AsyncFd<File>, line: &[u8], queue: &mpsc::Receiver<String>) -> bool {
        let mut rest = line;
        let mut closed_for = Duration::ZERO;
        while !rest.is_empty() {
            let mut guard = match tokio::time::timeout(POLL, fd.writable()).await {
                Ok(Ok(guard)) => guard,
                Ok(Err(e)) => {
                    tracing::warn!("notify fifo {}: {e}", self.path.display());
                    return false;
                }
                Err(_) => {
                    if queue.is_closed() {
                        closed_for += POLL;
                        if closed_for >= SHUTDOWN_WAIT {
                            return false;
                        }
                    }
                    continue;
                }
            };
            match guard.try_io(|f| f.get_ref().write(rest)) {
                Ok(Ok(n)) => rest = &rest[n..],
                Ok(Err(e)) => {
                    tracing::warn!("notify fifo {}: write: {e}", self.path.display());
                    return false;
                }
                Err(_would_block) => {}
            }
        }
        true
    }
}
