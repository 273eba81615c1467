//! Routes and policy rules the master installs with its addresses
//! (keepalived's `virtual_routes` / `virtual_rules`) or that are always
//! present (`static_routes` / `static_rules`).
//!
//! The model covers the subset of `ip route` / `ip rule` that field configs
//! use: keepalived.conf(5) "virtual_routes" lists `[src IP] [to] DEST/LEN
//! [via GW] [dev IF] [scope S] [table N] [metric N] [protocol P]`, the
//! `blackhole|unreachable|prohibit|throw DEST` types, and for rules `from`,
//! `to`, `table`, `priority`, `iif`, `oif`, `fwmark[/mask]`. The keepalived
//! reader warns about every other option it drops.

use std::{fmt, net::IpAddr, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::vip::max_prefix;

/// A destination or source prefix: `ADDR/LEN`, or `ADDR` for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length, at most 32 (IPv4) or 128 (IPv6).
    pub len: u8,
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an address or ADDR/LEN prefix"))?;
        let max = max_prefix(addr);
        let len = match len {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("`{s}`: the prefix length must be 0-{max}")),
            },
        };
        Ok(Prefix { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The route type (`ip route add TYPE …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// A normal route.
    #[default]
    Unicast,
    /// Silently discard.
    Blackhole,
    /// Answer ICMP unreachable.
    Unreachable,
    /// Answer ICMP prohibited.
    Prohibit,
    /// Stop the lookup in this table.
    Throw,
}

impl RouteKind {
    fn is_unicast(&self) -> bool {
        *self == RouteKind::Unicast
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Where it leads.
    pub dest: Prefix,
    /// Its type; default unicast.
    #[serde(default, skip_serializing_if = "RouteKind::is_unicast")]
    pub kind: RouteKind,
    /// Gateway (`via` / `gw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Output interface; `None` for a virtual route: the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Preferred source address (`src`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// `metric` / `preference`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Routing table number (`main` is 254, `local` 255, `default` 253).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Scope number (`host` 254, `link` 253, `site` 200, `global` 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u8>,
    /// Routing protocol number (`boot` 3, `static` 4, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
}

impl Route {
    /// A unicast route to `dest` with nothing else set.
    pub fn new(dest: Prefix) -> Self {
        Route {
            dest,
            kind: RouteKind::Unicast,
            via: None,
            dev: None,
            src: None,
            metric: None,
            table: None,
            scope: None,
            protocol: None,
        }
    }
}

/// One policy rule (`ip rule add …`), action `lookup TABLE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Source prefix (`from`); `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Prefix>,
    /// Destination prefix (`to`); `None`: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Prefix>,
    /// Table to look up (`table` / `lookup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Rule priority (`priority` / `preference` / `pref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Input interface (`iif`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// Output interface (`oif`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    /// Firewall mark (`fwmark N[/MASK]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The mask of `fwmark`; `None`: all bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<u32>,
}

/// `/etc/iproute2/rt_tables` names every system has.
pub fn table_number(word: &str) -> Option<u32> {
    match word {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        w => w.parse().ok(),
    }
}

/// `/etc/iproute2/rt_scopes` names.
pub fn scope_number(word: &str) -> Option<u8> {
    match word {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        w => w.parse().ok(),
    }
}

/// `/etc/iproute2/rt_protos` names.
pub fn protocol_number(word: &str) -> Option<u8> {
    match word {
        "redirect" => Some(1),
        "kernel" => Some(2),
        "boot" => Some(3),
        "static" => Some(4),
        "keepalived" => Some(18),
        w => w.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let p: Prefix = "198.18.0.0/24".parse().unwrap();
        assert_eq!(p.to_string(), "198.18.0.0/24");
        assert_eq!("2001:2::1".parse::<Prefix>().unwrap().len, 128);
        assert!("198.18.0.0/33".parse::<Prefix>().is_err());
        assert!("nonsense".parse::<Prefix>().is_err());
        assert_eq!(table_number("main"), Some(254));
        assert_eq!(scope_number("link"), Some(253));
        assert_eq!(protocol_number("x"), None);
    }
}
