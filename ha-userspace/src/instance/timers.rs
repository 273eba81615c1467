//! The three timer slots of one instance, as the state machine arms them.
//!
//! The state machine speaks in `Duration`s since an epoch; here they become tokio
//! instants. A slot fires at most once per arming; a late or cancelled firing is
//! harmless because the state machine checks its own deadline (`StaleTimer`).

use std::time::Duration;

use tokio::time::Instant;

use crate::vrrp::{Action, FaultSource, Input};

/// Armed deadlines, one per timer kind.
#[derive(Debug)]
pub struct Timers {
    epoch: Instant,
    adver: Option<Instant>,
    master_down: Option<Instant>,
    release: Option<Instant>,
    /// When to try again after a fault the instance cannot watch clear by
    /// itself (a VIP that could not be added, an advert that could not be sent).
    retry: Option<Instant>,
}

impl Timers {
    /// Slots counting from `epoch`, all disarmed.
    pub fn new(epoch: Instant) -> Timers {
        Timers {
            epoch,
            adver: None,
            master_down: None,
            release: None,
            retry: None,
        }
    }

    /// Time since the epoch, the state machine's `now`.
    pub fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch)
    }

    /// Applies a timer action; returns false for any other action.
    pub fn apply(&mut self, action: &Action) -> bool {
        let at = |d: &Duration| Some(self.epoch + *d);
        match action {
            Action::ArmAdverTimer { at: d } => self.adver = at(d),
            Action::CancelAdverTimer => self.adver = None,
            Action::ArmMasterDownTimer { at: d } => self.master_down = at(d),
            Action::CancelMasterDownTimer => self.master_down = None,
            Action::ArmReleaseTimer { at: d } => self.release = at(d),
            Action::CancelReleaseTimer => self.release = None,
            _ => return false,
        }
        true
    }

    /// Arms the fault retry `after` from now, unless one is armed already.
    pub fn arm_retry(&mut self, after: Duration) {
        self.retry.get_or_insert_with(|| Instant::now() + after);
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        [self.adver, self.master_down, self.release, self.retry]
            .into_iter()
            .flatten()
            .min()
    }

    /// Disarms and returns the inputs of every slot whose deadline has passed.
    pub fn take_due(&mut self) -> Vec<Input> {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut take = |slot: &mut Option<Instant>, input: Input| {
            if slot.is_some_and(|at| at <= now) {
                *slot = None;
                due.push(input);
            }
        };
        take(&mut self.master_down, Input::MasterDownTimer);
        take(&mut self.adver, Input::AdverTimer);
        take(&mut self.release, Input::ReleaseTimer);
        if self.retry.is_some_and(|at| at <= now) {
            self.retry = None;
            for source in [FaultSource::Vips, FaultSource::Send] {
                due.push(Input::Fault { source, on: false });
            }
        }
        due
    }
}
