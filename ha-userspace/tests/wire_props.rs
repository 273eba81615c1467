//! Properties of the VRRP codec: no input makes it panic, and every advert it
//! agrees to emit parses back to itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ha::wire::{Advert, Auth, ChecksumForm, Family, IpContext, Version, WireError, checksum};
use proptest::prelude::*;

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

fn ip_of(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Ipv4 => ipv4().prop_map(IpAddr::V4).boxed(),
        Family::Ipv6 => ipv6().prop_map(IpAddr::V6).boxed(),
    }
}

fn auth_v2() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Password),
        (2u8..=255, any::<[u8; 8]>()).prop_map(|(auth_type, data)| Auth::Other { auth_type, data }),
    ]
}

/// A valid advert, the family of its IP header, and source and destination.
fn valid() -> impl Strategy<Value = (Advert, IpAddr, IpAddr)> {
    prop_oneof![
        Just((Version::V2, Family::Ipv4)),
        Just((Version::V3, Family::Ipv4)),
        Just((Version::V3, Family::Ipv6)),
    ]
    .prop_flat_map(|(version, family)| {
        let (min_addrs, interval, auth) = match version {
            Version::V2 => (
                0usize,
                (1u16..=255).prop_map(|s| s * 100).boxed(),
                auth_v2().boxed(),
            ),
            Version::V3 => (1usize, (1u16..=4095).boxed(), Just(Auth::None).boxed()),
        };
        // Mostly short lists, sometimes the 255 maximum.
        let count = prop_oneof![8 => min_addrs..=8usize, 1 => Just(255usize)];
        (
            1u8..=255,
            any::<u8>(),
            interval,
            count.prop_flat_map(move |n| proptest::collection::vec(ip_of(family), n)),
            auth,
            ip_of(family),
            ip_of(family),
        )
            .prop_map(
                move |(vrid, priority, advert_int_cs, addresses, auth, src, dst)| {
                    let advert = Advert {
                        version,
                        vrid,
                        priority,
                        advert_int_cs,
                        addresses,
                        auth,
                    };
                    (advert, src, dst)
                },
            )
    })
}

fn form() -> impl Strategy<Value = ChecksumForm> {
    prop_oneof![
        Just(ChecksumForm::PseudoHeader),
        Just(ChecksumForm::MessageOnly)
    ]
}

fn ctx(src: IpAddr, dst: IpAddr) -> IpContext {
    IpContext { src, dst, ttl: 255 }
}

/// Whether the IPv4 pseudo-header of this message sums to zero, so that both
/// v3 checksum forms give the same value.
fn pseudo_header_is_zero(src: IpAddr, dst: IpAddr, len: usize) -> bool {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let sum = checksum::pseudo_header_v4(&s, &d, 112, len as u16);
            sum == 0 || sum == 0xffff
        }
        _ => false,
    }
}

/// The form `parse` must report for an advert emitted with `asked`.
fn form_reported(advert: &Advert, src: IpAddr, dst: IpAddr, asked: ChecksumForm) -> ChecksumForm {
    match (advert.version, src) {
        (Version::V2, _) => ChecksumForm::MessageOnly,
        (Version::V3, IpAddr::V6(_)) => ChecksumForm::PseudoHeader,
        (Version::V3, IpAddr::V4(_)) => {
            if pseudo_header_is_zero(src, dst, advert.buffer_len()) {
                ChecksumForm::PseudoHeader
            } else {
                asked
            }
        }
    }
}

/// A mutation of a valid message.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte (index taken modulo the length) with a non-zero mask.
    Flip(usize, u8),
    /// Set one byte.
    Set(usize, u8),
    /// Cut to this length (modulo the length).
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(Mutation::Extend),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        if let Mutation::Extend(more) = m {
            bytes.extend_from_slice(more);
        }
        return;
    }
    let len = bytes.len();
    match m {
        Mutation::Flip(i, mask) => bytes[i % len] ^= mask,
        Mutation::Set(i, b) => bytes[i % len] = *b,
        Mutation::Truncate(n) => bytes.truncate(n % len),
        Mutation::Extend(more) => bytes.extend_from_slice(more),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..1200),
        v6 in any::<bool>(),
        ttl in prop_oneof![Just(255u8), any::<u8>()],
        src4 in ipv4(), dst4 in ipv4(), src6 in ipv6(), dst6 in ipv6(),
    ) {
        let ctx = if v6 {
            IpContext { src: src6.into(), dst: dst6.into(), ttl }
        } else {
            IpContext { src: src4.into(), dst: dst4.into(), ttl }
        };
        let _ = Advert::parse(&ctx, &bytes);
        let _ = Advert::parse_ipv4_packet(&bytes);
        // Mixed families in the context are an error, not a panic.
        let mixed = IpContext { src: src4.into(), dst: dst6.into(), ttl };
        let mixed_refused = matches!(
            Advert::parse(&mixed, &bytes),
            Err(WireError::FamilyMismatch { .. })
        );
        prop_assert!(mixed_refused);
    }

    /// Random bytes behind a plausible VRRP header, so the parser gets past the
    /// first checks more often.
    #[test]
    fn plausible_headers_never_panic(
        version in 0u8..=4, ty in 0u8..=2, count in any::<u8>(),
        rest in proptest::collection::vec(any::<u8>(), 0..300),
        v6 in any::<bool>(),
    ) {
        let mut bytes = vec![(version << 4) | ty, 1, 100, count];
        bytes.extend_from_slice(&rest);
        let ctx = if v6 {
            ctx(Ipv6Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into())
        } else {
            ctx(Ipv4Addr::LOCALHOST.into(), Ipv4Addr::LOCALHOST.into())
        };
        if let Ok(received) = Advert::parse(&ctx, &bytes) {
            // Whatever parses, re-emits to a message that parses the same.
            let again = received
                .advert
                .to_bytes(ctx.src, ctx.dst, received.checksum)
                .unwrap();
            prop_assert_eq!(Advert::parse(&ctx, &again).unwrap().advert, received.advert);
        }
    }

    #[test]
    fn emit_then_parse_round_trips((advert, src, dst) in valid(), asked in form()) {
        let bytes = advert.to_bytes(src, dst, asked).unwrap();
        prop_assert_eq!(bytes.len(), advert.buffer_len());
        let received = Advert::parse(&ctx(src, dst), &bytes).unwrap();
        prop_assert_eq!(&received.advert, &advert);
        prop_assert_eq!(received.checksum, form_reported(&advert, src, dst, asked));
    }

    #[test]
    fn whole_ipv4_packets_round_trip(
        (advert, src, dst) in valid().prop_filter("IPv4", |(_, s, _)| s.is_ipv4()),
        ident in any::<u16>(),
        asked in form(),
    ) {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else { unreachable!() };
        let mut buf = vec![0u8; 20 + advert.buffer_len()];
        let n = advert.emit_ipv4_packet(s, d, ident, asked, &mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        let (header, received) = Advert::parse_ipv4_packet(&buf).unwrap();
        prop_assert_eq!(header.ident, ident);
        prop_assert_eq!(header.src, s);
        prop_assert_eq!(header.dst, d);
        prop_assert_eq!(received.advert, advert);
    }

    #[test]
    fn mutations_never_panic(
        (advert, src, dst) in valid(),
        asked in form(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let original = advert.to_bytes(src, dst, asked).unwrap();
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let _ = Advert::parse(&ctx(src, dst), &bytes);
        // Also behind an IPv4 header, which fixes the length the mutations broke.
        if let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) {
            let mut whole = vec![0u8; 20 + original.len()];
            advert.emit_ipv4_packet(s, d, 1, asked, &mut whole).unwrap();
            for m in &mutations {
                apply(&mut whole, m);
            }
            let _ = Advert::parse_ipv4_packet(&whole);
        }
    }

    /// One changed byte is always caught. The only way one can pass is v3 over
    /// IPv4 matching the *other* checksum form by coincidence.
    #[test]
    fn one_changed_byte_is_rejected(
        (advert, src, dst) in valid(),
        asked in form(),
        index in any::<usize>(),
        mask in 1u8..=255,
    ) {
        let mut bytes = advert.to_bytes(src, dst, asked).unwrap();
        let i = index % bytes.len();
        bytes[i] ^= mask;
        match Advert::parse(&ctx(src, dst), &bytes) {
            Err(_) => {}
            Ok(received) => {
                prop_assert!(advert.version == Version::V3 && src.is_ipv4());
                prop_assert_ne!(received.checksum, asked);
            }
        }
    }

    /// Adverts the codec refuses to emit are refused with an error, never a panic.
    #[test]
    fn invalid_adverts_are_refused(
        version in prop_oneof![Just(Version::V2), Just(Version::V3)],
        vrid in any::<u8>(),
        advert_int_cs in any::<u16>(),
        addresses in proptest::collection::vec(
            prop_oneof![ipv4().prop_map(IpAddr::V4), ipv6().prop_map(IpAddr::V6)], 0..4),
        auth in prop_oneof![
            auth_v2(),
            (0u8..=1, any::<[u8; 8]>()).prop_map(|(auth_type, data)| Auth::Other { auth_type, data }),
        ],
        v6 in any::<bool>(),
        asked in form(),
        buf_len in 0usize..120,
    ) {
        let advert = Advert { version, vrid, priority: 100, advert_int_cs, addresses, auth };
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (Ipv6Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into())
        } else {
            (Ipv4Addr::LOCALHOST.into(), Ipv4Addr::LOCALHOST.into())
        };
        let mut buf = vec![0u8; buf_len];
        match advert.emit(src, dst, asked, &mut buf) {
            Ok(n) => {
                prop_assert_eq!(n, advert.buffer_len());
                let received = Advert::parse(&ctx(src, dst), &buf[..n]).unwrap();
                prop_assert_eq!(received.advert, advert);
            }
            Err(e) => {
                let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
                // Either the advert itself is invalid, or the buffer is short.
                match advert.check(family) {
                    Err(check) => prop_assert_eq!(e, check),
                    Ok(()) => {
                        let short = matches!(e, WireError::BufferTooSmall { .. });
                        prop_assert!(short, "unexpected {}", e);
                    }
                }
            }
        }
    }
}
