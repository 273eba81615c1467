//! `vrrp_instance NAME { … }`: reading its keywords, then resolving them with
//! the global defaults into an [`Instance`] the way keepalived does
//! (keepalived.conf(5) "VRRP instance(s)"; behaviour checked against
//! keepalived 2.2.7's `-t` and `-d` output).

use std::{collections::HashMap, net::IpAddr, time::Duration};

use super::{
    addresses,
    context::{Ctx, skip_advanced},
    global::{self, RawGlobal},
    keywords::{INSTANCE_LATER, INSTANCE_SUPPORTED, suggestion},
    routes, script,
    source::Pos,
    track::{self, RawTracks},
    tree::Stmt,
    values::{self, MICROS, micros_text},
};
use crate::config::{
    model::{Auth, Garp, Instance, Notify, Route, Rule, TrackKind, Vmac},
    validate::{self, Field, MAX_ADVERT_INT_V2_S, MAX_ADVERT_INT_V3_CS},
    vip::Vip,
};

/// `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthType {
    Pass,
    Ah,
}

/// Everything a `vrrp_instance` block says, with where it says it; `None`
/// means not given (global default or keepalived's default applies). No
/// `Debug`: it holds the password.
#[derive(Default)]
pub(crate) struct RawInstance {
    pub name: String,
    pub pos: Pos,
    pub state_master: Option<(bool, Pos)>,
    pub interface: Option<(String, Pos)>,
    pub vrid: Option<(u8, Pos)>,
    /// `virtual_router_id` was written, even if its value was refused.
    pub vrid_seen: bool,
    pub version: Option<(u8, Pos)>,
    pub priority: Option<(u8, Pos)>,
    /// Microseconds.
    pub advert_int: Option<(u64, Pos)>,
    pub nopreempt: Option<((), Pos)>,
    /// Microseconds.
    pub preempt_delay: Option<(u64, Pos)>,
    pub auth_block: Option<Pos>,
    pub auth_type: Option<(AuthType, Pos)>,
    pub auth_pass: Option<(String, Pos)>,
    pub vips: Vec<(Vip, Pos)>,
    pub excluded: Vec<(Vip, Pos)>,
    pub unicast_src: Option<(IpAddr, Pos)>,
    pub peers: Vec<(IpAddr, Pos)>,
    pub garp_delay_s: Option<(u32, Pos)>,
    pub garp_repeat: Option<(u32, Pos)>,
    pub garp_refresh_s: Option<(u32, Pos)>,
    pub garp_refresh_repeat: Option<(u32, Pos)>,
    pub lower_prio_no_advert: Option<(bool, Pos)>,
    pub v3_checksum_as_v2: Option<(bool, Pos)>,
    pub check_unicast_src: Option<((), Pos)>,
    pub strict: Option<(bool, Pos)>,
    pub tracks: RawTracks,
    pub notify: Notify,
    pub notify_keys: HashMap<&'static str, Pos>,
    pub skip_check_adv_addr: Option<(bool, Pos)>,
    pub dont_track_primary: Option<((), Pos)>,
    /// `use_vmac [NAME]`.
    pub vmac: Option<(Option<String>, Pos)>,
    pub vmac_xmit_base: Option<((), Pos)>,
    pub virtual_routes: Vec<(Route, Pos)>,
    pub virtual_rules: Vec<(Rule, Pos)>,
}

/// The names declared at the top level, which track blocks may name.
pub(crate) trait Declared {
    /// Whether a check, file or process of this kind and name exists
    /// (any interface name does).
    fn has(&self, kind: TrackKind, name: &str) -> bool;
}

/// Reads the statements of one instance block.
pub(crate) fn parse(ctx: &mut Ctx<'_>, name: String, pos: Pos, body: &[Stmt]) -> RawInstance {
    let mut r = RawInstance {
        name,
        pos,
        ..RawInstance::default()
    };
    for stmt in body {
        if !skip_advanced(ctx, stmt) {
            keyword(ctx, stmt, &mut r);
        }
    }
    r
}

fn keyword(ctx: &mut Ctx<'_>, stmt: &Stmt, r: &mut RawInstance) {
    match stmt.keyword() {
        "state" => {
            if let Some(v) = ctx.value(stmt) {
                match v {
                    "MASTER" => ctx.set(&mut r.state_master, true, stmt),
                    "BACKUP" => ctx.set(&mut r.state_master, false, stmt),
                    _ => ctx.error(
                        stmt.pos,
                        format!("unknown state `{v}`: must be MASTER or BACKUP"),
                    ),
                }
            }
        }
        "interface" => {
            if let Some(v) = ctx.value(stmt) {
                ctx.set(&mut r.interface, v.to_string(), stmt);
            }
        }
        "virtual_router_id" => {
            r.vrid_seen = true;
            if let Some(v) = ctx.int_in(stmt, 1, 255, validate::vrid_out_of_range) {
                ctx.set(&mut r.vrid, v as u8, stmt);
            }
        }
        "priority" => {
            if let Some(v) = ctx.int_in(stmt, 1, 255, validate::priority_out_of_range) {
                ctx.set(&mut r.priority, v as u8, stmt);
            }
        }
        "version" => {
            if let Some(v) = ctx.int_in(stmt, 2, 3, validate::version_invalid) {
                ctx.set(&mut r.version, v as u8, stmt);
            }
        }
        "advert_int" => advert_int(ctx, stmt, r),
        "nopreempt" | "no_preempt" => {
            ctx.flag(stmt);
            ctx.set(&mut r.nopreempt, (), stmt);
        }
        // The default; kept by keepalived for old configs.
        "preempt" => ctx.flag(stmt),
        "preempt_delay" => preempt_delay(ctx, stmt, r),
        "authentication" => authentication(ctx, stmt, r),
        "virtual_ipaddress" => {
            if let Some(body) = ctx.block(stmt) {
                r.vips
                    .extend(addresses::vips(ctx, body, "virtual_ipaddress"));
            }
        }
        "virtual_ipaddress_excluded" => {
            if let Some(body) = ctx.block(stmt) {
                r.excluded
                    .extend(addresses::vips(ctx, body, "virtual_ipaddress_excluded"));
            }
        }
        kw @ ("unicast_src_ip" | "mcast_src_ip") => {
            if let Some(v) = ctx.value(stmt)
                && let Some(a) = addresses::address(ctx, stmt.pos, v, kw)
            {
                ctx.set(&mut r.unicast_src, a, stmt);
            }
        }
        "unicast_peer" => {
            if let Some(body) = ctx.block(stmt) {
                r.peers.extend(addresses::peers(ctx, body));
            }
        }
        "garp_master_delay" => global::seconds(ctx, stmt, &mut r.garp_delay_s),
        "garp_master_repeat" => global::count(ctx, stmt, &mut r.garp_repeat),
        "garp_master_refresh" => global::seconds(ctx, stmt, &mut r.garp_refresh_s),
        "garp_master_refresh_repeat" => global::count(ctx, stmt, &mut r.garp_refresh_repeat),
        "lower_prio_no_advert" => {
            if let Some(b) = ctx.opt_bool(stmt) {
                ctx.set(&mut r.lower_prio_no_advert, b, stmt);
            }
        }
        "v3_checksum_as_v2" => {
            if let Some(b) = ctx.opt_bool(stmt) {
                ctx.set(&mut r.v3_checksum_as_v2, b, stmt);
            }
        }
        "check_unicast_src" => {
            ctx.flag(stmt);
            ctx.set(&mut r.check_unicast_src, (), stmt);
        }
        "strict_mode" => {
            if let Some(b) = ctx.opt_bool(stmt) {
                ctx.set(&mut r.strict, b, stmt);
            }
        }
        "track_script" | "track_interface" | "track_file" | "track_process" => {
            let owner = r.name.clone();
            track::track_block(ctx, stmt, &owner, &mut r.tracks);
        }
        kw if script::NOTIFY_KEYWORDS.iter().any(|(k, _)| *k == kw) => {
            script::notify_keyword(ctx, stmt, &mut r.notify, &mut r.notify_keys);
        }
        "skip_check_adv_addr" => {
            if let Some(b) = ctx.opt_bool(stmt) {
                ctx.set(&mut r.skip_check_adv_addr, b, stmt);
            }
        }
        "dont_track_primary" => {
            ctx.flag(stmt);
            ctx.set(&mut r.dont_track_primary, (), stmt);
        }
        "use_vmac" => {
            let name = match stmt.args() {
                [] => None,
                [n] => Some(n.clone()),
                [n, rest @ ..] => {
                    ctx.warn(
                        stmt.pos,
                        format!(
                            "extra words after `use_vmac {n}` are ignored: `{}`",
                            rest.join(" ")
                        ),
                    );
                    Some(n.clone())
                }
            };
            ctx.set(&mut r.vmac, name, stmt);
        }
        "vmac_xmit_base" => {
            ctx.flag(stmt);
            ctx.set(&mut r.vmac_xmit_base, (), stmt);
        }
        "virtual_routes" => {
            if let Some(body) = ctx.block(stmt) {
                r.virtual_routes
                    .extend(routes::routes(ctx, body, "virtual_routes"));
            }
        }
        "virtual_rules" => {
            if let Some(body) = ctx.block(stmt) {
                r.virtual_rules
                    .extend(routes::rules(ctx, body, "virtual_rules"));
            }
        }
        kw if INSTANCE_LATER.contains(&kw) => {
            ctx.warn(
                stmt.pos,
                format!(
                    "`{kw}` is not implemented yet; ignored (vrrp_instance {})",
                    r.name
                ),
            );
        }
        kw => {
            let hint = suggestion(kw, &[INSTANCE_SUPPORTED, INSTANCE_LATER]);
            ctx.warn(
                stmt.pos,
                format!(
                    "unknown keyword `{kw}` in vrrp_instance {}; ignored{hint}",
                    r.name
                ),
            );
        }
    }
}

/// keepalived reads any interval from 0.01 s to 255 s here and fits it to
/// the version once the instance is complete.
fn advert_int(ctx: &mut Ctx<'_>, stmt: &Stmt, r: &mut RawInstance) {
    let Some(v) = ctx.value(stmt) else { return };
    match values::decimal_micros(v) {
        Some(us) if (MICROS / 100..=u64::from(MAX_ADVERT_INT_V2_S) * MICROS).contains(&us) => {
            ctx.set(&mut r.advert_int, us, stmt);
        }
        Some(_) => ctx.error(
            stmt.pos,
            format!(
                "advert_int {v} is out of range: 0.01 s to 40.95 s for VRRPv3, \
                 1 s to 255 s for VRRPv2"
            ),
        ),
        None => ctx.error(
            stmt.pos,
            format!("advert_int `{v}` is not a number of seconds"),
        ),
    }
}

fn preempt_delay(ctx: &mut Ctx<'_>, stmt: &Stmt, r: &mut RawInstance) {
    let Some(v) = ctx.value(stmt) else { return };
    match values::decimal_micros(v) {
        Some(us) if us <= 1000 * MICROS => ctx.set(&mut r.preempt_delay, us, stmt),
        Some(_) => ctx.error(
            stmt.pos,
            format!("preempt_delay {v} is out of range: 0 to 1000 seconds"),
        ),
        None => ctx.error(
            stmt.pos,
            format!("preempt_delay `{v}` is not a number of seconds"),
        ),
    }
}

/// `authentication { auth_type PASS|AH; auth_pass SECRET }`.
fn authentication(ctx: &mut Ctx<'_>, stmt: &Stmt, r: &mut RawInstance) {
    let Some(body) = ctx.block(stmt) else { return };
    r.auth_block = Some(stmt.pos);
    for s in body {
        match s.keyword() {
            "auth_type" => match ctx.value(s) {
                Some("PASS") => ctx.set(&mut r.auth_type, AuthType::Pass, s),
                Some("AH") => ctx.set(&mut r.auth_type, AuthType::Ah, s),
                Some(v) => ctx.error(
                    s.pos,
                    format!("unknown auth_type `{v}`: must be PASS or AH"),
                ),
                None => {}
            },
            "auth_pass" => {
                if let Some(v) = ctx.value(s) {
                    let pass = truncate_password(ctx, s.pos, v);
                    ctx.set(&mut r.auth_pass, pass, s);
                }
            }
            kw => {
                let hint = suggestion(kw, &[&["auth_type", "auth_pass"]]);
                ctx.warn(
                    s.pos,
                    format!("unknown keyword `{kw}` in authentication; ignored{hint}"),
                );
            }
        }
    }
}

/// keepalived uses the first 8 characters of the password ("Truncating
/// auth_pass to 8 characters"); the wire field is 8 bytes.
fn truncate_password(ctx: &mut Ctx<'_>, pos: Pos, v: &str) -> String {
    if v.len() <= 8 {
        return v.to_string();
    }
    let mut end = 8;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    let kept = &v[..end];
    // Never the password itself, not even its kept part: warnings end up in
    // logs.
    ctx.warn(
        pos,
        format!(
            "auth_pass is {} bytes; only the first {end} are used, as in keepalived",
            v.len()
        ),
    );
    kept.to_string()
}

/// Where each field of a resolved instance was written.
#[derive(Debug, Default)]
pub(crate) struct InstanceMap {
    pub header: Pos,
    pub fields: HashMap<Field, Pos>,
}

/// Applies the global and keepalived defaults and keepalived's fix-ups (with
/// a warning for each): an IPv6 instance without `version` runs v3, a VRRPv2
/// interval is rounded to whole seconds and a v3 one to centiseconds,
/// authentication is dropped from v3, `nopreempt` is cleared with `state
/// MASTER`. Returns `None` when the VRID is missing or was refused.
pub(crate) fn resolve(
    ctx: &mut Ctx<'_>,
    r: RawInstance,
    g: &RawGlobal,
    declared: &dyn Declared,
) -> Option<(Instance, InstanceMap)> {
    let mut map = InstanceMap {
        header: r.pos,
        fields: HashMap::new(),
    };
    let mut note = |field: Field, pos: Option<Pos>| {
        if let Some(p) = pos {
            map.fields.insert(field, p);
        }
    };
    let Some((vrid, vrid_pos)) = r.vrid else {
        if !r.vrid_seen {
            ctx.error(
                r.pos,
                format!("vrrp_instance {} has no virtual_router_id (1-255)", r.name),
            );
        }
        return None;
    };
    note(Field::Vrid, Some(vrid_pos));
    let mut inst = Instance::new(r.name.clone(), vrid);
    note(Field::Name, Some(r.pos));

    inst.interface = r.interface.as_ref().map(|(i, _)| i.clone());
    note(Field::Interface, r.interface.as_ref().map(|p| p.1));
    if let Some((m, p)) = r.state_master {
        inst.initial_state_master = m;
        note(Field::InitialState, Some(p));
    }
    if let Some((p, at)) = r.priority {
        inst.priority = p;
        note(Field::Priority, Some(at));
    }
    for (i, (_, p)) in r.vips.iter().enumerate() {
        note(Field::Vip(i), Some(*p));
    }
    for (i, (_, p)) in r.excluded.iter().enumerate() {
        note(Field::ExcludedVip(i), Some(*p));
    }
    for (i, (_, p)) in r.peers.iter().enumerate() {
        note(Field::UnicastPeer(i), Some(*p));
    }
    inst.vips = r.vips.into_iter().map(|(v, _)| v).collect();
    inst.excluded_vips = r.excluded.into_iter().map(|(v, _)| v).collect();
    inst.unicast_peers = r.peers.into_iter().map(|(a, _)| a).collect();
    inst.unicast_src = r.unicast_src.map(|(a, _)| a);
    note(Field::UnicastSrc, r.unicast_src.map(|(_, p)| p));

    // Version: the instance's, else global vrrp_version, else 2 — but an IPv6
    // instance without its own `version` always runs 3 (keepalived 2.2.7 keeps
    // an explicit `version 2`, which validate refuses: v2 is IPv4 only).
    inst.version = match (r.version, g.version) {
        (Some((v, p)), _) => {
            note(Field::Version, Some(p));
            v
        }
        (None, _) if inst.is_ipv6() => 3,
        (None, Some((v, _))) => v,
        (None, None) => inst.version,
    };

    if let Some((us, p)) = r.advert_int {
        note(Field::AdvertInt, Some(p));
        inst.advert_int_cs = fit_advert_int(ctx, us, p, inst.version);
    }

    inst.preempt = r.nopreempt.is_none();
    note(Field::Preempt, r.nopreempt.map(|(_, p)| p));
    if let Some((_, p)) = r.nopreempt
        && inst.initial_state_master
    {
        ctx.warn(
            p,
            "nopreempt has no effect with state MASTER; cleared, as keepalived does \
             (use state BACKUP on every node for nopreempt)",
        );
        inst.preempt = true;
    }
    if let Some((us, p)) = r.preempt_delay {
        // The model keeps milliseconds; finer delays mean nothing next to an
        // advert interval of at least 10 ms.
        let ms = (us + 500) / 1000;
        if !us.is_multiple_of(1000) {
            ctx.warn(
                p,
                format!("preempt_delay {} s rounded to {ms} ms", micros_text(us)),
            );
        }
        inst.preempt_delay = Duration::from_millis(ms);
        note(Field::PreemptDelay, Some(p));
    }

    let auth_pos = r.auth_block.or(r.auth_type.map(|(_, p)| p));
    note(Field::Auth, auth_pos);
    inst.auth = resolve_auth(ctx, &r.auth_type, r.auth_pass, inst.version, auth_pos);

    let pick = |own: Option<(u32, Pos)>, global: Option<(u32, Pos)>| own.or(global).map(|v| v.0);
    let d = Garp::default();
    inst.garp = Garp {
        master_delay: pick(r.garp_delay_s, g.garp_delay_s)
            .map_or(d.master_delay, |s| Duration::from_secs(s.into())),
        master_repeat: pick(r.garp_repeat, g.garp_repeat).unwrap_or(d.master_repeat),
        master_refresh: pick(r.garp_refresh_s, g.garp_refresh_s)
            .map_or(d.master_refresh, |s| Duration::from_secs(s.into())),
        master_refresh_repeat: pick(r.garp_refresh_repeat, g.garp_refresh_repeat)
            .unwrap_or(d.master_refresh_repeat),
        interval: g
            .garp_interval
            .map_or(Duration::ZERO, |(us, _)| Duration::from_micros(us)),
        na_interval: g
            .gna_interval
            .map_or(Duration::ZERO, |(us, _)| Duration::from_micros(us)),
    };
    let flag =
        |own: Option<(bool, Pos)>, global: Option<(bool, Pos)>| own.or(global).is_some_and(|v| v.0);
    // keepalived: strict mode defaults lower_prio_no_advert to true.
    inst.strict = match r.strict {
        Some((b, _)) => b,
        None => g.strict.is_some(),
    };
    inst.lower_prio_readvert = match r.lower_prio_no_advert.or(g.lower_prio_no_advert) {
        Some((no_advert, _)) => !no_advert,
        None => !inst.strict,
    };
    if let Some((_, p)) = r.check_unicast_src.or(g.check_unicast_src) {
        if inst.unicast_peers.is_empty() {
            ctx.warn(
                p,
                format!(
                    "check_unicast_src without unicast_peer has no effect (vrrp_instance {})",
                    inst.name
                ),
            );
        } else {
            inst.accept_from = inst.unicast_peers.clone();
        }
    }
    inst.v3_checksum_with_pseudo_header = !flag(r.v3_checksum_as_v2, g.v3_checksum_as_v2);
    inst.skip_check_adv_addr = match r.skip_check_adv_addr {
        Some((b, _)) => b,
        None => g.skip_check_adv_addr.is_some(),
    };
    inst.dont_track_primary = r.dont_track_primary.is_some();
    if let Some((name, p)) = r.vmac {
        inst.vmac = Some(Vmac {
            name,
            xmit_base: r.vmac_xmit_base.is_some(),
        });
        map.fields.insert(Field::Vmac, p);
    } else if let Some((_, p)) = r.vmac_xmit_base {
        ctx.warn(p, "vmac_xmit_base without use_vmac has no effect");
    }
    for (i, (route, p)) in r.virtual_routes.into_iter().enumerate() {
        inst.virtual_routes.push(route);
        map.fields.insert(Field::VirtualRoute(i), p);
    }
    for (i, (rule, p)) in r.virtual_rules.into_iter().enumerate() {
        inst.virtual_rules.push(rule);
        map.fields.insert(Field::VirtualRule(i), p);
    }
    for (key, p) in &r.notify_keys {
        map.fields.insert(Field::Notify(key), *p);
    }
    inst.notify = r.notify;
    for (kind, t, p) in r.tracks.0 {
        if kind != TrackKind::Interface && !declared.has(kind, &t.name) {
            ctx.warn(
                p,
                format!(
                    "({}) {} {} is not declared; ignored, as keepalived does",
                    inst.name,
                    kind.keyword(),
                    t.name
                ),
            );
            continue;
        }
        let list = kind.list_mut(&mut inst.track);
        map.fields.insert(Field::Track(kind, list.len()), p);
        list.push(t);
    }
    Some((inst, map))
}

/// Fits an interval to the version's unit: VRRPv2 whole seconds (rounded
/// half up, at least 1, as keepalived does with "must be an integer.
/// rounding"), VRRPv3 centiseconds (rounded half up, at least 1) and at most
/// 40.95 s (keepalived clamps; ha refuses, since the clamped interval would
/// not match the peers').
fn fit_advert_int(ctx: &mut Ctx<'_>, us: u64, pos: Pos, version: u8) -> u16 {
    if version == 2 {
        let secs = ((us + MICROS / 2) / MICROS).max(1);
        if !us.is_multiple_of(MICROS) {
            ctx.warn(
                pos,
                format!(
                    "advert_int {} s is not a whole number of seconds, which VRRPv2 requires; \
                     rounded to {secs} s, as keepalived does (use version 3 for sub-second adverts)",
                    micros_text(us)
                ),
            );
        }
        // At most 255 s, checked when the value was read.
        return (secs * 100) as u16;
    }
    let cs_unit = MICROS / 100;
    let cs = ((us + cs_unit / 2) / cs_unit).max(1);
    if cs > u64::from(MAX_ADVERT_INT_V3_CS) {
        ctx.error(
            pos,
            validate::advert_int_v3_out_of_range(&format!("{} s", micros_text(us))),
        );
        return MAX_ADVERT_INT_V3_CS;
    }
    if !us.is_multiple_of(cs_unit) {
        ctx.warn(
            pos,
            format!(
                "advert_int {} s is not a whole number of centiseconds, the VRRPv3 unit; \
                 rounded to {}, as keepalived does",
                micros_text(us),
                validate::secs_cs(cs as u16)
            ),
        );
    }
    cs as u16
}

/// keepalived: `auth_pass` without `auth_type` turns authentication off with
/// a warning, and VRRPv3 ignores authentication. ha cannot do IPsec AH, and
/// refuses `auth_type PASS` without a password.
fn resolve_auth(
    ctx: &mut Ctx<'_>,
    auth_type: &Option<(AuthType, Pos)>,
    auth_pass: Option<(String, Pos)>,
    version: u8,
    at: Option<Pos>,
) -> Auth {
    let auth = match (auth_type, auth_pass) {
        (None, None) => return Auth::None,
        (None, Some((_, p))) => {
            ctx.warn(
                p,
                "auth_pass without auth_type: authentication is off, as in keepalived",
            );
            return Auth::None;
        }
        (Some((AuthType::Ah, p)), _) => {
            ctx.error(
                *p,
                "auth_type AH (IPsec AH) is not supported; use auth_type PASS or \
                 remove the authentication block",
            );
            return Auth::None;
        }
        // keepalived turns authentication off with a warning; the peers,
        // configured with the password this file forgot, would then drop every
        // advert of ours and both sides become master.
        (Some((AuthType::Pass, p)), None) => {
            ctx.error(
                *p,
                "auth_type PASS needs an auth_pass (1-8 characters) in the same \
                 authentication block",
            );
            return Auth::None;
        }
        (Some((AuthType::Pass, _)), Some((password, _))) => Auth::Pass { password },
    };
    if version == 3 {
        if let Some(p) = at {
            ctx.warn(
                p,
                "VRRPv3 has no authentication; the authentication block is ignored, \
                 as keepalived does",
            );
        }
        return Auth::None;
    }
    auth
}
