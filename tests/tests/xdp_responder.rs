//! The ARP responder on a real link: a node whose datapath (not its kernel: the
//! VIP is configured nowhere) answers a client's ARP requests for the VIP while the
//! instance is Master and the heartbeat fresh, and stays silent otherwise. In
//! generic (SKB) mode and in native mode on the veth (XDP_TX on a veth needs an XDP
//! program on its peer: the same program, without instances, on the bridge port).
//!
//! Root: `cargo test -p ha-tests --test xdp_responder -- --ignored`.

mod xdp_support;

use std::time::Duration;

use anyhow::{Context, Result};
use hatest::{Topology, ha_bin, require_root};
use xdp_support::*;

const TICK: Duration = Duration::from_millis(20);

fn responder(mode: &str) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).ipv6(false).build()?;
    let [n1] = topo.nodes() else { unreachable!() };
    let client = topo.client();
    let vip = topo.subnet().vip4(0);

    // Native XDP_TX on a veth: its peer needs an XDP program too.
    let port_pin = PinDir::new(Some(topo.prefix()), "port")?;
    if mode == "native" {
        topo.bridge_command(ha_bin()?)
            .args([
                "datapath",
                "attach",
                "--mode",
                "native",
                "--interface",
                n1.bridge_port(),
                "--pin-dir",
            ])
            .arg(&port_pin.0)
            .run_ok()
            .context("XDP_PASS program on the bridge port")?;
    }
    let dp = Datapath::attach(n1, topo.prefix(), "resp", mode)?;
    let mac = n1.mac().to_string();
    dp.instance(
        n1.ifindex(),
        1,
        n1.ipv4.into(),
        &["--state", "master", "--mac", &mac],
    )?;
    dp.vip(n1.ifindex(), 1, vip.into())?;
    dp.beat(Some(60_000))?;

    let before = dp.stats()?;
    let arp = client.arping(vip, 3, TICK)?;
    assert_eq!(arp.replies.len(), 3, "{arp:?}");
    assert!(arp.answered_only_by(n1.mac()), "{arp:?}");
    let delta = moved(&before, &dp.stats()?);
    assert!(delta.get("arp_replied") >= Some(&3), "{delta:?}");
    assert!(
        !n1.has_address(vip)?,
        "the VIP must not be configured: the answer is XDP's"
    );

    // The controller stops beating: the VIP goes quiet.
    dp.beat(None)?;
    let before = dp.stats()?;
    let arp = client.arping(vip, 3, TICK)?;
    assert!(
        arp.replies.is_empty(),
        "stale heartbeat, yet answered: {arp:?}"
    );
    let delta = moved(&before, &dp.stats()?);
    assert!(delta.get("arp_dropped_stale") >= Some(&3), "{delta:?}");

    // Fresh again, but Backup: quiet too.
    dp.beat(Some(60_000))?;
    dp.instance(
        n1.ifindex(),
        1,
        n1.ipv4.into(),
        &["--state", "backup", "--mac", &mac],
    )?;
    let before = dp.stats()?;
    let arp = client.arping(vip, 3, TICK)?;
    assert!(arp.replies.is_empty(), "backup, yet answered: {arp:?}");
    let delta = moved(&before, &dp.stats()?);
    assert!(delta.get("arp_dropped_not_master") >= Some(&3), "{delta:?}");

    // Other traffic still flows through the program.
    let ping = client.ping(n1.ipv4, 3, TICK)?;
    assert!(ping.all_answered(), "{ping:?}");
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn arp_responder_in_skb_mode() -> Result<()> {
    responder("skb")
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn arp_responder_in_native_mode() -> Result<()> {
    responder("native")
}
