//! `cargo xtask bench false-takeover`: does a backup under CPU pressure take
//! over from a master that is alive and on time?
//!
//! One run per daemon: a fresh two-node topology, 50 VRRPv3 instances at
//! 0.01 s (priorities 200/100), the master's daemon pinned to CPU 0 and the
//! backup's to CPU 1, then two busy loops pinned to CPU 1 (`nice -n 0` and
//! `nice -n -5`) for the burn time while the client captures every advert.
//!
//! Takeovers are counted twice: by the daemon (`became_master` in ha's
//! status, "Entering MASTER STATE" in keepalived's log) and on the wire (the
//! backup's first advert for a VRID after a quiet spell). Each one on the
//! wire is *false* if the master's adverts for that VRID reached the client
//! less than Master_Down_Interval before it, *correct* otherwise (the master
//! was silent long enough, e.g. a vCPU stall on its side).

use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Context, Result, bail};
use hatest::{Capture, Frame, Topology};

use super::{
    Args,
    common::{self, Impl},
    failover::ms_between,
    interrupt,
    lag::percentile,
    machine_line,
    table::Table,
};

const INSTANCES: u8 = 50;
const INTERVAL: f64 = 0.01;
/// One capture holds at most `hatest::capture::MAX_FRAMES`: at 5 000
/// adverts/s a capture runs this long before the next one (overlapping) takes over.
const CHUNK: Duration = Duration::from_secs(20);

pub fn burn(args: &Args) -> Duration {
    Duration::from_secs_f64(args.burn.unwrap_or(if args.quick { 10.0 } else { 30.0 }))
}

#[derive(Clone, Debug, Default)]
struct Outcome {
    /// Takeovers the daemon counted during the burn.
    counted: u64,
    /// On the wire: takeovers with the master on time / silent long enough.
    false_: usize,
    correct: usize,
    /// Gaps > Master_Down_Interval in the master's adverts, over all VRIDs.
    master_gaps: usize,
    /// Master adverts seen, per second.
    adverts_s: f64,
    /// Spacing of the master's adverts for one VRID, ms: p50, p99, max.
    spacing_ms: Option<(f64, f64, f64)>,
    /// Worst (smallest) master-silence before a false takeover, ms.
    worst_false_ms: Option<f64>,
    notes: Vec<String>,
}

/// Pins every thread of every process of the daemon led by `leader` to `cpu`.
fn pin(leader: u32, cpu: u32) -> Result<()> {
    for pid in common::members(leader) {
        let out = std::process::Command::new("taskset")
            .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
            .output()
            .context("running taskset")?;
        if !out.status.success() {
            bail!(
                "taskset -a -p -c {cpu} {pid}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

fn one_run(imp: Impl, burn: Duration) -> Result<Outcome> {
    common::in_topology(|topo| {
        let d = common::start_pair(imp, topo, INSTANCES, INTERVAL)?;
        let measured = (|| -> Result<Outcome> {
            common::settle(imp, topo, &d, INSTANCES, INTERVAL)?;
            pin(d[0].proc.pid(), 0)?;
            pin(d[1].proc.pid(), 1)?;
            interrupt::sleep(Duration::from_millis(500))?;
            let before = common::takeovers(imp, &d[1])?;
            let n2 = &topo.nodes()[1];
            // Burners live in the backup's namespace (killed with it, and by
            // PDEATHSIG if xtask dies).
            let loop_ = "while :; do :; done";
            let burners = [
                n2.spawn("taskset", ["-c", "1", "nice", "-n", "0", "sh", "-c", loop_])?,
                n2.spawn(
                    "taskset",
                    ["-c", "1", "nice", "-n", "-5", "sh", "-c", loop_],
                )?,
            ];
            let (frames, dropped, start, end) = capture_for(topo, burn)?;
            drop(burners);
            // Let the counters of a takeover at the very end land.
            interrupt::sleep(Duration::from_millis(1200))?;
            let after = common::takeovers(imp, &d[1])?;
            let mut o = classify(&frames, topo, start, end);
            o.counted = after.saturating_sub(before);
            if dropped > 0 {
                o.notes.push(format!(
                    "the capture missed {dropped} frames: a gap may be the capture's, making a false takeover look correct"
                ));
            }
            Ok(o)
        })();
        for daemon in &d {
            let _ = daemon.crash();
        }
        measured
    })
}

/// Captures on the client for `total`, in overlapping chunks; returns the
/// merged frames, the frames missed, and the window's start and end.
fn capture_for(
    topo: &Topology,
    total: Duration,
) -> Result<(Vec<Frame>, u64, SystemTime, SystemTime)> {
    let client = topo.client();
    let start = SystemTime::now();
    let end_at = Instant::now() + total;
    let mut frames: Vec<Frame> = Vec::new();
    let mut dropped = 0;
    let mut current = Capture::start(client, CHUNK + Duration::from_secs(5))?;
    loop {
        let left = end_at.saturating_duration_since(Instant::now());
        let step = left.min(CHUNK);
        let slept = interrupt::sleep(step);
        let next = if slept.is_ok() && !left.is_zero() && step < left {
            Some(Capture::start(client, CHUNK + Duration::from_secs(5))?)
        } else {
            None
        };
        let (f, dr) = current.stop_counted()?;
        frames.extend(f.into_iter().filter(|f| !f.outgoing));
        dropped += dr;
        slept?;
        match next {
            Some(n) => current = n,
            None => break,
        }
    }
    let end = SystemTime::now();
    // The same frame in two overlapping captures: same timestamp, same bytes.
    frames.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.data.cmp(&b.data)));
    frames.dedup_by(|a, b| a.ts == b.ts && a.data == b.data);
    Ok((frames, dropped, start, end))
}

fn classify(frames: &[Frame], topo: &Topology, start: SystemTime, end: SystemTime) -> Outcome {
    let [n1, n2] = topo.nodes() else {
        return Outcome::default();
    };
    let mdi_ms = common::master_down(INTERVAL) * 1000.0;
    // Adverts per (sender, VRID), in time order.
    let mut by: BTreeMap<(Ipv4Addr, u8), Vec<SystemTime>> = BTreeMap::new();
    for f in frames {
        if let Some(a) = f.vrrp() {
            by.entry((a.src, a.vrid)).or_default().push(f.ts);
        }
    }
    let mut o = Outcome::default();
    let mut master_total = 0;
    let mut spacing: Vec<f64> = Vec::new();
    for i in 0..INSTANCES {
        let vrid = common::FIRST_VRID + i;
        let empty = Vec::new();
        let master = by.get(&(n1.ipv4, vrid)).unwrap_or(&empty);
        let backup = by.get(&(n2.ipv4, vrid)).unwrap_or(&empty);
        master_total += master.len();
        spacing.extend(master.windows(2).map(|w| ms_between(w[0], w[1])));
        o.master_gaps += master
            .windows(2)
            .filter(|w| ms_between(w[0], w[1]) > mdi_ms)
            .count();
        // A takeover: a backup advert with no backup advert in the 5 intervals before it.
        let mut prev: Option<SystemTime> = None;
        for &t in backup {
            let fresh = prev.is_none_or(|p| ms_between(p, t) > 5.0 * INTERVAL * 1000.0);
            prev = Some(t);
            if !fresh {
                continue;
            }
            let last_master = master.iter().rev().find(|&&m| m < t);
            let silent_ms = last_master.map(|&m| ms_between(m, t));
            match silent_ms {
                // The master had been heard less than Master_Down_Interval before.
                Some(s) if s < mdi_ms => {
                    o.false_ += 1;
                    o.worst_false_ms = Some(o.worst_false_ms.map_or(s, |w: f64| w.min(s)));
                }
                _ => o.correct += 1,
            }
        }
    }
    spacing.sort_by(f64::total_cmp);
    if let Some(&max) = spacing.last() {
        o.spacing_ms = Some((percentile(&spacing, 50.0), percentile(&spacing, 99.0), max));
    }
    o.adverts_s = master_total as f64 / ms_between(start, end).max(1.0) * 1000.0;
    let expected = f64::from(INSTANCES) / INTERVAL;
    if o.adverts_s < 0.9 * expected {
        o.notes.push(format!(
            "the client saw {:.0} master adverts/s, {expected:.0} expected",
            o.adverts_s
        ));
    }
    o
}

pub fn run(args: &Args) -> Result<()> {
    let burn = burn(args);
    if std::thread::available_parallelism().map_or(0, |n| n.get()) < 2 {
        bail!(
            "bench false-takeover pins the master to CPU 0 and the backup to CPU 1: it needs 2 CPUs"
        );
    }
    eprintln!(
        "bench false-takeover: 3 daemons × {INSTANCES} instances at {INTERVAL} s, {:.0} s of two busy loops on the backup's CPU each, fresh topology each",
        burn.as_secs_f64()
    );
    let mut results: Vec<(Impl, Result<Outcome, String>)> = Vec::new();
    for (k, imp) in Impl::ALL.into_iter().enumerate() {
        if interrupt::requested() {
            break;
        }
        let line = format!("[{}/3] {:<11}", k + 1, imp.label());
        let outcome = one_run(imp, burn);
        match &outcome {
            Ok(o) => eprintln!(
                "{line}  takeovers counted {}, on the wire {} false + {} correct; master gaps > MDI {}; {:.0} master adverts/s, spacing p50 / p99 / max {} ms{}",
                o.counted,
                o.false_,
                o.correct,
                o.master_gaps,
                o.adverts_s,
                o.spacing_ms.map_or("–".into(), |(a, b, c)| format!(
                    "{a:.2} / {b:.2} / {c:.2}"
                )),
                common::note_lines(&o.notes)
            ),
            Err(e) => {
                if common::report_failure(&line, "FAILED", e) {
                    break;
                }
            }
        }
        results.push((imp, outcome.map_err(|e| format!("{e:#}"))));
    }
    print_report(&results, burn);
    if interrupt::requested() {
        bail!("interrupted: the table above holds only the daemons that finished");
    }
    Ok(())
}

fn print_report(results: &[(Impl, Result<Outcome, String>)], burn: Duration) {
    let mdi_ms = common::master_down(INTERVAL) * 1000.0;
    println!();
    println!(
        "### False takeovers under CPU pressure: backup with {INSTANCES} instances at {INTERVAL} s (VRRPv3, priorities 200/100)"
    );
    println!();
    println!("Machine: {}", machine_line());
    println!();
    println!(
        "Master's daemon pinned to CPU 0, backup's to CPU 1; for {:.0} s two busy loops on CPU 1 \
         (`nice -n 0` and `nice -n -5`). Takeovers counted by the daemon (ha: `became_master`; \
         keepalived: \"Entering MASTER STATE\"), and on the client's wire: the backup's first \
         advert for a VRID after a quiet spell, *false* if the master's last advert for that VRID \
         reached the client less than Master_Down_Interval ({mdi_ms:.2} ms) before it, *correct* \
         otherwise.",
        burn.as_secs_f64()
    );
    println!();
    let mut t = Table::new(
        &[
            "daemon",
            "takeovers (daemon's count)",
            "false (wire)",
            "correct (wire)",
            "master gaps > MDI",
            "closest false: master heard (ms before)",
            "master adverts/s seen",
            "master advert spacing p50 / p99 / max (ms)",
        ],
        &[false, true, true, true, true, true, true, true],
    );
    for (imp, r) in results {
        match r {
            Ok(o) => t.row(vec![
                imp.label().into(),
                o.counted.to_string(),
                o.false_.to_string(),
                o.correct.to_string(),
                o.master_gaps.to_string(),
                o.worst_false_ms.map_or("–".into(), |w| format!("{w:.2}")),
                format!("{:.0}", o.adverts_s),
                o.spacing_ms.map_or("–".into(), |(a, b, c)| {
                    format!("{a:.2} / {b:.2} / {c:.2}")
                }),
            ]),
            Err(_) => t.row(vec![imp.label().into(), "failed".into()]),
        }
    }
    print!("{}", t.render());
    println!();
    println!(
        "- Master gaps > MDI: silences longer than Master_Down_Interval in the master's adverts \
         for one VRID as the client saw them (all VRIDs together); each one should have led to a \
         correct takeover."
    );
    println!(
        "- The daemon's count and the wire's can differ: a takeover cut short before the first \
         advert leaves the wire, or one at the very edge of the window."
    );
    for (imp, r) in results {
        match r {
            Ok(o) => {
                for n in &o.notes {
                    println!("- {}: {n}", imp.label());
                }
            }
            Err(e) => println!(
                "- failed: {}: {}",
                imp.label(),
                e.lines().next().unwrap_or("")
            ),
        }
    }
}
