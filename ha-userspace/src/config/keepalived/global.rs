//! `global_defs { … }`: the node name and the global defaults of the
//! per-instance VRRP settings (keepalived.conf(5) "Global definitions").

use super::{
    context::{Ctx, skip_advanced},
    keywords::{GLOBAL_LATER, GLOBAL_SUPPORTED, suggestion},
    source::Pos,
    tree::Stmt,
};
use crate::config::validate;

/// What `global_defs` says; `None` leaves keepalived's default.
#[derive(Debug, Default)]
pub(crate) struct RawGlobal {
    pub router_id: Option<(String, Pos)>,
    /// `vrrp_version`: the default for instances without `version`.
    pub version: Option<(u8, Pos)>,
    pub garp_delay_s: Option<(u32, Pos)>,
    pub garp_repeat: Option<(u32, Pos)>,
    pub garp_refresh_s: Option<(u32, Pos)>,
    pub garp_refresh_repeat: Option<(u32, Pos)>,
    pub v3_checksum_as_v2: Option<(bool, Pos)>,
    pub lower_prio_no_advert: Option<(bool, Pos)>,
    pub check_unicast_src: Option<((), Pos)>,
    pub strict: Option<((), Pos)>,
}

/// Reads one `global_defs` block into `g` (several blocks accumulate).
pub(crate) fn parse(ctx: &mut Ctx<'_>, body: &[Stmt], g: &mut RawGlobal) {
    for stmt in body {
        if skip_advanced(ctx, stmt) {
            continue;
        }
        match stmt.keyword() {
            "router_id" => {
                if let Some(v) = ctx.value(stmt) {
                    ctx.set(&mut g.router_id, v.to_string(), stmt);
                }
            }
            "vrrp_version" => {
                if let Some(v) = ctx.int_in(stmt, 2, 3, validate::version_invalid) {
                    ctx.set(&mut g.version, v as u8, stmt);
                }
            }
            "vrrp_garp_master_delay" => seconds(ctx, stmt, &mut g.garp_delay_s),
            "vrrp_garp_master_repeat" => count(ctx, stmt, &mut g.garp_repeat),
            "vrrp_garp_master_refresh" => seconds(ctx, stmt, &mut g.garp_refresh_s),
            "vrrp_garp_master_refresh_repeat" => count(ctx, stmt, &mut g.garp_refresh_repeat),
            "v3_checksum_as_v2" => {
                if let Some(b) = ctx.opt_bool(stmt) {
                    ctx.set(&mut g.v3_checksum_as_v2, b, stmt);
                }
            }
            "vrrp_check_unicast_src" => {
                ctx.flag(stmt);
                ctx.set(&mut g.check_unicast_src, (), stmt);
            }
            "vrrp_strict" => {
                ctx.flag(stmt);
                ctx.set(&mut g.strict, (), stmt);
            }
            "vrrp_lower_prio_no_advert" => {
                if let Some(b) = ctx.opt_bool(stmt) {
                    ctx.set(&mut g.lower_prio_no_advert, b, stmt);
                }
            }
            kw if GLOBAL_LATER.contains(&kw) => {
                ctx.warn(
                    stmt.pos,
                    format!("global_defs `{kw}` is not implemented yet; ignored"),
                );
            }
            kw => {
                let hint = suggestion(kw, &[GLOBAL_SUPPORTED, GLOBAL_LATER]);
                ctx.warn(
                    stmt.pos,
                    format!("unknown keyword `{kw}` in global_defs; ignored{hint}"),
                );
            }
        }
    }
}

/// Whole seconds, as keepalived reads the GARP delay and refresh.
pub(crate) fn seconds(ctx: &mut Ctx<'_>, stmt: &Stmt, slot: &mut Option<(u32, Pos)>) {
    let kw = stmt.keyword().to_string();
    if let Some(v) = ctx.int_in(stmt, 0, i64::from(u32::MAX), |v| {
        format!("`{kw}` {v} is out of range (whole seconds)")
    }) {
        ctx.set(slot, v as u32, stmt);
    }
}

/// A packet count.
pub(crate) fn count(ctx: &mut Ctx<'_>, stmt: &Stmt, slot: &mut Option<(u32, Pos)>) {
    let kw = stmt.keyword().to_string();
    if let Some(v) = ctx.int_in(stmt, 0, i64::from(u32::MAX), |v| {
        format!("`{kw}` {v} is out of range (a packet count)")
    }) {
        ctx.set(slot, v as u32, stmt);
    }
}
