//! A stranger on the LAN speaks VRRP: with `check_unicast_src` its adverts are
//! counted and dropped (by the XDP program on the default datapath, by the
//! controller on raw sockets) and nobody changes state; without it, its
//! priority-0 and priority-255 adverts move the group, as the RFC says they
//! should for a legitimate router. With `vrrp_strict`, another address list
//! is dropped. And a flood that overflows the XDP event ring loses no
//! takeover.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use anyhow::{Context, Result, ensure};
use ha::wire::{Advert, Auth, ChecksumForm, Version};
use hatest::{Daemon, Group, Host, Topology, XDP_COUNTERS_WAIT, require_root, stranger::send_vrrp};

/// Between two spoofed adverts: 200 a second.
const GAP: Duration = Duration::from_millis(5);

/// A v3 advert for `vrid` at `priority` listing `vip`, from `src` to `dst`.
fn advert(src: Ipv4Addr, dst: Ipv4Addr, vrid: u8, priority: u8, vip: IpAddr) -> Result<Vec<u8>> {
    let advert = Advert {
        version: Version::V3,
        vrid,
        priority,
        advert_int_cs: 10,
        addresses: vec![vip],
        auth: Auth::None,
    };
    Ok(advert.to_bytes(src.into(), dst.into(), ChecksumForm::PseudoHeader)?)
}

/// Sends `priority` adverts for `vrid` listing `vip` from `src` (an address
/// of `host`) to `dst` every [`GAP`] for `duration`, as a stranger would.
fn spoof(
    host: &Host,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    vrid: u8,
    priority: u8,
    vip: IpAddr,
    duration: Duration,
) -> Result<usize> {
    let payload = advert(src, dst, vrid, priority, vip)?;
    send_vrrp(host, src, dst, &[payload], Some(GAP), duration)
}

fn stranger_is_ignored(extra: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let client = topo.client();
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let stranger = topo.subnet().v4(77);
    client.run_ok(
        "ip",
        [
            "addr",
            "add",
            &format!("{stranger}/24"),
            "dev",
            &client.ifname,
        ],
    )?;
    let mut group = Group::v3(40, vip, 24);
    group.unicast_peers = vec![n1.ipv4.into(), n2.ipv4.into()];
    group.extra = "  check_unicast_src\n".into();
    let d1 = Daemon::ha_with(n1, "ha", &group.keepalived_conf(n1, 200), extra)?;
    let d2 = Daemon::ha_with(n2, "ha", &group.keepalived_conf(n2, 100), extra)?;
    let logs = || format!("{}\n{}", d1.log(), d2.log());
    d1.wait_state("master", Duration::from_secs(3))
        .with_context(logs)?;
    d2.wait_state("backup", Duration::from_secs(2))
        .with_context(logs)?;

    // Priority 0 to the backup (it would take over after Skew_Time) and
    // priority 255 to the master (it would yield), 200 a second each.
    let before = (d1.counter("became_master")?, d2.counter("became_master")?);
    let burst = Duration::from_secs(2);
    let sent = spoof(client, stranger, n2.ipv4, 40, 0, vip, burst)?
        + spoof(client, stranger, n1.ipv4, 40, 255, vip, burst)?;
    ensure!(sent > 100, "only {sent} spoofed adverts sent");
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        d1.state()? == "master" && d2.state()? == "backup",
        "the stranger moved the group\n{}",
        logs()
    );
    ensure!(
        (d1.counter("became_master")?, d2.counter("became_master")?) == before,
        "a transition during the spoofing\n{}",
        logs()
    );
    // Counted where they were dropped.
    if extra.contains(&"socket") {
        ensure!(
            d1.counter("rx_not_peer")? > 0 && d2.counter("rx_not_peer")? > 0,
            "not counted\n{}",
            logs()
        );
    } else {
        std::thread::sleep(XDP_COUNTERS_WAIT);
        ensure!(
            d1.xdp_counter("drop_not_peer")? > 0 && d2.xdp_counter("drop_not_peer")? > 0,
            "not counted by XDP\n{}",
            logs()
        );
    }
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn check_unicast_src_ignores_a_stranger() -> Result<()> {
    stranger_is_ignored(&[])
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn check_unicast_src_ignores_a_stranger_on_sockets() -> Result<()> {
    stranger_is_ignored(&["--datapath", "socket"])
}

/// The twin without the check: the same stranger's priority-255 advert makes
/// the master yield (RFC 5798 §6.4.3), and the group re-elects when it falls
/// silent, which is what `check_unicast_src` is for.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn without_check_unicast_src_a_stranger_moves_the_group() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let client = topo.client();
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let stranger = topo.subnet().v4(77);
    client.run_ok(
        "ip",
        [
            "addr",
            "add",
            &format!("{stranger}/24"),
            "dev",
            &client.ifname,
        ],
    )?;
    let mut group = Group::v3(41, vip, 24);
    group.unicast_peers = vec![n1.ipv4.into(), n2.ipv4.into()];
    let d1 = Daemon::ha_with(n1, "ha", &group.keepalived_conf(n1, 200), &[])?;
    let d2 = Daemon::ha_with(n2, "ha", &group.keepalived_conf(n2, 100), &[])?;
    d1.wait_state("master", Duration::from_secs(3))?;
    d2.wait_state("backup", Duration::from_secs(2))?;
    let before = d1.counter("became_master")? + d2.counter("became_master")?;
    spoof(
        client,
        stranger,
        n1.ipv4,
        41,
        255,
        vip,
        Duration::from_millis(20),
    )?;
    std::thread::sleep(Duration::from_secs(1));
    ensure!(
        d1.counter("became_master")? + d2.counter("became_master")? > before,
        "the master ignored a priority-255 advert without any check configured\n{}\n{}",
        d1.log(),
        d2.log()
    );
    Ok(())
}

/// `vrrp_strict`: a priority-255 advert listing other addresses than ours is
/// dropped (by XDP on the default datapath, by the controller on sockets),
/// so the master stays.
fn strict_drops_another_address_list(extra: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let client = topo.client();
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let other: IpAddr = topo.subnet().vip4(1).into();
    let stranger = topo.subnet().v4(77);
    client.run_ok(
        "ip",
        [
            "addr",
            "add",
            &format!("{stranger}/24"),
            "dev",
            &client.ifname,
        ],
    )?;
    let group = Group::v3(42, vip, 24);
    let conf = |h: &Host, p: u8| {
        group
            .keepalived_conf(h, p)
            .replace("global_defs {\n", "global_defs {\n  vrrp_strict\n")
    };
    let d1 = Daemon::ha_with(n1, "ha", &conf(n1, 200), extra)?;
    let d2 = Daemon::ha_with(n2, "ha", &conf(n2, 100), extra)?;
    let logs = || format!("{}\n{}", d1.log(), d2.log());
    d1.wait_state("master", Duration::from_secs(3))
        .with_context(logs)?;
    d2.wait_state("backup", Duration::from_secs(2))
        .with_context(logs)?;
    let before = (d1.counter("became_master")?, d2.counter("became_master")?);
    spoof(
        client,
        stranger,
        Ipv4Addr::new(224, 0, 0, 18),
        42,
        255,
        other,
        Duration::from_secs(1),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        (d1.counter("became_master")?, d2.counter("became_master")?) == before
            && d1.state()? == "master",
        "another address list moved the group\n{}",
        logs()
    );
    if extra.contains(&"socket") {
        ensure!(
            d1.counter("rx_address_mismatch_dropped")? > 0,
            "not counted\n{}",
            logs()
        );
    } else {
        std::thread::sleep(XDP_COUNTERS_WAIT);
        ensure!(
            d1.xdp_counter("drop_address_list")? > 0,
            "not counted by XDP\n{}",
            logs()
        );
    }
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn strict_mode_drops_another_address_list() -> Result<()> {
    strict_drops_another_address_list(&[])
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn strict_mode_drops_another_address_list_on_sockets() -> Result<()> {
    strict_drops_another_address_list(&["--datapath", "socket"])
}

/// The XDP event ring overflows while the backup's controller is stopped
/// (SIGSTOP, a stranger flooding it with adverts that each make an event),
/// and the master dies meanwhile: the kernel's master-down event is lost.
/// The controller sees the overflow, resyncs from the maps, and takes over.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_lost_master_down_event_is_recovered_from_the_maps() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let client = topo.client();
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let stranger = topo.subnet().v4(77);
    client.run_ok(
        "ip",
        [
            "addr",
            "add",
            &format!("{stranger}/24"),
            "dev",
            &client.ifname,
        ],
    )?;
    let group = Group::v3(43, vip, 24);
    let d1 = Daemon::ha_with(n1, "ha", &group.keepalived_conf(n1, 200), &[])?;
    let d2 = Daemon::ha_with(n2, "ha", &group.keepalived_conf(n2, 100), &[])?;
    let logs = || format!("{}\n{}", d1.log(), d2.log());
    d1.wait_state("master", Duration::from_secs(3))
        .with_context(logs)?;
    d2.wait_state("backup", Duration::from_secs(2))
        .with_context(logs)?;

    d2.proc.kill(libc::SIGSTOP)?;
    // Lower priorities that change with every advert: each one is an event
    // (a priority change), none re-arms the backup's timer (it preempts).
    let flood = [1u8, 2]
        .iter()
        .map(|p| advert(stranger, n2.ipv4, 43, *p, vip))
        .collect::<Result<Vec<_>>>()?;
    let sent = send_vrrp(
        client,
        stranger,
        n2.ipv4,
        &flood,
        None,
        Duration::from_secs(1),
    )?;
    ensure!(sent > 3000, "only {sent} adverts sent");
    d1.crash()?;
    // The master-down deadline passes while the ring is full.
    std::thread::sleep(Duration::from_secs(1));
    d2.proc.kill(libc::SIGCONT)?;
    d2.wait_state("master", Duration::from_secs(10))
        .with_context(logs)?;
    ensure!(d2.counter("kernel_resyncs")? >= 1, "{}", d2.log());
    std::thread::sleep(XDP_COUNTERS_WAIT);
    ensure!(
        d2.xdp_counter("events_dropped")? > 0,
        "the ring never overflowed: the test did not lose the event\n{}",
        d2.log()
    );
    ensure!(
        n2.has_address(vip)?,
        "the new master has no VIP\n{}",
        d2.log()
    );
    Ok(())
}
