//! `cargo xtask bench failover`: how long a client loses the VIP when the
//! master fails, for `ha` and keepalived fed the same keepalived.conf.
//!
//! One run: a fresh topology (two nodes, a client, IPv4 only), the daemon on
//! both nodes (VRRPv3, priorities 200/100), wait until node 1 is master and
//! node 2 backup, then the client pings the VIP (every 1 ms, or 10 ms at 1 s
//! adverts) while an `AF_PACKET` capture runs on its interface; after a short
//! lead-in the master gets the fault. Two numbers per run:
//!
//! - takeover: fault → the first gratuitous ARP for the VIP from node 2 on the
//!   client's wire (kernel timestamp);
//! - outage: the longest run of unanswered pings × the ping interval.
//!
//! Then the daemons are killed and the topology is removed before the next
//! run, so runs do not share any state.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    thread,
    time::{Duration, SystemTime},
};

use anyhow::{Result, anyhow, bail};
use clap::ValueEnum;
use hatest::{
    Capture, Daemon, Frame, Group, Host, Kind, PingReport, Topology, probe::MAX_PROBES, wait_until,
};

use super::{
    Args, interrupt, machine_line,
    table::{self, Stats, Table},
};

/// The VRID of every run (each run is its own L2 domain).
const VRID: u8 = 51;
/// The backup's priority; the master runs at 200.
const BACKUP_PRIORITY: u8 = 100;
/// Pings before the fault (at least): the client resolves the VIP to the
/// master, and the capture sees the master's last advert before the fault.
const LEAD_IN: Duration = Duration::from_millis(300);

/// How long before the fault the ping and the capture start at `interval`:
/// long enough to see an advert, plus a random fraction of an interval so
/// the fault falls anywhere between two adverts, as a real one would.
fn lead_in(interval: f64) -> Duration {
    let base = LEAD_IN.max(Duration::from_secs_f64(interval) + Duration::from_millis(100));
    base + Duration::from_secs_f64(interval * unit_random())
}

/// A number in [0, 1), different every call (no generator needed for this).
pub(super) fn unit_random() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A fault injected at the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Fault {
    /// SIGKILL to the master's daemon (its whole process group).
    #[value(name = "kill9")]
    Kill9,
    /// The master's interface set administratively down.
    LinkDown,
    /// SIGTERM to the master's daemon: an orderly shutdown.
    Sigterm,
}

impl Fault {
    pub(super) const ALL: [Fault; 3] = [Fault::Kill9, Fault::LinkDown, Fault::Sigterm];

    pub(super) fn label(self) -> &'static str {
        match self {
            Fault::Kill9 => "kill -9",
            Fault::LinkDown => "link down",
            Fault::Sigterm => "SIGTERM",
        }
    }
}

/// Skew_Time of a v3 router at `priority` (RFC 9568 §6.1), in seconds.
fn skew(interval: f64, priority: u8) -> f64 {
    (256.0 - f64::from(priority)) / 256.0 * interval
}

/// Master_Down_Interval of the backup (RFC 9568 §6.1), in seconds.
fn master_down(interval: f64) -> f64 {
    3.0 * interval + skew(interval, BACKUP_PRIORITY)
}

/// The RFC's takeover bound for `fault`, in seconds: Master_Down_Interval,
/// or Skew_Time after a priority-0 advert.
fn rfc_bound(fault: Fault, interval: f64) -> f64 {
    match fault {
        Fault::Sigterm => skew(interval, BACKUP_PRIORITY),
        _ => master_down(interval),
    }
}

/// How often the client pings at `interval`.
fn probe_interval(interval: f64) -> Duration {
    if interval >= 0.5 {
        Duration::from_millis(10)
    } else {
        Duration::from_millis(1)
    }
}

/// What one run measured.
#[derive(Clone, Debug)]
struct Sample {
    /// Fault → first GARP from the new master, ms; `None` if none was seen.
    takeover_ms: Option<f64>,
    /// The old master's last advert before the fault (for SIGTERM: its first
    /// priority-0 advert) → the same GARP, ms: what the RFC bound limits.
    from_advert_ms: Option<f64>,
    /// Longest run of lost pings × ping interval, ms.
    outage_ms: f64,
    /// Pings lost in all.
    lost: usize,
    /// Anything unexpected (the client never moved, a daemon did not exit…).
    notes: Vec<String>,
}

/// One row of the table: a fault at an advert interval.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
struct Row {
    fault: Fault,
    interval: f64,
}

const KINDS: [Kind; 2] = [Kind::Ha, Kind::Keepalived];

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Ha => "ha",
        Kind::Keepalived => "keepalived",
    }
}

/// Results per row, per daemon: one entry per attempted run.
type Results = BTreeMap<(usize, usize), Vec<Result<Sample, String>>>;

pub fn run(args: &Args) -> Result<()> {
    let faults = if args.faults.is_empty() {
        Fault::ALL.to_vec()
    } else {
        let mut f = args.faults.clone();
        f.sort();
        f.dedup();
        f
    };
    let mut intervals = args.intervals.clone();
    intervals.sort_by(|a, b| b.total_cmp(a));
    intervals.dedup();
    let runs_1s = args.runs_1s.unwrap_or(args.runs.min(3));
    let runs_for = |interval: f64| usize::from(if interval >= 0.5 { runs_1s } else { args.runs });

    let rows: Vec<Row> = faults
        .iter()
        .flat_map(|&fault| {
            intervals
                .iter()
                .map(move |&interval| Row { fault, interval })
        })
        .collect();
    let total: usize = rows
        .iter()
        .map(|r| runs_for(r.interval) * KINDS.len())
        .sum();
    eprintln!(
        "bench failover: {} rows × {{ha, keepalived}}, {total} runs (each in a fresh topology); Ctrl-C stops early and prints what was measured",
        rows.len()
    );

    let mut results = Results::new();
    let mut done = 0;
    'rows: for (ri, row) in rows.iter().enumerate() {
        let runs = runs_for(row.interval);
        for run in 0..runs {
            for (ki, &kind) in KINDS.iter().enumerate() {
                if interrupt::requested() {
                    break 'rows;
                }
                done += 1;
                let outcome = one_run(kind, row.fault, row.interval, args.trace);
                let line = format!(
                    "[{done:>3}/{total}] {:<10} {:<9} {:>5} s  run {}/{runs}",
                    kind_name(kind),
                    row.fault.label(),
                    row.interval,
                    run + 1
                );
                match &outcome {
                    Ok(s) => {
                        let takeover = s
                            .takeover_ms
                            .map_or("no GARP seen".into(), |t| format!("{} ms", table::ms(t)));
                        let from_advert = s
                            .from_advert_ms
                            .map_or("?".into(), |t| format!("{} ms", table::ms(t)));
                        eprintln!(
                            "{line}  outage {:>5} ms ({} lost)  takeover {takeover:>9} (from advert {from_advert}){}",
                            table::ms(s.outage_ms),
                            s.lost,
                            super::common::note_lines(&s.notes)
                        );
                    }
                    Err(e) => {
                        super::common::report_failure(&line, "FAILED", e);
                    }
                }
                let cut_short = interrupt::requested();
                // A run that Ctrl-C cut short is no sample; one that finished is.
                if !(cut_short && outcome.is_err()) {
                    results
                        .entry((ri, ki))
                        .or_default()
                        .push(outcome.map_err(|e| format!("{e:#}")));
                }
                if cut_short {
                    break 'rows;
                }
            }
        }
    }
    print_report(&rows, &results, args.runs, runs_1s, &runs_for);
    if interrupt::requested() {
        bail!("interrupted: the table above holds only the runs that finished");
    }
    Ok(())
}

/// One run of `kind` with `fault` at `interval`, in a topology of its own.
fn one_run(kind: Kind, fault: Fault, interval: f64, trace: bool) -> Result<Sample> {
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let prefix = topo.prefix().to_owned();
    let measured = measure(&topo, kind, fault, interval, trace);
    let torn = topo.teardown();
    let left: Vec<String> = hatest::netns::list()?
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    let sample = measured?;
    torn?;
    if !left.is_empty() {
        bail!("namespaces left after teardown: {left:?}");
    }
    Ok(sample)
}

fn start(kind: Kind, host: &Host, conf: &str) -> Result<Daemon> {
    match kind {
        Kind::Ha => Daemon::ha(host, "ha", conf),
        Kind::Keepalived => Daemon::keepalived(host, "k", conf),
    }
}

/// Waits until node 1 is master (owns the VIP) and node 2 is backup.
fn settle(kind: Kind, d: &[Daemon; 2], n: [&Host; 2], vip: Ipv4Addr, interval: f64) -> Result<()> {
    let limit = Duration::from_secs_f64(4.0 * master_down(interval)) + Duration::from_secs(3);
    match kind {
        Kind::Ha => {
            d[0].wait_state("master", limit)?;
            d[1].wait_state("backup", limit)?;
        }
        Kind::Keepalived => {
            wait_until("keepalived on node 1 to own the VIP", limit, || {
                n[0].has_address(vip)
            })?;
            wait_until("keepalived on node 2 to be backup", limit, || {
                Ok(d[1].log().contains("Entering BACKUP STATE") && !n[1].has_address(vip)?)
            })?;
        }
    }
    Ok(())
}

fn measure(
    topo: &Topology,
    kind: Kind,
    fault: Fault,
    interval: f64,
    trace: bool,
) -> Result<Sample> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let vip = topo.subnet().vip4(0);
    let mut group = Group::v3(VRID, IpAddr::V4(vip), 24);
    group.advert_int = interval;
    let d = [
        start(kind, n1, &group.keepalived_conf(n1, 200))?,
        start(kind, n2, &group.keepalived_conf(n2, BACKUP_PRIORITY))?,
    ];
    let result = measure_settled(topo, kind, (fault, interval, trace), &d, vip);
    // Kill both at once: nothing to hand over any more, and no one waits for a grace period.
    for daemon in &d {
        let _ = daemon.crash();
    }
    result.map_err(|e| anyhow!("{e:#}\n{}\n{}", log_tail(&d[0]), log_tail(&d[1])))
}

fn measure_settled(
    topo: &Topology,
    kind: Kind,
    (fault, interval, trace): (Fault, f64, bool),
    d: &[Daemon; 2],
    vip: Ipv4Addr,
) -> Result<Sample> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let client = topo.client();
    settle(kind, d, [n1, n2], vip, interval)?;
    // A moment in steady state before anything is measured.
    interrupt::sleep(Duration::from_millis(200))?;
    let lead = lead_in(interval);

    let probe = probe_interval(interval);
    let after = Duration::from_secs_f64(1.5 * master_down(interval) + 1.0);
    let count = ((lead + after).as_secs_f64() / probe.as_secs_f64()).ceil() as u16;
    let count = count.min(MAX_PROBES);
    let capture = Capture::start(client, lead + after + Duration::from_secs(3))?;
    let (fault_at, report) = thread::scope(|s| -> Result<_> {
        let ping = s.spawn(|| client.ping(vip, count, probe));
        thread::sleep(lead);
        let fault_at = inject(fault, &d[0], n1);
        let report = ping
            .join()
            .map_err(|_| anyhow!("the ping thread panicked"))?;
        Ok((fault_at?, report?))
    })?;
    let (frames, dropped) = capture.stop_counted()?;
    let mut sample = analyze(
        &frames,
        &report,
        (probe, interval),
        fault,
        fault_at,
        [n1, n2],
        vip,
    );
    if dropped > 0 {
        sample
            .notes
            .push(format!("the capture missed {dropped} frames"));
    }
    if !n2.has_address(vip)? {
        sample
            .notes
            .push("node 2 does not hold the VIP at the end".into());
    }
    if fault == Fault::Sigterm {
        match d[0].proc.try_wait()? {
            None => sample
                .notes
                .push("node 1's daemon had not exited after SIGTERM".into()),
            Some(s) if !s.success() => sample
                .notes
                .push(format!("node 1's daemon exited with {s}")),
            Some(_) => {}
        }
    }
    if trace && !sample.notes.is_empty() {
        print_trace(&frames, fault_at, sample.takeover_ms, [n1, n2], vip);
    }
    Ok(sample)
}

/// The numbers of one run, from the client's capture and ping report.
fn analyze(
    frames: &[Frame],
    report: &PingReport,
    (probe, interval): (Duration, f64),
    fault: Fault,
    fault_at: SystemTime,
    [n1, n2]: [&Host; 2],
    vip: Ipv4Addr,
) -> Sample {
    let mut notes = Vec::new();
    let garps = |from: &Host| {
        let mac = from.mac();
        frames.iter().filter(move |f| {
            !f.outgoing
                && f.src_mac() == Some(mac)
                && f.arp()
                    .is_some_and(|a| a.is_gratuitous() && a.sender_ip == vip)
        })
    };
    let adverts = |from: &Host| {
        let ip = from.ipv4;
        frames
            .iter()
            .filter(move |f| !f.outgoing && f.vrrp().is_some_and(|a| a.vrid == VRID && a.src == ip))
    };
    let garp = garps(n2).find(|f| f.ts >= fault_at);
    let takeover_ms = garp.map(|f| ms_between(fault_at, f.ts));
    // The advert the backup's timer runs from.
    let reference = match fault {
        Fault::Sigterm => {
            adverts(n1).find(|f| f.ts >= fault_at && f.vrrp().is_some_and(|a| a.priority == 0))
        }
        _ => adverts(n1).rfind(|f| f.ts < fault_at),
    };
    let from_advert_ms = match (reference, garp) {
        (Some(r), Some(g)) => Some(ms_between(r.ts, g.ts)),
        _ => None,
    };
    let bound_ms = rfc_bound(fault, interval) * 1000.0;
    if let Some(late) = from_advert_ms.filter(|&t| t > 1.5 * bound_ms + 10.0) {
        notes.push(format!(
            "the new master's first GARP came {late:.0} ms after the reference advert, \
             the RFC bound is {bound_ms:.0} ms"
        ));
    }
    if let Some(r) = reference.filter(|_| fault != Fault::Sigterm) {
        let quiet = ms_between(r.ts, fault_at);
        if quiet > 1500.0 * interval + 10.0 {
            notes.push(format!(
                "node 1's last advert before the fault came {quiet:.0} ms before it \
                 (adverts every {:.0} ms)",
                interval * 1000.0
            ));
        }
    }
    if reference.is_none() {
        notes.push(match fault {
            Fault::Sigterm => "no priority-0 advert from node 1 seen".to_owned(),
            _ => "no advert from node 1 seen before the fault".to_owned(),
        });
    }
    // Node 2 must not have been master before the fault, nor node 1 (its
    // daemon dead or its link down) after it.
    let early_adverts = adverts(n2).filter(|f| f.ts < fault_at).count();
    let early_garps = garps(n2).filter(|f| f.ts < fault_at).count();
    if early_adverts + early_garps > 0 {
        notes.push(format!(
            "node 2 acted as master before the fault ({early_adverts} advert(s), \
             {early_garps} gratuitous ARP(s)): a spurious Master_Down while node 1 was alive"
        ));
    }
    if fault != Fault::Sigterm {
        let late = adverts(n1)
            .filter(|f| f.ts > fault_at + Duration::from_millis(1))
            .count();
        if late > 0 {
            notes.push(format!("node 1 sent {late} advert(s) after the fault"));
        }
    }
    // The longest outage should start at the fault; say so when it did not.
    let sent_at = probe_times(frames, vip);
    if let Some((first, len)) = longest_loss_run(report)
        && let Some(t) = sent_at.get(&first)
    {
        let lead = ms_between(*t, fault_at);
        if lead > probe.as_secs_f64() * 1000.0 * 2.0 {
            notes.push(format!(
                "the longest outage ({len} pings) began {lead:.0} ms before the fault"
            ));
        }
    }
    // Where the client's traffic went last: its neighbour entry for the VIP.
    let last_dst = frames
        .iter()
        .rev()
        .find(|f| f.outgoing && f.echo().is_some_and(|e| !e.reply && e.dst == vip))
        .and_then(|f| f.dst_mac());
    if last_dst != Some(n2.mac()) {
        notes.push(format!(
            "the client still sent to {} at the end, not to node 2",
            last_dst.map_or("nobody".into(), |m| m.to_string())
        ));
    }
    Sample {
        takeover_ms,
        from_advert_ms,
        outage_ms: (report.longest_loss() as f64) * probe.as_secs_f64() * 1000.0,
        lost: report.lost(),
        notes,
    }
}

/// Send time of each ping (by sequence number), from the capture.
fn probe_times(frames: &[Frame], vip: Ipv4Addr) -> BTreeMap<usize, SystemTime> {
    let mut times = BTreeMap::new();
    for f in frames.iter().filter(|f| f.outgoing) {
        if let Some(e) = f.echo().filter(|e| !e.reply && e.dst == vip) {
            times.entry(usize::from(e.seq)).or_insert(f.ts);
        }
    }
    times
}

/// `(first probe, length)` of the longest run of unanswered pings.
fn longest_loss_run(report: &PingReport) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < report.rtts.len() {
        if report.rtts[i].is_some() {
            i += 1;
            continue;
        }
        let first = i;
        while i < report.rtts.len() && report.rtts[i].is_none() {
            i += 1;
        }
        if best.is_none_or(|(_, len)| i - first > len) {
            best = Some((first, i - first));
        }
    }
    best
}

/// `--trace`: adverts and ARP on the client's wire around the fault.
fn print_trace(
    frames: &[Frame],
    fault_at: SystemTime,
    takeover_ms: Option<f64>,
    [n1, n2]: [&Host; 2],
    vip: Ipv4Addr,
) {
    let name = |mac: Option<hatest::Mac>| match mac {
        Some(m) if m == n1.mac() => "node 1".to_owned(),
        Some(m) if m == n2.mac() => "node 2".to_owned(),
        Some(m) => m.to_string(),
        None => "?".into(),
    };
    let until = takeover_ms.unwrap_or(0.0).max(0.0) + 50.0;
    eprintln!("          trace (ms from the fault; adverts and ARP on the client's wire):");
    for f in frames {
        let t = ms_between(fault_at, f.ts);
        // The last 300 ms before the fault show what led to it.
        if !(-LEAD_IN.as_secs_f64() * 1000.0..=until).contains(&t) {
            continue;
        }
        if let Some(a) = f.vrrp() {
            eprintln!(
                "          {t:>9.3}  advert from {} priority {}",
                name(f.src_mac()),
                a.priority
            );
        } else if let Some(a) = f.arp() {
            let what = if a.is_gratuitous() && a.sender_ip == vip {
                "gratuitous ARP".to_owned()
            } else if a.op == 1 {
                format!("who has {}", a.target_ip)
            } else {
                format!("{} is at {}", a.sender_ip, a.sender_mac)
            };
            let dir = if f.outgoing {
                "client"
            } else {
                &name(f.src_mac())
            };
            eprintln!("          {t:>9.3}  {dir}: {what}");
        }
    }
}

/// The last lines a daemon printed, for a failed run.
fn log_tail(d: &Daemon) -> String {
    let log = d.log();
    let lines: Vec<&str> = log.lines().collect();
    let mut out = String::new();
    if let Some(first) = lines.first() {
        out += first;
        out += "\n";
    }
    for l in &lines[lines.len().saturating_sub(12).max(1)..] {
        out += l;
        out += "\n";
    }
    strip_ansi(&out)
}

/// Without terminal colour sequences (`ESC [ … m`), which some logs carry.
pub(super) fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Injects `fault` at the master and returns when it happened.
pub(super) fn inject(fault: Fault, master: &Daemon, host: &Host) -> Result<SystemTime> {
    match fault {
        Fault::Kill9 => {
            let at = SystemTime::now();
            master.crash()?;
            Ok(at)
        }
        Fault::LinkDown => hatest::fault::set_link(host, false),
        Fault::Sigterm => {
            let at = SystemTime::now();
            master.terminate()?;
            Ok(at)
        }
    }
}

pub(super) fn ms_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -e.duration().as_secs_f64() * 1000.0,
    }
}

fn interval_label(interval: f64) -> String {
    format!("{interval} s")
}

/// Which number of a [`Sample`] a table shows.
#[derive(Clone, Copy)]
enum Metric {
    Takeover,
    FromAdvert,
    Outage,
}

impl Metric {
    fn of(self, s: &Sample) -> Option<f64> {
        match self {
            Metric::Takeover => s.takeover_ms,
            Metric::FromAdvert => s.from_advert_ms,
            Metric::Outage => Some(s.outage_ms),
        }
    }
}

fn print_report(
    rows: &[Row],
    results: &Results,
    runs: u16,
    runs_1s: u16,
    runs_for: &dyn Fn(f64) -> usize,
) {
    let stats = |ri: usize, ki: usize, m: Metric| -> Option<Stats> {
        let v: Vec<f64> = results
            .get(&(ri, ki))
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_ref().ok())
            .filter_map(|s| m.of(s))
            .collect();
        table::stats(&v)
    };
    let metric_table = |m: Metric| {
        let ping = matches!(m, Metric::Outage);
        let mut header = vec!["fault", "advert"];
        if ping {
            header.push("ping every");
        }
        header.extend(["RFC bound", "ha", "keepalived", "ha/keepalived"]);
        let mut right = vec![true; header.len()];
        right[0] = false;
        let mut t = Table::new(&header, &right);
        for (ri, row) in rows.iter().enumerate() {
            // After Ctrl-C, only the rows that got somewhere.
            if !KINDS
                .iter()
                .enumerate()
                .any(|(ki, _)| results.contains_key(&(ri, ki)))
            {
                continue;
            }
            let n = runs_for(row.interval);
            let mark = if ping && row.fault == Fault::Kill9 {
                " ¹"
            } else {
                ""
            };
            let mut cells = vec![
                format!("{}{mark}", row.fault.label()),
                interval_label(row.interval),
            ];
            if ping {
                cells.push(format!("{} ms", probe_interval(row.interval).as_millis()));
            }
            let (h, k) = (stats(ri, 0, m), stats(ri, 1, m));
            cells.extend([
                table::ms(rfc_bound(row.fault, row.interval) * 1000.0),
                table::cell(h, n),
                table::cell(k, n),
                table::ratio(h, k),
            ]);
            t.row(cells);
        }
        print!("{}", t.render());
        println!();
    };

    println!();
    println!(
        "### Failover: ha vs keepalived, same keepalived.conf (VRRPv3, 2 nodes, priorities 200/100)"
    );
    println!();
    println!("Machine: {}", machine_line());
    println!();
    println!(
        "All times in ms, median (min–max) over the runs; `[k/n]`: only k of n runs gave a value."
    );
    println!();
    println!(
        "**(a) Client outage**: the longest run of unanswered pings from the client to the VIP × \
         the ping interval."
    );
    println!();
    metric_table(Metric::Outage);
    if rows.iter().any(|r| r.fault == Fault::Kill9) {
        println!(
            "¹ kill -9: the dead master's kernel keeps the VIP (no daemon is left to remove it) and \
             goes on answering the client until the new master's gratuitous ARP moves the client \
             over, so a ping outage of ~0 is expected for both daemons here; the takeover time \
             (b) is the number that matters. ha's XDP program stops answering ARP for the VIP once \
             the dead daemon's heartbeat is stale (before the takeover), but a client whose ARP \
             entry is still fresh keeps sending to the dead host, whose kernel still has the address."
        );
        println!();
    }
    println!(
        "**(b) Takeover**: from the fault to the first gratuitous ARP for the VIP from the new \
         master, seen on the client's wire (AF_PACKET capture, kernel timestamps)."
    );
    println!();
    metric_table(Metric::Takeover);
    println!(
        "**(c) Takeover against the RFC bound**: the same gratuitous ARP, timed from the old \
         master's last advert before the fault (SIGTERM: from its priority-0 advert), which is \
         where the backup's timer starts. (b) is shorter than this by up to one advert interval: \
         each run puts the fault at a random point between two adverts."
    );
    println!();
    metric_table(Metric::FromAdvert);
    println!(
        "- RFC bound: Master_Down_Interval = 3 × interval + Skew_Time, Skew_Time = (256 − 100)/256 \
         × interval for the backup at priority 100 (RFC 9568 §6.1); for SIGTERM the master sends \
         priority 0 and the bound is Skew_Time. It does not include sending the ARP or scheduling."
    );
    println!(
        "- SIGTERM: ha keeps the VIP until it hears the new master (make-before-break); keepalived \
         sends priority 0 and removes the VIP at once."
    );
    println!(
        "- Link down: the master's interface is set down (one ioctl, timestamped); the client \
         loses the VIP until the new master's gratuitous ARP."
    );
    let r1 = rows.iter().any(|r| r.interval >= 0.5);
    let rf = rows.iter().any(|r| r.interval < 0.5);
    match (r1, rf) {
        (true, true) if runs_1s != runs => println!(
            "- Runs: {runs} per cell at sub-second adverts, {runs_1s} at 1 s (one run takes ~12 s \
             there); every run in a fresh topology, ha and keepalived alternating."
        ),
        (true, false) => println!(
            "- Runs: {runs_1s} per cell; every run in a fresh topology, ha and keepalived alternating."
        ),
        _ => println!(
            "- Runs: {runs} per cell; every run in a fresh topology, ha and keepalived alternating."
        ),
    }
    // Anything that did not go as planned, so the table is never read without it.
    let mut failed = Vec::new();
    let mut missing_garp = 0;
    let mut notes = BTreeMap::<String, usize>::new();
    for ((ri, ki), outcomes) in results {
        let row = rows[*ri];
        for o in outcomes {
            match o {
                Err(e) => failed.push(format!(
                    "{} {} {}: {}",
                    kind_name(KINDS[*ki]),
                    row.fault.label(),
                    interval_label(row.interval),
                    e.lines().next().unwrap_or("")
                )),
                Ok(s) => {
                    if s.takeover_ms.is_none() {
                        missing_garp += 1;
                    }
                    for n in &s.notes {
                        *notes
                            .entry(format!(
                                "{} {} {}: {n}",
                                kind_name(KINDS[*ki]),
                                row.fault.label(),
                                interval_label(row.interval)
                            ))
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    if missing_garp > 0 {
        println!(
            "- {missing_garp} run(s) saw no gratuitous ARP from the new master within the window; \
             their takeover is left out ([k/n] in a cell)."
        );
    }
    for (n, count) in notes {
        println!("- {n} ({count}×)");
    }
    for f in &failed {
        println!("- failed run: {f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_bounds() {
        assert!((master_down(1.0) - 3.609_375).abs() < 1e-9);
        assert!((rfc_bound(Fault::Sigterm, 0.01) - 0.006_093_75).abs() < 1e-9);
        assert!((rfc_bound(Fault::LinkDown, 0.1) - 0.360_937_5).abs() < 1e-9);
    }

    #[test]
    fn plain_logs() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m up"),
            "2026  INFO up"
        );
    }

    #[test]
    fn lead_in_covers_an_advert() {
        for i in [1.0, 0.1, 0.01] {
            let l = lead_in(i);
            assert!(l >= Duration::from_secs_f64(i) && l >= LEAD_IN);
            assert!(
                l < LEAD_IN.max(Duration::from_secs_f64(i))
                    + Duration::from_secs_f64(i)
                    + Duration::from_millis(101)
            );
        }
    }
}
