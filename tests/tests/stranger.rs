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

/// Two nodes, n1 (priority 200) master and n2 (100) backup, and a client
/// that also holds a stranger's address. Daemons before the topology, so
/// they are stopped before it is torn down.
struct Lan {
    d1: Daemon,
    d2: Daemon,
    vrid: u8,
    vip: IpAddr,
    stranger: Ipv4Addr,
    topo: Topology,
}

impl Lan {
    /// Starts VRID `vrid` (changed by `tweak`, with `global` lines in
    /// global_defs) with `ha run` and `flags`, and waits for the election.
    fn start(
        vrid: u8,
        tweak: impl Fn(&mut Group, &Topology),
        global: &str,
        flags: &[&str],
    ) -> Result<Lan> {
        require_root();
        let topo = Topology::builder().nodes(2).build()?;
        let client = topo.client();
        let vip: IpAddr = topo.subnet().vip4(0).into();
        let stranger = topo.subnet().v4(77);
        let with_prefix = format!("{stranger}/24");
        client.run_ok("ip", ["addr", "add", &with_prefix, "dev", &client.ifname])?;
        let mut group = Group::v3(vrid, vip, 24);
        tweak(&mut group, &topo);
        let conf = |h: &Host, p: u8| {
            group
                .keepalived_conf(h, p)
                .replace("global_defs {\n", &format!("global_defs {{\n{global}"))
        };
        let [n1, n2] = topo.nodes() else {
            unreachable!()
        };
        let d1 = Daemon::ha_with(n1, "ha", &conf(n1, 200), flags)?;
        let d2 = Daemon::ha_with(n2, "ha", &conf(n2, 100), flags)?;
        let lan = Lan {
            d1,
            d2,
            vrid,
            vip,
            stranger,
            topo,
        };
        lan.d1
            .wait_state("master", Duration::from_secs(3))
            .with_context(|| lan.logs())?;
        lan.d2
            .wait_state("backup", Duration::from_secs(2))
            .with_context(|| lan.logs())?;
        Ok(lan)
    }

    fn node(&self, i: usize) -> &Host {
        &self.topo.nodes()[i]
    }

    fn logs(&self) -> String {
        hatest::logs([&self.d1, &self.d2])
    }

    /// How often each node became master so far.
    fn became_master(&self) -> Result<(u64, u64)> {
        Ok((
            self.d1.counter("became_master")?,
            self.d2.counter("became_master")?,
        ))
    }

    /// Sends the stranger's `priority` adverts listing `vip` to `dst`.
    fn spoof(&self, dst: Ipv4Addr, priority: u8, vip: IpAddr, duration: Duration) -> Result<usize> {
        spoof(
            self.topo.client(),
            self.stranger,
            dst,
            self.vrid,
            priority,
            vip,
            duration,
        )
    }

    /// Waits until the XDP counters are in the status, then checks that both
    /// nodes counted `xdp` (the default datapath) or `socket` (raw sockets).
    fn counted(&self, flags: &[&str], xdp: &str, socket: &str, both: bool) -> Result<()> {
        let (c1, c2) = if flags.contains(&"socket") {
            (self.d1.counter(socket)?, self.d2.counter(socket)?)
        } else {
            std::thread::sleep(XDP_COUNTERS_WAIT);
            (self.d1.xdp_counter(xdp)?, self.d2.xdp_counter(xdp)?)
        };
        ensure!(
            c1 > 0 && (!both || c2 > 0),
            "not counted ({c1}, {c2})\n{}",
            self.logs()
        );
        Ok(())
    }
}

/// Unicast peers on both nodes.
fn unicast(group: &mut Group, topo: &Topology) {
    group.unicast_peers = topo.nodes().iter().map(|n| n.ipv4.into()).collect();
}

fn stranger_is_ignored(flags: &[&str]) -> Result<()> {
    let lan = Lan::start(
        40,
        |g, t| {
            unicast(g, t);
            g.extra = "  check_unicast_src\n".into();
        },
        "",
        flags,
    )?;
    let before = lan.became_master()?;
    // Priority 0 to the backup (it would take over after Skew_Time) and
    // priority 255 to the master (it would yield), 200 a second each.
    let burst = Duration::from_secs(2);
    let sent = lan.spoof(lan.node(1).ipv4, 0, lan.vip, burst)?
        + lan.spoof(lan.node(0).ipv4, 255, lan.vip, burst)?;
    ensure!(sent > 100, "only {sent} spoofed adverts sent");
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        lan.d1.state()? == "master"
            && lan.d2.state()? == "backup"
            && lan.became_master()? == before,
        "the stranger moved the group\n{}",
        lan.logs()
    );
    lan.counted(flags, "drop_not_peer", "rx_not_peer", true)
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
    let lan = Lan::start(41, unicast, "", &[])?;
    let (b1, b2) = lan.became_master()?;
    lan.spoof(lan.node(0).ipv4, 255, lan.vip, Duration::from_millis(20))?;
    std::thread::sleep(Duration::from_secs(1));
    let (a1, a2) = lan.became_master()?;
    ensure!(
        a1 + a2 > b1 + b2,
        "the master ignored a priority-255 advert without any check configured\n{}",
        lan.logs()
    );
    Ok(())
}

/// `vrrp_strict`: a priority-255 advert listing other addresses than ours is
/// dropped (by XDP on the default datapath, by the controller on sockets),
/// so the master stays.
fn strict_drops_another_address_list(flags: &[&str]) -> Result<()> {
    let lan = Lan::start(42, |_, _| {}, "  vrrp_strict\n", flags)?;
    let other: IpAddr = lan.topo.subnet().vip4(1).into();
    let before = lan.became_master()?;
    lan.spoof(
        Ipv4Addr::new(224, 0, 0, 18),
        255,
        other,
        Duration::from_secs(1),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        lan.became_master()? == before && lan.d1.state()? == "master",
        "another address list moved the group\n{}",
        lan.logs()
    );
    lan.counted(
        flags,
        "drop_address_list",
        "rx_address_mismatch_dropped",
        false,
    )
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
    let lan = Lan::start(43, |_, _| {}, "", &[])?;
    let n2 = lan.node(1);
    lan.d2.proc.kill(libc::SIGSTOP)?;
    // Lower priorities that change with every advert: each one is an event
    // (a priority change), none re-arms the backup's timer (it preempts).
    let flood = [1u8, 2]
        .iter()
        .map(|p| advert(lan.stranger, n2.ipv4, lan.vrid, *p, lan.vip))
        .collect::<Result<Vec<_>>>()?;
    let client = lan.topo.client();
    let sent = send_vrrp(
        client,
        lan.stranger,
        n2.ipv4,
        &flood,
        None,
        Duration::from_secs(1),
    )?;
    ensure!(sent > 3000, "only {sent} adverts sent");
    lan.d1.crash()?;
    // The master-down deadline passes while the ring is full.
    std::thread::sleep(Duration::from_secs(1));
    lan.d2.proc.kill(libc::SIGCONT)?;
    lan.d2
        .wait_state("master", Duration::from_secs(10))
        .with_context(|| lan.logs())?;
    ensure!(lan.d2.counter("kernel_resyncs")? >= 1, "{}", lan.d2.log());
    std::thread::sleep(XDP_COUNTERS_WAIT);
    ensure!(
        lan.d2.xdp_counter("events_dropped")? > 0,
        "the ring never overflowed: the test did not lose the event\n{}",
        lan.d2.log()
    );
    ensure!(
        n2.has_address(lan.vip)?,
        "the new master has no VIP\n{}",
        lan.d2.log()
    );
    Ok(())
}
