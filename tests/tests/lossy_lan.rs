//! A LAN that misbehaves (issue 8 §3): link flaps, a partition and its heal,
//! and random advert loss. Whatever happens in between, every run must end
//! with exactly one master and the VIP on exactly one host, the one with the
//! highest priority.
//!
//! `ha` runs as a user runs it (default flags). Groups are VRRPv3 at 0.1 s
//! (Master_Down_Interval ≈ 0.34–0.36 s), not faster: this VM stalls a vCPU
//! for 35–75 ms now and then. Loss and partitions are made in the bridge's
//! namespace (a `table bridge` forward chain): a node's XDP program sees a
//! frame before any of the node's own input hooks would, and a node whose
//! own sends fail faults on purpose, so neither of those places fakes a lossy
//! wire. Who is master is read from each daemon's status file and who holds
//! the VIP from the hosts' addresses; ARP answers are not asserted here.

use std::{
    net::IpAddr,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use hatest::{Daemon, Group, Host, Topology, fault, logs, require_root, wait_elected, wait_until};

/// Settling after a disturbance: several Master_Down_Intervals plus room for
/// netlink and this VM's scheduling.
const SETTLE: Duration = Duration::from_secs(5);
/// How long the settled state is watched to be sure it holds.
const HOLD: Duration = Duration::from_millis(600);

/// `ha run` as a user starts it: no flags beyond the config and status file.
fn ha(host: &Host, conf: &str) -> Result<Daemon> {
    Daemon::ha_with(host, "ha", conf, &[])
}

/// Starts `ha` on every node with its priority (node 1 the highest) and waits
/// until node 1 is master and the others backup.
fn start_settled(topo: &Topology, group: &Group, prios: &[u8]) -> Result<Vec<Daemon>> {
    let d: Vec<Daemon> = topo
        .nodes()
        .iter()
        .zip(prios)
        .map(|(n, p)| ha(n, &group.keepalived_conf(n, *p)))
        .collect::<Result<_>>()?;
    wait_elected(&d, Duration::from_secs(5), Duration::from_secs(2))?;
    Ok(d)
}

/// Indices of the nodes that hold `vip`.
fn holders(topo: &Topology, vip: IpAddr) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (i, n) in topo.nodes().iter().enumerate() {
        if n.has_address(vip)? {
            out.push(i);
        }
    }
    Ok(out)
}

/// Indices of the daemons that report master (an unreadable status counts as
/// not master: the file is replaced atomically, so that is only at start-up).
fn masters(d: &[Daemon]) -> Vec<usize> {
    (0..d.len())
        .filter(|&i| d[i].state().is_ok_and(|s| s == "master"))
        .collect()
}

/// `became_master` of every daemon.
fn takeovers(d: &[Daemon]) -> Result<Vec<u64>> {
    d.iter().map(|x| x.counter("became_master")).collect()
}

/// Whether node `want` is the only master, every other node reports backup,
/// and `want` is the only holder of `vip`.
fn settled_on(topo: &Topology, d: &[Daemon], vip: IpAddr, want: usize) -> Result<bool> {
    for (i, x) in d.iter().enumerate() {
        let s = x.state().unwrap_or_default();
        if (i == want) != (s == "master") || (i != want && s != "backup") {
            return Ok(false);
        }
    }
    Ok(holders(topo, vip)? == [want])
}

/// Waits (bounded by [`SETTLE`]) until node `want` alone is master and alone
/// holds `vip`, then checks that this holds for [`HOLD`]. Returns how long
/// settling took.
fn expect_settled_on(topo: &Topology, d: &[Daemon], vip: IpAddr, want: usize) -> Result<Duration> {
    let t0 = Instant::now();
    wait_until(
        &format!("node {} alone master and VIP holder", want + 1),
        SETTLE,
        || settled_on(topo, d, vip, want),
    )
    .with_context(|| {
        format!(
            "masters {:?}, VIP on {:?}\n{}",
            masters(d),
            holders(topo, vip).unwrap_or_default(),
            logs(d)
        )
    })?;
    let took = t0.elapsed();
    let until = Instant::now() + HOLD;
    while Instant::now() < until {
        ensure!(
            settled_on(topo, d, vip, want)?,
            "settled on node {} but it did not hold: masters {:?}, VIP on {:?}\n{}",
            want + 1,
            masters(d),
            holders(topo, vip)?,
            logs(d)
        );
        thread::sleep(Duration::from_millis(50));
    }
    Ok(took)
}

/// A small seeded generator (xorshift64*): flaps are irregular, yet a failing
/// run repeats exactly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Uniform in `lo..=hi` (close enough for spacing flaps).
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        lo + self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % (hi - lo + 1)
    }
}

/// The seed of the flap spacing: `HATEST_SEED` if set (to repeat a failure),
/// else a fixed one.
fn seed() -> u64 {
    std::env::var("HATEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x001a_55e7)
}

/// Sets a link down and up `count` times, each state held 50–500 ms (drawn
/// from `seed`), ending up; returns the (down, up) milliseconds.
fn flap(seed: u64, count: usize, set: impl Fn(bool) -> Result<()>) -> Result<Vec<(u64, u64)>> {
    let mut rng = Rng::new(seed);
    let mut plan = Vec::with_capacity(count);
    for _ in 0..count {
        let (down, up) = (rng.between(50, 500), rng.between(50, 500));
        plan.push((down, up));
        set(false)?;
        thread::sleep(Duration::from_millis(down));
        set(true)?;
        thread::sleep(Duration::from_millis(up));
    }
    Ok(plan)
}

/// Loads `ruleset` into the bridge namespace.
fn bridge_nft(topo: &Topology, ruleset: &str) -> Result<()> {
    topo.bridge_command("nft")
        .args(["-f", "-"])
        .stdin(ruleset)
        .run_ok()
        .map(drop)
}

/// Deletes the bridge table `name`.
fn bridge_nft_delete(topo: &Topology, name: &str) -> Result<()> {
    topo.bridge_command("nft")
        .args(["delete", "table", "bridge", name])
        .run_ok()
        .map(drop)
}

/// The nft set of the nodes' bridge ports: `{ "p1", "p2" }`.
fn node_ports(topo: &Topology) -> String {
    let ports: Vec<String> = topo
        .nodes()
        .iter()
        .map(|n| format!("\"{}\"", n.bridge_port()))
        .collect();
    format!("{{ {} }}", ports.join(", "))
}

/// A bridge forward chain that drops VRRP going from one node's port to
/// another's, all of it (`percent` 100) or `numgen random` `percent` % of it,
/// decided per frame and per receiving port (a flooded advert is one forward
/// per port).
fn vrrp_drop_ruleset(topo: &Topology, table: &str, percent: u8) -> String {
    let ports = node_ports(topo);
    let when = if percent >= 100 {
        String::new()
    } else {
        format!("numgen random mod 100 < {percent} ")
    };
    format!(
        "table bridge {table} {{\n  chain between_nodes {{\n    \
         type filter hook forward priority 0; policy accept;\n    \
         iifname {ports} oifname {ports} ether type ip ip protocol vrrp {when}drop\n    \
         iifname {ports} oifname {ports} ether type ip6 ip6 nexthdr vrrp {when}drop\n  }}\n}}\n"
    )
}

/// The master's link goes down and up several times, at irregular spacing
/// (50–500 ms, seeded), some flaps shorter than a Master_Down_Interval and
/// some longer. Once the flapping stops the group settles on the highest
/// priority node alone.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn link_flaps_end_with_one_master() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(3).ipv6(false).build()?;
    let n1 = &topo.nodes()[0];
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(80, vip, 24);
    let d = start_settled(&topo, &group, &[200, 150, 100])?;
    let before = takeovers(&d)?;

    let seed = seed();
    let plan = flap(seed, 8, |up| fault::set_link(n1, up).map(drop))?;
    let took = expect_settled_on(&topo, &d, vip, 0)?;
    let after = takeovers(&d)?;
    eprintln!(
        "link flaps (seed {seed}, down/up ms {plan:?}): settled on node 1 after {took:?}; \
         became_master before {before:?}, after {after:?}"
    );
    ensure!(
        after[0] > before[0],
        "node 1 never lost and regained mastership: the flaps did nothing?\n{}",
        logs(&d)
    );
    Ok(())
}

/// The same with the cable pulled on the bridge side (carrier loss, the
/// node's interface stays administratively up).
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn carrier_flaps_end_with_one_master() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let n1 = &topo.nodes()[0];
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(81, vip, 24);
    let d = start_settled(&topo, &group, &[200, 100])?;

    let seed = seed() ^ 0x000c_ab1e;
    let plan = flap(seed, 6, |up| if up { n1.plug() } else { n1.unplug() })?;
    let took = expect_settled_on(&topo, &d, vip, 0)?;
    eprintln!(
        "carrier flaps (seed {seed}, down/up ms {plan:?}): settled on node 1 after {took:?}; \
         became_master {:?}",
        takeovers(&d)?
    );
    Ok(())
}

/// A partition between the two nodes makes both master (each holds the
/// VIP: each is right on its side); when it heals the higher priority keeps
/// the VIP and the other steps back to backup.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_partition_heals_to_one_master() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(82, vip, 24);
    let d = start_settled(&topo, &group, &[200, 100])?;

    bridge_nft(&topo, &vrrp_drop_ruleset(&topo, "partition", 100))?;
    d[1].wait_state("master", Duration::from_secs(3))
        .with_context(|| logs(&d))?;
    wait_until("both to hold the VIP", Duration::from_secs(3), || {
        Ok(n1.has_address(vip)? && n2.has_address(vip)?)
    })
    .with_context(|| logs(&d))?;
    // Both stay master while the partition lasts.
    thread::sleep(Duration::from_millis(500));
    ensure!(
        masters(&d) == [0, 1],
        "not both master during the partition: {:?}\n{}",
        masters(&d),
        logs(&d)
    );

    let healed = Instant::now();
    bridge_nft_delete(&topo, "partition")?;
    expect_settled_on(&topo, &d, vip, 0)?;
    eprintln!(
        "partition healed: one master after {:?} (wait included the {HOLD:?} hold)",
        healed.elapsed()
    );
    Ok(())
}

/// Drops `percent` % of the adverts between the nodes for `window` and
/// returns the takeovers (`became_master` increments) per node during it,
/// after checking that the group ends on node 1 alone.
fn advert_loss(percent: u8, vrid: u8, window: Duration) -> Result<Vec<u64>> {
    require_root();
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(vrid, vip, 24);
    let d = start_settled(&topo, &group, &[200, 100])?;
    let before = takeovers(&d)?;

    let table = format!("loss{percent}");
    bridge_nft(&topo, &vrrp_drop_ruleset(&topo, &table, percent))?;
    // Watch while the loss lasts: sample who is master and who holds the VIP.
    let start = Instant::now();
    let (mut samples, mut two_masters, mut two_holders) = (0u32, 0u32, 0u32);
    while start.elapsed() < window {
        samples += 1;
        if masters(&d).len() > 1 {
            two_masters += 1;
        }
        if holders(&topo, vip)?.len() > 1 {
            two_holders += 1;
        }
        ensure!(
            d.iter().all(|x| x.proc.try_wait().ok().flatten().is_none()),
            "a daemon exited under {percent} % loss\n{}",
            logs(&d)
        );
        thread::sleep(Duration::from_millis(100));
    }
    let mid = takeovers(&d)?;
    bridge_nft_delete(&topo, &table)?;
    let took = expect_settled_on(&topo, &d, vip, 0)?;
    let after = takeovers(&d)?;
    let during: Vec<u64> = mid.iter().zip(&before).map(|(a, b)| a - b).collect();
    eprintln!(
        "{percent} % advert loss for {window:?}: takeovers during it per node {during:?} \
         (after it {:?}); samples with two masters {two_masters}/{samples}, with two VIP \
         holders {two_holders}/{samples}; settled {took:?} after the loss stopped",
        after
            .iter()
            .zip(&mid)
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>()
    );
    Ok(during)
}

/// 10 % loss: a takeover needs three adverts in a row lost (0.1 % per
/// interval), so over ~100 intervals at most one spurious takeover.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn ten_percent_advert_loss_keeps_one_master() -> Result<()> {
    let during = advert_loss(10, 83, Duration::from_secs(10))?;
    ensure!(
        during[0] == 0,
        "node 1 (the master) became master again under loss: {during:?}"
    );
    ensure!(
        during.iter().sum::<u64>() <= 1,
        "more than one spurious takeover at 10 % loss: {during:?}"
    );
    Ok(())
}

/// 30 % loss: spurious takeovers are expected (2.7 % per interval); only the
/// end state is asserted.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn thirty_percent_advert_loss_ends_with_one_master() -> Result<()> {
    advert_loss(30, 84, Duration::from_secs(10)).map(drop)
}
