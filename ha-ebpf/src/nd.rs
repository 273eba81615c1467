//! The Neighbor Solicitation responder for IPv6 VIPs (RFC 4861 §7.2.3–7.2.4),
//! behind the same gate as ARP ([`crate::gate`]).
//!
//! A valid NS for a VIP is dropped when its instance is not Master or the
//! controller's heartbeat is stale. When both are fine, the common form — a
//! solicitation from a unicast address carrying exactly one Source Link-Layer
//! Address option (32 bytes of ICMPv6), with a valid checksum — is turned into a
//! solicited Neighbor Advertisement of the same size in place and sent back
//! (`XDP_TX`); every other form (DAD from `::`, extra options) goes to the kernel,
//! which answers for the configured VIP, and so does what it would discard (a bad
//! checksum, a multicast source, a frame shorter than its payload length).

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use ha_common::{
    VipKey, family, instance_flag,
    wire::{
        IPPROTO_ICMPV6, IPV6_HLEN, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT, ND_OPT_SOURCE_LL,
        ND_OPT_TARGET_LL,
    },
};

use crate::{
    checksum,
    gate::{self, Gate},
    parse::{be16_at, read, u8_at, write},
    stats::inc,
};

/// Offsets in the IPv6 header.
const V6_PAYLOAD_LEN: usize = 4;
const V6_HOP_LIMIT: usize = 7;
const V6_SRC: usize = 8;
const V6_DST: usize = 24;
/// Offsets in an NS / NA (RFC 4861 §4.3, §4.4).
const ICMP_CODE: usize = 1;
const ICMP_CHECKSUM: usize = 2;
const ND_FLAGS: usize = 4;
const ND_TARGET: usize = 8;
const ND_OPTION: usize = 24;
/// Length of an NS with one link-layer option, and of the NA we answer with.
const ND_WITH_LL_OPTION: usize = 32;
/// Length of an NS without options.
const NS_MIN: usize = 24;
/// NA flags (RFC 4861 §4.4): Router, Solicited, Override.
const NA_ROUTER: u8 = 0x80;
const NA_SOLICITED: u8 = 0x40;
const NA_OVERRIDE: u8 = 0x20;
/// Offsets in the Ethernet header.
const ETH_DST: usize = 0;
const ETH_SRC: usize = 6;

/// An ICMPv6 packet (no extension headers) whose IPv6 header starts at `l3`.
#[inline(always)]
pub fn handle(ctx: &XdpContext, l3: usize) -> Result<u32, ()> {
    let icmp = l3 + IPV6_HLEN;
    if u8_at(ctx, icmp)? != ND_NEIGHBOR_SOLICIT {
        inc(|s| &mut s.rx_other);
        return Ok(xdp_action::XDP_PASS);
    }
    inc(|s| &mut s.rx_ns);
    // RFC 4861 §7.1.1 validity: hop limit 255, code 0, at least 24 bytes. An invalid
    // NS is the kernel's to discard.
    let payload = usize::from(be16_at(ctx, l3 + V6_PAYLOAD_LEN)?);
    if u8_at(ctx, l3 + V6_HOP_LIMIT)? != 255
        || u8_at(ctx, icmp + ICMP_CODE)? != 0
        || payload < NS_MIN
    {
        return Ok(xdp_action::XDP_PASS);
    }
    let target: [u8; 16] = read(ctx, icmp + ND_TARGET)?;
    let vip = VipKey::new(ctx.ingress_ifindex() as u32, family::V6, target);
    let (mac, flags) = match gate::check(&vip) {
        Gate::NotOurs => return Ok(xdp_action::XDP_PASS),
        Gate::NotMaster => {
            inc(|s| &mut s.ns_dropped_not_master);
            return Ok(xdp_action::XDP_DROP);
        }
        Gate::Stale => {
            inc(|s| &mut s.ns_dropped_stale);
            return Ok(xdp_action::XDP_DROP);
        }
        Gate::Answer { mac, flags } => (mac, flags),
    };
    let src: [u8; 16] = read(ctx, l3 + V6_SRC)?;
    let option: [u8; 2] = read(ctx, icmp + ND_OPTION).unwrap_or([0, 0]);
    let unspecified = u128::from_ne_bytes(src) == 0;
    // RFC 4291 §2.7: never a source; the kernel discards the packet.
    let multicast = src[0] == 0xff;
    let ipv6 = u8_at(ctx, l3)? >> 4 == 6;
    // The whole message must be in the frame before a byte of it is rewritten
    // (summing it checks that), and its checksum valid (RFC 4861 §7.1.1).
    if unspecified
        || multicast
        || !ipv6
        || payload != ND_WITH_LL_OPTION
        || option != [ND_OPT_SOURCE_LL, 1]
        || !sum_message(ctx, l3).is_ok_and(checksum::verifies)
    {
        inc(|s| &mut s.ns_passed);
        return Ok(xdp_action::XDP_PASS);
    }
    answer(ctx, l3, src, target, mac, flags)?;
    inc(|s| &mut s.ns_replied);
    Ok(xdp_action::XDP_TX)
}

/// Rewrites the NS at `l3` into the NA "target is at mac", from the target to the
/// soliciting address (RFC 4861 §7.2.4).
#[inline(always)]
fn answer(
    ctx: &XdpContext,
    l3: usize,
    src: [u8; 16],
    target: [u8; 16],
    mac: [u8; 6],
    flags: u8,
) -> Result<(), ()> {
    let icmp = l3 + IPV6_HLEN;
    let requester: [u8; 6] = read(ctx, ETH_SRC)?;
    write(ctx, ETH_DST, requester)?;
    write(ctx, ETH_SRC, mac)?;
    // Version 6, traffic class and flow label 0; payload length and next header
    // stay (32 bytes, ICMPv6); hop limit is already 255.
    write(ctx, l3, [0x60u8, 0, 0, 0])?;
    write(ctx, l3 + V6_SRC, target)?;
    write(ctx, l3 + V6_DST, src)?;
    let router = if flags & instance_flag::NA_ROUTER != 0 {
        NA_ROUTER
    } else {
        0
    };
    // Type, code, checksum (0 while summing), flags + reserved; the target stays.
    write(ctx, icmp, [ND_NEIGHBOR_ADVERT, 0, 0, 0])?;
    write(
        ctx,
        icmp + ND_FLAGS,
        [router | NA_SOLICITED | NA_OVERRIDE, 0, 0, 0],
    )?;
    write(ctx, icmp + ND_OPTION, [ND_OPT_TARGET_LL, 1])?;
    write(ctx, icmp + ND_OPTION + 2, mac)?;
    let sum = sum_message(ctx, l3)?;
    // Summed over words as loaded, so stored back the same way (see checksum.rs).
    write(
        ctx,
        icmp + ICMP_CHECKSUM,
        (!checksum::fold(sum)).to_ne_bytes(),
    )
}

/// The sum of the RFC 8200 §8.1 pseudo-header and the 32-byte ICMPv6 message of
/// the IPv6 packet at `l3`; `Err` when the frame ends before the message does.
#[inline(always)]
fn sum_message(ctx: &XdpContext, l3: usize) -> Result<u32, ()> {
    let sum = checksum::sum_at::<[u8; 32]>(ctx, l3 + V6_SRC, 0)?;
    let sum = checksum::sum_stack(
        &[0, 0, 0, ND_WITH_LL_OPTION as u8, 0, 0, 0, IPPROTO_ICMPV6],
        sum,
    )?;
    checksum::sum_at::<[u8; ND_WITH_LL_OPTION]>(ctx, l3 + IPV6_HLEN, sum)
}
