//! Failover as a user sees it: two or three `ha` nodes and a client on one
//! bridge; who owns the VIP, who answers for it, and how long the client waits.
//!
//! Groups use VRRPv3 at 0.1 s (Master_Down_Interval ≈ 0.36 s at priority 100)
//! unless a test needs v2. Bounds are the RFC's plus a generous margin: tests
//! never assert a wall-clock time tighter than a safety margin.

use std::{
    net::IpAddr,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use hatest::{
    Capture, Daemon, Group, Host, Mac, Topology, XDP_COUNTERS_WAIT, logs, require_root,
    wait_elected, wait_until,
};

/// `ha run` arguments as a user gives them: none. The XDP datapath attaches in
/// native mode on the veths, whose peers are plain bridge ports (no XDP), so the
/// kernel answers ARP/NS for the master's VIPs behind the XDP gate.
const DEFAULT: &[&str] = &[];
/// `ha run` arguments of the XDP datapath in generic (SKB) mode: XDP answers
/// ARP/NS itself (XDP_TX).
const SKB: &[&str] = &["--xdp-mode", "skb"];
/// `ha run` arguments of the XDP datapath in native mode, with the same program
/// on the bridge ports too ([`Topology::native_xdp_ports`]; [`start`] does it).
const NATIVE: &[&str] = &["--xdp-mode", "native"];
/// `ha run` arguments of the raw-socket datapath.
const SOCKET: &[&str] = &["--datapath", "socket"];

/// Room for process start-up, netlink and this VM's scheduling on top of an RFC bound.
const MARGIN: Duration = Duration::from_millis(700);

/// Master_Down_Interval of a v3 backup (RFC 9568 §6.1).
fn master_down(advert_int: f64, priority: u8) -> Duration {
    let skew = (256.0 - f64::from(priority)) / 256.0 * advert_int;
    Duration::from_secs_f64(3.0 * advert_int + skew)
}

/// Starts `ha` on each node with its priority, in order.
fn start(topo: &Topology, group: &Group, prios: &[u8], dp: &[&str]) -> Result<Vec<Daemon>> {
    if dp == NATIVE {
        topo.native_xdp_ports()?;
    }
    topo.nodes()
        .iter()
        .zip(prios)
        .map(|(n, p)| Daemon::ha_with(n, "ha", &group.keepalived_conf(n, *p), dp))
        .collect()
}

/// Starts `ha` on each node (the first must have the highest priority) and
/// waits until the first is master and every other one backup.
fn start_settled(topo: &Topology, group: &Group, prios: &[u8], dp: &[&str]) -> Result<Vec<Daemon>> {
    let d = start(topo, group, prios, dp)?;
    wait_elected(&d, Duration::from_secs(3), Duration::from_secs(1))?;
    Ok(d)
}

/// How long until `d` reports master, polled every 10 ms.
fn time_to_master(d: &Daemon, limit: Duration) -> Result<Duration> {
    let t0 = Instant::now();
    d.wait_state("master", limit)?;
    Ok(t0.elapsed())
}

fn owns(host: &Host, vip: IpAddr) -> bool {
    host.has_address(vip).unwrap_or(false)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn highest_priority_wins_and_only_it_answers_arp() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip = topo.subnet().vip4(0);
    let group = Group::v3(10, vip.into(), 24);
    let d = start(&topo, &group, &[100, 200], DEFAULT)?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    d[0].wait_state("backup", Duration::from_secs(1))
        .with_context(|| logs(&d))?;
    ensure!(
        owns(n2, vip.into()) && !owns(n1, vip.into()),
        "VIP not on the master only\n{}",
        logs(&d)
    );
    let arp = topo.client().arping(vip, 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(n2.mac()),
        "ARP for the VIP: {arp:?}\n{}",
        logs(&d)
    );
    Ok(())
}

fn kill_9_hands_over(dp: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(11, vip, 24);
    let d = start_settled(&topo, &group, &[200, 100], dp)?;
    // A client that knows nobody: the master (its kernel or its XDP program)
    // must answer its ARP request. Then it talks to the VIP, so it holds a
    // neighbour entry for the old master (Linux lets gratuitous ARP update an
    // entry, not create one).
    topo.client().flush_neighbors()?;
    ensure!(
        topo.client()
            .ping(vip, 3, Duration::from_millis(20))?
            .all_answered(),
        "VIP unreachable"
    );
    ensure!(
        topo.client().neighbor(vip)? == Some(n1.mac()),
        "client's entry is not the master's"
    );

    d[0].crash()?;
    let took = time_to_master(&d[1], Duration::from_secs(3))?;
    let bound = master_down(0.1, 100) + MARGIN;
    ensure!(
        took <= bound,
        "takeover after {took:?}, bound {bound:?}\n{}",
        logs(&d)
    );
    ensure!(owns(n2, vip), "the new master has no VIP");
    // The raw-socket datapath, like keepalived, leaves the dead host answering.
    if dp != SOCKET {
        // The dead daemon's host still has the address configured, but its XDP
        // program stopped answering ARP when the heartbeat went stale (by the
        // takeover): only the new master answers (keepalived's host keeps answering).
        let arp = topo
            .client()
            .arping(vip.to_string().parse()?, 3, Duration::from_millis(50))?;
        ensure!(
            arp.answered_only_by(n2.mac()),
            "ARP for the VIP after kill -9: {arp:?}\n{}",
            logs(&d)
        );
        ensure!(
            owns(n1, vip),
            "the test expects the dead daemon's host to keep the address"
        );
    }
    // Its gratuitous ARP moved the client over.
    wait_until(
        "client's neighbour entry to follow",
        Duration::from_secs(2),
        || Ok(topo.client().neighbor(vip)? == Some(n2.mac())),
    )?;
    ensure!(
        topo.client()
            .ping(vip, 5, Duration::from_millis(20))?
            .all_answered(),
        "VIP unreachable"
    );
    // A client that knew nobody before the fault is served by the new master.
    if dp != SOCKET {
        topo.client().flush_neighbors()?;
        ensure!(
            topo.client()
                .ping(vip, 3, Duration::from_millis(20))?
                .all_answered(),
            "VIP unreachable from an empty neighbour cache after kill -9\n{}",
            logs(&d)
        );
        ensure!(
            topo.client().neighbor(vip)? == Some(n2.mac()),
            "a client with an empty cache resolved the VIP to {:?}, not the new master",
            topo.client().neighbor(vip)?
        );
    }
    Ok(())
}

fn link_down_hands_over(dp: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(12, vip, 24);
    let d = start_settled(&topo, &group, &[200, 100], dp)?;

    let outage = thread::scope(|s| -> Result<Duration> {
        let probe = s.spawn(|| topo.client().ping(vip, 200, Duration::from_millis(10)));
        thread::sleep(Duration::from_millis(300));
        n1.link_down()?;
        d[1].wait_state("master", Duration::from_secs(3))?;
        let report = probe.join().expect("probe thread")?;
        Ok(report.interval * report.longest_loss() as u32)
    })?;
    let bound = master_down(0.1, 100) + MARGIN;
    ensure!(
        outage <= bound,
        "client outage {outage:?}, bound {bound:?}\n{}",
        logs(&d)
    );
    d[0].wait_state("fault", Duration::from_secs(2))
        .with_context(|| logs(&d))?;
    ensure!(!owns(n1, vip), "a node whose link is down kept the VIP");

    // Back up: priority 200 beats 100 and preempt is on (the default).
    n1.link_up()?;
    d[0].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    d[1].wait_state("backup", Duration::from_secs(2))
        .with_context(|| logs(&d))?;
    ensure!(
        owns(n1, vip) && !owns(n2, vip),
        "VIP not moved back\n{}",
        logs(&d)
    );
    Ok(())
}

fn sigterm_hands_over(dp: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(13, vip, 24);
    let d = start_settled(&topo, &group, &[200, 100], dp)?;

    let report = thread::scope(|s| -> Result<_> {
        let probe = s.spawn(|| topo.client().ping(vip, 150, Duration::from_millis(10)));
        thread::sleep(Duration::from_millis(400));
        d[0].terminate()?;
        let exit = d[0].proc.wait_timeout(Duration::from_secs(3))?;
        ensure!(
            exit.is_some_and(|s| s.success()),
            "ha did not exit 0 after SIGTERM: {exit:?}\n{}",
            logs(&d)
        );
        probe.join().expect("probe thread")
    })?;
    ensure!(
        report.all_answered(),
        "probes lost during a SIGTERM handover: {report:?}\n{}",
        logs(&d)
    );
    d[1].wait_state("master", Duration::from_secs(1))?;
    ensure!(
        owns(n2, vip) && !owns(n1, vip),
        "VIP not moved to the backup"
    );
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_returning_master_preempts_unless_nopreempt() -> Result<()> {
    require_root();
    for nopreempt in [false, true] {
        let topo = Topology::builder().nodes(2).build()?;
        let [n1, _] = topo.nodes() else {
            unreachable!()
        };
        let vip: IpAddr = topo.subnet().vip4(0).into();
        let mut group = Group::v3(14, vip, 24);
        group.nopreempt = nopreempt;
        let mut d = start(&topo, &group, &[200, 100], DEFAULT)?;
        d[0].wait_state("master", Duration::from_secs(3))
            .with_context(|| logs(&d))?;
        d[0].crash()?;
        d[1].wait_state("master", Duration::from_secs(3))
            .with_context(|| logs(&d))?;

        // The old master comes back; its leftover VIP is removed at start.
        d[0] = Daemon::ha(n1, "ha2", &group.keepalived_conf(n1, 200))?;
        if nopreempt {
            d[0].wait_state("backup", Duration::from_secs(2))
                .with_context(|| logs(&d))?;
            thread::sleep(Duration::from_millis(1500));
            ensure!(
                d[0].state()? == "backup" && d[1].state()? == "master",
                "nopreempt: took over\n{}",
                logs(&d)
            );
            ensure!(!owns(n1, vip), "a backup kept the VIP left by its crash");
        } else {
            d[0].wait_state("master", Duration::from_secs(3))
                .with_context(|| logs(&d))?;
            d[1].wait_state("backup", Duration::from_secs(2))
                .with_context(|| logs(&d))?;
        }
    }
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn preempt_delay_is_honoured() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let mut group = Group::v3(15, vip, 24);
    group.preempt_delay = Some(1.5);
    let low = Daemon::ha(n2, "ha", &group.keepalived_conf(n2, 100))?;
    low.wait_state("master", Duration::from_secs(3))
        .with_context(|| low.log())?;
    let high = Daemon::ha(n1, "ha", &group.keepalived_conf(n1, 200))?;
    let t0 = Instant::now();
    high.wait_state("backup", Duration::from_secs(2))
        .with_context(|| high.log())?;
    let took = time_to_master(&high, Duration::from_secs(5)).with_context(|| low.log())?;
    let since_start = t0.elapsed();
    ensure!(
        since_start >= Duration::from_millis(1400),
        "preempted after {since_start:?}, before the 1.5 s delay"
    );
    ensure!(
        took <= Duration::from_secs(4),
        "never preempted within the delay plus a margin"
    );
    low.wait_state("backup", Duration::from_secs(2))?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn equal_priorities_elect_the_higher_address() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(16, vip, 24);
    // Keep the two apart until both are master, so the tie-break (RFC 9568
    // §6.4.3: equal priority, greater primary address wins) has to decide.
    // Dropped in the bridge, as a partition between them would: XDP sees a
    // frame before any input hook of the node would, and a node whose own
    // output drops its adverts faults (it cannot be heard).
    topo.bridge_command("nft")
        .args(["-f", "-"])
        .stdin("table bridge split {\n chain between {\n type filter hook forward priority 0;\n ip protocol vrrp drop\n }\n}")
        .run_ok()?;
    let d = start(&topo, &group, &[100, 100], DEFAULT)?;
    d[0].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    topo.bridge_command("nft")
        .args(["delete", "table", "bridge", "split"])
        .run_ok()?;
    let (low, high) = if n1.ipv4 > n2.ipv4 {
        (&d[1], &d[0])
    } else {
        (&d[0], &d[1])
    };
    low.wait_state("backup", Duration::from_secs(2))
        .with_context(|| logs(&d))?;
    thread::sleep(Duration::from_millis(300));
    ensure!(
        high.state()? == "master",
        "the higher address did not stay master\n{}",
        logs(&d)
    );
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn an_ipv6_vip_fails_over() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip6(0).into();
    let group = Group::v3(17, vip, 64);
    let d = start_settled(&topo, &group, &[200, 100], DEFAULT)?;
    ensure!(
        topo.client()
            .ping(vip, 3, Duration::from_millis(20))?
            .all_answered(),
        "IPv6 VIP unreachable"
    );

    n1.link_down()?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    ensure!(owns(n2, vip), "the new master has no IPv6 VIP");
    // The unsolicited NA (override flag) moved the client's neighbour entry.
    wait_until(
        "client's IPv6 neighbour entry to follow",
        Duration::from_secs(2),
        || Ok(topo.client().neighbor(vip)? == Some(n2.mac())),
    )?;
    ensure!(
        topo.client()
            .ping(vip, 5, Duration::from_millis(20))?
            .all_answered(),
        "IPv6 VIP unreachable"
    );
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn unicast_peers_work_when_multicast_is_dropped() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let mut group = Group::v3(18, vip, 24);
    group.unicast_peers = vec![n1.ipv4.into(), n2.ipv4.into()];
    // Dropped on the way out: XDP sees a frame before any input hook would.
    let no_mcast = "table inet nomcast {\n chain out {\n type filter hook output priority 0;\n ip daddr 224.0.0.18 drop\n }\n}";
    n1.nft(no_mcast)?;
    n2.nft(no_mcast)?;
    let d = start_settled(&topo, &group, &[200, 100], DEFAULT)?;
    thread::sleep(Duration::from_millis(800));
    ensure!(
        d[1].state()? == "backup",
        "the backup stopped hearing unicast adverts\n{}",
        logs(&d)
    );
    ensure!(
        d[1].counter("adverts_rx")? + d[1].counter("kernel_adverts")? > 0,
        "no unicast advert counted"
    );
    d[0].crash()?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    Ok(())
}

fn password_mismatch(dp: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let mut group = Group::v3(19, vip, 24);
    group.version = 2;
    group.advert_int = 1.0;
    group.password = Some("secret12".into());
    if dp == NATIVE {
        topo.native_xdp_ports()?;
    }
    let a = Daemon::ha_with(n1, "ha", &group.keepalived_conf(n1, 200), dp)?;
    group.password = Some("other123".into());
    let b = Daemon::ha_with(n2, "ha", &group.keepalived_conf(n2, 100), dp)?;
    a.wait_state("master", Duration::from_secs(5))
        .with_context(|| a.log())?;
    // n2 discards every advert of n1 (RFC 2338 §7.1), so it times out and becomes master too.
    b.wait_state("master", Duration::from_secs(6))
        .with_context(|| b.log())?;
    // Counted where they were dropped: in the XDP program, or on the raw socket.
    wait_until("mismatches counted", XDP_COUNTERS_WAIT, || {
        Ok(b.xdp_counter("drop_auth")? + b.counter("rx_auth_mismatch")? > 0)
    })
    .with_context(|| b.status().map(|s| s.to_string()).unwrap_or_default())?;
    ensure!(
        b.counter("became_master")? == 1,
        "unexpected transitions: {}",
        b.status()?
    );
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn three_nodes_hand_over_to_the_next_highest() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(3).build()?;
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(20, vip, 24);
    let d = start_settled(&topo, &group, &[250, 100, 200], DEFAULT)?;
    d[0].crash()?;
    d[2].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    thread::sleep(Duration::from_millis(300));
    ensure!(
        d[1].state()? == "backup",
        "priority 100 took over from 200\n{}",
        logs(&d)
    );
    ensure!(owns(&topo.nodes()[2], vip), "VIP not on the new master");
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn one_daemon_runs_several_instances_of_both_families() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let (vip4, vip6): (IpAddr, IpAddr) =
        (topo.subnet().vip4(0).into(), topo.subnet().vip6(1).into());
    let g4 = Group::v3(21, vip4, 24);
    let mut g6 = Group::v3(22, vip6, 64);
    g6.name = "VI_v6".into();
    // n1 masters the IPv4 group, n2 the IPv6 one: each daemon is master of one
    // instance and backup of the other at the same time.
    let conf = |h: &Host, p4: u8, p6: u8| {
        format!("{}{}", g4.keepalived_conf(h, p4), g6.instance_block(h, p6))
    };
    let a = Daemon::ha(n1, "ha", &conf(n1, 200, 100))?;
    let b = Daemon::ha(n2, "ha", &conf(n2, 100, 200))?;
    let both = || format!("{}\n{}", a.log(), b.log());
    // Empty until the daemon has written its status once.
    let state = |d: &Daemon, i: usize| -> Result<String> {
        Ok(d.status()
            .ok()
            .and_then(|s| s["instances"][i]["state"].as_str().map(String::from))
            .unwrap_or_default())
    };
    wait_until(
        "each daemon master of one instance",
        Duration::from_secs(3),
        || {
            Ok(state(&a, 0)? == "master"
                && state(&a, 1)? == "backup"
                && state(&b, 0)? == "backup"
                && state(&b, 1)? == "master")
        },
    )
    .with_context(both)?;
    ensure!(
        owns(n1, vip4) && owns(n2, vip6) && !owns(n1, vip6) && !owns(n2, vip4),
        "VIPs misplaced\n{}",
        both()
    );

    // n1's link goes down: n2 ends up master of both.
    n1.link_down()?;
    wait_until("n2 master of both", Duration::from_secs(3), || {
        Ok(state(&b, 0)? == "master" && state(&b, 1)? == "master")
    })
    .with_context(both)?;
    ensure!(
        owns(n2, vip4) && owns(n2, vip6),
        "n2 lacks a VIP\n{}",
        both()
    );
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn native_xdp_mode_answers_arp_and_fails_over() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    topo.native_xdp_ports()?;
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(23, vip, 24);
    let d = vec![
        Daemon::ha_with(n1, "ha", &group.keepalived_conf(n1, 200), NATIVE)?,
        Daemon::ha_with(n2, "ha", &group.keepalived_conf(n2, 100), NATIVE)?,
    ];
    d[0].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    d[1].wait_state("backup", Duration::from_secs(1))
        .with_context(|| logs(&d))?;
    let link = n1.run_ok("ip", ["-d", "link", "show", "dev", &n1.ifname])?;
    ensure!(
        String::from_utf8_lossy(&link.stdout).contains("xdp "),
        "not in native mode: {link:?}"
    );
    let vip4 = topo.subnet().vip4(0);
    let arp = topo.client().arping(vip4, 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(n1.mac()),
        "ARP for the VIP: {arp:?}\n{}",
        logs(&d)
    );
    // A veth in native mode: the kernel answers behind the gate, even with an
    // XDP program on the peer (nothing tells the loader what the peer runs).
    wait_until(
        "XDP to count the ARP requests it passed",
        XDP_COUNTERS_WAIT,
        || Ok(d[0].xdp_counter("arp_passed")? > 0),
    )
    .with_context(|| format!("{}", d[0].status().unwrap_or_default()))?;

    d[0].crash()?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    let arp = topo.client().arping(vip4, 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(n2.mac()),
        "ARP for the VIP after kill -9: {arp:?}\n{}",
        logs(&d)
    );
    Ok(())
}

/// One `#[test]` per datapath for each scenario taking the `ha run` arguments:
/// the default (no flag), XDP in native mode with XDP on the bridge ports, raw
/// sockets. Generic (SKB) mode has its own test below.
macro_rules! on_every_datapath {
    ($($scenario:ident: $default:ident, $native:ident, $socket:ident;)+) => {$(
        #[test]
        #[ignore = "needs root: run by cargo xtask test"]
        fn $default() -> Result<()> {
            $scenario(DEFAULT)
        }

        #[test]
        #[ignore = "needs root: run by cargo xtask test"]
        fn $native() -> Result<()> {
            $scenario(NATIVE)
        }

        #[test]
        #[ignore = "needs root: run by cargo xtask test"]
        fn $socket() -> Result<()> {
            $scenario(SOCKET)
        }
    )+};
}

on_every_datapath! {
    kill_9_hands_over:
        kill_9_of_the_master_hands_over_within_the_rfc_bound,
        kill_9_of_the_master_hands_over_within_the_rfc_bound_native,
        kill_9_of_the_master_hands_over_within_the_rfc_bound_on_sockets;
    link_down_hands_over:
        link_down_hands_over_and_the_better_master_preempts_when_back,
        link_down_hands_over_and_the_better_master_preempts_when_back_native,
        link_down_hands_over_and_the_better_master_preempts_when_back_on_sockets;
    sigterm_hands_over:
        sigterm_hands_over_without_losing_a_probe,
        sigterm_hands_over_without_losing_a_probe_native,
        sigterm_hands_over_without_losing_a_probe_on_sockets;
    password_mismatch:
        a_v2_password_mismatch_is_ignored_and_counted,
        a_v2_password_mismatch_is_ignored_and_counted_native,
        a_v2_password_mismatch_is_ignored_and_counted_on_sockets;
}

/// Generic (SKB) mode, where XDP itself answers ARP (XDP_TX): the gate still
/// silences a dead master.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn kill_9_of_the_master_hands_over_within_the_rfc_bound_skb() -> Result<()> {
    kill_9_hands_over(SKB)
}

/// The MACs that sent `client` a Neighbor Advertisement for `vip` in `frames`.
fn na_senders(frames: &[hatest::Frame], vip: std::net::Ipv6Addr) -> Vec<Mac> {
    let mut macs: Vec<Mac> = frames
        .iter()
        .filter(|f| !f.outgoing && f.neighbor_advert() == Some(vip))
        .filter_map(hatest::Frame::src_mac)
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// A client with an empty neighbour cache resolves `vip4` by ARP and `vip6` by
/// NS, reaches both, and only `master` answered.
fn served_by(
    topo: &Topology,
    vip4: std::net::Ipv4Addr,
    vip6: std::net::Ipv6Addr,
    master: &Host,
) -> Result<()> {
    let client = topo.client();
    client.flush_neighbors()?;
    let arp = client.arping(vip4, 3, Duration::from_millis(50))?;
    ensure!(
        arp.replies.len() == 3 && arp.answered_only_by(master.mac()),
        "ARP for {vip4} from an empty cache, expected only {}: {arp:?}",
        master.mac()
    );
    for vip in [IpAddr::V4(vip4), IpAddr::V6(vip6)] {
        client.flush_neighbors()?;
        let capture = Capture::start(client, Duration::from_secs(10))?;
        let ping = client.ping(vip, 3, Duration::from_millis(20))?;
        let frames = capture.stop()?;
        ensure!(
            ping.all_answered(),
            "{vip} unreachable from an empty cache: {ping:?}"
        );
        let learned = client.neighbor(vip)?;
        ensure!(
            learned == Some(master.mac()),
            "{vip} resolved to {learned:?}, expected {}",
            master.mac()
        );
        if let IpAddr::V6(v6) = vip {
            let senders = na_senders(&frames, v6);
            ensure!(
                senders == [master.mac()],
                "Neighbor Advertisements for {v6} from {senders:?}, expected only {}",
                master.mac()
            );
        }
    }
    Ok(())
}

/// `ha` as a user runs it (no flag) on plain bridge ports: native XDP on a veth
/// whose peer runs none. A client with an empty neighbour cache gets ARP and NS
/// answers for the VIPs from the master alone; after kill -9 the dead host
/// (addresses still configured) answers neither, and the new master both.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn default_mode_on_plain_ports_answers_arp_and_ns_from_the_master_only() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let (vip4, vip6) = (topo.subnet().vip4(0), topo.subnet().vip6(1));
    let g4 = Group::v3(25, vip4.into(), 24);
    let mut g6 = Group::v3(26, vip6.into(), 64);
    g6.name = "VI_v6".into();
    let conf = |h: &Host, p: u8| format!("{}{}", g4.keepalived_conf(h, p), g6.instance_block(h, p));
    let d = vec![
        Daemon::ha(n1, "ha", &conf(n1, 200))?,
        Daemon::ha(n2, "ha", &conf(n2, 100))?,
    ];
    let state = |d: &Daemon, i: usize| -> String {
        d.status()
            .ok()
            .and_then(|s| s["instances"][i]["state"].as_str().map(String::from))
            .unwrap_or_default()
    };
    let both = |d: &Daemon, s: &str| state(d, 0) == s && state(d, 1) == s;
    wait_until(
        "n1 master and n2 backup of both",
        Duration::from_secs(3),
        || Ok(both(&d[0], "master") && both(&d[1], "backup")),
    )
    .with_context(|| logs(&d))?;
    // What this test is about: native XDP on the node, none on the bridge port.
    let link = n1.run_ok("ip", ["-d", "link", "show", "dev", &n1.ifname])?;
    ensure!(
        String::from_utf8_lossy(&link.stdout).contains("xdp "),
        "the default is not native mode here: {link:?}"
    );
    let port = topo
        .bridge_command("ip")
        .args(["-d", "link", "show", "dev", n1.bridge_port()])
        .run_ok()?;
    ensure!(
        !String::from_utf8_lossy(&port.stdout).contains("xdp"),
        "the bridge port runs XDP: {port:?}"
    );

    served_by(&topo, vip4, vip6, n1).with_context(|| logs(&d))?;
    wait_until(
        "XDP to count what it passed to the kernel",
        XDP_COUNTERS_WAIT,
        || Ok(d[0].xdp_counter("arp_passed")? > 0 && d[0].xdp_counter("ns_passed")? > 0),
    )
    .with_context(|| d[0].status().map(|s| s.to_string()).unwrap_or_default())?;

    d[0].crash()?;
    wait_until("n2 master of both", Duration::from_secs(3), || {
        Ok(both(&d[1], "master"))
    })
    .with_context(|| logs(&d))?;
    ensure!(
        owns(n1, vip4.into()) && owns(n1, vip6.into()),
        "the test expects the dead daemon's host to keep its addresses"
    );
    served_by(&topo, vip4, vip6, n2).with_context(|| logs(&d))?;
    Ok(())
}

/// The MAC of `ifname` in `host`'s namespace.
fn mac_of(host: &Host, ifname: &str) -> Result<Mac> {
    let out = host.run_ok("ip", ["-o", "link", "show", "dev", ifname])?;
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = line.split_whitespace();
    words
        .find(|w| *w == "link/ether")
        .and_then(|_| words.next())
        .with_context(|| format!("no MAC in {line:?}"))?
        .parse()
}

/// `ha` (no flag) on a macvlan (bridge mode) over each node's veth: no native
/// XDP there, so generic mode, where XDP answers ARP itself. From an empty cache
/// the client hears the master's macvlan MAC only; after kill -9, only the new
/// master's.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_vip_on_a_macvlan_is_answered_by_the_master_only() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let mut macvlans = Vec::new();
    for (i, n) in [n1, n2].into_iter().enumerate() {
        let name = format!("{}m{}", topo.prefix(), i + 1);
        let addr = topo.subnet().v4(50 + i as u8);
        n.run_ok(
            "ip",
            [
                "link", "add", "link", &n.ifname, "name", &name, "type", "macvlan", "mode",
                "bridge",
            ],
        )?;
        n.run_ok("ip", ["addr", "add", &format!("{addr}/24"), "dev", &name])?;
        n.run_ok("ip", ["link", "set", "dev", &name, "up"])?;
        // The veth under the macvlan receives the client's broadcast ARP too; with
        // the default arp_ignore = 0 its kernel would answer for the VIP with the
        // veth's MAC, outside ha's gate (README, Datapath).
        n.sysctl("net.ipv4.conf.all.arp_ignore", "1")?;
        let mac = mac_of(n, &name)?;
        macvlans.push((name, mac));
    }
    let vip = topo.subnet().vip4(0);
    let group = Group::v3(27, vip.into(), 24);
    let conf = |n: &Host, ifname: &str, prio: u8| {
        group.keepalived_conf(n, prio).replace(
            &format!("interface {}\n", n.ifname),
            &format!("interface {ifname}\n"),
        )
    };
    let d = vec![
        Daemon::ha(n1, "ha", &conf(n1, &macvlans[0].0, 200))?,
        Daemon::ha(n2, "ha", &conf(n2, &macvlans[1].0, 100))?,
    ];
    d[0].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    d[1].wait_state("backup", Duration::from_secs(1))
        .with_context(|| logs(&d))?;
    let link = n1.run_ok("ip", ["-d", "link", "show", "dev", &macvlans[0].0])?;
    ensure!(
        String::from_utf8_lossy(&link.stdout).contains("xdpgeneric"),
        "not in generic mode on the macvlan: {link:?}"
    );
    let client = topo.client();
    client.flush_neighbors()?;
    let arp = client.arping(vip, 3, Duration::from_millis(50))?;
    ensure!(
        arp.replies.len() == 3 && arp.answered_only_by(macvlans[0].1),
        "ARP for the VIP, expected only {}: {arp:?}\n{}",
        macvlans[0].1,
        logs(&d)
    );

    d[0].crash()?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    ensure!(owns(n1, vip.into()), "the dead host should keep the VIP");
    client.flush_neighbors()?;
    let arp = client.arping(vip, 3, Duration::from_millis(50))?;
    ensure!(
        arp.replies.len() == 3 && arp.answered_only_by(macvlans[1].1),
        "ARP for the VIP after kill -9, expected only {}: {arp:?}\n{}",
        macvlans[1].1,
        logs(&d)
    );
    Ok(())
}

/// A native TOML configuration for `host` at `priority`.
fn toml_conf(host: &Host, vrid: u8, vip: IpAddr, priority: u8, handover: &str) -> String {
    format!(
        "[[instances]]\nname = \"VI_{vrid}\"\ninterface = \"{}\"\nvrid = {vrid}\nversion = 3\npriority = {priority}\n\
         advert_int_cs = 10\nvips = [\"{vip}/24\"]\nhandover = \"{handover}\"\n",
        host.ifname
    )
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn handover_immediate_removes_the_vip_at_once_as_keepalived_does() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    // Native TOML: keepalived.conf has no keyword for the handover policy.
    let d = vec![
        Daemon::ha_with(n1, "ha", &toml_conf(n1, 24, vip, 200, "immediate"), DEFAULT)?,
        Daemon::ha_with(n2, "ha", &toml_conf(n2, 24, vip, 100, "immediate"), DEFAULT)?,
    ];
    d[0].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    d[1].wait_state("backup", Duration::from_secs(1))
        .with_context(|| logs(&d))?;

    let report = thread::scope(|s| -> Result<_> {
        let probe = s.spawn(|| topo.client().ping(vip, 100, Duration::from_millis(10)));
        thread::sleep(Duration::from_millis(300));
        d[0].terminate()?;
        let exit = d[0].proc.wait_timeout(Duration::from_secs(2))?;
        ensure!(
            exit.is_some_and(|s| s.success()),
            "ha did not exit 0: {exit:?}\n{}",
            logs(&d)
        );
        probe.join().expect("probe thread")
    })?;
    d[1].wait_state("master", Duration::from_secs(1))
        .with_context(|| logs(&d))?;
    ensure!(owns(n2, vip) && !owns(n1, vip), "VIP not moved");
    // The VIP left before the backup took over (Skew_Time ≈ 61 ms at priority
    // 100): the client loses some probes, unlike make-before-break.
    ensure!(
        report.lost() > 0,
        "no probe lost: the VIP was not removed at once\n{report:?}"
    );
    Ok(())
}
