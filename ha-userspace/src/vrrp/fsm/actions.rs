//! What the state machine asks its driver to do, and why it ignored an input.

use std::net::IpAddr;
use std::time::Duration;

use super::State;

/// One effect for the driver to execute. A step returns them in the order they
/// must run (see the `fsm` module docs for the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send one advertisement carrying `priority` (0 = this master is
    /// stopping). The interval field is the configured
    /// Advertisement_Interval; the address list is the configured VIPs.
    SendAdvert { priority: u8 },
    /// (Re)arm the Adver_Timer to fire at `at`; replaces any armed one.
    ArmAdverTimer { at: Duration },
    /// Cancel the Adver_Timer if armed.
    CancelAdverTimer,
    /// (Re)arm the Master_Down_Timer to fire at `at`; replaces any armed one.
    ArmMasterDownTimer { at: Duration },
    /// Cancel the Master_Down_Timer if armed.
    CancelMasterDownTimer,
    /// (Re)arm the release deadline of a make-before-break shutdown.
    ArmReleaseTimer { at: Duration },
    /// Cancel the release deadline if armed.
    CancelReleaseTimer,
    /// Configure the virtual addresses on the interface (idempotently).
    AddVips,
    /// Remove the virtual addresses from the interface (idempotently).
    RemoveVips,
    /// Announce the virtual addresses: gratuitous ARP for IPv4 VIPs,
    /// unsolicited Neighbor Advertisement (R=1, S=0, O=1) for IPv6 VIPs (RFC
    /// 5798 §6.4.2). The driver owns repeat counts and bursts.
    SendGratuitous,
    /// A make-before-break release finished; `successor` is the router whose
    /// advert showed it had taken over, `None` when the deadline expired, an
    /// immediate shutdown or a fault cut the release short. Followed by
    /// `RemoveVips` (after a short linger when a successor was heard) and
    /// `StateChanged { from: Releasing, to: Initialize }`.
    Released { successor: Option<IpAddr> },
    /// The state changed. Always the last action of its step, after the
    /// effects of entering the new state have been listed.
    StateChanged { from: State, to: State },
    /// The input had no effect; the reason is for counters and logs. When it
    /// is the only action the state machine did not change.
    Ignored(Ignore),
}

/// Why an input was discarded or had no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignore {
    /// An advert, timer or shutdown while in Initialize.
    NotRunning,
    /// `Startup` while already running.
    AlreadyRunning,
    /// A timer input that is not armed in this state, or whose deadline is
    /// still in the future (a late firing of a cancelled or re-armed timer).
    StaleTimer,
    /// An advert whose source is our own primary address (looped back).
    OwnAdvert,
    /// An advert from the other address family than our primary address.
    FamilyMismatch,
    /// RFC 3768 §7.1: a v2 advert whose interval differs from ours MUST be
    /// discarded. Both values in centiseconds.
    IntervalMismatch { ours: u16, theirs: u16 },
    /// A v3 advert with an interval outside 1..=4095 cs (RFC 9568 erratum
    /// 8301: the interval must be non-zero).
    InvalidInterval(u16),
    /// The sender ranks below us: a preempting Backup discards a
    /// lower-priority advert (RFC 5798 §6.4.2) and a Master discards one
    /// with lower priority, or equal priority and a lower address (§6.4.3).
    Outranked,
    /// A priority-0 advert while we are releasing ourselves: nobody takes
    /// over from it.
    StopWhileReleasing,
    /// A make-before-break shutdown while already releasing.
    AlreadyReleasing,
    /// `PriorityChanged` on the address owner, whose priority is fixed at 255
    /// (RFC 5798 §5.2.4).
    OwnerPriorityFixed,
    /// A Master already answered a priority-0 or lower-priority advert within
    /// the last Advertisement_Interval; its periodic advert follows anyway.
    ReassertLimited,
    /// An advert while in Fault.
    Faulted,
    /// A fault source switched to the value it already had.
    FaultUnchanged,
    /// A sync-group input for a state it does not move (see `fsm::group`).
    GroupUnchanged,
}

/// How many actions one step can produce at most. The longest step is a
/// Backup's Master_Down_Timer expiry (5 actions); the rest is headroom.
const CAPACITY: usize = 8;

/// The actions of one step: a fixed-capacity list, so a step never allocates.
///
/// Dereferences to `[Action]`; iterate it by value or by reference.
#[derive(Clone, Copy)]
pub struct Actions {
    buf: [Action; CAPACITY],
    len: usize,
}

impl Actions {
    pub(super) const fn new() -> Self {
        // The filler is never observed: only `buf[..len]` is exposed.
        Actions {
            buf: [Action::CancelAdverTimer; CAPACITY],
            len: 0,
        }
    }

    pub(super) fn push(&mut self, action: Action) {
        // Every step pushes a bounded, statically known number of actions;
        // the unit tests drive every path, so overflowing is a bug here.
        assert!(
            self.len < CAPACITY,
            "vrrp fsm: more than {CAPACITY} actions in one step"
        );
        self.buf[self.len] = action;
        self.len += 1;
    }

    /// The actions, in execution order.
    pub fn as_slice(&self) -> &[Action] {
        &self.buf[..self.len]
    }
}

impl std::ops::Deref for Actions {
    type Target = [Action];
    fn deref(&self) -> &[Action] {
        self.as_slice()
    }
}

impl std::fmt::Debug for Actions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'a> IntoIterator for &'a Actions {
    type Item = &'a Action;
    type IntoIter = std::slice::Iter<'a, Action>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = std::iter::Take<std::array::IntoIter<Action, CAPACITY>>;
    fn into_iter(self) -> Self::IntoIter {
        self.buf.into_iter().take(self.len)
    }
}

impl PartialEq for Actions {
    fn eq(&self, other: &Actions) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Actions {}

impl PartialEq<[Action]> for Actions {
    fn eq(&self, other: &[Action]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<[Action; N]> for Actions {
    fn eq(&self, other: &[Action; N]) -> bool {
        self.as_slice() == other
    }
}
