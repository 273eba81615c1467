//! `cargo xtask bench hostile`: a stranger on the LAN speaks VRRP. What does
//! the master send in reply, does anyone change state, does the client notice?
//!
//! One run per row: a fresh two-node topology (VRRPv3 at 0.1 s, priorities
//! 200/100, IPv4), the daemon on both nodes, settled; then the client pings
//! the VIP every 10 ms throughout while its namespace sends VRRP adverts
//! built with `ha`'s own wire codec from an `AF_PACKET` socket, from a
//! *stranger* address of the test /24 that is no node (`.200`):
//!
//! 1. a lower priority (50) at 1000/s for 10 s (3 s with `--quick`);
//! 2. priority 0 at 100/s for 5 s (2 s with `--quick`).
//!
//! Each phase is followed by 1 s of quiet, counted with it (a backup told by
//! a priority-0 advert that the master left takes over Skew_Time after the
//! last one). A capture on each node counts what it sent (adverts, gratuitous
//! ARPs, grouped into bursts) and the spoofed adverts that reached it; the
//! status counters (`ha`) or the log (keepalived, "Entering MASTER STATE")
//! count the transitions.
//!
//! Rows: each daemon with the default multicast configuration (the stranger
//! sends to 224.0.0.18), and `ha` and keepalived with `unicast_peer` and
//! `check_unicast_src` (the stranger sends to each node's own address).
//! Nothing is asserted: the targets are printed as met or not.

use std::{
    io,
    mem::{size_of, zeroed},
    net::{IpAddr, Ipv4Addr},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    thread,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, Result, bail};
use ha::wire::{Advert, Auth, ChecksumForm, Version};
use hatest::{Capture, Daemon, Frame, Group, Host, Mac, PingReport, Topology};

use super::{
    Args,
    common::{self, BACKUP_PRIORITY, FIRST_VRID, Impl, MASTER_PRIORITY},
    failover::{ms_between, strip_ansi},
    interrupt, machine_line,
    table::Table,
};

/// Advert interval of the group, seconds.
const INTERVAL: f64 = 0.1;
/// The spoofed priority of phase 1: below both nodes.
const LOW_PRIORITY: u8 = 50;
/// Last octet of the stranger's address in the test /24.
const STRANGER_OCTET: u8 = 200;
/// Quiet time after each phase, counted with it.
const TAIL: Duration = Duration::from_secs(1);
/// Pings before phase 1 starts (the client resolves the VIP).
const LEAD_IN: Duration = Duration::from_millis(500);
/// The client's ping interval.
const PROBE_EVERY: Duration = Duration::from_millis(10);
/// Gratuitous ARPs from one node closer than this belong to one burst…
const BURST_GAP_MS: f64 = 20.0;
/// …of at most this many (`garp_master_repeat`'s default in both daemons), so
/// a continuous storm counts as many bursts, not one.
const BURST_MAX: usize = 5;
/// `01:00:5e:00:00:12`, the Ethernet group of 224.0.0.18.
const VRRP_GROUP_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];

/// One hostile phase: what the stranger sends.
#[derive(Clone, Copy, Debug)]
struct Phase {
    name: &'static str,
    priority: u8,
    rate: u32,
    secs: f64,
}

fn phases(quick: bool) -> [Phase; 2] {
    [
        Phase {
            name: "lower priority (50), 1000/s",
            priority: LOW_PRIORITY,
            rate: 1000,
            secs: if quick { 3.0 } else { 10.0 },
        },
        Phase {
            name: "priority 0, 100/s",
            priority: 0,
            rate: 100,
            secs: if quick { 2.0 } else { 5.0 },
        },
    ]
}

/// A row of the report: a daemon and how its group is configured.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Row {
    imp: Impl,
    /// `unicast_peer` + `check_unicast_src`, the stranger sending unicast.
    peers: bool,
}

impl Row {
    fn label(self) -> String {
        if self.peers {
            format!("{} + unicast_peer, check_unicast_src", self.imp.label())
        } else {
            self.imp.label().to_owned()
        }
    }
}

/// What one phase measured: node 1's sending while the stranger sends (the
/// flood), everything else with the quiet tail too.
#[derive(Clone, Debug, Default)]
struct PhaseOutcome {
    /// Length of the flood, seconds.
    flood_s: f64,
    /// Spoofed adverts sent, and sends that failed.
    sent: u64,
    send_errors: u64,
    /// Spoofed adverts that reached node 1's interface (its capture).
    reached_master: usize,
    /// During the flood: adverts and gratuitous ARPs (and their bursts) node 1 sent.
    master_adverts: usize,
    master_garps: usize,
    master_bursts: usize,
    /// Flood and tail: the same from node 2.
    backup_adverts: usize,
    backup_garps: usize,
    backup_bursts: usize,
    /// Flood and tail: times each node became master.
    transitions: [u64; 2],
    /// `ha` only: node 1's `lower_prio_reannounce` and `reassert_limited`.
    ha_reannounce: Option<(u64, u64)>,
    /// Client probes sent and lost in the window.
    probes: usize,
    lost: usize,
}

impl PhaseOutcome {
    /// Advert intervals in the flood.
    fn intervals(&self) -> f64 {
        self.flood_s / INTERVAL
    }

    /// Node 1's adverts during the flood beyond its periodic ones.
    fn extra_adverts(&self) -> usize {
        self.master_adverts
            .saturating_sub(self.intervals().round() as usize)
    }

    /// Re-announcements during the flood: node 1's extra adverts or its GARP
    /// bursts, whichever is more (one re-announcement may be either or both).
    fn reannouncements(&self) -> usize {
        self.extra_adverts().max(self.master_bursts)
    }

    fn per_interval(&self) -> f64 {
        self.reannouncements() as f64 / self.intervals()
    }

    /// At most one re-announcement per interval, allowing one more for an
    /// interval cut by the flood's start or end.
    fn reannounce_target_met(&self) -> bool {
        self.reannouncements() as f64 <= self.intervals().round() + 1.0
    }
}

#[derive(Clone, Debug, Default)]
struct Outcome {
    phases: Vec<PhaseOutcome>,
    probes: usize,
    lost: usize,
    longest_loss: usize,
    notes: Vec<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let phases = phases(args.quick);
    let mut rows: Vec<Row> = args
        .daemons()
        .into_iter()
        .map(|imp| Row { imp, peers: false })
        .collect();
    for imp in [Impl::HaXdp, Impl::Keepalived] {
        if args.daemons().contains(&imp) {
            rows.push(Row { imp, peers: true });
        }
    }
    eprintln!(
        "bench hostile: {} rows, each a fresh topology: {}",
        rows.len(),
        phases
            .iter()
            .map(|p| format!("{} for {} s", p.name, p.secs))
            .collect::<Vec<_>>()
            .join(", then ")
    );
    let mut results: Vec<(Row, Result<Outcome, String>)> = Vec::new();
    for (k, &row) in rows.iter().enumerate() {
        if interrupt::requested() {
            break;
        }
        let line = format!("[{}/{}] {:<44}", k + 1, rows.len(), row.label());
        let outcome = common::in_topology(|topo| one_run(row, topo, &phases, args.trace));
        match &outcome {
            Ok(o) => {
                for (p, po) in phases.iter().zip(&o.phases) {
                    eprintln!(
                        "{line}  {}: sent {} ({} reached node 1), node 1 adverts {} (extra {}), GARPs {}/{} in {}/{} bursts, became master {}/{}, probes lost {}/{}{}",
                        p.name,
                        po.sent,
                        po.reached_master,
                        po.master_adverts,
                        po.extra_adverts(),
                        po.master_garps,
                        po.backup_garps,
                        po.master_bursts,
                        po.backup_bursts,
                        po.transitions[0],
                        po.transitions[1],
                        po.lost,
                        po.probes,
                        po.ha_reannounce.map_or(String::new(), |(r, l)| format!(
                            ", ha: lower_prio_reannounce {r}, reassert_limited {l}"
                        ))
                    );
                }
                for n in &o.notes {
                    eprintln!("          note: {n}");
                }
            }
            Err(e) => {
                if common::report_failure(&line, "FAILED", e) {
                    break;
                }
            }
        }
        results.push((row, outcome.map_err(|e| format!("{e:#}"))));
    }
    print_report(&results, &phases);
    if interrupt::requested() {
        bail!("interrupted: the tables above hold only the rows that finished");
    }
    Ok(())
}

/// The configuration of `host` in `row`'s group.
fn conf(row: Row, topo: &Topology, host: &Host, priority: u8) -> String {
    if !row.peers {
        return common::conf(topo, host, 1, INTERVAL, priority);
    }
    let mut g = Group::v3(FIRST_VRID, IpAddr::V4(topo.subnet().vip4(0)), 24);
    g.advert_int = INTERVAL;
    g.unicast_peers = topo.nodes().iter().map(|n| IpAddr::V4(n.ipv4)).collect();
    g.extra = "  check_unicast_src\n".into();
    g.keepalived_conf(host, priority)
}

/// Times each node became master so far.
fn transitions(imp: Impl, d: &[Daemon; 2]) -> Result<[u64; 2]> {
    let one = |x: &Daemon| -> Result<u64> {
        if imp.is_ha() {
            common::ha_total(x, "became_master")
        } else {
            Ok(common::keepalived_entered(x, "MASTER") as u64)
        }
    };
    Ok([one(&d[0])?, one(&d[1])?])
}

/// `ha` only: node 1's re-announcement counters.
fn reannounce_counters(imp: Impl, master: &Daemon) -> Option<(u64, u64)> {
    if !imp.is_ha() {
        return None;
    }
    Some((
        common::ha_total(master, "lower_prio_reannounce").ok()?,
        common::ha_total(master, "reassert_limited").ok()?,
    ))
}

fn one_run(row: Row, topo: &Topology, phases: &[Phase; 2], trace: bool) -> Result<Outcome> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let d = [
        row.imp.start(n1, &conf(row, topo, n1, MASTER_PRIORITY))?,
        row.imp.start(n2, &conf(row, topo, n2, BACKUP_PRIORITY))?,
    ];
    let measured = (|| -> Result<Outcome> {
        common::settle(row.imp, topo, &d, 1, INTERVAL)?;
        measure(row, topo, &d, phases)
    })();
    if trace {
        for (i, daemon) in d.iter().enumerate() {
            eprintln!("          node {} transitions:", i + 1);
            for line in daemon.log().lines().filter(|l| {
                [
                    "state changed",
                    "took over",
                    "Entering",
                    "advertisement timeout",
                ]
                .iter()
                .any(|k| l.contains(k))
            }) {
                eprintln!("            {}", strip_ansi(line.trim()));
            }
        }
    }
    for daemon in &d {
        let _ = daemon.crash();
    }
    measured
}

/// A phase's boundaries (start, end of the flood, end of the tail) and the
/// counters at its start and at its end.
struct Window {
    start: SystemTime,
    flood_end: SystemTime,
    end: SystemTime,
    sent: u64,
    send_errors: u64,
    transitions: [[u64; 2]; 2],
    reannounce: [Option<(u64, u64)>; 2],
}

fn measure(row: Row, topo: &Topology, d: &[Daemon; 2], phases: &[Phase; 2]) -> Result<Outcome> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let client = topo.client();
    let vip = topo.subnet().vip4(0);
    let stranger = topo.subnet().v4(STRANGER_OCTET);
    let total = LEAD_IN
        + phases
            .iter()
            .map(|p| Duration::from_secs_f64(p.secs) + TAIL)
            .sum::<Duration>();
    let spoofer = Spoofer::open(client)?;
    // Where the stranger's adverts go: the VRRP group, or each node's own
    // address when the group is unicast.
    let targets: Vec<(Mac, Ipv4Addr)> = if row.peers {
        vec![(n1.mac(), n1.ipv4), (n2.mac(), n2.ipv4)]
    } else {
        vec![(Mac(VRRP_GROUP_MAC), ha::wire::VRRP_GROUP_V4)]
    };

    let caps = [
        Capture::start(n1, total + Duration::from_secs(5))?,
        Capture::start(n2, total + Duration::from_secs(5))?,
    ];
    let probes = (total.as_millis() / PROBE_EVERY.as_millis()) as u16;
    let ping_start = SystemTime::now();
    let (report, windows) = thread::scope(|s| -> Result<(PingReport, Vec<Window>)> {
        let ping = s.spawn(|| client.ping(vip, probes, PROBE_EVERY));
        let windows = (|| -> Result<Vec<Window>> {
            interrupt::sleep(LEAD_IN)?;
            let mut windows = Vec::new();
            for p in phases {
                let start = SystemTime::now();
                let t0 = transitions(row.imp, d)?;
                let r0 = reannounce_counters(row.imp, &d[0]);
                let frames: Vec<(Mac, Vec<u8>)> = targets
                    .iter()
                    .map(|&(mac, dst)| Ok((mac, advert(stranger, dst, vip, p.priority)?)))
                    .collect::<Result<_>>()?;
                let (sent, send_errors) = spoofer.flood(&frames, p.rate, p.secs)?;
                let flood_end = SystemTime::now();
                interrupt::sleep(TAIL)?;
                windows.push(Window {
                    start,
                    flood_end,
                    end: SystemTime::now(),
                    sent,
                    send_errors,
                    transitions: [t0, transitions(row.imp, d)?],
                    reannounce: [r0, reannounce_counters(row.imp, &d[0])],
                });
            }
            Ok(windows)
        })();
        let report = ping.join().expect("ping thread");
        Ok((report?, windows?))
    })?;
    let mut sent_by: Vec<Vec<Frame>> = Vec::new();
    let mut seen_by_master = Vec::new();
    let mut notes = Vec::new();
    for (i, cap) in caps.into_iter().enumerate() {
        let (frames, dropped) = cap.stop_counted()?;
        if dropped > 0 {
            notes.push(format!(
                "the capture on node {} missed {dropped} frames",
                i + 1
            ));
        }
        if i == 0 {
            seen_by_master = frames
                .iter()
                .filter(|f| !f.outgoing && f.vrrp().is_some_and(|a| a.src == stranger))
                .map(|f| f.ts)
                .collect();
        }
        sent_by.push(frames.into_iter().filter(|f| f.outgoing).collect());
    }

    let mut out = Outcome {
        probes: report.sent(),
        lost: report.lost(),
        longest_loss: report.longest_loss(),
        notes,
        ..Outcome::default()
    };
    for (w, p) in windows.iter().zip(phases) {
        let inside = |t: SystemTime| t >= w.start && t < w.end;
        let flooding = |t: SystemTime| t >= w.start && t < w.flood_end;
        let mut po = PhaseOutcome {
            flood_s: ms_between(w.start, w.flood_end) / 1000.0,
            sent: w.sent,
            send_errors: w.send_errors,
            reached_master: seen_by_master.iter().filter(|&&t| inside(t)).count(),
            ..PhaseOutcome::default()
        };
        // (adverts, GARPs, GARP bursts) node `i` sent at times `when` accepts.
        let sent = |i: usize, node: &Host, when: &dyn Fn(SystemTime) -> bool| {
            let adverts = sent_by[i]
                .iter()
                .filter(|f| when(f.ts) && f.vrrp().is_some_and(|a| a.src == node.ipv4))
                .count();
            let garps: Vec<SystemTime> = sent_by[i]
                .iter()
                .filter(|f| {
                    when(f.ts)
                        && f.arp()
                            .is_some_and(|a| a.is_gratuitous() && a.sender_ip == vip)
                })
                .map(|f| f.ts)
                .collect();
            (adverts, garps.len(), bursts(&garps))
        };
        (po.master_adverts, po.master_garps, po.master_bursts) = sent(0, n1, &flooding);
        (po.backup_adverts, po.backup_garps, po.backup_bursts) = sent(1, n2, &inside);
        for i in 0..2 {
            po.transitions[i] = w.transitions[1][i].saturating_sub(w.transitions[0][i]);
        }
        if let [Some(a), Some(b)] = w.reannounce {
            po.ha_reannounce = Some((b.0.saturating_sub(a.0), b.1.saturating_sub(a.1)));
        }
        // Probe k left at ping_start + k × PROBE_EVERY.
        for (k, rtt) in report.rtts.iter().enumerate() {
            let at = ping_start + PROBE_EVERY * k as u32;
            // The lead-in counts with phase 1.
            let first = std::ptr::eq(w, &windows[0]);
            if (inside(at) || (first && at < w.start)) && at < w.end {
                po.probes += 1;
                if rtt.is_none() {
                    po.lost += 1;
                }
            }
        }
        let periodic = po.intervals().round() as usize;
        if po.master_adverts * 10 < periodic * 9 {
            out.notes.push(format!(
                "{}: node 1 sent {} adverts during the flood where its interval asks for {periodic}: it was late, or not master all along",
                p.name, po.master_adverts
            ));
        }
        let expected = (p.secs * f64::from(p.rate)).round() as u64;
        if po.sent < expected {
            out.notes.push(format!(
                "{}: the stranger sent {} of {expected} adverts",
                p.name, po.sent
            ));
        }
        if po.send_errors > 0 {
            out.notes
                .push(format!("{}: {} sends failed", p.name, po.send_errors));
        }
        out.phases.push(po);
    }
    Ok(out)
}

/// How many bursts the sorted times form: a gap over [`BURST_GAP_MS`], or
/// [`BURST_MAX`] packets in the current one, starts a new one.
fn bursts(times: &[SystemTime]) -> usize {
    let mut n = 0;
    let mut in_burst = 0;
    let mut prev: Option<SystemTime> = None;
    for &t in times {
        if in_burst == BURST_MAX || prev.is_none_or(|p| ms_between(p, t) > BURST_GAP_MS) {
            n += 1;
            in_burst = 0;
        }
        in_burst += 1;
        prev = Some(t);
    }
    n
}

/// A whole IPv4 packet: a VRRPv3 advert for the group's VRID and VIP from
/// `src` to `dst` at `priority`, encoded by `ha`'s wire codec.
fn advert(src: Ipv4Addr, dst: Ipv4Addr, vip: Ipv4Addr, priority: u8) -> Result<Vec<u8>> {
    let a = Advert {
        version: Version::V3,
        vrid: FIRST_VRID,
        priority,
        advert_int_cs: (INTERVAL * 100.0).round() as u16,
        addresses: vec![IpAddr::V4(vip)],
        auth: Auth::None,
    };
    let mut buf = vec![0; 20 + a.buffer_len()];
    let len = a
        .emit_ipv4_packet(src, dst, 0, ChecksumForm::PseudoHeader, &mut buf)
        .map_err(|e| anyhow::anyhow!("encoding the spoofed advert: {e}"))?;
    buf.truncate(len);
    Ok(buf)
}

/// An `AF_PACKET` datagram socket on the client's interface: the kernel adds
/// the Ethernet header (the client's MAC, the given destination), nothing
/// else touches the IPv4 packet, so its source can be anyone.
struct Spoofer {
    fd: OwnedFd,
    ifindex: i32,
}

const ETH_P_IP: u16 = 0x0800;

impl Spoofer {
    fn open(host: &Host) -> Result<Spoofer> {
        let fd = hatest::in_netns(&host.ns, || {
            // SAFETY: plain syscall; the result is checked.
            let raw = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                    i32::from(ETH_P_IP.to_be()),
                )
            };
            if raw < 0 {
                return Err(io::Error::last_os_error())
                    .context("socket(AF_PACKET, SOCK_DGRAM) (needs CAP_NET_RAW)");
            }
            // SAFETY: a fresh descriptor we own.
            Ok(unsafe { OwnedFd::from_raw_fd(raw) })
        })
        .with_context(|| format!("{}: spoofing socket", host.ns))?;
        Ok(Spoofer {
            fd,
            ifindex: host.ifindex() as i32,
        })
    }

    fn send(&self, dst: Mac, packet: &[u8]) -> io::Result<()> {
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_IP.to_be();
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&dst.0);
        // SAFETY: valid fd, buffer and address of the given lengths.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&raw const sll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends every frame `rate` times a second for `secs` on a fixed
    /// schedule (a late tick is sent at once, not skipped); returns the
    /// rounds sent and the sends that failed. Stops early on Ctrl-C.
    fn flood(&self, frames: &[(Mac, Vec<u8>)], rate: u32, secs: f64) -> Result<(u64, u64)> {
        let period = Duration::from_secs(1) / rate;
        let rounds = (secs * f64::from(rate)).round() as u32;
        let start = Instant::now();
        let (mut sent, mut errors) = (0, 0);
        for k in 0..rounds {
            interrupt::check()?;
            let at = start + period * k;
            let now = Instant::now();
            if at > now {
                thread::sleep(at - now);
            }
            for (mac, packet) in frames {
                if self.send(*mac, packet).is_err() {
                    errors += 1;
                }
            }
            sent += 1;
        }
        Ok((sent, errors))
    }
}

fn yes_no(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

fn print_report(results: &[(Row, Result<Outcome, String>)], phases: &[Phase; 2]) {
    println!();
    println!(
        "### Hostile LAN: a stranger's spoofed adverts (VRRPv3 at {INTERVAL} s, priorities {MASTER_PRIORITY}/{BACKUP_PRIORITY})"
    );
    println!();
    println!("Machine: {}", machine_line());
    println!();
    println!(
        "The client's namespace sends adverts for the group's VRID and VIP from a stranger \
         (.{STRANGER_OCTET} of the test /24, no node): {}. Node 1 is the master. Adverts and \
         gratuitous ARPs are counted on each node's wire as sent: node 1's while the stranger \
         sends (the flood), node 2's, the transitions and the client's probes with the {} s of \
         quiet after it too. *Extra* adverts are node 1's beyond one per interval; GARPs from one \
         node less than {BURST_GAP_MS} ms apart form one burst (of at most {BURST_MAX}); a \
         *re-announcement* is an extra advert or a GARP burst from node 1, whichever count is \
         higher, per advert interval of the flood (the target allows one more for an interval \
         cut by the flood's start or end). Transitions: times each node became master (ha: \
         `became_master`; keepalived: \"Entering MASTER STATE\"). The client pings the VIP every \
         {} ms throughout.",
        phases
            .iter()
            .map(|p| format!("{} for {} s", p.name, p.secs))
            .collect::<Vec<_>>()
            .join(", then "),
        TAIL.as_secs(),
        PROBE_EVERY.as_millis()
    );
    for (row, r) in results {
        println!();
        println!("#### {}", row.label());
        println!();
        let o = match r {
            Ok(o) => o,
            Err(e) => {
                println!("failed: {}", e.lines().next().unwrap_or(""));
                continue;
            }
        };
        let mut t = Table::new(
            &[
                "phase",
                "spoofed sent / reached node 1",
                "node 1 adverts in the flood (extra)",
                "node 1 GARPs in the flood (bursts)",
                "node 2 adverts",
                "node 2 GARPs (bursts)",
                "became master n1 / n2",
                "probes lost",
                "re-announcements per interval",
            ],
            &[false, true, true, true, true, true, true, true, true],
        );
        for (p, po) in phases.iter().zip(&o.phases) {
            t.row(vec![
                p.name.into(),
                format!("{} / {}", po.sent, po.reached_master),
                format!("{} ({})", po.master_adverts, po.extra_adverts()),
                format!("{} ({})", po.master_garps, po.master_bursts),
                po.backup_adverts.to_string(),
                format!("{} ({})", po.backup_garps, po.backup_bursts),
                format!("{} / {}", po.transitions[0], po.transitions[1]),
                format!("{} / {}", po.lost, po.probes),
                format!("{:.2}", po.per_interval()),
            ]);
        }
        print!("{}", t.render());
        println!();
        let worst = o
            .phases
            .iter()
            .map(PhaseOutcome::per_interval)
            .fold(0.0, f64::max);
        let moved: u64 = o.phases.iter().flat_map(|p| p.transitions).sum();
        let met = o.phases.iter().all(PhaseOutcome::reannounce_target_met);
        println!(
            "- at most one re-announcement per advert interval: {} (worst {worst:.2})",
            yes_no(met)
        );
        if row.peers {
            println!(
                "- no transition caused by the stranger with `check_unicast_src` / the peer list: {} ({moved})",
                yes_no(moved == 0)
            );
        } else {
            println!("- transitions caused by the stranger (no peer list, so no target): {moved}");
        }
        println!(
            "- 0 client probes lost: {} ({} of {}, longest run {})",
            yes_no(o.lost == 0),
            o.lost,
            o.probes,
            o.longest_loss
        );
        for (p, po) in phases.iter().zip(&o.phases) {
            if let Some((r, l)) = po.ha_reannounce {
                println!(
                    "- ha's own count, {}: `lower_prio_reannounce` {r}, `reassert_limited` {l}",
                    p.name
                );
            }
        }
        for n in &o.notes {
            println!("- note: {n}");
        }
    }
    println!();
    let mut t = Table::new(
        &[
            "daemon",
            "re-announcements per interval (phase 1 / 2)",
            "transitions",
            "probes lost",
            "targets met",
        ],
        &[false, true, true, true, false],
    );
    for (row, r) in results {
        match r {
            Ok(o) => {
                let moved: u64 = o.phases.iter().flat_map(|p| p.transitions).sum();
                let reannounce = o.phases.iter().all(PhaseOutcome::reannounce_target_met);
                let mut met = vec![("re-announce", reannounce), ("probes", o.lost == 0)];
                if row.peers {
                    met.push(("stranger", moved == 0));
                }
                let summary = met
                    .iter()
                    .map(|(name, ok)| format!("{name} {}", if *ok { "yes" } else { "no" }))
                    .collect::<Vec<_>>()
                    .join(", ");
                t.row(vec![
                    row.label(),
                    o.phases
                        .iter()
                        .map(|p| format!("{:.2}", p.per_interval()))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    moved.to_string(),
                    o.lost.to_string(),
                    summary,
                ]);
            }
            Err(_) => t.row(vec![row.label(), "failed".into()]),
        }
    }
    print!("{}", t.render());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spoofed_advert_parses() {
        let src = Ipv4Addr::new(198, 18, 3, 200);
        let vip = Ipv4Addr::new(198, 18, 3, 100);
        let bytes = advert(src, ha::wire::VRRP_GROUP_V4, vip, 0).unwrap();
        let (header, received) = Advert::parse_ipv4_packet(&bytes).unwrap();
        assert_eq!((header.src, header.ttl), (src, 255));
        assert_eq!(received.advert.priority, 0);
        assert_eq!(received.advert.vrid, FIRST_VRID);
        assert_eq!(received.advert.addresses, vec![IpAddr::V4(vip)]);
    }

    #[test]
    fn garps_group_into_bursts() {
        let t0 = SystemTime::UNIX_EPOCH;
        let ms = |m: u64| t0 + Duration::from_millis(m);
        assert_eq!(bursts(&[]), 0);
        assert_eq!(bursts(&[ms(0), ms(1), ms(2), ms(500), ms(501)]), 2);
        // A storm with no gap: bursts of five.
        let storm: Vec<SystemTime> = (0..12).map(ms).collect();
        assert_eq!(bursts(&storm), 3);
    }
}
