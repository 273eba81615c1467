//! The Fault state (keepalived's FAULT; not in the RFC, which assumes a router
//! that can always send and hold its addresses).
//!
//! A virtual router that cannot serve — its link is down, a VIP cannot be
//! configured, its adverts cannot be sent, a health check failed — must stop
//! claiming the VIPs: a master that cannot be heard, or that holds the address
//! without the service behind it, is worse than no master. Each reason is a
//! [`FaultSource`]; the router is in [`State::Fault`] while any source is on,
//! and starts again (as at Startup, RFC 5798 §6.4.1) when the last one clears.
//!
//! In Fault the router sends nothing, holds no VIP and runs no timer; adverts
//! are ignored. A Master entering Fault first sends one priority-0 advert (RFC
//! 5798 §6.4.3 Shutdown) so the best backup takes over after Skew_Time rather
//! than Master_Down_Interval; if the link is down the send fails harmlessly.

use std::time::Duration;

use super::{Action, Actions, Fsm, Ignore, STOP_PRIORITY, State, Timer};

/// Why a virtual router cannot serve. Each is switched on and off on its own;
/// the router leaves Fault only when none is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultSource {
    /// The interface the adverts use is down or gone.
    Link,
    /// A VIP could not be configured on becoming Master.
    Vips,
    /// An advert could not be sent.
    Send,
    /// A tracker (script, check, tracked interface or file) by its index in
    /// the instance's configuration.
    Tracker(u16),
    /// Another member of the instance's sync group is in Fault.
    Group,
}

impl Fsm {
    /// The fault sources that are on.
    pub fn faults(&self) -> impl Iterator<Item = FaultSource> + '_ {
        self.faults.iter().copied()
    }

    /// A fault source went on or off.
    pub(super) fn on_fault(
        &mut self,
        source: FaultSource,
        on: bool,
        now: Duration,
        out: &mut Actions,
    ) {
        let changed = if on {
            self.faults.insert(source)
        } else {
            self.faults.remove(&source)
        };
        if !changed {
            out.push(Action::Ignored(Ignore::FaultUnchanged));
            return;
        }
        match (on, self.state) {
            // Not running: remembered; Startup then goes straight to Fault.
            (_, State::Initialize) => {}
            (true, State::Fault) => {}
            (true, State::Backup) => {
                self.cancel(Timer::MasterDown, out);
                self.master = None;
                self.enter(State::Fault, out);
            }
            (true, State::Master) => {
                self.cancel(Timer::Adver, out);
                out.push(Action::SendAdvert {
                    priority: STOP_PRIORITY,
                });
                out.push(Action::RemoveVips);
                self.enter(State::Fault, out);
            }
            // Already stopping: give the VIPs up now and finish stopping.
            (true, State::Releasing) => self.finish_release(None, out),
            (false, State::Fault) if self.faults.is_empty() => self.start_running(now, false, out),
            (false, _) => {}
        }
    }

    /// Leaving Fault: whatever made the router stop is gone, so it starts over.
    pub(super) fn fault_shutdown(&mut self, out: &mut Actions) {
        self.enter(State::Initialize, out);
    }
}
