//! keepalived's `use_vmac`: the master's VIP lives on a macvlan whose MAC is
//! the VRRP virtual MAC (00:00:5e:00:01:VRID), the client's ARP is answered
//! with that MAC, and a failover moves the VIP to the backup's VMAC, which
//! answers with the same MAC: the client's neighbour entry never changes.
//! With `ha run` and default flags (XDP, generic mode on the macvlan), the
//! socket datapath as a twin, and keepalived 2.2.7 with the same file.

use std::{net::Ipv4Addr, time::Duration};

use anyhow::{Context, Result, ensure};
use hatest::scenario::{Pair, Run, both, no_other_holds};
use hatest::{Daemon, Group, Host, Mac, Topology, require_root, wait_until};

const VRID: u8 = 51;
/// keepalived's default VMAC name.
const VMAC: &str = "vrrp.51";

fn virtual_mac() -> Mac {
    Mac([0, 0, 0x5e, 0, 1, VRID])
}

/// The interface holding `vip` on `host`, if any.
fn holder_if(host: &Host, vip: Ipv4Addr) -> Result<Option<String>> {
    Ok(host
        .addresses()?
        .into_iter()
        .find(|a| a.addr == vip)
        .map(|a| a.ifname))
}

/// Whether `host` has interface `name`.
fn has_link(host: &Host, name: &str) -> Result<bool> {
    Ok(host
        .run("ip", ["link", "show", "dev", name])?
        .status
        .success())
}

/// Waits until node `holder` has the VIP on its VMAC and the other none,
/// and the client's ARP is answered with the virtual MAC, once per request.
fn wait_vip_on_vmac(
    topo: &Topology,
    holder: usize,
    vip: Ipv4Addr,
    logs: &dyn Fn() -> String,
) -> Result<()> {
    let nodes = topo.nodes();
    wait_until(
        &format!("VIP on node {}'s VMAC", holder + 1),
        Duration::from_secs(8),
        || {
            Ok(holder_if(&nodes[holder], vip)?.as_deref() == Some(VMAC)
                && no_other_holds(topo, holder, vip)?)
        },
    )
    .with_context(logs)?;
    let arp = topo.client().arping(vip, 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(virtual_mac()) && arp.replies.len() <= 3,
        "ARP for {vip} not answered by the virtual MAC of one node: {arp:?}\n{}",
        logs()
    );
    Ok(())
}

fn vmac_failover(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let vip = topo.subnet().vip4(0);
    let d = Pair {
        extra: both("  use_vmac\n"),
        ..Pair::new("vmac", VRID)
    }
    .start(run, &topo)?;
    let logs = |d: &[Daemon]| hatest::logs(d.iter());
    wait_vip_on_vmac(&topo, 0, vip, &|| logs(&d))?;
    // Both nodes have their VMAC (the backup's holds nothing).
    for n in topo.nodes() {
        ensure!(has_link(n, VMAC)?, "no {VMAC} on {}\n{}", n.ns, logs(&d));
    }
    // Both VMACs joined the VRRP group at start and send their IGMP reports
    // (source: the virtual MAC) for about a second: until the master's next
    // advert, the bridge sends the virtual MAC's frames to the backup. The
    // same with keepalived; let them pass.
    std::thread::sleep(Duration::from_secs(2));
    // The client's neighbour entry for the VIP, pinned to the virtual MAC:
    // traffic reaches whichever node is master without it ever changing.
    // (Left to ARP, the entry may also learn the master's own MAC: its
    // replies leave through the base interface, whose ARP requests carry
    // the VIP as sender, with keepalived as with ha.)
    let client = topo.client();
    client.run_ok(
        "ip",
        [
            "neigh",
            "replace",
            &vip.to_string(),
            "lladdr",
            &virtual_mac().to_string(),
            "nud",
            "permanent",
            "dev",
            &client.ifname,
        ],
    )?;
    let ping = client.ping(vip, 3, Duration::from_millis(50))?;
    ensure!(ping.all_answered(), "ping {vip}: {ping:?}\n{}", logs(&d));
    d[0].terminate()?;
    wait_vip_on_vmac(&topo, 1, vip, &|| logs(&d))?;
    let ping = client.ping(vip, 5, Duration::from_millis(50))?;
    ensure!(
        ping.all_answered(),
        "ping {vip} after the failover: {ping:?}\n{}",
        logs(&d)
    );
    // The stopped node deleted its VMAC.
    wait_until("VMAC of node 1 deleted", Duration::from_secs(8), || {
        Ok(!has_link(&topo.nodes()[0], VMAC)?)
    })
    .with_context(|| logs(&d))?;
    d[1].terminate()?;
    wait_until("VMAC of node 2 deleted", Duration::from_secs(8), || {
        Ok(!has_link(&topo.nodes()[1], VMAC)?)
    })
    .with_context(|| logs(&d))?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vmac_failover_ha() -> Result<()> {
    vmac_failover(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vmac_failover_ha_socket() -> Result<()> {
    vmac_failover(Run::HaSocket)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vmac_failover_keepalived() -> Result<()> {
    vmac_failover(Run::Keepalived)
}

/// `vmac_xmit_base`: adverts stay on the base interface, the VIP is on the
/// VMAC and ARP is answered with the virtual MAC, also after a failover.
fn vmac_xmit_base(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let vip = topo.subnet().vip4(0);
    let d = Pair {
        extra: both("  use_vmac\n  vmac_xmit_base\n"),
        ..Pair::new("xb", VRID)
    }
    .start(run, &topo)?;
    let logs = |d: &[Daemon]| hatest::logs(d.iter());
    wait_vip_on_vmac(&topo, 0, vip, &|| logs(&d))?;
    d[0].terminate()?;
    wait_vip_on_vmac(&topo, 1, vip, &|| logs(&d))?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vmac_xmit_base_ha() -> Result<()> {
    vmac_xmit_base(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vmac_xmit_base_ha_socket() -> Result<()> {
    vmac_xmit_base(Run::HaSocket)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vmac_xmit_base_keepalived() -> Result<()> {
    vmac_xmit_base(Run::Keepalived)
}

/// A daemon killed with its VMAC up: the next one uses it again (same name,
/// MAC and base) and becomes master on it.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn leftover_vmac_is_used_again() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let node = &topo.nodes()[0];
    let vip = topo.subnet().vip4(0);
    let mut g = Group::v3(VRID, vip.into(), 24);
    g.extra = "  use_vmac\n".into();
    let conf = g.keepalived_conf(node, 200);
    let first = Daemon::ha(node, "lo1", &conf)?;
    wait_vip_on_vmac(&topo, 0, vip, &|| first.log())?;
    first.crash()?;
    drop(first);
    ensure!(has_link(node, VMAC)?, "the killed daemon's VMAC is gone");
    let second = Daemon::ha(node, "lo2", &conf)?;
    wait_vip_on_vmac(&topo, 0, vip, &|| second.log())?;
    ensure!(
        second.proc.stderr().contains("left by an earlier run")
            || second.proc.stdout().contains("left by an earlier run"),
        "{}",
        second.log()
    );
    Ok(())
}
