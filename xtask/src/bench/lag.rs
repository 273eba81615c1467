//! `cargo xtask bench lag`: how late the backup takes over against the RFC's
//! own deadline, for `ha` on XDP, `ha` on raw sockets and keepalived.
//!
//! One run: a fresh two-node topology, one VRRPv3 instance (priorities
//! 200/100), an `AF_PACKET` capture on the client, a fault at the master at a
//! random point between two adverts. From the capture (kernel timestamps):
//!
//! - deadline: the master's last advert before the fault + the backup's
//!   Master_Down_Interval (kill -9, link down), or its first priority-0
//!   advert + the backup's Skew_Time (SIGTERM);
//! - lag: the backup's first gratuitous ARP for the VIP − the deadline.
//!
//! A negative lag is a takeover before the RFC allows it.

use std::{
    collections::BTreeMap,
    net::Ipv4Addr,
    thread,
    time::{Duration, SystemTime},
};

use anyhow::{Result, bail};
use hatest::{Capture, Frame};

use super::{
    Args, Fault,
    common::{self, BACKUP_PRIORITY, FIRST_VRID, Impl},
    failover::{inject, ms_between, unit_random},
    interrupt, machine_line,
    table::Table,
};

/// Runs per cell [default: 20, 3 with --quick].
pub fn runs(args: &Args) -> usize {
    usize::from(args.lag_runs.unwrap_or(if args.quick { 3 } else { 20 }))
}

/// The deadline's offset from the reference advert, seconds.
fn allowance(fault: Fault, interval: f64) -> f64 {
    match fault {
        Fault::Sigterm => common::skew(interval, BACKUP_PRIORITY),
        _ => common::master_down(interval),
    }
}

/// Lag of one run in ms and, for `ha` on XDP, its own account of the
/// takeover (timer → event → VIPs → gratuitous ARP, µs); or why there is none.
fn one_run(imp: Impl, fault: Fault, interval: f64) -> Result<(f64, Option<String>)> {
    common::in_topology(|topo| {
        let d = common::start_pair(imp, topo, 1, interval)?;
        let measured = (|| -> Result<(f64, Option<String>)> {
            common::settle(imp, topo, &d, 1, interval)?;
            interrupt::sleep(Duration::from_millis(200))?;
            let [n1, n2] = topo.nodes() else {
                bail!("expected two nodes");
            };
            let vip = topo.subnet().vip4(0);
            let lead = Duration::from_secs_f64(interval * (1.0 + unit_random()))
                + Duration::from_millis(100);
            let after = Duration::from_secs_f64(1.5 * common::master_down(interval) + 0.3);
            let capture = Capture::start(topo.client(), lead + after + Duration::from_secs(3))?;
            thread::sleep(lead);
            let fault_at = inject(fault, &d[0], n1);
            thread::sleep(after);
            let (frames, _) = capture.stop_counted()?;
            let fault_at = fault_at?;
            let lag = lag_ms(&frames, fault, interval, fault_at, (n1.ipv4, n2.mac()), vip)?;
            Ok((lag, takeover_account(&d[1].log())))
        })();
        for daemon in &d {
            let _ = daemon.crash();
        }
        measured
    })
}

fn lag_ms(
    frames: &[Frame],
    fault: Fault,
    interval: f64,
    fault_at: SystemTime,
    (master_ip, backup_mac): (Ipv4Addr, hatest::Mac),
    vip: Ipv4Addr,
) -> Result<f64> {
    let adverts = frames.iter().filter(|f| {
        !f.outgoing
            && f.vrrp()
                .is_some_and(|a| a.vrid == FIRST_VRID && a.src == master_ip)
    });
    let reference = match fault {
        Fault::Sigterm => adverts
            .clone()
            .find(|f| f.ts >= fault_at && f.vrrp().is_some_and(|a| a.priority == 0)),
        _ => adverts.clone().rfind(|f| f.ts < fault_at),
    };
    let Some(reference) = reference else {
        bail!(match fault {
            Fault::Sigterm => "no priority-0 advert from the master seen",
            _ => "no advert from the master seen before the fault",
        });
    };
    let garp = frames.iter().find(|f| {
        !f.outgoing
            && f.ts >= fault_at
            && f.src_mac() == Some(backup_mac)
            && f.arp()
                .is_some_and(|a| a.is_gratuitous() && a.sender_ip == vip)
    });
    let Some(garp) = garp else {
        bail!("no gratuitous ARP from the backup seen");
    };
    Ok(ms_between(reference.ts, garp.ts) - allowance(fault, interval) * 1000.0)
}

/// The fields of `ha`'s "took over" log line, colours removed.
fn takeover_account(log: &str) -> Option<String> {
    // The last one: the takeover the run measured, not one while the pair settled.
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("took over after the master-down timer"))?;
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An ANSI colour sequence: ESC [ ... m.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let fields: Vec<&str> = plain
        .split_whitespace()
        .filter(|w| w.contains("_us="))
        .collect();
    Some(fields.join(" "))
}

/// Nearest-rank percentile `p` (0..=100) of sorted `s`.
pub(super) fn percentile(s: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

type Key = (Fault, u64, Impl);

pub fn run(args: &Args) -> Result<()> {
    let runs = runs(args);
    let faults = if args.faults.is_empty() {
        Fault::ALL.to_vec()
    } else {
        let mut f = args.faults.clone();
        f.sort();
        f.dedup();
        f
    };
    let mut intervals: Vec<f64> = args
        .intervals
        .iter()
        .copied()
        .filter(|&i| i < 0.5)
        .collect();
    intervals.sort_by(|a, b| b.total_cmp(a));
    intervals.dedup();
    if intervals.is_empty() {
        eprintln!("bench lag: no advert interval below 0.5 s among --intervals; nothing to do");
        return Ok(());
    }
    let daemons = args.daemons();
    let total = faults.len() * intervals.len() * daemons.len() * runs;
    eprintln!(
        "bench lag: {} faults × adverts {intervals:?} s × {} daemons × {runs} runs = {total} runs, each in a fresh topology; Ctrl-C stops early and prints what was measured",
        faults.len(),
        daemons.len()
    );
    let mut results: BTreeMap<Key, Vec<Result<f64, String>>> = BTreeMap::new();
    let mut done = 0;
    'all: for &fault in &faults {
        for &interval in &intervals {
            for run in 0..runs {
                for &imp in &daemons {
                    if interrupt::requested() {
                        break 'all;
                    }
                    done += 1;
                    let outcome = one_run(imp, fault, interval);
                    let line = format!(
                        "[{done:>3}/{total}] {:<11} {:<9} {:>5} s  run {}/{runs}",
                        imp.label(),
                        fault.label(),
                        interval,
                        run + 1
                    );
                    match &outcome {
                        Ok((l, Some(account))) => {
                            eprintln!("{line}  lag {l:>8.3} ms  (ha: {account})")
                        }
                        Ok((l, None)) => eprintln!("{line}  lag {l:>8.3} ms"),
                        Err(e) => {
                            if common::report_failure(&line, "no value", e) {
                                break 'all;
                            }
                        }
                    }
                    results
                        .entry((fault, interval.to_bits(), imp))
                        .or_default()
                        .push(outcome.map(|(l, _)| l).map_err(|e| format!("{e:#}")));
                }
            }
        }
    }
    print_report(&results, &faults, &intervals, runs);
    if interrupt::requested() {
        bail!("interrupted: the table above holds only the runs that finished");
    }
    Ok(())
}

fn print_report(
    results: &BTreeMap<Key, Vec<Result<f64, String>>>,
    faults: &[Fault],
    intervals: &[f64],
    runs: usize,
) {
    println!();
    println!(
        "### Detection lag: the backup's first gratuitous ARP against the RFC deadline (VRRPv3, 1 instance, priorities 200/100)"
    );
    println!();
    println!("Machine: {}", machine_line());
    println!();
    println!(
        "Lag in ms = the backup's first gratuitous ARP for the VIP on the client's wire − the RFC \
         deadline (kill -9, link down: the master's last advert on the wire + Master_Down_Interval; \
         SIGTERM: its priority-0 advert + Skew_Time); AF_PACKET capture on the client, kernel \
         timestamps. p50 / p99 (nearest rank) and max over the runs; negative = before the deadline. \
         Target: p99 < 1 ms (reported, not asserted)."
    );
    println!();
    let mut header = vec!["fault", "advert", "deadline after advert"];
    let labels: Vec<String> = Impl::ALL
        .iter()
        .map(|i| format!("{} p50 / p99 / max", i.label()))
        .collect();
    header.extend(labels.iter().map(String::as_str));
    header.push("ha (xdp) p99 < 1 ms");
    let mut right = vec![true; header.len()];
    right[0] = false;
    *right.last_mut().unwrap_or(&mut false) = false;
    let mut t = Table::new(&header, &right);
    let mut failures = BTreeMap::<String, usize>::new();
    for &fault in faults {
        for &interval in intervals {
            let mut cells = vec![
                fault.label().to_owned(),
                common::interval_label(interval),
                format!("{:.2}", allowance(fault, interval) * 1000.0),
            ];
            let mut any = false;
            let mut target = "–".to_owned();
            for imp in Impl::ALL {
                let Some(rs) = results.get(&(fault, interval.to_bits(), imp)) else {
                    cells.push("–".into());
                    continue;
                };
                any = true;
                let mut v: Vec<f64> = rs.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
                for e in rs.iter().filter_map(|r| r.as_ref().err()) {
                    *failures
                        .entry(format!(
                            "{} {} {}: {}",
                            imp.label(),
                            fault.label(),
                            common::interval_label(interval),
                            e.lines().next().unwrap_or("")
                        ))
                        .or_default() += 1;
                }
                v.sort_by(f64::total_cmp);
                if v.is_empty() {
                    cells.push("–".into());
                    continue;
                }
                let (p50, p99, max) = (percentile(&v, 50.0), percentile(&v, 99.0), v[v.len() - 1]);
                let mut c = format!("{p50:.2} / {p99:.2} / {max:.2}");
                if v.len() < runs {
                    c += &format!(" [{}/{runs}]", v.len());
                }
                cells.push(c);
                if imp == Impl::HaXdp {
                    target = if p99 < 1.0 { "met" } else { "**not met**" }.into();
                }
            }
            cells.push(target);
            if any {
                t.row(cells);
            }
        }
    }
    print!("{}", t.render());
    println!();
    println!(
        "- {runs} runs per cell, each in a fresh topology, the three daemons alternating. With \
         fewer than 100 runs p99 is the largest or second-largest value."
    );
    println!(
        "- Deadline after advert: Master_Down_Interval = 3 × interval + (256 − 100)/256 × interval, \
         or Skew_Time alone for SIGTERM (RFC 9568 §6.1)."
    );
    for (f, n) in failures {
        println!("- no value: {f} ({n}×)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&s, 50.0), 10.0);
        assert_eq!(percentile(&s, 99.0), 20.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }
}
