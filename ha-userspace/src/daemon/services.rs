//! What the VIP follows, wired for one run of the daemon: the health checks,
//! the tracked interfaces, the notify scripts and FIFO, and the sync groups.
//!
//! Health checks run as background tasks (they never end). Notify queues,
//! the FIFO writer and the group coordinators end once the instances that
//! feed them have ended: they live in [`Services::ending`], which the
//! supervisor drains at shutdown so the STOP scripts run before `ha` exits.

use std::{collections::HashMap, time::Duration};

use anyhow::Result;
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};
use tracing::{info, warn};

use super::{group, tasks::Background};
use crate::{
    config::{Config, Instance},
    health::{Health, Level, Tracked},
    instance::{GroupLink, Inbound, track::TrackInput},
    net::Netlink,
    notify::{Fifo, FifoHandle, Notifier},
};

/// The run's health checks, tracked interfaces, FIFO and groups.
pub struct Services {
    health: Health,
    /// Tracked interfaces by name: the link watcher publishes their level.
    pub interfaces: HashMap<String, watch::Sender<Level>>,
    fifo: Option<FifoHandle>,
    /// Tasks that end after the instances: notify queues, the FIFO, groups.
    pub ending: JoinSet<()>,
    /// Each member instance's group link, by instance name.
    links: HashMap<String, GroupLink>,
    /// The groups waiting for their members' inboxes.
    groups: Vec<PendingGroup>,
    /// The longest notify timeout: how long stopping may wait for scripts.
    pub notify_timeout: Duration,
}

/// A sync group before its members' inboxes are known.
struct PendingGroup {
    name: String,
    members: Vec<String>,
    notifier: Option<Notifier>,
    reports: mpsc::UnboundedReceiver<(usize, crate::instance::GroupReport)>,
}

impl Services {
    /// Starts the health checks (on `background`), the FIFO, and reads the
    /// tracked interfaces' state.
    pub async fn start(
        config: &Config,
        netlink: &Netlink,
        background: &mut Background,
    ) -> Result<Services> {
        let (health, tasks) = Health::new(config);
        for (name, task) in tasks {
            background.spawn(name, task);
        }
        let mut ending = JoinSet::new();
        let fifo = match &config.global.notify_fifo {
            Some(cfg) => {
                let (handle, task) = Fifo::open(cfg)?;
                ending.spawn(task);
                Some(handle)
            }
            None => None,
        };
        let mut interfaces = HashMap::new();
        let tracked = config
            .instances
            .iter()
            .flat_map(|i| i.track.interfaces.iter().map(|t| t.name.clone()));
        for name in tracked {
            if interfaces.contains_key(&name) {
                continue;
            }
            let up = match netlink.link_by_name(&name).await {
                Ok(link) => link.is_up(),
                Err(e) => {
                    warn!(interface = %name, error = %e, "tracked interface not found: down until it appears");
                    false
                }
            };
            let level = if up { Level::Up } else { Level::Down };
            interfaces.insert(name, watch::channel(level).0);
        }
        let mut links = HashMap::new();
        let mut groups = Vec::new();
        let mut notify_timeout = Duration::ZERO;
        for g in &config.sync_groups {
            let (tx, reports) = mpsc::unbounded_channel();
            for (member, name) in g.instances.iter().enumerate() {
                links.insert(
                    name.clone(),
                    GroupLink {
                        member,
                        reports: tx.clone(),
                    },
                );
            }
            let notifier = (!g.notify.is_empty() || fifo.is_some()).then(|| {
                let (n, task) = Notifier::group(&g.name, &g.notify, fifo.clone());
                ending.spawn(task);
                n
            });
            notify_timeout = notify_timeout.max(g.notify.timeout);
            groups.push(PendingGroup {
                name: g.name.clone(),
                members: g.instances.clone(),
                notifier,
                reports,
            });
        }
        for i in &config.instances {
            notify_timeout = notify_timeout.max(i.notify.timeout);
        }
        Ok(Services {
            health,
            interfaces,
            fifo,
            ending,
            links,
            groups,
            notify_timeout,
        })
    }

    /// What instance `cfg` tracks, in the order of its configuration
    /// (checks, interfaces, files, processes): a tracker's index is its
    /// fault source's number.
    pub fn tracking(&self, config: &Config, cfg: &Instance) -> Vec<TrackInput> {
        let mut out = Vec::new();
        for t in &cfg.track.checks {
            let Some(rx) = self.health.check(&t.name) else {
                warn!(instance = %cfg.name, check = %t.name, "tracked check not declared: ignored");
                continue;
            };
            let own = config.checks.iter().find(|c| c.name == t.name);
            out.push(input(
                format!("script {}", t.name),
                t.weight.or(own.map(|c| c.weight)).unwrap_or(0),
                t.reverse || own.is_some_and(|c| c.reverse),
                rx,
            ));
        }
        for t in &cfg.track.interfaces {
            if let Some(tx) = self.interfaces.get(&t.name) {
                out.push(input(
                    format!("interface {}", t.name),
                    t.weight.unwrap_or(0),
                    t.reverse,
                    tx.subscribe(),
                ));
            }
        }
        for t in &cfg.track.files {
            let Some(rx) = self.health.file(&t.name) else {
                warn!(instance = %cfg.name, file = %t.name, "tracked file not declared: ignored");
                continue;
            };
            let own = config.track_files.iter().find(|f| f.name == t.name);
            out.push(input(
                format!("file {}", t.name),
                t.weight.or(own.map(|f| f.weight)).unwrap_or(1),
                t.reverse || own.is_some_and(|f| f.reverse),
                rx,
            ));
        }
        for t in &cfg.track.processes {
            let Some(rx) = self.health.process(&t.name) else {
                warn!(instance = %cfg.name, process = %t.name, "tracked process not declared: ignored");
                continue;
            };
            let own = config.track_processes.iter().find(|p| p.name == t.name);
            out.push(input(
                format!("process {}", t.name),
                t.weight.or(own.map(|p| p.weight)).unwrap_or(0),
                t.reverse || own.is_some_and(|p| p.reverse),
                rx,
            ));
        }
        out
    }

    /// The task that copies the checks' statuses into the status document.
    pub fn status_task(
        &self,
        board: std::sync::Arc<crate::status::StatusBoard>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.health
            .publish_statuses(move |checks| board.set_checks(checks))
    }

    /// The notify queue of instance `cfg`, if it has scripts or a FIFO.
    pub fn notifier(&mut self, cfg: &Instance) -> Option<Notifier> {
        if cfg.notify.is_empty() && self.fifo.is_none() {
            return None;
        }
        let (n, task) = Notifier::instance(&cfg.name, &cfg.notify, self.fifo.clone());
        self.ending.spawn(task);
        Some(n)
    }

    /// The group link of instance `name`, if it is in a group.
    pub fn group_link(&mut self, name: &str) -> Option<GroupLink> {
        self.links.remove(name)
    }

    /// Starts the group coordinators, given every instance's inbox.
    pub fn start_groups(&mut self, inboxes: &HashMap<String, mpsc::Sender<Inbound>>) {
        for g in self.groups.drain(..) {
            let members = g
                .members
                .iter()
                .filter_map(|name| {
                    inboxes.get(name).map(|inbox| group::Member {
                        name: name.clone(),
                        inbox: inbox.clone(),
                    })
                })
                .collect();
            info!(group = %g.name, members = ?g.members, "sync group");
            self.ending
                .spawn(group::coordinate(g.name, members, g.reports, g.notifier));
        }
        // The instances hold the only report senders now: a coordinator
        // ends when its members have.
        self.links.clear();
        self.fifo = None;
    }

    /// Waits for the STOP scripts and the FIFO once the instances have
    /// ended, at most a notify timeout and a little more.
    pub async fn finish(mut self) {
        self.interfaces.clear();
        let bound = self.notify_timeout + Duration::from_secs(2);
        let all = async { while self.ending.join_next().await.is_some() {} };
        if tokio::time::timeout(bound, all).await.is_err() {
            warn!("notify scripts still running at exit: stopped");
            self.ending.abort_all();
        }
    }
}

fn input(label: String, weight: i32, reverse: bool, rx: watch::Receiver<Level>) -> TrackInput {
    let level = *rx.borrow();
    TrackInput {
        label,
        tracked: Tracked {
            weight,
            reverse,
            level,
        },
        rx,
    }
}
