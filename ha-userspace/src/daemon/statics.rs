//! keepalived's `static_ipaddress`, `static_routes` and `static_rules`:
//! configured once when the daemon starts, whatever the state of any
//! instance, and removed when it stops.
//!
//! keepalived 2.2.7 does the same: `start_vrrp` adds them (addresses, then
//! rules, then routes) and `stop_vrrp` clears them (rules, routes, then
//! addresses) on every stop, clean or not. A failure is logged and the
//! daemon carries on, as keepalived does: these are the host's plumbing,
//! not what the VRRP election protects. They are kept across the restart
//! of the instances that follows a re-created interface; one that
//! disappeared with that interface is not added again.

use std::collections::HashMap;

use tracing::{info, warn};

use crate::{
    config::{Config, model::Route},
    net::{Netlink, route, rule},
};

/// What was installed, to remove it at stop.
pub struct Statics {
    netlink: Netlink,
    config: Config,
    /// Interface index by name, for addresses and routes naming a `dev`.
    ifindex: HashMap<String, u32>,
}

impl Statics {
    /// Installs the static addresses, rules and routes of `config`.
    pub async fn install(netlink: &Netlink, config: &Config) -> Statics {
        let mut s = Statics {
            netlink: netlink.clone(),
            config: Config {
                static_addresses: config.static_addresses.clone(),
                static_routes: config.static_routes.clone(),
                static_rules: config.static_rules.clone(),
                ..Config::default()
            },
            ifindex: HashMap::new(),
        };
        let names = s
            .config
            .static_addresses
            .iter()
            .filter_map(|a| a.dev.clone())
            .chain(s.config.static_routes.iter().filter_map(|r| r.dev.clone()))
            .collect::<Vec<_>>();
        for name in names {
            if s.ifindex.contains_key(&name) {
                continue;
            }
            match netlink.link_by_name(&name).await {
                Ok(link) => {
                    s.ifindex.insert(name, link.ifindex());
                }
                Err(e) => {
                    warn!(interface = %name, error = %e, "static address or route: no such interface")
                }
            }
        }
        let c = &s.config;
        for a in &c.static_addresses {
            let Some(dev) = &a.dev else {
                warn!(address = %a.addr, "static_ipaddress without `dev`: not configured");
                continue;
            };
            let Some(ifindex) = s.ifindex.get(dev) else {
                continue;
            };
            if let Err(e) = netlink
                .add_vip(*ifindex, a.addr, a.prefix_len, a.label.as_deref())
                .await
            {
                warn!(address = %a.addr, error = %e, "cannot add static address");
            }
        }
        for r in &c.static_rules {
            if let Err(e) = netlink.add_rule(r) {
                warn!(rule = %rule::describe(r), error = %e, "cannot add static rule");
            }
        }
        for r in &c.static_routes {
            let Some(oif) = s.oif(r) else { continue };
            if let Err(e) = netlink.add_route(r, oif) {
                warn!(route = %route::describe(r), error = %e, "cannot add static route");
            }
        }
        let n = c.static_addresses.len() + c.static_routes.len() + c.static_rules.len();
        if n > 0 {
            info!(
                addresses = c.static_addresses.len(),
                routes = c.static_routes.len(),
                rules = c.static_rules.len(),
                "static addresses, routes and rules configured"
            );
        }
        s
    }

    /// The output interface of `r`: `Some(None)` without `dev`, `None` when
    /// its `dev` does not exist (said at install).
    fn oif(&self, r: &Route) -> Option<Option<u32>> {
        match &r.dev {
            None => Some(None),
            Some(dev) => self.ifindex.get(dev).map(|i| Some(*i)),
        }
    }

    /// Removes them again, rules first, as keepalived's `stop_vrrp` does.
    pub async fn remove(self) {
        let c = &self.config;
        for r in &c.static_rules {
            if let Err(e) = self.netlink.del_rule(r) {
                warn!(rule = %rule::describe(r), error = %e, "cannot remove static rule");
            }
        }
        for r in &c.static_routes {
            let Some(oif) = self.oif(r) else { continue };
            if let Err(e) = self.netlink.del_route(r, oif) {
                warn!(route = %route::describe(r), error = %e, "cannot remove static route");
            }
        }
        for a in &c.static_addresses {
            let Some(ifindex) = a.dev.as_ref().and_then(|d| self.ifindex.get(d)) else {
                continue;
            };
            if let Err(e) = self.netlink.del_vip(*ifindex, a.addr, a.prefix_len).await {
                warn!(address = %a.addr, error = %e, "cannot remove static address");
            }
        }
    }
}
