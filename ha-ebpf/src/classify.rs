//! What kind of frame this is: ARP, IPv4 VRRP, IPv6 VRRP or other.

use aya_ebpf::programs::XdpContext;
use ha_common::wire::{
    ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_VRRP, VLAN_HLEN,
};

use crate::parse::{be16_at, u8_at};

/// The kinds of frame the program counts.
#[derive(Clone, Copy)]
pub enum Kind {
    Arp,
    VrrpV4,
    VrrpV6,
    Other,
}

/// Offset of the EtherType in an Ethernet header.
const ETH_TYPE_OFF: usize = 12;
/// Offset of the protocol field in an IPv4 header.
const IPV4_PROTO_OFF: usize = 9;
/// Offset of the next-header field in an IPv6 header.
const IPV6_NEXT_HEADER_OFF: usize = 6;

/// Classifies the frame after skipping up to two VLAN tags (802.1ad outer, 802.1Q inner).
#[inline(always)]
pub fn classify(ctx: &XdpContext) -> Result<Kind, ()> {
    let (ethertype, l3) = ethertype(ctx)?;
    Ok(match ethertype {
        ETH_P_ARP => Kind::Arp,
        ETH_P_IP if u8_at(ctx, l3 + IPV4_PROTO_OFF)? == IPPROTO_VRRP => Kind::VrrpV4,
        ETH_P_IPV6 if u8_at(ctx, l3 + IPV6_NEXT_HEADER_OFF)? == IPPROTO_VRRP => Kind::VrrpV6,
        _ => Kind::Other,
    })
}

/// The EtherType of the payload and the offset where the payload starts.
#[inline(always)]
fn ethertype(ctx: &XdpContext) -> Result<(u16, usize), ()> {
    let mut off = ETH_HLEN;
    let mut ethertype = be16_at(ctx, ETH_TYPE_OFF)?;
    // Unrolled by hand: a bounded loop is fine for the verifier, but two tags is the
    // whole story (QinQ), so say it plainly.
    if ethertype == ETH_P_8021AD || ethertype == ETH_P_8021Q {
        ethertype = be16_at(ctx, off + 2)?;
        off += VLAN_HLEN;
        if ethertype == ETH_P_8021Q {
            ethertype = be16_at(ctx, off + 2)?;
            off += VLAN_HLEN;
        }
    }
    Ok((ethertype, off))
}
