//! `virtual_server IP PORT { … real_server IP PORT { … CHECKER { … } } }`:
//! what ha runs of it — the real servers' `TCP_CHECK`, `HTTP_GET`,
//! `SSL_GET` and `MISC_CHECK` checkers and their `notify_up` /
//! `notify_down` scripts (keepalived 2.2.7 `check_parser.c`, `check_api.c`,
//! `check_tcp.c`, `check_http.c`, `check_misc.c`). ha does not program IPVS:
//! the IPVS keywords of a virtual server are named in one warning.
//!
//! Each `url { … }` of an `HTTP_GET` / `SSL_GET` becomes a checker of its
//! own with the checker's settings. keepalived fetches the URLs one after
//! the other and fails the checker when one fails; a real server is up
//! while all its checkers pass, so one checker per URL behaves the same.
//!
//! `connect_timeout`, `retry` (`nb_get_retry`), `delay_before_retry` and
//! `delay_loop` written on the real server or the virtual server are the
//! defaults of its checkers, as keepalived inherits them.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use super::{
    context::Ctx,
    keywords::suggestion,
    script,
    source::Pos,
    tree::Stmt,
    values::{self, MICROS},
};
use crate::config::model::{Checker, Probe, RealServer, VirtualServer};

/// Where a virtual server and its parts were written.
pub(crate) struct PlacedVs {
    pub vs: VirtualServer,
    pub header: Pos,
    pub real_servers: Vec<PlacedRs>,
}

/// Where a real server and its parts were written.
pub(crate) struct PlacedRs {
    pub header: Pos,
    /// `notify_up` / `notify_down` lines.
    pub keys: HashMap<&'static str, Pos>,
    /// The header line of each checker (for MISC_CHECK, its `misc_path`).
    pub checkers: Vec<Pos>,
}

/// Keywords of IPVS that ha does not act on (virtual or real server).
const IPVS_KEYWORDS: &[&str] = &[
    "lb_algo",
    "lvs_sched",
    "lb_kind",
    "lvs_method",
    "hashed",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "persistence_engine",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ha_suspend",
    "virtualhost",
    "alpha",
    "omega",
    "quorum",
    "quorum_up",
    "quorum_down",
    "hysteresis",
    "weight",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "inhibit_on_failure",
    "uthreshold",
    "lthreshold",
    "ip_family",
    "warmup",
    "smtp_alert",
    "snmp_name",
];

/// Checkers keepalived has and ha does not.
const CHECKERS_LATER: &[&str] = &[
    "SMTP_CHECK",
    "DNS_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

/// Checker defaults a real server or virtual server may set.
#[derive(Clone, Copy, Default)]
struct Inherited {
    timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    delay_loop: Option<Duration>,
}

/// Reads `virtual_server …`; `None` for the forms ha does not run
/// (`fwmark`, `group`), which are warned about.
pub(crate) fn parse(ctx: &mut Ctx<'_>, stmt: &Stmt, body: &[Stmt]) -> Option<PlacedVs> {
    let head = stmt.words.join(" ");
    let (addr, port) = match stmt.args() {
        [kind, ..] if kind == "fwmark" || kind == "group" => {
            ctx.warn(
                stmt.pos,
                format!(
                    "`{head}`: fwmark and group virtual servers are IPVS only; ha does not \
                     program IPVS and ignores the block"
                ),
            );
            return None;
        }
        [a, p] => endpoint(ctx, stmt.pos, a, p, "virtual_server")?,
        _ => {
            ctx.error(stmt.pos, "`virtual_server` needs an address and a port");
            return None;
        }
    };
    let mut placed = PlacedVs {
        vs: VirtualServer {
            addr,
            port,
            delay_loop: Duration::from_secs(60),
            real_servers: Vec::new(),
        },
        header: stmt.pos,
        real_servers: Vec::new(),
    };
    let mut ipvs = Vec::new();
    let mut inherit = Inherited::default();
    let mut rs_stmts = Vec::new();
    for s in body {
        match s.keyword() {
            "real_server" => rs_stmts.push(s),
            "delay_loop" => {
                if let Some(d) = seconds(ctx, s) {
                    placed.vs.delay_loop = d;
                }
            }
            kw if common(ctx, s, kw, &mut inherit) => {}
            kw if IPVS_KEYWORDS.contains(&kw) => ipvs.push(kw.to_string()),
            kw => unknown(ctx, s, kw, "virtual_server"),
        }
    }
    for s in rs_stmts {
        let Some(body) = ctx.block(s) else { continue };
        if let Some((rs, p)) = real_server(ctx, s, body, inherit, &mut ipvs) {
            placed.vs.real_servers.push(rs);
            placed.real_servers.push(p);
        }
    }
    if !ipvs.is_empty() {
        ipvs.dedup();
        ctx.warn(
            stmt.pos,
            format!(
                "`{head}`: ha runs the real servers' checkers and notify scripts but does not \
                 program IPVS; ignored: {}",
                ipvs.join(", ")
            ),
        );
    }
    Some(placed)
}

fn real_server(
    ctx: &mut Ctx<'_>,
    stmt: &Stmt,
    body: &[Stmt],
    mut inherit: Inherited,
    ipvs: &mut Vec<String>,
) -> Option<(RealServer, PlacedRs)> {
    let (addr, port) = match stmt.args() {
        [a, p] => endpoint(ctx, stmt.pos, a, p, "real_server")?,
        _ => {
            ctx.error(stmt.pos, "`real_server` needs an address and a port");
            return None;
        }
    };
    let mut rs = RealServer {
        addr,
        port,
        notify_up: None,
        notify_down: None,
        checkers: Vec::new(),
    };
    let mut placed = PlacedRs {
        header: stmt.pos,
        keys: HashMap::new(),
        checkers: Vec::new(),
    };
    let mut checker_stmts = Vec::new();
    for s in body {
        match s.keyword() {
            kw @ ("notify_up" | "notify_down") => {
                let kw: &'static str = if kw == "notify_up" {
                    "notify_up"
                } else {
                    "notify_down"
                };
                if let Some(cmd) = script::command(ctx, s) {
                    if kw == "notify_up" {
                        rs.notify_up = Some(cmd);
                    } else {
                        rs.notify_down = Some(cmd);
                    }
                    placed.keys.insert(kw, s.pos);
                }
            }
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" => checker_stmts.push(s),
            "delay_loop" => inherit.delay_loop = seconds(ctx, s).or(inherit.delay_loop),
            kw if common(ctx, s, kw, &mut inherit) => {}
            kw if CHECKERS_LATER.contains(&kw) => ctx.warn(
                s.pos,
                format!("`{kw}` is not implemented yet; the checker is ignored"),
            ),
            kw if IPVS_KEYWORDS.contains(&kw) => ipvs.push(kw.to_string()),
            kw => unknown(ctx, s, kw, "real_server"),
        }
    }
    for s in checker_stmts {
        let Some(body) = ctx.block(s) else { continue };
        for c in checker(ctx, s, body, &rs, inherit) {
            rs.checkers.push(c);
            placed.checkers.push(s.pos);
        }
    }
    Some((rs, placed))
}

/// The keywords a virtual server, real server and checker share; true when
/// `kw` was one.
fn common(ctx: &mut Ctx<'_>, s: &Stmt, kw: &str, inherit: &mut Inherited) -> bool {
    match kw {
        "connect_timeout" => inherit.timeout = seconds(ctx, s).or(inherit.timeout),
        "retry" | "nb_get_retry" => {
            if let Some(n) = ctx.int_in(s, 0, i64::from(u32::MAX), |v| {
                format!("`{kw}` {v} is out of range")
            }) {
                inherit.retry = Some(n as u32);
            }
        }
        "delay_before_retry" => {
            inherit.delay_before_retry = seconds(ctx, s).or(inherit.delay_before_retry)
        }
        _ => return false,
    }
    true
}

const CHECKER_KEYWORDS: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "connect_timeout",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "delay_loop",
    "url",
    "misc_path",
    "misc_timeout",
    "misc_dynamic",
    "user",
];

/// Checker keywords ha reads past with a warning.
const CHECKER_LATER: &[&str] = &[
    "bind_port",
    "bind_if",
    "fwmark",
    "warmup",
    "alpha",
    "log_all_failures",
    "virtualhost",
    "http_protocol",
    "enable_sni",
    "fast_recovery",
];

/// One checker block; several for `HTTP_GET` / `SSL_GET` with several urls.
fn checker(
    ctx: &mut Ctx<'_>,
    stmt: &Stmt,
    body: &[Stmt],
    rs: &RealServer,
    mut inherit: Inherited,
) -> Vec<Checker> {
    let kind = stmt.keyword();
    let mut connect_ip: Option<IpAddr> = None;
    let mut connect_port: Option<u16> = None;
    let mut bind: Option<IpAddr> = None;
    let mut urls: Vec<(String, Vec<u16>, Option<String>)> = Vec::new();
    let mut misc: Option<crate::config::model::Command> = None;
    let mut misc_user = None;
    let mut misc_timeout: Option<Duration> = None;
    for s in body {
        let kw = s.keyword();
        match kw {
            "connect_ip" | "bindto" => {
                let Some(v) = ctx.value(s) else { continue };
                match v.parse::<IpAddr>() {
                    Ok(a) if kw == "connect_ip" => connect_ip = Some(a),
                    Ok(a) => bind = Some(a),
                    Err(_) => ctx.error(s.pos, format!("`{kw}` `{v}` is not an IP address")),
                }
            }
            "connect_port" => {
                if let Some(p) = ctx.int_in(s, 1, 65535, |v| {
                    format!("connect_port {v} is out of range: 1-65535")
                }) {
                    connect_port = Some(p as u16);
                }
            }
            "delay_loop" => inherit.delay_loop = seconds(ctx, s).or(inherit.delay_loop),
            "url" if kind == "HTTP_GET" || kind == "SSL_GET" => {
                if let Some(body) = ctx.block(s) {
                    urls.push(url(ctx, body));
                }
            }
            "misc_path" if kind == "MISC_CHECK" => misc = script::command(ctx, s),
            "misc_timeout" if kind == "MISC_CHECK" => misc_timeout = seconds(ctx, s),
            "misc_dynamic" if kind == "MISC_CHECK" => ctx.warn(
                s.pos,
                "misc_dynamic sets IPVS weights, which ha does not program; the exit \
                 status counts as pass (0) or fail (anything else)",
            ),
            "user" if kind == "MISC_CHECK" => misc_user = script::user_group(ctx, s, s.args()),
            _ if common(ctx, s, kw, &mut inherit) => {}
            _ if CHECKER_LATER.contains(&kw) || kw.starts_with("regex") => ctx.warn(
                s.pos,
                format!("`{kw}` in {kind} is not implemented yet; ignored"),
            ),
            _ => {
                let hint = suggestion(kw, &[CHECKER_KEYWORDS, CHECKER_LATER]);
                ctx.warn(
                    s.pos,
                    format!("unknown keyword `{kw}` in {kind}; ignored{hint}"),
                );
            }
        }
    }
    let addr = connect_ip.unwrap_or(rs.addr);
    let port = connect_port.unwrap_or(rs.port);
    let base = |probe: Probe, timeout: Option<Duration>| Checker {
        probe,
        timeout: timeout.unwrap_or(Duration::from_secs(5)),
        retry: inherit.retry.unwrap_or(1),
        delay_before_retry: inherit.delay_before_retry.unwrap_or(Duration::from_secs(1)),
        delay_loop: inherit.delay_loop,
    };
    match kind {
        "TCP_CHECK" => vec![base(Probe::Tcp { addr, port, bind }, inherit.timeout)],
        "MISC_CHECK" => {
            let Some(mut cmd) = misc else {
                ctx.error(stmt.pos, "MISC_CHECK has no `misc_path`");
                return Vec::new();
            };
            if let Some((u, g)) = misc_user {
                cmd.user = u;
                cmd.group = g;
            }
            // keepalived: without misc_timeout the script may run for the
            // whole delay_loop.
            let timeout = misc_timeout.or(inherit.delay_loop);
            vec![base(Probe::Script(cmd), timeout)]
        }
        _ => {
            if urls.is_empty() {
                ctx.error(stmt.pos, format!("{kind} has no `url {{ path … }}`"));
            }
            let scheme = if kind == "SSL_GET" { "https" } else { "http" };
            let host = match addr {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            };
            urls.into_iter()
                .map(|(path, status, digest)| {
                    let sep = if path.starts_with('/') { "" } else { "/" };
                    let probe = Probe::Http {
                        url: format!("{scheme}://{host}:{port}{sep}{path}"),
                        status,
                        digest,
                        insecure: kind == "SSL_GET",
                    };
                    base(probe, inherit.timeout)
                })
                .collect()
        }
    }
}

/// `url { path P; status_code N|N-M…; digest HEX }`.
fn url(ctx: &mut Ctx<'_>, body: &[Stmt]) -> (String, Vec<u16>, Option<String>) {
    let (mut path, mut status, mut digest) = (String::from("/"), Vec::new(), None);
    for s in body {
        match s.keyword() {
            "path" => {
                if let Some(v) = ctx.value(s) {
                    path = v.to_string();
                }
            }
            "digest" => {
                if let Some(v) = ctx.value(s) {
                    if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                        digest = Some(v.to_ascii_lowercase());
                    } else {
                        ctx.error(s.pos, format!("digest `{v}` is not 32 hex digits (MD5)"));
                    }
                }
            }
            "status_code" => {
                for w in s.args() {
                    let (lo, hi) = w.split_once('-').unwrap_or((w, w));
                    match (lo.parse::<u16>(), hi.parse::<u16>()) {
                        (Ok(lo), Ok(hi))
                            if (100..=599).contains(&lo) && (lo..=599).contains(&hi) =>
                        {
                            status.extend(lo..=hi)
                        }
                        _ => ctx.error(
                            s.pos,
                            format!("status_code `{w}` is not a code or range in 100-599"),
                        ),
                    }
                }
            }
            kw => ctx.warn(
                s.pos,
                format!("`{kw}` in url is not implemented yet; ignored"),
            ),
        }
    }
    (path, status, digest)
}

fn endpoint(ctx: &mut Ctx<'_>, pos: Pos, a: &str, p: &str, what: &str) -> Option<(IpAddr, u16)> {
    let Ok(addr) = a.parse::<IpAddr>() else {
        ctx.error(pos, format!("`{what}` address `{a}` is not an IP address"));
        return None;
    };
    match values::integer(p) {
        Some(n) if (0..=65535).contains(&n) => Some((addr, n as u16)),
        _ => {
            ctx.error(pos, format!("`{what}` port `{p}` is not 0-65535"));
            None
        }
    }
}

/// Decimal seconds (keepalived's timers have microsecond resolution; the
/// model keeps milliseconds, rounded).
fn seconds(ctx: &mut Ctx<'_>, s: &Stmt) -> Option<Duration> {
    let v = ctx.value(s)?;
    match values::decimal_micros(v) {
        Some(us) if us <= 86_400 * MICROS => Some(Duration::from_millis(us.div_ceil(1000))),
        _ => {
            ctx.error(
                s.pos,
                format!(
                    "`{}` `{v}` is not a number of seconds (at most a day)",
                    s.keyword()
                ),
            );
            None
        }
    }
}

fn unknown(ctx: &mut Ctx<'_>, s: &Stmt, kw: &str, block: &str) {
    let known: &[&str] = &["real_server", "delay_loop", "connect_timeout", "retry"];
    let hint = suggestion(kw, &[known, IPVS_KEYWORDS, CHECKERS_LATER]);
    ctx.warn(
        s.pos,
        format!("unknown keyword `{kw}` in {block}; ignored{hint}"),
    );
}
