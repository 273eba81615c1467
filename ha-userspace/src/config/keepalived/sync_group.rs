//! `vrrp_sync_group NAME { group { I1 I2 … } notify_* … track_* { … } }`
//! (keepalived 2.2.7 `vrrp_parser.c`, `vrrp_sync.c`).

use std::collections::HashMap;

use super::{
    context::Ctx,
    keywords::suggestion,
    script,
    source::Pos,
    track::{self, RawTracks},
    tree::Stmt,
};
use crate::config::model::Notify;

/// What a sync group block says.
pub(crate) struct RawGroup {
    pub name: String,
    pub pos: Pos,
    /// Member instance names, with the line of each.
    pub members: Vec<(String, Pos)>,
    pub notify: Notify,
    /// Lines of the notify fields, by TOML key.
    pub notify_keys: HashMap<&'static str, Pos>,
    /// Tracks every member gets.
    pub tracks: RawTracks,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`):
    /// weights of tracks written on members are kept.
    pub tracking_weight: bool,
}

const GROUP_KEYWORDS: &[&str] = &[
    "group",
    "track_script",
    "track_interface",
    "track_file",
    "track_process",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "sync_group_tracking_weight",
    "global_tracking",
];

/// Keywords of a sync group ha does not implement.
const GROUP_LATER: &[&str] = &["smtp_alert", "notify_priority_changes", "track_bfd"];

/// Reads one sync group block.
pub(crate) fn parse(ctx: &mut Ctx<'_>, name: String, pos: Pos, body: &[Stmt]) -> RawGroup {
    let mut g = RawGroup {
        name,
        pos,
        members: Vec::new(),
        notify: Notify::default(),
        notify_keys: HashMap::new(),
        tracks: RawTracks::default(),
        tracking_weight: false,
    };
    let owner = g.name.clone();
    let mut group_seen = false;
    for s in body {
        if script::notify_keyword(ctx, s, &mut g.notify, &mut g.notify_keys) {
            continue;
        }
        match s.keyword() {
            "group" => {
                let Some(members) = ctx.block(s) else {
                    continue;
                };
                if group_seen {
                    ctx.warn(
                        s.pos,
                        format!("sync group {owner} lists its group twice; this one is ignored"),
                    );
                    continue;
                }
                group_seen = true;
                for m in members {
                    if m.block.is_some() {
                        ctx.error(m.pos, "unexpected `{ … }` in `group`");
                        continue;
                    }
                    for w in &m.words {
                        g.members.push((w.clone(), m.pos));
                    }
                }
            }
            "track_script" | "track_interface" | "track_file" | "track_process" => {
                track::track_block(ctx, s, &owner, &mut g.tracks);
            }
            "sync_group_tracking_weight" => {
                ctx.flag(s);
                g.tracking_weight = true;
            }
            "global_tracking" => {
                ctx.warn(
                    s.pos,
                    "global_tracking is deprecated (read as sync_group_tracking_weight); \
                     put track_* blocks on the sync group",
                );
                g.tracking_weight = true;
            }
            kw if GROUP_LATER.contains(&kw) => {
                ctx.warn(
                    s.pos,
                    format!("`{kw}` is not implemented yet; ignored (vrrp_sync_group {owner})"),
                );
            }
            kw => {
                let hint = suggestion(kw, &[GROUP_KEYWORDS, GROUP_LATER]);
                ctx.warn(
                    s.pos,
                    format!("unknown keyword `{kw}` in vrrp_sync_group {owner}; ignored{hint}"),
                );
            }
        }
    }
    if !group_seen {
        ctx.warn(
            pos,
            format!("vrrp_sync_group {owner} has no `group {{ … }}` of instances; ignored"),
        );
    }
    g
}
