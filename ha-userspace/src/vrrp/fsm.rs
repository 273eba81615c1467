//! One virtual router's state machine: RFC 5798 §6.4 with the RFC 9568
//! changes for VRRPv3, RFC 3768 §6.4 for VRRPv2, as a pure function
//! `(state, input, now) -> actions`.
//!
//! # Driver contract
//!
//! - Build one [`Fsm`] per virtual router (VRID + family) with [`Fsm::new`]. It
//!   starts in [`State::Initialize`] with nothing armed; feed
//!   [`Input::Startup`] to start it.
//! - Call [`Fsm::handle`] with each input and the current monotonic time `now`
//!   (a [`Duration`] since any fixed epoch). It may be slightly earlier than
//!   the previous input's when the input happened earlier than it was handled
//!   (a kernel event's timestamp): deadlines then count from when it happened.
//!   Run
//!   the returned [`Action`]s in order: the order is part of the protocol (on
//!   becoming Master the VIPs are configured before the advert and the
//!   gratuitous ARP go out; [`Action::StateChanged`] comes last, so notify
//!   hooks see the new state in place).
//! - Timers: the driver keeps one slot per timer kind (Adver, Master_Down,
//!   Release). `Arm*` sets the slot's deadline (replacing any), `Cancel*`
//!   clears it. When a deadline passes, feed the matching input
//!   ([`Input::AdverTimer`], [`Input::MasterDownTimer`],
//!   [`Input::ReleaseTimer`]) with a `now` at or after the deadline. The
//!   machine remembers what it armed: a firing it did not expect (cancelled,
//!   re-armed later, wrong state) comes back as
//!   [`Ignore::StaleTimer`], so races in the driver cannot cause a transition.
//! - Adverts: the driver runs the packet checks of RFC 5798 §7.1 / RFC 3768
//!   §7.1 that need the packet (TTL/hop limit 255, version, type, checksum,
//!   length, VRID, address list, authentication) and passes only good ones
//!   as [`Input::AdvertReceived`]. A v2 interval is passed as
//!   `seconds * 100`. The machine checks the rest: family, our own address,
//!   v2 interval equality (RFC 3768 §7.1), v3 interval range.
//! - Priority: health tracking computes the effective priority and feeds
//!   [`Input::PriorityChanged`]. Values are clamped to 1..=254; the owner
//!   (255) ignores it.
//!
//! # Decisions beyond the RFC text
//!
//! - **Address owner receiving adverts.** RFC 5798 §7.1 made an owner discard
//!   every advert; RFC 9568 erratum 8298 relaxes that so duplicate owners
//!   resolve by the normal election. We process them: an owner only yields to
//!   another 255 with a greater address. An owner always preempts.
//! - **Lower-priority advert while Master** (RFC 9568 §6.4.3): discard and,
//!   with [`Config::lower_prio_readvert`], send an advert at once and announce
//!   the VIPs again. We also re-arm the Adver_Timer then, as for a priority-0
//!   advert, so adverts stay one interval apart. Both answers (to a
//!   lower-priority and to a priority-0 advert) are limited to one per
//!   Advertisement_Interval ([`Ignore::ReassertLimited`]): one spoofed packet
//!   per millisecond must not become a broadcast storm.
//! - **Fault** (keepalived's FAULT, see [`FaultSource`]): while any fault
//!   source is on, the router sends nothing, holds no VIPs and runs no timer;
//!   a Master entering it sends one priority-0 advert first. When the last
//!   source clears it starts over as at Startup.
//! - **`state MASTER`** ([`Config::initial_master`]): the first
//!   Master_Down_Timer after Startup is Advertisement_Interval + Skew_Time.
//! - **`preempt_delay`** (keepalived): a preempting Backup holds off for
//!   `preempt_delay` before preempting a lower-priority master. The hold
//!   starts at [`Input::Startup`], and again at the first lower-priority
//!   advert after any advert that ranked at or above us (or after becoming
//!   Backup) stopped it. While it runs, lower-priority adverts are accepted
//!   as if preempt were off (Master_Down_Timer reset, interval learned); once
//!   it has passed they are discarded, Master_Down_Timer expires and we take
//!   over. It needs no timer of its own: it is checked when adverts arrive.
//! - **Priority changes.** A Master whose priority changes keeps the role
//!   until a better advert arrives and sends one advert right away with the
//!   new priority so observers (backups, the XDP peer table) see it. A Backup
//!   whose priority rises above the master's does nothing at once: as the RFC
//!   has it, the next advert from the now-lower master is discarded (after any
//!   `preempt_delay`) and the Backup takes over when its Master_Down_Timer
//!   expires, one Master_Down_Interval after the last advert it accepted. A
//!   Backup never sends adverts.
//! - **Make-before-break shutdown** ([`Handover::MakeBeforeBreak`], our
//!   default). The Master sends one priority-0 advert and enters
//!   [`State::Releasing`] still holding the VIPs. The first advert with a
//!   non-zero priority from anyone proves a new master holds the VIPs (it
//!   adds them before it advertises), so we remove ours then. If none comes
//!   within the release deadline we remove them anyway. One priority-0 advert
//!   is enough (RFC 5798 §6.4.3 sends one): repeating it would restart the
//!   backups' Skew_Time wait each time. The deadline covers a lost priority-0
//!   advert: a backup whose timer was last reset up to one interval before
//!   the shutdown fires within `3 * interval + skew < 4 * interval` of it, so
//!   the deadline is our own Master_Down_Interval plus one
//!   Advertisement_Interval.
//! - **v2 interval mismatch** is reported as [`Ignore::IntervalMismatch`] (RFC
//!   3768 §7.1 discard). v3 never drops on the interval: a Backup adopts the
//!   master's (RFC 5798 §6.4.2).

mod actions;
mod backup;
mod config;
mod fault;
mod group;
mod master;
mod release;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

pub use actions::{Action, Actions, Ignore};
pub use config::{Config, ConfigError, OWNER_PRIORITY, STOP_PRIORITY};
pub use fault::FaultSource;

use crate::vrrp::Version;
use crate::vrrp::timers::{self, centiseconds};

/// The protocol state (RFC 5798 §6.4), plus `Releasing` for make-before-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running (RFC 5798 §6.4.1): waiting for Startup. No VIPs, no timers.
    Initialize,
    /// Monitoring the master (RFC 5798 §6.4.2). No VIPs; Master_Down_Timer armed.
    Backup,
    /// Forwarding for the virtual router (RFC 5798 §6.4.3; RFC 9568 "Active").
    /// VIPs held; Adver_Timer armed.
    Master,
    /// Stopping gracefully: sent priority 0, still holding the VIPs until a new
    /// master is heard or the release deadline passes. Release timer armed.
    Releasing,
    /// Running but unable to serve (keepalived's FAULT): at least one
    /// [`FaultSource`] is on. No VIPs, no timers, nothing sent.
    Fault,
}

/// How a Master leaves on [`Input::Shutdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Handover {
    /// keepalived's behaviour: send priority 0, remove the VIPs, stop. The
    /// VIPs are unowned until a backup's Skew_Time expires.
    Immediate,
    /// Send priority 0 but keep the VIPs until the new master is heard (see
    /// the module docs), so the VIPs always have an owner.
    #[default]
    MakeBeforeBreak,
}

/// An input to the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// RFC 5798 §6.4.1 Startup event.
    Startup,
    /// RFC 5798 §6.4.2/§6.4.3 Shutdown event.
    Shutdown { handover: Handover },
    /// A valid advertisement for this virtual router (see the driver contract
    /// for which checks the driver has already made). `src` is the sender's
    /// primary address (IP source), `advert_int_cs` its interval in
    /// centiseconds (v2: seconds * 100).
    AdvertReceived {
        src: IpAddr,
        priority: u8,
        advert_int_cs: u16,
    },
    /// The Master_Down_Timer fired.
    MasterDownTimer,
    /// The Adver_Timer fired.
    AdverTimer,
    /// The make-before-break release deadline fired.
    ReleaseTimer,
    /// Tracking changed the effective priority.
    PriorityChanged(u8),
    /// A reason not to serve went on or off (see [`FaultSource`]).
    Fault { source: FaultSource, on: bool },
    /// Another member of our sync group became Master (see `fsm::group`).
    GroupMaster,
    /// Another member of our sync group left Master for Backup.
    GroupBackup,
}

/// The router we currently accept as master, from its last accepted advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its primary address (the advert's IP source).
    pub addr: IpAddr,
    /// The priority it advertised.
    pub priority: u8,
    /// The interval it advertised, in centiseconds.
    pub advert_int_cs: u16,
}

/// The deadlines of the timers this machine has asked the driver to arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Deadlines {
    adver: Option<Duration>,
    master_down: Option<Duration>,
    release: Option<Duration>,
}

/// One virtual router's VRRP state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Fsm {
    config: Config,
    state: State,
    /// Effective priority: the configured one as changed by tracking.
    priority: u8,
    /// RFC 5798 §6.1 Master_Adver_Interval (centiseconds): the interval
    /// learned from the master's adverts, initially ours. v2 never changes it.
    master_adver_int_cs: u16,
    /// The master we accepted last, while Backup.
    master: Option<Peer>,
    /// keepalived preempt_delay: lower-priority masters are accepted until
    /// this time. `None` = no hold running (see the module docs).
    preempt_hold_until: Option<Duration>,
    /// When a Master last answered a priority-0 or lower-priority advert at
    /// once: those answers are limited to one per Advertisement_Interval.
    last_reassert: Option<Duration>,
    /// The fault sources that are on; in Fault while not empty.
    faults: BTreeSet<FaultSource>,
    deadlines: Deadlines,
}

impl Fsm {
    /// A state machine in [`State::Initialize`], or why `config` is invalid.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Fsm {
            state: State::Initialize,
            priority: config.priority,
            master_adver_int_cs: config.advert_int_cs,
            master: None,
            preempt_hold_until: None,
            last_reassert: None,
            faults: BTreeSet::new(),
            deadlines: Deadlines::default(),
            config,
        })
    }

    /// The configuration this machine was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority (configured, changed by tracking).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Master_Adver_Interval in centiseconds: v3 learns it from the master's
    /// adverts (RFC 5798 §6.4.2); v2 always uses the configured interval.
    pub fn master_adver_interval_cs(&self) -> u16 {
        self.master_adver_int_cs
    }

    /// Skew_Time for the effective priority and current interval.
    pub fn skew_time(&self) -> Duration {
        timers::skew_time(self.config.version, self.priority, self.master_adver_int_cs)
    }

    /// Master_Down_Interval for the effective priority and current interval.
    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(self.config.version, self.priority, self.master_adver_int_cs)
    }

    /// How long a make-before-break release waits for a new master at most:
    /// our Master_Down_Interval at our own interval, plus one interval.
    pub fn release_deadline_interval(&self) -> Duration {
        let own = self.config.advert_int_cs;
        timers::master_down_interval(self.config.version, self.priority, own)
            .saturating_add(centiseconds(own))
    }

    /// The master we accept, while Backup.
    pub fn master(&self) -> Option<Peer> {
        self.master
    }

    /// When the running preempt_delay hold ends, if one is running or has
    /// run out without being stopped.
    pub fn preempt_hold_until(&self) -> Option<Duration> {
        self.preempt_hold_until
    }

    /// Runs one input at time `now` and returns the actions to execute, in
    /// order.
    pub fn handle(&mut self, input: Input, now: Duration) -> Actions {
        let mut out = Actions::new();
        match input {
            Input::Startup => self.on_startup(now, &mut out),
            Input::Shutdown { handover } => self.on_shutdown(handover, now, &mut out),
            Input::AdvertReceived {
                src,
                priority,
                advert_int_cs,
            } => {
                let advert = Peer {
                    addr: src,
                    priority,
                    advert_int_cs,
                };
                self.on_advert(advert, now, &mut out);
            }
            Input::MasterDownTimer => {
                if self.state == State::Backup && self.take_due(Timer::MasterDown, now) {
                    self.backup_master_down(now, &mut out);
                } else {
                    out.push(Action::Ignored(Ignore::StaleTimer));
                }
            }
            Input::AdverTimer => {
                let due = self.deadlines.adver;
                if self.state == State::Master && self.take_due(Timer::Adver, now) {
                    self.master_adver_timer(due.unwrap_or(now), now, &mut out);
                } else {
                    out.push(Action::Ignored(Ignore::StaleTimer));
                }
            }
            Input::ReleaseTimer => {
                if self.state == State::Releasing && self.take_due(Timer::Release, now) {
                    self.release_deadline(&mut out);
                } else {
                    out.push(Action::Ignored(Ignore::StaleTimer));
                }
            }
            Input::PriorityChanged(priority) => self.on_priority(priority, now, &mut out),
            Input::Fault { source, on } => self.on_fault(source, on, now, &mut out),
            Input::GroupMaster => self.on_group_master(now, &mut out),
            Input::GroupBackup => self.on_group_backup(now, &mut out),
        }
        out
    }

    /// RFC 5798 §6.4.1: Startup in Initialize; straight to Fault if a fault
    /// source is already on.
    fn on_startup(&mut self, now: Duration, out: &mut Actions) {
        if self.state != State::Initialize {
            out.push(Action::Ignored(Ignore::AlreadyRunning));
            return;
        }
        if !self.faults.is_empty() {
            self.master = None;
            self.enter(State::Fault, out);
            return;
        }
        self.start_running(now, true, out);
    }

    /// The Startup event's transitions (RFC 5798 §6.4.1), also taken when the
    /// last fault clears. `startup` is false then: keepalived's `state MASTER`
    /// shortens only the first wait after start-up.
    fn start_running(&mut self, now: Duration, startup: bool, out: &mut Actions) {
        self.master = None;
        if self.config.is_owner() {
            // "If the Priority = 255 ... Send an ADVERTISEMENT, broadcast a
            // gratuitous ARP / send unsolicited NAs, set the Adver_Timer to
            // Advertisement_Interval, transition to {Master}".
            self.become_master(now, out);
        } else {
            // "Set Master_Adver_Interval to Advertisement_Interval, set the
            // Master_Down_Timer to Master_Down_Interval, transition to {Backup}".
            self.master_adver_int_cs = self.config.advert_int_cs;
            self.preempt_hold_until = (self.config.preempt && !self.config.preempt_delay.is_zero())
                .then(|| now.saturating_add(self.config.preempt_delay));
            let wait = if startup && self.config.initial_master {
                // keepalived `state MASTER`: a master that is already there
                // speaks within one interval; if none does, take over then.
                self.config
                    .advert_interval()
                    .saturating_add(self.skew_time())
            } else {
                self.master_down_interval()
            };
            self.arm(Timer::MasterDown, now.saturating_add(wait), out);
            self.enter(State::Backup, out);
        }
    }

    /// RFC 5798 §6.4.2 / §6.4.3: Shutdown.
    fn on_shutdown(&mut self, handover: Handover, now: Duration, out: &mut Actions) {
        match self.state {
            State::Initialize => out.push(Action::Ignored(Ignore::NotRunning)),
            State::Backup => {
                // §6.4.2: "Cancel the Master_Down_Timer, transition to {Initialize}".
                self.cancel(Timer::MasterDown, out);
                self.master = None;
                self.enter(State::Initialize, out);
            }
            State::Master => self.master_shutdown(handover, now, out),
            State::Releasing => self.releasing_shutdown(handover, out),
            State::Fault => self.fault_shutdown(out),
        }
    }

    /// Checks every advert must pass before the per-state rules, then
    /// dispatches by state.
    fn on_advert(&mut self, advert: Peer, now: Duration, out: &mut Actions) {
        if let Err(reason) = self.check_advert(&advert) {
            out.push(Action::Ignored(reason));
            return;
        }
        match self.state {
            State::Initialize => out.push(Action::Ignored(Ignore::NotRunning)),
            State::Backup => self.backup_advert(advert, now, out),
            State::Master => self.master_advert(advert, now, out),
            State::Releasing => self.releasing_advert(advert, out),
            State::Fault => out.push(Action::Ignored(Ignore::Faulted)),
        }
    }

    /// The receive checks that need our configuration (RFC 3768 §7.1, RFC
    /// 5798 §7.1 with RFC 9568 erratum 8301).
    fn check_advert(&self, advert: &Peer) -> Result<(), Ignore> {
        if advert.addr.is_ipv4() != self.config.primary_addr.is_ipv4() {
            return Err(Ignore::FamilyMismatch);
        }
        if advert.addr == self.config.primary_addr {
            return Err(Ignore::OwnAdvert);
        }
        match self.config.version {
            // RFC 3768 §7.1: "MUST verify that the Adver Interval in the
            // packet is the same as the locally configured for this virtual
            // router", else discard.
            Version::V2 if advert.advert_int_cs != self.config.advert_int_cs => {
                Err(Ignore::IntervalMismatch {
                    ours: self.config.advert_int_cs,
                    theirs: advert.advert_int_cs,
                })
            }
            Version::V3 if !(1..=timers::MAX_V3_INTERVAL_CS).contains(&advert.advert_int_cs) => {
                Err(Ignore::InvalidInterval(advert.advert_int_cs))
            }
            _ => Ok(()),
        }
    }

    /// Tracking changed the effective priority (see the module docs).
    fn on_priority(&mut self, priority: u8, now: Duration, out: &mut Actions) {
        if self.config.is_owner() {
            out.push(Action::Ignored(Ignore::OwnerPriorityFixed));
            return;
        }
        // 0 would announce a stop and 255 would claim ownership; tracking
        // may do neither (RFC 5798 §5.2.4).
        let priority = priority.clamp(1, OWNER_PRIORITY - 1);
        if priority == self.priority {
            return;
        }
        self.priority = priority;
        if self.state == State::Master {
            out.push(Action::SendAdvert { priority });
            self.arm(
                Timer::Adver,
                now.saturating_add(self.config.advert_interval()),
                out,
            );
        }
        // Backup: Skew_Time and Master_Down_Interval are recomputed from the
        // new priority when next used; the running Master_Down_Timer stays.
    }

    /// Entering Master from Initialize (owner) or Backup (timer expiry),
    /// RFC 5798 §6.4.1 / §6.4.2. The VIPs go on first so that the advert and
    /// the gratuitous ARP announce addresses that are already in place.
    fn become_master(&mut self, now: Duration, out: &mut Actions) {
        self.master = None;
        out.push(Action::AddVips);
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        out.push(Action::SendGratuitous);
        self.arm(
            Timer::Adver,
            now.saturating_add(self.config.advert_interval()),
            out,
        );
        self.enter(State::Master, out);
    }

    /// Records the new state and reports the change (always the last action).
    fn enter(&mut self, to: State, out: &mut Actions) {
        let from = self.state;
        self.state = to;
        out.push(Action::StateChanged { from, to });
    }

    /// Arms `timer` at `at` and tells the driver.
    fn arm(&mut self, timer: Timer, at: Duration, out: &mut Actions) {
        *self.deadline_mut(timer) = Some(at);
        out.push(match timer {
            Timer::Adver => Action::ArmAdverTimer { at },
            Timer::MasterDown => Action::ArmMasterDownTimer { at },
            Timer::Release => Action::ArmReleaseTimer { at },
        });
    }

    /// Cancels `timer` and tells the driver.
    fn cancel(&mut self, timer: Timer, out: &mut Actions) {
        *self.deadline_mut(timer) = None;
        out.push(match timer {
            Timer::Adver => Action::CancelAdverTimer,
            Timer::MasterDown => Action::CancelMasterDownTimer,
            Timer::Release => Action::CancelReleaseTimer,
        });
    }

    /// Whether `timer` is armed and due at `now`; if so it is consumed (a
    /// fired timer is no longer armed).
    fn take_due(&mut self, timer: Timer, now: Duration) -> bool {
        let slot = self.deadline_mut(timer);
        match *slot {
            Some(at) if now >= at => {
                *slot = None;
                true
            }
            _ => false,
        }
    }

    fn deadline_mut(&mut self, timer: Timer) -> &mut Option<Duration> {
        match timer {
            Timer::Adver => &mut self.deadlines.adver,
            Timer::MasterDown => &mut self.deadlines.master_down,
            Timer::Release => &mut self.deadlines.release,
        }
    }
}

/// The three timers a virtual router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Adver,
    MasterDown,
    Release,
}

/// Whether `a` is greater than `b` as unsigned integers in network byte order
/// (RFC 5798 §6.4.3 tie-break). Both must be of the same family.
fn addr_greater(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a) > u32::from(b),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) > u128::from(b),
        // check_advert rejects mixed families before any comparison.
        _ => false,
    }
}
