//! What instances follow: the declarations `vrrp_script`, `track_file`
//! (`vrrp_track_file`) and `vrrp_track_process`, and the `track_script`,
//! `track_interface`, `track_file`, `track_process` blocks of an instance or
//! sync group that name them (keepalived 2.2.7 `vrrp_parser.c`,
//! `trackers/track_file.c`, `vrrp_track.c`).

use std::{collections::HashMap, time::Duration};

/// The longest `vrrp_script` interval or timeout keepalived takes (its
/// timers count microseconds in 32 bits).
const MAX_SECONDS: u64 = u32::MAX as u64 / 1_000_000;

use super::{
    context::Ctx,
    keywords::suggestion,
    script,
    source::Pos,
    tree::Stmt,
    values::{self, MICROS},
};
use crate::config::model::{
    Check, Command, ParamMatch, Probe, TrackFile, TrackKind, TrackProcess, TrackRef,
};

/// A declaration with where it and its keys were written (keys are the
/// TOML keys of the model, so both readers locate the same sites).
pub(crate) struct Placed<T> {
    pub value: T,
    pub header: Pos,
    pub keys: HashMap<&'static str, Pos>,
}

impl<T> Placed<T> {
    fn new(value: T, header: Pos) -> Self {
        Placed {
            value,
            header,
            keys: HashMap::new(),
        }
    }
}

/// keepalived's weight range of a script and of a track reference.
pub(crate) const MAX_WEIGHT: i64 = 253;
/// keepalived's weight range of a track_file or track_process.
pub(crate) const MAX_OBJECT_WEIGHT: i64 = 254;

const SCRIPT_KEYWORDS: &[&str] = &[
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    "init_fail",
];

/// `vrrp_script NAME { … }`. keepalived's defaults: interval 1 s, timeout
/// unset (the interval), rise 1, fall 1, weight 0.
pub(crate) fn vrrp_script(
    ctx: &mut Ctx<'_>,
    name: String,
    pos: Pos,
    body: &[Stmt],
) -> Option<Placed<Check>> {
    let mut cmd: Option<Command> = None;
    let mut user: Option<(Option<String>, Option<String>)> = None;
    let mut c = Placed::new(
        Check {
            name,
            probe: Probe::Script(Command::new(Vec::<String>::new())),
            interval: Duration::from_secs(1),
            timeout: None,
            rise: 1,
            fall: 1,
            weight: 0,
            reverse: false,
            init_fail: false,
        },
        pos,
    );
    for s in body {
        let at = s.pos;
        match s.keyword() {
            "script" => {
                if let Some(command) = script::command(ctx, s) {
                    cmd = Some(command);
                    c.keys.insert("probe", at);
                }
            }
            "interval" | "timeout" => {
                let kw = s.keyword();
                let Some(v) = ctx.value(s) else {
                    continue;
                };
                // keepalived 2.2.7 reads whole seconds; ha also takes decimal
                // ones (sub-second checks), and says the file then needs ha.
                let Some(us) =
                    values::decimal_micros(v).filter(|us| *us <= MAX_SECONDS * 1_000_000)
                else {
                    ctx.error(
                        at,
                        format!("vrrp_script `{kw}` `{v}` is not a number of seconds (1 to {MAX_SECONDS})"),
                    );
                    continue;
                };
                let ms = if us == 0 {
                    ctx.warn(
                        at,
                        format!("vrrp_script `{kw}` 0 is taken as 1 s, as keepalived does"),
                    );
                    1000
                } else {
                    us.div_ceil(1000)
                };
                if us % 1_000_000 != 0 {
                    ctx.warn(
                        at,
                        format!(
                            "vrrp_script `{kw}` {v}: keepalived 2.2.7 takes whole seconds only (it would ignore this line); ha runs it every {ms} ms"
                        ),
                    );
                }
                if kw == "interval" {
                    c.value.interval = Duration::from_millis(ms);
                    c.keys.insert("interval_ms", at);
                } else {
                    c.value.timeout = Some(Duration::from_millis(ms));
                    c.keys.insert("timeout_ms", at);
                }
            }
            "weight" => {
                if let Some((w, reverse)) = weight(ctx, s, MAX_WEIGHT) {
                    c.value.weight = w;
                    c.value.reverse = reverse;
                    c.keys.insert("weight", at);
                }
            }
            "rise" | "fall" => {
                let kw = s.keyword();
                if let Some(n) = ctx.int_in(s, 1, i64::from(i32::MAX), |v| {
                    format!("vrrp_script `{kw}` {v} is out of range: at least 1")
                }) {
                    if kw == "rise" {
                        c.value.rise = n as u32;
                        c.keys.insert("rise", at);
                    } else {
                        c.value.fall = n as u32;
                        c.keys.insert("fall", at);
                    }
                }
            }
            "user" => {
                if s.args().is_empty() {
                    ctx.error(at, "`user` needs a user name");
                } else if let Some(ug) = script::user_group(ctx, s, s.args()) {
                    user = Some(ug);
                }
            }
            "init_fail" => {
                ctx.flag(s);
                c.value.init_fail = true;
                c.keys.insert("init_fail", at);
            }
            kw => unknown(ctx, s, kw, "vrrp_script", SCRIPT_KEYWORDS),
        }
    }
    let Some(mut cmd) = cmd else {
        ctx.error(pos, format!("vrrp_script {} has no `script`", c.value.name));
        return None;
    };
    // `user` sets who runs it whatever the order of the two lines.
    if let Some((u, g)) = user {
        cmd.user = u;
        cmd.group = g;
    }
    c.value.probe = Probe::Script(cmd);
    Some(c)
}

const FILE_KEYWORDS: &[&str] = &["file", "weight", "init_file"];

/// `track_file NAME { file PATH; weight N [reverse]; init_file [V] [overwrite] }`.
pub(crate) fn track_file(
    ctx: &mut Ctx<'_>,
    name: String,
    pos: Pos,
    body: &[Stmt],
) -> Option<Placed<TrackFile>> {
    let mut f = Placed::new(
        TrackFile {
            name,
            path: Default::default(),
            weight: 1,
            reverse: false,
            init: None,
            init_overwrite: false,
        },
        pos,
    );
    let mut have_path = false;
    for s in body {
        let at = s.pos;
        match s.keyword() {
            "file" => {
                if let Some(v) = ctx.value(s) {
                    f.value.path = v.into();
                    have_path = true;
                    f.keys.insert("path", at);
                }
            }
            "weight" => {
                if let Some((w, reverse)) = weight(ctx, s, MAX_OBJECT_WEIGHT) {
                    f.value.weight = w;
                    f.value.reverse = reverse;
                    f.keys.insert("weight", at);
                }
            }
            "init_file" => {
                let mut value = 0i64;
                for word in s.args() {
                    if word == "overwrite" {
                        f.value.init_overwrite = true;
                    } else if let Some(v) = values::integer(word) {
                        if !(-MAX_OBJECT_WEIGHT..=MAX_OBJECT_WEIGHT).contains(&v) {
                            ctx.warn(
                                at,
                                format!(
                                    "track_file {}: init value {v} is outside the sensible \
                                     range -254..254",
                                    f.value.name
                                ),
                            );
                        }
                        value = v;
                    } else {
                        ctx.error(at, format!("unknown init_file option `{word}`"));
                    }
                }
                f.value.init = Some(value);
                f.keys.insert("init", at);
            }
            kw => unknown(ctx, s, kw, "track_file", FILE_KEYWORDS),
        }
    }
    if !have_path {
        ctx.error(pos, format!("track_file {} has no `file`", f.value.name));
        return None;
    }
    Some(f)
}

const PROCESS_KEYWORDS: &[&str] = &[
    "process",
    "param_match",
    "weight",
    "quorum",
    "quorum_max",
    "delay",
    "terminate_delay",
    "fork_delay",
    "full_command",
];

/// `vrrp_track_process NAME { … }`. keepalived keeps a delay for a process
/// appearing (`fork_delay`) and one for it going (`terminate_delay`);
/// `delay` sets both. ha has one delay: when the two differ it uses the
/// longer, with a warning.
pub(crate) fn track_process(
    ctx: &mut Ctx<'_>,
    name: String,
    pos: Pos,
    body: &[Stmt],
) -> Option<Placed<TrackProcess>> {
    let mut p = Placed::new(
        TrackProcess {
            name,
            process: String::new(),
            params: Vec::new(),
            param_match: ParamMatch::Exact,
            quorum: 1,
            quorum_max: None,
            delay: Duration::ZERO,
            weight: 0,
            reverse: false,
            full_command: false,
        },
        pos,
    );
    // (microseconds, line) of fork_delay and terminate_delay.
    let mut fork: Option<(u64, Pos)> = None;
    let mut term: Option<(u64, Pos)> = None;
    for s in body {
        let at = s.pos;
        match s.keyword() {
            "process" => match s.args() {
                [] => ctx.error(at, "`process` needs a process name"),
                [name, params @ ..] => {
                    p.value.process = name.clone();
                    if !params.is_empty() {
                        p.value.params = params.to_vec();
                        p.value.full_command = true;
                    }
                    p.keys.insert("process", at);
                }
            },
            "param_match" => {
                p.value.param_match = match s.args().first().map(String::as_str) {
                    None => ParamMatch::Exact,
                    Some("initial") => ParamMatch::Initial,
                    Some("partial") => ParamMatch::Partial,
                    Some(v) => {
                        ctx.error(
                            at,
                            format!("unknown param_match `{v}`: must be initial or partial"),
                        );
                        continue;
                    }
                };
                p.value.full_command = true;
                p.keys.insert("param_match", at);
            }
            "full_command" => {
                ctx.flag(s);
                p.value.full_command = true;
            }
            "weight" => {
                if let Some((w, reverse)) = weight(ctx, s, MAX_OBJECT_WEIGHT) {
                    p.value.weight = w;
                    p.value.reverse = reverse;
                    p.keys.insert("weight", at);
                }
            }
            "quorum" => {
                if let Some(n) = ctx.int_in(s, 1, 65535, |v| {
                    format!("quorum {v} is out of range: 1-65535")
                }) {
                    p.value.quorum = n as u32;
                    p.keys.insert("quorum", at);
                }
            }
            "quorum_max" => {
                if let Some(n) = ctx.int_in(s, 0, 65535, |v| {
                    format!("quorum_max {v} is out of range: 0-65535")
                }) {
                    p.value.quorum_max = Some(n as u32);
                    p.keys.insert("quorum_max", at);
                }
            }
            kw @ ("delay" | "terminate_delay" | "fork_delay") => {
                let Some(v) = ctx.value(s) else { continue };
                let us = match values::decimal_micros(v) {
                    Some(us) if (1..=3600 * MICROS).contains(&us) => us,
                    _ => {
                        ctx.error(
                            at,
                            format!("`{kw}` {v} is out of range: 0.000001 to 3600 seconds"),
                        );
                        continue;
                    }
                };
                if kw != "fork_delay" {
                    term = Some((us, at));
                }
                if kw != "terminate_delay" {
                    fork = Some((us, at));
                }
            }
            kw => unknown(ctx, s, kw, "vrrp_track_process", PROCESS_KEYWORDS),
        }
    }
    // keepalived: quorum_max 0 means "up while none runs".
    if p.value.quorum_max == Some(0) {
        p.value.quorum = 0;
    }
    match (fork, term) {
        (Some((a, at)), Some((b, bt))) if a != b => {
            let (us, pos) = if a >= b { (a, at) } else { (b, bt) };
            ctx.warn(
                pos,
                format!(
                    "vrrp_track_process {}: fork_delay {} s and terminate_delay {} s differ; \
                     ha uses one delay for both, the longer ({} s)",
                    p.value.name,
                    values::micros_text(a),
                    values::micros_text(b),
                    values::micros_text(us)
                ),
            );
            p.value.delay = Duration::from_micros(us);
            p.keys.insert("delay_ms", pos);
        }
        (Some((us, at)), _) | (None, Some((us, at))) => {
            p.value.delay = Duration::from_micros(us);
            p.keys.insert("delay_ms", at);
        }
        (None, None) => {}
    }
    if p.value.process.is_empty() {
        ctx.error(
            pos,
            format!("vrrp_track_process {} has no `process`", p.value.name),
        );
        return None;
    }
    Some(p)
}

/// `weight N [reverse]` in a declaration, N in `-max..=max`.
fn weight(ctx: &mut Ctx<'_>, stmt: &Stmt, max: i64) -> Option<(i32, bool)> {
    let (v, rest) = match stmt.args() {
        [] => {
            ctx.error(stmt.pos, "`weight` needs a value");
            return None;
        }
        [v, rest @ ..] => (v, rest),
    };
    let Some(w) = values::integer(v).filter(|w| (-max..=max).contains(w)) else {
        ctx.error(
            stmt.pos,
            format!("weight `{v}` must be a whole number in -{max}..{max}"),
        );
        return None;
    };
    let reverse = match rest.first().map(String::as_str) {
        None => false,
        Some("reverse") => true,
        Some(o) => {
            ctx.error(
                stmt.pos,
                format!("unknown weight option `{o}` (only `reverse`)"),
            );
            false
        }
    };
    Some((w as i32, reverse))
}

fn unknown(ctx: &mut Ctx<'_>, s: &Stmt, kw: &str, block: &str, known: &[&str]) {
    let hint = suggestion(kw, &[known]);
    ctx.warn(
        s.pos,
        format!("unknown keyword `{kw}` in {block}; ignored{hint}"),
    );
}

/// Track references with the line of each, by kind.
#[derive(Debug, Default)]
pub(crate) struct RawTracks(pub Vec<(TrackKind, TrackRef, Pos)>);

/// Reads a `track_* { NAME [weight N [reverse|noreverse]] … }` block into
/// `out`; `owner` names the instance or group for messages. A name tracked
/// twice is ignored with a warning, as keepalived does.
pub(crate) fn track_block(ctx: &mut Ctx<'_>, stmt: &Stmt, owner: &str, out: &mut RawTracks) {
    let Some(kind) = TrackKind::of(stmt.keyword()) else {
        return;
    };
    let Some(body) = ctx.block(stmt) else { return };
    for s in body {
        if s.block.is_some() {
            ctx.error(
                s.pos,
                format!("unexpected `{{ … }}` in `{}`", kind.keyword()),
            );
            continue;
        }
        let name = s.keyword().to_string();
        let mut r = TrackRef {
            name: name.clone(),
            weight: None,
            reverse: false,
        };
        match s.args() {
            [] => {}
            [w, rest @ ..] if w == "weight" => {
                let Some(v) = rest.first() else {
                    ctx.warn(
                        s.pos,
                        format!(
                            "({owner}) {} {name}: weight without a value; ignored",
                            kind.keyword()
                        ),
                    );
                    continue;
                };
                match values::integer(v) {
                    Some(n) if (-MAX_WEIGHT..=MAX_WEIGHT).contains(&n) => r.weight = Some(n as i32),
                    Some(n @ (-254 | 254)) => {
                        let clamped = n.signum() * MAX_WEIGHT;
                        ctx.warn(
                            s.pos,
                            format!(
                                "({owner}) weight {n} for {name} is taken as {clamped}, \
                                 as keepalived does"
                            ),
                        );
                        r.weight = Some(clamped as i32);
                    }
                    _ => {
                        ctx.error(
                            s.pos,
                            format!(
                                "({owner}) {} {name}: weight `{v}` must be in -253..253",
                                kind.keyword()
                            ),
                        );
                        continue;
                    }
                }
                match rest.get(1).map(String::as_str) {
                    None | Some("noreverse") => {}
                    Some("reverse") => r.reverse = true,
                    Some(o) => ctx.warn(
                        s.pos,
                        format!("({owner}) unknown weight option `{o}` for {name}; ignored"),
                    ),
                }
            }
            [o, ..] => {
                ctx.warn(
                    s.pos,
                    format!(
                        "({owner}) unknown {} option `{o}` for {name}; the line is ignored, \
                         as keepalived does",
                        kind.keyword()
                    ),
                );
                continue;
            }
        }
        if out.0.iter().any(|(k, t, _)| *k == kind && t.name == name) {
            ctx.warn(
                s.pos,
                format!("({owner}) duplicate {} {name}; ignored", kind.keyword()),
            );
            continue;
        }
        out.0.push((kind, r, s.pos));
    }
}
