//! The ARP responder on a real link, behind its gate: a node's datapath answers a
//! client's ARP requests for the VIP while the instance is Master and the
//! heartbeat fresh, and drops them otherwise.
//!
//! - Generic (SKB) mode: XDP itself answers (XDP_TX); the VIP is configured
//!   nowhere, so the answer can only be XDP's.
//! - Native mode on a veth whose peer (a plain bridge port) runs no XDP: XDP_TX
//!   would not arrive, so the loader says `replies: kernel` and the program
//!   passes the request to the node's kernel, which has the VIP configured.
//!
//! Root: `cargo test -p ha-tests --test xdp_responder -- --ignored`.

mod xdp_support;

use std::time::Duration;

use anyhow::Result;
use hatest::{Topology, require_root};
use xdp_support::*;

const TICK: Duration = Duration::from_millis(20);

fn responder(mode: &str) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).ipv6(false).build()?;
    let [n1] = topo.nodes() else { unreachable!() };
    let client = topo.client();
    let vip = topo.subnet().vip4(0);
    let by_kernel = mode == "native";
    let (answered, replies) = if by_kernel {
        // The kernel answers only for an address it has.
        n1.run_ok(
            "ip",
            ["addr", "add", &format!("{vip}/24"), "dev", &n1.ifname],
        )?;
        ("arp_passed", "kernel")
    } else {
        ("arp_replied", "xdp_tx")
    };

    let dp = Datapath::attach(n1, topo.prefix(), "resp", mode)?;
    assert!(
        dp.said.contains(&format!("replies: {replies}")),
        "ha datapath attach said: {}",
        dp.said
    );
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
    assert!(delta.get(answered) >= Some(&3), "{delta:?}");
    assert!(
        n1.has_address(vip)? == by_kernel,
        "the VIP must be configured exactly when the kernel answers"
    );

    // The controller stops beating: the VIP goes quiet.
    dp.beat(None)?;
    let before = dp.stats()?;
    client.flush_neighbors()?;
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
