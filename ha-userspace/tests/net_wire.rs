//! Gratuitous ARP and unsolicited NA frames, byte for byte against what
//! keepalived 2.2.7 sent (`tests/data/net/keepalived-2.2.7-garp-na.jsonl`,
//! the `arp` and `icmpv6` lines of the project's capture), and the parsers'
//! refusals.

use std::net::{Ipv4Addr, Ipv6Addr};

use ha::wire::arp::{self, ArpError, ArpRepr, MacAddr, Operation, Packet};
use ha::wire::ndisc::{self, NdiscError, NeighborAdvert};
use serde_json::Value;

const VECTORS: &str = include_str!("data/net/keepalived-2.2.7-garp-na.jsonl");

fn vectors(kind: &str) -> Vec<Value> {
    let all: Vec<Value> = VECTORS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("vector line is JSON"))
        .filter(|v: &Value| v["kind"] == kind)
        .collect();
    assert!(!all.is_empty(), "no {kind} vectors");
    all
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn mac(v: &Value, key: &str) -> MacAddr {
    v[key].as_str().unwrap().parse().unwrap()
}

#[test]
fn garp_frames_match_keepalived() {
    let arps = vectors("arp");
    assert_eq!(arps.len(), 6);
    for v in arps {
        let expected = hex(v["frame_hex"].as_str().unwrap());
        let vip: Ipv4Addr = v["sender_ip"].as_str().unwrap().parse().unwrap();
        let ours = arp::gratuitous_frame(mac(&v, "eth_src"), vip);
        assert_eq!(ours.as_slice(), expected.as_slice(), "GARP for {vip}");
    }
}

#[test]
fn garp_frames_from_keepalived_parse_to_their_fields() {
    for v in vectors("arp") {
        let frame = hex(v["frame_hex"].as_str().unwrap());
        let (eth, repr) = arp::parse_frame(&frame).unwrap();
        assert_eq!(eth.src, mac(&v, "eth_src"));
        assert_eq!(eth.dst, mac(&v, "eth_dst"));
        assert_eq!(repr.operation.code(), v["op"].as_u64().unwrap() as u16);
        assert_eq!(repr.sender_mac, mac(&v, "sender_mac"));
        assert_eq!(repr.target_mac, mac(&v, "target_mac"));
        assert_eq!(repr.sender_ip.to_string(), v["sender_ip"].as_str().unwrap());
        assert_eq!(repr.target_ip.to_string(), v["target_ip"].as_str().unwrap());
        assert!(repr.is_gratuitous());
    }
}

#[test]
fn na_frame_matches_keepalived() {
    let nas = vectors("icmpv6");
    assert_eq!(nas.len(), 1);
    let v = &nas[0];
    assert_eq!(v["icmp_type"], 136);
    let expected = hex(v["frame_hex"].as_str().unwrap());
    let vip: Ipv6Addr = v["src"].as_str().unwrap().parse().unwrap();
    // keepalived sets R only when the interface forwards IPv6; the capture host did not.
    let ours = ndisc::unsolicited_na_frame(mac(v, "eth_src"), vip, false);
    assert_eq!(ours.as_slice(), expected.as_slice());

    let parsed = ndisc::parse_frame(&expected).unwrap();
    assert_eq!(
        parsed.na,
        NeighborAdvert {
            router: false,
            solicited: false,
            override_flag: true,
            target: vip,
            target_mac: Some(mac(v, "eth_src")),
        }
    );
    assert_eq!(parsed.src, vip);
    assert_eq!(parsed.dst, ndisc::ALL_NODES);
}

#[test]
fn na_with_router_flag_differs_in_flags_and_checksum_only() {
    let v = &vectors("icmpv6")[0];
    let vip: Ipv6Addr = v["src"].as_str().unwrap().parse().unwrap();
    let m = mac(v, "eth_src");
    let plain = ndisc::unsolicited_na_frame(m, vip, false);
    let router = ndisc::unsolicited_na_frame(m, vip, true);
    let icmp = 14 + 40;
    let differing: Vec<usize> = (0..plain.len())
        .filter(|&i| plain[i] != router[i])
        .collect();
    assert!(differing.contains(&(icmp + 4)), "the flags byte differs");
    assert!(
        differing
            .iter()
            .all(|&i| (icmp + 2..=icmp + 4).contains(&i)),
        "only the checksum and flags differ: {differing:?}"
    );
    assert_eq!(router[icmp + 4], 0xa0);
    assert!(ndisc::parse_frame(&router).unwrap().na.router);
}

fn sample_arp() -> [u8; arp::FRAME_LEN] {
    arp::gratuitous_frame(
        MacAddr([2, 0, 0, 0, 0, 1]),
        Ipv4Addr::new(198, 18, 200, 100),
    )
}

#[test]
fn arp_parser_refuses_short_and_foreign_frames() {
    let frame = sample_arp();
    assert!(matches!(
        arp::parse_frame(&frame[..10]),
        Err(ArpError::Truncated { .. })
    ));
    assert!(matches!(
        arp::parse_frame(&frame[..41]),
        Err(ArpError::Truncated { .. })
    ));
    assert!(matches!(
        Packet::new_checked(&frame[14..41]),
        Err(ArpError::Truncated {
            len: 27,
            needed: 28
        })
    ));

    let mut ipv4 = frame;
    ipv4[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    assert_eq!(arp::parse_frame(&ipv4), Err(ArpError::NotArp(0x0800)));

    let mut htype = frame;
    htype[14..16].copy_from_slice(&6u16.to_be_bytes());
    assert_eq!(arp::parse_frame(&htype), Err(ArpError::HardwareType(6)));

    let mut ptype = frame;
    ptype[16..18].copy_from_slice(&0x86ddu16.to_be_bytes());
    assert_eq!(
        arp::parse_frame(&ptype),
        Err(ArpError::ProtocolType(0x86dd))
    );

    let mut lens = frame;
    lens[19] = 16;
    assert_eq!(
        arp::parse_frame(&lens),
        Err(ArpError::AddressLengths { hlen: 6, plen: 16 })
    );

    let mut op = frame;
    op[20..22].copy_from_slice(&3u16.to_be_bytes());
    assert_eq!(arp::parse_frame(&op), Err(ArpError::Operation(3)));
}

#[test]
fn arp_parser_reads_a_padded_reply() {
    let repr = ArpRepr {
        operation: Operation::Reply,
        sender_mac: MacAddr([2, 0, 0, 0, 0, 1]),
        sender_ip: Ipv4Addr::new(198, 18, 200, 1),
        target_mac: MacAddr([2, 0, 0, 0, 0, 2]),
        target_ip: Ipv4Addr::new(198, 18, 200, 2),
    };
    let mut frame = arp::emit_frame(&repr, repr.sender_mac, repr.target_mac).to_vec();
    frame.resize(60, 0); // the minimum Ethernet frame a NIC pads to
    let (eth, parsed) = arp::parse_frame(&frame).unwrap();
    assert_eq!(parsed, repr);
    assert!(!parsed.is_gratuitous());
    assert_eq!(eth.dst, repr.target_mac);
}

#[test]
fn arp_parser_never_panics_on_any_prefix_or_byte_flip() {
    let frame = sample_arp();
    for len in 0..=frame.len() {
        let _ = arp::parse_frame(&frame[..len]);
    }
    for i in 0..frame.len() {
        for bit in 0..8 {
            let mut f = frame;
            f[i] ^= 1 << bit;
            let _ = arp::parse_frame(&f);
        }
    }
}

#[test]
fn na_parser_refusals() {
    let vip: Ipv6Addr = "2001:2:0:200::100".parse().unwrap();
    let frame = ndisc::unsolicited_na_frame(MacAddr([2, 0, 0, 0, 0, 1]), vip, false);
    let icmp = 14 + 40;
    assert!(matches!(
        ndisc::parse_frame(&frame[..60]),
        Err(NdiscError::Truncated { .. })
    ));
    assert!(matches!(
        ndisc::parse_frame(&frame[..80]),
        Err(NdiscError::Truncated { .. })
    ));

    let mut hop = frame;
    hop[14 + 7] = 64;
    assert_eq!(ndisc::parse_frame(&hop), Err(NdiscError::HopLimit(64)));

    let mut nh = frame;
    nh[14 + 6] = 17;
    assert_eq!(ndisc::parse_frame(&nh), Err(NdiscError::NotIcmpv6(17)));

    let mut ty = frame;
    ty[icmp] = 135;
    assert_eq!(
        ndisc::parse_frame(&ty),
        Err(NdiscError::NotNeighborAdvert(135))
    );

    let mut code = frame;
    code[icmp + 1] = 1;
    assert_eq!(ndisc::parse_frame(&code), Err(NdiscError::BadCode(1)));

    let mut sum = frame;
    sum[icmp + 2] ^= 0xff;
    assert!(matches!(
        ndisc::parse_frame(&sum),
        Err(NdiscError::BadChecksum { .. })
    ));

    // Solicited flag on a multicast NA, with a checksum that matches it.
    let solicited = NeighborAdvert {
        solicited: true,
        ..NeighborAdvert::unsolicited(MacAddr([2, 0, 0, 0, 0, 1]), vip, false)
    };
    let mut body = [0u8; ndisc::NA_LEN];
    solicited.emit(&vip, &ndisc::ALL_NODES, &mut body);
    assert_eq!(
        NeighborAdvert::parse(&body, &vip, &ndisc::ALL_NODES),
        Err(NdiscError::SolicitedToMulticast)
    );

    // An option of length 0 would loop forever in a naive parser.
    let mut zero_opt = NeighborAdvert::unsolicited(MacAddr([2, 0, 0, 0, 0, 1]), vip, false);
    zero_opt.target_mac = None;
    let mut body = [0u8; ndisc::NA_FIXED_LEN + 8];
    zero_opt.emit(&vip, &ndisc::ALL_NODES, &mut body);
    body[ndisc::NA_FIXED_LEN] = 1; // source link-layer address option, length 0
    let mut fixed = body;
    fixed[2..4].fill(0);
    let sum = ha::wire::checksum::finish(ha::wire::checksum::combine(&[
        ha::wire::checksum::pseudo_header_v6(&vip, &ndisc::ALL_NODES, 58, body.len() as u32),
        ha::wire::checksum::sum(&fixed),
    ]));
    body[2..4].copy_from_slice(&sum.to_be_bytes());
    assert_eq!(
        NeighborAdvert::parse(&body, &vip, &ndisc::ALL_NODES),
        Err(NdiscError::BadOption { kind: 1 })
    );
}
