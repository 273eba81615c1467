//! Routes: adding and removing the `virtual_routes` a master installs with
//! its VIPs, and the `static_routes` installed at start-up.
//!
//! Like the VIPs', both operations are idempotent, because the kernel's view
//! and ours drift (a killed daemon's leftovers, an operator's hand, an
//! interface gone with its routes):
//!
//! - adding sends `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE`, so a
//!   route already there is refreshed, not refused;
//! - deleting a route that is not there (ESRCH) or whose interface is gone
//!   (ENODEV) succeeds.
//!
//! The header defaults are `ip route`'s, which keepalived follows:
//! protocol `boot`, table `main`, scope `link` for a unicast route with no
//! gateway (it is on the link) and `global` otherwise. A delete matches any
//! scope (`RT_SCOPE_NOWHERE`), as `ip route del` does.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::{
    AddressFamily, RouteNetlinkMessage,
    route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType},
};

use super::error::NetError;
use super::netlink::Netlink;
use crate::config::model::{Route, RouteKind};

/// `RTPROT_BOOT`: what `ip route add` sets when no protocol is given.
const RTPROT_BOOT: u8 = 3;
/// `RT_TABLE_MAIN`.
const RT_TABLE_MAIN: u32 = 254;
/// `RT_TABLE_COMPAT`: the header's table when the number does not fit a byte.
const RT_TABLE_COMPAT: u8 = 252;
/// `RT_SCOPE_LINK`.
const RT_SCOPE_LINK: u8 = 253;
/// `RT_SCOPE_NOWHERE`: in a delete request, "any scope".
const RT_SCOPE_NOWHERE: u8 = 255;

impl Netlink {
    /// Installs `route`, leaving through interface `oif` when given (the
    /// route's `dev`, resolved by the caller), or refreshes it if present.
    pub fn add_route(&self, route: &Route, oif: Option<u32>) -> Result<(), NetError> {
        let msg = route_message(route, oif, false);
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .map_err(|e| {
            NetError::io(
                format!("adding route {}", describe(route)),
                "CAP_NET_ADMIN",
                e,
            )
        })
    }

    /// Removes `route`; a route that is not there is not an error.
    pub fn del_route(&self, route: &Route, oif: Option<u32>) -> Result<(), NetError> {
        let msg = route_message(route, oif, true);
        match self.request(RouteNetlinkMessage::DelRoute(msg), 0) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ESRCH) | Some(libc::ENODEV)) => Ok(()),
            Err(e) => Err(NetError::io(
                format!("removing route {}", describe(route)),
                "CAP_NET_ADMIN",
                e,
            )),
        }
    }
}

/// `route` in `ip route` words, for errors and logs.
pub fn describe(route: &Route) -> String {
    let mut s = match route.kind {
        RouteKind::Unicast => String::new(),
        RouteKind::Blackhole => "blackhole ".into(),
        RouteKind::Unreachable => "unreachable ".into(),
        RouteKind::Prohibit => "prohibit ".into(),
        RouteKind::Throw => "throw ".into(),
    };
    s.push_str(&route.dest.to_string());
    if let Some(via) = route.via {
        s.push_str(&format!(" via {via}"));
    }
    if let Some(dev) = &route.dev {
        s.push_str(&format!(" dev {dev}"));
    }
    if let Some(src) = route.src {
        s.push_str(&format!(" src {src}"));
    }
    if let Some(t) = route.table {
        s.push_str(&format!(" table {t}"));
    }
    if let Some(m) = route.metric {
        s.push_str(&format!(" metric {m}"));
    }
    s
}

/// The `RTM_NEWROUTE` / `RTM_DELROUTE` body for `route`.
fn route_message(route: &Route, oif: Option<u32>, delete: bool) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = match route.dest.addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    h.destination_prefix_length = route.dest.len;
    let table = route.table.unwrap_or(RT_TABLE_MAIN);
    h.table = u8::try_from(table).unwrap_or(RT_TABLE_COMPAT);
    h.protocol = RouteProtocol::from(route.protocol.unwrap_or(RTPROT_BOOT));
    h.kind = match route.kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Throw => RouteType::Throw,
    };
    h.scope = RouteScope::from(if delete {
        RT_SCOPE_NOWHERE
    } else {
        route.scope.unwrap_or_else(|| default_scope(route))
    });
    let attrs = &mut msg.attributes;
    attrs.push(RouteAttribute::Destination(
        network(route.dest.addr, route.dest.len).into(),
    ));
    attrs.push(RouteAttribute::Table(table));
    if let Some(via) = route.via {
        attrs.push(RouteAttribute::Gateway(RouteAddress::from(via)));
    }
    if let Some(oif) = oif {
        attrs.push(RouteAttribute::Oif(oif));
    }
    if let Some(src) = route.src {
        attrs.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    if let Some(metric) = route.metric {
        attrs.push(RouteAttribute::Priority(metric));
    }
    msg
}

/// `ip route`'s scope: a unicast route without a gateway is on the link.
fn default_scope(route: &Route) -> u8 {
    if route.kind == RouteKind::Unicast && route.via.is_none() {
        RT_SCOPE_LINK
    } else {
        0
    }
}

/// `addr` with the host bits past `len` cleared: the kernel refuses a
/// destination with host bits set (EINVAL), `ip route` clears them too.
pub(crate) fn network(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_bits_are_cleared() {
        let a: IpAddr = "198.18.5.77".parse().unwrap();
        assert_eq!(network(a, 24).to_string(), "198.18.5.0");
        assert_eq!(network(a, 32), a);
        assert_eq!(network(a, 0).to_string(), "0.0.0.0");
        let b: IpAddr = "2001:2::1:2".parse().unwrap();
        assert_eq!(network(b, 64).to_string(), "2001:2::");
    }

    #[test]
    fn defaults_are_ip_routes() {
        let mut r = Route::new("198.18.9.0/24".parse().unwrap());
        let m = route_message(&r, Some(3), false);
        assert_eq!(u8::from(m.header.scope), RT_SCOPE_LINK);
        assert_eq!(m.header.table, 254);
        assert_eq!(u8::from(m.header.protocol), RTPROT_BOOT);
        assert!(m.attributes.contains(&RouteAttribute::Oif(3)));
        r.via = Some("198.18.0.1".parse().unwrap());
        r.table = Some(1000);
        let m = route_message(&r, None, true);
        assert_eq!(u8::from(m.header.scope), RT_SCOPE_NOWHERE);
        assert_eq!(m.header.table, RT_TABLE_COMPAT);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert_eq!(describe(&r), "198.18.9.0/24 via 198.18.0.1 table 1000");
    }
}
