//! IPv6 Neighbor Advertisement (RFC 4861 §4.4): the unsolicited NA a new
//! master sends for each IPv6 virtual address, and a checked parser.
//!
//! # Unsolicited NA
//!
//! RFC 9568 §6.4.2: on becoming master, "for each IPv6 address associated
//! with the Virtual Router, send an unsolicited ND Neighbor Advertisement with
//! the Router Flag (R) set, the Solicited Flag (S) unset, the Override flag
//! (O) set, the target address set to the IPv6 address of the Virtual Router,
//! and the target link-layer address set to the Virtual Router MAC address."
//!
//! keepalived 2.2.7 (the frames in `tests/data/net/`) differs in one flag: it
//! sets R only when IPv6 forwarding is enabled on the interface
//! (`/proc/sys/net/ipv6/conf/IF/forwarding`), so on an ordinary host its NA
//! carries O alone. The captured frame is therefore:
//!
//! ```text
//! Ethernet  dst 33:33:00:00:00:01  src <mac>  type 0x86dd
//! IPv6      tc 0  flow 0  payload 32  next header 58  hop limit 255
//!           src <vip>  dst ff02::1 (all-nodes)
//! ICMPv6    type 136  code 0  checksum  flags R=? S=0 O=1
//!           target <vip>
//!           option 2 (target link-layer address), length 1, <mac>
//! ```
//!
//! [`NeighborAdvert::unsolicited`] takes the R flag as an argument so the
//! caller can follow either the RFC or keepalived; `net::garp` defaults to
//! keepalived's rule. The IPv6 source is the VIP itself (keepalived's choice;
//! RFC 4861 §7.2.6 only asks for an address of the interface), and the hop
//! limit is 255 as RFC 4861 §7.1.2 requires of every ND message.

use std::net::Ipv6Addr;

use ha_common::wire::{ETH_HLEN, ETH_P_IPV6, IPV6_HLEN};
use thiserror::Error;

use super::arp::{EthernetAddrs, MacAddr};
use super::checksum;

/// ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4).
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// IPv6 Next Header value of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// ND option type "Target Link-Layer Address" (RFC 4861 §4.6.1).
pub const OPT_TARGET_LLADDR: u8 = 2;
/// The hop limit every ND message is sent with and must arrive with (RFC 4861 §7.1.2).
pub const ND_HOP_LIMIT: u8 = 255;
/// The all-nodes multicast group an unsolicited NA goes to (RFC 4861 §7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Fixed part of an NA: type, code, checksum, flags + reserved, target.
pub const NA_FIXED_LEN: usize = 24;
/// An NA with one Target Link-Layer Address option for Ethernet.
pub const NA_LEN: usize = NA_FIXED_LEN + 8;
/// A whole Ethernet + IPv6 + NA frame as [`unsolicited_na_frame`] writes it.
pub const FRAME_LEN: usize = ETH_HLEN + IPV6_HLEN + NA_LEN;

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// Why a Neighbor Advertisement was refused (RFC 4861 §7.1.2 validity checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NdiscError {
    /// Shorter than a header or an option says.
    #[error("Neighbor Advertisement truncated: {len} bytes, need at least {needed}")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The Ethernet type is not IPv6.
    #[error("Ethernet type {0:#06x} is not IPv6 (0x86dd)")]
    NotIpv6(u16),
    /// The IPv6 next header is not ICMPv6 (extension headers are not followed).
    #[error("IPv6 next header {0} is not ICMPv6 (58)")]
    NotIcmpv6(u8),
    /// The ICMPv6 type is not 136.
    #[error("ICMPv6 type {0} is not Neighbor Advertisement (136)")]
    NotNeighborAdvert(u8),
    /// ICMPv6 code other than 0.
    #[error("Neighbor Advertisement with ICMPv6 code {0} (must be 0)")]
    BadCode(u8),
    /// Hop limit other than 255: the NA may come from off-link.
    #[error("Neighbor Advertisement with hop limit {0} (must be 255)")]
    HopLimit(u8),
    /// The checksum does not verify.
    #[error("bad ICMPv6 checksum {got:#06x}, expected {expected:#06x}")]
    BadChecksum {
        /// Field received.
        got: u16,
        /// What it should have been.
        expected: u16,
    },
    /// The target is a multicast address.
    #[error("Neighbor Advertisement target {0} is multicast")]
    MulticastTarget(Ipv6Addr),
    /// Sent to a multicast destination with the Solicited flag set.
    #[error("Neighbor Advertisement to a multicast destination has the Solicited flag")]
    SolicitedToMulticast,
    /// An option with length 0, or running past the end.
    #[error("Neighbor Advertisement option of type {kind} has a bad length")]
    BadOption {
        /// Option type.
        kind: u8,
    },
}

/// A Neighbor Advertisement, as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeighborAdvert {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in answer to a solicitation.
    pub solicited: bool,
    /// O: override an existing cache entry.
    pub override_flag: bool,
    /// The address being advertised.
    pub target: Ipv6Addr,
    /// The Target Link-Layer Address option, if present.
    pub target_mac: Option<MacAddr>,
}

impl NeighborAdvert {
    /// The unsolicited NA for `vip` at `mac` (S=0, O=1, R as given; see the module docs).
    pub const fn unsolicited(mac: MacAddr, vip: Ipv6Addr, router: bool) -> NeighborAdvert {
        NeighborAdvert {
            router,
            solicited: false,
            override_flag: true,
            target: vip,
            target_mac: Some(mac),
        }
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub const fn buffer_len(&self) -> usize {
        if self.target_mac.is_some() {
            NA_LEN
        } else {
            NA_FIXED_LEN
        }
    }

    /// Writes the ICMPv6 message into the start of `buf`, with the checksum
    /// over the IPv6 pseudo-header of `src` → `dst` (RFC 4443 §2.3).
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, src: &Ipv6Addr, dst: &Ipv6Addr, buf: &mut [u8]) {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        buf.fill(0);
        buf[0] = ICMPV6_NEIGHBOR_ADVERT;
        let mut flags = 0;
        if self.router {
            flags |= FLAG_ROUTER;
        }
        if self.solicited {
            flags |= FLAG_SOLICITED;
        }
        if self.override_flag {
            flags |= FLAG_OVERRIDE;
        }
        buf[4] = flags;
        buf[8..24].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            buf[24] = OPT_TARGET_LLADDR;
            buf[25] = 1; // in units of 8 bytes
            buf[26..32].copy_from_slice(&mac.0);
        }
        let sum = icmpv6_sum(src, dst, buf);
        buf[2..4].copy_from_slice(&checksum::finish(sum).to_be_bytes());
    }

    /// Parses and validates an ICMPv6 message received from `src` to `dst`
    /// (RFC 4861 §7.1.2, except the hop limit, which the caller knows:
    /// [`parse_frame`] checks it).
    pub fn parse(
        icmp: &[u8],
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) -> Result<NeighborAdvert, NdiscError> {
        if icmp.len() < NA_FIXED_LEN {
            return Err(NdiscError::Truncated {
                len: icmp.len(),
                needed: NA_FIXED_LEN,
            });
        }
        if icmp[0] != ICMPV6_NEIGHBOR_ADVERT {
            return Err(NdiscError::NotNeighborAdvert(icmp[0]));
        }
        if icmp[1] != 0 {
            return Err(NdiscError::BadCode(icmp[1]));
        }
        let sum = icmpv6_sum(src, dst, icmp);
        if !checksum::is_valid(sum) {
            let got = u16::from_be_bytes([icmp[2], icmp[3]]);
            let mut zeroed = icmp.to_vec();
            zeroed[2..4].fill(0);
            let expected = checksum::finish(icmpv6_sum(src, dst, &zeroed));
            return Err(NdiscError::BadChecksum { got, expected });
        }
        let flags = icmp[4];
        let mut target = [0u8; 16];
        target.copy_from_slice(&icmp[8..24]);
        let target = Ipv6Addr::from(target);
        if target.is_multicast() {
            return Err(NdiscError::MulticastTarget(target));
        }
        let solicited = flags & FLAG_SOLICITED != 0;
        if solicited && dst.is_multicast() {
            return Err(NdiscError::SolicitedToMulticast);
        }
        let mut target_mac = None;
        let mut options = &icmp[NA_FIXED_LEN..];
        while !options.is_empty() {
            let kind = options[0];
            let len = usize::from(*options.get(1).ok_or(NdiscError::BadOption { kind })?) * 8;
            if len == 0 || len > options.len() {
                return Err(NdiscError::BadOption { kind });
            }
            if kind == OPT_TARGET_LLADDR && len == 8 {
                target_mac = MacAddr::from_slice(&options[2..8]);
            }
            options = &options[len..];
        }
        Ok(NeighborAdvert {
            router: flags & FLAG_ROUTER != 0,
            solicited,
            override_flag: flags & FLAG_OVERRIDE != 0,
            target,
            target_mac,
        })
    }
}

/// One's complement sum of the IPv6 pseudo-header and the ICMPv6 message.
fn icmpv6_sum(src: &Ipv6Addr, dst: &Ipv6Addr, icmp: &[u8]) -> u16 {
    // An ICMPv6 message in one Ethernet frame is far below 2^32 bytes.
    let len = icmp.len() as u32;
    checksum::combine(&[
        checksum::pseudo_header_v6(src, dst, IPPROTO_ICMPV6, len),
        checksum::sum(icmp),
    ])
}

/// A received frame carrying a Neighbor Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaFrame {
    /// Ethernet addresses.
    pub eth: EthernetAddrs,
    /// IPv6 source.
    pub src: Ipv6Addr,
    /// IPv6 destination.
    pub dst: Ipv6Addr,
    /// The advertisement.
    pub na: NeighborAdvert,
}

/// The whole unsolicited NA frame for `vip` at `mac`, byte for byte what
/// keepalived 2.2.7 sends when `router` is false (see the module docs).
pub fn unsolicited_na_frame(mac: MacAddr, vip: Ipv6Addr, router: bool) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    frame[0..6].copy_from_slice(&MacAddr::for_ipv6_multicast(&ALL_NODES).0);
    frame[6..12].copy_from_slice(&mac.0);
    frame[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    let ip = &mut frame[ETH_HLEN..ETH_HLEN + IPV6_HLEN];
    ip[0] = 0x60; // version 6, traffic class 0, flow label 0
    ip[4..6].copy_from_slice(&(NA_LEN as u16).to_be_bytes());
    ip[6] = IPPROTO_ICMPV6;
    ip[7] = ND_HOP_LIMIT;
    ip[8..24].copy_from_slice(&vip.octets());
    ip[24..40].copy_from_slice(&ALL_NODES.octets());
    NeighborAdvert::unsolicited(mac, vip, router).emit(
        &vip,
        &ALL_NODES,
        &mut frame[ETH_HLEN + IPV6_HLEN..],
    );
    frame
}

/// Parses an untagged Ethernet frame carrying IPv6 + ICMPv6 Neighbor
/// Advertisement (no extension headers), checking the hop limit is 255.
pub fn parse_frame(frame: &[u8]) -> Result<NaFrame, NdiscError> {
    let needed = ETH_HLEN + IPV6_HLEN + NA_FIXED_LEN;
    if frame.len() < needed {
        return Err(NdiscError::Truncated {
            len: frame.len(),
            needed,
        });
    }
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    if ethertype != ETH_P_IPV6 {
        return Err(NdiscError::NotIpv6(ethertype));
    }
    let ip = &frame[ETH_HLEN..];
    if ip[6] != IPPROTO_ICMPV6 {
        return Err(NdiscError::NotIcmpv6(ip[6]));
    }
    if ip[7] != ND_HOP_LIMIT {
        return Err(NdiscError::HopLimit(ip[7]));
    }
    let payload_len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    let needed = IPV6_HLEN + payload_len;
    if ip.len() < needed {
        return Err(NdiscError::Truncated {
            len: frame.len(),
            needed: ETH_HLEN + needed,
        });
    }
    let addr = |at: usize| {
        let mut o = [0u8; 16];
        o.copy_from_slice(&ip[at..at + 16]);
        Ipv6Addr::from(o)
    };
    let (src, dst) = (addr(8), addr(24));
    let na = NeighborAdvert::parse(&ip[IPV6_HLEN..needed], &src, &dst)?;
    let eth = EthernetAddrs {
        dst: MacAddr::from_slice(&frame[0..6]).unwrap_or_default(),
        src: MacAddr::from_slice(&frame[6..12]).unwrap_or_default(),
    };
    Ok(NaFrame { eth, src, dst, na })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0xfa, 0x4a, 0xb0, 0x2a, 0x1d, 0x46]);

    #[test]
    fn na_round_trips_with_both_router_flags() {
        let vip: Ipv6Addr = "2001:2:0:30::100".parse().unwrap();
        for router in [false, true] {
            let frame = unsolicited_na_frame(MAC, vip, router);
            let got = parse_frame(&frame).unwrap();
            assert_eq!(got.na, NeighborAdvert::unsolicited(MAC, vip, router));
            assert_eq!(got.src, vip);
            assert_eq!(got.dst, ALL_NODES);
            assert_eq!(got.eth.dst.0, [0x33, 0x33, 0, 0, 0, 1]);
        }
    }

    #[test]
    fn corrupted_na_fails_its_checksum() {
        let vip: Ipv6Addr = "2001:2:0:30::100".parse().unwrap();
        let mut frame = unsolicited_na_frame(MAC, vip, false);
        frame[FRAME_LEN - 1] ^= 0x01;
        assert!(matches!(
            parse_frame(&frame),
            Err(NdiscError::BadChecksum { .. })
        ));
    }
}
