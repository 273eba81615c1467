//! The one place where the daemon's tasks are wired together and shut down.
//!
//! For each (interface, family) one raw socket and one receive task ([`Demux`]);
//! for each instance one task ([`Instance`]); one task watching links; one
//! writing the status file. SIGTERM/SIGINT set the shutdown signal; every
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

use crate::{
    config::{Config, Datapath},
    demux::Demux,
    instance::{Announcer, Instance, LinkChange, Parts},
    net::{GratuitousSender, LinkInfo, NetEvent, Netlink, VrrpSocket},
    status::{InstanceStatus, SocketStatus, StatusBoard},
    wire::Family,
};

/// How the daemon runs, beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where to write the JSON status (none: not written).
    pub status_file: Option<PathBuf>,
}

/// Inbox depth per instance: adverts arrive at most every 10 ms per peer.
const INBOX: usize = 64;

/// One receive socket being assembled.
struct SocketEntry {
    socket: Arc<VrrpSocket>,
    routes: HashMap<u8, mpsc::Sender<crate::demux::RxAdvert>>,
    index: usize,
}

/// Runs every instance of `config` until SIGTERM or SIGINT, then hands over and exits.
pub async fn run(config: Config, opts: Options) -> Result<()> {
    let netlink = Netlink::new().context("opening rtnetlink")?;
    let epoch = Instant::now();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (links_tx, _) = broadcast::channel::<LinkChange>(64);

    let mut links: HashMap<String, LinkInfo> = HashMap::new();
    let mut sockets: HashMap<(u32, Family), SocketEntry> = HashMap::new();
    let mut socket_status = Vec::new();
    let mut instance_status = Vec::new();
    let mut senders: HashMap<u32, Arc<GratuitousSender>> = HashMap::new();
    let mut parts = Vec::new();

    for (index, cfg) in config.instances.iter().enumerate() {
        if cfg.datapath == Datapath::Xdp && index == 0 {
            info!("datapath \"xdp\" is not in this build yet: adverts are received on raw sockets");
        }
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
        entry.routes.insert(cfg.vrid, tx);

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
    let events = netlink.events().context("subscribing to link events")?;
    background.spawn(watch_links(events, links_tx.clone()));

    let mut instances = JoinSet::new();
    for (index, (cfg, (ifindex, socket, vips, announcer, inbox))) in
        config.instances.iter().zip(parts).enumerate()
    {
        let instance = Instance::new(Parts {
            index,
            cfg: cfg.clone(),
            ifindex,
            socket,
            vips,
            announcer,
            netlink: netlink.clone(),
            inbox,
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
    if let Some(path) = &opts.status_file {
        board.write(path);
    }
    info!("ha stopped");
    Ok(())
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
