//! The per-instance (or per-group) queue of notify scripts.
//!
//! The queue is unbounded: events are state changes, a handful a second at
//! the very worst, and dropping one would leave a script believing a state
//! that is no longer true. keepalived never coalesces events either, so a
//! BACKUP then MASTER queued behind a slow script both run, in order.

use std::sync::Arc;

use futures::FutureExt;

use tokio::sync::{mpsc, oneshot};

use super::{FifoHandle, Kind, NotifyState, Task};
use crate::config::service::{Command, Notify};

/// The handle the protocol side reports state changes through. Cheap to
/// clone; the task returned with it ends once every clone is gone and the
/// scripts already queued have run.
#[derive(Debug, Clone)]
pub struct Notifier {
    who: Arc<Who>,
    queue: mpsc::UnboundedSender<Job>,
    fifo: Option<FifoHandle>,
}

/// The instance or group a notifier speaks for.
#[derive(Debug)]
struct Who {
    kind: Kind,
    name: String,
}

enum Job {
    /// Run the scripts of one event.
    Event { state: NotifyState, priority: u8 },
    /// Everything queued before has run: tell the waiter.
    Flush(oneshot::Sender<()>),
}

impl Notifier {
    /// The notifier of instance `name`: its scripts get `INSTANCE` and its
    /// priority. Spawn the returned future; it runs the scripts.
    pub fn instance(name: &str, notify: &Notify, fifo: Option<FifoHandle>) -> (Notifier, Task) {
        Notifier::new(Kind::Instance, name, notify, fifo)
    }

    /// The notifier of sync group `name`: its scripts get `GROUP` and
    /// priority 0, as keepalived's. Spawn the returned future.
    pub fn group(name: &str, notify: &Notify, fifo: Option<FifoHandle>) -> (Notifier, Task) {
        Notifier::new(Kind::Group, name, notify, fifo)
    }

    fn new(kind: Kind, name: &str, notify: &Notify, fifo: Option<FifoHandle>) -> (Notifier, Task) {
        let who = Arc::new(Who {
            kind,
            name: name.to_string(),
        });
        let (queue, jobs) = mpsc::unbounded_channel();
        let task = run(who.clone(), notify.clone(), jobs).boxed();
        (Notifier { who, queue, fifo }, task)
    }

    /// Reports that the instance (or group) entered `state` with `priority`
    /// (the effective priority; ignored for a group). Never waits: the FIFO
    /// line is queued for the writer and the scripts for this notifier's task.
    pub fn event(&self, state: NotifyState, priority: u8) {
        let priority = match self.who.kind {
            Kind::Instance => priority,
            Kind::Group => 0,
        };
        if let Some(fifo) = &self.fifo {
            fifo.line(self.who.kind, &self.who.name, state, priority);
        }
        if self.queue.send(Job::Event { state, priority }).is_err() {
            tracing::debug!(
                "{} {}: notify task gone, {} not run",
                self.who.kind.word(),
                self.who.name,
                state.word()
            );
        }
    }

    /// Waits until every script queued before this call has run (each one
    /// bounded by the configured timeout), then lets go of this handle. The
    /// daemon calls it after the STOP event at shutdown.
    pub async fn finish(self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Job::Flush(done)).is_ok() {
            // An error means the task is gone: nothing more will run.
            let _ = wait.await;
        }
    }
}

/// Drains the queue: the scripts of one event, then the next event.
async fn run(who: Arc<Who>, notify: Notify, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Event { state, priority } => {
                if let Some(cmd) = own_script(&notify, state) {
                    run_one(&who, state, cmd, &[], &notify).await;
                }
                if let Some(cmd) = &notify.any {
                    let extra = [
                        who.kind.word().to_string(),
                        who.name.clone(),
                        state.word().to_string(),
                        priority.to_string(),
                    ];
                    run_one(&who, state, cmd, &extra, &notify).await;
                }
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// The state's own script (`notify_master` …); DELETED uses the fault one,
/// as keepalived without `notify_deleted`.
fn own_script(notify: &Notify, state: NotifyState) -> Option<&Command> {
    match state {
        NotifyState::Master => notify.master.as_ref(),
        NotifyState::Backup => notify.backup.as_ref(),
        NotifyState::Fault | NotifyState::Deleted => notify.fault.as_ref(),
        NotifyState::Stop => notify.stop.as_ref(),
    }
}

/// Runs one script to its end or its timeout, and logs what went wrong; a
/// script that cannot be started is skipped.
async fn run_one(who: &Who, state: NotifyState, cmd: &Command, extra: &[String], notify: &Notify) {
    let program = cmd.argv.first().map(String::as_str).unwrap_or("");
    let (kind, name, word) = (who.kind.word(), &who.name, state.word());
    match crate::exec::run(cmd, extra, notify.timeout).await {
        Err(e) => tracing::warn!("{kind} {name}: {word} notify script skipped: {e:#}"),
        Ok(run) => match run.outcome {
            crate::exec::Outcome::Exited(0) => {
                tracing::debug!("{kind} {name}: {word} notify script {program} done")
            }
            crate::exec::Outcome::TimedOut => tracing::warn!(
                "{kind} {name}: {word} notify script {program} killed after {:?}",
                notify.timeout
            ),
            outcome => tracing::info!(
                "{kind} {name}: {word} notify script {program} ended with {outcome:?}: {}",
                run.output.trim_end()
            ),
        },
    }
}
