//! IP addresses as the maps carry them: 16 bytes in network byte order, an IPv4
//! address in the first 4 bytes and zeros after it.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::maps::family;

/// The map form of `ip`.
pub const fn to_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => from_v4(v4.octets()),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The map form of an IPv4 address given as its 4 wire bytes.
pub const fn from_v4(o: [u8; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0] = o[0];
    out[1] = o[1];
    out[2] = o[2];
    out[3] = o[3];
    out
}

/// The address `bytes` holds for `fam` ([`family::V4`] or [`family::V6`]); `None`
/// for any other family value.
pub const fn from_bytes(fam: u8, bytes: [u8; 16]) -> Option<IpAddr> {
    match fam {
        family::V4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        family::V6 => Some(IpAddr::V6(Ipv6Addr::from_octets(bytes))),
        _ => None,
    }
}

/// The map family value of `ip`.
pub const fn family_of(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => family::V4,
        IpAddr::V6(_) => family::V6,
    }
}
