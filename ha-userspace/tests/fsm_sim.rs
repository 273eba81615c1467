//! Several VRRP routers on one simulated LAN, driven by a discrete-event
//! simulator: a queue of timer deadlines and packet deliveries in simulated
//! time, one [`Fsm`] per router, every `SendAdvert` delivered to every other
//! router after a random latency in `[LAT_MIN, LAT_MAX]` (FIFO per link).
//!
//! Properties, each for VRRPv2 and VRRPv3 (v3 also over IPv6):
//! - random priorities and start times converge to exactly one master, the
//!   highest priority; tied top priorities started together end with the
//!   greatest address (RFC 5798 §6.4.3); tied ones started apart end with one
//!   of them (a Backup accepts an equal priority, §6.4.2);
//! - killing the master hands over to the next best exactly one
//!   Master_Down_Interval after the last advert it heard (± latency);
//! - a priority-0 shutdown hands over after Skew_Time (± latency);
//! - make-before-break: from convergence on, some router always holds the
//!   VIPs, and at the end exactly one does;
//! - preempt off: a returning higher-priority router stays Backup; preempt on:
//!   it takes over one Master_Down_Interval after start, or after its
//!   preempt_delay;
//! - a master that faults (a failed check) says so with priority 0 and the
//!   next best takes over after Skew_Time; while in fault it holds no VIPs and
//!   sends nothing; when the fault clears it preempts again after its
//!   Master_Down_Interval.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ha::vrrp::timers::{centiseconds, master_down_interval, skew_time};
use ha::vrrp::{Action, Config, FaultSource, Fsm, Handover, Input, State, Version};
use proptest::prelude::*;

const LAT_MIN: Duration = Duration::from_micros(100);
const LAT_MAX: Duration = Duration::from_micros(1_000);

// ----- the simulator ------------------------------------------------------------

/// SplitMix64: a tiny seeded generator for latencies, so a case replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn latency(&mut self) -> Duration {
        let span = (LAT_MAX - LAT_MIN).as_nanos() as u64;
        LAT_MIN + Duration::from_nanos(self.next() % (span + 1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerKind {
    Adver = 0,
    MasterDown = 1,
    Release = 2,
}

#[derive(Debug, Clone)]
enum Event {
    Timer {
        node: usize,
        kind: TimerKind,
        at: Duration,
    },
    Deliver {
        to: usize,
        from: usize,
        priority: u8,
        advert_int_cs: u16,
    },
    Input {
        node: usize,
        input: Input,
    },
    /// The host dies: no more sending or receiving, timers and VIPs gone.
    Kill(usize),
    /// The host comes back with this config and starts.
    Revive(usize, Box<Config>),
}

struct Node {
    fsm: Fsm,
    alive: bool,
    vips: bool,
    timers: [Option<Duration>; 3],
    /// (time, from, to) of every state change.
    transitions: Vec<(Duration, State, State)>,
    /// (time, priority) of every advert sent.
    sent: Vec<(Duration, u8)>,
    /// (time, sender, priority) of every advert received while alive.
    received: Vec<(Duration, usize, u8)>,
}

struct Lan {
    now: Duration,
    queue: BTreeMap<(Duration, u64), Event>,
    seq: u64,
    nodes: Vec<Node>,
    rng: Rng,
    /// Last delivery time per (from, to): links are FIFO.
    link_busy: Vec<Vec<Duration>>,
    /// From this time on, every instant must have a VIP holder.
    watch_holders_from: Option<Duration>,
    /// Instants with no VIP holder while watched.
    gaps: Vec<Duration>,
}

impl Lan {
    fn new(configs: &[Config], seed: u64) -> Self {
        let nodes = configs
            .iter()
            .map(|c| Node {
                fsm: Fsm::new(c.clone()).expect("valid config"),
                alive: true,
                vips: false,
                timers: [None; 3],
                transitions: Vec::new(),
                sent: Vec::new(),
                received: Vec::new(),
            })
            .collect();
        let n = configs.len();
        Lan {
            now: Duration::ZERO,
            queue: BTreeMap::new(),
            seq: 0,
            nodes,
            rng: Rng(seed),
            link_busy: vec![vec![Duration::ZERO; n]; n],
            watch_holders_from: None,
            gaps: Vec::new(),
        }
    }

    fn schedule(&mut self, at: Duration, event: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn input_at(&mut self, node: usize, input: Input, at: Duration) {
        self.schedule(at, Event::Input { node, input });
    }

    /// Runs every event up to and including `end`, checking the VIP holders
    /// after each instant.
    fn run_until(&mut self, end: Duration) {
        while let Some((&(at, seq), _)) = self.queue.first_key_value() {
            if at > end {
                break;
            }
            if at > self.now {
                self.check_holders();
                self.now = at;
            }
            let event = self.queue.remove(&(at, seq)).expect("present");
            self.process(event);
        }
        self.check_holders();
        self.now = end;
    }

    fn check_holders(&mut self) {
        if self.watch_holders_from.is_some_and(|from| self.now >= from) && self.holders().is_empty()
        {
            self.gaps.push(self.now);
        }
    }

    fn process(&mut self, event: Event) {
        match event {
            Event::Timer { node, kind, at } => {
                let n = &mut self.nodes[node];
                if !n.alive || n.timers[kind as usize] != Some(at) {
                    return; // cancelled or re-armed since
                }
                n.timers[kind as usize] = None;
                let input = match kind {
                    TimerKind::Adver => Input::AdverTimer,
                    TimerKind::MasterDown => Input::MasterDownTimer,
                    TimerKind::Release => Input::ReleaseTimer,
                };
                self.feed(node, input);
            }
            Event::Deliver {
                to,
                from,
                priority,
                advert_int_cs,
            } => {
                if self.nodes[to].alive {
                    self.nodes[to].received.push((self.now, from, priority));
                    let src = self.nodes[from].fsm.config().primary_addr;
                    self.feed(
                        to,
                        Input::AdvertReceived {
                            src,
                            priority,
                            advert_int_cs,
                        },
                    );
                }
            }
            Event::Input { node, input } => {
                if self.nodes[node].alive {
                    self.feed(node, input);
                }
            }
            Event::Kill(node) => {
                let n = &mut self.nodes[node];
                n.alive = false;
                n.vips = false;
                n.timers = [None; 3];
            }
            Event::Revive(node, config) => {
                let n = &mut self.nodes[node];
                n.fsm = Fsm::new(*config).expect("valid config");
                n.alive = true;
                self.feed(node, Input::Startup);
            }
        }
    }

    /// Runs one input through a node's state machine and executes the
    /// actions in order, as the real driver would.
    fn feed(&mut self, node: usize, input: Input) {
        let now = self.now;
        let actions = self.nodes[node].fsm.handle(input, now);
        for action in actions {
            match action {
                Action::SendAdvert { priority } => {
                    self.nodes[node].sent.push((now, priority));
                    let advert_int_cs = self.nodes[node].fsm.config().advert_int_cs;
                    for to in 0..self.nodes.len() {
                        if to == node {
                            continue;
                        }
                        let at = (now + self.rng.latency()).max(self.link_busy[node][to]);
                        self.link_busy[node][to] = at;
                        self.schedule(
                            at,
                            Event::Deliver {
                                to,
                                from: node,
                                priority,
                                advert_int_cs,
                            },
                        );
                    }
                }
                Action::ArmAdverTimer { at } => self.arm(node, TimerKind::Adver, at),
                Action::ArmMasterDownTimer { at } => self.arm(node, TimerKind::MasterDown, at),
                Action::ArmReleaseTimer { at } => self.arm(node, TimerKind::Release, at),
                Action::CancelAdverTimer => {
                    self.nodes[node].timers[TimerKind::Adver as usize] = None
                }
                Action::CancelMasterDownTimer => {
                    self.nodes[node].timers[TimerKind::MasterDown as usize] = None;
                }
                Action::CancelReleaseTimer => {
                    self.nodes[node].timers[TimerKind::Release as usize] = None
                }
                Action::AddVips => self.nodes[node].vips = true,
                Action::RemoveVips => self.nodes[node].vips = false,
                Action::StateChanged { from, to } => {
                    self.nodes[node].transitions.push((now, from, to))
                }
                Action::SendGratuitous | Action::Released { .. } | Action::Ignored(_) => {}
            }
        }
    }

    fn arm(&mut self, node: usize, kind: TimerKind, at: Duration) {
        assert!(at > self.now, "timer armed in the past");
        self.nodes[node].timers[kind as usize] = Some(at);
        self.schedule(at, Event::Timer { node, kind, at });
    }

    fn masters(&self) -> Vec<usize> {
        self.in_state(State::Master)
    }

    fn in_state(&self, state: State) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.nodes[i].fsm.state() == state)
            .collect()
    }

    fn holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.nodes[i].vips)
            .collect()
    }

    /// When `node` next became Master after `after`.
    fn became_master_after(&self, node: usize, after: Duration) -> Option<Duration> {
        self.nodes[node]
            .transitions
            .iter()
            .find(|&&(t, _, to)| t > after && to == State::Master)
            .map(|&(t, ..)| t)
    }

    fn last_advert_sent(&self, node: usize) -> Duration {
        self.nodes[node]
            .sent
            .last()
            .expect("the master has advertised")
            .0
    }

    /// When `node` last received an advert from `from`.
    fn last_received(&self, node: usize, from: usize) -> Duration {
        self.nodes[node]
            .received
            .iter()
            .rev()
            .find(|r| r.1 == from)
            .expect("heard it")
            .0
    }
}

// ----- scenarios ----------------------------------------------------------------

/// Primary addresses whose numeric order differs from their index order and
/// from their text order (.9 < .10 < .100; fe80::9 < fe80::10).
fn addr(v6: bool, i: usize) -> IpAddr {
    const V4: [[u8; 4]; 5] = [
        [198, 18, 0, 100],
        [198, 18, 0, 9],
        [198, 18, 1, 2],
        [198, 18, 0, 10],
        [198, 18, 0, 200],
    ];
    const V6: [u16; 5] = [0x100, 0x9, 0x1_02, 0x10, 0x200];
    if v6 {
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, V6[i]))
    } else {
        IpAddr::V4(Ipv4Addr::from(V4[i]))
    }
}

fn addr_key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

#[derive(Debug, Clone)]
struct Setup {
    version: Version,
    v6: bool,
    priorities: Vec<u8>,
    intervals: Vec<u16>,
    starts_ms: Vec<u64>,
    seed: u64,
}

impl Setup {
    fn configs(&self) -> Vec<Config> {
        (0..self.priorities.len())
            .map(|i| Config {
                advert_int_cs: self.intervals[i],
                ..Config::new(1, self.version, self.priorities[i], addr(self.v6, i))
            })
            .collect()
    }

    fn lan(&self) -> Lan {
        let mut lan = Lan::new(&self.configs(), self.seed);
        for (i, &ms) in self.starts_ms.iter().enumerate() {
            lan.input_at(i, Input::Startup, Duration::from_millis(ms));
        }
        lan
    }

    fn max_interval(&self) -> Duration {
        centiseconds(*self.intervals.iter().max().expect("nodes"))
    }

    /// A time by which the election is over: every router has started and
    /// the best one has had its Master_Down_Interval (< 4 intervals).
    fn settled(&self) -> Duration {
        Duration::from_millis(*self.starts_ms.iter().max().expect("nodes"))
            + 5 * self.max_interval()
    }

    /// The best router: highest priority, then greatest address.
    fn best(&self, among: impl Iterator<Item = usize>) -> usize {
        among
            .max_by_key(|&i| (self.priorities[i], addr_key(addr(self.v6, i))))
            .expect("candidates")
    }
}

fn version() -> impl Strategy<Value = (Version, bool)> {
    prop_oneof![
        Just((Version::V2, false)),
        Just((Version::V3, false)),
        Just((Version::V3, true))
    ]
}

/// v2 routers must share one whole-second interval (RFC 3768 §7.1); v3 ones
/// may differ (backups adopt the master's), unless `same` is asked for.
fn intervals(version: Version, n: usize, same: bool) -> BoxedStrategy<Vec<u16>> {
    match version {
        Version::V2 => prop_oneof![Just(100u16), Just(200)]
            .prop_map(move |i| vec![i; n])
            .boxed(),
        Version::V3 => {
            let one = prop_oneof![Just(5u16), Just(10), Just(25), Just(100)];
            if same {
                one.prop_map(move |i| vec![i; n]).boxed()
            } else {
                proptest::collection::vec(one, n).boxed()
            }
        }
    }
}

/// Distinct priorities from `1..=max_prio` in random order.
fn setup(max_prio: u8, same_interval: bool) -> impl Strategy<Value = Setup> {
    (version(), 2usize..=5).prop_flat_map(move |((version, v6), n)| {
        let priorities =
            proptest::sample::subsequence((1..=max_prio).collect::<Vec<u8>>(), n).prop_shuffle();
        let starts = proptest::collection::vec(0u64..3_000, n);
        (
            priorities,
            intervals(version, n, same_interval),
            starts,
            any::<u64>(),
        )
            .prop_map(move |(priorities, intervals, starts_ms, seed)| Setup {
                version,
                v6,
                priorities,
                intervals,
                starts_ms,
                seed,
            })
    })
}

/// Like [`setup`], but the top priority is shared by `2..=3` routers, which
/// share an interval too; `together` starts them at the same instant.
fn tied_setup(together: bool) -> impl Strategy<Value = Setup> {
    (version(), 3usize..=5, 2usize..=3).prop_flat_map(move |((version, v6), n, tied)| {
        let tied = tied.min(n);
        let lower = proptest::sample::subsequence((1..=200u8).collect::<Vec<u8>>(), n - tied);
        let top = 201u8..=255;
        let starts = proptest::collection::vec(0u64..3_000, n);
        let order = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
        (
            lower,
            top,
            intervals(version, n, false),
            starts,
            order,
            any::<u64>(),
        )
            .prop_map(
                move |(lower, top, mut intervals, mut starts_ms, order, seed)| {
                    // order[..tied] are the tied routers.
                    let mut priorities = vec![0u8; n];
                    for (k, &i) in order.iter().enumerate() {
                        priorities[i] = if k < tied { top } else { lower[k - tied] };
                    }
                    for &i in &order[1..tied] {
                        intervals[i] = intervals[order[0]];
                        if together {
                            starts_ms[i] = starts_ms[order[0]];
                        }
                    }
                    Setup {
                        version,
                        v6,
                        priorities,
                        intervals,
                        starts_ms,
                        seed,
                    }
                },
            )
    })
}

/// Runs to the settled time and checks the outcome: one master, the only VIP
/// holder, everybody else Backup. Runs a while longer to check it holds.
fn converge(s: &Setup, lan: &mut Lan) -> Result<usize, TestCaseError> {
    for t in [s.settled(), s.settled() + 10 * s.max_interval()] {
        lan.run_until(t);
        let masters = lan.masters();
        prop_assert_eq!(masters.len(), 1, "masters {:?} at {:?}", masters, t);
        prop_assert_eq!(lan.holders(), masters.clone());
        prop_assert_eq!(lan.in_state(State::Backup).len(), s.priorities.len() - 1);
    }
    Ok(lan.masters()[0])
}

fn mdi(s: &Setup, node: usize, interval_cs: u16) -> Duration {
    master_down_interval(s.version, s.priorities[node], interval_cs)
}

/// The takeover happened `wait` after the triggering advert was sent, give or
/// take the latency, and exactly `wait` after it was received.
fn check_takeover(
    at: Option<Duration>,
    sent: Duration,
    received: Duration,
    wait: Duration,
) -> Result<(), TestCaseError> {
    let at = at.ok_or_else(|| TestCaseError::fail("no takeover"))?;
    prop_assert!(
        at >= sent + wait + LAT_MIN && at <= sent + wait + LAT_MAX,
        "took over at {:?}, expected {:?} + {:?} + latency",
        at,
        sent,
        wait
    );
    prop_assert_eq!(at, received + wait);
    Ok(())
}

/// Kills (`None`) or shuts down the converged master at a random point of its
/// advert cycle and checks who takes over, and when.
fn hand_over(s: &Setup, handover: Option<Handover>) -> Result<(), TestCaseError> {
    let mut lan = s.lan();
    let winner = converge(s, &mut lan)?;
    prop_assert_eq!(winner, s.best(0..s.priorities.len()));
    let next = s.best((0..s.priorities.len()).filter(|&i| i != winner));
    let int_cs = s.intervals[winner];
    let t_stop = lan.now + Duration::from_nanos(s.seed % centiseconds(int_cs).as_nanos() as u64);
    lan.run_until(t_stop);
    lan.watch_holders_from = Some(lan.now);
    match handover {
        None => lan.schedule(t_stop, Event::Kill(winner)),
        Some(handover) => lan.input_at(winner, Input::Shutdown { handover }, t_stop),
    }
    lan.run_until(t_stop + 6 * s.max_interval());

    let took_over = lan.became_master_after(next, t_stop);
    let heard = lan.last_received(next, winner);
    match handover {
        // RFC 5798 §6.4.2: the backup's timer was last reset by the dead
        // master's last advert, and runs Master_Down_Interval computed with
        // the master's interval.
        None => check_takeover(
            took_over,
            lan.last_advert_sent(winner),
            heard,
            mdi(s, next, int_cs),
        )?,
        // RFC 5798 §6.4.2: priority 0 sets the timer to Skew_Time.
        Some(_) => {
            prop_assert_eq!(lan.last_advert_sent(winner), t_stop);
            prop_assert_eq!(lan.nodes[winner].sent.last().map(|&(_, p)| p), Some(0));
            check_takeover(
                took_over,
                t_stop,
                heard,
                skew_time(s.version, s.priorities[next], int_cs),
            )?;
            prop_assert_eq!(lan.nodes[winner].fsm.state(), State::Initialize);
        }
    }
    prop_assert_eq!(lan.masters(), vec![next]);
    prop_assert_eq!(lan.holders(), vec![next]);
    if handover == Some(Handover::MakeBeforeBreak) {
        prop_assert!(lan.gaps.is_empty(), "no VIP holder at {:?}", lan.gaps);
        // The old master let go only after a new one had the VIPs (usually
        // `next`; a lower backup whose Skew_Time ran out within the latency
        // spread may get there first and yield to `next` afterwards).
        let released = lan.nodes[winner].transitions.last().expect("released");
        prop_assert_eq!(
            (released.1, released.2),
            (State::Releasing, State::Initialize)
        );
        let first_new = (0..s.priorities.len())
            .filter(|&i| i != winner)
            .filter_map(|i| lan.became_master_after(i, t_stop))
            .min()
            .expect("someone took over");
        prop_assert!(released.0 > first_new);
    }
    Ok(())
}

/// Kills the best router, lets the rest settle, brings it back with
/// `preempt` and `preempt_delay`, and checks whether it takes over.
fn come_back(s: &Setup, preempt: bool, delay: Duration) -> Result<(), TestCaseError> {
    let mut configs = s.configs();
    for c in &mut configs {
        c.preempt = preempt;
    }
    let mut lan = Lan::new(&configs, s.seed);
    for (i, &ms) in s.starts_ms.iter().enumerate() {
        lan.input_at(i, Input::Startup, Duration::from_millis(ms));
    }
    converge(s, &mut lan)?;
    let best = s.best(0..s.priorities.len());
    let t_kill = lan.now;
    lan.schedule(t_kill, Event::Kill(best));
    lan.run_until(t_kill + 10 * s.max_interval());
    let masters = lan.masters();
    prop_assert_eq!(masters.len(), 1);
    let current = masters[0];

    let t_back = lan.now + Duration::from_millis(s.seed % 997);
    let config = Config {
        preempt_delay: delay,
        ..configs[best].clone()
    };
    lan.schedule(t_back, Event::Revive(best, Box::new(config)));
    lan.run_until(t_back + delay + 10 * s.max_interval());

    let took_over = lan.became_master_after(best, t_back);
    if !preempt {
        // RFC 5798 §6.4.2: without Preempt_Mode a Backup accepts a lower
        // priority master.
        prop_assert_eq!(took_over, None);
        prop_assert_eq!(lan.masters(), vec![current]);
        prop_assert_eq!(lan.nodes[best].fsm.state(), State::Backup);
    } else {
        let at = took_over.ok_or_else(|| TestCaseError::fail("no preemption"))?;
        let own_mdi = mdi(s, best, s.intervals[best]);
        if delay.is_zero() {
            // It discards every lower advert, so the Master_Down_Timer armed
            // at start-up runs out.
            prop_assert_eq!(at, t_back + own_mdi);
        } else {
            // keepalived preempt_delay: lower adverts are accepted until
            // t_back + delay, then discarded.
            let learned = mdi(s, best, s.intervals[current]);
            prop_assert!(
                at > t_back + delay && at <= t_back + delay + learned.max(own_mdi),
                "{:?}",
                at
            );
        }
        prop_assert_eq!(lan.masters(), vec![best]);
        prop_assert_eq!(lan.holders(), vec![best]);
    }
    Ok(())
}

/// Faults the converged master at a random point of its advert cycle, checks
/// the handover and the silence of the faulted router, then clears the fault
/// and checks that it preempts back.
fn fault_and_recover(s: &Setup) -> Result<(), TestCaseError> {
    let mut lan = s.lan();
    let winner = converge(s, &mut lan)?;
    let next = s.best((0..s.priorities.len()).filter(|&i| i != winner));
    let int_cs = s.intervals[winner];
    let t_fault = lan.now + Duration::from_nanos(s.seed % centiseconds(int_cs).as_nanos() as u64);
    let check_failed = Input::Fault {
        source: FaultSource::Tracker(0),
        on: true,
    };
    lan.input_at(winner, check_failed, t_fault);
    lan.run_until(t_fault + 6 * s.max_interval());

    // RFC 5798 §6.4.2: the priority-0 advert sets the backups' timers to
    // Skew_Time.
    prop_assert_eq!(lan.nodes[winner].sent.last(), Some(&(t_fault, 0)));
    check_takeover(
        lan.became_master_after(next, t_fault),
        t_fault,
        lan.last_received(next, winner),
        skew_time(s.version, s.priorities[next], int_cs),
    )?;
    prop_assert_eq!(lan.nodes[winner].fsm.state(), State::Fault);
    prop_assert_eq!(lan.masters(), vec![next]);
    prop_assert_eq!(lan.holders(), vec![next]);

    let t_clear = lan.now;
    let cleared = Input::Fault {
        source: FaultSource::Tracker(0),
        on: false,
    };
    lan.input_at(winner, cleared, t_clear);
    lan.run_until(t_clear + 10 * s.max_interval());
    prop_assert!(
        lan.nodes[winner]
            .sent
            .iter()
            .all(|&(t, _)| t <= t_fault || t > t_clear)
    );
    // Back as Backup; it discards the lower master's adverts, so the timer
    // armed when the fault cleared runs out.
    prop_assert_eq!(
        lan.became_master_after(winner, t_clear),
        Some(t_clear + mdi(s, winner, s.intervals[winner]))
    );
    prop_assert_eq!(lan.masters(), vec![winner]);
    prop_assert_eq!(lan.holders(), vec![winner]);
    Ok(())
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Distinct priorities (the owner's 255 included), random start times:
    /// exactly one master, the highest priority.
    #[test]
    fn converges_to_the_highest_priority(s in setup(255, false)) {
        let mut lan = s.lan();
        let winner = converge(&s, &mut lan)?;
        prop_assert_eq!(winner, s.best(0..s.priorities.len()));
    }

    /// Tied top priorities starting together both become master; RFC 5798
    /// §6.4.3 keeps the greater address.
    #[test]
    fn tie_between_masters_goes_to_the_greater_address(s in tied_setup(true)) {
        let mut lan = s.lan();
        let winner = converge(&s, &mut lan)?;
        prop_assert_eq!(winner, s.best(0..s.priorities.len()));
    }

    /// Tied top priorities starting apart: RFC 5798 §6.4.2 makes a Backup
    /// accept an equal priority, so whichever got there first stays; it is
    /// still one of the top priority.
    #[test]
    fn tie_between_backup_and_master_keeps_one_of_them(s in tied_setup(false)) {
        let mut lan = s.lan();
        let winner = converge(&s, &mut lan)?;
        prop_assert_eq!(s.priorities[winner], *s.priorities.iter().max().unwrap());
    }

    /// The master dies silently: the next best takes over one
    /// Master_Down_Interval after the last advert it sent (+ latency).
    #[test]
    fn killed_master_hands_over_after_master_down_interval(s in setup(255, false)) {
        hand_over(&s, None)?;
    }

    /// keepalived-style shutdown: priority 0, the next best takes over after
    /// its Skew_Time (+ latency).
    #[test]
    fn immediate_shutdown_hands_over_after_skew_time(s in setup(255, false)) {
        hand_over(&s, Some(Handover::Immediate))?;
    }

    /// Make-before-break: same timing, and the VIPs are never unowned.
    #[test]
    fn make_before_break_never_leaves_the_vips_unowned(s in setup(255, false)) {
        hand_over(&s, Some(Handover::MakeBeforeBreak))?;
    }

    /// Preempt off: the returning best router stays Backup. Intervals are
    /// shared: with a shorter own interval a v3 router can time out before
    /// hearing the master's first advert, which is not preemption.
    #[test]
    fn returning_router_without_preempt_stays_backup(s in setup(254, true)) {
        come_back(&s, false, Duration::ZERO)?;
    }

    /// Preempt on: the returning best router takes over one
    /// Master_Down_Interval after it starts.
    #[test]
    fn returning_router_with_preempt_takes_over(s in setup(254, true)) {
        come_back(&s, true, Duration::ZERO)?;
    }

    /// A failed check on the master: priority 0, the next best takes over
    /// after Skew_Time; the faulted router is silent and VIP-less until the
    /// check passes again, then preempts back. Shared intervals, as above.
    #[test]
    fn faulted_master_hands_over_and_comes_back(s in setup(254, true)) {
        fault_and_recover(&s)?;
    }

    /// Preempt on with keepalived's preempt_delay: it takes over only after
    /// the delay.
    #[test]
    fn returning_router_waits_for_preempt_delay(s in setup(254, true), delay_ms in 1u64..3_000) {
        come_back(&s, true, Duration::from_millis(delay_ms))?;
    }
}
