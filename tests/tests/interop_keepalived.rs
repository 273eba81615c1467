//! `ha` and the real keepalived (Debian's 2.2.7) in one VRRP group, v2 and v3,
//! fed the same keepalived.conf with only `priority` and `interface` changed:
//! priorities are respected both ways and each takes over when the other dies.

use std::{net::IpAddr, thread, time::Duration};

use anyhow::{Context, Result, ensure};
use hatest::{Daemon, Group, Topology, require_root, wait_until};

fn group(version: u8, vrid: u8, vip: IpAddr) -> Group {
    let mut g = Group::v3(vrid, vip, 24);
    g.version = version;
    // v2 carries whole seconds; v3 runs at 0.1 s.
    g.advert_int = if version == 2 { 1.0 } else { 0.1 };
    g
}

/// Master_Down_Interval at priority 100 plus a start-up margin.
fn takeover_limit(g: &Group) -> Duration {
    Duration::from_secs_f64(4.0 * g.advert_int) + Duration::from_secs(2)
}

/// `ha run` arguments: none (as a user runs it), or XDP in native mode with an
/// XDP program on the bridge ports too.
const DEFAULT: &[&str] = &[];
const NATIVE: &[&str] = &["--xdp-mode", "native"];

/// A two-node topology ready for `ha` with `mode`.
fn topology(mode: &[&str]) -> Result<Topology> {
    let topo = Topology::builder().nodes(2).build()?;
    if mode == NATIVE {
        topo.native_xdp_ports()?;
    }
    Ok(topo)
}

/// Keepalived at 200, ha at 100: ha stays backup, then takes over when keepalived dies.
fn keepalived_master_then_ha(version: u8, vrid: u8, mode: &[&str]) -> Result<()> {
    let topo = topology(mode)?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let g = group(version, vrid, vip);
    let (conf_k, conf_h) = (g.keepalived_conf(n1, 200), g.keepalived_conf(n2, 100));
    let same = |c: &str| {
        c.replace(&n1.ifname, "IF")
            .replace(&n2.ifname, "IF")
            .replace("priority 200", "P")
            .replace("priority 100", "P")
    };
    ensure!(
        same(&conf_k) == same(&conf_h),
        "the two configurations differ beyond priority and interface"
    );

    let k = Daemon::keepalived(n1, "k", &conf_k)?;
    wait_until("keepalived to own the VIP", takeover_limit(&g) * 2, || {
        n1.has_address(vip)
    })
    .with_context(|| k.log())?;
    let h = Daemon::ha_with(n2, "ha", &conf_h, mode)?;
    h.wait_state("backup", Duration::from_secs(3))
        .with_context(|| h.log())?;
    thread::sleep(Duration::from_secs_f64(5.0 * g.advert_int));
    ensure!(
        h.state()? == "backup",
        "ha (100) took over from keepalived (200)\n{}\n{}",
        h.log(),
        k.log()
    );
    ensure!(
        h.counter("adverts_rx")? + h.counter("kernel_adverts")? > 0,
        "ha counted no advert from keepalived: {}",
        h.status()?
    );
    ensure!(!n2.has_address(vip)?, "ha holds the VIP as backup");

    k.crash()?;
    h.wait_state("master", takeover_limit(&g))
        .with_context(|| format!("{}\n{}", h.log(), k.log()))?;
    ensure!(n2.has_address(vip)?, "ha is master without the VIP");
    Ok(())
}

/// ha at 200, keepalived at 100: keepalived stays backup, then takes over when ha dies.
fn ha_master_then_keepalived(version: u8, vrid: u8, mode: &[&str]) -> Result<()> {
    let topo = topology(mode)?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let g = group(version, vrid, vip);
    let h = Daemon::ha_with(n1, "ha", &g.keepalived_conf(n1, 200), mode)?;
    h.wait_state("master", takeover_limit(&g) * 2)
        .with_context(|| h.log())?;
    let k = Daemon::keepalived(n2, "k", &g.keepalived_conf(n2, 100))?;
    thread::sleep(Duration::from_secs_f64(6.0 * g.advert_int).max(Duration::from_secs(1)));
    ensure!(
        !n2.has_address(vip)?,
        "keepalived (100) took the VIP from ha (200)\n{}\n{}",
        h.log(),
        k.log()
    );
    ensure!(
        h.state()? == "master",
        "ha lost mastership to a lower priority\n{}",
        h.log()
    );

    h.crash()?;
    wait_until("keepalived to take the VIP", takeover_limit(&g), || {
        n2.has_address(vip)
    })
    .with_context(|| format!("{}\n{}", h.log(), k.log()))?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn v3_keepalived_master_killed_ha_takes_over() -> Result<()> {
    require_root();
    keepalived_master_then_ha(3, 40, DEFAULT)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn v3_ha_master_killed_keepalived_takes_over() -> Result<()> {
    require_root();
    ha_master_then_keepalived(3, 41, DEFAULT)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn v2_keepalived_master_killed_ha_takes_over() -> Result<()> {
    require_root();
    keepalived_master_then_ha(2, 42, DEFAULT)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn v2_ha_master_killed_keepalived_takes_over() -> Result<()> {
    require_root();
    ha_master_then_keepalived(2, 43, DEFAULT)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn v3_keepalived_master_killed_ha_takes_over_native() -> Result<()> {
    require_root();
    keepalived_master_then_ha(3, 44, NATIVE)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn v3_ha_master_killed_keepalived_takes_over_native() -> Result<()> {
    require_root();
    ha_master_then_keepalived(3, 45, NATIVE)
}
