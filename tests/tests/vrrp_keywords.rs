//! VRRP keywords of keepalived.conf that change how an instance runs, beyond
//! the election itself: `dont_track_primary` and `vrrp_startup_delay`, with
//! `ha run` and default flags, beside keepalived 2.2.7 on the same file.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use hatest::scenario::Run;
use hatest::{Daemon, Group, Topology, require_root, wait_until};

/// With `dont_track_primary`, the master whose cable is pulled (no carrier;
/// keepalived's "interface fault") stays master and keeps its VIP; without
/// it, it goes to FAULT and gives the VIP up.
fn pulled_cable(run: Run, dont_track: bool) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let n1 = &topo.nodes()[0];
    let vip = topo.subnet().vip4(0);
    let mut g = Group::v3(71, vip.into(), 24);
    if dont_track {
        g.extra = "  dont_track_primary\n".into();
    }
    let d = run.start(n1, "kw", &g.keepalived_conf(n1, 200))?;
    wait_until("VIP on node 1", Duration::from_secs(5), || {
        n1.has_address(vip)
    })
    .with_context(|| d.log())?;
    n1.unplug()?;
    // Long enough for a link event to be acted on many times over.
    std::thread::sleep(Duration::from_millis(1500));
    let held = n1.has_address(vip)?;
    ensure!(
        held == dont_track,
        "{run:?} dont_track_primary={dont_track}: VIP held={held}\n{}",
        d.log()
    );
    if matches!(run, Run::Ha) {
        let want = if dont_track { "master" } else { "fault" };
        ensure!(d.state()? == want, "{}", d.log());
    }
    n1.plug()?;
    wait_until("VIP on node 1 again", Duration::from_secs(5), || {
        n1.has_address(vip)
    })
    .with_context(|| d.log())?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn dont_track_primary_ha() -> Result<()> {
    pulled_cable(Run::Ha, true)?;
    pulled_cable(Run::Ha, false)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn dont_track_primary_keepalived() -> Result<()> {
    pulled_cable(Run::Keepalived, true)?;
    pulled_cable(Run::Keepalived, false)
}

/// `vrrp_startup_delay 2`: the higher-priority node claims nothing for two
/// seconds after start, then takes over from the running one.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn startup_delay_holds_the_instance_back() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip = topo.subnet().vip4(0);
    let g = Group::v3(72, vip.into(), 24);
    let d2 = Daemon::ha(n2, "kw", &g.keepalived_conf(n2, 100))?;
    wait_until("VIP on node 2", Duration::from_secs(5), || {
        n2.has_address(vip)
    })
    .with_context(|| d2.log())?;
    let conf = g
        .keepalived_conf(n1, 200)
        .replace("global_defs {\n", "global_defs {\n  vrrp_startup_delay 2\n");
    let started = Instant::now();
    let d1 = Daemon::ha(n1, "kw", &conf)?;
    wait_until("VIP on node 1", Duration::from_secs(8), || {
        n1.has_address(vip)
    })
    .with_context(|| hatest::logs([&d1, &d2]))?;
    let took = started.elapsed();
    ensure!(
        took >= Duration::from_secs(2),
        "node 1 claimed the VIP after {took:?}, before its startup delay\n{}",
        hatest::logs([&d1, &d2])
    );
    ensure!(!n2.has_address(vip)?, "{}", hatest::logs([&d1, &d2]));
    Ok(())
}
