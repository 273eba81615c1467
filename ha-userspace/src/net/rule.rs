//! Policy rules: adding and removing the `virtual_rules` a master installs
//! with its VIPs, and the `static_rules` installed at start-up.
//!
//! The kernel lets the same rule be added twice unless the request carries
//! `NLM_F_EXCL`, and two copies would need two deletes; so adding uses
//! `NLM_F_EXCL` and takes EEXIST as success, and deleting a rule that is
//! not there (ENOENT) succeeds: the operations are idempotent, like the
//! VIPs'. Every rule is `lookup TABLE` (`FR_ACT_TO_TBL`), the only action
//! the model has; its family is that of `from` or `to` (IPv4 without
//! either, as `ip rule` and keepalived default to).

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::{
    AddressFamily, RouteNetlinkMessage,
    rule::{RuleAction, RuleAttribute, RuleMessage},
};

use super::error::NetError;
use super::netlink::Netlink;
use super::route::network;
use crate::config::model::Rule;

/// `RT_TABLE_MAIN`.
const RT_TABLE_MAIN: u32 = 254;
/// `RT_TABLE_COMPAT`: the header's table when the number does not fit a byte.
const RT_TABLE_COMPAT: u8 = 252;

impl Netlink {
    /// Installs `rule`; one already there is left as it is.
    pub fn add_rule(&self, rule: &Rule) -> Result<(), NetError> {
        match self.request(
            RouteNetlinkMessage::NewRule(rule_message(rule)),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            Err(e) => Err(NetError::io(
                format!("adding rule {}", describe(rule)),
                "CAP_NET_ADMIN",
                e,
            )),
        }
    }

    /// Removes `rule`; a rule that is not there is not an error.
    pub fn del_rule(&self, rule: &Rule) -> Result<(), NetError> {
        match self.request(RouteNetlinkMessage::DelRule(rule_message(rule)), 0) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(NetError::io(
                format!("removing rule {}", describe(rule)),
                "CAP_NET_ADMIN",
                e,
            )),
        }
    }
}

/// `rule` in `ip rule` words, for errors and logs.
pub fn describe(rule: &Rule) -> String {
    let mut s = String::new();
    if let Some(p) = rule.priority {
        s.push_str(&format!("priority {p} "));
    }
    match &rule.from {
        Some(f) => s.push_str(&format!("from {f}")),
        None => s.push_str("from all"),
    }
    if let Some(t) = &rule.to {
        s.push_str(&format!(" to {t}"));
    }
    if let Some(m) = rule.fwmark {
        s.push_str(&format!(" fwmark {m:#x}"));
        if let Some(mask) = rule.fwmask {
            s.push_str(&format!("/{mask:#x}"));
        }
    }
    if let Some(i) = &rule.iif {
        s.push_str(&format!(" iif {i}"));
    }
    if let Some(o) = &rule.oif {
        s.push_str(&format!(" oif {o}"));
    }
    s.push_str(&format!(" lookup {}", rule.table.unwrap_or(RT_TABLE_MAIN)));
    s
}

/// The `RTM_NEWRULE` / `RTM_DELRULE` body for `rule`.
fn rule_message(rule: &Rule) -> RuleMessage {
    let mut msg = RuleMessage::default();
    let ipv6 = rule
        .from
        .or(rule.to)
        .is_some_and(|p| matches!(p.addr, IpAddr::V6(_)));
    msg.header.family = if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let table = rule.table.unwrap_or(RT_TABLE_MAIN);
    msg.header.table = u8::try_from(table).unwrap_or(RT_TABLE_COMPAT);
    msg.header.action = RuleAction::ToTable;
    let attrs = &mut msg.attributes;
    attrs.push(RuleAttribute::Table(table));
    if let Some(from) = rule.from {
        msg.header.src_len = from.len;
        attrs.push(RuleAttribute::Source(network(from.addr, from.len)));
    }
    if let Some(to) = rule.to {
        msg.header.dst_len = to.len;
        attrs.push(RuleAttribute::Destination(network(to.addr, to.len)));
    }
    if let Some(p) = rule.priority {
        attrs.push(RuleAttribute::Priority(p));
    }
    if let Some(iif) = &rule.iif {
        attrs.push(RuleAttribute::Iifname(iif.clone()));
    }
    if let Some(oif) = &rule.oif {
        attrs.push(RuleAttribute::Oifname(oif.clone()));
    }
    if let Some(mark) = rule.fwmark {
        attrs.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = rule.fwmask {
            attrs.push(RuleAttribute::FwMask(mask));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_and_prefix_lengths() {
        let rule = Rule {
            from: Some("198.18.3.100".parse().unwrap()),
            table: Some(100),
            ..Rule::default()
        };
        let m = rule_message(&rule);
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.header.src_len, 32);
        assert_eq!(m.header.table, 100);
        assert_eq!(describe(&rule), "from 198.18.3.100/32 lookup 100");
        let v6 = Rule {
            to: Some("2001:2::/64".parse().unwrap()),
            ..Rule::default()
        };
        assert_eq!(rule_message(&v6).header.family, AddressFamily::Inet6);
    }
}
