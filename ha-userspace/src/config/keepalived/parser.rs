//! The top level of keepalived.conf: `global_defs`, `vrrp_instance`, and the
//! blocks of features ha does not have yet, which are read (their braces must
//! balance) and reported once each, never silently dropped.

use std::collections::HashMap;

use super::{
    addresses,
    context::{Ctx, skip_advanced},
    global::{self, RawGlobal},
    instance::{self, Declared, InstanceMap},
    keywords::{TOP_LATER, TOP_SUPPORTED, suggestion},
    membership, routes,
    source::{Files, Pos},
    sync_group::{self, RawGroup},
    track::{self, Placed},
    tree::Stmt,
    virtual_server::{self, PlacedRs, PlacedVs},
};
use crate::config::{
    error::{Diagnostics, Loc},
    model::{Check, Config, Route, Rule, TrackFile, TrackKind, TrackProcess, Vip},
    validate::{Field, List, Locate, Site},
};

/// Everything the top level declares, with positions, before it is
/// assembled into a [`Config`].
#[derive(Default)]
struct Top {
    checks: Vec<Placed<Check>>,
    files: Vec<Placed<TrackFile>>,
    processes: Vec<Placed<TrackProcess>>,
    groups: Vec<RawGroup>,
    virtual_servers: Vec<PlacedVs>,
    static_addresses: Vec<(Vip, Pos)>,
    static_routes: Vec<(Route, Pos)>,
    static_rules: Vec<(Rule, Pos)>,
}

impl Declared for Top {
    fn has(&self, kind: TrackKind, name: &str) -> bool {
        match kind {
            TrackKind::Check => self.checks.iter().any(|c| c.value.name == name),
            TrackKind::File => self.files.iter().any(|c| c.value.name == name),
            TrackKind::Process => self.processes.iter().any(|c| c.value.name == name),
            TrackKind::Interface => true,
        }
    }
}

/// Reads the statement tree into a [`Config`] and the positions of its
/// fields.
pub(crate) fn parse<'a>(
    stmts: &[Stmt],
    files: &'a Files,
    diags: &mut Diagnostics,
) -> (Config, SourceMap<'a>) {
    let mut ctx = Ctx { files, diags };
    let mut g = RawGlobal::default();
    let mut raws = Vec::new();
    let mut top = Top::default();
    for stmt in stmts {
        if skip_advanced(&mut ctx, stmt) {
            continue;
        }
        top_level(&mut ctx, stmt, &mut g, &mut raws, &mut top);
    }
    let mut config = Config {
        global: global::resolve(&mut ctx, &g),
        ..Config::default()
    };
    let mut map = SourceMap {
        files,
        main: files.loc(Pos { file: 0, line: 0 }),
        instances: Vec::new(),
        items: HashMap::new(),
        members: HashMap::new(),
        real_servers: Vec::new(),
        global: g.positions(),
    };
    for raw in raws {
        if let Some((inst, m)) = instance::resolve(&mut ctx, raw, &g, &top) {
            config.instances.push(inst);
            map.instances.push(m);
        }
    }
    let Top {
        checks,
        files: track_files,
        processes,
        groups,
        virtual_servers,
        static_addresses,
        static_routes,
        static_rules,
    } = top;
    for (i, c) in checks.into_iter().enumerate() {
        map.item(List::Checks, i, c.header, c.keys);
        config.checks.push(c.value);
    }
    for (i, c) in track_files.into_iter().enumerate() {
        map.item(List::TrackFiles, i, c.header, c.keys);
        config.track_files.push(c.value);
    }
    for (i, c) in processes.into_iter().enumerate() {
        map.item(List::TrackProcesses, i, c.header, c.keys);
        config.track_processes.push(c.value);
    }
    for (i, vs) in virtual_servers.into_iter().enumerate() {
        map.item(List::VirtualServers, i, vs.header, HashMap::new());
        map.real_servers.push(vs.real_servers);
        config.virtual_servers.push(vs.vs);
    }
    for (i, (a, p)) in static_addresses.into_iter().enumerate() {
        map.item(List::StaticAddresses, i, p, HashMap::new());
        config.static_addresses.push(a);
    }
    for (i, (r, p)) in static_routes.into_iter().enumerate() {
        map.item(List::StaticRoutes, i, p, HashMap::new());
        config.static_routes.push(r);
    }
    for (i, (r, p)) in static_rules.into_iter().enumerate() {
        map.item(List::StaticRules, i, p, HashMap::new());
        config.static_rules.push(r);
    }
    membership::apply(&mut ctx, groups, &mut config, &mut map);
    (config, map)
}

fn top_level(
    ctx: &mut Ctx<'_>,
    stmt: &Stmt,
    g: &mut RawGlobal,
    raws: &mut Vec<instance::RawInstance>,
    top: &mut Top,
) {
    let kw = stmt.keyword();
    match kw {
        "global_defs" => {
            if let Some(body) = ctx.block(stmt) {
                global::parse(ctx, body, g);
            }
        }
        "vrrp_instance" => {
            if let Some(body) = ctx.block(stmt)
                && let Some(name) = named(ctx, stmt)
            {
                raws.push(instance::parse(ctx, name, stmt.pos, body));
            }
        }
        "vrrp_script" | "track_file" | "vrrp_track_file" | "vrrp_track_process"
        | "vrrp_sync_group" => {
            let Some(body) = ctx.block(stmt) else { return };
            let Some(name) = named(ctx, stmt) else { return };
            let pos = stmt.pos;
            match kw {
                "vrrp_script" => top.checks.extend(track::vrrp_script(ctx, name, pos, body)),
                "vrrp_track_process" => top
                    .processes
                    .extend(track::track_process(ctx, name, pos, body)),
                "vrrp_sync_group" => top.groups.push(sync_group::parse(ctx, name, pos, body)),
                _ => top.files.extend(track::track_file(ctx, name, pos, body)),
            }
        }
        "virtual_server" => {
            if let Some(body) = ctx.block(stmt) {
                top.virtual_servers
                    .extend(virtual_server::parse(ctx, stmt, body));
            }
        }
        "virtual_server_group" => {
            if ctx.block(stmt).is_some() {
                ctx.warn(
                    stmt.pos,
                    format!(
                        "`{}` is IPVS only; ha does not program IPVS and ignores the block",
                        stmt.words.join(" ")
                    ),
                );
            }
        }
        "static_ipaddress" => {
            if let Some(body) = ctx.block(stmt) {
                top.static_addresses
                    .extend(addresses::vips(ctx, body, "static_ipaddress"));
            }
        }
        "static_routes" => {
            if let Some(body) = ctx.block(stmt) {
                top.static_routes
                    .extend(routes::routes(ctx, body, "static_routes"));
            }
        }
        "static_rules" => {
            if let Some(body) = ctx.block(stmt) {
                top.static_rules
                    .extend(routes::rules(ctx, body, "static_rules"));
            }
        }
        kw if TOP_LATER.contains(&kw) => later(ctx, stmt),
        kw => {
            let hint = suggestion(kw, &[TOP_SUPPORTED, TOP_LATER]);
            ctx.warn(
                stmt.pos,
                format!("unknown top-level keyword `{kw}`; ignored{hint}"),
            );
        }
    }
}

/// The name of `KEYWORD NAME { … }`.
fn named(ctx: &mut Ctx<'_>, stmt: &Stmt) -> Option<String> {
    match stmt.args() {
        [] => {
            ctx.error(stmt.pos, format!("`{}` needs a name", stmt.keyword()));
            None
        }
        [name, rest @ ..] => {
            if !rest.is_empty() {
                ctx.warn(
                    stmt.pos,
                    format!(
                        "extra words after `{} {name}` are ignored: `{}`",
                        stmt.keyword(),
                        rest.join(" ")
                    ),
                );
            }
            Some(name.clone())
        }
    }
}

/// A block of later work: one warning, the block must have its `{ … }`.
fn later(ctx: &mut Ctx<'_>, stmt: &Stmt) {
    if ctx.block(stmt).is_none() {
        return;
    }
    let head = stmt.words.join(" ");
    ctx.warn(
        stmt.pos,
        format!("`{head}` is not implemented yet; the block is ignored"),
    );
}

/// The header line of a list element and the lines of its keys.
type ItemPlace = (Pos, HashMap<&'static str, Pos>);

/// Where each part of a keepalived-derived [`Config`] was written.
pub(crate) struct SourceMap<'a> {
    pub(super) files: &'a Files,
    pub(super) main: Loc,
    pub(super) instances: Vec<InstanceMap>,
    /// Header and key lines of the elements of the top-level lists.
    pub(super) items: HashMap<(List, usize), ItemPlace>,
    /// Lines of the sync groups' members.
    pub(super) members: HashMap<(usize, usize), Pos>,
    /// The real servers of each virtual server.
    pub(super) real_servers: Vec<Vec<PlacedRs>>,
    /// Lines of global settings, by TOML key.
    pub(super) global: HashMap<&'static str, Pos>,
}

impl SourceMap<'_> {
    pub(super) fn item(
        &mut self,
        list: List,
        index: usize,
        header: Pos,
        keys: HashMap<&'static str, Pos>,
    ) {
        self.items.insert((list, index), (header, keys));
    }

    fn pos(&self, site: Site) -> Option<Pos> {
        match site {
            Site::Config => None,
            Site::Instance { index, field } => {
                let map = self.instances.get(index)?;
                Some(match field {
                    Field::Whole => map.header,
                    f => map.fields.get(&f).copied().unwrap_or(map.header),
                })
            }
            Site::Global(key) => self.global.get(key).copied(),
            Site::Item { list, index, key } => {
                let (header, keys) = self.items.get(&(list, index))?;
                Some(key.and_then(|k| keys.get(k).copied()).unwrap_or(*header))
            }
            Site::GroupMember { group, member } => {
                self.members.get(&(group, member)).copied().or_else(|| {
                    self.pos(Site::Item {
                        list: List::SyncGroups,
                        index: group,
                        key: None,
                    })
                })
            }
            Site::RealServer {
                vs,
                rs,
                checker,
                key,
            } => {
                let rs = self.real_servers.get(vs)?.get(rs)?;
                let at_key = key.and_then(|k| rs.keys.get(k).copied());
                let at_checker = checker.and_then(|c| rs.checkers.get(c).copied());
                Some(at_key.or(at_checker).unwrap_or(rs.header))
            }
        }
    }
}

impl Locate for SourceMap<'_> {
    fn locate(&self, site: Site) -> Loc {
        self.pos(site)
            .map_or_else(|| self.main.clone(), |p| self.files.loc(p))
    }
}
