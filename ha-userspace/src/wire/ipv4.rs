//! The IPv4 header (RFC 791 §3.1), as far as VRRP needs it.
//!
//! An IPv4 raw socket delivers the IP header with the payload, so the receive
//! side checks the header here before the VRRP message is looked at: version,
//! header length, total length, header checksum, fragmentation; the protocol
//! and TTL are checked by the VRRP parser. The emit side writes the 20-byte
//! header keepalived writes with `IP_HDRINCL`.
//!
//! ```text
//!  0      Version=4 | IHL        1      TOS             2..4   Total Length
//!  4..6   Identification         6..8   Flags | Fragment Offset
//!  8      TTL                    9      Protocol        10..12 Header Checksum
//!  12..16 Source Address         16..20 Destination Address
//!  then   IHL × 4 − 20 bytes of options
//! ```

use std::net::Ipv4Addr;

use super::{WireError, checksum};

/// Byte offsets of the fields.
mod field {
    pub type Field = core::ops::Range<usize>;

    /// Version (high nibble) and IHL (low nibble, 32-bit words).
    pub const VER_IHL: usize = 0;
    /// Type of service / DSCP + ECN.
    pub const TOS: usize = 1;
    /// Total length, header included.
    pub const LENGTH: Field = 2..4;
    /// Identification.
    pub const IDENT: Field = 4..6;
    /// Flags (3 bits) and fragment offset (13 bits, 8-byte units).
    pub const FLG_OFF: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC: Field = 12..16;
    /// Destination address.
    pub const DST: Field = 16..20;
}

/// Length of a header without options (IHL 5).
pub const HEADER_LEN: usize = 20;
/// The Don't Fragment flag in the flags/offset word.
const FLAG_DF: u16 = 0x4000;
/// The More Fragments flag in the flags/offset word.
const FLAG_MF: u16 = 0x2000;
/// The fragment offset bits of the flags/offset word.
const OFFSET_MASK: u16 = 0x1fff;

/// A view over an IPv4 packet: header, options and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it: for emitting. Accessors may panic on
    /// short input.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps received bytes after [`check_len`](Self::check_len); every accessor
    /// is then panic-free.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a whole IPv4 packet: at least 20 bytes,
    /// version 4 (it decides the layout), IHL ≥ 5 and within the buffer, and a
    /// total length between the header length and the buffer length.
    ///
    /// A buffer longer than the total length is accepted and the excess ignored
    /// by [`payload`](Self::payload): it is link-layer padding (Ethernet pads
    /// frames to 60 bytes), not part of the packet.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated {
                len,
                needed: HEADER_LEN,
            });
        }
        if self.version() != 4 {
            return Err(WireError::BadIpVersion(self.version()));
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(WireError::BadIpHeaderLen(
                self.buffer.as_ref()[field::VER_IHL] & 0x0f,
            ));
        }
        if len < header_len {
            return Err(WireError::Truncated {
                len,
                needed: header_len,
            });
        }
        let total_len = self.total_len();
        if usize::from(total_len) < header_len {
            return Err(WireError::BadIpTotalLen {
                total_len,
                header_len,
            });
        }
        if len < usize::from(total_len) {
            return Err(WireError::Truncated {
                len,
                needed: usize::from(total_len),
            });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The TOS byte (DSCP and ECN).
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// The total length, header included.
    pub fn total_len(&self) -> u16 {
        self.be16(field::LENGTH)
    }

    /// The identification.
    pub fn ident(&self) -> u16 {
        self.be16(field::IDENT)
    }

    /// The Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_DF != 0
    }

    /// The More Fragments flag.
    pub fn more_frags(&self) -> bool {
        self.be16(field::FLG_OFF) & FLAG_MF != 0
    }

    /// The fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        self.be16(field::FLG_OFF) & OFFSET_MASK
    }

    /// The time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        self.addr(field::SRC)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        self.addr(field::DST)
    }

    /// The header checksum the header (options included) should carry.
    pub fn compute_checksum(&self) -> u16 {
        let header = &self.buffer.as_ref()[..self.header_len()];
        checksum::finish(checksum::combine(&[
            checksum::sum(&header[..field::CHECKSUM.start]),
            checksum::sum(&header[field::CHECKSUM.end..]),
        ]))
    }

    /// Whether the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::is_valid(checksum::sum(&self.buffer.as_ref()[..self.header_len()]))
    }

    /// The payload: from the end of the header (options skipped) to the total length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }

    fn be16(&self, f: field::Field) -> u16 {
        let data = self.buffer.as_ref();
        u16::from_be_bytes([data[f.start], data[f.start + 1]])
    }

    fn addr(&self, f: field::Field) -> Ipv4Addr {
        let data = self.buffer.as_ref();
        Ipv4Addr::new(
            data[f.start],
            data[f.start + 1],
            data[f.start + 2],
            data[f.start + 3],
        )
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length in bytes (a multiple of 4, 20..=60).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    /// Sets the TOS byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        self.set_be16(field::LENGTH, len);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        self.set_be16(field::IDENT, ident);
    }

    /// Sets the flags/offset word to "not a fragment", with DF as given.
    pub fn set_unfragmented(&mut self, dont_frag: bool) {
        self.set_be16(field::FLG_OFF, if dont_frag { FLAG_DF } else { 0 });
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol;
    }

    /// Sets the header checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_be16(field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Computes and writes the header checksum.
    pub fn fill_checksum(&mut self) {
        let value = self.compute_checksum();
        self.set_checksum(value);
    }

    fn set_be16(&mut self, f: field::Field, value: u16) {
        self.buffer.as_mut()[f].copy_from_slice(&value.to_be_bytes());
    }
}

/// The fields of an unfragmented IPv4 header, which is all VRRP ever sends or
/// accepts (an advert is at most 1056 bytes with its header).
///
/// Options are skipped on parse and never emitted: `emit` writes IHL 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// TOS byte; keepalived sends 0xc0 (precedence "internetwork control").
    pub tos: u8,
    /// Total length, header included.
    pub total_len: u16,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

impl Ipv4Header {
    /// Reads the header of a checked packet, verifying the header checksum
    /// ([`WireError::BadIpChecksum`]) and that the packet is not a fragment
    /// ([`WireError::Fragmented`]: a fragment's payload is not a whole message).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Ipv4Header, WireError> {
        if !packet.verify_checksum() {
            return Err(WireError::BadIpChecksum {
                got: packet.checksum(),
                expected: packet.compute_checksum(),
            });
        }
        if packet.more_frags() || packet.frag_offset() != 0 {
            return Err(WireError::Fragmented);
        }
        Ok(Ipv4Header {
            tos: packet.tos(),
            total_len: packet.total_len(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            ttl: packet.ttl(),
            protocol: packet.protocol(),
            src: packet.src_addr(),
            dst: packet.dst_addr(),
        })
    }

    /// Length of the emitted header: 20 bytes, no options.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 20-byte header, checksum included, at the start of `buf`, and
    /// returns its length. The payload is the caller's to write after it.
    ///
    /// Errors with [`WireError::BadIpTotalLen`] if `total_len` is below 20, and
    /// [`WireError::BufferTooSmall`] if `buf` is shorter than 20 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if usize::from(self.total_len) < HEADER_LEN {
            return Err(WireError::BadIpTotalLen {
                total_len: self.total_len,
                header_len: HEADER_LEN,
            });
        }
        let available = buf.len();
        let header = buf.get_mut(..HEADER_LEN).ok_or(WireError::BufferTooSmall {
            len: available,
            needed: HEADER_LEN,
        })?;
        let mut packet = Packet::new_unchecked(header);
        packet.set_version_and_header_len(HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len(self.total_len);
        packet.set_ident(self.ident);
        packet.set_unfragmented(self.dont_frag);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src);
        packet.set_dst_addr(self.dst);
        packet.fill_checksum();
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IPv4 header of keepalived 2.2.7's first v2 advert (tests/data), then
    /// its 24-byte VRRP payload abbreviated to zeros.
    fn keepalived_packet() -> [u8; 44] {
        let mut bytes = [0u8; 44];
        bytes[..20].copy_from_slice(&[
            0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xf6, 0x7a, 0xc6, 0x12,
            0x1e, 0x01, 0xe0, 0x00, 0x00, 0x12,
        ]);
        bytes
    }

    fn keepalived_header() -> Ipv4Header {
        Ipv4Header {
            tos: 0xc0,
            total_len: 44,
            ident: 1,
            dont_frag: false,
            ttl: 255,
            protocol: 112,
            src: Ipv4Addr::new(198, 18, 30, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
        }
    }

    #[test]
    fn deconstruct() {
        let bytes = keepalived_packet();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.payload().len(), 24);
        assert!(p.verify_checksum());
        assert_eq!(Ipv4Header::parse(&p), Ok(keepalived_header()));
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 20];
        assert_eq!(keepalived_header().emit(&mut bytes), Ok(20));
        assert_eq!(bytes[..], keepalived_packet()[..20]);
    }

    #[test]
    fn link_layer_padding_is_ignored() {
        let mut bytes = [0u8; 60];
        bytes[..44].copy_from_slice(&keepalived_packet());
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload().len(), 24);
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one word of options (a Router Alert, RFC 2113).
        let mut bytes = [0u8; 48];
        bytes[..20].copy_from_slice(&keepalived_packet()[..20]);
        bytes[0] = 0x46;
        bytes[2..4].copy_from_slice(&48u16.to_be_bytes());
        bytes[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.fill_checksum();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.payload().len(), 24);
        assert!(Ipv4Header::parse(&p).is_ok());
    }

    #[test]
    fn errors() {
        let good = keepalived_packet();
        assert_eq!(
            Packet::new_checked(&good[..19]),
            Err(WireError::Truncated {
                len: 19,
                needed: 20
            })
        );
        assert_eq!(
            Packet::new_checked(&good[..43]),
            Err(WireError::Truncated {
                len: 43,
                needed: 44
            })
        );
        let mut b = good;
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]), Err(WireError::BadIpVersion(6)));
        let mut b = good;
        b[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(WireError::BadIpHeaderLen(4))
        );
        let mut b = good;
        b[0] = 0x4f; // 60-byte header in a 44-byte buffer
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(WireError::Truncated {
                len: 44,
                needed: 60
            })
        );
        let mut b = good;
        b[3] = 19;
        assert_eq!(
            Packet::new_checked(&b[..]),
            Err(WireError::BadIpTotalLen {
                total_len: 19,
                header_len: 20
            })
        );
        let mut b = good;
        b[8] = 64; // TTL changed, checksum not
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            Ipv4Header::parse(&p),
            Err(WireError::BadIpChecksum {
                got: 0xf67a,
                expected: 0xb57b
            })
        );
        for flags_offset in [0x2000u16, 0x0001, 0x6000] {
            let mut b = good;
            b[6..8].copy_from_slice(&flags_offset.to_be_bytes());
            let mut p = Packet::new_unchecked(&mut b[..]);
            p.fill_checksum();
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(Ipv4Header::parse(&p), Err(WireError::Fragmented));
        }
    }

    #[test]
    fn dont_frag_round_trips() {
        let header = Ipv4Header {
            dont_frag: true,
            ..keepalived_header()
        };
        let mut bytes = keepalived_packet();
        header.emit(&mut bytes).unwrap();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Ipv4Header::parse(&p), Ok(header));
    }

    #[test]
    fn emit_errors() {
        let mut small = [0u8; 19];
        assert_eq!(
            keepalived_header().emit(&mut small),
            Err(WireError::BufferTooSmall {
                len: 19,
                needed: 20
            })
        );
        let header = Ipv4Header {
            total_len: 10,
            ..keepalived_header()
        };
        assert_eq!(
            header.emit(&mut [0u8; 20]),
            Err(WireError::BadIpTotalLen {
                total_len: 10,
                header_len: 20
            })
        );
    }
}
