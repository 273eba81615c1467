//! Every reason a packet is rejected on receive, or a value refused on emit.
//!
//! One variant per reason so that the datapath can count drops by reason and a
//! log line says exactly what was wrong with which field.

use thiserror::Error;

use super::{Family, Version};

/// Why a packet could not be parsed, or a representation could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    // ---- lengths --------------------------------------------------------------
    /// The buffer ends before a structure it must hold (a VRRP fixed header, an
    /// IPv4 header, or the IPv4 total length).
    #[error("packet truncated: {len} bytes, need at least {needed}")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes the structure needs.
        needed: usize,
    },
    /// The VRRP message is not exactly as long as its address count says:
    /// 8 + count × address length, plus 8 bytes of authentication data for v2.
    /// Shorter is an incomplete packet (RFC 3768 §7.1, RFC 9568 §7.1); longer is
    /// refused too, as keepalived does (see `vrrp::Packet::check_len`).
    #[error("VRRP message is {len} bytes but its address count {count} needs exactly {expected}")]
    CountMismatch {
        /// The Count IPvX Addrs field.
        count: u8,
        /// Length of the message received.
        len: usize,
        /// Length the count implies.
        expected: usize,
    },

    // ---- VRRP header ------------------------------------------------------------
    /// The version nibble is neither 2 nor 3 (RFC 3768 §7.1, RFC 9568 §7.1).
    #[error("unsupported VRRP version {0} (expected 2 or 3)")]
    BadVersion(u8),
    /// The type nibble is not 1, ADVERTISEMENT, the only type defined
    /// (RFC 9568 §5.2.2: unknown types MUST be discarded).
    #[error("VRRP type {0} is not ADVERTISEMENT (1)")]
    BadType(u8),
    /// A version 2 message carried over IPv6; VRRPv2 is IPv4-only (RFC 3768 §1).
    #[error("VRRPv2 message over IPv6 (VRRPv2 is IPv4-only)")]
    V2OverIpv6,
    /// Two things that must share an address family do not: the IP source and
    /// destination, or (on emit) an advertised address and the IP header.
    #[error("address family mismatch: expected {expected}, found {found}")]
    FamilyMismatch {
        /// The family of the IP header.
        expected: Family,
        /// The family found instead.
        found: Family,
    },
    /// The TTL (IPv4) or hop limit (IPv6) is not 255, so the packet may have
    /// been forwarded from off-link (RFC 3768 §7.1, RFC 9568 §7.1 MUST discard).
    #[error("TTL/hop limit {0} is not 255: the advert may come from off-link")]
    TtlNot255(u8),
    /// The checksum does not verify. For VRRPv3 over IPv4 both accepted forms
    /// were tried (with and without the IPv4 pseudo-header).
    #[error("bad VRRP checksum {got:#06x}, expected {expected:#06x}{}", message_only_text(.expected_message_only))]
    BadChecksum {
        /// The checksum field received.
        got: u16,
        /// What it should have been: over the message alone for v2, with the
        /// pseudo-header for v3.
        expected: u16,
        /// For v3 over IPv4 only: what it should have been without the
        /// pseudo-header (RFC 9568 §5.2.8 form).
        expected_message_only: Option<u16>,
    },
    /// A VRRPv3 advert listing no address (RFC 9568 erratum 8299: ignore it).
    #[error("VRRPv3 advert with an address count of 0")]
    ZeroCount,
    /// An advertisement interval of 0: v3 MUST be non-zero (RFC 9568 erratum
    /// 8301); a v2 interval of 0 s can never equal a configured one (RFC 3768 §7.1).
    #[error("advertisement interval of 0")]
    ZeroInterval,
    /// Virtual router ID 0; VRIDs are 1–255 (RFC 3768 §5.3.3, RFC 9568 §5.2.3).
    #[error("virtual router ID 0 (VRIDs are 1-255)")]
    ZeroVrid,

    // ---- IPv4 header --------------------------------------------------------------
    /// The IP version nibble of a packet read from an IPv4 raw socket is not 4.
    #[error("IP version {0} in an IPv4 header")]
    BadIpVersion(u8),
    /// The IPv4 header length (IHL, in 32-bit words) is below the minimum of 5.
    #[error("IPv4 header length {0} words is below the minimum of 5")]
    BadIpHeaderLen(u8),
    /// The IPv4 total length is shorter than the IPv4 header itself.
    #[error("IPv4 total length {total_len} is shorter than the {header_len}-byte header")]
    BadIpTotalLen {
        /// The Total Length field.
        total_len: u16,
        /// The header length from IHL.
        header_len: usize,
    },
    /// The IPv4 header checksum does not verify.
    #[error("bad IPv4 header checksum {got:#06x}, expected {expected:#06x}")]
    BadIpChecksum {
        /// The checksum field received.
        got: u16,
        /// What it should have been.
        expected: u16,
    },
    /// The IPv4 packet is a fragment (MF set or a non-zero offset); adverts are
    /// far below any MTU and are never fragmented.
    #[error("IPv4 fragment (adverts are never fragmented)")]
    Fragmented,
    /// The IPv4 protocol is not 112, VRRP.
    #[error("IP protocol {0} is not VRRP (112)")]
    WrongProtocol(u8),

    // ---- emit ---------------------------------------------------------------------
    /// The interval cannot be written in this version's field: v2 carries whole
    /// seconds in 8 bits (so 100..=25500 cs in steps of 100), v3 centiseconds in
    /// 12 bits (1..=4095).
    #[error(
        "advertisement interval {cs} cs cannot be encoded in {version} (v2: whole seconds 1-255, v3: 1-4095 cs)"
    )]
    IntervalUnencodable {
        /// The version being emitted.
        version: Version,
        /// The interval asked for, in centiseconds.
        cs: u16,
    },
    /// More addresses than the 8-bit count field can say.
    #[error("{0} addresses do not fit the 8-bit count field (at most 255)")]
    TooManyAddresses(usize),
    /// VRRPv3 has no authentication fields (RFC 9568 §5.2); only `Auth::None`
    /// can be emitted with it.
    #[error("VRRPv3 has no authentication; use Auth::None")]
    AuthOnV3,
    /// `Auth::Other` with auth type 0 or 1, which parse back as `Auth::None` /
    /// `Auth::Password`; use those instead.
    #[error("Auth::Other with auth type {0}; use Auth::None (0) or Auth::Password (1)")]
    AmbiguousAuthType(u8),
    /// The output buffer is too small for the packet.
    #[error("output buffer of {len} bytes is too small, need {needed}")]
    BufferTooSmall {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
}

impl WireError {
    /// A short, stable name for the reason, used as a drop counter's key in the
    /// status file (one counter per reason: DESIGN.md, "a bad packet is counted").
    pub const fn reason(&self) -> &'static str {
        match self {
            WireError::Truncated { .. } => "truncated",
            WireError::CountMismatch { .. } => "count_mismatch",
            WireError::BadVersion(_) => "bad_version",
            WireError::BadType(_) => "bad_type",
            WireError::V2OverIpv6 => "v2_over_ipv6",
            WireError::FamilyMismatch { .. } => "family_mismatch",
            WireError::TtlNot255(_) => "ttl_not_255",
            WireError::BadChecksum { .. } => "bad_checksum",
            WireError::ZeroCount => "zero_count",
            WireError::ZeroInterval => "zero_interval",
            WireError::ZeroVrid => "zero_vrid",
            WireError::BadIpVersion(_) => "bad_ip_version",
            WireError::BadIpHeaderLen(_) => "bad_ip_header_len",
            WireError::BadIpTotalLen { .. } => "bad_ip_total_len",
            WireError::BadIpChecksum { .. } => "bad_ip_checksum",
            WireError::Fragmented => "fragmented",
            WireError::WrongProtocol(_) => "wrong_protocol",
            WireError::IntervalUnencodable { .. } => "interval_unencodable",
            WireError::TooManyAddresses(_) => "too_many_addresses",
            WireError::AuthOnV3 => "auth_on_v3",
            WireError::AmbiguousAuthType(_) => "ambiguous_auth_type",
            WireError::BufferTooSmall { .. } => "buffer_too_small",
        }
    }
}

/// The tail of the `BadChecksum` message for v3 over IPv4.
fn message_only_text(expected_message_only: &Option<u16>) -> String {
    match expected_message_only {
        Some(c) => format!(" with the IPv4 pseudo-header or {c:#06x} without"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_fields() {
        let e = WireError::BadChecksum {
            got: 0x1234,
            expected: 0x5d74,
            expected_message_only: Some(0x2217),
        };
        assert_eq!(
            e.to_string(),
            "bad VRRP checksum 0x1234, expected 0x5d74 with the IPv4 pseudo-header or 0x2217 without"
        );
        let e = WireError::BadChecksum {
            got: 0x1234,
            expected: 0x115c,
            expected_message_only: None,
        };
        assert_eq!(e.to_string(), "bad VRRP checksum 0x1234, expected 0x115c");
        let e = WireError::IntervalUnencodable {
            version: Version::V2,
            cs: 150,
        };
        assert!(e.to_string().contains("150 cs cannot be encoded in VRRPv2"));
        let e = WireError::FamilyMismatch {
            expected: Family::Ipv4,
            found: Family::Ipv6,
        };
        assert_eq!(
            e.to_string(),
            "address family mismatch: expected IPv4, found IPv6"
        );
    }
}
