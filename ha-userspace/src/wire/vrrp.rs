//! The VRRP message as bytes: a checked view with one accessor per field.
//!
//! Both versions share the first four bytes and the checksum; they differ in
//! bytes 4–5 and in what follows the addresses:
//!
//! ```text
//!          v2, RFC 3768 §5.1                      v3, RFC 9568 §5.1
//!  0       Version=2 | Type=1                     Version=3 | Type=1
//!  1       Virtual Rtr ID                         Virtual Rtr ID
//!  2       Priority                               Priority
//!  3       Count IP Addrs                         Count IPvX Addrs
//!  4       Auth Type                              Rsvd (4 bits) | Max Adver Int (12 bits, cs)
//!  5       Adver Int (seconds)                      "
//!  6..8    Checksum                               Checksum
//!  8..     Count × IPv4 address                   Count × IPv4 or IPv6 address
//!  then    8 bytes of Authentication Data         nothing
//! ```
//!
//! The message does not say how long its addresses are: that comes from the IP
//! header that carried it, so a view is built with the [`Family`] of that header.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Family, IPPROTO_VRRP, WireError, checksum};

/// Byte offsets of the fields.
mod field {
    pub type Field = core::ops::Range<usize>;

    /// Version (high nibble) and Type (low nibble).
    pub const VER_TYPE: usize = 0;
    /// Virtual Router Identifier.
    pub const VRID: usize = 1;
    /// Priority.
    pub const PRIORITY: usize = 2;
    /// Count IP(vX) Addrs.
    pub const COUNT: usize = 3;
    /// v2 only: Auth Type (RFC 3768 §5.3.6).
    pub const AUTH_TYPE: usize = 4;
    /// v2 only: Adver Int in seconds (RFC 3768 §5.3.7).
    pub const ADVER_INT: usize = 5;
    /// v3 only: 4 reserved bits, then Max Adver Int in centiseconds
    /// (RFC 9568 §5.2.6, §5.2.7).
    pub const MAX_ADVER_INT: Field = 4..6;
    /// Checksum.
    pub const CHECKSUM: Field = 6..8;
    /// First address.
    pub const ADDRESSES: usize = 8;
}

/// Length of the fixed header, before the addresses.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 Authentication Data that follows the addresses (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// Type 1, ADVERTISEMENT: the only VRRP message type (RFC 3768 §5.3.2, RFC 9568 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// The 12 bits of the v3 Max Adver Int field; the 4 bits above are reserved.
pub const MAX_ADVER_INT_MASK: u16 = 0x0fff;

/// The VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, interval in seconds, authentication fields.
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568: IPv4 and IPv6, interval in centiseconds.
    V3,
}

impl Version {
    /// The number in the version nibble.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version a version nibble names, if one we speak.
    pub const fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// What a VRRP checksum covers besides the message.
///
/// v2 is always over the message alone (RFC 3768 §5.3.8) and v3 over IPv6
/// always includes the IPv6 pseudo-header (RFC 9568 §5.2.8). v3 over IPv4 is
/// the one case that differs between implementations: RFC 5798 pointed at "the
/// pseudo-header as defined in RFC 2460 §8.1", which keepalived (by default),
/// FRR and Wireshark read as an IPv4 pseudo-header, while other vendors and
/// RFC 9568 §5.2.8 use the message alone (keepalived `v3_checksum_as_v2`).
///
/// On emit this chooses the v3-over-IPv4 form (ignored otherwise); the default
/// is [`ChecksumForm::PseudoHeader`], the deployed keepalived/FRR form. On
/// receive both forms are accepted for v3 over IPv4 and the one that matched is
/// reported; when both match (the pseudo-header sums to zero) it is
/// `PseudoHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumForm {
    /// The pseudo-header of the IP version is summed with the message.
    #[default]
    PseudoHeader,
    /// The message alone is summed.
    MessageOnly,
}

/// Length of a VRRP message of `version` carrying `count` addresses of `family`.
pub const fn message_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + count * family.addr_len() + auth
}

/// A view over the bytes of one VRRP message (without its IP header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it: for emitting into a buffer sized by
    /// [`crate::wire::Advert::buffer_len`]. Accessors may panic on short input.
    pub const fn new_unchecked(buffer: T, family: Family) -> Packet<T> {
        Packet { buffer, family }
    }

    /// Wraps received bytes carried by an IP header of `family`, after
    /// [`check_len`](Self::check_len). Every accessor is then panic-free.
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer, family);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds exactly one VRRP message.
    ///
    /// The layout depends on the version (v2 carries authentication data after
    /// the addresses), so the version is checked here too: [`WireError::Truncated`]
    /// below the 8-byte header, [`WireError::BadVersion`], [`WireError::V2OverIpv6`],
    /// then [`WireError::CountMismatch`] unless the length is exactly
    /// 8 + count × address length (+ 8 for v2).
    ///
    /// Exact, not "at least": RFC 3768 §7.1 and RFC 9568 §7.1 only require the
    /// complete packet, but bytes after it are covered by neither the count nor
    /// (unambiguously) the checksum, no implementation sends them, and
    /// keepalived drops such packets ("vrrp packet too long"). Link-layer padding
    /// never reaches here: the IPv4 total length and IPv6 payload length cut it off.
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(WireError::Truncated {
                len,
                needed: HEADER_LEN,
            });
        }
        let version =
            Version::from_number(self.version()).ok_or(WireError::BadVersion(self.version()))?;
        if version == Version::V2 && self.family == Family::Ipv6 {
            return Err(WireError::V2OverIpv6);
        }
        let expected = message_len(version, self.family, usize::from(self.count()));
        if len != expected {
            return Err(WireError::CountMismatch {
                count: self.count(),
                len,
                expected,
            });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The family of the IP header that carried the message.
    pub const fn family(&self) -> Family {
        self.family
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type nibble.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// The Virtual Router Identifier.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// The sender's priority: 255 owner, 1–254 backup, 0 "master stepping down".
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// The number of addresses that follow the header.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2: the Auth Type (0 none; 1 and 2 reserved since RFC 3768, RFC 2338's
    /// simple password and IP AH).
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2: the advertisement interval in seconds.
    pub fn advert_int_s(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3: the Max Adver Int in centiseconds, the low 12 bits of bytes 4–5.
    pub fn max_advert_int_cs(&self) -> u16 {
        self.be16(field::MAX_ADVER_INT) & MAX_ADVER_INT_MASK
    }

    /// v3: the 4 reserved bits above Max Adver Int (sent 0, ignored on receive,
    /// RFC 9568 §5.2.6).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_ADVER_INT.start] >> 4
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Address number `index` (from 0).
    ///
    /// # Panics
    /// If the buffer does not hold that address (never after `new_checked` with
    /// `index < count`).
    pub fn address(&self, index: usize) -> IpAddr {
        let start = self.address_offset(index);
        let data = self.buffer.as_ref();
        match self.family {
            Family::Ipv4 => {
                let mut octets = [0u8; 4];
                octets.copy_from_slice(&data[start..start + 4]);
                IpAddr::V4(Ipv4Addr::from(octets))
            }
            Family::Ipv6 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&data[start..start + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
        }
    }

    /// The `count` addresses, in order.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..usize::from(self.count())).map(|i| self.address(i))
    }

    /// v2: the 8 bytes of Authentication Data after the addresses.
    pub fn auth_data(&self) -> [u8; AUTH_DATA_LEN] {
        let start = self.address_offset(usize::from(self.count()));
        let mut data = [0u8; AUTH_DATA_LEN];
        data.copy_from_slice(&self.buffer.as_ref()[start..start + AUTH_DATA_LEN]);
        data
    }

    /// The checksum this message should carry, given the IP source and
    /// destination, with `form` applied as [`ChecksumForm`] describes (it only
    /// matters for v3 over IPv4). The checksum field itself is skipped.
    ///
    /// Errors with [`WireError::FamilyMismatch`] if `src` or `dst` is not of the
    /// view's family and a pseudo-header is needed.
    pub fn compute_checksum(
        &self,
        src: IpAddr,
        dst: IpAddr,
        form: ChecksumForm,
    ) -> Result<u16, WireError> {
        let data = self.buffer.as_ref();
        // Bytes 0..6 and 8.. : the checksum field counts as zero. Both pieces
        // start at even offsets, so their sums combine.
        let message = checksum::combine(&[
            checksum::sum(&data[..field::CHECKSUM.start]),
            checksum::sum(&data[field::CHECKSUM.end..]),
        ]);
        let total = match self.effective_form(form) {
            ChecksumForm::MessageOnly => message,
            ChecksumForm::PseudoHeader => {
                checksum::combine(&[self.pseudo_header(src, dst)?, message])
            }
        };
        Ok(checksum::finish(total))
    }

    /// Verifies the checksum against the forms this message may use and says
    /// which one matched; for v3 over IPv4 both forms are tried, the
    /// pseudo-header form first.
    ///
    /// Errors with [`WireError::BadChecksum`], or [`WireError::FamilyMismatch`]
    /// as [`compute_checksum`](Self::compute_checksum).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> Result<ChecksumForm, WireError> {
        let whole = checksum::sum(self.buffer.as_ref());
        let v3_over_ipv4 = self.version() != 2 && self.family == Family::Ipv4;
        match self.effective_form(ChecksumForm::PseudoHeader) {
            ChecksumForm::MessageOnly if checksum::is_valid(whole) => {
                return Ok(ChecksumForm::MessageOnly);
            }
            ChecksumForm::MessageOnly => {}
            ChecksumForm::PseudoHeader => {
                let pseudo = self.pseudo_header(src, dst)?;
                if checksum::is_valid(checksum::combine(&[pseudo, whole])) {
                    return Ok(ChecksumForm::PseudoHeader);
                }
                if v3_over_ipv4 && checksum::is_valid(whole) {
                    return Ok(ChecksumForm::MessageOnly);
                }
            }
        }
        let expected_message_only = if v3_over_ipv4 {
            Some(self.compute_checksum(src, dst, ChecksumForm::MessageOnly)?)
        } else {
            None
        };
        Err(WireError::BadChecksum {
            got: self.checksum(),
            expected: self.compute_checksum(src, dst, ChecksumForm::PseudoHeader)?,
            expected_message_only,
        })
    }

    /// The form that applies to this message when `requested` is asked for:
    /// only v3 over IPv4 has a choice.
    fn effective_form(&self, requested: ChecksumForm) -> ChecksumForm {
        if self.version() == 2 {
            ChecksumForm::MessageOnly // RFC 3768 §5.3.8
        } else if self.family == Family::Ipv6 {
            ChecksumForm::PseudoHeader // RFC 9568 §5.2.8
        } else {
            requested
        }
    }

    /// The sum of the pseudo-header for this message's length.
    fn pseudo_header(&self, src: IpAddr, dst: IpAddr) -> Result<u16, WireError> {
        let len = self.buffer.as_ref().len();
        match (self.family, src, dst) {
            // A VRRP message over IPv4 is at most 8 + 255 × 4 + 8 = 1036 bytes,
            // well inside the 16-bit length field.
            (Family::Ipv4, IpAddr::V4(s), IpAddr::V4(d)) => {
                Ok(checksum::pseudo_header_v4(&s, &d, IPPROTO_VRRP, len as u16))
            }
            (Family::Ipv6, IpAddr::V6(s), IpAddr::V6(d)) => {
                Ok(checksum::pseudo_header_v6(&s, &d, IPPROTO_VRRP, len as u32))
            }
            (expected, s, d) => Err(WireError::FamilyMismatch {
                expected,
                found: if Family::of(&s) != expected {
                    Family::of(&s)
                } else {
                    Family::of(&d)
                },
            }),
        }
    }

    fn address_offset(&self, index: usize) -> usize {
        field::ADDRESSES + index * self.family.addr_len()
    }

    fn be16(&self, f: field::Field) -> u16 {
        let data = self.buffer.as_ref();
        u16::from_be_bytes([data[f.start], data[f.start + 1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version and type nibbles.
    pub fn set_version_and_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    /// Sets the Virtual Router Identifier.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    /// Sets the priority.
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    /// Sets the address count (the buffer length must follow; see `check_len`).
    pub fn set_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// v2: sets the Auth Type.
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    /// v2: sets the advertisement interval in seconds.
    pub fn set_advert_int_s(&mut self, seconds: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = seconds;
    }

    /// v3: sets Max Adver Int (the low 12 bits of `cs`) and the reserved bits to
    /// zero, as RFC 9568 §5.2.6 requires of a sender.
    pub fn set_max_advert_int_cs(&mut self, cs: u16) {
        let bytes = (cs & MAX_ADVER_INT_MASK).to_be_bytes();
        self.buffer.as_mut()[field::MAX_ADVER_INT].copy_from_slice(&bytes);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes address number `index` (from 0).
    ///
    /// # Panics
    /// If `addr` is not of the view's family, or the buffer is too short.
    pub fn set_address(&mut self, index: usize, addr: IpAddr) {
        let start = self.address_offset(index);
        let data = self.buffer.as_mut();
        match (self.family, addr) {
            (Family::Ipv4, IpAddr::V4(a)) => data[start..start + 4].copy_from_slice(&a.octets()),
            (Family::Ipv6, IpAddr::V6(a)) => data[start..start + 16].copy_from_slice(&a.octets()),
            (family, addr) => panic!("{addr} written into a VRRP message over {family}"),
        }
    }

    /// v2: the 8 bytes of Authentication Data after the addresses.
    pub fn auth_data_mut(&mut self) -> &mut [u8] {
        let start = self.address_offset(usize::from(self.count()));
        &mut self.buffer.as_mut()[start..start + AUTH_DATA_LEN]
    }

    /// Computes and writes the checksum, as [`compute_checksum`](Self::compute_checksum).
    pub fn fill_checksum(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        form: ChecksumForm,
    ) -> Result<(), WireError> {
        let value = self.compute_checksum(src, dst, form)?;
        self.set_checksum(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived 2.2.7, v2auth.conf, priority 150 (tests/data).
    static V2_AUTH: [u8; 24] = [
        0x21, 0x33, 0x96, 0x02, 0x01, 0x01, 0x11, 0x5c, 0xc6, 0x12, 0x1e, 0x64, 0xc6, 0x12, 0x1e,
        0x65, b's', b'e', b'c', b'r', b'e', b't', b'1', b'2',
    ];
    /// keepalived 2.2.7, v3ipv4.conf, priority 200, IPv4 pseudo-header checksum.
    static V3_V4: [u8; 12] = [
        0x31, 0x34, 0xc8, 0x01, 0x00, 0x32, 0x5d, 0x74, 0xc6, 0x12, 0x1e, 0x6e,
    ];
    const SRC4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 30, 1));
    const DST4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));

    #[test]
    fn deconstruct_v2() {
        let p = Packet::new_checked(&V2_AUTH[..], Family::Ipv4).unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(p.msg_type(), TYPE_ADVERTISEMENT);
        assert_eq!(p.vrid(), 51);
        assert_eq!(p.priority(), 150);
        assert_eq!(p.count(), 2);
        assert_eq!(p.auth_type(), 1);
        assert_eq!(p.advert_int_s(), 1);
        assert_eq!(p.checksum(), 0x115c);
        let addrs: Vec<IpAddr> = p.addresses().collect();
        assert_eq!(
            addrs,
            [
                IpAddr::V4(Ipv4Addr::new(198, 18, 30, 100)),
                IpAddr::V4(Ipv4Addr::new(198, 18, 30, 101))
            ]
        );
        assert_eq!(&p.auth_data(), b"secret12");
        assert_eq!(p.verify_checksum(SRC4, DST4), Ok(ChecksumForm::MessageOnly));
    }

    #[test]
    fn deconstruct_v3() {
        let p = Packet::new_checked(&V3_V4[..], Family::Ipv4).unwrap();
        assert_eq!(p.version(), 3);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.max_advert_int_cs(), 50);
        assert_eq!(p.address(0), IpAddr::V4(Ipv4Addr::new(198, 18, 30, 110)));
        assert_eq!(
            p.verify_checksum(SRC4, DST4),
            Ok(ChecksumForm::PseudoHeader)
        );
        assert_eq!(
            p.compute_checksum(SRC4, DST4, ChecksumForm::MessageOnly),
            Ok(0x2217)
        );
    }

    /// Built into a buffer pre-filled with 0xa5 so a forgotten field shows.
    #[test]
    fn construct_v3() {
        let mut bytes = [0xa5u8; 12];
        let mut p = Packet::new_unchecked(&mut bytes[..], Family::Ipv4);
        p.set_version_and_type(3, TYPE_ADVERTISEMENT);
        p.set_vrid(52);
        p.set_priority(200);
        p.set_count(1);
        p.set_max_advert_int_cs(50);
        p.set_address(0, IpAddr::V4(Ipv4Addr::new(198, 18, 30, 110)));
        p.fill_checksum(SRC4, DST4, ChecksumForm::PseudoHeader)
            .unwrap();
        assert_eq!(bytes, V3_V4);
    }

    #[test]
    fn reserved_bits_are_cleared_on_set() {
        let mut bytes = V3_V4;
        bytes[4] = 0xf0;
        let mut p = Packet::new_unchecked(&mut bytes[..], Family::Ipv4);
        assert_eq!(p.reserved(), 0xf);
        p.set_max_advert_int_cs(0xffff);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.max_advert_int_cs(), 0x0fff);
    }

    #[test]
    fn check_len_errors() {
        let short = Packet::new_checked(&V3_V4[..7], Family::Ipv4);
        assert_eq!(short, Err(WireError::Truncated { len: 7, needed: 8 }));
        let mut bad = V3_V4;
        bad[0] = 0x41;
        assert_eq!(
            Packet::new_checked(&bad[..], Family::Ipv4),
            Err(WireError::BadVersion(4))
        );
        assert_eq!(
            Packet::new_checked(&V2_AUTH[..], Family::Ipv6),
            Err(WireError::V2OverIpv6)
        );
        assert_eq!(
            Packet::new_checked(&V2_AUTH[..23], Family::Ipv4),
            Err(WireError::CountMismatch {
                count: 2,
                len: 23,
                expected: 24
            })
        );
        // A v3 IPv4 message read as IPv6: one address needs 16 bytes.
        assert_eq!(
            Packet::new_checked(&V3_V4[..], Family::Ipv6),
            Err(WireError::CountMismatch {
                count: 1,
                len: 12,
                expected: 24
            })
        );
    }

    #[test]
    fn checksum_with_wrong_family_addresses() {
        let p = Packet::new_checked(&V3_V4[..], Family::Ipv4).unwrap();
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(
            p.verify_checksum(v6, DST4),
            Err(WireError::FamilyMismatch {
                expected: Family::Ipv4,
                found: Family::Ipv6
            })
        );
        // v2 needs no pseudo-header, so the addresses do not matter.
        let p = Packet::new_checked(&V2_AUTH[..], Family::Ipv4).unwrap();
        assert_eq!(p.verify_checksum(v6, v6), Ok(ChecksumForm::MessageOnly));
    }

    #[test]
    fn message_lengths() {
        assert_eq!(message_len(Version::V2, Family::Ipv4, 2), 24);
        assert_eq!(message_len(Version::V3, Family::Ipv4, 1), 12);
        assert_eq!(message_len(Version::V3, Family::Ipv6, 1), 24);
        assert_eq!(message_len(Version::V3, Family::Ipv6, 255), 4088);
    }
}
