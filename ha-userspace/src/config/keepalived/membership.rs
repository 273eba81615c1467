//! Sync groups and their members, resolved once every instance is read, with
//! keepalived 2.2.7's rules on tracking weights (`vrrp.c`
//! `vrrp_complete_instance` and `sync_group_tracking_init`, `vrrp_sync.c`):
//!
//! - a member that does not exist is ignored with a warning; a group left
//!   without members is dropped; a group of one is kept with a warning;
//! - in a sync group (unless it says `sync_group_tracking_weight`), and on
//!   an address owner (priority 255), tracks written on the instance lose
//!   their weights: a weighted interface counts with weight 0 (FAULT while
//!   down; an owner drops it), a weighted script is dropped, a track file
//!   with the default weight 1 counts with weight 0 and one with another
//!   weight is dropped. Processes keep theirs. Each is warned about;
//! - the group's own tracks are added to every member with their weights,
//!   cleared to 0 when a member is an address owner.
//!
//! An instance listed in two groups is left in both here; `validate` refuses
//! it, naming both lines.

use std::collections::HashMap;

use super::{
    context::Ctx, instance::InstanceMap, parser::SourceMap, source::Pos, sync_group::RawGroup,
};
use crate::config::{
    model::{Config, Instance, SyncGroup, TrackKind, TrackRef},
    validate::{Field, List},
};

/// Adds the groups to `config`, applying the rules above.
pub(crate) fn apply(
    ctx: &mut Ctx<'_>,
    groups: Vec<RawGroup>,
    config: &mut Config,
    map: &mut SourceMap<'_>,
) {
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, inst) in config.instances.iter().enumerate() {
        by_name.entry(inst.name.clone()).or_insert(i);
    }
    let weights = Weights::of(config);
    let mut in_group = vec![false; config.instances.len()];
    for g in groups {
        let mut members = Vec::new();
        for (name, pos) in &g.members {
            match by_name.get(name) {
                Some(&i) => members.push((i, name.clone(), *pos)),
                None => ctx.warn(
                    *pos,
                    format!(
                        "instance {name} in vrrp_sync_group {} does not exist; ignored",
                        g.name
                    ),
                ),
            }
        }
        if members.is_empty() {
            if !g.members.is_empty() {
                ctx.warn(
                    g.pos,
                    format!(
                        "vrrp_sync_group {} has no existing instance; ignored",
                        g.name
                    ),
                );
            }
            continue;
        }
        if members.len() == 1 {
            ctx.warn(
                g.pos,
                format!(
                    "vrrp_sync_group {} has only one instance; this is probably not what you \
                     want (kept, as keepalived does)",
                    g.name
                ),
            );
        }
        let has_owner = members
            .iter()
            .any(|&(i, _, _)| config.instances[i].priority == 255);
        let mut tracks: Vec<(TrackKind, TrackRef, Pos)> = Vec::new();
        for (kind, t, p) in &g.tracks.0 {
            if *kind != TrackKind::Interface && !weights.declared(*kind, &t.name) {
                ctx.warn(
                    *p,
                    format!(
                        "({}) {} {} is not declared; ignored, as keepalived does",
                        g.name,
                        kind.keyword(),
                        t.name
                    ),
                );
                continue;
            }
            let mut t = t.clone();
            if has_owner && weights.effective(*kind, &t) != 0 {
                ctx.warn(
                    *p,
                    format!(
                        "({}) a member has priority 255: the weight of {} {} is cleared to 0, \
                         as keepalived does",
                        g.name,
                        kind.keyword(),
                        t.name
                    ),
                );
                t.weight = Some(0);
            }
            tracks.push((*kind, t, *p));
        }
        for &(i, _, _) in &members {
            in_group[i] = true;
            if !g.tracking_weight {
                strip_weights(
                    ctx,
                    &mut config.instances[i],
                    &mut map.instances[i],
                    &weights,
                    "sync group",
                );
            }
            let inst = &mut config.instances[i];
            let imap = &mut map.instances[i];
            for (kind, t, p) in &tracks {
                let list = kind.list_mut(&mut inst.track);
                if list.iter().any(|x| x.name == t.name) {
                    continue;
                }
                imap.fields.insert(Field::Track(*kind, list.len()), *p);
                list.push(t.clone());
            }
        }
        let index = config.sync_groups.len();
        let keys = g
            .notify_keys
            .iter()
            .map(|(k, p)| (notify_key(k), *p))
            .collect();
        map.item(List::SyncGroups, index, g.pos, keys);
        for (m, (_, _, pos)) in members.iter().enumerate() {
            map.members.insert((index, m), *pos);
        }
        config.sync_groups.push(SyncGroup {
            name: g.name,
            instances: members.into_iter().map(|(_, n, _)| n).collect(),
            notify: g.notify,
        });
    }
    for (i, inst) in config.instances.iter_mut().enumerate() {
        if !in_group[i] && inst.priority == 255 {
            strip_weights(ctx, inst, &mut map.instances[i], &weights, "address owner");
        }
    }
}

/// The TOML path of a sync group's notify field.
fn notify_key(key: &str) -> &'static str {
    match key {
        "master" => "notify.master",
        "backup" => "notify.backup",
        "fault" => "notify.fault",
        "stop" => "notify.stop",
        _ => "notify.any",
    }
}

/// The declared objects' own weights, by kind and name.
struct Weights {
    checks: HashMap<String, i32>,
    files: HashMap<String, i32>,
    processes: HashMap<String, i32>,
}

impl Weights {
    fn of(config: &Config) -> Self {
        Weights {
            checks: config
                .checks
                .iter()
                .map(|c| (c.name.clone(), c.weight))
                .collect(),
            files: config
                .track_files
                .iter()
                .map(|c| (c.name.clone(), c.weight))
                .collect(),
            processes: (config.track_processes.iter())
                .map(|c| (c.name.clone(), c.weight))
                .collect(),
        }
    }

    fn table(&self, kind: TrackKind) -> Option<&HashMap<String, i32>> {
        match kind {
            TrackKind::Check => Some(&self.checks),
            TrackKind::File => Some(&self.files),
            TrackKind::Process => Some(&self.processes),
            TrackKind::Interface => None,
        }
    }

    fn declared(&self, kind: TrackKind, name: &str) -> bool {
        self.table(kind).is_none_or(|t| t.contains_key(name))
    }

    /// The weight a reference applies: its own, else the object's.
    fn effective(&self, kind: TrackKind, t: &TrackRef) -> i32 {
        t.weight.unwrap_or_else(|| {
            self.table(kind)
                .and_then(|m| m.get(&t.name).copied())
                .unwrap_or(0)
        })
    }
}

/// keepalived's rule for weighted tracks on a sync group member or an
/// address owner (see the module comment).
fn strip_weights(
    ctx: &mut Ctx<'_>,
    inst: &mut Instance,
    imap: &mut InstanceMap,
    weights: &Weights,
    why: &str,
) {
    let owner = why == "address owner";
    for kind in [TrackKind::Interface, TrackKind::Check, TrackKind::File] {
        let old = std::mem::take(kind.list_mut(&mut inst.track));
        let mut kept = Vec::new();
        for (i, mut t) in old.into_iter().enumerate() {
            let pos = imap.fields.remove(&Field::Track(kind, i));
            let w = weights.effective(kind, &t);
            let what = format!("({}) {} {}", inst.name, kind.keyword(), t.name);
            let drop = match (kind, w) {
                (_, 0) => false,
                (TrackKind::Interface, _) if !owner => {
                    warn(
                        ctx,
                        pos,
                        format!(
                            "{what}: weight {w} ignored in a {why} (FAULT while down), as keepalived does"
                        ),
                    );
                    t.weight = Some(0);
                    false
                }
                (TrackKind::File, 1) => {
                    warn(
                        ctx,
                        pos,
                        format!(
                            "{what}: the default weight 1 is ignored in a {why}: a non-zero value means FAULT, as keepalived does (write weight 0 to say so)"
                        ),
                    );
                    t.weight = Some(0);
                    false
                }
                _ => {
                    warn(
                        ctx,
                        pos,
                        format!("{what} with weight {w} is ignored in a {why}, as keepalived does"),
                    );
                    true
                }
            };
            if !drop {
                if let Some(p) = pos {
                    imap.fields.insert(Field::Track(kind, kept.len()), p);
                }
                kept.push(t);
            }
        }
        *kind.list_mut(&mut inst.track) = kept;
    }
}

fn warn(ctx: &mut Ctx<'_>, pos: Option<Pos>, message: String) {
    if let Some(p) = pos {
        ctx.warn(p, message);
    }
}
