//! `global_defs { … }`: the node name and the global defaults of the
//! per-instance VRRP settings (keepalived.conf(5) "Global definitions").

use super::{
    context::{Ctx, skip_advanced},
    keywords::{GLOBAL_LATER, GLOBAL_SUPPORTED, suggestion},
    script,
    source::Pos,
    tree::Stmt,
};
use std::{collections::HashMap, path::PathBuf, time::Duration};

use crate::config::{
    model::{Command, Global, NotifyFifo},
    validate,
};

use super::values::{self, MICROS};

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
    pub script_security: Option<((), Pos)>,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<((String, Option<String>), Pos)>,
    /// `notify_fifo PATH [USER [GROUP]]`.
    pub notify_fifo: Option<(Fifo, Pos)>,
    /// `vrrp_notify_fifo PATH [USER [GROUP]]`.
    pub vrrp_notify_fifo: Option<(Fifo, Pos)>,
    pub notify_fifo_script: Option<(Command, Pos)>,
    pub vrrp_notify_fifo_script: Option<(Command, Pos)>,
    /// Microseconds.
    pub garp_interval: Option<(u64, Pos)>,
    /// Microseconds.
    pub gna_interval: Option<(u64, Pos)>,
    pub skip_check_adv_addr: Option<((), Pos)>,
    /// Microseconds.
    pub startup_delay: Option<(u64, Pos)>,
}

/// A FIFO line: its path and owner.
#[derive(Debug, Clone)]
pub(crate) struct Fifo {
    pub path: String,
    pub user: Option<String>,
    pub group: Option<String>,
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
            "enable_script_security" => {
                ctx.flag(stmt);
                ctx.set(&mut g.script_security, (), stmt);
            }
            "script_user" => match stmt.args() {
                [] => ctx.error(stmt.pos, "`script_user` needs a user name"),
                args => {
                    if let Some((Some(u), grp)) = script::user_group(ctx, stmt, args) {
                        ctx.set(&mut g.script_user, (u, grp), stmt);
                    }
                }
            },
            kw @ ("notify_fifo" | "vrrp_notify_fifo") => match stmt.args() {
                [] => ctx.error(stmt.pos, format!("`{kw}` needs a path")),
                [path, rest @ ..] => {
                    if let Some((user, group)) = script::user_group(ctx, stmt, rest) {
                        let fifo = Fifo {
                            path: path.clone(),
                            user,
                            group,
                        };
                        let slot = if kw == "notify_fifo" {
                            &mut g.notify_fifo
                        } else {
                            &mut g.vrrp_notify_fifo
                        };
                        ctx.set(slot, fifo, stmt);
                    }
                }
            },
            kw @ ("notify_fifo_script" | "vrrp_notify_fifo_script") => {
                if let Some(cmd) = script::command(ctx, stmt) {
                    let slot = if kw == "notify_fifo_script" {
                        &mut g.notify_fifo_script
                    } else {
                        &mut g.vrrp_notify_fifo_script
                    };
                    ctx.set(slot, cmd, stmt);
                }
            }
            "vrrp_garp_interval" => micros(ctx, stmt, 1, &mut g.garp_interval),
            "vrrp_gna_interval" => micros(ctx, stmt, 1, &mut g.gna_interval),
            "vrrp_startup_delay" => micros(ctx, stmt, 1000, &mut g.startup_delay),
            "vrrp_skip_check_adv_addr" => {
                ctx.flag(stmt);
                ctx.set(&mut g.skip_check_adv_addr, (), stmt);
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

/// Decimal seconds to microseconds, at least `min_us` (keepalived's
/// `read_decimal_unsigned_strvec` with TIMER_HZ digits).
fn micros(ctx: &mut Ctx<'_>, stmt: &Stmt, min_us: u64, slot: &mut Option<(u64, Pos)>) {
    let Some(v) = ctx.value(stmt) else { return };
    match values::decimal_micros(v) {
        Some(us) if us >= min_us && us <= u64::from(u32::MAX) => {
            if us >= 60 * MICROS {
                ctx.warn(
                    stmt.pos,
                    format!("`{}` {v} s is very large", stmt.keyword()),
                );
            }
            ctx.set(slot, us, stmt);
        }
        _ => ctx.error(
            stmt.pos,
            format!(
                "`{}` `{v}` is not a number of seconds from {} to {}",
                stmt.keyword(),
                values::micros_text(min_us),
                values::micros_text(u64::from(u32::MAX))
            ),
        ),
    }
}

/// The node-wide settings of the model. keepalived has a FIFO for every
/// event (`notify_fifo`) and one for VRRP only (`vrrp_notify_fifo`); ha
/// writes VRRP state lines to one FIFO: the VRRP one when both are given.
pub(crate) fn resolve(ctx: &mut Ctx<'_>, g: &RawGlobal) -> Global {
    let fifo = |f: &Option<(Fifo, Pos)>, s: &Option<(Command, Pos)>| {
        f.as_ref().map(|(f, _)| NotifyFifo {
            path: PathBuf::from(&f.path),
            script: s.as_ref().map(|(c, _)| c.clone()),
            user: f.user.clone(),
            group: f.group.clone(),
        })
    };
    let all = fifo(&g.notify_fifo, &g.notify_fifo_script);
    let vrrp = fifo(&g.vrrp_notify_fifo, &g.vrrp_notify_fifo_script);
    if let (Some(_), Some((_, p))) = (&all, &g.vrrp_notify_fifo) {
        ctx.warn(
            *p,
            "ha writes one notify FIFO: vrrp_notify_fifo is used and notify_fifo ignored \
             (ha has no checker events for it)",
        );
    }
    for (fifo, script) in [
        (&g.notify_fifo, &g.notify_fifo_script),
        (&g.vrrp_notify_fifo, &g.vrrp_notify_fifo_script),
    ] {
        if let (None, Some((_, p))) = (fifo, script) {
            ctx.warn(*p, "a notify FIFO script without its FIFO is ignored");
        }
    }
    let (script_user, script_group) = match &g.script_user {
        Some(((u, grp), _)) => (Some(u.clone()), grp.clone()),
        None => (None, None),
    };
    Global {
        router_id: g.router_id.as_ref().map(|(r, _)| r.clone()),
        script_security: g.script_security.is_some(),
        script_user,
        script_group,
        notify_fifo: vrrp.or(all),
        startup_delay: g
            .startup_delay
            .map_or(Duration::ZERO, |(us, _)| Duration::from_micros(us)),
    }
}

impl RawGlobal {
    /// Lines of the settings, by the TOML key of [`Global`].
    pub(crate) fn positions(&self) -> HashMap<&'static str, Pos> {
        let mut m = HashMap::new();
        let fifo = self.vrrp_notify_fifo.as_ref().or(self.notify_fifo.as_ref());
        let script = if self.vrrp_notify_fifo.is_some() {
            &self.vrrp_notify_fifo_script
        } else {
            &self.notify_fifo_script
        };
        for (key, pos) in [
            ("router_id", self.router_id.as_ref().map(|v| v.1)),
            ("script_security", self.script_security.map(|v| v.1)),
            ("script_user", self.script_user.as_ref().map(|v| v.1)),
            ("notify_fifo", fifo.map(|v| v.1)),
            ("notify_fifo.script", script.as_ref().map(|v| v.1)),
            ("startup_delay_ms", self.startup_delay.map(|v| v.1)),
        ] {
            if let Some(p) = pos {
                m.insert(key, p);
            }
        }
        m
    }
}
