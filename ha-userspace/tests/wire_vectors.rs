//! The VRRP codec against frames keepalived 2.2.7 sent (tests/data/keepalived-2.2.7.jsonl):
//! every advert decodes to the listed fields, its checksum verifies, it encodes back
//! to the same bytes, and every truncation and single-byte corruption is rejected
//! with the error the corrupted field determines.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ha::wire::{Advert, Auth, ChecksumForm, IpContext, Ipv4Header, Version, WireError, ipv4, vrrp};
use serde_json::Value;

const VECTORS: &str = include_str!("data/keepalived-2.2.7.jsonl");
const ETH_HEADER_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPV6_HEADER_LEN: usize = 40;

fn vectors() -> Vec<Value> {
    VECTORS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn adverts() -> Vec<Value> {
    vectors()
        .into_iter()
        .filter(|v| v["kind"] == "vrrp")
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

fn u64_field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is a number in {v}"))
}

fn ethertype(frame: &[u8]) -> u16 {
    u16::from_be_bytes([frame[12], frame[13]])
}

/// An IPv6 raw socket hands over only the payload, the addresses and the hop
/// limit (cmsg); this reads the same things out of the 40-byte header.
fn split_ipv6(packet: &[u8]) -> (IpContext, u8, &[u8]) {
    assert_eq!(packet[0] >> 4, 6, "IPv6 version nibble");
    let payload_len = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    let next_header = packet[6];
    let hop_limit = packet[7];
    let mut src = [0u8; 16];
    src.copy_from_slice(&packet[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&packet[24..40]);
    let ctx = IpContext {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        ttl: hop_limit,
    };
    (
        ctx,
        next_header,
        &packet[IPV6_HEADER_LEN..IPV6_HEADER_LEN + payload_len],
    )
}

/// One advert line, decoded into what the codec needs.
struct Case {
    v: Value,
    ctx: IpContext,
    /// The IP packet (IPv4: header included; IPv6: payload only, as sockets give it).
    ip_packet: Vec<u8>,
    vrrp: Vec<u8>,
}

fn case(v: Value) -> Case {
    let frame = hex(str_field(&v, "frame_hex"));
    let vrrp = hex(str_field(&v, "vrrp_hex"));
    let ip = frame[ETH_HEADER_LEN..].to_vec();
    match str_field(&v, "family") {
        "ipv4" => {
            assert_eq!(ethertype(&frame), ETHERTYPE_IPV4);
            let ctx = IpContext {
                src: str_field(&v, "src").parse().unwrap(),
                dst: str_field(&v, "dst").parse().unwrap(),
                ttl: u64_field(&v, "ttl") as u8,
            };
            Case {
                v,
                ctx,
                ip_packet: ip,
                vrrp,
            }
        }
        "ipv6" => {
            assert_eq!(ethertype(&frame), ETHERTYPE_IPV6);
            let (ctx, next_header, payload) = split_ipv6(&ip);
            assert_eq!(u64::from(next_header), u64_field(&v, "next_header"));
            assert_eq!(u64::from(ctx.ttl), u64_field(&v, "hop_limit"));
            assert_eq!(ctx.src, str_field(&v, "src").parse::<IpAddr>().unwrap());
            assert_eq!(ctx.dst, str_field(&v, "dst").parse::<IpAddr>().unwrap());
            let payload = payload.to_vec();
            Case {
                v,
                ctx,
                ip_packet: payload,
                vrrp,
            }
        }
        other => panic!("unknown family {other}"),
    }
}

fn cases() -> Vec<Case> {
    adverts().into_iter().map(case).collect()
}

fn is_v4(c: &Case) -> bool {
    c.ctx.src.is_ipv4()
}

/// Parses the advert the way the datapath would: a whole IPv4 packet, or an
/// IPv6 payload with its context.
fn parse_as_received(c: &Case, ip_packet: &[u8]) -> Result<ha::wire::Received, WireError> {
    if is_v4(c) {
        Advert::parse_ipv4_packet(ip_packet).map(|(_, r)| r)
    } else {
        Advert::parse(&c.ctx, ip_packet)
    }
}

/// The advert the JSON fields describe.
fn expected_advert(v: &Value) -> Advert {
    let version = match u64_field(v, "version") {
        2 => Version::V2,
        3 => Version::V3,
        n => panic!("version {n}"),
    };
    let advert_int_cs = match version {
        Version::V2 => u64_field(v, "advert_int_s") as u16 * 100,
        Version::V3 => u64_field(v, "max_advert_int_cs") as u16,
    };
    let addresses: Vec<IpAddr> = v["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(addresses.len() as u64, u64_field(v, "count"));
    let auth = match version {
        Version::V3 => Auth::None,
        Version::V2 => {
            let mut data = [0u8; 8];
            data.copy_from_slice(&hex(str_field(v, "auth_data")));
            match u64_field(v, "auth_type") {
                0 => Auth::None,
                1 => Auth::Password(data),
                t => Auth::Other {
                    auth_type: t as u8,
                    data,
                },
            }
        }
    };
    Advert {
        version,
        vrid: u64_field(v, "vrid") as u8,
        priority: u64_field(v, "priority") as u8,
        advert_int_cs,
        addresses,
        auth,
    }
}

#[test]
fn the_vectors_cover_what_the_readme_says() {
    let all = vectors();
    let adverts = adverts();
    assert_eq!(adverts.len(), 8);
    let count = |f: &dyn Fn(&Value) -> bool| adverts.iter().filter(|v| f(v)).count();
    assert_eq!(count(&|v| v["version"] == 2), 4);
    assert_eq!(count(&|v| v["version"] == 3 && v["family"] == "ipv4"), 2);
    assert_eq!(count(&|v| v["family"] == "ipv6"), 2);
    assert_eq!(count(&|v| v["priority"] == 0), 4);
    // The rest are gratuitous ARPs and one unsolicited NA: only lightly checked.
    for v in all.iter().filter(|v| v["kind"] != "vrrp") {
        let frame = hex(str_field(v, "frame_hex"));
        match str_field(v, "kind") {
            "arp" => assert_eq!(ethertype(&frame), ETHERTYPE_ARP),
            "icmpv6" => {
                assert_eq!(ethertype(&frame), ETHERTYPE_IPV6);
                let (_, next_header, _) = split_ipv6(&frame[ETH_HEADER_LEN..]);
                assert_eq!(next_header, 58);
            }
            other => panic!("unexpected kind {other}"),
        }
    }
}

#[test]
fn every_advert_decodes_to_its_fields() {
    for c in cases() {
        let expected = expected_advert(&c.v);
        let received = parse_as_received(&c, &c.ip_packet)
            .unwrap_or_else(|e| panic!("{}: {e}", c.v["source"]));
        assert_eq!(received.advert, expected, "{}", c.v["source"]);
        // The payload the IP layer carried is exactly vrrp_hex.
        assert_eq!(Advert::parse(&c.ctx, &c.vrrp).unwrap(), received);
    }
}

#[test]
fn every_checksum_verifies_in_the_form_keepalived_uses() {
    for c in cases() {
        let family = if is_v4(&c) {
            ha::wire::Family::Ipv4
        } else {
            ha::wire::Family::Ipv6
        };
        let packet = vrrp::Packet::new_checked(&c.vrrp[..], family).unwrap();
        let listed =
            u16::from_str_radix(str_field(&c.v, "checksum").trim_start_matches("0x"), 16).unwrap();
        assert_eq!(packet.checksum(), listed);
        // v2: message only; v3 (IPv4 as keepalived computes it, and IPv6): pseudo-header.
        let form = if c.v["version"] == 2 {
            ChecksumForm::MessageOnly
        } else {
            ChecksumForm::PseudoHeader
        };
        assert_eq!(packet.verify_checksum(c.ctx.src, c.ctx.dst), Ok(form));
        assert_eq!(Advert::parse(&c.ctx, &c.vrrp).unwrap().checksum, form);
    }
}

#[test]
fn every_advert_encodes_to_the_same_bytes() {
    for c in cases() {
        let advert = Advert::parse(&c.ctx, &c.vrrp).unwrap().advert;
        assert_eq!(advert.buffer_len(), c.vrrp.len());
        let mut out = vec![0xa5; c.vrrp.len() + 7];
        let n = advert
            .emit(c.ctx.src, c.ctx.dst, ChecksumForm::PseudoHeader, &mut out)
            .unwrap();
        assert_eq!(out[..n], c.vrrp[..], "{}", c.v["source"]);
        assert_eq!(out[n..], [0xa5; 7], "emit wrote past the message");
    }
}

#[test]
fn ipv4_headers_parse_and_encode() {
    for c in cases().into_iter().filter(is_v4) {
        let packet = ipv4::Packet::new_checked(&c.ip_packet[..]).unwrap();
        let header = Ipv4Header::parse(&packet).unwrap();
        assert_eq!(u64::from(header.ttl), u64_field(&c.v, "ttl"));
        assert_eq!(u64::from(header.protocol), u64_field(&c.v, "proto"));
        assert_eq!(IpAddr::V4(header.src), c.ctx.src);
        assert_eq!(IpAddr::V4(header.dst), c.ctx.dst);
        assert_eq!(usize::from(header.total_len), c.ip_packet.len());
        assert_eq!(packet.payload(), &c.vrrp[..]);
        assert_eq!(header.tos, 0xc0);
        assert!(!header.dont_frag);

        // The header alone re-encodes byte for byte.
        let mut out = [0u8; 20];
        header.emit(&mut out).unwrap();
        assert_eq!(out[..], c.ip_packet[..20]);

        // So does the whole packet from the advert and the identification.
        let (_, received) = Advert::parse_ipv4_packet(&c.ip_packet).unwrap();
        let src: Ipv4Addr = str_field(&c.v, "src").parse().unwrap();
        let dst: Ipv4Addr = str_field(&c.v, "dst").parse().unwrap();
        let mut whole = vec![0u8; c.ip_packet.len()];
        let n = received
            .advert
            .emit_ipv4_packet(src, dst, header.ident, received.checksum, &mut whole)
            .unwrap();
        assert_eq!(whole[..n], c.ip_packet[..]);
    }
}

#[test]
fn every_truncation_is_rejected() {
    for c in cases() {
        // The VRRP message alone: below 8 bytes truncated, then a length the
        // count does not explain.
        for len in 0..c.vrrp.len() {
            let err = Advert::parse(&c.ctx, &c.vrrp[..len]).unwrap_err();
            if len < vrrp::HEADER_LEN {
                assert_eq!(err, WireError::Truncated { len, needed: 8 });
            } else {
                assert_eq!(
                    err,
                    WireError::CountMismatch {
                        count: c.vrrp[3],
                        len,
                        expected: c.vrrp.len()
                    }
                );
            }
        }
        // The whole IPv4 packet: shorter than its total length.
        if is_v4(&c) {
            for len in 0..c.ip_packet.len() {
                let err = Advert::parse_ipv4_packet(&c.ip_packet[..len]).unwrap_err();
                let needed = if len < 20 { 20 } else { c.ip_packet.len() };
                assert_eq!(err, WireError::Truncated { len, needed });
            }
        }
        // Extended by trailing bytes: refused too (lengths must match exactly).
        for extra in 1..=16 {
            let mut longer = c.vrrp.clone();
            longer.resize(c.vrrp.len() + extra, 0);
            assert!(matches!(
                Advert::parse(&c.ctx, &longer),
                Err(WireError::CountMismatch { .. })
            ));
        }
    }
}

/// The error a single changed byte of the VRRP message must produce: the
/// structure checks come first, then the checksum, which covers every byte, so
/// no corruption can get past it to the field-value checks.
fn expected_corruption_error(c: &Case, index: usize, new: u8) -> WireError {
    let old = c.vrrp[index];
    let len = c.vrrp.len();
    let addr_len = if is_v4(c) { 4 } else { 16 };
    match index {
        0 if old >> 4 != new >> 4 => match new >> 4 {
            2 if !is_v4(c) => WireError::V2OverIpv6,
            2 => WireError::CountMismatch {
                count: c.vrrp[3],
                len,
                expected: 8 + usize::from(c.vrrp[3]) * addr_len + 8,
            },
            3 => WireError::CountMismatch {
                count: c.vrrp[3],
                len,
                expected: 8 + usize::from(c.vrrp[3]) * addr_len,
            },
            v => WireError::BadVersion(v),
        },
        0 => WireError::BadType(new & 0x0f),
        3 => {
            let auth = if c.v["version"] == 2 { 8 } else { 0 };
            WireError::CountMismatch {
                count: new,
                len,
                expected: 8 + usize::from(new) * addr_len + auth,
            }
        }
        _ => {
            let mut corrupted = c.vrrp.clone();
            corrupted[index] = new;
            let got = u16::from_be_bytes([corrupted[6], corrupted[7]]);
            let original = u16::from_be_bytes([c.vrrp[6], c.vrrp[7]]);
            // Corrupting the checksum bytes leaves the expected value alone;
            // for v3 over IPv4 the message-only alternative is named too.
            let expected_message_only = (c.v["version"] == 3 && is_v4(c)).then(|| {
                let family = ha::wire::Family::Ipv4;
                vrrp::Packet::new_checked(&corrupted[..], family)
                    .unwrap()
                    .compute_checksum(c.ctx.src, c.ctx.dst, ChecksumForm::MessageOnly)
                    .unwrap()
            });
            let expected = if index == 6 || index == 7 {
                original
            } else {
                let family = if is_v4(c) {
                    ha::wire::Family::Ipv4
                } else {
                    ha::wire::Family::Ipv6
                };
                vrrp::Packet::new_checked(&corrupted[..], family)
                    .unwrap()
                    .compute_checksum(c.ctx.src, c.ctx.dst, ChecksumForm::PseudoHeader)
                    .unwrap()
            };
            WireError::BadChecksum {
                got,
                expected,
                expected_message_only,
            }
        }
    }
}

#[test]
fn every_single_byte_corruption_is_rejected_with_its_error() {
    let mut tried = 0;
    for c in cases() {
        for index in 0..c.vrrp.len() {
            for mask in 1..=255u8 {
                let new = c.vrrp[index] ^ mask;
                let mut corrupted = c.vrrp.clone();
                corrupted[index] = new;
                let expected = expected_corruption_error(&c, index, new);
                let got = Advert::parse(&c.ctx, &corrupted);
                assert_eq!(
                    got,
                    Err(expected),
                    "{}: byte {index} {:#04x} -> {new:#04x}",
                    c.v["source"],
                    c.vrrp[index]
                );
                // The same through the whole packet the datapath sees.
                let mut ip = c.ip_packet.clone();
                let offset = ip.len() - c.vrrp.len();
                ip[offset + index] = new;
                assert_eq!(parse_as_received(&c, &ip), Err(expected));
                tried += 1;
            }
        }
    }
    assert!(tried > 8 * 12 * 255);
}

#[test]
fn every_single_byte_corruption_of_the_ipv4_header_is_rejected() {
    for c in cases().into_iter().filter(is_v4) {
        for index in 0..20 {
            for mask in 1..=255u8 {
                let mut ip = c.ip_packet.clone();
                ip[index] ^= mask;
                let err = Advert::parse_ipv4_packet(&ip).unwrap_err();
                // Byte 0 decides the layout; the rest is covered by the header
                // checksum, which is verified before any field is believed.
                if index == 0 {
                    assert!(
                        matches!(
                            err,
                            WireError::BadIpVersion(_)
                                | WireError::BadIpHeaderLen(_)
                                | WireError::Truncated { .. }
                                | WireError::BadIpTotalLen { .. }
                                | WireError::BadIpChecksum { .. }
                        ),
                        "byte 0 ^ {mask:#04x}: {err}"
                    );
                } else if (2..4).contains(&index) {
                    assert!(
                        matches!(
                            err,
                            WireError::Truncated { .. }
                                | WireError::BadIpTotalLen { .. }
                                | WireError::BadIpChecksum { .. }
                        ),
                        "byte {index} ^ {mask:#04x}: {err}"
                    );
                } else {
                    assert!(
                        matches!(err, WireError::BadIpChecksum { .. }),
                        "byte {index} ^ {mask:#04x}: {err}"
                    );
                }
            }
        }
    }
}

/// What keepalived's `v3_checksum_as_v2` (RFC 9568 §5.2.8) peers send: the
/// same adverts with the checksum over the message alone are accepted, and
/// reported as such.
#[test]
fn v3_ipv4_vectors_in_the_rfc_9568_form() {
    for c in cases()
        .into_iter()
        .filter(|c| is_v4(c) && c.v["version"] == 3)
    {
        let advert = Advert::parse(&c.ctx, &c.vrrp).unwrap().advert;
        let bytes = advert
            .to_bytes(c.ctx.src, c.ctx.dst, ChecksumForm::MessageOnly)
            .unwrap();
        assert_ne!(bytes, c.vrrp);
        assert_eq!(bytes[..6], c.vrrp[..6]);
        assert_eq!(bytes[8..], c.vrrp[8..]);
        let received = Advert::parse(&c.ctx, &bytes).unwrap();
        assert_eq!(received.advert, advert);
        assert_eq!(received.checksum, ChecksumForm::MessageOnly);
    }
}

#[test]
fn a_forwarded_advert_is_rejected() {
    for c in cases() {
        for ttl in [0, 1, 64, 128, 254] {
            let ctx = IpContext { ttl, ..c.ctx };
            assert_eq!(Advert::parse(&ctx, &c.vrrp), Err(WireError::TtlNot255(ttl)));
        }
    }
}
