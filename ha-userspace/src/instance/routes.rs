//! The routes and policy rules of one instance (keepalived's
//! `virtual_routes` / `virtual_rules`): installed when it becomes master,
//! after its VIPs (a route `via` or `src` a VIP needs the address), and
//! removed when it stops being master, before its VIPs; also removed at
//! start, like VIPs a killed daemon left behind.
//!
//! A route or rule that cannot be installed is logged and counted
//! (`route_errors`), and the instance stays master: keepalived logs the
//! failure and carries on too, and the VIPs, which clients need, are in
//! place. Rules go in before routes and come out after them, as in
//! keepalived, so no packet is steered to a table that is being emptied.

use tracing::warn;

use crate::{
    config::model::{Route, Rule},
    net::{Netlink, route, rule},
};

/// An instance's routes (with the resolved output interface, if any) and rules.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    /// Each route with the index of its `dev`.
    pub routes: Vec<(Option<u32>, Route)>,
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Routes {
    /// No route and no rule.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }

    /// Installs every rule, then every route; returns how many failed
    /// (each logged with `instance`).
    pub fn install(&self, netlink: &Netlink, instance: &str) -> usize {
        let mut failed = 0;
        for r in &self.rules {
            if let Err(e) = netlink.add_rule(r) {
                warn!(instance, rule = %rule::describe(r), error = %e, "cannot add virtual rule");
                failed += 1;
            }
        }
        for (oif, r) in &self.routes {
            if let Err(e) = netlink.add_route(r, *oif) {
                warn!(instance, route = %route::describe(r), error = %e, "cannot add virtual route");
                failed += 1;
            }
        }
        failed
    }

    /// Removes every route, then every rule; returns how many failed.
    pub fn remove(&self, netlink: &Netlink, instance: &str) -> usize {
        let mut failed = 0;
        for (oif, r) in &self.routes {
            if let Err(e) = netlink.del_route(r, *oif) {
                warn!(instance, route = %route::describe(r), error = %e, "cannot remove virtual route");
                failed += 1;
            }
        }
        for r in &self.rules {
            if let Err(e) = netlink.del_rule(r) {
                warn!(instance, rule = %rule::describe(r), error = %e, "cannot remove virtual rule");
                failed += 1;
            }
        }
        failed
    }
}
