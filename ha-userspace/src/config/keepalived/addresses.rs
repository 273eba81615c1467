//! The address lists of a `vrrp_instance`: `virtual_ipaddress`,
//! `virtual_ipaddress_excluded` and `unicast_peer`, one address per line with
//! `ip addr`-like options after it (keepalived.conf(5)).

use std::net::IpAddr;

use super::{context::Ctx, keywords::VIP_OPTIONS_LATER, source::Pos, tree::Stmt};
use crate::config::vip::{Vip, VipParseError};

/// Reads the entries of a VIP block. `block` names the keyword for messages.
pub(crate) fn vips(ctx: &mut Ctx<'_>, body: &[Stmt], block: &str) -> Vec<(Vip, Pos)> {
    body.iter().filter_map(|s| vip(ctx, s, block)).collect()
}

fn vip(ctx: &mut Ctx<'_>, stmt: &Stmt, block: &str) -> Option<(Vip, Pos)> {
    if stmt.block.is_some() {
        ctx.error(stmt.pos, format!("unexpected `{{ … }}` in `{block}`"));
        return None;
    }
    let text = stmt.keyword();
    let mut vip: Vip = match text.parse() {
        Ok(v) => v,
        Err(e) => {
            let hint = match e {
                VipParseError::BadAddress(_) => {
                    " (one address per line: ADDR[/PREFIX] [dev IF] [label L] …)"
                }
                VipParseError::BadPrefix { .. } => "",
            };
            ctx.error(
                stmt.pos,
                format!("invalid address `{text}` in `{block}`: {e}{hint}"),
            );
            return None;
        }
    };
    let mut args = stmt.args().iter();
    while let Some(opt) = args.next() {
        let opt = opt.as_str();
        match opt {
            "dev" | "label" => {
                let Some(value) = args.next() else {
                    ctx.error(stmt.pos, format!("`{opt}` needs a value after {text}"));
                    return None;
                };
                if opt == "dev" {
                    vip.dev = Some(value.clone());
                } else {
                    vip.label = Some(value.clone());
                }
            }
            _ => {
                match VIP_OPTIONS_LATER.iter().find(|(name, _)| *name == opt) {
                    Some(&(name, takes_value)) => {
                        let value = if takes_value { args.next() } else { None };
                        let shown = value.map_or(name.to_string(), |v| format!("{name} {v}"));
                        ctx.warn(
                        stmt.pos,
                        format!("address option `{shown}` is not implemented yet; ignored for {text}"),
                    );
                    }
                    None => ctx.warn(
                        stmt.pos,
                        format!("unknown address option `{opt}` for {text}; ignored"),
                    ),
                }
            }
        }
    }
    Some((vip, stmt.pos))
}

/// Reads the entries of `unicast_peer { ADDR [min_ttl N] [max_ttl N] … }`.
pub(crate) fn peers(ctx: &mut Ctx<'_>, body: &[Stmt]) -> Vec<(IpAddr, Pos)> {
    let mut out = Vec::new();
    for stmt in body {
        if stmt.block.is_some() {
            ctx.error(stmt.pos, "unexpected `{ … }` in `unicast_peer`");
            continue;
        }
        let Some(addr) = address(ctx, stmt.pos, stmt.keyword(), "unicast peer") else {
            continue;
        };
        if !stmt.args().is_empty() {
            ctx.warn(
                stmt.pos,
                format!(
                    "unicast peer options `{}` are not implemented yet; ignored",
                    stmt.args().join(" ")
                ),
            );
        }
        out.push((addr, stmt.pos));
    }
    out
}

/// A bare IPv4 or IPv6 address.
pub(crate) fn address(ctx: &mut Ctx<'_>, pos: Pos, text: &str, what: &str) -> Option<IpAddr> {
    match text.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.error(
                pos,
                format!("invalid {what} `{text}`: not an IPv4 or IPv6 address"),
            );
            None
        }
    }
}
