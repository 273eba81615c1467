//! `virtual_routes` / `static_routes` and `virtual_rules` / `static_rules`
//! blocks: one route or rule per line in `ip route` / `ip rule` syntax
//! (keepalived 2.2.7 `vrrp_ip_rule_route_parser.c`). The subset in
//! [`Route`] / [`Rule`] is read; any other option is dropped with a warning
//! naming it, the rest of the line still applies.

use std::net::IpAddr;

use super::{context::Ctx, source::Pos, tree::Stmt, values};
use crate::config::route::{
    Prefix, Route, RouteKind, Rule, protocol_number, scope_number, table_number,
};

/// Route options keepalived accepts that ha does not; the value says whether
/// the option takes an argument.
const ROUTE_OPTIONS_IGNORED: &[(&str, bool)] = &[
    ("tos", true),
    ("dsfield", true),
    ("realms", true),
    ("mtu", true),
    ("advmss", true),
    ("rtt", true),
    ("rttvar", true),
    ("reordering", true),
    ("window", true),
    ("cwnd", true),
    ("initcwnd", true),
    ("initrwnd", true),
    ("ssthresh", true),
    ("rto_min", true),
    ("hoplimit", true),
    ("features", true),
    ("quickack", true),
    ("congctl", true),
    ("pref", true),
    ("fastopen_no_cookie", true),
    ("ttl-propagate", true),
    ("expires", true),
    ("encap", true),
    ("nexthop", true),
    ("as", true),
    ("onlink", false),
    ("no_track", false),
    ("track_group", true),
];

/// Reads a routes block.
pub(crate) fn routes(ctx: &mut Ctx<'_>, body: &[Stmt], block: &str) -> Vec<(Route, Pos)> {
    body.iter()
        .filter_map(|s| {
            if s.block.is_some() {
                ctx.error(s.pos, format!("unexpected `{{ … }}` in `{block}`"));
                return None;
            }
            route(ctx, s, block).map(|r| (r, s.pos))
        })
        .collect()
}

fn route(ctx: &mut Ctx<'_>, stmt: &Stmt, block: &str) -> Option<Route> {
    let mut words = stmt.words.iter().map(String::as_str).peekable();
    let mut kind = RouteKind::Unicast;
    let mut dest: Option<Prefix> = None;
    let mut r = Route::new(Prefix {
        addr: IpAddr::from([0, 0, 0, 0]),
        len: 0,
    });
    let mut ignored = Vec::new();
    while let Some(w) = words.next() {
        match w {
            "blackhole" | "unreachable" | "prohibit" | "throw" if dest.is_none() => {
                kind = match w {
                    "blackhole" => RouteKind::Blackhole,
                    "unreachable" => RouteKind::Unreachable,
                    "prohibit" => RouteKind::Prohibit,
                    _ => RouteKind::Throw,
                };
            }
            "to" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                dest = Some(prefix(ctx, stmt.pos, v, block)?);
            }
            "src" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.src = Some(address(ctx, stmt.pos, v, w)?);
            }
            "via" | "gw" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.via = Some(address(ctx, stmt.pos, v, w)?);
            }
            "dev" | "oif" => r.dev = Some(need(ctx, stmt.pos, words.next(), w, block)?.to_string()),
            "metric" | "preference" | "priority" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.metric = Some(number(ctx, stmt.pos, w, v, u32::try_from)?);
            }
            "table" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.table = Some(named(ctx, stmt.pos, w, v, table_number(v))?);
            }
            "scope" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.scope = Some(named(ctx, stmt.pos, w, v, scope_number(v))?);
            }
            "proto" | "protocol" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.protocol = Some(named(ctx, stmt.pos, w, v, protocol_number(v))?);
            }
            other => match ROUTE_OPTIONS_IGNORED.iter().find(|(n, _)| *n == other) {
                Some(&(name, takes)) => {
                    let v = if takes { words.next() } else { None };
                    ignored.push(v.map_or(name.to_string(), |v| format!("{name} {v}")));
                }
                None if dest.is_none() => dest = Some(prefix(ctx, stmt.pos, other, block)?),
                None => {
                    ctx.error(
                        stmt.pos,
                        format!("unknown route option `{other}` in `{block}`"),
                    );
                    return None;
                }
            },
        }
    }
    if !ignored.is_empty() {
        ctx.warn(
            stmt.pos,
            format!(
                "route option(s) `{}` are not implemented; the route is installed without them",
                ignored.join("`, `")
            ),
        );
    }
    let Some(dest) = dest else {
        ctx.error(stmt.pos, format!("a route in `{block}` has no destination"));
        return None;
    };
    r.dest = dest;
    r.kind = kind;
    Some(r)
}

/// Reads a rules block.
pub(crate) fn rules(ctx: &mut Ctx<'_>, body: &[Stmt], block: &str) -> Vec<(Rule, Pos)> {
    body.iter()
        .filter_map(|s| {
            if s.block.is_some() {
                ctx.error(s.pos, format!("unexpected `{{ … }}` in `{block}`"));
                return None;
            }
            rule(ctx, s, block).map(|r| (r, s.pos))
        })
        .collect()
}

fn rule(ctx: &mut Ctx<'_>, stmt: &Stmt, block: &str) -> Option<Rule> {
    let mut words = stmt.words.iter().map(String::as_str);
    let mut r = Rule::default();
    let mut ignored = Vec::new();
    while let Some(w) = words.next() {
        match w {
            "from" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.from = any_or_prefix(ctx, stmt.pos, v, block)?;
            }
            "to" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.to = any_or_prefix(ctx, stmt.pos, v, block)?;
            }
            "table" | "lookup" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.table = Some(named(ctx, stmt.pos, w, v, table_number(v))?);
            }
            "priority" | "preference" | "pref" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                r.priority = Some(number(ctx, stmt.pos, w, v, u32::try_from)?);
            }
            "iif" | "dev" => r.iif = Some(need(ctx, stmt.pos, words.next(), w, block)?.to_string()),
            "oif" => r.oif = Some(need(ctx, stmt.pos, words.next(), w, block)?.to_string()),
            "fwmark" => {
                let v = need(ctx, stmt.pos, words.next(), w, block)?;
                let (mark, mask) = match v.split_once('/') {
                    Some((m, k)) => (m, Some(k)),
                    None => (v, None),
                };
                r.fwmark = Some(mark_number(ctx, stmt.pos, mark)?);
                if let Some(k) = mask {
                    r.fwmask = Some(mark_number(ctx, stmt.pos, k)?);
                }
            }
            "not" | "l3mdev" | "no_track" => ignored.push(w.to_string()),
            "tos"
            | "dsfield"
            | "realms"
            | "goto"
            | "suppress_prefixlength"
            | "suppress_ifgroup"
            | "uidrange"
            | "sport"
            | "dport"
            | "ipproto"
            | "protocol"
            | "track_group"
            | "nat"
            | "map-to" => ignored.push(words.next().map_or(w.to_string(), |v| format!("{w} {v}"))),
            "blackhole" | "unreachable" | "prohibit" | "nop" => ignored.push(w.to_string()),
            other => {
                ctx.error(
                    stmt.pos,
                    format!("unknown rule option `{other}` in `{block}`"),
                );
                return None;
            }
        }
    }
    if !ignored.is_empty() {
        ctx.warn(
            stmt.pos,
            format!(
                "rule option(s) `{}` are not implemented; the rule is installed without them",
                ignored.join("`, `")
            ),
        );
    }
    Some(r)
}

/// The value after an option, or an error that it is missing.
fn need<'w>(
    ctx: &mut Ctx<'_>,
    pos: Pos,
    v: Option<&'w str>,
    what: &str,
    block: &str,
) -> Option<&'w str> {
    if v.is_none() {
        ctx.error(pos, format!("`{what}` needs a value in `{block}`"));
    }
    v
}

fn any_or_prefix(ctx: &mut Ctx<'_>, pos: Pos, v: &str, block: &str) -> Option<Option<Prefix>> {
    if v == "all" || v == "any" {
        return Some(None);
    }
    prefix(ctx, pos, v, block).map(Some)
}

fn prefix(ctx: &mut Ctx<'_>, pos: Pos, v: &str, block: &str) -> Option<Prefix> {
    if v == "default" {
        return Some(Prefix {
            addr: IpAddr::from([0, 0, 0, 0]),
            len: 0,
        });
    }
    match v.parse() {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.error(pos, format!("in `{block}`: {e}"));
            None
        }
    }
}

fn address(ctx: &mut Ctx<'_>, pos: Pos, v: &str, what: &str) -> Option<IpAddr> {
    match v.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.error(pos, format!("`{what}` `{v}` is not an IP address"));
            None
        }
    }
}

fn number<T>(
    ctx: &mut Ctx<'_>,
    pos: Pos,
    what: &str,
    v: &str,
    conv: impl Fn(i64) -> Result<T, std::num::TryFromIntError>,
) -> Option<T> {
    match values::integer(v).map(conv) {
        Some(Ok(n)) => Some(n),
        _ => {
            ctx.error(pos, format!("`{what}` `{v}` is not a valid number"));
            None
        }
    }
}

fn named<T>(ctx: &mut Ctx<'_>, pos: Pos, what: &str, v: &str, n: Option<T>) -> Option<T> {
    if n.is_none() {
        ctx.error(
            pos,
            format!("`{what}` `{v}` is not a number or a standard name"),
        );
    }
    n
}

fn mark_number(ctx: &mut Ctx<'_>, pos: Pos, v: &str) -> Option<u32> {
    let n = match v.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    };
    if n.is_none() {
        ctx.error(pos, format!("fwmark `{v}` is not a 32-bit number"));
    }
    n
}
