//! A master's periodic adverts go out together: one wake-up and one
//! `sendmmsg` per advert interval for all its instances, not one per instance,
//! and still every instance's advert every interval on the wire.
//! Root: `cargo test -p ha-tests --test advert_batching -- --ignored`.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use anyhow::{Context, Result, ensure};
use hatest::{Capture, Daemon, Group, Topology, require_root, wait_until};

const INSTANCES: u8 = 50;
const FIRST_VRID: u8 = 100;
/// Long enough that a vCPU stall (35–75 ms) cannot fake a missing advert.
const INTERVAL: f64 = 0.1;
const WINDOW: Duration = Duration::from_secs(3);

/// Voluntary + involuntary context switches of every thread of `pid`.
fn wakeups(pid: u32) -> Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let status = std::fs::read_to_string(task?.path().join("status"))?;
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>()?;
            }
        }
    }
    Ok(total)
}

fn run(datapath: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).ipv6(false).build()?;
    let node = &topo.nodes()[0];
    let mut conf = String::new();
    for i in 0..INSTANCES {
        let mut g = Group::v3(FIRST_VRID + i, topo.subnet().vip4(i).into(), 24);
        g.advert_int = INTERVAL;
        if i == 0 {
            conf.push_str(&g.keepalived_conf(node, 200));
        } else {
            let _ = write!(conf, "{}", g.instance_block(node, 200));
        }
    }
    let d = Daemon::ha_with(node, "ha", &conf, datapath)?;
    wait_until("50 masters", Duration::from_secs(5), || {
        // No status file yet while the daemon starts.
        let s = d.status().unwrap_or_default();
        Ok(s["instances"]
            .as_array()
            .is_some_and(|is| is.len() == 50 && is.iter().all(|i| i["state"] == "master")))
    })
    .with_context(|| d.log())?;
    // The first periodic adverts and gratuitous ARP bursts are behind us.
    std::thread::sleep(Duration::from_millis(1500));

    let capture = Capture::start(topo.client(), WINDOW + Duration::from_secs(2))?;
    let w0 = wakeups(d.proc.pid())?;
    std::thread::sleep(WINDOW);
    let woken = wakeups(d.proc.pid())? - w0;
    let frames = capture.stop()?;

    let mut per_vrid: BTreeMap<u8, usize> = BTreeMap::new();
    for f in &frames {
        if let Some(a) = f.vrrp() {
            *per_vrid.entry(a.vrid).or_default() += 1;
        }
    }
    // 30 adverts each in 3 s; the capture's start and stop cut a few.
    let expected = (WINDOW.as_secs_f64() / INTERVAL) as usize;
    ensure!(
        per_vrid.len() == usize::from(INSTANCES),
        "adverts seen for {} VRIDs: {per_vrid:?}",
        per_vrid.len()
    );
    for (vrid, n) in &per_vrid {
        ensure!(
            (expected - 4..=expected + 4).contains(n),
            "VRID {vrid}: {n} adverts in {WINDOW:?}, expected about {expected}: {per_vrid:?}"
        );
    }
    // One wake-up per interval for the adverts (10/s), the XDP heartbeat (four
    // per max age, ~18/s) and the odd status write; one timer per instance
    // would be ~500/s.
    let per_s = woken as f64 / WINDOW.as_secs_f64();
    ensure!(
        per_s < 100.0,
        "{per_s:.0} wake-ups/s for 50 masters at {INTERVAL} s\n{}",
        d.log()
    );
    eprintln!("50 masters at {INTERVAL} s: {per_s:.0} wake-ups/s, {expected} adverts each");
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn fifty_masters_wake_once_per_interval_xdp() -> Result<()> {
    run(&[])
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn fifty_masters_wake_once_per_interval_socket() -> Result<()> {
    run(&["--datapath", "socket"])
}
