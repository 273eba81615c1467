//! A virtual IP address, its text form `ADDR[/PREFIX]` and its serde form.
//!
//! In TOML a VIP is either that string (`"198.18.30.100/24"`) or, when it needs
//! a device or label, a table (`{ addr = "198.18.30.100", prefix_len = 24,
//! dev = "eth1" }`). Without a prefix the address is a host route, /32 or
//! /128, as keepalived does.

use std::{fmt, net::IpAddr, str::FromStr};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};

/// One virtual address (an entry of keepalived's `virtual_ipaddress`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vip {
    /// The address itself, as written (host bits kept: it is the address the
    /// master adds to the interface, not a network).
    pub addr: IpAddr,
    /// Prefix length of the address on the interface; /32 or /128 by default.
    pub prefix_len: u8,
    /// Interface to add the address to; `None` means the instance's interface.
    pub dev: Option<String>,
    /// Address label (`ip addr add … label eth0:1`), IPv4 only in the kernel.
    pub label: Option<String>,
}

impl Vip {
    /// A VIP on the instance's interface with the given prefix length.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Self {
        Vip {
            addr,
            prefix_len,
            dev: None,
            label: None,
        }
    }

    /// A host address: /32 for IPv4, /128 for IPv6 (keepalived's default when
    /// no prefix is written).
    pub fn host(addr: IpAddr) -> Self {
        Vip::new(addr, max_prefix(addr))
    }
}

/// The longest prefix of the address's family.
pub fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// Why `ADDR[/PREFIX]` did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VipParseError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    BadAddress(String),
    /// The prefix is not a number, or is longer than the family allows.
    BadPrefix {
        /// The prefix text.
        prefix: String,
        /// The longest prefix of the address's family.
        max: u8,
    },
}

impl fmt::Display for VipParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VipParseError::BadAddress(a) => write!(f, "`{a}` is not an IPv4 or IPv6 address"),
            VipParseError::BadPrefix { prefix, max } => {
                write!(
                    f,
                    "prefix length `{prefix}` is not a number from 0 to {max}"
                )
            }
        }
    }
}

impl std::error::Error for VipParseError {}

impl FromStr for Vip {
    type Err = VipParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| VipParseError::BadAddress(addr_text.to_string()))?;
        let max = max_prefix(addr);
        let prefix_len = match prefix_text {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max && !p.starts_with('+'))
                .ok_or_else(|| VipParseError::BadPrefix {
                    prefix: p.to_string(),
                    max,
                })?,
        };
        Ok(Vip::new(addr, prefix_len))
    }
}

impl fmt::Display for Vip {
    /// `ADDR/PREFIX`, without device or label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// The table form of a VIP in TOML.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VipTable {
    addr: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prefix_len: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

impl Serialize for Vip {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.dev.is_none() && self.label.is_none() {
            s.collect_str(self)
        } else {
            VipTable {
                addr: self.addr,
                prefix_len: Some(self.prefix_len),
                dev: self.dev.clone(),
                label: self.label.clone(),
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Vip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(VipVisitor)
    }
}

struct VipVisitor;

impl<'de> Visitor<'de> for VipVisitor {
    type Value = Vip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a VIP: "ADDR[/PREFIX]" or { addr, prefix_len, dev, label }"#)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vip, E> {
        v.parse()
            .map_err(|e: VipParseError| E::custom(format!("invalid VIP `{v}`: {e}")))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vip, A::Error> {
        let t = VipTable::deserialize(MapAccessDeserializer::new(map))?;
        let max = max_prefix(t.addr);
        let prefix_len = t.prefix_len.unwrap_or(max);
        if prefix_len > max {
            return Err(de::Error::custom(format!(
                "invalid VIP `{}`: prefix_len {prefix_len} is longer than {max}",
                t.addr
            )));
        }
        Ok(Vip {
            addr: t.addr,
            prefix_len,
            dev: t.dev,
            label: t.label,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_prefix() {
        let v: Vip = "198.18.30.100/24".parse().unwrap();
        assert_eq!(v, Vip::new("198.18.30.100".parse().unwrap(), 24));
        let v: Vip = "198.18.30.100".parse().unwrap();
        assert_eq!(v.prefix_len, 32);
        let v: Vip = "2001:2::1".parse().unwrap();
        assert_eq!(v.prefix_len, 128);
        let v: Vip = "2001:2::1/64".parse().unwrap();
        assert_eq!(v.prefix_len, 64);
    }

    #[test]
    fn rejects_bad_prefix_and_address() {
        assert!(matches!(
            "198.18.0.1/33".parse::<Vip>(),
            Err(VipParseError::BadPrefix { max: 32, .. })
        ));
        assert!(matches!(
            "2001:2::1/129".parse::<Vip>(),
            Err(VipParseError::BadPrefix { max: 128, .. })
        ));
        assert!(matches!(
            "198.18.0.300".parse::<Vip>(),
            Err(VipParseError::BadAddress(_))
        ));
        assert!("198.18.0.1/".parse::<Vip>().is_err());
        assert!("198.18.0.1/+8".parse::<Vip>().is_err());
    }
}
