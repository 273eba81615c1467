//! `cargo xtask demo`: what `ha` does, in about twenty seconds.
//!
//! Two nodes and a client in network namespaces (hatest), `ha` on both nodes
//! with the keepalived.conf a user would write (VRRPv3, 0.1 s adverts,
//! priorities 200/100). The client pings the VIP every 5 ms and captures its
//! wire while the master is killed (kill -9) and comes back, loses its link
//! and gets it back, fails its health check (`vrrp_script`) and passes it
//! again, and finally hands over with SIGTERM. Then a timeline:
//! node states (polled from ha's status files every 5 ms), what the client's
//! wire showed (adverts, gratuitous ARP, whom the client sent to and who
//! answered), and every run of lost pings; and a summary per step.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::atomic::{AtomicBool, Ordering},
    thread,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, Result, anyhow, bail};
use hatest::{Capture, Daemon, Frame, Group, Host, Mac, PingReport, Topology};

use crate::bench::interrupt;

/// Advert interval, seconds: Master_Down_Interval 0.361 s at priority 100.
const ADVERT: f64 = 0.1;
const VRID: u8 = 51;
const PRIORITIES: [u8; 2] = [200, 100];
/// Client ping interval.
const PROBE: Duration = Duration::from_millis(5);
/// How often node states are read.
const POLL: Duration = Duration::from_millis(5);
/// Length of the scripted part.
const SCENARIO: Duration = Duration::from_millis(15_800);
/// Gratuitous ARPs closer together than this are one burst.
const BURST_GAP: Duration = Duration::from_millis(300);

/// A step of the script, at seconds after the client starts pinging.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Kill9,
    Restart,
    LinkDown,
    LinkUp,
    CheckFails,
    CheckPasses,
    Sigterm,
}

const SCRIPT: [(f64, Step); 7] = [
    (1.0, Step::Kill9),
    (3.0, Step::Restart),
    (5.0, Step::LinkDown),
    (7.0, Step::LinkUp),
    (9.0, Step::CheckFails),
    (11.5, Step::CheckPasses),
    (14.0, Step::Sigterm),
];

impl Step {
    fn title(self) -> &'static str {
        match self {
            Step::Kill9 => "kill -9 ha on node1 (the master)",
            Step::Restart => "start ha on node1 again",
            Step::LinkDown => "link down on node1 (the master)",
            Step::LinkUp => "link up on node1",
            Step::CheckFails => "node1's check fails (the master)",
            Step::CheckPasses => "node1's check passes again",
            Step::Sigterm => "SIGTERM to ha on node1 (the master)",
        }
    }

    /// Index of the node that should be master afterwards.
    fn new_master(self) -> usize {
        match self {
            Step::Kill9 | Step::LinkDown | Step::CheckFails | Step::Sigterm => 1,
            Step::Restart | Step::LinkUp | Step::CheckPasses => 0,
        }
    }
}

/// One line of the timeline.
#[derive(Clone, Debug)]
struct Event {
    at: SystemTime,
    who: String,
    what: String,
}

/// A step as it was carried out.
struct Done {
    step: Step,
    at: SystemTime,
}

pub fn run() -> Result<()> {
    crate::bench::prepare()?;
    let topo = Topology::builder()
        .nodes(2)
        .ipv6(false)
        .build()
        .context("building the demo hosts")?;
    let prefix = topo.prefix().to_owned();
    let result = demo(&topo);
    let torn = topo.teardown();
    let left: Vec<String> = hatest::netns::list()?
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    result?;
    torn?;
    if !left.is_empty() {
        bail!("namespaces left behind: {left:?}");
    }
    println!("Cleaned up: daemons stopped, namespaces {prefix}-* removed.");
    Ok(())
}

fn demo(topo: &Topology) -> Result<()> {
    let nodes = topo.nodes();
    let [n1, n2] = nodes else {
        bail!("expected two nodes");
    };
    let client = topo.client();
    let vip = topo.subnet().vip4(0);
    let mut group = Group::v3(VRID, IpAddr::V4(vip), 24);
    group.advert_int = ADVERT;
    // The service each node checks: a file that says it is up. Removing
    // node1's fails its check (weight 0: FAULT, the VIP moves).
    let flags = hatest::TempDir::new("demo")?;
    let flag = |i: usize| flags.path().join(format!("node{}-service-up", i + 1));
    for i in 0..2 {
        std::fs::write(flag(i), "")?;
    }
    group.extra = "  track_script {\n    chk_service\n  }\n".into();
    let with_check = |i: usize, conf: String| {
        conf.replacen(
            "vrrp_instance",
            &format!(
                "vrrp_script chk_service {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n}}\n\nvrrp_instance",
                flag(i).display()
            ),
            1,
        )
    };

    println!(
        "ha demo: two nodes and a client on one bridge, in network namespaces {}-*",
        topo.prefix()
    );
    println!();
    for (i, n) in nodes.iter().enumerate() {
        println!(
            "  node{}   {:<15} {}   ha, priority {}",
            i + 1,
            n.ipv4,
            n.mac(),
            PRIORITIES[i]
        );
    }
    println!(
        "  client  {:<15} {}   pings the VIP {vip} every {} ms",
        client.ipv4,
        client.mac(),
        PROBE.as_millis()
    );
    println!(
        "  VRRPv3, VRID {VRID}, an advert every {ADVERT} s: the backup declares the master dead after \
         3 × {ADVERT} s + skew = {:.0} ms",
        master_down_ms()
    );
    println!("  Both nodes read the same keepalived.conf; node1's is:");
    println!();
    for line in with_check(0, group.keepalived_conf(n1, PRIORITIES[0])).lines() {
        println!("      {line}");
    }
    println!();

    let conf = |i: usize| with_check(i, group.keepalived_conf(&nodes[i], PRIORITIES[i]));
    let mut daemons: [Option<Daemon>; 2] = [
        Some(Daemon::ha(n1, "ha", &conf(0))?),
        Some(Daemon::ha(n2, "ha2", &conf(1))?),
    ];
    let started = Instant::now();
    let limit = Duration::from_secs(5);
    let (d1, d2) = (daemons[0].as_ref(), daemons[1].as_ref());
    d1.context("node1")?.wait_state("master", limit)?;
    d2.context("node2")?.wait_state("backup", limit)?;
    println!(
        "Started ha on both nodes: node1 is master, node2 backup after {:.2} s.",
        started.elapsed().as_secs_f64()
    );
    interrupt::sleep(Duration::from_millis(300))?;
    println!(
        "Now: {} (about {} s) …",
        SCRIPT
            .iter()
            .map(|(_, s)| s.title().split(" (").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(", "),
        SCENARIO.as_secs()
    );

    let names = Names {
        macs: [
            (n1.mac(), "node1"),
            (n2.mac(), "node2"),
            (client.mac(), "client"),
        ],
        ips: [(n1.ipv4, "node1"), (n2.ipv4, "node2")],
    };
    let count = (SCENARIO.as_secs_f64() / PROBE.as_secs_f64()).ceil() as u16;
    let capture = Capture::start(client, SCENARIO + Duration::from_secs(5))?;
    let t0 = SystemTime::now();
    let start = Instant::now();
    let mut events = Vec::new();
    let mut done = Vec::new();
    let stop_watch = AtomicBool::new(false);
    let report = thread::scope(|s| -> Result<PingReport> {
        let ping = s.spawn(|| client.ping(vip, count, PROBE));
        let watchers: Vec<_> = nodes
            .iter()
            .map(|n| s.spawn(|| watch_vip(&n.ns, vip, &stop_watch)))
            .collect();
        let node1_flag = flag(0);
        let script = run_script(
            nodes,
            &conf,
            &node1_flag,
            &mut daemons,
            start,
            &mut events,
            &mut done,
        );
        let report = ping
            .join()
            .map_err(|_| anyhow!("the ping thread panicked"))?;
        stop_watch.store(true, Ordering::Relaxed);
        for (i, w) in watchers.into_iter().enumerate() {
            let changes = w.join().map_err(|_| anyhow!("a VIP watcher panicked"))??;
            for (k, (at, holds)) in changes.into_iter().enumerate() {
                let what = match (k, holds) {
                    (0, true) => "holds the VIP",
                    (0, false) => continue,
                    (_, true) => "VIP added",
                    (_, false) => "VIP removed",
                };
                events.push(Event {
                    at,
                    who: format!("node{}", i + 1),
                    what: what.into(),
                });
            }
        }
        script?;
        report
    })?;
    let frames = capture.stop()?;
    for d in daemons.iter().flatten() {
        let _ = d.crash();
    }

    events.extend(wire_events(&frames, &names, vip));
    let seq_times = probe_times(&frames, vip, t0, count);
    let losses = loss_runs(&report, &seq_times);
    for l in &losses {
        events.push(Event {
            at: l.from,
            who: "client".into(),
            what: format!(
                "pings #{}–#{} unanswered: {} lost, outage {} ms",
                l.first,
                l.first + l.count - 1,
                l.count,
                l.count as u128 * PROBE.as_millis()
            ),
        });
    }
    events.sort_by_key(|e| e.at);
    print_timeline(t0, &events, &done);
    print_summary(t0, &done, &frames, &losses, &names, [n1, n2], vip, &report);
    Ok(())
}

/// Runs the script on this thread (daemons must live on the thread that
/// started them), polling node states every [`POLL`].
fn run_script(
    nodes: &[Host],
    conf: &dyn Fn(usize) -> String,
    flag: &std::path::Path,
    daemons: &mut [Option<Daemon>; 2],
    start: Instant,
    events: &mut Vec<Event>,
    done: &mut Vec<Done>,
) -> Result<()> {
    let mut next = 0;
    let mut states = [String::new(), String::new()];
    // Daemons whose state is still worth reading (not killed, not exited).
    let mut live = [true, true];
    let mut restarts = 0;
    while start.elapsed() < SCENARIO {
        interrupt::check()?;
        if let Some(&(at, step)) = SCRIPT.get(next)
            && start.elapsed() >= Duration::from_secs_f64(at)
        {
            next += 1;
            let when = act(step, nodes, conf, flag, daemons, &mut live, &mut restarts)?;
            events.push(Event {
                at: when,
                who: "demo".into(),
                what: format!("▶ {}", step.title()),
            });
            done.push(Done { step, at: when });
            if step == Step::Restart {
                states[0].clear();
            }
        }
        for i in 0..2 {
            let Some(d) = &daemons[i] else { continue };
            if !live[i] {
                continue;
            }
            if let Ok(state) = d.state()
                && !state.is_empty()
                && state != states[i]
            {
                let what = if states[i].is_empty() {
                    format!("ha is {state}")
                } else {
                    format!("{} → {state}", states[i])
                };
                events.push(Event {
                    at: SystemTime::now(),
                    who: format!("node{}", i + 1),
                    what,
                });
                states[i] = state;
            }
            if let Some(status) = d.proc.try_wait()? {
                events.push(Event {
                    at: SystemTime::now(),
                    who: format!("node{}", i + 1),
                    what: format!("ha exited ({status})"),
                });
                live[i] = false;
            }
        }
        thread::sleep(POLL);
    }
    Ok(())
}

/// Carries out `step` and returns when it happened.
fn act(
    step: Step,
    nodes: &[Host],
    conf: &dyn Fn(usize) -> String,
    flag: &std::path::Path,
    daemons: &mut [Option<Daemon>; 2],
    live: &mut [bool; 2],
    restarts: &mut u32,
) -> Result<SystemTime> {
    let d1 = || daemons[0].as_ref().context("no daemon on node1");
    Ok(match step {
        Step::Kill9 => {
            let at = SystemTime::now();
            d1()?.crash()?;
            live[0] = false;
            at
        }
        Step::Restart => {
            *restarts += 1;
            let at = SystemTime::now();
            // The old (killed) one is reaped here.
            daemons[0] = Some(Daemon::ha(&nodes[0], &format!("ha-r{restarts}"), &conf(0))?);
            live[0] = true;
            at
        }
        Step::LinkDown => hatest::fault::set_link(&nodes[0], false)?,
        Step::LinkUp => hatest::fault::set_link(&nodes[0], true)?,
        Step::CheckFails => {
            let at = SystemTime::now();
            std::fs::remove_file(flag)?;
            at
        }
        Step::CheckPasses => {
            let at = SystemTime::now();
            std::fs::write(flag, "")?;
            at
        }
        Step::Sigterm => {
            let at = SystemTime::now();
            d1()?.terminate()?;
            at
        }
    })
}

/// Whether the VIP is on an interface of namespace `ns`, every [`POLL`]
/// until `stop` (bounded by the scenario's length): each change, timed.
fn watch_vip(ns: &str, vip: Ipv4Addr, stop: &AtomicBool) -> Result<Vec<(SystemTime, bool)>> {
    hatest::in_netns(ns, || {
        let end = Instant::now() + SCENARIO + Duration::from_secs(5);
        let mut changes: Vec<(SystemTime, bool)> = Vec::new();
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            let holds = holds_address(vip)?;
            if changes.last().is_none_or(|&(_, h)| h != holds) {
                changes.push((SystemTime::now(), holds));
            }
            thread::sleep(POLL);
        }
        Ok(changes)
    })
}

/// `addr` is configured on some interface of this thread's namespace.
fn holds_address(addr: Ipv4Addr) -> Result<bool> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` (freed below) or fails.
    if unsafe { libc::getifaddrs(&raw mut list) } != 0 {
        return Err(std::io::Error::last_os_error()).context("getifaddrs");
    }
    let mut found = false;
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` walks the list getifaddrs returned; AF_INET entries hold a sockaddr_in.
        unsafe {
            let sa = (*cur).ifa_addr;
            if !sa.is_null() && i32::from((*sa).sa_family) == libc::AF_INET {
                let sin = &*sa.cast::<libc::sockaddr_in>();
                if Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)) == addr {
                    found = true;
                }
            }
            cur = (*cur).ifa_next;
        }
    }
    // SAFETY: the list came from getifaddrs.
    unsafe { libc::freeifaddrs(list) };
    Ok(found)
}

/// MAC and address → node name.
struct Names {
    macs: [(Mac, &'static str); 3],
    ips: [(Ipv4Addr, &'static str); 2],
}

impl Names {
    fn mac(&self, mac: Option<Mac>) -> String {
        match mac {
            Some(m) => self
                .macs
                .iter()
                .find(|(x, _)| *x == m)
                .map_or_else(|| m.to_string(), |(_, n)| (*n).to_owned()),
            None => "?".into(),
        }
    }

    fn ip(&self, ip: Ipv4Addr) -> String {
        self.ips
            .iter()
            .find(|(x, _)| *x == ip)
            .map_or_else(|| ip.to_string(), |(_, n)| (*n).to_owned())
    }
}

fn is_garp_for(f: &Frame, vip: Ipv4Addr) -> bool {
    !f.outgoing
        && f.arp()
            .is_some_and(|a| a.is_gratuitous() && a.sender_ip == vip)
}

/// What the client's wire showed, as timeline events.
fn wire_events(frames: &[Frame], names: &Names, vip: Ipv4Addr) -> Vec<Event> {
    let mut events = Vec::new();
    let wire = |at, what| Event {
        at,
        who: "wire".into(),
        what,
    };
    // Adverts: when a node starts advertising, and when its priority changes.
    let mut adverts: BTreeMap<Ipv4Addr, (SystemTime, u8)> = BTreeMap::new();
    let silence = Duration::from_secs_f64(2.5 * ADVERT);
    // Gratuitous ARP bursts per sender MAC: (event index, count, last).
    let mut bursts: BTreeMap<[u8; 6], (usize, u32, SystemTime)> = BTreeMap::new();
    let mut sends_to: Option<Mac> = None;
    let mut answered_by: Option<Mac> = None;
    for f in frames {
        if let Some(a) = f.vrrp().filter(|a| a.vrid == VRID && !f.outgoing) {
            let who = names.ip(a.src);
            let prev = adverts.insert(a.src, (f.ts, a.priority));
            let restarted =
                prev.is_none_or(|(t, _)| f.ts.duration_since(t).unwrap_or_default() > silence);
            if a.priority == 0 && prev.is_none_or(|(_, p)| p != 0) {
                events.push(wire(
                    f.ts,
                    format!("{who} advertises priority 0: it resigns"),
                ));
            } else if restarted {
                events.push(wire(
                    f.ts,
                    format!("{who} advertises as master (priority {})", a.priority),
                ));
            } else if prev.is_some_and(|(_, p)| p != a.priority) {
                events.push(wire(
                    f.ts,
                    format!("{who} now advertises priority {}", a.priority),
                ));
            }
        } else if is_garp_for(f, vip) {
            let mac = f.src_mac().unwrap_or(Mac([0; 6]));
            match bursts.get_mut(&mac.0) {
                Some((_, n, last))
                    if f.ts.duration_since(*last).unwrap_or_default() < BURST_GAP =>
                {
                    *n += 1;
                    *last = f.ts;
                }
                _ => {
                    events.push(wire(f.ts, String::new()));
                    bursts.insert(mac.0, (events.len() - 1, 1, f.ts));
                }
            }
            let (i, n, _) = bursts[&mac.0];
            events[i].what = format!(
                "{} sends gratuitous ARP: {vip} is at {mac}{}",
                names.mac(Some(mac)),
                if n > 1 {
                    format!(" (×{n})")
                } else {
                    String::new()
                }
            );
        } else if f.outgoing && f.echo().is_some_and(|e| !e.reply && e.dst == vip) {
            let dst = f.dst_mac();
            if dst != sends_to {
                let what = if sends_to.is_none() {
                    format!(
                        "pings go to {} ({})",
                        names.mac(dst),
                        dst.map_or("?".into(), |m| m.to_string())
                    )
                } else {
                    format!(
                        "pings now go to {}: its neighbour entry for the VIP changed",
                        names.mac(dst)
                    )
                };
                events.push(Event {
                    at: f.ts,
                    who: "client".into(),
                    what,
                });
                sends_to = dst;
            }
        } else if !f.outgoing && f.echo().is_some_and(|e| e.reply && e.src == vip) {
            let src = f.src_mac();
            if src != answered_by {
                events.push(Event {
                    at: f.ts,
                    who: "client".into(),
                    what: format!(
                        "{} answers the pings{}",
                        names.mac(src),
                        if answered_by.is_none() { "" } else { " now" }
                    ),
                });
                answered_by = src;
            }
        } else if let Some(a) = f.arp().filter(|a| !a.is_gratuitous()) {
            if f.outgoing && a.op == 1 && a.target_ip == vip {
                events.push(Event {
                    at: f.ts,
                    who: "client".into(),
                    what: format!("asks who has {vip} (ARP)"),
                });
            } else if !f.outgoing && a.op == 2 && a.sender_ip == vip {
                events.push(wire(
                    f.ts,
                    format!(
                        "{} answers ARP: {vip} is at {}",
                        names.mac(f.src_mac()),
                        a.sender_mac
                    ),
                ));
            }
        }
    }
    events
}

/// When each ping went out: from the capture, else from the schedule.
fn probe_times(frames: &[Frame], vip: Ipv4Addr, t0: SystemTime, count: u16) -> Vec<SystemTime> {
    let mut times: Vec<SystemTime> = (0..u32::from(count)).map(|i| t0 + PROBE * i).collect();
    for f in frames.iter().filter(|f| f.outgoing) {
        if let Some(e) = f.echo().filter(|e| !e.reply && e.dst == vip)
            && let Some(t) = times.get_mut(usize::from(e.seq))
        {
            *t = f.ts;
        }
    }
    times
}

/// A run of consecutive unanswered pings.
struct Loss {
    first: usize,
    count: usize,
    from: SystemTime,
}

fn loss_runs(report: &PingReport, times: &[SystemTime]) -> Vec<Loss> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < report.rtts.len() {
        if report.rtts[i].is_none() {
            let first = i;
            while i < report.rtts.len() && report.rtts[i].is_none() {
                i += 1;
            }
            runs.push(Loss {
                first,
                count: i - first,
                from: times.get(first).copied().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        } else {
            i += 1;
        }
    }
    runs
}

/// Master_Down_Interval of node2, ms.
fn master_down_ms() -> f64 {
    (3.0 * ADVERT + (256.0 - f64::from(PRIORITIES[1])) / 256.0 * ADVERT) * 1000.0
}

fn secs(t0: SystemTime, t: SystemTime) -> f64 {
    match t.duration_since(t0) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn print_timeline(t0: SystemTime, events: &[Event], done: &[Done]) {
    println!();
    println!("Timeline (t = 0 when the client starts pinging)");
    println!(
        "  node1/node2: ha's state (from its status file) and the VIP on the node, polled every 5 ms"
    );
    println!("  wire:        frames on the client's interface (AF_PACKET, kernel time)");
    println!("  client:      whom the client sends its pings to, who answers, lost pings");
    println!();
    println!("   t (s)  who     what");
    println!("  ------  ------  {}", "-".repeat(66));
    let mut step = 0;
    for e in events {
        while step < done.len() && e.at >= done[step].at {
            println!();
            step += 1;
        }
        println!("  {:>6.3}  {:<6}  {}", secs(t0, e.at), e.who, e.what);
    }
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    t0: SystemTime,
    done: &[Done],
    frames: &[Frame],
    losses: &[Loss],
    names: &Names,
    nodes: [&Host; 2],
    vip: Ipv4Addr,
    report: &PingReport,
) {
    println!();
    println!("Summary");
    println!();
    println!(
        "  {:>6}  {:<36}  {:<10}  {:>12}  {:>18}",
        "t (s)", "what happened", "new master", "GARP after", "client outage"
    );
    println!("  {}", "-".repeat(6 + 2 + 36 + 2 + 10 + 2 + 12 + 2 + 18));
    for (k, d) in done.iter().enumerate() {
        let end = done.get(k + 1).map(|n| n.at);
        let within = |t: SystemTime| t >= d.at && end.is_none_or(|e| t < e);
        let master = nodes[d.step.new_master()];
        let garp = frames
            .iter()
            .find(|f| within(f.ts) && is_garp_for(f, vip) && f.src_mac() == Some(master.mac()))
            .map(|f| secs(d.at, f.ts));
        let worst = losses
            .iter()
            .filter(|l| within(l.from))
            .map(|l| l.count)
            .max()
            .unwrap_or(0);
        let outage = if worst == 0 {
            "0 lost".to_owned()
        } else {
            format!("{} ms", worst as u128 * PROBE.as_millis())
        };
        let mark = if d.step == Step::Kill9 { " ¹" } else { "" };
        println!(
            "  {:>6.3}  {:<36}  {:<10}  {:>12}  {:>18}",
            secs(t0, d.at),
            d.step.title(),
            names.mac(Some(master.mac())),
            garp.map_or("–".into(), |g| format!("{:.0} ms", g * 1000.0)),
            format!("{outage}{mark}")
        );
    }
    println!();
    println!(
        "  {} pings, {} answered. Client outage = the longest run of lost pings × {} ms.",
        report.sent(),
        report.received(),
        PROBE.as_millis()
    );
    println!(
        "  ¹ After kill -9 nobody removes the VIP from node1: its kernel keeps answering clients\n    \
         that already know its MAC until the new master's gratuitous ARP moves them, so no ping\n    \
         is lost; the restarted ha removes the leftover VIP. node1's XDP program drops ARP\n    \
         requests for the VIP once the heartbeat is stale, so no new client is sent there."
    );
    println!(
        "  GARP after: from the step to the new master's first gratuitous ARP on the client's wire.\n  \
         A dead master is noticed {:.0} ms after its last advert, which went out up to {ADVERT} s\n  \
         before the step, hence often less than {:.0} ms here.",
        master_down_ms(),
        master_down_ms()
    );
    println!(
        "  SIGTERM is make-before-break: node1 advertises priority 0 but keeps the VIP until it hears\n  \
         node2 as master, then removes it and exits."
    );
    println!(
        "  A failed check (`vrrp_script`, every 1 s, weight 0) is seen at the check's next run:\n  \
         node1 goes to FAULT, advertises priority 0, and node2 takes over after Skew_Time. When\n  \
         it passes again node1 starts as backup and preempts after Master_Down_Interval."
    );
    println!();
}
