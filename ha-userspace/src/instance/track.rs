//! What an instance follows (checks, interfaces, files, processes) turned
//! into state-machine inputs: a tracker that puts the instance in FAULT
//! switches its [`FaultSource::Tracker`] on, and the weights of the others
//! change the effective priority (keepalived's rules, in `health::weight`).

use tokio::sync::watch;

use crate::{
    health::{Level, Tracked, effect},
    vrrp::{FaultSource, Input},
};

/// One tracked object as an instance sees it.
pub struct TrackInput {
    /// What the log and the status call it (`script chk_nginx`, `interface eth1`).
    pub label: String,
    /// Its kind, weight and direction for this instance.
    pub tracked: Tracked,
    /// Its level, published by the health task (or the link watcher).
    pub rx: watch::Receiver<Level>,
}

/// The instance's trackers and what they last made of it.
pub struct Tracking {
    inputs: Vec<TrackInput>,
    base: u8,
    priority: u8,
    faults: Vec<bool>,
    /// A weight-0 script has no result yet (keepalived keeps the instance
    /// in INIT until it has).
    waiting: bool,
}

impl Tracking {
    /// Trackers of an instance configured with priority `base`.
    pub fn new(inputs: Vec<TrackInput>, base: u8) -> Self {
        let n = inputs.len();
        Tracking {
            inputs,
            base,
            priority: base,
            faults: vec![false; n],
            waiting: false,
        }
    }

    /// Whether the instance must wait for a first result before it starts
    /// (as of the last [`evaluate`](Self::evaluate)).
    pub fn waiting(&self) -> bool {
        self.waiting
    }

    /// The label of tracker `i`, for the status.
    pub fn label(&self, i: u16) -> Option<&str> {
        self.inputs.get(usize::from(i)).map(|t| t.label.as_str())
    }

    /// Waits until a tracker's level changes; forever without trackers, or
    /// once every publisher has gone (the daemon is stopping).
    pub async fn changed(&mut self) {
        if self.inputs.is_empty() {
            return std::future::pending().await;
        }
        let waits = self
            .inputs
            .iter_mut()
            .map(|t| Box::pin(t.rx.changed()))
            .collect::<Vec<_>>();
        let (r, _, _) = futures::future::select_all(waits).await;
        if r.is_err() {
            // A publisher ended: nothing more will come from it; do not spin.
            std::future::pending::<()>().await;
        }
    }

    /// The inputs that bring the state machine up to date with the levels
    /// now: faults switched on or off, then the new priority.
    pub fn evaluate(&mut self) -> Vec<Input> {
        let now: Vec<Tracked> = self
            .inputs
            .iter_mut()
            .map(|t| Tracked {
                level: *t.rx.borrow_and_update(),
                ..t.tracked
            })
            .collect();
        let effect = effect(self.base, &now);
        self.waiting = !effect.waiting.is_empty();
        let mut out = Vec::new();
        for (i, was) in self.faults.iter_mut().enumerate() {
            let on = effect.faults.contains(&i);
            if on != *was {
                *was = on;
                let source = FaultSource::Tracker(u16::try_from(i).unwrap_or(u16::MAX));
                out.push(Input::Fault { source, on });
            }
        }
        if effect.priority != self.priority {
            self.priority = effect.priority;
            out.push(Input::PriorityChanged(effect.priority));
        }
        out
    }
}
