//! The eBPF pipeline end to end: the XDP program built by `cargo xtask build` is
//! loaded by `ha`, attached to a node's veth, pinned under a per-test directory, and
//! counts the frames it sees by kind in STATS; `bpftool` prints the counters with
//! their names. With no instance configured every frame passes.

use std::{
    fs,
    net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6},
    path::PathBuf,
    time::Duration,
};

use anyhow::{Context, Result};
use hatest::{Host, Topology, ha_bin, in_netns, require_root};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// A bpffs directory removed on drop, also when the test panics: removing the
/// pinned link detaches the program.
struct PinDir(PathBuf);

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Sends `n` VRRP-protocol packets from `host` to the IPv4 and the IPv6 VRRP group.
fn send_vrrp(host: &Host, n: usize) -> Result<()> {
    let ifindex = host.ifindex();
    let payload = [
        0x31u8, 0x34, 0xc8, 0x01, 0x00, 0x32, 0x5d, 0x74, 198, 18, 30, 110,
    ];
    in_netns(&host.ns, move || {
        let v4 = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112)))?;
        v4.set_multicast_if_v4(&std::net::Ipv4Addr::UNSPECIFIED)?;
        v4.bind_device_by_index_v4(std::num::NonZeroU32::new(ifindex))?;
        v4.set_multicast_ttl_v4(255)?;
        let v6 = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112)))?;
        v6.set_multicast_if_v6(ifindex)?;
        v6.set_multicast_hops_v6(255)?;
        let group4 = SockAddr::from(SocketAddr::new(IpAddr::from([224, 0, 0, 18]), 0));
        let group6 = SockAddr::from(SocketAddrV6::new(
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            0,
            0,
            ifindex,
        ));
        for _ in 0..n {
            v4.send_to(&payload, &group4).context("send IPv4 VRRP")?;
            v6.send_to(&payload, &group6).context("send IPv6 VRRP")?;
        }
        Ok(())
    })
}

/// The per-CPU counters summed, as `bpftool -j map dump pinned` prints them, by field name.
fn bpftool_counts(host: &Host, pin: &PinDir) -> Result<serde_json::Map<String, serde_json::Value>> {
    let map = pin.0.join("STATS");
    let out = host.nsenter(
        "bpftool",
        ["-j", "map", "dump", "pinned", map.to_str().unwrap()],
    )?;
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("bpftool printed {}", String::from_utf8_lossy(&out.stdout)))?;
    let mut total = serde_json::Map::new();
    // With -j, bpftool prints raw bytes under "values" and the BTF-typed view under "formatted".
    let values = &dump[0]["formatted"]["values"];
    for cpu in values
        .as_array()
        .with_context(|| format!("no BTF-formatted values in {dump}"))?
    {
        for (field, v) in cpu["value"]
            .as_object()
            .context("value is not a struct with named fields")?
        {
            let sum =
                total.get(field).and_then(|x| x.as_u64()).unwrap_or(0) + v.as_u64().unwrap_or(0);
            total.insert(field.clone(), sum.into());
        }
    }
    Ok(total)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn xdp_counts_frames_by_kind_and_bpftool_names_the_fields() -> Result<()> {
    require_root();
    let ha = ha_bin()?;
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let pin = PinDir(PathBuf::from(format!(
        "/sys/fs/bpf/ha/{}-xdp",
        topo.prefix()
    )));

    let attach = n1
        .command(&ha)
        .args(["datapath", "attach", "--interface", &n1.ifname, "--pin-dir"])
        .arg(&pin.0)
        .run_ok()?;
    let said = String::from_utf8_lossy(&attach.stdout);
    assert!(
        said.contains("attached to"),
        "ha datapath attach said: {said}"
    );
    // Native mode on a veth (auto): the kernel sends the responder's replies,
    // and IFACES says so by name.
    assert!(
        said.contains("Driver mode, replies: kernel"),
        "ha datapath attach said: {said}"
    );
    let ifaces = pin.0.join("IFACES");
    let ifaces = n1.nsenter(
        "bpftool",
        ["map", "dump", "pinned", ifaces.to_str().unwrap()],
    )?;
    let ifaces = String::from_utf8_lossy(&ifaces.stdout);
    assert!(
        ifaces.contains(&format!("\"key\": {}", n1.ifindex()))
            && ifaces.contains("\"replies\": 0")
            && ifaces.contains("\"xdp_mode\": 2"),
        "bpftool map dump IFACES: {ifaces}"
    );
    let link = n1.run_ok("ip", ["-d", "link", "show", "dev", &n1.ifname])?;
    assert!(
        String::from_utf8_lossy(&link.stdout).contains("xdp"),
        "no XDP program on {}",
        n1.ifname
    );

    let before = bpftool_counts(n1, &pin)?;
    for field in [
        "rx_arp",
        "rx_vrrp_v4",
        "rx_vrrp_v6",
        "rx_other",
        "pass_unknown_vrid",
        "drop_checksum",
        "arp_replied",
        "arp_passed",
        "events_dropped",
    ] {
        assert!(
            before.contains_key(field),
            "bpftool dump lacks the field {field}: {before:?}"
        );
    }

    n2.flush_neighbors()?;
    let ping = n2.ping(n1.ipv4, 5, Duration::from_millis(20))?;
    assert!(
        ping.all_answered(),
        "ping through the XDP program: {ping:?}"
    );
    send_vrrp(n2, 4)?;

    // Counters are updated before the frame goes up the stack; allow the last
    // multicast frames a moment to cross the bridge.
    let mut after = bpftool_counts(n1, &pin)?;
    hatest::wait_until("VRRP frames counted", Duration::from_secs(2), || {
        after = bpftool_counts(n1, &pin)?;
        Ok(after["rx_vrrp_v4"].as_u64() >= Some(4) && after["rx_vrrp_v6"].as_u64() >= Some(4))
    })?;
    let delta = |f: &str| after[f].as_u64().unwrap_or(0) - before[f].as_u64().unwrap_or(0);
    assert!(
        delta("rx_arp") >= 1,
        "ARP not counted: before {before:?} after {after:?}"
    );
    assert!(delta("rx_vrrp_v4") >= 4, "IPv4 VRRP not counted: {after:?}");
    assert!(delta("rx_vrrp_v6") >= 4, "IPv6 VRRP not counted: {after:?}");
    assert!(
        delta("pass_unknown_vrid") >= 8,
        "VRRP for a VRID without instance not passed: {after:?}"
    );
    assert!(
        delta("rx_other") >= 5,
        "ICMP echo requests not counted as other: {after:?}"
    );

    // ha reads the same pins.
    let counters = n1
        .command(&ha)
        .args(["datapath", "counters", "--pin-dir"])
        .arg(&pin.0)
        .run_ok()?;
    let line = String::from_utf8_lossy(&counters.stdout);
    assert!(
        line.contains(&format!("rx_vrrp_v4 {}", after["rx_vrrp_v4"])),
        "ha counters said {line}"
    );

    // Detaching removes the pins and the program.
    n1.command(&ha)
        .args(["datapath", "detach", "--pin-dir"])
        .arg(&pin.0)
        .run_ok()?;
    assert!(!pin.0.exists(), "pin directory left behind");
    let link = n1.run_ok("ip", ["-d", "link", "show", "dev", &n1.ifname])?;
    assert!(
        !String::from_utf8_lossy(&link.stdout).contains("prog/xdp"),
        "XDP program still attached"
    );
    Ok(())
}
