//! ARP over Ethernet for IPv4 (RFC 826): the gratuitous ARP a new master sends
//! for each virtual address, and a checked parser for ARP frames we receive.
//!
//! # Gratuitous ARP
//!
//! RFC 9568 §6.4.2 (and RFC 3768 §6.4.2): on becoming master, "for each IPv4
//! address associated with the Virtual Router, broadcast a gratuitous ARP
//! request containing the virtual router MAC address". Errata 7947/7949 spell
//! out what that request carries: sender and target protocol address are both the
//! VIP. keepalived 2.2.7 (which uses the interface MAC, not the VMAC, unless
//! `use_vmac` is set) sends exactly this 42-byte frame, and so do we:
//!
//! ```text
//! Ethernet  dst ff:ff:ff:ff:ff:ff  src <mac>  type 0x0806
//! ARP       htype 1  ptype 0x0800  hlen 6  plen 4  op 1 (request)
//!           sender <mac> <vip>     target ff:ff:ff:ff:ff:ff <vip>
//! ```
//!
//! The target hardware address is the broadcast address, not zero: that is
//! what keepalived writes, and `tests/net_wire.rs` checks our bytes against
//! frames captured from it.
//!
//! # Layout
//!
//! As elsewhere in `wire`: [`Packet`] is a checked view over the 28-byte ARP
//! body, [`ArpRepr`] the plain value with `parse` and `emit`, and
//! [`parse_frame`] / [`gratuitous_frame`] handle the Ethernet header around it.

use core::fmt;
use std::net::Ipv4Addr;

use ha_common::wire::{ETH_HLEN, ETH_P_ARP, ETH_P_IP};
use thiserror::Error;

/// ARP hardware type for Ethernet (RFC 826, IANA "Hardware Types").
pub const HTYPE_ETHERNET: u16 = 1;
/// Length of an Ethernet address.
pub const HLEN_ETHERNET: u8 = 6;
/// Length of an IPv4 address.
pub const PLEN_IPV4: u8 = 4;
/// Length of the ARP body for Ethernet/IPv4: 8 fixed bytes + 2 × (6 + 4).
pub const ARP_LEN: usize = 28;
/// Length of a whole gratuitous ARP frame as we send it (no padding: the NIC
/// pads to the 60-byte minimum, as it does for keepalived's frames).
pub const FRAME_LEN: usize = ETH_HLEN + ARP_LEN;

/// An Ethernet (EUI-48) address: the link-layer address ARP and Neighbor
/// Discovery carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The address from a slice, if it is exactly 6 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }

    /// The six bytes.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Whether this is the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the group bit (least significant bit of the first byte) is set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// The Ethernet address an IPv6 multicast group maps to: `33:33` and the
    /// group's last 32 bits (RFC 2464 §7).
    pub fn for_ipv6_multicast(group: &std::net::Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl core::str::FromStr for MacAddr {
    type Err = ArpError;

    /// Parses `aa:bb:cc:dd:ee:ff` (hex digits, either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let part = parts.next().ok_or(ArpError::BadMac)?;
            if part.is_empty() || part.len() > 2 {
                return Err(ArpError::BadMac);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| ArpError::BadMac)?;
        }
        if parts.next().is_some() {
            return Err(ArpError::BadMac);
        }
        Ok(MacAddr(out))
    }
}

/// Why an ARP frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ArpError {
    /// Fewer bytes than the header or the addresses it announces.
    #[error("ARP packet truncated: {len} bytes, need at least {needed}")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The Ethernet type is not ARP (0x0806).
    #[error("Ethernet type {0:#06x} is not ARP (0x0806)")]
    NotArp(u16),
    /// Hardware type other than Ethernet (1).
    #[error("ARP hardware type {0} is not Ethernet (1)")]
    HardwareType(u16),
    /// Protocol type other than IPv4 (0x0800).
    #[error("ARP protocol type {0:#06x} is not IPv4 (0x0800)")]
    ProtocolType(u16),
    /// Address lengths other than 6 (hardware) and 4 (protocol).
    #[error("ARP address lengths {hlen}/{plen} are not Ethernet/IPv4 (6/4)")]
    AddressLengths {
        /// Hardware address length field.
        hlen: u8,
        /// Protocol address length field.
        plen: u8,
    },
    /// An operation other than request (1) or reply (2).
    #[error("ARP operation {0} is neither request (1) nor reply (2)")]
    Operation(u16),
    /// A MAC address string that is not `aa:bb:cc:dd:ee:ff`.
    #[error("not a MAC address (expected aa:bb:cc:dd:ee:ff)")]
    BadMac,
}

/// ARP operation code (RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: "who has target IP?" — also the form of a gratuitous ARP.
    Request,
    /// 2: "sender IP is at sender MAC".
    Reply,
}

impl Operation {
    /// The value on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
        }
    }
}

/// Byte offsets of the ARP fields (RFC 826, Ethernet/IPv4 sizes).
mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// A checked view over an ARP body (the bytes after the Ethernet header).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps bytes without any check; only for buffers sized by [`ArpRepr::emit`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps received bytes after checking that the fixed header and the
    /// Ethernet/IPv4 address fields fit, so no accessor can panic. Field
    /// *values* are checked by [`ArpRepr::parse`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ArpError> {
        let len = buffer.as_ref().len();
        if len < ARP_LEN {
            return Err(ArpError::Truncated {
                len,
                needed: ARP_LEN,
            });
        }
        Ok(Packet { buffer })
    }

    /// The wrapped bytes.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, range: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        self.u16_at(field::HTYPE)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(field::PTYPE)
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation code.
    pub fn operation(&self) -> u16 {
        self.u16_at(field::OPER)
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::SHA]).unwrap_or_default()
    }

    /// Sender protocol address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        ipv4_at(&self.buffer.as_ref()[field::SPA])
    }

    /// Target hardware address.
    pub fn target_mac(&self) -> MacAddr {
        MacAddr::from_slice(&self.buffer.as_ref()[field::THA]).unwrap_or_default()
    }

    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        ipv4_at(&self.buffer.as_ref()[field::TPA])
    }
}

fn ipv4_at(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// An ARP message for Ethernet/IPv4, as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// The gratuitous ARP request for `vip` from `mac`, as keepalived sends it
    /// (RFC 9568 §6.4.2 with errata 7947/7949; see the module docs).
    pub const fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> ArpRepr {
        ArpRepr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: vip,
            target_mac: MacAddr::BROADCAST,
            target_ip: vip,
        }
    }

    /// Validates a checked view: Ethernet hardware, IPv4 protocol, 6/4 address
    /// lengths, and a request or reply operation.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<ArpRepr, ArpError> {
        if packet.hardware_type() != HTYPE_ETHERNET {
            return Err(ArpError::HardwareType(packet.hardware_type()));
        }
        if packet.protocol_type() != ETH_P_IP {
            return Err(ArpError::ProtocolType(packet.protocol_type()));
        }
        if packet.hardware_len() != HLEN_ETHERNET || packet.protocol_len() != PLEN_IPV4 {
            return Err(ArpError::AddressLengths {
                hlen: packet.hardware_len(),
                plen: packet.protocol_len(),
            });
        }
        let operation = match packet.operation() {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => return Err(ArpError::Operation(other)),
        };
        Ok(ArpRepr {
            operation,
            sender_mac: packet.sender_mac(),
            sender_ip: packet.sender_ip(),
            target_mac: packet.target_mac(),
            target_ip: packet.target_ip(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub const fn buffer_len(&self) -> usize {
        ARP_LEN
    }

    /// Writes the 28-byte ARP body into the start of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`ARP_LEN`]; size it with [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = &mut buf[..ARP_LEN];
        buf[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        buf[field::PTYPE].copy_from_slice(&ETH_P_IP.to_be_bytes());
        buf[field::HLEN] = HLEN_ETHERNET;
        buf[field::PLEN] = PLEN_IPV4;
        buf[field::OPER].copy_from_slice(&self.operation.code().to_be_bytes());
        buf[field::SHA].copy_from_slice(&self.sender_mac.0);
        buf[field::SPA].copy_from_slice(&self.sender_ip.octets());
        buf[field::THA].copy_from_slice(&self.target_mac.0);
        buf[field::TPA].copy_from_slice(&self.target_ip.octets());
    }

    /// Whether this announces the sender's own address (sender IP = target IP),
    /// the shape of a gratuitous ARP, request or reply.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// The Ethernet header fields of a received ARP frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetAddrs {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
}

/// Parses a whole untagged Ethernet frame carrying ARP, as an `AF_PACKET`
/// `SOCK_RAW` socket delivers it. Trailing padding is ignored.
pub fn parse_frame(frame: &[u8]) -> Result<(EthernetAddrs, ArpRepr), ArpError> {
    if frame.len() < ETH_HLEN {
        return Err(ArpError::Truncated {
            len: frame.len(),
            needed: ETH_HLEN + ARP_LEN,
        });
    }
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    if ethertype != ETH_P_ARP {
        return Err(ArpError::NotArp(ethertype));
    }
    let packet = Packet::new_checked(&frame[ETH_HLEN..]).map_err(|_| ArpError::Truncated {
        len: frame.len(),
        needed: FRAME_LEN,
    })?;
    let repr = ArpRepr::parse(&packet)?;
    let eth = EthernetAddrs {
        dst: MacAddr::from_slice(&frame[0..6]).unwrap_or_default(),
        src: MacAddr::from_slice(&frame[6..12]).unwrap_or_default(),
    };
    Ok((eth, repr))
}

/// Writes a whole Ethernet frame around `repr` (source `src`, destination `dst`).
pub fn emit_frame(repr: &ArpRepr, src: MacAddr, dst: MacAddr) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    frame[0..6].copy_from_slice(&dst.0);
    frame[6..12].copy_from_slice(&src.0);
    frame[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    repr.emit(&mut frame[ETH_HLEN..]);
    frame
}

/// The gratuitous ARP frame for `vip` from `mac`, byte for byte what
/// keepalived 2.2.7 sends (broadcast, see the module docs).
pub fn gratuitous_frame(mac: MacAddr, vip: Ipv4Addr) -> [u8; FRAME_LEN] {
    emit_frame(&ArpRepr::gratuitous(mac, vip), mac, MacAddr::BROADCAST)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0xfa, 0x4a, 0xb0, 0x2a, 0x1d, 0x46]);

    #[test]
    fn garp_round_trips() {
        let vip = Ipv4Addr::new(198, 18, 30, 100);
        let frame = gratuitous_frame(MAC, vip);
        let (eth, repr) = parse_frame(&frame).unwrap();
        assert_eq!(eth.dst, MacAddr::BROADCAST);
        assert_eq!(eth.src, MAC);
        assert_eq!(repr, ArpRepr::gratuitous(MAC, vip));
        assert!(repr.is_gratuitous());
    }

    #[test]
    fn mac_parses_and_prints() {
        let mac: MacAddr = "fa:4a:b0:2a:1d:46".parse().unwrap();
        assert_eq!(mac, MAC);
        assert_eq!(mac.to_string(), "fa:4a:b0:2a:1d:46");
        assert!("fa:4a:b0:2a:1d".parse::<MacAddr>().is_err());
        assert!("fa:4a:b0:2a:1d:46:00".parse::<MacAddr>().is_err());
        assert!("fa:4a:b0:2a:1d:zz".parse::<MacAddr>().is_err());
    }
}
