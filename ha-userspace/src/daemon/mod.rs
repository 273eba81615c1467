//! The supervisor: builds the daemon's tasks, keeps a registry of its
//! running instances, watches every task, and owns shutdown.
//!
//! For each (interface, family) one raw socket and one receive task ([`Demux`]);
//! for each instance one task ([`Instance`]); for each socket and advert
//! interval one task sending the masters' periodic adverts together
//! ([`AdvertTicker`]); one task watching links; one writing the status file;
//! with the XDP datapath, the program attached to every VRRP interface, one
//! task routing its events and one keeping its heartbeat fresh.
//!
//! Shutdown comes in as a future (SIGTERM/SIGINT for `ha run`): every instance
//! then hands over (make-before-break by default) and removes its VIPs, and
//! the daemon exits when the last one has finished. A task that fails (an
//! instance that panics, a background task that ends) is logged; the VIPs of a
//! dead instance are removed, every other instance hands over, and the daemon
//! exits with an error: never half alive.

mod group;
mod lock;
mod registry;
mod services;
mod signals;
mod tasks;

use std::{collections::HashMap, future::Future, path::PathBuf, sync::Arc};

use anyhow::{Context, Result, anyhow, bail};
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
    time::Instant,
};
use tracing::{error, info, warn};

use ha_common::InstanceKey;

pub use lock::NamespaceLock;
pub use signals::Signals;

use crate::{
    config::{Config, Datapath},
    demux::Demux,
    ebpf::{AttachMode, EventStream, monotonic_ns},
    health::Level,
    instance::{Announcer, Inbound, Instance, Parts, XdpParts},
    net::{GratuitousSender, LinkInfo, NetEvent, Netlink, VrrpSocket},
    status::{InstanceStatus, SocketStatus, StatusBoard},
    ticker::AdvertTicker,
    vrrp::{Version, timers},
    wire::Family,
    xdp::{self, Xdp},
};
use registry::{Entry, Registry};
use services::Services;
use tasks::Background;

/// How the daemon runs, beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where to write the JSON status (none: not written).
    pub status_file: Option<PathBuf>,
    /// How the XDP program is attached (native first by default).
    pub xdp_mode: AttachMode,
}

/// Inbox depth per instance: adverts arrive at most every 10 ms per peer.
const INBOX: usize = 64;

/// One receive socket being assembled.
struct SocketEntry {
    socket: Arc<VrrpSocket>,
    routes: HashMap<u8, mpsc::Sender<Inbound>>,
    index: usize,
}

/// Runs every instance of `config` until `stop` resolves, then hands over and
/// returns; an error if a task failed on the way (after the handover).
///
/// An interface that is deleted and created again (a new ifindex: sockets,
/// XDP attachment and map keys all name the old one) makes every instance
/// hand over and start again on the interfaces as they are now.
pub async fn run(config: Config, opts: Options, stop: impl Future<Output = ()>) -> Result<()> {
    let mut stop = std::pin::pin!(stop);
    if !config.global.startup_delay.is_zero() {
        // keepalived's `vrrp_startup_delay`: after a boot the network may
        // take a moment; no instance runs (nor claims anything) before then.
        info!(delay = ?config.global.startup_delay, "waiting before starting the instances (vrrp_startup_delay)");
        tokio::select! {
            () = tokio::time::sleep(config.global.startup_delay) => {}
            () = stop.as_mut() => return Ok(()),
        }
    }
    loop {
        match run_once(&config, &opts, stop.as_mut()).await? {
            Outcome::Stopped => return Ok(()),
            Outcome::Recreated(name) => {
                warn!(interface = %name, "interface re-created: starting every instance again");
            }
        }
    }
}

/// How one run of the instances ended, without a failure.
enum Outcome {
    /// `stop` resolved.
    Stopped,
    /// This interface was deleted and created again.
    Recreated(String),
}

/// One run of every instance; see [`run`].
async fn run_once(
    config: &Config,
    opts: &Options,
    stop: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<Outcome> {
    let _lock = NamespaceLock::acquire(xdp::netns_inode()?)?;
    let netlink = Netlink::new().context("opening rtnetlink")?;
    // Subscribed before any link is looked up, so no change falls in between.
    let events = netlink.events().context("subscribing to link events")?;
    let epoch = Instant::now();
    let epoch_ns = monotonic_ns();
    let xdp = start_xdp(config, opts.xdp_mode)?;
    let liveness = xdp::Liveness::new(heartbeat_max_age(config));
    let mut event_routes = HashMap::new();

    let mut links: HashMap<String, LinkInfo> = HashMap::new();
    let mut sockets: HashMap<(u32, Family), SocketEntry> = HashMap::new();
    let mut socket_status = Vec::new();
    let mut instance_status = Vec::new();
    let mut senders: HashMap<u32, Arc<GratuitousSender>> = HashMap::new();
    let mut registry = Registry::default();
    let mut parts = Vec::new();
    let mut background = Background::default();
    let mut services = Services::start(config, &netlink, &mut background).await?;

    for cfg in &config.instances {
        let Some(ifname) = cfg.interface.clone() else {
            bail!(
                "instance {}: an instance without `interface` is not supported yet",
                cfg.name
            );
        };
        let link = lookup(&netlink, &mut links, &ifname).await?;
        if cfg.datapath == Datapath::Socket
            && let Some(id) = link.link.xdp_prog_id
        {
            // Not ours (ours is gone by now): it sees adverts and ARP first.
            warn!(
                instance = %cfg.name,
                interface = %ifname,
                prog_id = id,
                "another XDP program is attached here: it may drop VRRP adverts or ARP before ha sees them"
            );
        }
        let family = if cfg.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        };
        let entry = match sockets.entry((link.ifindex(), family)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let socket = VrrpSocket::for_link(&link, family)
                    .with_context(|| format!("instance {}: opening its VRRP socket", cfg.name))?;
                socket_status.push(SocketStatus {
                    interface: ifname.clone(),
                    family: family.to_string(),
                    ..Default::default()
                });
                v.insert(SocketEntry {
                    socket: Arc::new(socket),
                    routes: HashMap::new(),
                    index: socket_status.len() - 1,
                })
            }
        };
        let (tx, inbox) = mpsc::channel(INBOX);
        let xdp_parts = match (&xdp, cfg.datapath) {
            (Some(x), Datapath::Xdp) => {
                let family = if family == Family::Ipv6 {
                    ha_common::maps::family::V6
                } else {
                    ha_common::maps::family::V4
                };
                let key = InstanceKey::new(link.ifindex(), cfg.vrid, family);
                event_routes.insert(key, tx.clone());
                let mac = link.mac().map(|m| m.0).unwrap_or_default();
                Some(XdpParts {
                    maps: x.maps.clone(),
                    epoch_ns,
                    mac,
                    key,
                    liveness: liveness.clone(),
                    na_router: family == ha_common::maps::family::V6
                        && crate::net::garp::ipv6_forwarding(&ifname),
                })
            }
            _ => {
                entry.routes.insert(cfg.vrid, tx.clone());
                None
            }
        };

        let mut vips = Vec::new();
        let mut targets = Vec::new();
        for vip in cfg.vips.iter().chain(&cfg.excluded_vips) {
            let vlink = match &vip.dev {
                Some(dev) => lookup(&netlink, &mut links, dev).await?,
                None => link.clone(),
            };
            let sender = match senders.get(&vlink.ifindex()) {
                Some(s) => s.clone(),
                None => {
                    let s = Arc::new(GratuitousSender::for_link(&vlink)?);
                    senders.insert(vlink.ifindex(), s.clone());
                    s
                }
            };
            vips.push((vlink.ifindex(), vip.clone()));
            targets.push((sender, vip.addr));
        }
        instance_status.push(InstanceStatus {
            name: cfg.name.clone(),
            vrid: cfg.vrid,
            interface: ifname,
            state: "init".into(),
            priority: cfg.priority,
            ..Default::default()
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        registry.insert(
            cfg.name.clone(),
            Entry {
                inbox: tx,
                stop: stop_tx,
                status: instance_status.len() - 1,
                ifindex: link.ifindex(),
                vips: vips.clone(),
            },
        );
        parts.push((
            link.ifindex(),
            link.is_up(),
            entry.socket.clone(),
            vips,
            Announcer::new(targets, cfg.garp.clone()),
            inbox,
            xdp_parts,
            stop_rx,
        ));
    }

    let board = StatusBoard::new(instance_status, socket_status);
    background.spawn("check status", services.status_task(board.clone()));
    if let Some(path) = opts.status_file.clone() {
        board.write(&path);
        background.spawn("status writer", board.clone().write_loop(path));
    }
    for entry in sockets.into_values() {
        // The socket joined the VRRP group when opened; unicast adverts reach it
        // too (a raw socket gets every IPPROTO_VRRP datagram of its interface).
        if entry.routes.is_empty() {
            // Every instance on this socket listens through XDP; it only sends.
            entry.socket.stop_receiving()?;
            continue;
        }
        background.spawn(
            "advert receiver",
            Demux {
                socket: entry.socket,
                routes: entry.routes,
                board: board.clone(),
                index: entry.index,
            }
            .run(),
        );
    }
    if let Some(x) = &xdp {
        let events = EventStream::open(&x.pin_dir)?;
        background.spawn(
            "XDP event router",
            xdp::route_events(events, event_routes, x.maps.clone()),
        );
        background.spawn(
            "XDP heartbeat",
            xdp::heartbeat(x.maps.clone(), liveness.clone(), board.clone()),
        );
    }
    let mut instances = JoinSet::new();
    // One advert ticker per socket and interval (keyed by the socket's address).
    let mut tickers: HashMap<(usize, u16), Arc<AdvertTicker>> = HashMap::new();
    for (index, (cfg, (ifindex, link_up, socket, vips, announcer, inbox, xdp_parts, stop_rx))) in
        config.instances.iter().zip(parts).enumerate()
    {
        let ticker = tickers
            .entry((Arc::as_ptr(&socket) as usize, cfg.advert_int_cs))
            .or_insert_with(|| {
                let t = AdvertTicker::new(socket.clone(), cfg.advert_int(), board.clone());
                background.spawn("advert ticker", t.clone().run());
                t
            })
            .clone();
        let instance = Instance::new(Parts {
            index,
            cfg: cfg.clone(),
            ifindex,
            link_up,
            socket,
            ticker,
            vips,
            announcer,
            netlink: netlink.clone(),
            inbox,
            xdp: xdp_parts,
            board: board.clone(),
            epoch,
            tracking: services.tracking(config, cfg),
            notifier: services.notifier(cfg),
            group: services.group_link(&cfg.name),
        })?;
        let task = instances.spawn(instance.run(stop_rx));
        registry.bind(task.id(), &cfg.name);
    }
    services.start_groups(&registry.inboxes());
    let (recreated_tx, mut recreated) = mpsc::channel(1);
    let names = links
        .iter()
        .map(|(name, l)| (name.clone(), l.ifindex()))
        .collect();
    background.spawn(
        "link watcher",
        watch_links(
            netlink.clone(),
            events,
            registry.link_routes(),
            names,
            recreated_tx,
            std::mem::take(&mut services.interfaces),
        ),
    );

    info!(instances = config.instances.len(), "ha running");

    let (failure, recreated) = supervise(
        &mut registry,
        &mut instances,
        &mut background,
        &netlink,
        &board,
        stop,
        &mut recreated,
    )
    .await;
    background.abort_all();
    // The STOP scripts, the FIFO's last lines and the groups' STOP.
    services.finish().await;
    drop(xdp); // detaches and unpins
    if let Some(path) = &opts.status_file {
        board.write(path);
    }
    match (failure, recreated) {
        (None, Some(name)) => Ok(Outcome::Recreated(name)),
        (None, None) => {
            info!("ha stopped");
            Ok(Outcome::Stopped)
        }
        (Some(e), _) => {
            error!(error = %format!("{e:#}"), "ha stopped after a failure");
            Err(e)
        }
    }
}

/// Watches the instances and the background tasks until every instance has
/// finished. `stop`, a re-created interface, a failed instance or a
/// background task that ends all make every instance hand over; the first
/// failure is returned, and the re-created interface if that was the cause.
async fn supervise(
    registry: &mut Registry,
    instances: &mut JoinSet<()>,
    background: &mut Background,
    netlink: &Netlink,
    board: &StatusBoard,
    mut stop: std::pin::Pin<&mut impl Future<Output = ()>>,
    recreated: &mut mpsc::Receiver<String>,
) -> (Option<anyhow::Error>, Option<String>) {
    let mut stopping = false;
    let mut failure: Option<anyhow::Error> = None;
    let mut restart = None;
    while !registry.is_empty() {
        let failed = tokio::select! {
            () = &mut stop, if !stopping => None,
            Some(name) = recreated.recv(), if !stopping => {
                restart = Some(name);
                None
            }
            done = instances.join_next_with_id() => match done {
                None => break,
                Some(Ok((id, ()))) => {
                    let name = registry.remove_task(id).map(|(n, _)| n).unwrap_or_default();
                    if stopping {
                        continue;
                    }
                    Some(anyhow!("instance {name} stopped on its own"))
                }
                Some(Err(e)) => {
                    let (name, entry) = match registry.remove_task(e.id()) {
                        Some(found) => found,
                        None => continue,
                    };
                    error!(instance = %name, error = %e, "instance task failed: removing its VIPs");
                    release_vips(netlink, &name, &entry).await;
                    board.instance(entry.status, |s| s.state = "failed".into());
                    Some(anyhow!("instance {name} failed: {e}"))
                }
            },
            (name, ended) = background.next(), if !background.is_empty() => {
                match ended {
                    Ok(()) => Some(anyhow!("the {name} task ended")),
                    Err(e) => Some(anyhow!("the {name} task failed: {e}")),
                }
            }
        };
        if let Some(e) = failed {
            error!(error = %format!("{e:#}"), remaining = registry.len(), "a task failed: every instance hands over");
            failure.get_or_insert(e);
        }
        if !stopping {
            stopping = true;
            registry.stop_all();
        }
    }
    (failure, restart)
}

/// Removes every VIP of an instance whose task died without doing it.
async fn release_vips(netlink: &Netlink, name: &str, entry: &Entry) {
    for (ifindex, vip) in &entry.vips {
        if let Err(e) = netlink.del_vip(*ifindex, vip.addr, vip.prefix_len).await {
            warn!(instance = %name, vip = %vip.addr, error = %e, "cannot remove VIP");
        }
    }
}

/// Loads and attaches the XDP program on the interfaces of the instances that
/// use it; `None` when every instance runs on raw sockets.
fn start_xdp(config: &Config, mode: AttachMode) -> Result<Option<Xdp>> {
    let mut ifnames: Vec<String> = config
        .instances
        .iter()
        .filter(|i| i.datapath == Datapath::Xdp)
        .filter_map(|i| i.interface.clone())
        .collect();
    ifnames.sort();
    ifnames.dedup();
    if ifnames.is_empty() {
        xdp::remove_leftovers()?;
        return Ok(None);
    }
    Xdp::start(&ifnames, mode).map(Some)
}

/// The heartbeat's maximum age. A backup takes over Master_Down_Interval after
/// the last advert it heard, and that advert went out up to one interval before
/// the daemon died; so a heartbeat that goes stale within Master_Down_Interval
/// minus one interval of the death silences the dead host's ARP/NS replies
/// before any backup takes over (at our own priority, the shortest interval
/// any backup of ours can have).
fn heartbeat_max_age(config: &Config) -> std::time::Duration {
    let fastest = config
        .instances
        .iter()
        .filter(|i| i.datapath == Datapath::Xdp)
        .map(|i| {
            let version = if i.version == 3 {
                Version::V3
            } else {
                Version::V2
            };
            timers::master_down_interval(version, i.priority, i.advert_int_cs)
                .saturating_sub(i.advert_int())
        })
        .min()
        .unwrap_or(std::time::Duration::from_secs(1));
    xdp::heartbeat_max_age(fastest)
}

/// The interface `name`, looked up once.
async fn lookup(
    netlink: &Netlink,
    links: &mut HashMap<String, LinkInfo>,
    name: &str,
) -> Result<LinkInfo> {
    if let Some(l) = links.get(name) {
        return Ok(l.clone());
    }
    let link = netlink.link_by_name(name).await?;
    links.insert(name.to_string(), link.clone());
    Ok(link)
}

/// Turns kernel link messages into up/down changes for the instances on
/// each interface (a deleted interface is down). Every instance is told, in
/// order, nothing dropped. When the kernel dropped events (the subscription
/// ends on a netlink overrun) it subscribes again and has every instance read
/// its link state afresh; it ends, and so stops the daemon, only if that fails.
///
/// A configured interface (`names`: name → ifindex at start) that shows up
/// again under another index was deleted and created again: it says so on
/// `recreated`, once, for the supervisor to start the instances again.
///
/// Tracked interfaces (`track_interface`, `tracked`: name → level) follow
/// the same events, by name, so one deleted and created again is followed
/// under its new index.
async fn watch_links(
    netlink: Netlink,
    mut events: crate::net::NetEvents,
    routes: Vec<(u32, mpsc::Sender<Inbound>)>,
    mut names: HashMap<String, u32>,
    recreated: mpsc::Sender<String>,
    tracked: HashMap<String, watch::Sender<Level>>,
) {
    loop {
        let mut last: HashMap<u32, bool> = HashMap::new();
        while let Some(event) = events.recv().await {
            match &event {
                NetEvent::Link(state) => {
                    if let Some(level) = tracked.get(&state.name) {
                        level.send_if_modified(|l| set_level(l, state.is_up()));
                    }
                }
                NetEvent::LinkRemoved { name, .. } => {
                    if let Some(level) = tracked.get(name) {
                        level.send_if_modified(|l| set_level(l, false));
                    }
                }
                _ => {}
            }
            if let NetEvent::Link(state) = &event
                && names
                    .get(&state.name)
                    .is_some_and(|known| *known != state.ifindex)
            {
                names.remove(&state.name);
                let _ = recreated.try_send(state.name.clone());
            }
            let (ifindex, up) = match event {
                NetEvent::Link(state) => (state.ifindex, state.is_up()),
                NetEvent::LinkRemoved { ifindex, .. } => (ifindex, false),
                _ => continue,
            };
            if last.insert(ifindex, up) == Some(up) {
                continue;
            }
            for (_, inbox) in routes.iter().filter(|(i, _)| *i == ifindex) {
                let _ = inbox.send(Inbound::Link { up }).await;
            }
        }
        warn!("link events were lost (netlink overrun): reading every link again");
        events = match netlink.events() {
            Ok(events) => events,
            Err(e) => return error!(error = %e, "cannot subscribe to link events again"),
        };
        for (_, inbox) in &routes {
            let _ = inbox.send(Inbound::LinkResync).await;
        }
        for (name, level) in &tracked {
            let up = match netlink.link_by_name(name).await {
                Ok(link) => link.is_up(),
                Err(_) => false,
            };
            level.send_if_modified(|l| set_level(l, up));
        }
    }
}

/// Sets a tracked interface's level; true if it changed.
fn set_level(level: &mut Level, up: bool) -> bool {
    let new = if up { Level::Up } else { Level::Down };
    let changed = *level != new;
    *level = new;
    changed
}
