//! Tests of the namespace harness itself: topology, reachability, fault
//! helpers, process guards and teardown (also on panic and after a kill).
//!
//! They need root: `cargo test -p ha-tests --test harness -- --ignored`.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hatest::{Enter, Host, Topology, names, netns, require_root};

const TICK: Duration = Duration::from_millis(10);

/// Namespaces and root-namespace links whose name starts with `prefix`.
fn remains(prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = netns::list()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    let links = netns::ip(&["-o", "link", "show"]).unwrap();
    found.extend(
        links
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|name| name.split('@').next().unwrap_or(name).to_owned())
            .filter(|name| name.starts_with(prefix)),
    );
    found
}

/// Fields of `/proc/PID/stat` after the command name: state, ppid, pgrp, …
fn stat(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The process exists and is not a zombie (a killed grandchild may wait a
/// moment for init to reap it).
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|fields| fields[0] != "Z")
}

fn ping_all(from: &Host, to: IpAddr) {
    let report = from.ping(to, 3, TICK).unwrap();
    assert!(report.all_answered(), "{} -> {to}: {report:?}", from.ns);
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn two_nodes_reach_each_other_and_leave_nothing_behind() {
    require_root();
    let topo = Topology::builder().nodes(2).subnet(41).build().unwrap();
    let prefix = topo.prefix().to_owned();
    assert_eq!(prefix.len(), names::PREFIX_LEN);
    assert_eq!(
        names::decode(&prefix).map(|(pid, _)| pid),
        Some(std::process::id())
    );
    assert_eq!(topo.namespaces().len(), 4, "bridge, two nodes, client");
    for ns in topo.namespaces() {
        assert!(ns.starts_with(&prefix), "{ns}");
        assert!(Path::new(&netns::netns_path(ns)).exists(), "{ns}");
    }
    assert!(topo.bridge_ifname().starts_with(&prefix));

    let [n1, n2] = topo.nodes() else {
        panic!("two nodes expected")
    };
    let client = topo.client();
    for (host, octet) in [(n1, 1), (n2, 2), (client, 250)] {
        assert!(host.ns.starts_with(&prefix) && host.ifname.starts_with(&prefix));
        assert!(host.ifname.len() <= names::IFNAME_MAX && host.bridge_port().starts_with(&prefix));
        assert_eq!(host.ipv4, topo.subnet().v4(octet));
        assert_eq!(host.ipv4.octets()[..3], [198, 18, 41]);
        let v6 = host.ipv6.unwrap();
        assert_eq!(v6.segments()[..4], [0x2001, 2, 0, 0x41]);
        assert!(host.has_address(host.ipv4).unwrap() && host.has_address(v6).unwrap());
        assert!(host.ifindex() > 1);
        assert_eq!(host.netns_path(), Path::new("/run/netns").join(&host.ns));
        // No route out: only the connected /24 (and /64).
        let routes = host.run_ok("ip", ["-4", "route"]).unwrap();
        assert!(!String::from_utf8_lossy(&routes.stdout).contains("default"));
        let routes = host.run_ok("ip", ["-6", "route"]).unwrap();
        assert!(!String::from_utf8_lossy(&routes.stdout).contains("default"));
    }
    assert_ne!(n1.mac(), n2.mac());

    // The settings the topology promises (see `hatest::Topology`).
    let read = |host: &Host, path: &str| {
        let out = host.run_ok("cat", [path]).unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(read(n1, "/proc/sys/net/ipv6/conf/all/accept_dad"), "0");
    assert_eq!(
        read(
            n1,
            &format!("/proc/sys/net/ipv6/conf/{}/accept_dad", n1.ifname)
        ),
        "0"
    );
    assert_eq!(
        read(n1, "/proc/sys/net/ipv6/conf/all/keep_addr_on_down"),
        "1"
    );
    let snooping = topo
        .bridge_command("cat")
        .arg(format!(
            "/sys/class/net/{}/bridge/multicast_snooping",
            topo.bridge_ifname()
        ))
        .enter(Enter::IpNetnsExec)
        .run_ok()
        .unwrap();
    assert_eq!(snooping.stdout, b"0\n");

    // Client -> nodes and node <-> node, both families, and link-local.
    for (from, to) in [(client, n1), (client, n2), (n1, n2), (n2, n1)] {
        ping_all(from, to.ipv4.into());
        ping_all(from, to.ipv6.unwrap().into());
    }
    let ll = n2.link_local().unwrap().expect("link-local on node 2");
    ping_all(n1, ll.into());
    assert_eq!(client.neighbor(n1.ipv4).unwrap(), Some(n1.mac()));
    assert_eq!(client.neighbor(n2.ipv6.unwrap()).unwrap(), Some(n2.mac()));
    client.flush_neighbors().unwrap();
    assert_eq!(client.neighbor(n1.ipv4).unwrap(), None);

    // ARP: who answers; nobody answers for an unused address.
    let arp = client.arping(n1.ipv4, 2, TICK).unwrap();
    assert!(arp.answered_only_by(n1.mac()), "{arp:?}");
    let vip = topo.subnet().vip4(0);
    assert!(client.arping(vip, 1, TICK).unwrap().replies.is_empty());
    // Two hosts claiming one address: both answers are reported.
    for n in [n1, n2] {
        n.run_ok(
            "ip",
            ["addr", "add", &format!("{vip}/24"), "dev", &n.ifname],
        )
        .unwrap();
    }
    let arp = client.arping(vip, 2, TICK).unwrap();
    let mut both = vec![n1.mac(), n2.mac()];
    both.sort();
    assert_eq!(arp.macs(), both, "{arp:?}");

    let namespaces = topo.namespaces().to_vec();
    topo.teardown().unwrap();
    assert_eq!(remains(&prefix), Vec::<String>::new());
    for ns in namespaces {
        assert!(!Path::new(&netns::netns_path(&ns)).exists(), "{ns}");
    }
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn ipv4_only_topology() {
    require_root();
    let topo = Topology::builder().nodes(1).ipv6(false).build().unwrap();
    let node = &topo.nodes()[0];
    assert_eq!(node.ipv6, None);
    assert_eq!(node.link_local().unwrap(), None, "IPv6 is disabled");
    ping_all(topo.client(), node.ipv4.into());
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn link_faults_and_nftables_cut_and_restore_traffic() {
    require_root();
    let topo = Topology::builder().nodes(1).build().unwrap();
    let (node, client) = (&topo.nodes()[0], topo.client());
    let v6 = node.ipv6.unwrap();

    node.link_down().unwrap();
    assert_eq!(client.ping(node.ipv4, 1, TICK).unwrap().received(), 0);
    node.link_up().unwrap();
    assert!(
        node.has_address(v6).unwrap(),
        "keep_addr_on_down keeps the IPv6 address"
    );
    ping_all(client, node.ipv4.into());
    ping_all(client, v6.into());

    node.unplug().unwrap();
    hatest::wait_until("carrier loss", Duration::from_secs(2), || {
        let out = node.run_ok("ip", ["-o", "link", "show", "dev", &node.ifname])?;
        Ok(String::from_utf8_lossy(&out.stdout).contains("NO-CARRIER"))
    })
    .unwrap();
    assert_eq!(client.ping(v6, 1, TICK).unwrap().received(), 0);
    node.plug().unwrap();
    hatest::wait_until("carrier back", Duration::from_secs(2), || {
        client.ping(node.ipv4, 1, TICK).map(|r| r.all_answered())
    })
    .unwrap();

    node.nft(
        "table inet fault {
            chain input {
                type filter hook input priority 0;
                icmp type echo-request drop
                icmpv6 type echo-request drop
            }
        }",
    )
    .unwrap();
    let report = client.ping(node.ipv4, 3, TICK).unwrap();
    assert_eq!(report.received(), 0, "{report:?}");
    assert_eq!(report.longest_loss(), 3);
    assert_eq!(client.ping(v6, 2, TICK).unwrap().received(), 0);
    node.nft("flush ruleset").unwrap();
    ping_all(client, node.ipv4.into());

    let err = node.nft("this is not nftables").unwrap_err();
    assert!(format!("{err:#}").contains("Error"), "{err:#}");
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn commands_run_inside_the_namespace() {
    require_root();
    let topo = Topology::builder().nodes(1).build().unwrap();
    let node = &topo.nodes()[0];
    // The program's /proc/self/ns/net is the namespace pinned at /run/netns/NAME.
    let want = std::fs::metadata(node.netns_path()).unwrap();
    for enter in [Enter::Nsenter, Enter::IpNetnsExec] {
        let out = node
            .command("stat")
            .args(["-L", "-c", "%i", "/proc/self/ns/net"])
            .enter(enter)
            .run_ok()
            .unwrap();
        let ino: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert_eq!(ino, want.ino(), "{enter:?}");
    }
    // nsenter keeps the root /sys (and so /sys/fs/bpf); ip netns exec remounts it.
    let ls = |enter| {
        let out = node
            .command("ls")
            .arg("/sys/class/net")
            .enter(enter)
            .run_ok()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(ls(Enter::IpNetnsExec).contains(&node.ifname));
    assert!(!ls(Enter::Nsenter).contains(&node.ifname));

    let out = node
        .nsenter("sh", ["-c", "echo out; echo err >&2; exit 3"])
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        (&out.stdout[..], &out.stderr[..]),
        (&b"out\n"[..], &b"err\n"[..])
    );
    let err = node
        .run_ok("sh", ["-c", "echo why >&2; exit 1"])
        .unwrap_err();
    assert!(format!("{err:#}").contains("why"), "{err:#}");

    let out = node.command("cat").stdin("fed on stdin").run_ok().unwrap();
    assert_eq!(out.stdout, b"fed on stdin");

    let start = Instant::now();
    let err = node
        .command("sleep")
        .arg("30")
        .timeout(Duration::from_millis(200))
        .run()
        .unwrap_err();
    assert!(format!("{err:#}").contains("did not finish"), "{err:#}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn spawned_processes_are_killed_on_drop() {
    require_root();
    let topo = Topology::builder().nodes(1).build().unwrap();
    let node = &topo.nodes()[0];

    // A well-behaved process ends on SIGTERM.
    let proc = node.spawn("sleep", ["30"]).unwrap();
    let pid = proc.pid();
    assert!(alive(pid));
    assert_eq!(proc.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    drop(proc);
    assert!(!alive(pid), "sleep {pid} survived its guard");

    // One that ignores SIGTERM, and its child, get SIGKILL after the grace.
    let proc = node
        .spawn("sh", ["-c", "trap '' TERM; sleep 30 & echo $!; wait"])
        .unwrap();
    let (pid, child) = (proc.pid(), {
        let mut child = None;
        hatest::wait_until("child pid", Duration::from_secs(2), || {
            child = proc.stdout().trim().parse::<u32>().ok();
            Ok(child.is_some())
        })
        .unwrap();
        child.unwrap()
    });
    assert!(alive(child));
    let start = Instant::now();
    drop(proc);
    assert!(start.elapsed() >= hatest::process::TERM_GRACE);
    assert!(!alive(pid) && !alive(child), "{pid} or {child} survived");

    // Exit status and signals.
    let mut proc = node.spawn("sh", ["-c", "echo hi; exit 7"]).unwrap();
    let status = proc.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(proc.stdout(), "hi\n");
    assert_eq!(proc.stop().unwrap().code(), Some(7));
    assert!(proc.kill(libc::SIGTERM).is_err(), "reaped");
    let proc = node.spawn("sleep", ["30"]).unwrap();
    proc.kill(libc::SIGKILL).unwrap();
    let status = proc.wait_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    // A daemon that left its process group is still ended by the teardown.
    let proc = node.spawn("setsid", ["-f", "sleep", "30"]).unwrap();
    let mut detached = None;
    hatest::wait_until("a sleep in its own session", Duration::from_secs(2), || {
        let pids = netns::ip(&["netns", "pids", &node.ns])?;
        detached = pids
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
            .find(|&p| p != proc.pid() && stat(p).is_some_and(|f| f[2] == p.to_string()));
        Ok(detached.is_some())
    })
    .unwrap();
    let detached = detached.unwrap();
    drop(proc);
    assert!(alive(detached), "outside the guard's process group");
    let prefix = topo.prefix().to_owned();
    drop(topo);
    assert!(
        !alive(detached),
        "the teardown kills what is left in a namespace"
    );
    assert!(remains(&prefix).is_empty());
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_panicking_test_still_tears_down() {
    require_root();
    let seen: Mutex<Option<(String, u32)>> = Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let topo = Topology::builder().nodes(2).build().unwrap();
        let proc = topo.nodes()[0].spawn("sleep", ["30"]).unwrap();
        *seen.lock().unwrap() = Some((topo.prefix().to_owned(), proc.pid()));
        panic!("test failure inside a topology");
    });
    assert!(result.is_err());
    let (prefix, pid) = seen.lock().unwrap().clone().unwrap();
    assert!(!alive(pid), "spawned process {pid} survived the panic");
    assert_eq!(remains(&prefix), Vec::<String>::new());
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn leftovers_of_dead_runs_are_swept_and_nothing_else() {
    require_root();
    /// Deletes what the test made, and ends its helper, even if an assertion fails.
    struct Cleanup(Vec<String>, std::process::Child);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for ns in &self.0 {
                let _ = netns::ip(&["netns", "delete", ns]);
            }
            let _ = self.1.kill();
            let _ = self.1.wait();
        }
    }
    // Owners unique to this run, so concurrent runs of this test do not meet:
    // a pid that surely exited (a child we reaped) and a live helper.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    assert!(!alive(dead));
    let live = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let dead_prefix = names::encode(dead, 1295).unwrap();
    let live_prefix = names::encode(live.id(), 1295).unwrap();
    let stale = [format!("{dead_prefix}-br"), format!("{dead_prefix}-n3")];
    let kept = [
        format!("{live_prefix}-br"),    // owner alive
        format!("{dead_prefix}-other"), // not a name we make
    ];
    let _cleanup = Cleanup(stale.iter().chain(&kept).cloned().collect(), live);
    for ns in stale.iter().chain(&kept) {
        netns::ip(&["netns", "add", ns]).unwrap();
    }

    // Another test's first topology may sweep concurrently: check the result, not who did it.
    netns::remove_leftovers().unwrap();
    let left = netns::list().unwrap();
    for ns in &stale {
        assert!(!left.contains(ns), "{ns} must be removed");
    }
    for ns in &kept {
        assert!(left.contains(ns), "{ns} must be kept");
    }
}
