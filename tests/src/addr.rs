//! The address plan of a topology and a MAC address type.
//!
//! Test traffic only ever uses the benchmarking ranges (RFC 2544 / RFC 5180):
//! 198.18.0.0/15 and 2001:2::/48. A topology gets one /24 and one /64 from
//! them, picked by a *subnet index* `k` in `0..512`:
//!
//! | k | IPv4 | IPv6 |
//! | --- | --- | --- |
//! | 7 | 198.18.7.0/24 | 2001:2:0:7::/64 |
//! | 300 | 198.19.44.0/24 | 2001:2:0:300::/64 |
//!
//! Inside a subnet, host octet `h` maps to `.h` and to `::h` written with the
//! same digits (node 12 is 198.18.k.12 and 2001:2:0:k::12), so the two
//! families read alike in captures. Nodes use `1..=99`, VIPs `100..=249`,
//! the client 250.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use anyhow::{Result, bail};

/// Number of /24s in 198.18.0.0/15.
pub const SUBNETS: u16 = 512;
/// Host octet of the client.
pub const CLIENT_OCTET: u8 = 250;
/// First host octet handed out by [`Subnet::vip4`] / [`Subnet::vip6`].
pub const VIP_BASE: u8 = 100;

/// One /24 + one /64 from the benchmarking ranges; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subnet {
    index: u16,
}

impl Subnet {
    /// Prefix length of the IPv4 subnet.
    pub const V4_PREFIX_LEN: u8 = 24;
    /// Prefix length of the IPv6 subnet.
    pub const V6_PREFIX_LEN: u8 = 64;

    /// Subnet `index` (`0..512`).
    pub fn new(index: u16) -> Result<Self> {
        if index >= SUBNETS {
            bail!(
                "subnet index {index} is outside 0..{SUBNETS} (198.18.0.0/15 has {SUBNETS} /24s)"
            );
        }
        Ok(Self { index })
    }

    /// The index this subnet was made from.
    pub fn index(self) -> u16 {
        self.index
    }

    /// `198.18.k.h` (or `198.19.…` for `k >= 256`).
    pub fn v4(self, host: u8) -> Ipv4Addr {
        let [hi, lo] = self.index.to_be_bytes();
        Ipv4Addr::new(198, 18 + hi, lo, host)
    }

    /// `2001:2:0:k::h`, with `k` and `h` written in the same digits as their
    /// decimal values.
    pub fn v6(self, host: u8) -> Ipv6Addr {
        Ipv6Addr::new(
            0x2001,
            0x2,
            0,
            decimal_digits_as_hex(self.index),
            0,
            0,
            0,
            decimal_digits_as_hex(u16::from(host)),
        )
    }

    /// The IPv4 network address, `198.18.k.0`.
    pub fn v4_network(self) -> Ipv4Addr {
        self.v4(0)
    }

    /// The IPv6 network address, `2001:2:0:k::`.
    pub fn v6_network(self) -> Ipv6Addr {
        self.v6(0)
    }

    /// VIP number `n` (0-based): `198.18.k.(100 + n)`. `n` must be below 150.
    pub fn vip4(self, n: u8) -> Ipv4Addr {
        self.v4(vip_octet(n))
    }

    /// VIP number `n` (0-based): `2001:2:0:k::(100 + n)`. `n` must be below 150.
    pub fn vip6(self, n: u8) -> Ipv6Addr {
        self.v6(vip_octet(n))
    }
}

fn vip_octet(n: u8) -> u8 {
    assert!(
        n < CLIENT_OCTET - VIP_BASE,
        "VIP number {n} would reach the client's address"
    );
    VIP_BASE + n
}

/// 12 → 0x12: the hex group that prints like the decimal number.
fn decimal_digits_as_hex(n: u16) -> u16 {
    u16::from_str_radix(&n.to_string(), 16).expect("n < 512 has at most 3 decimal digits")
}

/// An Ethernet address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Mac {
    type Err = anyhow::Error;

    /// Parses `aa:bb:cc:dd:ee:ff` (either case).
    fn from_str(s: &str) -> Result<Self> {
        let mut mac = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut mac {
            let Some(part) = parts.next().filter(|p| p.len() == 2) else {
                bail!("not a MAC address: {s:?}");
            };
            *byte = u8::from_str_radix(part, 16)
                .map_err(|_| anyhow::anyhow!("not a MAC address: {s:?}"))?;
        }
        if parts.next().is_some() {
            bail!("not a MAC address: {s:?}");
        }
        Ok(Mac(mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan() {
        let s = Subnet::new(7).unwrap();
        assert_eq!(s.v4(1), Ipv4Addr::new(198, 18, 7, 1));
        assert_eq!(s.v6(12).to_string(), "2001:2:0:7::12");
        assert_eq!(s.vip4(0), Ipv4Addr::new(198, 18, 7, 100));
        assert_eq!(s.vip6(1).to_string(), "2001:2:0:7::101");
        let high = Subnet::new(511).unwrap();
        assert_eq!(high.v4(250), Ipv4Addr::new(198, 19, 255, 250));
        assert_eq!(high.v6(250).to_string(), "2001:2:0:511::250");
        assert!(Subnet::new(512).is_err());
    }

    #[test]
    fn mac_round_trip() {
        let m: Mac = "02:00:0A:ff:00:01".parse().unwrap();
        assert_eq!(m.0, [2, 0, 10, 0xff, 0, 1]);
        assert_eq!(m.to_string(), "02:00:0a:ff:00:01");
        for bad in [
            "",
            "02:00:0a:ff:00",
            "02:00:0a:ff:00:01:02",
            "2:00:0a:ff:00:01",
            "zz:00:0a:ff:00:01",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
    }
}
