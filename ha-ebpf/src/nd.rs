//! The Neighbor Solicitation responder for IPv6 VIPs (RFC 4861 §7.2.3–7.2.4),
//! behind the same gate as ARP ([`crate::gate`]).
//!
//! A valid NS for a VIP is dropped when its instance is not Master or the
//! controller's heartbeat is stale. When both are fine, on an interface where
//! `XDP_TX` delivers (see `ha_common::replies`), the common form — a solicitation
//! from a real address carrying exactly one Source Link-Layer Address option (32
//! bytes of ICMPv6) — is turned into a solicited Neighbor Advertisement of the
//! same size in place and sent back (`XDP_TX`); every other form (DAD from `::`,
//! extra options), and every NS on other interfaces, goes to the kernel, which
//! answers for the configured VIP.

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
    parse::{be16_at, ptr_at, read, u8_at, write},
    stats::inc,
};

/// Offsets in the IPv6 header.
const V6_PAYLOAD_LEN: usize = 4;
const V6_HOP_LIMIT: usize = 7;
const V6_SRC: usize = 8;
/// Offsets in an NS / NA (RFC 4861 §4.3, §4.4).
const ICMP_CODE: usize = 1;
const ICMP_CHECKSUM: usize = 2;
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
pub fn handle(ctx: &XdpContext, l3: usize, vlan: u16) -> Result<u32, ()> {
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
    let ifindex = ctx.ingress_ifindex() as u32;
    let vip = VipKey::new(ifindex, family::V6, target).on_vlan(vlan);
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
    // Every byte the answer reads or rewrites is in the frame (the IPv6 header
    // and the 32-byte NS; the Ethernet header lies before them): checked once,
    // before anything is read for the answer or written. A frame that ends
    // before its message does is the kernel's to discard.
    if ptr_at::<[u8; IPV6_HLEN + ND_WITH_LL_OPTION]>(ctx, l3).is_err() {
        inc(|s| &mut s.ns_passed);
        return Ok(xdp_action::XDP_PASS);
    }
    let src: [u8; 16] = read(ctx, l3 + V6_SRC)?;
    let option: [u8; 2] = read(ctx, icmp + ND_OPTION)?;
    let unspecified = u128::from_ne_bytes(src) == 0;
    // RFC 4291 §2.7: a multicast address is never a source; the kernel
    // discards such a packet, and so do we not answer it.
    let multicast = src[0] == 0xff;
    let ipv6 = u8_at(ctx, l3)? >> 4 == 6;
    if unspecified
        || multicast
        || !ipv6
        || payload != ND_WITH_LL_OPTION
        || option != [ND_OPT_SOURCE_LL, 1]
        || !gate::replies_in_place(ifindex)
    {
        inc(|s| &mut s.ns_passed);
        return Ok(xdp_action::XDP_PASS);
    }
    if !checksum_ok(ctx, l3)? {
        inc(|s| &mut s.ns_dropped_checksum);
        return Ok(xdp_action::XDP_DROP);
    }
    answer(ctx, l3, src, target, mac, flags)?;
    inc(|s| &mut s.ns_replied);
    Ok(xdp_action::XDP_TX)
}

/// The RFC 8200 §8.1 pseudo-header of a 32-byte ICMPv6 message, after its two
/// addresses: upper-layer length and next header.
const PSEUDO_TAIL: [u8; 8] = [0, 0, 0, ND_WITH_LL_OPTION as u8, 0, 0, 0, IPPROTO_ICMPV6];

/// Whether the ICMPv6 checksum of the 32-byte NS at `l3` verifies (RFC 4443 §2.3:
/// a message with a bad checksum is discarded).
#[inline(always)]
fn checksum_ok(ctx: &XdpContext, l3: usize) -> Result<bool, ()> {
    let sum = checksum::sum_at::<[u8; 32]>(ctx, l3 + V6_SRC, 0)?;
    let sum = checksum::sum_stack(&PSEUDO_TAIL, sum)?;
    let sum = checksum::sum_at::<[u8; ND_WITH_LL_OPTION]>(ctx, l3 + IPV6_HLEN, sum)?;
    Ok(checksum::verifies(sum))
}

/// Rewrites the NS at `l3` into the NA "target is at mac", from the target to the
/// soliciting address (RFC 4861 §7.2.4), in place, then checksums it where it
/// lies (no copy on the stack: the verifier's 512 bytes are shared with the
/// advert path). The caller checked the bounds of every byte written and the
/// solicitation's validity, so no write below can fail half-way.
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
    let router = if flags & instance_flag::NA_ROUTER != 0 {
        NA_ROUTER
    } else {
        0
    };
    write(ctx, ETH_DST, requester)?;
    write(ctx, ETH_SRC, mac)?;
    // Version 6, traffic class and flow label 0, payload length 32, ICMPv6, hop
    // limit 255 (the NS had the same length, next header and hop limit).
    write(
        ctx,
        l3,
        [
            0x60u8,
            0,
            0,
            0,
            0,
            ND_WITH_LL_OPTION as u8,
            IPPROTO_ICMPV6,
            255,
        ],
    )?;
    write(ctx, l3 + V6_SRC, target)?;
    write(ctx, l3 + V6_SRC + 16, src)?;
    // Type, code, checksum (0 while summing), flags + reserved; the target
    // stays where the NS had it; then the target link-layer option.
    write(
        ctx,
        icmp,
        [
            ND_NEIGHBOR_ADVERT,
            0,
            0,
            0,
            router | NA_SOLICITED | NA_OVERRIDE,
            0,
            0,
            0,
        ],
    )?;
    write(ctx, icmp + ND_OPTION, [ND_OPT_TARGET_LL, 1])?;
    write(ctx, icmp + ND_OPTION + 2, mac)?;
    let sum = checksum::sum_at::<[u8; 32]>(ctx, l3 + V6_SRC, 0)?;
    let sum = checksum::sum_stack(&PSEUDO_TAIL, sum)?;
    let sum = checksum::sum_at::<[u8; ND_WITH_LL_OPTION]>(ctx, icmp, sum)?;
    // Summed over words as loaded, so stored back the same way (see checksum.rs).
    write(
        ctx,
        icmp + ICMP_CHECKSUM,
        (!checksum::fold(sum)).to_ne_bytes(),
    )
}
