//! Health checks at run time: keepalived's `vrrp_script`, ha's built-in
//! TCP/HTTP checks, `track_file`, `vrrp_track_process` and the real servers
//! of `virtual_server` blocks.
//!
//! Each check, file and process runs once, however many instances follow
//! it (keepalived runs one script for all instances tracking it), and
//! publishes its [`Level`] on a [`watch`] channel; an instance subscribes
//! by name and turns the levels of everything it tracks into a priority and
//! a FAULT verdict with [`weight::effect`].
//!
//! [`Health::new`] builds the channels and hands back the futures that do
//! the work; the daemon spawns them as named tasks. They never end on their
//! own; dropping them stops the checks (a running script is killed with its
//! process group, `kill_on_drop`).

pub mod check;
pub mod file;
pub mod http;
pub mod hysteresis;
pub mod probe;
pub mod process;
pub mod real_server;
pub mod weight;

use std::{collections::HashMap, future::Future, net::SocketAddr, pin::Pin};

use serde::Serialize;
use tokio::sync::watch;
use tracing::{error, warn};

pub use weight::{Effect, Level, Tracked, effect};

use crate::{
    config::model::{Check, Config, Probe},
    exec,
};

/// A future the daemon spawns, with the name to log it by.
pub type Task = (String, Pin<Box<dyn Future<Output = ()> + Send>>);

/// One check's details for the status file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The check, file or process name; `VIP:PORT -> RIP:PORT` for a real
    /// server.
    pub name: String,
    /// `script`, `tcp`, `http`, `file`, `process` or `real_server`.
    pub kind: String,
    /// `init`, `up`, `down`, `disabled`, `value N`, …
    pub state: String,
    /// Failures in a row (checks only).
    pub failures: u32,
    /// The reason of the last failure, if any.
    pub last_error: Option<String>,
}

/// A published level and status.
struct Published {
    level: watch::Receiver<Level>,
    status: watch::Receiver<Status>,
}

/// The levels of every check, file and process, by name.
pub struct Health {
    checks: HashMap<String, Published>,
    files: HashMap<String, Published>,
    processes: HashMap<String, Published>,
    real_servers: Vec<watch::Receiver<Status>>,
}

impl Health {
    /// The channels for everything `config` declares, and the tasks that
    /// feed them. Scripts run as `config.global.script_user` unless they
    /// name their own; with `config.global.script_security`, a script run
    /// as root that a non-root user could change is never run
    /// ([`Level::Disabled`]), as keepalived's `enable_script_security`.
    pub fn new(config: &Config) -> (Health, Vec<Task>) {
        let runner = exec::Runner::from_global(&config.global);
        let mut tasks: Vec<Task> = Vec::new();
        let mut health = Health {
            checks: HashMap::new(),
            files: HashMap::new(),
            processes: HashMap::new(),
            real_servers: Vec::new(),
        };
        for c in &config.checks {
            let (level, status, published) = channels(&c.name, probe_kind(&c.probe));
            health.checks.insert(c.name.clone(), published);
            if let Some(why) = refused(c, &runner, config.global.script_security) {
                error!("check {}: {why}: disabled (script_security)", c.name);
                level.send_replace(Level::Disabled);
                status.send_modify(|s| {
                    s.state = "disabled".into();
                    s.last_error = Some(why);
                });
                continue;
            }
            let fut = check::run(c.clone(), runner.clone(), level, status);
            tasks.push((format!("check {}", c.name), Box::pin(fut)));
        }
        for f in &config.track_files {
            let (level, status, published) = channels(&f.name, "file");
            health.files.insert(f.name.clone(), published);
            let fut = file::run(f.clone(), level, status);
            tasks.push((format!("track_file {}", f.name), Box::pin(fut)));
        }
        for p in &config.track_processes {
            let (level, status, published) = channels(&p.name, "process");
            health.processes.insert(p.name.clone(), published);
            let fut = process::run(p.clone(), level, status);
            tasks.push((format!("track_process {}", p.name), Box::pin(fut)));
        }
        for vs in &config.virtual_servers {
            for rs in &vs.real_servers {
                let name = format!(
                    "{} -> {}",
                    SocketAddr::new(vs.addr, vs.port),
                    SocketAddr::new(rs.addr, rs.port)
                );
                let (status, rx) = watch::channel(Status {
                    name: name.clone(),
                    kind: "real_server".into(),
                    state: "up".into(),
                    ..Status::default()
                });
                health.real_servers.push(rx);
                let fut = real_server::run(rs.clone(), vs.delay_loop, runner.clone(), status);
                tasks.push((format!("real_server {name}"), Box::pin(fut)));
            }
        }
        (health, tasks)
    }

    /// The level of check `name` (keepalived's `track_script`).
    pub fn check(&self, name: &str) -> Option<watch::Receiver<Level>> {
        self.checks.get(name).map(|p| p.level.clone())
    }

    /// The value of tracked file `name` ([`Level::Value`]).
    pub fn file(&self, name: &str) -> Option<watch::Receiver<Level>> {
        self.files.get(name).map(|p| p.level.clone())
    }

    /// The level of tracked process `name`.
    pub fn process(&self, name: &str) -> Option<watch::Receiver<Level>> {
        self.processes.get(name).map(|p| p.level.clone())
    }

    /// Every check, file, process and real server, for the status file,
    /// sorted by kind and name.
    pub fn statuses(&self) -> Vec<Status> {
        snapshot(&mut self.status_receivers())
    }

    /// Reports every check's status to `publish` whenever one changes, until
    /// the checks are gone (the daemon's status task).
    pub fn publish_statuses(
        &self,
        publish: impl Fn(Vec<Status>) + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let mut all = self.status_receivers();
        async move {
            loop {
                publish(snapshot(&mut all));
                if all.is_empty() {
                    return std::future::pending().await;
                }
                let waits = all.iter_mut().map(|r| Box::pin(r.changed()));
                if futures::future::select_all(waits).await.0.is_err() {
                    // The checks are gone: the daemon is stopping.
                    return std::future::pending().await;
                }
            }
        }
    }

    /// The status channel of every check, file, process and real server.
    fn status_receivers(&self) -> Vec<watch::Receiver<Status>> {
        self.checks
            .values()
            .chain(self.files.values())
            .chain(self.processes.values())
            .map(|p| p.status.clone())
            .chain(self.real_servers.iter().cloned())
            .collect()
    }
}

/// The statuses now, sorted by kind and name, each marked as seen.
fn snapshot(all: &mut [watch::Receiver<Status>]) -> Vec<Status> {
    let mut now: Vec<Status> = all
        .iter_mut()
        .map(|r| r.borrow_and_update().clone())
        .collect();
    now.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    now
}

/// The channels of one check, file or process.
fn channels(name: &str, kind: &str) -> (watch::Sender<Level>, watch::Sender<Status>, Published) {
    let (level_tx, level) = watch::channel(Level::Init);
    let (status_tx, status) = watch::channel(Status {
        name: name.to_string(),
        kind: kind.to_string(),
        state: "init".into(),
        ..Status::default()
    });
    (level_tx, status_tx, Published { level, status })
}

fn probe_kind(p: &Probe) -> &'static str {
    match p {
        Probe::Script(_) => "script",
        Probe::Tcp { .. } => "tcp",
        Probe::Http { .. } => "http",
    }
}

/// Why keepalived's script security refuses `c`'s program, if it does: it
/// runs as root (uid or gid 0) and it, or a directory above it, is not
/// root's alone. Without `script_security` that is only a warning.
fn refused(c: &Check, runner: &exec::Runner, script_security: bool) -> Option<String> {
    let Probe::Script(cmd) = &c.probe else {
        return None;
    };
    // An unknown user is reported at each run attempt (once) instead.
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = match runner.ids(cmd) {
        Ok(Some(ids)) => (ids.uid, ids.gid),
        _ => unsafe { (libc::getuid(), libc::getgid()) },
    };
    if uid != 0 && gid != 0 {
        return None;
    }
    let program = exec::path::resolve_program(cmd.argv.first()?)?;
    if !program.exists() {
        return None; // reported by each run, once
    }
    let why = exec::path::insecure(&program)?;
    if script_security {
        Some(format!(
            "unsafe to run {} as root: {why}",
            program.display()
        ))
    } else {
        warn!(
            "check {}: {why} (enable script_security to refuse it)",
            c.name
        );
        None
    }
}
