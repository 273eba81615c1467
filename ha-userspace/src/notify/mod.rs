//! Telling the outside world about state changes: keepalived's notify
//! scripts (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`,
//! `notify`) and its notify FIFO (`notify_fifo`, `notify_fifo_script`).
//!
//! Each instance and each sync group owns one [`Notifier`]: a queue drained
//! by a task of its own that runs the scripts of one event after another,
//! and the events in the order they were reported. The protocol side only
//! calls [`Notifier::event`], which never waits. Every event is also written
//! at once, as a line, to the shared [`Fifo`] when one is configured, so the
//! FIFO holds the events of all instances and groups in the order they
//! happened, whatever the scripts are doing.
//!
//! What keepalived 2.2.7 does (`vrrp_notify.c`), and what ha keeps:
//! - for an event, the state's own script runs first, with only the
//!   arguments of its configuration line; then the generic `notify` script
//!   with four more arguments, `INSTANCE|GROUP`, the name, the state word and
//!   the priority (the effective priority; always 0 for a group); then the
//!   FIFO line `INSTANCE "NAME" STATE PRIORITY` (the name in double quotes,
//!   the priority 0 for a group).
//! - an instance removed at reload is `DELETED`; without keepalived's
//!   `notify_deleted` option it is reported as `FAULT`, and ha has no such
//!   option, so [`NotifyState::Deleted`] is reported as `FAULT` everywhere.
//!
//! Where ha differs: keepalived forks every notify script and never waits
//! for it, so two scripts of one instance can run at once and finish out of
//! order (its manual recommends the FIFO for ordering). ha runs them one at
//! a time, in order, each bounded by the configured timeout.

mod fifo;
mod fifo_script;
mod queue;
#[cfg(test)]
mod tests;

pub use fifo::{FIFO_QUEUE, Fifo, FifoHandle};
pub use queue::Notifier;

/// A task the daemon spawns: a notifier's script queue or the FIFO writer.
pub type Task = futures::future::BoxFuture<'static, ()>;

/// A state an instance or a sync group has entered, as notify reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    /// It became master.
    Master,
    /// It became backup (also at start-up, as keepalived).
    Backup,
    /// It entered fault.
    Fault,
    /// The daemon is stopping (keepalived's `STOP`, sent to every instance
    /// and then every group at shutdown).
    Stop,
    /// The instance was removed by a reload. keepalived reports it as
    /// `FAULT` unless `notify_deleted` is set; ha does the same.
    Deleted,
}

impl NotifyState {
    /// The word scripts and the FIFO get: keepalived's state names.
    pub fn word(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault | NotifyState::Deleted => "FAULT",
            NotifyState::Stop => "STOP",
        }
    }

    /// What entering `state` reports, if anything: Initialize and Releasing
    /// are steps of starting and stopping (STOP is sent when the instance
    /// has stopped), not states keepalived reports.
    pub fn of(state: crate::vrrp::State) -> Option<NotifyState> {
        use crate::vrrp::State;
        match state {
            State::Master => Some(NotifyState::Master),
            State::Backup => Some(NotifyState::Backup),
            State::Fault => Some(NotifyState::Fault),
            State::Initialize | State::Releasing => None,
        }
    }
}

/// Whose events a [`Notifier`] reports: keepalived's type word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Instance => "INSTANCE",
            Kind::Group => "GROUP",
        }
    }
}
