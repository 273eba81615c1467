//! Interface lookup, VIP add/remove/list and link/address events through
//! rtnetlink, inside a test namespace. Needs root:
//! `cargo test -p ha-userspace --test net_addr -- --ignored`.

mod net_common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ha::net::{IfAddr, NetError, NetEvent, Netlink, OperState};
use net_common::{NsPair, in_netns, ip, join};
use serde_json::Value;
use tokio::time::{Instant, timeout};

fn find(addrs: &[IfAddr], addr: IpAddr) -> Option<&IfAddr> {
    addrs.iter().find(|a| a.addr == addr)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn link_lookup_matches_iproute2() {
    let pair = NsPair::new("l", 201);
    let (ll_a, _) = pair.wait_link_locals();
    let shown: Value =
        serde_json::from_str(&ip(&["-n", &pair.ns_a, "-j", "link", "show", &pair.link_a])).unwrap();
    let shown = shown[0].clone();
    let (link_a, v4_a) = (pair.link_a.clone(), pair.v4_a);
    join(in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let link = nl.link_by_name(&link_a).await.unwrap();
        assert_eq!(
            u64::from(link.ifindex()),
            shown["ifindex"].as_u64().unwrap()
        );
        assert_eq!(
            link.mac().unwrap().to_string(),
            shown["address"].as_str().unwrap()
        );
        assert_eq!(u64::from(link.link.mtu), shown["mtu"].as_u64().unwrap());
        assert!(link.link.admin_up && link.link.carrier);
        assert_eq!(link.link.oper_state, OperState::Up);
        assert!(link.link.is_up());
        assert_eq!(link.primary_ipv4(), Some(v4_a));
        assert_eq!(link.ipv6_link_local(), Some(ll_a));
        assert_eq!(nl.link_by_index(link.ifindex()).await.unwrap(), link);

        let err = nl.link_by_name("hnnosuch0").await.unwrap_err();
        assert!(matches!(err, NetError::NoSuchInterface(_)));
        assert_eq!(err.to_string(), "interface hnnosuch0 does not exist");
        assert!(matches!(
            nl.link_by_index(999_999).await,
            Err(NetError::NoSuchIfindex(999_999))
        ));
    }));
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vips_round_trip_idempotently() {
    let pair = NsPair::new("v", 201);
    let (ns_a, link_a) = (pair.ns_a.clone(), pair.link_a.clone());
    join(in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let ifindex = nl.link_by_name(&link_a).await.unwrap().ifindex();
        let label = format!("{link_a}:vip");
        let vip4 = IpAddr::V4(Ipv4Addr::new(198, 18, 201, 100));
        let vip6: IpAddr = "2001:2:0:201::100".parse().unwrap();
        let vip6_host: IpAddr = "2001:2:0:201::101".parse().unwrap();

        // Adding twice is fine: a restart finds its VIPs still there.
        for _ in 0..2 {
            nl.add_vip(ifindex, vip4, 32, Some(&label)).await.unwrap();
            nl.add_vip(ifindex, vip6, 64, None).await.unwrap();
            nl.add_vip(ifindex, vip6_host, 128, None).await.unwrap();
        }
        let addrs = nl.list_addrs(ifindex).await.unwrap();
        let a4 = find(&addrs, vip4).expect("IPv4 VIP listed");
        assert_eq!(
            (a4.prefix_len, a4.label.as_deref()),
            (32, Some(label.as_str()))
        );
        assert_eq!(a4.ifindex, ifindex);
        assert!(
            !a4.is_secondary(),
            "a /32 in no other subnet is a primary of its own"
        );

        // IPv6 VIPs are usable at once: no DAD, never tentative.
        let a6 = find(&addrs, vip6).expect("IPv6 VIP listed");
        assert_eq!(a6.prefix_len, 64);
        assert!(
            a6.is_nodad() && !a6.is_tentative() && a6.is_usable(),
            "flags {:#x}",
            a6.flags
        );
        assert!(!a6.is_deprecated());
        assert_eq!(a6.preferred_lft, Some(u32::MAX));
        // A /128 VIP is deprecated so the host never picks it as a source (keepalived's default).
        let a6h = find(&addrs, vip6_host).expect("IPv6 /128 VIP listed");
        assert!(
            a6h.is_deprecated() && a6h.is_usable(),
            "flags {:#x}",
            a6h.flags
        );
        assert_eq!(a6h.preferred_lft, Some(0));

        // iproute2 agrees.
        let shown = ip(&["-n", &ns_a, "addr", "show", "dev", &link_a]);
        assert!(
            shown.contains("198.18.201.100/32") && shown.contains(&label),
            "{shown}"
        );
        assert!(shown.contains("2001:2:0:201::100/64"), "{shown}");

        // Deleting twice is fine too: a missing VIP is already removed.
        for _ in 0..2 {
            nl.del_vip(ifindex, vip4, 32).await.unwrap();
            nl.del_vip(ifindex, vip6, 64).await.unwrap();
            nl.del_vip(ifindex, vip6_host, 128).await.unwrap();
        }
        let addrs = nl.list_addrs(ifindex).await.unwrap();
        assert!(
            find(&addrs, vip4).is_none()
                && find(&addrs, vip6).is_none()
                && find(&addrs, vip6_host).is_none()
        );
        // The interface's own addresses are untouched.
        assert!(find(&addrs, IpAddr::V4(Ipv4Addr::new(198, 18, 201, 1))).is_some());
        // A gone interface has no VIP to delete.
        nl.del_vip(999_999, vip4, 32).await.unwrap();
    }));
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn vip_errors_name_address_and_interface() {
    let pair = NsPair::new("e", 201);
    let link_a = pair.link_a.clone();
    join(in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let ifindex = nl.link_by_name(&link_a).await.unwrap().ifindex();
        let vip4 = IpAddr::V4(Ipv4Addr::new(198, 18, 201, 100));

        let err = nl
            .add_vip(ifindex, vip4, 32, Some("vip0"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vip0") && err.contains(&link_a) && err.contains("198.18.201.100"),
            "{err}"
        );
        let err = nl
            .add_vip(
                ifindex,
                "2001:2:0:201::100".parse().unwrap(),
                64,
                Some(&link_a),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("IPv6 addresses have no labels"), "{err}");
        let err = nl
            .add_vip(ifindex, vip4, 33, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("198.18.201.100/33"), "{err}");
        assert!(matches!(
            nl.add_vip(999_999, vip4, 32, None).await,
            Err(NetError::NoSuchIfindex(999_999))
        ));
        assert!(
            nl.list_addrs(ifindex)
                .await
                .unwrap()
                .iter()
                .all(|a| a.addr != vip4)
        );
    }));
}

/// Waits (bounded) for the first event `want` accepts.
async fn expect_event(
    events: &mut ha::net::NetEvents,
    what: &str,
    want: impl Fn(&NetEvent) -> bool,
) -> NetEvent {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, events.recv()).await {
            Ok(Some(event)) if want(&event) => return event,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("event stream ended while waiting for {what}"),
            Err(_) => panic!("no event for {what} within 5 s"),
        }
    }
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn link_and_address_events_arrive() {
    let pair = NsPair::new("n", 201);
    let (ns_a, link_a) = (pair.ns_a.clone(), pair.link_a.clone());
    join(in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let ifindex = nl.link_by_name(&link_a).await.unwrap().ifindex();
        let mut events = nl.events().unwrap();

        ip(&["-n", &ns_a, "link", "set", &link_a, "down"]);
        let NetEvent::Link(down) = expect_event(
            &mut events,
            "link down",
            |e| matches!(e, NetEvent::Link(l) if l.ifindex == ifindex && !l.admin_up),
        )
        .await
        else {
            unreachable!()
        };
        assert!(!down.is_up());
        assert_eq!(down.name, link_a);

        ip(&["-n", &ns_a, "link", "set", &link_a, "up"]);
        expect_event(
            &mut events,
            "link up",
            |e| matches!(e, NetEvent::Link(l) if l.ifindex == ifindex && l.is_up()),
        )
        .await;

        let vip: IpAddr = "2001:2:0:201::200".parse().unwrap();
        nl.add_vip(ifindex, vip, 64, None).await.unwrap();
        expect_event(
            &mut events,
            "VIP added",
            |e| matches!(e, NetEvent::AddrAdded(a) if a.addr == vip),
        )
        .await;
        nl.del_vip(ifindex, vip, 64).await.unwrap();
        expect_event(
            &mut events,
            "VIP removed",
            |e| matches!(e, NetEvent::AddrRemoved(a) if a.addr == vip),
        )
        .await;

        // Deleting the link is reported too.
        ip(&["-n", &ns_a, "link", "del", &link_a]);
        expect_event(
            &mut events,
            "link removed",
            |e| matches!(e, NetEvent::LinkRemoved { ifindex: i, .. } if *i == ifindex),
        )
        .await;
    }));
}
