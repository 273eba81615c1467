//! Wire constants both sides need.

/// EtherType of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// EtherType of an IEEE 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// EtherType of an IEEE 802.1ad (QinQ) service tag.
pub const ETH_P_8021AD: u16 = 0x88a8;
/// IP protocol / IPv6 next header number of VRRP (RFC 5798 §5.1.1.4, §5.1.2.3).
pub const IPPROTO_VRRP: u8 = 112;
/// Length of an Ethernet header without VLAN tags.
pub const ETH_HLEN: usize = 14;
/// Length of one VLAN tag.
pub const VLAN_HLEN: usize = 4;
/// Length of a fixed IPv6 header.
pub const IPV6_HLEN: usize = 40;
/// Length of an IPv4 header without options.
pub const IPV4_HLEN: usize = 20;
/// Length of the fixed VRRP header (RFC 5798 §5.1, RFC 3768 §5.1), before the addresses.
pub const VRRP_HLEN: usize = 8;
/// Length of the VRRPv2 authentication data that follows the addresses (RFC 3768 §5.3.10).
pub const VRRP_V2_AUTH_LEN: usize = 8;
/// VRRP packet type ADVERTISEMENT, the only one defined.
pub const VRRP_TYPE_ADVERT: u8 = 1;
/// The TTL / hop limit every VRRP packet carries (RFC 5798 §5.1.1.3, §5.1.2.2).
pub const VRRP_TTL: u8 = 255;
/// IPv6 next header of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 type Neighbor Solicitation (RFC 4861 §4.3).
pub const ND_NEIGHBOR_SOLICIT: u8 = 135;
/// ICMPv6 type Neighbor Advertisement (RFC 4861 §4.4).
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
/// ND option Source Link-Layer Address (RFC 4861 §4.6.1).
pub const ND_OPT_SOURCE_LL: u8 = 1;
/// ND option Target Link-Layer Address (RFC 4861 §4.6.1).
pub const ND_OPT_TARGET_LL: u8 = 2;
/// ARP operation request.
pub const ARP_OP_REQUEST: u16 = 1;
/// ARP operation reply.
pub const ARP_OP_REPLY: u16 = 2;
/// ARP hardware type Ethernet.
pub const ARP_HTYPE_ETHER: u16 = 1;
