//! One virtual router at run time: its state machine, its timers and the
//! effects its actions have on the network.
//!
//! The task owns everything of its instance; it is woken by an advert for its
//! VRID, a due timer, a link change of its interface, or the shutdown signal,
//! and nothing else.

mod announce;
pub mod kernel;
mod routes;
mod rx;
mod timers;
pub mod track;

use std::{collections::VecDeque, net::IpAddr, sync::Arc};

use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};
use tracing::{debug, error, info, warn};

pub use announce::Announcer;
pub use routes::Routes;

use ha_common::event::event_kind;

use crate::ticker::{AdvertTicker, Datagram};
use crate::{
    config::{self, Vip},
    demux::RxAdvert,
    net::{Netlink, VrrpSocket},
    status::StatusBoard,
    vrrp::{self, Action, FaultSource, Fsm, Ignore, Input, State, Version},
    wire::{Advert, ChecksumForm, VRRP_GROUP_V4, VRRP_GROUP_V6},
};
use rx::RxCheck;
use timers::Timers;

/// What wakes an instance besides timers and shutdown.
#[derive(Debug)]
pub enum Inbound {
    /// Its interface went up (`true`) or down or away (`false`).
    Link { up: bool },
    /// Link changes may have been lost: read the interface's state again.
    LinkResync,
    /// An advert decoded from the raw socket (`socket` datapath).
    Advert(RxAdvert),
    /// An event from the XDP program (`xdp` datapath): an advert that matters,
    /// or the kernel's master-down timer.
    Kernel(ha_common::Event),
    /// Events of the XDP program may have been lost: read the maps again.
    KernelResync,
    /// The instance's sync group moves it (`Input::GroupMaster`,
    /// `GroupBackup`, or the `Group` fault source).
    Group(Input),
}

/// What a member of a sync group tells the group's coordinator after each
/// step that changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupReport {
    /// Its state.
    pub state: State,
    /// Whether it is in Fault for a reason of its own (not the group's).
    pub own_fault: bool,
}

/// A member's line to its sync group's coordinator.
pub struct GroupLink {
    /// Its index among the group's members.
    pub member: usize,
    /// Where its reports go.
    pub reports: mpsc::UnboundedSender<(usize, GroupReport)>,
}

/// Everything an instance task needs, resolved by the daemon.
pub struct Parts {
    /// Index of this instance in the status document.
    pub index: usize,
    /// The configuration of this instance.
    pub cfg: config::Instance,
    /// Interface index adverts use.
    pub ifindex: u32,
    /// Whether that interface was up when the daemon looked it up.
    pub link_up: bool,
    /// The socket adverts go out on (shared with other instances of the interface and family).
    pub socket: Arc<VrrpSocket>,
    /// Every VIP (carried and excluded) with the interface it lives on.
    pub vips: Vec<(u32, Vip)>,
    /// Gratuitous ARP / NA for those VIPs.
    pub announcer: Announcer,
    /// Its virtual routes and rules, installed with the VIPs.
    pub routes: Routes,
    /// The shared rtnetlink connection.
    pub netlink: Netlink,
    /// Adverts (socket datapath) or kernel events (XDP datapath) for this VRID.
    pub inbox: mpsc::Receiver<Inbound>,
    /// The XDP maps and what the instance writes there; `None` on the socket datapath.
    pub xdp: Option<XdpParts>,
    /// Sends the periodic adverts of the masters on this socket with this interval.
    pub ticker: Arc<AdvertTicker>,
    /// Where state and counters are reported.
    pub board: Arc<StatusBoard>,
    /// The monotonic epoch shared by all instances.
    pub epoch: Instant,
    /// The checks, interfaces, files and processes it follows.
    pub tracking: Vec<track::TrackInput>,
    /// Its notify scripts (and the FIFO), if any.
    pub notifier: Option<crate::notify::Notifier>,
    /// Its sync group, if it is in one.
    pub group: Option<GroupLink>,
}

/// What an instance on the XDP datapath needs besides [`Parts`].
pub struct XdpParts {
    /// The maps shared by all instances.
    pub maps: kernel::SharedMaps,
    /// CLOCK_MONOTONIC at the shared epoch.
    pub epoch_ns: u64,
    /// The MAC the kernel answers ARP/NS with (the interface's).
    pub mac: [u8; 6],
    /// Key of the instance in the maps.
    pub key: ha_common::InstanceKey,
    /// Who needs the heartbeat.
    pub liveness: Arc<crate::xdp::Liveness>,
    /// The NAs the kernel answers with carry the Router flag (the interface
    /// forwards IPv6), as the ones userspace sends do.
    pub na_router: bool,
}

/// A running instance.
pub struct Instance {
    p: Parts,
    /// The instance's entries in the XDP maps; `None` on the socket datapath.
    kernel: Option<kernel::Kernel>,
    fsm: Fsm,
    timers: Timers,
    version: Version,
    src: IpAddr,
    dsts: Vec<IpAddr>,
    checksum: ChecksumForm,
    rx_check: RxCheck,
    /// Inputs the effects of a step produced (a VIP that could not be added, an
    /// advert that could not be sent), run right after it.
    pending: VecDeque<Input>,
    /// The master last written to the status, to publish a new one once.
    published_master: Option<IpAddr>,
    /// The successor of a make-before-break release has been heard: the next
    /// VIP removal waits [`RELEASE_LINGER`] first.
    linger: bool,
    /// What the ticker sends for us every interval while we are master.
    periodic: Option<Vec<Datagram>>,
    /// Woken by the ticker when one of our periodic adverts could not be sent.
    send_failed: Arc<tokio::sync::Notify>,
    /// A VIP could not be added in this step: the rest of it must not tell
    /// the LAN we are master (the Fault that follows sends priority 0).
    abort_announce: bool,
    /// A takeover under way: when the kernel's master-down timer fired and
    /// when the controller heard of it, then when the VIPs were in place
    /// (CLOCK_MONOTONIC ns), for the log line that says how long it took.
    takeover: Option<Takeover>,
    /// Trackers turned into faults and priority changes.
    tracking: track::Tracking,
    /// The last report to the sync group.
    reported: Option<GroupReport>,
}

/// The steps of a takeover on the XDP datapath, in CLOCK_MONOTONIC ns.
#[derive(Clone, Copy, Debug)]
struct Takeover {
    fired: u64,
    heard: u64,
    vips: Option<u64>,
}

/// How long a released master keeps its VIPs after hearing its successor: the
/// successor's gratuitous ARP follows its advert by microseconds, but a client
/// may still have frames in flight to our MAC; they are answered, not lost.
const RELEASE_LINGER: std::time::Duration = std::time::Duration::from_millis(100);

impl Instance {
    /// Builds the state machine for `p.cfg`. Fails on a configuration the
    /// state machine rejects (validation should have caught it first).
    pub fn new(mut p: Parts) -> anyhow::Result<Instance> {
        let version = if p.cfg.version == 3 {
            Version::V3
        } else {
            Version::V2
        };
        let src = p.cfg.unicast_src.unwrap_or_else(|| p.socket.source());
        let mut fc = vrrp::Config::new(p.cfg.vrid, version, p.cfg.priority, src);
        fc.advert_int_cs = p.cfg.advert_int_cs;
        fc.preempt = p.cfg.preempt;
        fc.preempt_delay = p.cfg.preempt_delay;
        fc.lower_prio_readvert = p.cfg.lower_prio_readvert;
        fc.initial_master = p.cfg.initial_state_master;
        let fsm = Fsm::new(fc).map_err(|e| anyhow::anyhow!("instance {}: {e}", p.cfg.name))?;
        let dsts = if p.cfg.is_unicast() {
            p.cfg.unicast_peers.clone()
        } else if src.is_ipv6() {
            vec![IpAddr::V6(VRRP_GROUP_V6)]
        } else {
            vec![IpAddr::V4(VRRP_GROUP_V4)]
        };
        let rx_check = RxCheck::new(&p.cfg, version);
        let carried: Vec<IpAddr> = p.cfg.vips.iter().map(|v| v.addr).collect();
        let kernel = p.xdp.as_ref().map(|x| {
            let vips = p
                .vips
                .iter()
                .map(|(ifindex, v)| (*ifindex, v.addr))
                .collect();
            kernel::Kernel::new(
                x.maps.clone(),
                x.liveness.clone(),
                x.key,
                x.epoch_ns,
                src,
                x.mac,
                x.na_router,
                fsm.config(),
                rx_check.auth(),
                vips,
                rx_check.accept_from().collect(),
                (p.cfg.strict && !p.cfg.skip_check_adv_addr).then_some(&carried[..]),
            )
        });
        let checksum = if p.cfg.v3_checksum_with_pseudo_header {
            ChecksumForm::PseudoHeader
        } else {
            ChecksumForm::MessageOnly
        };
        Ok(Instance {
            rx_check,
            kernel,
            timers: Timers::new(p.epoch),
            fsm,
            version,
            src,
            dsts,
            checksum,
            pending: VecDeque::new(),
            send_failed: Arc::new(tokio::sync::Notify::new()),
            abort_announce: false,
            linger: false,
            periodic: None,
            takeover: None,
            published_master: None,
            tracking: track::Tracking::new(std::mem::take(&mut p.tracking), p.cfg.priority),
            reported: None,
            p,
        })
    }

    /// Runs until shutdown has been requested and the state machine has let go
    /// of its VIPs; removes every VIP of the instance on the way out.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        // VIPs (and their routes) left behind by a daemon that was killed: a
        // fresh start owns nothing.
        self.remove_routes();
        self.remove_vips().await;
        if let Some(Err(e)) = self.kernel.as_mut().map(|k| k.install()) {
            error!(instance = %self.p.cfg.name, error = %format!("{e:#}"), "cannot configure the XDP program");
        }
        if !self.p.link_up && !self.p.cfg.dont_track_primary {
            warn!(instance = %self.p.cfg.name, "interface down at start: fault until it comes up");
            self.step(fault(FaultSource::Link, true)).await;
        }
        // Trackers already failed at start (a script with `init_fail`, a
        // tracked interface that is down) count before the first election.
        for input in self.tracking.evaluate() {
            self.step(input).await;
        }
        // keepalived keeps an instance in INIT until each weight-0 script
        // it tracks has a first result: it neither claims nor fails.
        // Its inbox is read meanwhile (link and group changes count; adverts
        // are ignored before Startup), so no sender waits on it.
        while self.tracking.waiting() && !*shutdown.borrow() {
            tokio::select! {
                r = shutdown.changed() => if r.is_err() { break },
                () = self.tracking.changed() => {
                    for input in self.tracking.evaluate() {
                        self.step(input).await;
                    }
                }
                Some(inbound) = self.p.inbox.recv() => self.inbound(inbound).await,
            }
        }
        self.publish();
        if !*shutdown.borrow() {
            self.step(Input::Startup).await;
        }
        let mut stopping = *shutdown.borrow();
        while !(stopping && self.fsm.state() == State::Initialize) {
            let deadline = self.timers.next();
            tokio::select! {
                changed = shutdown.changed(), if !stopping => {
                    if changed.is_err() || *shutdown.borrow() {
                        stopping = true;
                        let handover = match self.p.cfg.handover {
                            config::Handover::MakeBeforeBreak => vrrp::Handover::MakeBeforeBreak,
                            config::Handover::Immediate => vrrp::Handover::Immediate,
                        };
                        self.step(Input::Shutdown { handover }).await;
                    }
                }
                () = self.send_failed.notified() => {
                    // Only a master's adverts go through the ticker.
                    if self.fsm.state() == State::Master {
                        warn!(instance = %self.p.cfg.name, "periodic adverts cannot be sent: fault");
                        self.fault_for_a_while(FaultSource::Send);
                        self.run_pending().await;
                    }
                }
                Some(inbound) = self.p.inbox.recv() => self.inbound(inbound).await,
                () = self.tracking.changed(), if !stopping => {
                    for input in self.tracking.evaluate() {
                        self.log_tracking(&input);
                        self.step(input).await;
                    }
                }
                () = sleep_until(deadline) => {
                    for input in self.timers.take_due() {
                        self.step(input).await;
                    }
                }
            }
        }
        self.p.announcer.stop();
        self.remove_routes();
        self.remove_vips().await;
        if let Some(k) = &mut self.kernel {
            k.remove();
        }
        self.publish();
        if let Some(n) = &self.p.notifier {
            n.event(crate::notify::NotifyState::Stop, self.fsm.priority());
        }
    }

    /// One message of the inbox.
    async fn inbound(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Advert(rx) => self.received(rx).await,
            Inbound::Kernel(event) => self.kernel_event(event).await,
            Inbound::Link { up } => self.link_changed(up).await,
            Inbound::LinkResync => self.resync_link().await,
            Inbound::KernelResync => self.kernel_resync().await,
            Inbound::Group(input) => self.step(input).await,
        }
    }

    /// Says in the log what a tracker changed.
    fn log_tracking(&self, input: &Input) {
        let name = &self.p.cfg.name;
        match input {
            Input::Fault {
                source: FaultSource::Tracker(i),
                on,
            } => {
                let what = self.tracking.label(*i).unwrap_or("tracker");
                if *on {
                    warn!(instance = %name, tracker = what, "tracked object failed: fault");
                } else {
                    info!(instance = %name, tracker = what, "tracked object recovered");
                }
            }
            Input::PriorityChanged(p) => {
                info!(instance = %name, from = self.fsm.priority(), to = p, "tracking changed the priority");
            }
            _ => {}
        }
    }

    /// Tells the sync group what this step made of us, if it changed.
    fn report_to_group(&mut self) {
        let Some(g) = &self.p.group else {
            return;
        };
        let report = GroupReport {
            state: self.fsm.state(),
            own_fault: self.fsm.faults().any(|f| f != FaultSource::Group),
        };
        if self.reported != Some(report) {
            self.reported = Some(report);
            let _ = g.reports.send((g.member, report));
        }
    }

    async fn received(&mut self, rx: RxAdvert) {
        self.p.board.count_quietly(self.p.index, "adverts_rx");
        match self.rx_check.check(&rx) {
            Ok((input, address_list_differs)) => {
                if address_list_differs {
                    self.p.board.count(self.p.index, "rx_address_mismatch");
                    debug!(instance = %self.p.cfg.name, src = %rx.src, "advert lists other addresses than ours");
                }
                self.step(input).await;
            }
            Err(drop) => {
                debug!(instance = %self.p.cfg.name, src = %rx.src, ?drop, "advert dropped");
                self.p.board.count(self.p.index, drop.counter());
            }
        }
    }

    /// When a kernel event happened, on the state machine's clock: its
    /// timestamp, never later than now (the two clocks are the same
    /// CLOCK_MONOTONIC; the bound guards against a skewed epoch).
    fn event_time(&self, event: &ha_common::Event) -> std::time::Duration {
        let now = self.timers.now();
        let Some(x) = &self.p.xdp else {
            return now;
        };
        std::time::Duration::from_nanos(event.ts_ns.saturating_sub(x.epoch_ns)).min(now)
    }

    /// An event of the XDP program. The kernel already validated the advert
    /// (TTL, checksum, version, auth) and only reports those that matter.
    async fn kernel_event(&mut self, event: ha_common::Event) {
        match event.kind {
            event_kind::MASTER_DOWN => {
                self.p.board.count(self.p.index, "kernel_master_down");
                self.takeover = Some(Takeover {
                    fired: event.ts_ns,
                    heard: crate::ebpf::monotonic_ns(),
                    vips: None,
                });
                self.step(Input::MasterDownTimer).await;
                // A takeover logs itself within that step; a stale timer leaves
                // nothing to carry into a later, unrelated announcement.
                self.takeover = None;
            }
            event_kind::ADVERT => {
                self.p.board.count(self.p.index, "kernel_adverts");
                let Some(src) = ha_common::addr::from_bytes(event.key.family, event.src) else {
                    return;
                };
                let input = Input::AdvertReceived {
                    src,
                    priority: event.priority,
                    advert_int_cs: event.advert_int_cs,
                };
                self.step_at(input, self.event_time(&event)).await;
            }
            _ => debug!(instance = %self.p.cfg.name, kind = event.kind, "unknown kernel event"),
        }
    }

    /// Rebuilds from the maps what lost kernel events would have said: the
    /// last advert heard goes to the state machine (as that advert, at its
    /// time), and a Backup whose kernel master-down timer no longer runs has
    /// missed its master-down event.
    async fn kernel_resync(&mut self) {
        let (Some(k), Some(x)) = (&self.kernel, &self.p.xdp) else {
            return;
        };
        let (peer, deadline) = match k.snapshot() {
            Ok(found) => found,
            Err(e) => {
                return warn!(instance = %self.p.cfg.name, error = %format!("{e:#}"), "cannot read the XDP maps to resync");
            }
        };
        let family = x.key.family;
        let epoch_ns = x.epoch_ns;
        info!(instance = %self.p.cfg.name, "kernel events were lost: resyncing from the maps");
        self.p.board.count(self.p.index, "kernel_resyncs");
        if let Some(peer) = peer
            && let Some(src) = ha_common::addr::from_bytes(family, peer.master_addr)
        {
            let at = std::time::Duration::from_nanos(peer.last_seen_ns.saturating_sub(epoch_ns))
                .min(self.timers.now());
            let input = Input::AdvertReceived {
                src,
                priority: peer.master_priority,
                advert_int_cs: peer.advert_int_cs,
            };
            self.step_at(input, at).await;
        }
        if self.fsm.state() == State::Backup && deadline.is_none() {
            self.step(Input::MasterDownTimer).await;
        }
    }

    /// Link down: Fault (a master that cannot be heard must not keep claiming
    /// the address). Link up: the link fault clears; the instance starts over
    /// as Backup once no other fault holds it.
    async fn link_changed(&mut self, up: bool) {
        if self.p.cfg.dont_track_primary {
            // keepalived's `dont_track_primary`: the interface's state is
            // not followed (a bond or bridge whose carrier flaps harmlessly).
            debug!(instance = %self.p.cfg.name, up, "interface state ignored (dont_track_primary)");
            return;
        }
        let down = self.fsm.faults().any(|f| f == FaultSource::Link);
        if down == up {
            if up {
                info!(instance = %self.p.cfg.name, "interface up again");
            } else {
                warn!(instance = %self.p.cfg.name, "interface down: fault, VIPs given up");
            }
        }
        self.step(fault(FaultSource::Link, !up)).await;
    }

    /// Re-reads the link state after link events were lost; a link that is
    /// gone counts as down.
    async fn resync_link(&mut self) {
        let up = match self.p.netlink.link_state(self.p.ifindex).await {
            Ok(link) => link.is_up(),
            Err(e) => {
                warn!(instance = %self.p.cfg.name, error = %e, "cannot read the interface state");
                false
            }
        };
        self.link_changed(up).await;
    }

    /// Feeds one input to the state machine and carries out its actions in order.
    async fn step(&mut self, input: Input) {
        self.step_at(input, self.timers.now()).await;
    }

    /// [`step`](Self::step) for an input that happened at `now` (a kernel
    /// event's timestamp: its deadlines count from the advert's arrival, as
    /// the kernel's own do, not from when the controller got to it).
    async fn step_at(&mut self, input: Input, now: std::time::Duration) {
        self.step_one(input, now).await;
        self.run_pending().await;
    }

    /// Runs the faults the effects reported, in order, each on the state the
    /// one before it left.
    async fn run_pending(&mut self) {
        while let Some(next) = self.pending.pop_front() {
            self.step_one(next, self.timers.now()).await;
        }
    }

    async fn step_one(&mut self, input: Input, now: std::time::Duration) {
        let was_master = self.fsm.state() == State::Master;
        let actions = self.fsm.handle(input, now);
        // Out of Master: stop the periodic advert before anything else, so no
        // tick sends our old priority after the priority-0 advert or while the
        // VIPs are being removed.
        if self.fsm.state() != State::Master {
            self.sync_periodic();
        }
        for action in actions.iter() {
            // A master's periodic adverts go out with the others of its socket and
            // interval (see `ticker`), not on a timer of its own.
            if matches!(action, Action::ArmAdverTimer { .. }) && self.fsm.state() == State::Master {
                continue;
            }
            // On the XDP datapath the master-down timer is the kernel's.
            // Should the kernel fail to arm it, the controller's own timer
            // stands in, so a backup never waits for a master-down that
            // cannot come; arming or cancelling either way clears the other.
            if let Some(k) = &self.kernel {
                match action {
                    Action::ArmMasterDownTimer { at } => {
                        if k.arm_master_down(*at) {
                            self.timers.apply(&Action::CancelMasterDownTimer);
                        } else {
                            self.p.board.count(self.p.index, "kernel_arm_errors");
                            self.timers.apply(action);
                        }
                        continue;
                    }
                    Action::CancelMasterDownTimer => {
                        k.cancel_master_down();
                        self.timers.apply(action);
                        continue;
                    }
                    _ => {}
                }
            }
            if self.abort_announce
                && matches!(action, Action::SendAdvert { .. } | Action::SendGratuitous)
            {
                continue;
            }
            if matches!(action, Action::SendGratuitous) && was_master {
                // A lower-priority router spoke as master (a stalled backup's
                // brief takeover, or a split brain healing): the state machine
                // re-announces, at most once per interval.
                debug!(instance = %self.p.cfg.name, "lower-priority advert while master: re-announcing");
                self.p.board.count(self.p.index, "lower_prio_reannounce");
            }
            if !self.timers.apply(action) {
                self.execute(*action).await;
            }
        }
        self.abort_announce = false;
        if let Some(k) = &mut self.kernel {
            k.update(self.fsm.priority(), self.fsm.preempt_hold_until());
        }
        // A pending fault decides what (not) to send next.
        if self.pending.is_empty() {
            self.sync_periodic();
        }
        if self.fsm.master().map(|m| m.addr) != self.published_master {
            self.publish();
        }
        self.report_to_group();
    }

    async fn execute(&mut self, action: Action) {
        let name = &self.p.cfg.name;
        match action {
            Action::SendAdvert { priority } => self.send_advert(priority).await,
            Action::AddVips => {
                let added = self.add_vips().await;
                // The kernel answers ARP for the VIPs from now on, once they
                // are all in place: never for an address we do not hold.
                if added && let Some(k) = &mut self.kernel {
                    k.set_state(State::Master);
                }
                if let Some(t) = &mut self.takeover
                    && added
                {
                    t.vips = Some(crate::ebpf::monotonic_ns());
                }
                if added {
                    self.add_routes();
                } else {
                    // Never a Master whose XDP answers ARP for an address it
                    // does not hold, nor one that says so on the wire: Fault,
                    // and try again later.
                    self.fault_for_a_while(FaultSource::Vips);
                }
            }
            Action::RemoveVips => {
                self.p.announcer.stop();
                if std::mem::take(&mut self.linger) {
                    tokio::time::sleep(RELEASE_LINGER).await;
                }
                self.remove_routes();
                self.remove_vips().await;
            }
            Action::SendGratuitous => {
                self.p.announcer.start().await;
                if let Some(t) = self.takeover.take() {
                    // How long the takeover took, from the kernel's master-down
                    // timer to the end of the first gratuitous ARP / NA burst.
                    let us = |ns: u64| ns.saturating_sub(t.fired) as f64 / 1000.0;
                    info!(
                        instance = %name,
                        event_us = us(t.heard),
                        vips_us = t.vips.map(us),
                        first_burst_us = us(crate::ebpf::monotonic_ns()),
                        "took over after the master-down timer"
                    );
                }
            }
            Action::Released { successor } => match successor {
                Some(s) => {
                    info!(instance = %name, successor = %s, "VIPs released to the new master");
                    self.linger = true;
                }
                None => info!(instance = %name, "VIPs released"),
            },
            Action::StateChanged { from, to } => {
                info!(instance = %name, ?from, ?to, priority = self.fsm.priority(), "state changed");
                // A master whose VIPs could not be added is about to fault:
                // the kernel must not answer for them meanwhile.
                if let Some(k) = &mut self.kernel
                    && !self.abort_announce
                {
                    k.set_state(to);
                }
                if to == State::Master {
                    self.p.board.count(self.p.index, "became_master");
                }
                self.publish();
                if let Some(n) = &self.p.notifier
                    && let Some(state) = crate::notify::NotifyState::of(to)
                {
                    n.event(state, self.fsm.priority());
                }
            }
            Action::Ignored(Ignore::IntervalMismatch { ours, theirs }) => {
                debug!(instance = %name, ours, theirs, "advert with another interval dropped (RFC 3768 §7.1)");
                self.p.board.count(self.p.index, "rx_interval_mismatch");
            }
            Action::Ignored(Ignore::ReassertLimited) => {
                self.p.board.count_quietly(self.p.index, "reassert_limited");
            }
            Action::Ignored(reason) => debug!(instance = %name, ?reason, "input ignored"),
            _ => {}
        }
    }

    /// While master, the ticker sends our advert every interval; otherwise
    /// nothing. Called after every input, so a priority change is picked up.
    fn sync_periodic(&mut self) {
        if self.fsm.state() != State::Master {
            if self.periodic.take().is_some() {
                self.p.ticker.remove(self.p.index);
            }
            return;
        }
        let datagrams: Vec<Datagram> = self
            .adverts(self.fsm.priority())
            .into_iter()
            .filter_map(|(dst, bytes)| match bytes {
                Ok(b) => Some((b, self.src, dst)),
                Err(e) => {
                    error!(instance = %self.p.cfg.name, dst = %dst, error = %e, "cannot encode the advert");
                    None
                }
            })
            .collect();
        if self.periodic.is_none() {
            // A fresh wake-up per term as master: a failure reported for an
            // earlier term must not fault this one.
            self.send_failed = Arc::new(tokio::sync::Notify::new());
        }
        if self.periodic.as_ref() != Some(&datagrams) {
            self.p
                .ticker
                .set(self.p.index, datagrams.clone(), self.send_failed.clone());
            self.periodic = Some(datagrams);
        }
    }

    /// Our advert at `priority`, encoded for each destination.
    fn adverts(&self, priority: u8) -> Vec<(IpAddr, Result<Vec<u8>, crate::wire::WireError>)> {
        let advert = Advert {
            version: self.version,
            vrid: self.p.cfg.vrid,
            priority,
            advert_int_cs: self.p.cfg.advert_int_cs,
            addresses: self.p.cfg.vips.iter().map(|v| v.addr).collect(),
            auth: *self.rx_check.auth(),
        };
        self.dsts
            .iter()
            .map(|dst| (*dst, advert.to_bytes(self.src, *dst, self.checksum)))
            .collect()
    }

    async fn send_advert(&mut self, priority: u8) {
        for (dst, bytes) in self.adverts(priority) {
            let sent = match bytes {
                Ok(bytes) => self
                    .p
                    .socket
                    .send_from(&bytes, self.src, dst)
                    .await
                    .map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            };
            match sent {
                Ok(()) => self.p.board.count_quietly(self.p.index, "adverts_tx"),
                Err(e) => {
                    self.p.board.count(self.p.index, "tx_errors");
                    // A down link fails every send (the priority-0 advert of
                    // a master entering Fault): the link fault says so already.
                    if self.fsm.state() == State::Fault {
                        continue;
                    }
                    warn!(instance = %self.p.cfg.name, dst = %dst, error = %format!("{e:#}"), "cannot send advert");
                    // A master nobody hears must not keep the VIPs (only a
                    // sending state gets here: Master or one leaving it).
                    if priority != vrrp::fsm::STOP_PRIORITY {
                        self.fault_for_a_while(FaultSource::Send);
                    }
                }
            }
        }
    }

    /// Puts the instance in Fault for `source`, which nothing watches: it is
    /// cleared again after a while (the longer of one second and our
    /// Master_Down_Interval), and the instance starts over as Backup. The
    /// rest of the current step announces nothing.
    fn fault_for_a_while(&mut self, source: FaultSource) {
        self.abort_announce = true;
        self.pending.push_back(fault(source, true));
        let after = self
            .fsm
            .master_down_interval()
            .max(std::time::Duration::from_secs(1));
        self.timers.arm_retry(after);
        self.p.board.count(self.p.index, "faults");
    }

    /// Adds every VIP; false if any could not be added (logged and counted).
    async fn add_vips(&mut self) -> bool {
        let mut all = true;
        for (ifindex, vip) in &self.p.vips {
            if let Err(e) = self
                .p
                .netlink
                .add_vip(*ifindex, vip.addr, vip.prefix_len, vip.label.as_deref())
                .await
            {
                error!(instance = %self.p.cfg.name, vip = %vip.addr, error = %e, "cannot add VIP");
                self.p.board.count(self.p.index, "vip_errors");
                all = false;
            }
        }
        all
    }

    /// Installs the virtual routes and rules once the VIPs are in place; a
    /// failure is logged and counted (`route_errors`) but is no fault, as in
    /// keepalived: the VIPs clients need are there.
    fn add_routes(&mut self) {
        let failed = self.p.routes.install(&self.p.netlink, &self.p.cfg.name);
        for _ in 0..failed {
            self.p.board.count(self.p.index, "route_errors");
        }
    }

    /// Removes the virtual routes and rules (before the VIPs they may use).
    fn remove_routes(&mut self) {
        let failed = self.p.routes.remove(&self.p.netlink, &self.p.cfg.name);
        for _ in 0..failed {
            self.p.board.count(self.p.index, "route_errors");
        }
    }

    async fn remove_vips(&mut self) {
        for (ifindex, vip) in &self.p.vips {
            if let Err(e) = self
                .p
                .netlink
                .del_vip(*ifindex, vip.addr, vip.prefix_len)
                .await
            {
                error!(instance = %self.p.cfg.name, vip = %vip.addr, error = %e, "cannot remove VIP");
                self.p.board.count(self.p.index, "vip_errors");
            }
        }
    }

    /// Reports state, priority and master to the status board.
    fn publish(&mut self) {
        self.published_master = self.fsm.master().map(|m| m.addr);
        let state = match self.fsm.state() {
            State::Initialize => "init",
            State::Backup => "backup",
            State::Master => "master",
            State::Releasing => "releasing",
            State::Fault => "fault",
        };
        let faults = self
            .fsm
            .faults()
            .map(|f| match f {
                FaultSource::Tracker(i) => self.tracking.label(i).unwrap_or("tracker").to_string(),
                other => fault_name(other),
            })
            .collect();
        let master = match self.fsm.state() {
            State::Master | State::Releasing => Some(self.src),
            _ => self.fsm.master().map(|m| m.addr),
        };
        let priority = self.fsm.priority();
        self.p.board.instance(self.p.index, |s| {
            s.state = state.to_string();
            s.faults = faults;
            s.priority = priority;
            s.master = master;
        });
    }
}

impl Drop for Instance {
    /// A task that ends (or panics) while master must not stay advertised;
    /// the supervisor removes its VIPs.
    fn drop(&mut self) {
        if self.periodic.take().is_some() {
            self.p.ticker.remove(self.p.index);
        }
        // Nor may the kernel go on answering ARP for it.
        if let Some(k) = &mut self.kernel {
            k.remove();
        }
    }
}

fn fault(source: FaultSource, on: bool) -> Input {
    Input::Fault { source, on }
}

/// A fault source as the status shows it.
fn fault_name(source: FaultSource) -> String {
    match source {
        FaultSource::Link => "link".into(),
        FaultSource::Vips => "vips".into(),
        FaultSource::Send => "send".into(),
        FaultSource::Tracker(i) => format!("tracker {i}"),
        FaultSource::Group => "sync group".into(),
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
