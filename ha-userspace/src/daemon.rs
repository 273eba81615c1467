//! The one place where the daemon's tasks are wired together and shut down.
//!
//! For each (interface, family) one raw socket and one receive task ([`Demux`]);
//! for each instance one task ([`Instance`]); for each socket and advert
//! interval one task sending the masters' periodic adverts together
//! ([`AdvertTicker`]); one task watching links; one
//! writing the status file; with the XDP datapath, the program attached to
//! every VRRP interface, one task routing its events and one keeping its
//! heartbeat fresh. SIGTERM/SIGINT set the shutdown signal; every
//! instance then hands over (make-before-break by default) and removes its VIPs,
//! and the daemon exits when the last instance has finished.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use anyhow::{Context, Result, bail};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::{broadcast, mpsc, watch},
    task::JoinSet,
    time::Instant,
};
use tracing::{info, warn};

use ha_common::InstanceKey;

use crate::{
    config::{Config, Datapath},
    demux::Demux,
    ebpf::{AttachMode, EventStream, monotonic_ns},
    instance::{Announcer, Inbound, Instance, LinkChange, Parts, XdpParts},
    net::{GratuitousSender, LinkInfo, NetEvent, Netlink, VrrpSocket},
    status::{InstanceStatus, SocketStatus, StatusBoard},
    ticker::AdvertTicker,
    vrrp::{Version, timers},
    wire::Family,
    xdp::{self, Xdp},
};

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

/// Runs every instance of `config` until SIGTERM or SIGINT, then hands over and exits.
pub async fn run(config: Config, opts: Options) -> Result<()> {
    let netlink = Netlink::new().context("opening rtnetlink")?;
    let epoch = Instant::now();
    let epoch_ns = monotonic_ns();
    let xdp = start_xdp(&config, opts.xdp_mode)?;
    let liveness = xdp::Liveness::new(heartbeat_max_age(&config));
    let mut event_routes = HashMap::new();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (links_tx, _) = broadcast::channel::<LinkChange>(64);

    let mut links: HashMap<String, LinkInfo> = HashMap::new();
    let mut sockets: HashMap<(u32, Family), SocketEntry> = HashMap::new();
    let mut socket_status = Vec::new();
    let mut instance_status = Vec::new();
    let mut senders: HashMap<u32, Arc<GratuitousSender>> = HashMap::new();
    let mut parts = Vec::new();

    for cfg in &config.instances {
        let Some(ifname) = cfg.interface.clone() else {
            bail!(
                "instance {}: an instance without `interface` is not supported yet",
                cfg.name
            );
        };
        let link = lookup(&netlink, &mut links, &ifname).await?;
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
                event_routes.insert(key, tx);
                let mac = link.mac().map(|m| m.0).unwrap_or_default();
                Some(XdpParts {
                    maps: x.maps.clone(),
                    epoch_ns,
                    mac,
                    key,
                    liveness: liveness.clone(),
                })
            }
            _ => {
                entry.routes.insert(cfg.vrid, tx);
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
        parts.push((
            link.ifindex(),
            entry.socket.clone(),
            vips,
            Announcer::new(targets, cfg.garp.clone()),
            inbox,
            xdp_parts,
        ));
    }

    let board = StatusBoard::new(instance_status, socket_status);
    let mut background = JoinSet::new();
    if let Some(path) = opts.status_file.clone() {
        board.write(&path);
        background.spawn(board.clone().write_loop(path));
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
        background.spawn(xdp::route_events(events, event_routes));
        background.spawn(xdp::heartbeat(
            x.maps.clone(),
            liveness.clone(),
            board.clone(),
        ));
    }
    let events = netlink.events().context("subscribing to link events")?;
    background.spawn(watch_links(events, links_tx.clone()));

    let mut instances = JoinSet::new();
    // One advert ticker per socket and interval (keyed by the socket's address).
    let mut tickers: HashMap<(usize, u16), Arc<AdvertTicker>> = HashMap::new();
    for (index, (cfg, (ifindex, socket, vips, announcer, inbox, xdp_parts))) in
        config.instances.iter().zip(parts).enumerate()
    {
        let ticker = tickers
            .entry((Arc::as_ptr(&socket) as usize, cfg.advert_int_cs))
            .or_insert_with(|| {
                let t = AdvertTicker::new(socket.clone(), cfg.advert_int(), board.clone());
                background.spawn(t.clone().run());
                t
            })
            .clone();
        let instance = Instance::new(Parts {
            index,
            cfg: cfg.clone(),
            ifindex,
            socket,
            ticker,
            vips,
            announcer,
            netlink: netlink.clone(),
            inbox,
            xdp: xdp_parts,
            board: board.clone(),
            epoch,
        })?;
        instances.spawn(instance.run(shutdown_rx.clone(), links_tx.subscribe()));
    }
    info!(instances = config.instances.len(), "ha running");

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: handing over"),
            _ = int.recv() => info!("SIGINT: handing over"),
            done = instances.join_next() => match done {
                None => break,
                Some(Err(e)) => warn!(error = %e, "an instance task failed"),
                Some(Ok(())) => continue,
            },
        }
        let _ = shutdown_tx.send(true);
        while let Some(done) = instances.join_next().await {
            if let Err(e) = done {
                warn!(error = %e, "an instance task failed");
            }
        }
        break;
    }
    background.abort_all();
    drop(xdp); // detaches and unpins
    if let Some(path) = &opts.status_file {
        board.write(path);
    }
    info!("ha stopped");
    Ok(())
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

/// Turns kernel link messages into up/down changes for the instances.
async fn watch_links(mut events: crate::net::NetEvents, tx: broadcast::Sender<LinkChange>) {
    let mut last: HashMap<u32, bool> = HashMap::new();
    while let Some(event) = events.recv().await {
        if let NetEvent::Link(state) = event {
            let up = state.is_up();
            if last.insert(state.ifindex, up) != Some(up) {
                let _ = tx.send((state.ifindex, up));
            }
        }
    }
    warn!("link event subscription ended: link changes are no longer seen");
}
