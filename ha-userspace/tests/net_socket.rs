//! `VrrpSocket` between two network namespaces: multicast and unicast, IPv4
//! and IPv6, TTL/hop limit 255, the RFC source addresses, no echo of our
//! own adverts. Needs root: `cargo test -p ha-userspace --test net_socket -- --ignored`.

mod net_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ha::net::{NetError, Netlink, Received, VrrpSocket};
use ha::wire::{Family, VRRP_GROUP_V4, VRRP_GROUP_V6};
use net_common::{NsPair, in_netns, join};
use tokio::sync::oneshot;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

async fn recv(socket: &VrrpSocket, buf: &mut [u8]) -> Received {
    timeout(WAIT, socket.recv(buf))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "nothing received on {} ({}) within 5 s",
                socket.ifname(),
                socket.family()
            )
        })
        .expect("recv")
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn adverts_cross_between_namespaces() {
    let pair = NsPair::new("s", 200);
    let (ll_a, ll_b) = pair.wait_link_locals();
    let (v4_a, v4_b, v6_a, v6_b) = (pair.v4_a, pair.v4_b, pair.v6_a, pair.v6_b);
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let (link_a, link_b) = (pair.link_a.clone(), pair.link_b.clone());

    let b = in_netns(&pair.ns_b, move || async move {
        let nl = Netlink::new().unwrap();
        let link = nl.link_by_name(&link_b).await.unwrap();
        let s4 = VrrpSocket::for_link(&link, Family::Ipv4).unwrap();
        let s6 = VrrpSocket::for_link(&link, Family::Ipv6).unwrap();
        assert_eq!(s4.source(), IpAddr::V4(v4_b));
        assert_eq!(s6.source(), IpAddr::V6(ll_b));
        ready_tx.send(()).unwrap();
        let mut buf = [0u8; 2048];

        // IPv4 multicast from A's primary address, never its VIP.
        let r = recv(&s4, &mut buf).await;
        assert_eq!(r.src, IpAddr::V4(v4_a));
        assert_eq!(r.dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!(r.ttl_or_hop_limit, 255);
        assert_eq!(r.ifindex, link.ifindex());
        assert_eq!(r.ip_header_len, 20);
        assert!(!r.truncated);
        assert_eq!(buf[1], 0xc0, "IPv4 TOS is network control");
        assert_eq!(buf[9], 112, "IP protocol is VRRP");
        assert_eq!(r.payload(&buf), b"advert over IPv4 multicast");

        // IPv6 multicast from A's link-local address.
        let r = recv(&s6, &mut buf).await;
        assert_eq!(r.src, IpAddr::V6(ll_a));
        assert_eq!(r.dst, IpAddr::V6(VRRP_GROUP_V6));
        assert_eq!(r.ttl_or_hop_limit, 255);
        assert_eq!(r.ifindex, link.ifindex());
        assert_eq!(r.ip_header_len, 0);
        assert_eq!(r.payload(&buf), b"advert over IPv6 multicast");

        // Unicast back to A: one sendmmsg with two adverts, then IPv6.
        let failed = s4
            .send_many(&[
                (b"unicast v4 one".as_slice(), s4.source(), IpAddr::V4(v4_a)),
                (b"unicast v4 two", s4.source(), IpAddr::V4(v4_a)),
            ])
            .await;
        assert!(failed.is_empty(), "{failed:?}");
        s6.send_to(b"unicast v6", IpAddr::V6(ll_a)).await.unwrap();

        // A unicast advert from an explicit (global) source.
        let r = recv(&s6, &mut buf).await;
        assert_eq!(r.src, IpAddr::V6(v6_a));
        assert_eq!(r.dst, IpAddr::V6(v6_b));
        assert_eq!(r.ttl_or_hop_limit, 255);
        assert_eq!(r.payload(&buf), b"unicast v6 from a global source");
        assert_eq!((s4.own_dropped(), s6.own_dropped()), (0, 0));
    });

    let a = in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let ifindex = nl.link_by_name(&link_a).await.unwrap().ifindex();
        // A VIP in the same subnet must not become the advert source.
        nl.add_vip(
            ifindex,
            IpAddr::V4(Ipv4Addr::new(198, 18, 200, 100)),
            24,
            None,
        )
        .await
        .unwrap();
        let link = nl.link_by_name(&link_a).await.unwrap();
        assert_eq!(link.primary_ipv4(), Some(v4_a));
        let s4 = VrrpSocket::for_link(&link, Family::Ipv4).unwrap();
        let s6 = VrrpSocket::for_link(&link, Family::Ipv6).unwrap();
        timeout(WAIT, ready_rx)
            .await
            .expect("B ready within 5 s")
            .unwrap();

        s4.send_to(b"advert over IPv4 multicast", IpAddr::V4(VRRP_GROUP_V4))
            .await
            .unwrap();
        s6.send_to(b"advert over IPv6 multicast", IpAddr::V6(VRRP_GROUP_V6))
            .await
            .unwrap();

        let mut buf = [0u8; 2048];
        for expected in [&b"unicast v4 one"[..], b"unicast v4 two"] {
            let r = recv(&s4, &mut buf).await;
            assert_eq!(r.src, IpAddr::V4(v4_b));
            assert_eq!(r.dst, IpAddr::V4(v4_a));
            assert_eq!(r.ttl_or_hop_limit, 255, "unicast TTL is 255 too");
            assert_eq!(r.payload(&buf), expected);
        }
        let r = recv(&s6, &mut buf).await;
        assert_eq!(r.src, IpAddr::V6(ll_b));
        assert_eq!(r.dst, IpAddr::V6(ll_a));
        assert_eq!(r.ttl_or_hop_limit, 255);
        assert_eq!(r.payload(&buf), b"unicast v6");

        s6.send_from(
            b"unicast v6 from a global source",
            IpAddr::V6(v6_a),
            IpAddr::V6(v6_b),
        )
        .await
        .unwrap();

        // Multicast loopback is off: the kernel never handed us our own adverts.
        assert_eq!((s4.own_dropped(), s6.own_dropped()), (0, 0));
        assert!(
            timeout(Duration::from_millis(300), s4.recv(&mut buf))
                .await
                .is_err()
        );
        assert!(
            timeout(Duration::from_millis(300), s6.recv(&mut buf))
                .await
                .is_err()
        );
    });

    join(a);
    join(b);
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn sending_from_a_foreign_address_names_the_interface() {
    let pair = NsPair::new("f", 200);
    let link_a = pair.link_a.clone();
    join(in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let link = nl.link_by_name(&link_a).await.unwrap();
        let s4 = VrrpSocket::for_link(&link, Family::Ipv4).unwrap();
        let err = s4
            .send_from(
                b"x",
                IpAddr::V4(Ipv4Addr::new(198, 18, 99, 9)),
                IpAddr::V4(VRRP_GROUP_V4),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&link_a) && err.contains("198.18.99.9"),
            "{err}"
        );

        let err = s4
            .send_to(b"x", IpAddr::V6(Ipv6Addr::LOCALHOST))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("IPv4"), "{err}");

        let err = VrrpSocket::open(
            "hnnosuchlink",
            999_999,
            IpAddr::V4(Ipv4Addr::new(198, 18, 200, 1)),
        )
        .unwrap_err();
        assert!(matches!(err, NetError::NoSuchInterface(_)), "{err}");
        assert_eq!(err.to_string(), "interface hnnosuchlink does not exist");
    }));
}

/// Linux capabilities are per thread: drop CAP_NET_RAW from this thread's
/// effective set and check that the error says what was missing.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn missing_cap_net_raw_is_named() {
    const CAP_NET_RAW: u32 = 13;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let pair = NsPair::new("c", 200);
    let link_a = pair.link_a.clone();
    join(in_netns(&pair.ns_a, move || async move {
        let nl = Netlink::new().unwrap();
        let link = nl.link_by_name(&link_a).await.unwrap();
        let mut header = Header {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: capget/capset with a v3 header and two data words, this thread only.
        unsafe {
            assert_eq!(
                libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()),
                0
            );
            data[0].effective &= !(1 << CAP_NET_RAW);
            assert_eq!(
                libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()),
                0
            );
        }
        let err = VrrpSocket::for_link(&link, Family::Ipv4).unwrap_err();
        assert!(matches!(err, NetError::Permission { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("CAP_NET_RAW") && text.contains(&link_a),
            "{text}"
        );
        let err = ha::net::GratuitousSender::for_link(&link)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CAP_NET_RAW") && err.contains(&link_a),
            "{err}"
        );
    }));
}
