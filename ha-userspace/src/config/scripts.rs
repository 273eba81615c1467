//! Every program a configuration runs — check scripts, notify scripts,
//! `MISC_CHECK`, `notify_up` / `notify_down`, the notify FIFO's script —
//! with where it is written, so that `ha check-config` can say which line
//! names a script that cannot run (see `exec::security`).

use super::{
    error::Loc,
    model::{Command, Config, Notify, Probe},
    validate::{Field, List, Locate, Site},
};

/// One program of the configuration and the line that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSite {
    /// Where it is written.
    pub loc: Loc,
    /// What runs it, in keepalived's words: `vrrp_script chk_nginx`,
    /// `notify_master of vrrp_instance VI_1`, …
    pub what: String,
    /// The program.
    pub command: Command,
}

const NOTIFY_FIELDS: [(&str, &str); 5] = [
    ("master", "notify_master"),
    ("backup", "notify_backup"),
    ("fault", "notify_fault"),
    ("stop", "notify_stop"),
    ("any", "notify"),
];

fn notify_fields(n: &Notify) -> impl Iterator<Item = (&'static str, &'static str, &Command)> {
    NOTIFY_FIELDS.into_iter().filter_map(move |(key, kw)| {
        let cmd = match key {
            "master" => n.master.as_ref(),
            "backup" => n.backup.as_ref(),
            "fault" => n.fault.as_ref(),
            "stop" => n.stop.as_ref(),
            _ => n.any.as_ref(),
        };
        cmd.map(|c| (key, kw, c))
    })
}

/// The programs of `config`, in file-independent order: checks, instances,
/// sync groups, virtual servers, the notify FIFO.
pub(crate) fn sites(config: &Config) -> Vec<(Site, String, &Command)> {
    let mut out = Vec::new();
    for (index, c) in config.checks.iter().enumerate() {
        if let Probe::Script(cmd) = &c.probe {
            let site = Site::Item {
                list: List::Checks,
                index,
                key: Some("probe"),
            };
            out.push((site, format!("vrrp_script {}", c.name), cmd));
        }
    }
    for (index, inst) in config.instances.iter().enumerate() {
        for (key, kw, cmd) in notify_fields(&inst.notify) {
            let site = Site::Instance {
                index,
                field: Field::Notify(key),
            };
            out.push((site, format!("{kw} of vrrp_instance {}", inst.name), cmd));
        }
    }
    for (index, g) in config.sync_groups.iter().enumerate() {
        for (key, kw, cmd) in notify_fields(&g.notify) {
            let path = match key {
                "master" => "notify.master",
                "backup" => "notify.backup",
                "fault" => "notify.fault",
                "stop" => "notify.stop",
                _ => "notify.any",
            };
            let site = Site::Item {
                list: List::SyncGroups,
                index,
                key: Some(path),
            };
            out.push((site, format!("{kw} of vrrp_sync_group {}", g.name), cmd));
        }
    }
    for (vs, v) in config.virtual_servers.iter().enumerate() {
        for (rs, r) in v.real_servers.iter().enumerate() {
            let what = |kw: &str| format!("{kw} of real_server {} {}", r.addr, r.port);
            for (key, cmd) in [("notify_up", &r.notify_up), ("notify_down", &r.notify_down)] {
                if let Some(cmd) = cmd {
                    let site = Site::RealServer {
                        vs,
                        rs,
                        checker: None,
                        key: Some(key),
                    };
                    out.push((site, what(key), cmd));
                }
            }
            for (c, checker) in r.checkers.iter().enumerate() {
                if let Probe::Script(cmd) = &checker.probe {
                    let site = Site::RealServer {
                        vs,
                        rs,
                        checker: Some(c),
                        key: None,
                    };
                    out.push((site, what("MISC_CHECK"), cmd));
                }
            }
        }
    }
    if let Some(cmd) = config
        .global
        .notify_fifo
        .as_ref()
        .and_then(|f| f.script.as_ref())
    {
        out.push((
            Site::Global("notify_fifo.script"),
            "notify_fifo_script".to_string(),
            cmd,
        ));
    }
    out
}

/// The programs of `config` with their places in the file `at` maps.
pub(crate) fn locate(config: &Config, at: &dyn Locate) -> Vec<ScriptSite> {
    sites(config)
        .into_iter()
        .map(|(site, what, cmd)| ScriptSite {
            loc: at.locate(site),
            what,
            command: cmd.clone(),
        })
        .collect()
}
