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

/// A 32-bit fingerprint of one address (FNV-1a over its map form, then a
/// final mix). The wrapping sum of the fingerprints of a list does not depend
/// on its order: strict mode compares an advert's address list with ours by
/// count and sum ([`crate::InstanceConf::vip_sum`]) in the XDP program.
pub const fn mix(a: &[u8; 16]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < 16 {
        h ^= a[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^ (h >> 15)
}

/// The map family value of `ip`.
pub const fn family_of(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => family::V4,
        IpAddr::V6(_) => family::V6,
    }
}
