//! The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
//! complement sum of the data read as big-endian 16-bit words.
//!
//! The helpers return *sums* (folded to 16 bits, not complemented) so that the
//! parts of a checksum — a pseudo-header and the message — can be computed
//! separately and added with [`combine`]. [`finish`] turns a sum into the value
//! written in a checksum field; [`is_valid`] checks a sum taken over data that
//! already includes its checksum field.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's complement sum of `bytes` as big-endian 16-bit words, folded to 16 bits.
///
/// An odd final byte is summed as if followed by a zero byte (RFC 1071 §4.1).
/// When sums of several pieces are [`combine`]d, every piece but the last must
/// have an even length, or the words of the later pieces would be misaligned.
pub fn sum(bytes: &[u8]) -> u16 {
    let mut chunks = bytes.chunks_exact(2);
    // A u64 cannot overflow here: it would take 2^48 words.
    let mut acc: u64 = (&mut chunks)
        .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    fold(acc)
}

/// Adds partial sums in one's complement arithmetic (end-around carry).
pub fn combine(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&p| u64::from(p)).sum())
}

/// The value to write into a checksum field, given the sum of everything it
/// covers with the field itself taken as zero.
pub const fn finish(sum: u16) -> u16 {
    !sum
}

/// Whether `sum`, taken over data *including* its checksum field, says the data
/// is intact. In one's complement that sum is "negative zero", `0xffff`; a sender
/// that wrote either representation of zero (`0x0000` or `0xffff`) as its
/// checksum passes.
pub const fn is_valid(sum: u16) -> bool {
    sum == 0xffff
}

/// Sum of the IPv4 pseudo-header: source, destination, a zero byte, the protocol
/// and the upper-layer length (the form TCP and UDP use, RFC 9293 §3.1 / RFC 768).
///
/// VRRPv3 over IPv4 with this pseudo-header is what keepalived (default), FRR and
/// Wireshark compute from RFC 5798 §5.2.8; see [`crate::wire::ChecksumForm`].
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let mut words = [0u8; 12];
    words[0..4].copy_from_slice(&src.octets());
    words[4..8].copy_from_slice(&dst.octets());
    words[9] = protocol;
    words[10..12].copy_from_slice(&length.to_be_bytes());
    sum(&words)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination, the 32-bit
/// upper-layer length, three zero bytes and the next header value.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut words = [0u8; 40];
    words[0..16].copy_from_slice(&src.octets());
    words[16..32].copy_from_slice(&dst.octets());
    words[32..36].copy_from_slice(&length.to_be_bytes());
    words[39] = next_header;
    sum(&words)
}

/// Folds carries above bit 15 back into the low 16 bits until none are left.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3 worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(finish(0xddf2), 0x220d);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn carries_wrap_around() {
        assert_eq!(sum(&[0xff, 0xff, 0x00, 0x01]), 0x0001);
        assert_eq!(combine(&[0xffff, 0x0002]), 0x0002);
        assert_eq!(combine(&[0x8000, 0x8000]), 0x0001);
    }

    #[test]
    fn pieces_combine_like_the_whole() {
        let data: Vec<u8> = (0u8..=200).collect();
        assert_eq!(combine(&[sum(&data[..64]), sum(&data[64..])]), sum(&data));
    }

    #[test]
    fn data_with_its_checksum_is_valid() {
        let mut data = [0x45, 0x00, 0x00, 0x1c, 0xab, 0xcd, 0x00, 0x00];
        let c = finish(sum(&data));
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(is_valid(sum(&data)));
        data[0] ^= 1;
        assert!(!is_valid(sum(&data)));
    }

    /// The IPv4 header of a keepalived 2.2.7 advert (tests/data): its checksum
    /// field 0xf67a makes the header sum valid.
    #[test]
    fn ipv4_header_from_keepalived() {
        let hdr = [
            0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xf6, 0x7a, 0xc6, 0x12,
            0x1e, 0x01, 0xe0, 0x00, 0x00, 0x12,
        ];
        assert!(is_valid(sum(&hdr)));
    }

    #[test]
    fn pseudo_headers() {
        let v4 = pseudo_header_v4(
            &Ipv4Addr::new(198, 18, 30, 1),
            &Ipv4Addr::new(224, 0, 0, 18),
            112,
            12,
        );
        // c612 + 1e01 + e000 + 0012 + 0070 + 000c, end-around carry.
        assert_eq!(v4, 0xc4a2);
        let v6 = pseudo_header_v6(&Ipv6Addr::LOCALHOST, &Ipv6Addr::LOCALHOST, 112, 0x0001_0002);
        assert_eq!(v6, 0x0001 + 0x0001 + 0x0001 + 0x0002 + 112);
    }
}
