//! Typed views over packet bytes, and parse/emit between bytes and plain values.
//!
//! The layout follows smoltcp's `src/wire/`. Each protocol has two layers:
//!
//! - a checked view, `Packet<T: AsRef<[u8]>>`, with one accessor per field of the
//!   received bytes (and setters when `T: AsMut<[u8]>`), and
//! - a representation ([`Advert`], [`Ipv4Header`]) holding plain values, with
//!   `parse` (view → value, validating every field the RFC asks us to check) and
//!   `emit` (value → bytes) plus `buffer_len`.
//!
//! # The contract
//!
//! - Untrusted bytes go through `new_checked`, never `new_unchecked`. `new_checked`
//!   validates every length the accessors rely on, so after it succeeds no accessor
//!   can panic. Setters do not re-check; a view built for emitting is built with
//!   `new_unchecked` over a buffer the representation has sized itself.
//! - `emit` validates the representation first and never writes a packet that
//!   `parse` would reject, so `parse(emit(x)) == x` for every `x` that emits.
//! - A bad packet is an error value, one [`WireError`] variant per reason, so the
//!   datapath can count drops by reason ("decode, never trust" in DESIGN.md).
//!   Nothing here panics on any input (`tests/wire_props.rs`).

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod advert;
pub mod checksum;
mod error;
pub mod ipv4;
pub mod vrrp;

pub use advert::{Advert, Auth, IpContext, Received};
pub use error::WireError;
pub use ipv4::Ipv4Header;
pub use vrrp::{ChecksumForm, Version};

/// IP protocol number (IPv4) and Next Header value (IPv6) of VRRP, 112
/// (RFC 3768 §5.2.4, RFC 9568 §5.1.1.4 / §5.1.2.4); one definition, shared with
/// the XDP program.
pub use ha_common::wire::IPPROTO_VRRP;

/// The only TTL / hop limit an advertisement may be sent or accepted with
/// (RFC 3768 §5.2.3, RFC 9568 §5.1.1.3 / §5.1.2.3): it proves the sender is on-link.
pub const VRRP_TTL: u8 = 255;

/// The IPv4 multicast group adverts are sent to (RFC 3768 §5.2.2, RFC 9568 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// The IPv6 multicast group adverts are sent to (RFC 9568 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// The address family of an IP header, and so of every address a VRRP message
/// carries: the message itself does not say how long its addresses are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    Ipv4,
    /// IPv6: 16-byte addresses.
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Length in bytes of one address of this family.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}
pub mod arp;
pub mod ndisc;
