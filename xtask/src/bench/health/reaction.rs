//! Phase 1 of `bench health`: how long after nginx dies on the master a
//! client of the VIP is served by the backup's nginx.
//!
//! One run: a fresh two-node topology, a real nginx on each node (its page
//! names the node), each node's daemon tracking a `vrrp_script` that runs
//! `curl` against its own nginx (fall 2, rise 2), VRRPv3 at 0.1 s, node 1
//! at priority 200, node 2 at 100. Once node 1 serves the VIP and both
//! checks pass, the client probes the VIP over HTTP every 5 ms
//! ([`super::prober`]) and node 1's nginx is killed (SIGKILL to its process
//! group). The number: the first response from node 2 minus the kill.
//!
//! The check script logs its start time and exit status, so the phase of
//! the check schedule against the kill (0 to one interval) is measured and
//! also taken out: from the start of the first failing run to node 2's
//! first response, the floor is (fall − 1) × interval plus Skew_Time
//! (weight 0: node 1 goes to FAULT and sends priority 0) or plus
//! Master_Down_Interval (weight −150: node 1 falls to priority 50 and the
//! backup, preempting, waits out the master-down timer).

use std::{
    fs,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
    thread,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, anyhow, bail};
use hatest::{Capture, Daemon, Topology, services::Nginx, wait_until};

use super::{
    super::{
        Args,
        common::{self, Impl},
        failover::{ms_between, unit_random},
        interrupt, machine_line,
        table::{self, Table},
    },
    conf::{self, Check, Instance, Probe},
    prober,
};

/// The advert interval of every run (VRRPv3).
const ADVERT: f64 = 0.1;
const VRID: u8 = 51;
const RISE: u32 = 2;
const FALL: u32 = 2;
/// The weight that takes node 1 (200) below node 2 (100).
const NEGATIVE_WEIGHT: i32 = -150;
/// The check intervals measured, seconds.
const INTERVALS: [f64; 2] = [1.0, 0.1];
const WEIGHTS: [i32; 2] = [0, NEGATIVE_WEIGHT];
const CHECK: &str = "chk_nginx";

/// One row: a check interval and a weight.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Row {
    interval: f64,
    weight: i32,
}

impl Row {
    /// What follows the fall-th failure: Skew_Time after node 1's priority-0
    /// advert, or Master_Down_Interval after its last advert above node 2.
    fn vrrp_part(self) -> f64 {
        if self.weight == 0 {
            common::skew(ADVERT, common::BACKUP_PRIORITY)
        } else {
            common::master_down(ADVERT)
        }
    }

    /// The floor from the kill, phase included at its worst: fall × interval + the VRRP part.
    fn floor_ms(self) -> f64 {
        (f64::from(FALL) * self.interval + self.vrrp_part()) * 1000.0
    }

    /// The floor from the first failing check: (fall − 1) × interval + the VRRP part.
    fn floor_since_check_ms(self) -> f64 {
        (f64::from(FALL - 1) * self.interval + self.vrrp_part()) * 1000.0
    }

    fn weight_label(self) -> String {
        if self.weight == 0 {
            "0 (FAULT)".into()
        } else {
            format!("{} (200 → {})", self.weight, 200 + self.weight)
        }
    }
}

/// What one run measured.
#[derive(Clone, Debug)]
struct Sample {
    /// Kill → first response from node 2, ms.
    total_ms: Option<f64>,
    /// Kill → start of node 1's first failing check, ms.
    phase_ms: Option<f64>,
    /// End of node 1's fall-th failing check → node 1's first advert at
    /// the new priority on the client's wire, ms: the daemon noticing.
    notice_ms: Option<f64>,
    /// The end of the backup's RFC timer → node 2's first response, ms. The
    /// timer: Skew_Time from node 1's priority-0 advert (weight 0), or
    /// Master_Down_Interval from its last advert at 200 (negative weight).
    after_timer_ms: Option<f64>,
    notes: Vec<String>,
}

impl Sample {
    fn since_check_ms(&self) -> Option<f64> {
        Some(self.total_ms? - self.phase_ms?)
    }
}

/// The outcome of every run of one (row, daemon) cell, or why it was skipped.
enum Cell {
    Runs(Vec<Result<Sample, String>>),
    Skipped(String),
}

pub fn run(args: &Args, daemons: &[Impl]) -> Result<()> {
    let runs = usize::from(if args.quick { 2 } else { args.runs });
    let rows: Vec<Row> = INTERVALS
        .iter()
        .flat_map(|&interval| WEIGHTS.iter().map(move |&weight| Row { interval, weight }))
        .collect();
    let mut cells: Vec<((usize, Impl), Cell)> = Vec::new();
    for (ri, row) in rows.iter().enumerate() {
        for &imp in daemons {
            let cell = if imp.is_ha() {
                Cell::Runs(Vec::new())
            } else {
                match keepalived_refusal(row.interval)? {
                    Some(why) => Cell::Skipped(why),
                    None => Cell::Runs(Vec::new()),
                }
            };
            if let Cell::Skipped(why) = &cell {
                eprintln!(
                    "bench health: keepalived at a {} s check interval skipped: {why}",
                    row.interval
                );
            }
            cells.push(((ri, imp), cell));
        }
    }
    let total: usize = cells
        .iter()
        .filter(|(_, c)| matches!(c, Cell::Runs(_)))
        .count()
        * runs;
    eprintln!(
        "bench health (reaction): {} rows × {} daemons, {total} runs (each in a fresh topology); Ctrl-C stops early and prints what was measured",
        rows.len(),
        daemons.len()
    );
    let mut done = 0;
    'all: for run in 0..runs {
        for ((ri, imp), cell) in cells.iter_mut() {
            let Cell::Runs(samples) = cell else { continue };
            if interrupt::requested() {
                break 'all;
            }
            done += 1;
            let row = rows[*ri];
            let outcome = common::in_topology(|topo| one_run(*imp, topo, row));
            let line = format!(
                "[{done:>2}/{total}] {:<11} check every {:>3} s, weight {:>4}, run {}/{runs}",
                imp.label(),
                row.interval,
                row.weight,
                run + 1
            );
            match &outcome {
                Ok(s) => eprintln!(
                    "{line}  kill → node 2: {}, phase {}{}",
                    s.total_ms
                        .map_or("none".into(), |t| format!("{} ms", table::ms(t))),
                    s.phase_ms
                        .map_or("?".into(), |t| format!("{} ms", table::ms(t))),
                    common::note_lines(&s.notes)
                ),
                Err(e) => {
                    if common::report_failure(&line, "FAILED", e) {
                        break 'all;
                    }
                }
            }
            samples.push(outcome.map_err(|e| format!("{e:#}")));
        }
    }
    print_report(&rows, &cells, daemons, runs);
    Ok(())
}

/// Whether keepalived refuses a `vrrp_script` interval of `interval` s:
/// its own config test (`keepalived -t`) on a file with such a script.
fn keepalived_refusal(interval: f64) -> Result<Option<String>> {
    let dir = hatest::TempDir::new("bench-health-kt")?;
    let file = dir.path().join("keepalived.conf");
    fs::write(
        &file,
        format!("vrrp_script chk {{\n  script \"/bin/true\"\n  interval {interval}\n}}\n"),
    )?;
    let out = std::process::Command::new("keepalived")
        .args(["-t", "-l", "-f"])
        .arg(&file)
        .output()
        .context("running keepalived -t")?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("interval") && (l.contains("ignoring") || l.contains("invalid")))
        .map(|l| l.split_once(") ").map_or(l, |(_, m)| m).trim())
        .collect();
    Ok((!complaints.is_empty()).then(|| format!("keepalived -t says: {}", complaints.join("; "))))
}

/// The check script of a node: curl against its own nginx, its start and
/// end times and exit status appended to `log` (bash's $EPOCHREALTIME: no
/// extra fork).
fn write_script(path: &Path, log: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let body = format!(
        "#!/bin/bash\n\
         # bench health: is nginx serving? The start time and result are logged.\n\
         t=$EPOCHREALTIME\n\
         /usr/bin/curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:80/\n\
         rc=$?\n\
         echo \"$t $EPOCHREALTIME $rc\" >> {}\n\
         exit $rc\n",
        log.display()
    );
    fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// One run of a check script, from its log.
#[derive(Clone, Copy, Debug)]
struct Logged {
    start: SystemTime,
    end: SystemTime,
    rc: i32,
}

/// Every run of a check script so far.
fn runs_logged(log: &Path) -> Vec<Logged> {
    let time = |t: &str| -> Option<SystemTime> {
        let secs: f64 = t.replace(',', ".").parse().ok()?;
        Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
    };
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [start, end, rc] = f[..] else { return None };
            Some(Logged {
                start: time(start)?,
                end: time(end)?,
                rc: rc.parse().ok()?,
            })
        })
        .collect()
}

/// At least `n` successes in a row at the end of the log.
fn passing(log: &Path, n: usize) -> bool {
    let runs = runs_logged(log);
    runs.len() >= n && runs[runs.len() - n..].iter().all(|r| r.rc == 0)
}

fn one_run(imp: Impl, topo: &Topology, row: Row) -> Result<Sample> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let vip = topo.subnet().vip4(0);
    let tmp = hatest::TempDir::new("bench-health")?;
    let logs: Vec<PathBuf> = (1..=2)
        .map(|i| tmp.path().join(format!("checks-node{i}.log")))
        .collect();
    let webs = [
        Nginx::start(
            n1,
            &tmp.sub("nginx1")?,
            Ipv4Addr::UNSPECIFIED.into(),
            80,
            "node 1\n",
        )?,
        Nginx::start(
            n2,
            &tmp.sub("nginx2")?,
            Ipv4Addr::UNSPECIFIED.into(),
            80,
            "node 2\n",
        )?,
    ];
    let mut daemons = Vec::new();
    for (i, node) in [n1, n2].into_iter().enumerate() {
        let script = tmp.path().join(format!("check-node{}.sh", i + 1));
        write_script(&script, &logs[i])?;
        let checks = [Check {
            name: CHECK.into(),
            probe: Probe::Script(vec![script.to_string_lossy().into_owned()]),
            interval: row.interval,
            rise: RISE,
            fall: FALL,
            weight: row.weight,
        }];
        let priority = if i == 0 {
            common::MASTER_PRIORITY
        } else {
            common::BACKUP_PRIORITY
        };
        let instances = [Instance {
            vrid: VRID,
            vip: IpAddr::V4(vip),
            priority,
            advert: ADVERT,
            track: Some(CHECK.into()),
        }];
        daemons.push(imp.start(node, &conf::for_daemon(imp, node, &checks, &instances)?)?);
    }
    let d: [Daemon; 2] = daemons.try_into().map_err(|_| anyhow!("two daemons"))?;
    let measured = measure(imp, topo, row, &d, &webs, &logs, vip);
    for daemon in &d {
        let _ = daemon.crash();
    }
    // The cause first (the report shows an error's first line), the logs after it.
    measured.map_err(|e| anyhow!("{e:#}\n{}\n{}", tail(&d[0]), tail(&d[1])))
}

fn measure(
    imp: Impl,
    topo: &Topology,
    row: Row,
    d: &[Daemon; 2],
    webs: &[Nginx; 2],
    logs: &[PathBuf],
    vip: Ipv4Addr,
) -> Result<Sample> {
    let client = topo.client();
    let rise_time =
        Duration::from_secs_f64(f64::from(RISE + 2) * row.interval) + Duration::from_secs(5);
    wait_until("both checks to pass", rise_time, || {
        interrupt::check()?;
        Ok(passing(&logs[0], RISE as usize) && passing(&logs[1], RISE as usize))
    })?;
    common::settle(imp, topo, d, 1, ADVERT)?;
    wait_until(
        "the client to be served by node 1",
        Duration::from_secs(5),
        || {
            interrupt::check()?;
            Ok(client
                .http_get(&format!("http://{vip}/"), prober::TIMEOUT)?
                .body()
                == Some("node 1\n"))
        },
    )?;
    // The kill lands anywhere in the check schedule.
    let lead = Duration::from_millis(200) + Duration::from_secs_f64(row.interval * unit_random());
    let limit = lead + Duration::from_secs_f64(row.floor_ms() / 1000.0 + 3.0);
    let started = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let capture = Capture::start(client, limit + Duration::from_secs(3))?;
    let (killed_at, seen) = thread::scope(|s| -> Result<_> {
        let probe =
            s.spawn(|| prober::probe_until(client, vip, "node 2\n", limit, &started, &stop));
        thread::sleep(lead);
        let at = SystemTime::now();
        let killed = webs[0].kill();
        if killed.is_err() {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let seen = probe.join().map_err(|_| anyhow!("the prober panicked"))?;
        killed?;
        Ok((at, seen?))
    })?;
    let (frames, dropped) = capture.stop_counted()?;
    let mut notes = Vec::new();
    if dropped > 0 {
        notes.push(format!("the capture missed {dropped} frames"));
    }
    if seen.first.is_none() {
        notes.push(format!(
            "no response from node 2 within {:.1} s ({} probes, {} served)",
            limit.as_secs_f64(),
            seen.sent,
            seen.served
        ));
    }
    // The first failing run of node 1's check: it may have started just
    // before the kill and connected just after it.
    let window_start = killed_at - Duration::from_millis(100);
    let mut failed: Vec<Logged> = runs_logged(&logs[0])
        .into_iter()
        .filter(|r| r.start >= window_start && r.rc != 0)
        .collect();
    failed.sort_by_key(|r| r.start);
    let first_fail = failed.first().map(|r| r.start);
    let fall_end = failed.get(FALL as usize - 1).map(|r| r.end);
    if first_fail.is_none() {
        notes.push("no failing check run logged on node 1".into());
    }
    // Node 1's adverts on the client's wire: the last at 200, the first below.
    let n1 = topo.nodes()[0].ipv4;
    let adverts = || {
        frames
            .iter()
            .filter(move |f| !f.outgoing)
            .filter_map(move |f| {
                f.vrrp()
                    .filter(|a| a.vrid == VRID && a.src == n1)
                    .map(|a| (f.ts, a.priority))
            })
    };
    let changed = adverts().find(|&(t, p)| t >= killed_at && p != common::MASTER_PRIORITY);
    let last_high =
        adverts().rfind(|&(t, p)| p == common::MASTER_PRIORITY && changed.is_none_or(|c| t <= c.0));
    let timer_end = if row.weight == 0 {
        changed
            .filter(|c| c.1 == 0)
            .map(|c| c.0 + Duration::from_secs_f64(row.vrrp_part()))
    } else {
        last_high.map(|h| h.0 + Duration::from_secs_f64(row.vrrp_part()))
    };
    match changed {
        None => notes.push("no advert from node 1 at a new priority seen".into()),
        Some((_, p)) if row.weight == 0 && p != 0 => notes.push(format!(
            "node 1's first advert after the kill had priority {p}, not 0"
        )),
        _ => {}
    }
    if !matches!(seen.first, Some(t) if t > killed_at) && seen.first.is_some() {
        notes.push("node 2 served before the kill".into());
    }
    Ok(Sample {
        total_ms: seen.first.map(|t| ms_between(killed_at, t)),
        phase_ms: first_fail.map(|t| ms_between(killed_at, t)),
        notice_ms: match (fall_end, changed) {
            (Some(e), Some(c)) => Some(ms_between(e, c.0)),
            _ => None,
        },
        after_timer_ms: match (timer_end, seen.first) {
            (Some(t), Some(f)) => Some(ms_between(t, f)),
            _ => None,
        },
        notes,
    })
}

/// The last lines a daemon printed, for a failed run.
fn tail(d: &Daemon) -> String {
    let log = super::super::failover::strip_ansi(&d.log());
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The nearest-rank p90 (the maximum for fewer than 10 samples).
fn p90(samples: &[f64]) -> Option<f64> {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = (0.9 * s.len() as f64).ceil() as usize;
    s.get(rank.checked_sub(1)?).copied()
}

fn print_report(rows: &[Row], cells: &[((usize, Impl), Cell)], daemons: &[Impl], runs: usize) {
    let samples = |ri: usize, imp: Impl, f: &dyn Fn(&Sample) -> Option<f64>| -> Vec<f64> {
        cells
            .iter()
            .find(|(k, _)| *k == (ri, imp))
            .and_then(|(_, c)| match c {
                Cell::Runs(r) => Some(
                    r.iter()
                        .filter_map(|r| r.as_ref().ok())
                        .filter_map(f)
                        .collect(),
                ),
                Cell::Skipped(_) => None,
            })
            .unwrap_or_default()
    };
    let skipped = |ri: usize, imp: Impl| {
        cells
            .iter()
            .any(|(k, c)| *k == (ri, imp) && matches!(c, Cell::Skipped(_)))
    };
    let median = |v: &[f64]| table::stats(v).map(|s| s.median);
    let fmt = |x: Option<f64>| x.map_or("–".into(), table::ms);
    println!();
    println!(
        "### Health check reaction: nginx killed on the master, client served by the backup (vrrp_script, VRRPv3 at {ADVERT} s)"
    );
    println!();
    println!("Machine: {}", machine_line());
    println!();
    println!(
        "Two nodes, real nginx on each (page names the node); each daemon tracks `vrrp_script {CHECK}` = \
         `curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:80/` in a bash wrapper that logs the run's start, \
         end and exit status (rise {RISE}, fall {FALL}); priorities 200/100; ha (default flags) and keepalived \
         read the same keepalived.conf (`interval 0.1`, which keepalived 2.2.7 refuses, ha reads with a warning). The client GETs the VIP every {} ms ({} ms timeout, {}-thread schedule); a run is the \
         first 200 from node 2 minus the SIGKILL of node 1's nginx. {runs} runs per cell, ms; median and p90 \
         (nearest rank: the maximum below 10 runs).",
        prober::STEP.as_millis(),
        prober::TIMEOUT.as_millis(),
        prober::THREADS
    );
    println!();
    let step = prober::STEP.as_millis();
    println!(
        "- **kill → node 2** includes the phase of the check schedule (0 to one interval: the kill lands at a random \
         point); its floor is fall × interval + X, the worst phase.\n\
         - **phase**: kill → start of node 1's first failing check (from the script's own log).\n\
         - **check → node 2**: the same with the phase taken out; its floor is (fall − 1) × interval + X. \
         X = Skew_Time = 61 ms for weight 0 (FAULT: node 1 sends priority 0) and Master_Down_Interval = 361 ms for \
         weight −150 (node 1 adverts 50 < 100 and the backup preempts when its timer runs out).\n\
         - **over floor**: check → node 2 median minus its floor: what the daemon adds (script exit seen, state change, \
         advert, GARP, the client's next probe). With the negative weight it can be negative by up to one advert \
         interval: the backup's timer runs from node 1's last advert at 200, which came 0 to {ADVERT} s before the \
         priority dropped.\n\
         - **script exit → advert**: end of node 1's fall-th failing check (script log) → node 1's first advert at the \
         new priority on the client's wire (AF_PACKET capture): how fast the daemon acts on a check result.\n\
         - **RFC timer → node 2**: node 2's first response minus the end of the backup's RFC timer on the wire \
         (node 1's priority-0 advert + Skew_Time, or its last advert at 200 + Master_Down_Interval): takeover, GARP, \
         the client's next probe (every {step} ms)."
    );
    println!();
    let mut t = Table::new(
        &[
            "check every",
            "weight",
            "daemon",
            "kill → node 2 median",
            "p90",
            "floor",
            "phase median",
            "check → node 2 median",
            "p90",
            "floor",
            "over floor",
            "script exit → advert",
            "RFC timer → node 2",
        ],
        &[
            true, false, false, true, true, true, true, true, true, true, true, true, true,
        ],
    );
    for (ri, row) in rows.iter().enumerate() {
        for &imp in daemons {
            let mut c = vec![
                format!("{} s", row.interval),
                row.weight_label(),
                imp.label().to_owned(),
            ];
            if skipped(ri, imp) {
                c.push("skipped ¹".into());
                t.row(c);
                continue;
            }
            let total = samples(ri, imp, &|s| s.total_ms);
            let phase = samples(ri, imp, &|s| s.phase_ms);
            let from = samples(ri, imp, &|s| s.since_check_ms());
            let n = |v: &[f64]| {
                if v.len() < runs {
                    format!(" [{}/{runs}]", v.len())
                } else {
                    String::new()
                }
            };
            c.extend([
                format!("{}{}", fmt(median(&total)), n(&total)),
                fmt(p90(&total)),
                table::ms(row.floor_ms()),
                fmt(median(&phase)),
                format!("{}{}", fmt(median(&from)), n(&from)),
                fmt(p90(&from)),
                table::ms(row.floor_since_check_ms()),
                median(&from).map_or("–".into(), |m| {
                    format!("{:+.0}", m - row.floor_since_check_ms())
                }),
                fmt(median(&samples(ri, imp, &|s| s.notice_ms))),
                fmt(median(&samples(ri, imp, &|s| s.after_timer_ms))),
            ]);
            t.row(c);
        }
    }
    print!("{}", t.render());
    println!();
    println!("**Against keepalived** (ratio of the medians, same run):");
    println!();
    let mut r = Table::new(
        &[
            "check every",
            "weight",
            "daemon",
            "kill → node 2",
            "check → node 2",
            "over floor",
            "script exit → advert",
        ],
        &[true, false, false, true, true, true, true],
    );
    for (ri, row) in rows.iter().enumerate() {
        for &imp in daemons.iter().filter(|i| i.is_ha()) {
            let k = |f: &dyn Fn(&Sample) -> Option<f64>| {
                if skipped(ri, Impl::Keepalived) {
                    None
                } else {
                    median(&samples(ri, Impl::Keepalived, f))
                }
            };
            let h = |f: &dyn Fn(&Sample) -> Option<f64>| median(&samples(ri, imp, f));
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b.abs() > 0.5 => format!("{:.2}", a / b),
                _ if skipped(ri, Impl::Keepalived) => "– (keepalived skipped ¹)".into(),
                _ => "–".into(),
            };
            let over = |x: Option<f64>| x.map(|m| m - row.floor_since_check_ms());
            r.row(vec![
                format!("{} s", row.interval),
                row.weight_label(),
                format!("{}/keepalived", imp.label()),
                ratio(h(&|s| s.total_ms), k(&|s| s.total_ms)),
                ratio(h(&|s| s.since_check_ms()), k(&|s| s.since_check_ms())),
                ratio(
                    over(h(&|s| s.since_check_ms())),
                    over(k(&|s| s.since_check_ms())),
                ),
                ratio(h(&|s| s.notice_ms), k(&|s| s.notice_ms)),
            ]);
        }
    }
    print!("{}", r.render());
    println!();
    let mut said = Vec::new();
    for (ri, row) in rows.iter().enumerate() {
        for &imp in daemons {
            if let Some((_, Cell::Skipped(why))) = cells.iter().find(|(k, _)| *k == (ri, imp))
                && !said.contains(&(row.interval.to_bits(), imp))
            {
                said.push((row.interval.to_bits(), imp));
                println!(
                    "- ¹ {} at a {} s check interval: {why}; it would silently run the check every 1 s instead, so the cell is not measured.",
                    imp.label(),
                    row.interval
                );
            }
        }
    }
    for ((ri, imp), c) in cells {
        let Cell::Runs(runs) = c else { continue };
        let row = rows[*ri];
        for o in runs {
            match o {
                Ok(s) => {
                    for n in &s.notes {
                        println!(
                            "- {} {} s weight {}: {n}",
                            imp.label(),
                            row.interval,
                            row.weight
                        );
                    }
                }
                Err(e) => println!(
                    "- failed run: {} {} s weight {}: {}",
                    imp.label(),
                    row.interval,
                    row.weight,
                    e.lines().next().unwrap_or("")
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors() {
        let f = Row {
            interval: 1.0,
            weight: 0,
        };
        assert!((f.floor_ms() - 2060.9375).abs() < 1e-6);
        assert!((f.floor_since_check_ms() - 1060.9375).abs() < 1e-6);
        let n = Row {
            interval: 0.1,
            weight: NEGATIVE_WEIGHT,
        };
        assert!((n.floor_ms() - 560.9375).abs() < 1e-6);
    }

    #[test]
    fn nearest_rank_p90() {
        assert_eq!(p90(&[5.0, 1.0, 3.0]), Some(5.0));
        assert_eq!(p90(&(1..=10).map(f64::from).collect::<Vec<_>>()), Some(9.0));
        assert_eq!(p90(&[]), None);
    }
}
