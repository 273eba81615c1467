//! The VRRP advertisement as plain values: parse (with every receive check the
//! RFCs ask of the packet itself) and emit, for v2 and v3 alike.
//!
//! What needs configuration — is the VRID ours, does the interval or the auth
//! type match, does the address list — is left to the instance; so is the
//! IPv6 rule that the first address be link-local (RFC 9568 §5.2.9), which
//! keepalived does not follow either.

use std::net::{IpAddr, Ipv4Addr};

use super::ipv4::{self, Ipv4Header};
use super::vrrp::{self, AUTH_DATA_LEN, ChecksumForm, Packet, TYPE_ADVERTISEMENT, Version};
use super::{Family, IPPROTO_VRRP, VRRP_TTL, WireError};

/// v2 Auth Type 0: no authentication (RFC 3768 §5.3.6).
const AUTH_TYPE_NONE: u8 = 0;
/// v2 Auth Type 1: RFC 2338's simple text password, reserved since RFC 3768 but
/// still sent by keepalived's `auth_type PASS`.
const AUTH_TYPE_PASSWORD: u8 = 1;
/// Largest v3 Max Adver Int: 12 bits of centiseconds (RFC 9568 §5.2.7).
const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// Centiseconds in one second of the v2 interval field.
const CS_PER_S: u16 = 100;
/// TOS keepalived writes in the IPv4 header of an advert (IPTOS_PREC_INTERNETCONTROL).
const ADVERT_TOS: u8 = 0xc0;

/// The authentication fields of a VRRPv2 advert (RFC 3768 §5.3.6, §5.3.10).
///
/// RFC 3768 removed authentication; the fields stay for RFC 2338 compatibility
/// and keepalived still sends a simple password with `auth_type PASS`. VRRPv3
/// has no such fields, so a v3 advert is always `Auth::None`. Its `Debug`
/// leaves the data out: a password is ours or a peer's secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Auth {
    /// Auth Type 0. The data is sent as zeros and ignored on receive
    /// (RFC 3768 §5.3.10).
    #[default]
    None,
    /// Auth Type 1, a simple password, NUL-padded to 8 bytes.
    Password([u8; AUTH_DATA_LEN]),
    /// Any other Auth Type (2 was RFC 2338's IP Authentication Header), with the
    /// 8 bytes of data as received. Type 0 and 1 are never `Other`.
    Other {
        /// The Auth Type field, 2–255.
        auth_type: u8,
        /// The Authentication Data.
        data: [u8; AUTH_DATA_LEN],
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Password(_) => f.write_str("Password(<redacted>)"),
            Auth::Other { auth_type, .. } => f
                .debug_struct("Other")
                .field("auth_type", auth_type)
                .field("data", &format_args!("<redacted>"))
                .finish(),
        }
    }
}

impl Auth {
    /// The Auth Type field value.
    pub const fn auth_type(&self) -> u8 {
        match self {
            Auth::None => AUTH_TYPE_NONE,
            Auth::Password(_) => AUTH_TYPE_PASSWORD,
            Auth::Other { auth_type, .. } => *auth_type,
        }
    }

    /// The Authentication Data field value.
    pub const fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Password(data) | Auth::Other { data, .. } => *data,
        }
    }

    fn from_wire(auth_type: u8, data: [u8; AUTH_DATA_LEN]) -> Auth {
        match auth_type {
            AUTH_TYPE_NONE => Auth::None,
            AUTH_TYPE_PASSWORD => Auth::Password(data),
            auth_type => Auth::Other { auth_type, data },
        }
    }
}

/// What the IP layer says about a received message: needed for the TTL check
/// and the pseudo-header.
///
/// IPv4 raw sockets hand over the IP header and [`Advert::parse_ipv4_packet`]
/// builds this from it; IPv6 raw sockets hand over only the payload, so the
/// caller fills it in from the socket address and the `IPV6_HOPLIMIT` cmsg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpContext {
    /// The IP source address.
    pub src: IpAddr,
    /// The IP destination address.
    pub dst: IpAddr,
    /// The IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

impl IpContext {
    /// The family of the IP header, or [`WireError::FamilyMismatch`] if the
    /// source and destination disagree.
    pub fn family(&self) -> Result<Family, WireError> {
        same_family(self.src, self.dst)
    }
}

/// A parsed advertisement and how its checksum was computed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Received {
    /// The advertisement.
    pub advert: Advert,
    /// Which checksum form matched: always `MessageOnly` for v2 and
    /// `PseudoHeader` for v3 over IPv6; either for v3 over IPv4, telling which
    /// convention the peer follows.
    pub checksum: ChecksumForm,
}

/// A VRRP advertisement, v2 or v3, over IPv4 or IPv6.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual Router Identifier, 1–255.
    pub vrid: u8,
    /// Sender's priority: 255 address owner, 1–254 backup, 0 stepping down.
    pub priority: u8,
    /// Advertisement interval in centiseconds, whatever the version: a v2 interval
    /// of s seconds is s × 100 (RFC 5798 §8.4 converts the same way). For v2 it
    /// must be a multiple of 100 up to 25500 to emit; for v3 at most 4095.
    pub advert_int_cs: u16,
    /// The virtual addresses, all of the IP header's family. v3 needs at least one.
    pub addresses: Vec<IpAddr>,
    /// v2 authentication fields; always `Auth::None` for v3.
    pub auth: Auth,
}

impl Advert {
    /// Parses a VRRP message received with the IP header described by `ctx`.
    ///
    /// Checks, in order: `ctx` consistent ([`WireError::FamilyMismatch`]), TTL /
    /// hop limit 255, length and version ([`Packet::check_len`]), type,
    /// checksum, then the field values: VRID non-zero, interval non-zero, and
    /// for v3 a non-zero count. The field checks come after the checksum so a
    /// corrupted packet is reported as corrupted, not as a strange value.
    pub fn parse(ctx: &IpContext, bytes: &[u8]) -> Result<Received, WireError> {
        let family = ctx.family()?;
        // RFC 3768 §7.1, RFC 9568 §7.1: MUST discard unless TTL/hop limit is 255.
        if ctx.ttl != VRRP_TTL {
            return Err(WireError::TtlNot255(ctx.ttl));
        }
        let packet = Packet::new_checked(bytes, family)?;
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(WireError::BadType(packet.msg_type()));
        }
        let checksum = packet.verify_checksum(ctx.src, ctx.dst)?;
        if packet.vrid() == 0 {
            return Err(WireError::ZeroVrid);
        }
        let (version, advert_int_cs, auth) = if packet.version() == 2 {
            let auth = Auth::from_wire(packet.auth_type(), packet.auth_data());
            (
                Version::V2,
                u16::from(packet.advert_int_s()) * CS_PER_S,
                auth,
            )
        } else {
            // RFC 9568 erratum 8299: an advert with no address is ignored.
            if packet.count() == 0 {
                return Err(WireError::ZeroCount);
            }
            // The reserved nibble is ignored (RFC 9568 §5.2.6).
            (Version::V3, packet.max_advert_int_cs(), Auth::None)
        };
        // RFC 9568 erratum 8301 for v3; for v2 a zero can match no configuration.
        if advert_int_cs == 0 {
            return Err(WireError::ZeroInterval);
        }
        Ok(Received {
            advert: Advert {
                version,
                vrid: packet.vrid(),
                priority: packet.priority(),
                advert_int_cs,
                addresses: packet.addresses().collect(),
                auth,
            },
            checksum,
        })
    }

    /// Parses a whole IPv4 packet as read from an IPv4 raw socket: the IPv4
    /// header (see [`ipv4::Packet::check_len`] and [`Ipv4Header::parse`]), the
    /// protocol ([`WireError::WrongProtocol`] unless 112), then the VRRP message
    /// with [`parse`](Self::parse).
    pub fn parse_ipv4_packet(bytes: &[u8]) -> Result<(Ipv4Header, Received), WireError> {
        let packet = ipv4::Packet::new_checked(bytes)?;
        let header = Ipv4Header::parse(&packet)?;
        if header.protocol != IPPROTO_VRRP {
            return Err(WireError::WrongProtocol(header.protocol));
        }
        let ctx = IpContext {
            src: IpAddr::V4(header.src),
            dst: IpAddr::V4(header.dst),
            ttl: header.ttl,
        };
        let received = Advert::parse(&ctx, packet.payload())?;
        Ok((header, received))
    }

    /// Length of the emitted message: 8 + the addresses (+ 8 auth bytes for v2).
    pub fn buffer_len(&self) -> usize {
        let addresses: usize = self
            .addresses
            .iter()
            .map(|a| Family::of(a).addr_len())
            .sum();
        let auth = match self.version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        vrrp::HEADER_LEN + addresses + auth
    }

    /// Checks that this advert can be emitted in an IP header of `family`, and
    /// that [`parse`](Self::parse) would return it unchanged.
    pub fn check(&self, family: Family) -> Result<(), WireError> {
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(WireError::V2OverIpv6);
        }
        if self.vrid == 0 {
            return Err(WireError::ZeroVrid);
        }
        if self.addresses.len() > usize::from(u8::MAX) {
            return Err(WireError::TooManyAddresses(self.addresses.len()));
        }
        if let Some(other) = self.addresses.iter().find(|a| Family::of(a) != family) {
            return Err(WireError::FamilyMismatch {
                expected: family,
                found: Family::of(other),
            });
        }
        if self.advert_int_cs == 0 {
            return Err(WireError::ZeroInterval);
        }
        match self.version {
            Version::V2 => {
                if !self.advert_int_cs.is_multiple_of(CS_PER_S)
                    || self.advert_int_cs / CS_PER_S > u16::from(u8::MAX)
                {
                    return Err(WireError::IntervalUnencodable {
                        version: self.version,
                        cs: self.advert_int_cs,
                    });
                }
                if let Auth::Other { auth_type, .. } = self.auth
                    && auth_type <= AUTH_TYPE_PASSWORD
                {
                    return Err(WireError::AmbiguousAuthType(auth_type));
                }
            }
            Version::V3 => {
                if self.addresses.is_empty() {
                    return Err(WireError::ZeroCount);
                }
                if self.advert_int_cs > MAX_V3_INTERVAL_CS {
                    return Err(WireError::IntervalUnencodable {
                        version: self.version,
                        cs: self.advert_int_cs,
                    });
                }
                if self.auth != Auth::None {
                    return Err(WireError::AuthOnV3);
                }
            }
        }
        Ok(())
    }

    /// Writes the VRRP message (no IP header) to the start of `buf` and returns
    /// its length, [`buffer_len`](Self::buffer_len).
    ///
    /// `src` and `dst` are the addresses the IP header will carry: they decide
    /// the family and enter the pseudo-header. `v3_ipv4` picks the checksum form
    /// for v3 over IPv4 and is ignored otherwise (see [`ChecksumForm`]).
    ///
    /// Errors as [`check`](Self::check), with [`WireError::FamilyMismatch`] if
    /// `src` and `dst` differ in family, or [`WireError::BufferTooSmall`].
    pub fn emit(
        &self,
        src: IpAddr,
        dst: IpAddr,
        v3_ipv4: ChecksumForm,
        buf: &mut [u8],
    ) -> Result<usize, WireError> {
        let family = same_family(src, dst)?;
        self.check(family)?;
        let len = self.buffer_len();
        let available = buf.len();
        let buf = buf.get_mut(..len).ok_or(WireError::BufferTooSmall {
            len: available,
            needed: len,
        })?;
        let mut packet = Packet::new_unchecked(buf, family);
        packet.set_version_and_type(self.version.number(), TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        // `check` bounded the count to 255.
        packet.set_count(self.addresses.len() as u8);
        match self.version {
            Version::V2 => {
                packet.set_auth_type(self.auth.auth_type());
                // `check` bounded the seconds to 255.
                packet.set_advert_int_s((self.advert_int_cs / CS_PER_S) as u8);
            }
            Version::V3 => packet.set_max_advert_int_cs(self.advert_int_cs),
        }
        for (i, addr) in self.addresses.iter().enumerate() {
            packet.set_address(i, *addr);
        }
        if self.version == Version::V2 {
            packet.auth_data_mut().copy_from_slice(&self.auth.data());
        }
        packet.fill_checksum(src, dst, v3_ipv4)?;
        Ok(len)
    }

    /// [`emit`](Self::emit) into a new vector.
    pub fn to_bytes(
        &self,
        src: IpAddr,
        dst: IpAddr,
        v3_ipv4: ChecksumForm,
    ) -> Result<Vec<u8>, WireError> {
        let mut bytes = vec![0; self.buffer_len()];
        self.emit(src, dst, v3_ipv4, &mut bytes)?;
        Ok(bytes)
    }

    /// Writes a whole IPv4 packet, header and VRRP message, as keepalived sends
    /// it with `IP_HDRINCL`: TOS 0xc0, TTL 255, protocol 112, DF clear, the given
    /// identification. Returns the total length.
    pub fn emit_ipv4_packet(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ident: u16,
        v3_ipv4: ChecksumForm,
        buf: &mut [u8],
    ) -> Result<usize, WireError> {
        self.check(Family::Ipv4)?;
        let total = ipv4::HEADER_LEN + self.buffer_len();
        if buf.len() < total {
            return Err(WireError::BufferTooSmall {
                len: buf.len(),
                needed: total,
            });
        }
        let header = Ipv4Header {
            tos: ADVERT_TOS,
            // At most 20 + 8 + 255 × 4 + 8 bytes.
            total_len: total as u16,
            ident,
            dont_frag: false,
            ttl: VRRP_TTL,
            protocol: IPPROTO_VRRP,
            src,
            dst,
        };
        let (head, rest) = buf.split_at_mut(ipv4::HEADER_LEN);
        header.emit(head)?;
        self.emit(IpAddr::V4(src), IpAddr::V4(dst), v3_ipv4, rest)?;
        Ok(total)
    }
}

/// The family shared by `src` and `dst`.
fn same_family(src: IpAddr, dst: IpAddr) -> Result<Family, WireError> {
    let family = Family::of(&src);
    if Family::of(&dst) != family {
        return Err(WireError::FamilyMismatch {
            expected: family,
            found: Family::of(&dst),
        });
    }
    Ok(family)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::wire::checksum;

    const SRC4: Ipv4Addr = Ipv4Addr::new(198, 18, 30, 1);
    const DST4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
    const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf84a, 0xb0ff, 0xfe2a, 0x1d46);
    const DST6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

    fn ctx4() -> IpContext {
        IpContext {
            src: IpAddr::V4(SRC4),
            dst: IpAddr::V4(DST4),
            ttl: 255,
        }
    }

    fn ctx6() -> IpContext {
        IpContext {
            src: IpAddr::V6(SRC6),
            dst: IpAddr::V6(DST6),
            ttl: 255,
        }
    }

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 18, 30, last))
    }

    /// keepalived 2.2.7 v2auth.conf, priority 150.
    fn v2_auth() -> (Advert, &'static str) {
        let advert = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 150,
            advert_int_cs: 100,
            addresses: vec![v4(100), v4(101)],
            auth: Auth::Password(*b"secret12"),
        };
        (advert, "213396020101115cc6121e64c6121e657365637265743132")
    }

    /// keepalived 2.2.7 v3ipv4.conf, priority 200.
    fn v3_ipv4() -> (Advert, &'static str) {
        let advert = Advert {
            version: Version::V3,
            vrid: 52,
            priority: 200,
            advert_int_cs: 50,
            addresses: vec![v4(110)],
            auth: Auth::None,
        };
        (advert, "3134c80100325d74c6121e6e")
    }

    /// keepalived 2.2.7 v3ipv6.conf, priority 100.
    fn v3_ipv6() -> (Advert, &'static str) {
        let advert = Advert {
            version: Version::V3,
            vrid: 53,
            priority: 100,
            advert_int_cs: 100,
            addresses: vec![IpAddr::V6(Ipv6Addr::new(
                0x2001, 2, 0, 0x30, 0, 0, 0, 0x100,
            ))],
            auth: Auth::None,
        };
        (advert, "313564010064865820010002000000300000000000000100")
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn emit4(advert: &Advert, form: ChecksumForm) -> Result<Vec<u8>, WireError> {
        advert.to_bytes(IpAddr::V4(SRC4), IpAddr::V4(DST4), form)
    }

    /// Rewrites the checksum after a test changed a field, so the field check
    /// (not the checksum) is what fails.
    fn refill(bytes: &mut [u8], ctx: &IpContext) {
        let family = ctx.family().unwrap();
        let mut p = Packet::new_unchecked(bytes, family);
        p.fill_checksum(ctx.src, ctx.dst, ChecksumForm::PseudoHeader)
            .unwrap();
    }

    #[test]
    fn keepalived_vectors_both_ways() {
        for ((advert, bytes), ctx, form) in [
            (v2_auth(), ctx4(), ChecksumForm::MessageOnly),
            (v3_ipv4(), ctx4(), ChecksumForm::PseudoHeader),
            (v3_ipv6(), ctx6(), ChecksumForm::PseudoHeader),
        ] {
            let bytes = hex(bytes);
            let received = Advert::parse(&ctx, &bytes).unwrap();
            assert_eq!(received.advert, advert);
            assert_eq!(received.checksum, form);
            assert_eq!(advert.buffer_len(), bytes.len());
            let mut out = vec![0xa5; bytes.len()];
            let n = advert
                .emit(ctx.src, ctx.dst, ChecksumForm::PseudoHeader, &mut out)
                .unwrap();
            assert_eq!(n, bytes.len());
            assert_eq!(out, bytes);
        }
    }

    /// RFC 9568 §5.2.8 / keepalived `v3_checksum_as_v2`: the message-only form
    /// over IPv4 is accepted and reported.
    #[test]
    fn v3_ipv4_checksum_without_pseudo_header_is_accepted() {
        let (advert, _) = v3_ipv4();
        let bytes = emit4(&advert, ChecksumForm::MessageOnly).unwrap();
        assert_eq!(bytes, hex("3134c80100322217c6121e6e"));
        let received = Advert::parse(&ctx4(), &bytes).unwrap();
        assert_eq!(received.advert, advert);
        assert_eq!(received.checksum, ChecksumForm::MessageOnly);
    }

    /// Over IPv6 there is no choice: the form option is ignored on emit and only
    /// the pseudo-header form verifies.
    #[test]
    fn v3_ipv6_checksum_always_has_pseudo_header() {
        let (advert, expected) = v3_ipv6();
        let ctx = ctx6();
        let bytes = advert
            .to_bytes(ctx.src, ctx.dst, ChecksumForm::MessageOnly)
            .unwrap();
        assert_eq!(bytes, hex(expected));
        // A message-only checksum over IPv6 is refused.
        let mut bytes = bytes;
        let message_only = checksum::finish(checksum::combine(&[
            checksum::sum(&bytes[..6]),
            checksum::sum(&bytes[8..]),
        ]));
        bytes[6..8].copy_from_slice(&message_only.to_be_bytes());
        assert!(matches!(
            Advert::parse(&ctx, &bytes),
            Err(WireError::BadChecksum {
                expected: 0x8658,
                expected_message_only: None,
                ..
            })
        ));
    }

    #[test]
    fn v2_checksum_ignores_form_option() {
        let (advert, expected) = v2_auth();
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader).unwrap(),
            hex(expected)
        );
        assert_eq!(
            emit4(&advert, ChecksumForm::MessageOnly).unwrap(),
            hex(expected)
        );
    }

    #[test]
    fn whole_ipv4_packet() {
        let (advert, _) = v2_auth();
        let mut buf = [0u8; 64];
        let n = advert
            .emit_ipv4_packet(SRC4, DST4, 1, ChecksumForm::PseudoHeader, &mut buf)
            .unwrap();
        let frame = hex(concat!(
            "45c0002c00010000ff70f67ac6121e01e0000012",
            "213396020101115cc6121e64c6121e657365637265743132"
        ));
        assert_eq!(buf[..n], frame[..]);
        let (header, received) = Advert::parse_ipv4_packet(&frame).unwrap();
        assert_eq!(header.ident, 1);
        assert_eq!(header.ttl, 255);
        assert_eq!(received.advert, advert);
        assert_eq!(
            advert.emit_ipv4_packet(SRC4, DST4, 1, ChecksumForm::PseudoHeader, &mut buf[..43]),
            Err(WireError::BufferTooSmall {
                len: 43,
                needed: 44
            })
        );
    }

    #[test]
    fn v2_auth_types() {
        let (mut advert, _) = v2_auth();
        for auth in [
            Auth::None,
            Auth::Password(*b"pw\0\0\0\0\0\0"),
            Auth::Other {
                auth_type: 2,
                data: [1, 2, 3, 4, 5, 6, 7, 8],
            },
            Auth::Other {
                auth_type: 255,
                data: [0; 8],
            },
        ] {
            advert.auth = auth;
            let bytes = emit4(&advert, ChecksumForm::PseudoHeader).unwrap();
            assert_eq!(bytes[4], auth.auth_type());
            assert_eq!(Advert::parse(&ctx4(), &bytes).unwrap().advert, advert);
        }
    }

    /// RFC 3768 §5.3.10: with no authentication the data is ignored on receive.
    #[test]
    fn v2_no_auth_data_is_ignored() {
        let (mut advert, _) = v2_auth();
        advert.auth = Auth::None;
        let mut bytes = emit4(&advert, ChecksumForm::PseudoHeader).unwrap();
        bytes[16..24].copy_from_slice(b"leftover");
        refill(&mut bytes, &ctx4());
        assert_eq!(Advert::parse(&ctx4(), &bytes).unwrap().advert, advert);
    }

    #[test]
    fn v3_reserved_bits_are_ignored() {
        let (advert, bytes) = v3_ipv4();
        let mut bytes = hex(bytes);
        bytes[4] |= 0xa0;
        refill(&mut bytes, &ctx4());
        assert_eq!(Advert::parse(&ctx4(), &bytes).unwrap().advert, advert);
    }

    #[test]
    fn v2_with_no_address_round_trips() {
        let (mut advert, _) = v2_auth();
        advert.addresses.clear();
        let bytes = emit4(&advert, ChecksumForm::PseudoHeader).unwrap();
        assert_eq!(bytes.len(), 16);
        assert_eq!(Advert::parse(&ctx4(), &bytes).unwrap().advert, advert);
    }

    // ---- one test per receive error --------------------------------------------

    #[test]
    fn err_truncated() {
        let (_, bytes) = v3_ipv4();
        let bytes = hex(bytes);
        assert_eq!(
            Advert::parse(&ctx4(), &bytes[..5]),
            Err(WireError::Truncated { len: 5, needed: 8 })
        );
    }

    #[test]
    fn err_count_mismatch() {
        let (_, bytes) = v2_auth();
        let mut bytes = hex(bytes);
        assert_eq!(
            Advert::parse(&ctx4(), &bytes[..20]),
            Err(WireError::CountMismatch {
                count: 2,
                len: 20,
                expected: 24
            })
        );
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            Advert::parse(&ctx4(), &bytes),
            Err(WireError::CountMismatch {
                count: 2,
                len: 28,
                expected: 24
            })
        );
    }

    #[test]
    fn err_bad_version() {
        let (_, bytes) = v3_ipv4();
        let mut bytes = hex(bytes);
        bytes[0] = 0x11;
        assert_eq!(
            Advert::parse(&ctx4(), &bytes),
            Err(WireError::BadVersion(1))
        );
    }

    #[test]
    fn err_bad_type() {
        let (_, bytes) = v3_ipv4();
        let mut bytes = hex(bytes);
        bytes[0] = 0x32;
        assert_eq!(Advert::parse(&ctx4(), &bytes), Err(WireError::BadType(2)));
    }

    #[test]
    fn err_v2_over_ipv6() {
        let (_, bytes) = v3_ipv6();
        let mut bytes = hex(bytes);
        bytes[0] = 0x21;
        assert_eq!(Advert::parse(&ctx6(), &bytes), Err(WireError::V2OverIpv6));
        let (advert, _) = v2_auth();
        assert_eq!(
            advert.to_bytes(
                IpAddr::V6(SRC6),
                IpAddr::V6(DST6),
                ChecksumForm::PseudoHeader
            ),
            Err(WireError::V2OverIpv6)
        );
    }

    #[test]
    fn err_family_mismatch() {
        let (advert, bytes) = v3_ipv4();
        let ctx = IpContext {
            dst: IpAddr::V6(DST6),
            ..ctx4()
        };
        let mismatch = WireError::FamilyMismatch {
            expected: Family::Ipv4,
            found: Family::Ipv6,
        };
        assert_eq!(Advert::parse(&ctx, &hex(bytes)), Err(mismatch));
        assert_eq!(
            advert.to_bytes(ctx.src, ctx.dst, ChecksumForm::PseudoHeader),
            Err(mismatch)
        );
        // An IPv6 address in an advert over IPv4.
        let mut mixed = advert.clone();
        mixed.addresses.push(IpAddr::V6(DST6));
        assert_eq!(emit4(&mixed, ChecksumForm::PseudoHeader), Err(mismatch));
    }

    #[test]
    fn err_ttl_not_255() {
        let (_, bytes) = v3_ipv6();
        let ctx = IpContext { ttl: 64, ..ctx6() };
        assert_eq!(
            Advert::parse(&ctx, &hex(bytes)),
            Err(WireError::TtlNot255(64))
        );
        let (_, bytes) = v2_auth();
        let ctx = IpContext { ttl: 254, ..ctx4() };
        assert_eq!(
            Advert::parse(&ctx, &hex(bytes)),
            Err(WireError::TtlNot255(254))
        );
    }

    #[test]
    fn err_bad_checksum() {
        let (_, bytes) = v2_auth();
        let mut bytes = hex(bytes);
        bytes[2] = 151;
        assert_eq!(
            Advert::parse(&ctx4(), &bytes),
            Err(WireError::BadChecksum {
                got: 0x115c,
                expected: 0x105c,
                expected_message_only: None
            })
        );
        // v3 over IPv4 names both forms.
        let (_, bytes) = v3_ipv4();
        let mut bytes = hex(bytes);
        bytes[6] = 0;
        assert_eq!(
            Advert::parse(&ctx4(), &bytes),
            Err(WireError::BadChecksum {
                got: 0x0074,
                expected: 0x5d74,
                expected_message_only: Some(0x2217)
            })
        );
        // The pseudo-header binds the addresses: another source fails.
        let (_, bytes) = v3_ipv4();
        let ctx = IpContext {
            src: v4(2),
            ..ctx4()
        };
        assert!(matches!(
            Advert::parse(&ctx, &hex(bytes)),
            Err(WireError::BadChecksum { .. })
        ));
    }

    #[test]
    fn err_zero_count() {
        let mut bytes = hex("3134c8000032ffff");
        refill(&mut bytes, &ctx4());
        assert_eq!(Advert::parse(&ctx4(), &bytes), Err(WireError::ZeroCount));
        let (mut advert, _) = v3_ipv4();
        advert.addresses.clear();
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader),
            Err(WireError::ZeroCount)
        );
    }

    #[test]
    fn err_zero_interval() {
        let (_, bytes) = v3_ipv6();
        let mut bytes = hex(bytes);
        bytes[4] = 0x10; // reserved bits set, interval 0: still zero
        bytes[5] = 0;
        refill(&mut bytes, &ctx6());
        assert_eq!(Advert::parse(&ctx6(), &bytes), Err(WireError::ZeroInterval));
        let (_, bytes) = v2_auth();
        let mut bytes = hex(bytes);
        bytes[5] = 0;
        refill(&mut bytes, &ctx4());
        assert_eq!(Advert::parse(&ctx4(), &bytes), Err(WireError::ZeroInterval));
        let (mut advert, _) = v2_auth();
        advert.advert_int_cs = 0;
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader),
            Err(WireError::ZeroInterval)
        );
    }

    #[test]
    fn err_zero_vrid() {
        let (_, bytes) = v3_ipv4();
        let mut bytes = hex(bytes);
        bytes[1] = 0;
        refill(&mut bytes, &ctx4());
        assert_eq!(Advert::parse(&ctx4(), &bytes), Err(WireError::ZeroVrid));
        let (mut advert, _) = v3_ipv4();
        advert.vrid = 0;
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader),
            Err(WireError::ZeroVrid)
        );
    }

    #[test]
    fn err_wrong_protocol() {
        let (advert, _) = v2_auth();
        let mut buf = [0u8; 44];
        advert
            .emit_ipv4_packet(SRC4, DST4, 7, ChecksumForm::PseudoHeader, &mut buf)
            .unwrap();
        buf[9] = 17;
        let mut ip = ipv4::Packet::new_unchecked(&mut buf[..]);
        ip.fill_checksum();
        assert_eq!(
            Advert::parse_ipv4_packet(&buf),
            Err(WireError::WrongProtocol(17))
        );
    }

    #[test]
    fn ipv4_errors_pass_through() {
        let (advert, _) = v2_auth();
        let mut buf = [0u8; 44];
        advert
            .emit_ipv4_packet(SRC4, DST4, 7, ChecksumForm::PseudoHeader, &mut buf)
            .unwrap();
        let mut bad = buf;
        bad[0] = 0x55;
        assert_eq!(
            Advert::parse_ipv4_packet(&bad),
            Err(WireError::BadIpVersion(5))
        );
        let mut bad = buf;
        bad[12] ^= 1;
        assert!(matches!(
            Advert::parse_ipv4_packet(&bad),
            Err(WireError::BadIpChecksum { .. })
        ));
        // TTL 64 with a fixed-up header checksum: the VRRP check catches it.
        let mut bad = buf;
        bad[8] = 64;
        ipv4::Packet::new_unchecked(&mut bad[..]).fill_checksum();
        assert_eq!(
            Advert::parse_ipv4_packet(&bad),
            Err(WireError::TtlNot255(64))
        );
    }

    // ---- one test per emit-only error ------------------------------------------

    #[test]
    fn err_interval_unencodable() {
        let (mut advert, _) = v2_auth();
        for cs in [150, 25600, 99] {
            advert.advert_int_cs = cs;
            assert_eq!(
                emit4(&advert, ChecksumForm::PseudoHeader),
                Err(WireError::IntervalUnencodable {
                    version: Version::V2,
                    cs
                })
            );
        }
        advert.advert_int_cs = 25500;
        assert!(emit4(&advert, ChecksumForm::PseudoHeader).is_ok());
        let (mut advert, _) = v3_ipv4();
        advert.advert_int_cs = 4096;
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader),
            Err(WireError::IntervalUnencodable {
                version: Version::V3,
                cs: 4096
            })
        );
        advert.advert_int_cs = 4095;
        assert!(emit4(&advert, ChecksumForm::PseudoHeader).is_ok());
    }

    #[test]
    fn err_too_many_addresses() {
        let (mut advert, _) = v3_ipv4();
        advert.addresses = vec![v4(1); 255];
        let bytes = emit4(&advert, ChecksumForm::PseudoHeader).unwrap();
        assert_eq!(Advert::parse(&ctx4(), &bytes).unwrap().advert, advert);
        advert.addresses.push(v4(1));
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader),
            Err(WireError::TooManyAddresses(256))
        );
    }

    #[test]
    fn err_auth_on_v3() {
        let (mut advert, _) = v3_ipv4();
        advert.auth = Auth::Password(*b"secret12");
        assert_eq!(
            emit4(&advert, ChecksumForm::PseudoHeader),
            Err(WireError::AuthOnV3)
        );
    }

    #[test]
    fn err_ambiguous_auth_type() {
        let (mut advert, _) = v2_auth();
        for auth_type in [0, 1] {
            advert.auth = Auth::Other {
                auth_type,
                data: [0; 8],
            };
            assert_eq!(
                emit4(&advert, ChecksumForm::PseudoHeader),
                Err(WireError::AmbiguousAuthType(auth_type))
            );
        }
    }

    #[test]
    fn err_buffer_too_small() {
        let (advert, _) = v2_auth();
        let mut buf = [0u8; 23];
        assert_eq!(
            advert.emit(
                IpAddr::V4(SRC4),
                IpAddr::V4(DST4),
                ChecksumForm::PseudoHeader,
                &mut buf
            ),
            Err(WireError::BufferTooSmall {
                len: 23,
                needed: 24
            })
        );
    }
}
