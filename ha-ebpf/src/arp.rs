//! The ARP responder for VIPs (RFC 826), with the liveness gate.
//!
//! An ARP request for a VIP of one of our instances is answered when the instance
//! is Master and the controller's heartbeat is fresh: here, in place (`XDP_TX`),
//! on an interface where `XDP_TX` delivers, or by the kernel (`XDP_PASS`), which
//! has the VIP configured, where it does not (see `ha_common::replies`).
//! Otherwise it is dropped, so a host that is not master — or whose controller
//! died — never claims the VIP, even if the address is still configured.
//! A request for a VIP the gate lets through is answered only if its Ethernet
//! destination is broadcast or our MAC and its sender hardware address is unicast;
//! others are dropped. Gratuitous ARP (sender = target) and requests for other
//! addresses go to the kernel.

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use ha_common::{
    VipKey, addr, family,
    wire::{ARP_HTYPE_ETHER, ARP_OP_REPLY, ARP_OP_REQUEST, ETH_P_IP},
};

use crate::{
    gate::{self, Gate},
    parse::{read, write},
    stats::inc,
};

/// Offsets in an Ethernet/IPv4 ARP packet (RFC 826).
const HTYPE: usize = 0;
const PTYPE: usize = 2;
const HLEN: usize = 4;
const PLEN: usize = 5;
const OP: usize = 6;
const SHA: usize = 8;
const SPA: usize = 14;
const THA: usize = 18;
const TPA: usize = 24;
/// Offsets in the Ethernet header.
const ETH_DST: usize = 0;
const ETH_SRC: usize = 6;
/// The Ethernet broadcast address.
const BROADCAST: [u8; 6] = [0xff; 6];

/// A unicast hardware address: the group bit clear (so neither multicast nor
/// broadcast), and not all zero.
#[inline(always)]
fn is_unicast(mac: [u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac != [0; 6]
}

/// An ARP frame whose header starts at `l3`.
#[inline(always)]
pub fn handle(ctx: &XdpContext, l3: usize, vlan: u16) -> Result<u32, ()> {
    inc(|s| &mut s.rx_arp);
    // The fixed part: htype, ptype, hlen, plen, op.
    let fixed: [u8; 8] = read(ctx, l3)?;
    let htype = u16::from_be_bytes([fixed[HTYPE], fixed[HTYPE + 1]]);
    let ptype = u16::from_be_bytes([fixed[PTYPE], fixed[PTYPE + 1]]);
    let op = u16::from_be_bytes([fixed[OP], fixed[OP + 1]]);
    if htype != ARP_HTYPE_ETHER
        || ptype != ETH_P_IP
        || fixed[HLEN] != 6
        || fixed[PLEN] != 4
        || op != ARP_OP_REQUEST
    {
        return Ok(xdp_action::XDP_PASS);
    }
    let sha: [u8; 6] = read(ctx, l3 + SHA)?;
    let spa: [u8; 4] = read(ctx, l3 + SPA)?;
    let tpa: [u8; 4] = read(ctx, l3 + TPA)?;
    if spa == tpa {
        // Gratuitous: someone announces the address; the kernel learns from it.
        return Ok(xdp_action::XDP_PASS);
    }
    let ifindex = ctx.ingress_ifindex() as u32;
    let vip = VipKey::new(ifindex, family::V4, addr::from_v4(tpa)).on_vlan(vlan);
    let mac = match gate::check(&vip) {
        Gate::NotOurs => return Ok(xdp_action::XDP_PASS),
        Gate::NotMaster => {
            inc(|s| &mut s.arp_dropped_not_master);
            return Ok(xdp_action::XDP_DROP);
        }
        Gate::Stale => {
            inc(|s| &mut s.arp_dropped_stale);
            return Ok(xdp_action::XDP_DROP);
        }
        Gate::Answer { mac, .. } => mac,
    };
    // Answer only a request sent to everyone or to us, from a station that can be
    // answered: never to a multicast, broadcast or zero hardware address.
    let eth_dst: [u8; 6] = read(ctx, ETH_DST)?;
    if (eth_dst != BROADCAST && eth_dst != mac) || !is_unicast(sha) {
        inc(|s| &mut s.arp_dropped_invalid);
        return Ok(xdp_action::XDP_DROP);
    }
    if !gate::replies_in_place(ifindex) {
        inc(|s| &mut s.arp_passed);
        return Ok(xdp_action::XDP_PASS);
    }
    // The reply: to the requester, from us, "tpa is at mac". Probes (spa 0.0.0.0)
    // get the same answer addressed to 0.0.0.0, as the kernel does.
    write(ctx, ETH_DST, sha)?;
    write(ctx, ETH_SRC, mac)?;
    write(ctx, l3 + OP, ARP_OP_REPLY.to_be_bytes())?;
    write(ctx, l3 + SHA, mac)?;
    write(ctx, l3 + SPA, tpa)?;
    write(ctx, l3 + THA, sha)?;
    write(ctx, l3 + TPA, spa)?;
    inc(|s| &mut s.arp_replied);
    Ok(xdp_action::XDP_TX)
}
