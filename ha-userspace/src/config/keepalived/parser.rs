//! The top level of keepalived.conf: `global_defs`, `vrrp_instance`, and the
//! blocks of features ha does not have yet, which are read (their braces must
//! balance) and reported once each, never silently dropped.

use super::{
    context::{Ctx, skip_advanced},
    global::{self, RawGlobal},
    instance::{self, InstanceMap},
    keywords::{TOP_LATER, suggestion},
    source::{Files, Pos},
    tree::Stmt,
};
use crate::config::{
    error::{Diagnostics, Loc},
    model::{Config, Global},
    validate::{Field, Locate, Site},
};

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
    for stmt in stmts {
        if skip_advanced(&mut ctx, stmt) {
            continue;
        }
        match stmt.keyword() {
            "global_defs" => {
                if let Some(body) = ctx.block(stmt) {
                    global::parse(&mut ctx, body, &mut g);
                }
            }
            "vrrp_instance" => {
                let Some(body) = ctx.block(stmt) else {
                    continue;
                };
                let Some(name) = named(&mut ctx, stmt) else {
                    continue;
                };
                raws.push(instance::parse(&mut ctx, name, stmt.pos, body));
            }
            kw if TOP_LATER.contains(&kw) => later(&mut ctx, stmt),
            kw => {
                let hint = suggestion(kw, &[&["global_defs", "vrrp_instance"], TOP_LATER]);
                ctx.warn(
                    stmt.pos,
                    format!("unknown top-level keyword `{kw}`; ignored{hint}"),
                );
            }
        }
    }
    let mut config = Config {
        global: Global {
            router_id: g.router_id.as_ref().map(|(r, _)| r.clone()),
            ..Global::default()
        },
        ..Config::default()
    };
    let mut instances = Vec::new();
    for raw in raws {
        if let Some((inst, map)) = instance::resolve(&mut ctx, raw, &g) {
            config.instances.push(inst);
            instances.push(map);
        }
    }
    let main = files.loc(Pos { file: 0, line: 0 });
    (
        config,
        SourceMap {
            files,
            main,
            instances,
        },
    )
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
    let members = match (stmt.keyword(), &stmt.block) {
        ("vrrp_sync_group", Some(body)) => sync_group_members(ctx, stmt, body),
        _ => String::new(),
    };
    ctx.warn(
        stmt.pos,
        format!("`{head}` is not implemented yet; the block is ignored{members}"),
    );
}

/// A sync group lists its instances in `group { … }`; keepalived requires
/// it, so its absence is reported too.
fn sync_group_members(ctx: &mut Ctx<'_>, stmt: &Stmt, body: &[Stmt]) -> String {
    match body.iter().find(|s| s.keyword() == "group") {
        Some(Stmt {
            block: Some(members),
            ..
        }) => {
            let names: Vec<String> = members.iter().flat_map(|m| m.words.clone()).collect();
            format!(" (instances: {})", names.join(", "))
        }
        _ => {
            ctx.warn(
                stmt.pos,
                format!(
                    "`{}` has no `group {{ … }}` of instances",
                    stmt.words.join(" ")
                ),
            );
            String::new()
        }
    }
}

/// Where each part of a keepalived-derived [`Config`] was written.
pub(crate) struct SourceMap<'a> {
    files: &'a Files,
    main: Loc,
    instances: Vec<InstanceMap>,
}

impl Locate for SourceMap<'_> {
    fn locate(&self, site: Site) -> Loc {
        let Site::Instance { index, field } = site else {
            return self.main.clone();
        };
        let Some(map) = self.instances.get(index) else {
            return self.main.clone();
        };
        let pos = match field {
            Field::Whole => map.header,
            f => map.fields.get(&f).copied().unwrap_or(map.header),
        };
        self.files.loc(pos)
    }
}
