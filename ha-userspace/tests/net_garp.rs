//! Gratuitous ARP and unsolicited NA sent from one namespace and captured in
//! the other, byte for byte. Needs root:
//! `cargo test -p ha-userspace --test net_garp -- --ignored`.

mod net_common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::Duration;

use ha::net::{GratuitousSender, Netlink};
use ha::wire::arp::{self, MacAddr, Operation};
use ha::wire::ndisc;
use ha_common::wire::{ETH_P_ARP, ETH_P_IPV6};
use net_common::{Capture, NsPair, in_netns, join};

const WAIT: Duration = Duration::from_secs(5);

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn garp_and_na_reach_the_peer_intact() {
    let pair = NsPair::new("g", 202);
    let vip4 = Ipv4Addr::new(198, 18, 202, 100);
    let vip6: Ipv6Addr = "2001:2:0:202::100".parse().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (link_a, link_b) = (pair.link_a.clone(), pair.link_b.clone());

    let b = in_netns(&pair.ns_b, move || async move {
        let arp_cap = Capture::open(&link_b, ETH_P_ARP);
        let nd_cap = Capture::open(&link_b, ETH_P_IPV6);
        ready_tx.send(()).unwrap();
        let garp = arp_cap
            .next_matching(
                WAIT,
                |f| matches!(arp::parse_frame(f), Ok((_, a)) if a.sender_ip == vip4),
            )
            .expect("gratuitous ARP within 5 s");
        let na = nd_cap
            .next_matching(
                WAIT,
                |f| matches!(ndisc::parse_frame(f), Ok(n) if n.na.target == vip6),
            )
            .expect("unsolicited NA within 5 s");
        (garp, na)
    });

    let a = in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let link = nl.link_by_name(&link_a).await.unwrap();
        let sender = GratuitousSender::for_link(&link).unwrap();
        assert_eq!(sender.mac(), link.mac().unwrap());
        ready_rx.recv_timeout(WAIT).expect("B capturing within 5 s");
        sender.send_garp(vip4).await.unwrap();
        sender.send_unsolicited_na(vip6).await.unwrap();
        link.mac().unwrap()
    });

    let mac: MacAddr = join(a);
    let (garp, na) = join(b);

    assert_eq!(garp, arp::gratuitous_frame(mac, vip4).to_vec());
    let (eth, repr) = arp::parse_frame(&garp).unwrap();
    assert_eq!((eth.src, eth.dst), (mac, MacAddr::BROADCAST));
    assert_eq!(repr.operation, Operation::Request);
    assert_eq!((repr.sender_mac, repr.sender_ip), (mac, vip4));
    assert_eq!(
        (repr.target_mac, repr.target_ip),
        (MacAddr::BROADCAST, vip4)
    );

    // The namespace does not forward IPv6, so R is clear, as keepalived sends it.
    assert_eq!(na, ndisc::unsolicited_na_frame(mac, vip6, false).to_vec());
    let parsed = ndisc::parse_frame(&na).unwrap();
    assert_eq!(parsed.eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    assert_eq!((parsed.src, parsed.dst), (vip6, ndisc::ALL_NODES));
    assert!(parsed.na.override_flag && !parsed.na.solicited && !parsed.na.router);
    assert_eq!(parsed.na.target_mac, Some(mac));
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn router_flag_follows_ipv6_forwarding() {
    let pair = NsPair::new("r", 202);
    net_common::ip(&[
        "netns",
        "exec",
        &pair.ns_a,
        "sysctl",
        "-qw",
        "net.ipv6.conf.all.forwarding=1",
    ]);
    let vip6: Ipv6Addr = "2001:2:0:202::100".parse().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (link_a, link_b) = (pair.link_a.clone(), pair.link_b.clone());

    let b = in_netns(&pair.ns_b, move || async move {
        let cap = Capture::open(&link_b, ETH_P_IPV6);
        ready_tx.send(()).unwrap();
        cap.next_matching(
            WAIT,
            |f| matches!(ndisc::parse_frame(f), Ok(n) if n.na.target == vip6),
        )
        .expect("unsolicited NA within 5 s")
    });
    let a = in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let link = nl.link_by_name(&link_a).await.unwrap();
        assert!(ha::net::garp::ipv6_forwarding(&link_a));
        let sender = GratuitousSender::for_link(&link).unwrap();
        ready_rx.recv_timeout(WAIT).expect("B capturing within 5 s");
        sender.send_unsolicited_na(vip6).await.unwrap();
    });
    join(a);
    let na = join(b);
    assert!(ndisc::parse_frame(&na).unwrap().na.router);
}
