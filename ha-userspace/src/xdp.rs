//! The XDP datapath at daemon level: load and attach the program once, route
//! its ring-buffer events to the instances, and keep the liveness heartbeat
//! fresh so the kernel answers ARP for our VIPs only while we are alive.

use std::{
    collections::HashMap,
    os::unix::fs::MetadataExt,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, Result};
use ha_common::maps::InstanceKey;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::{
    ebpf::{AttachMode, Datapath, EventStream, PIN_ROOT, monotonic_ns, unpin_all},
    instance::{Inbound, kernel::SharedMaps},
    status::StatusBoard,
};

/// The program, loaded and attached, with its maps.
pub struct Xdp {
    /// Keeps the object (and so its programs) loaded while the daemon runs.
    pub datapath: Datapath,
    /// The maps, shared by the instances.
    pub maps: SharedMaps,
    /// Where everything is pinned.
    pub pin_dir: PathBuf,
}

/// The pin directory of this network namespace: `/sys/fs/bpf/ha/net-INODE`.
///
/// bpffs is shared by every network namespace of the host, so two daemons in
/// two namespaces (containers, or test hosts) must not share pins.
pub fn pin_dir() -> Result<PathBuf> {
    Ok(PathBuf::from(PIN_ROOT).join(format!("net-{}", netns_inode()?)))
}

/// The inode of this process's network namespace: what tells namespaces apart.
pub fn netns_inode() -> Result<u64> {
    let ns = std::fs::metadata("/proc/self/ns/net").context("reading /proc/self/ns/net")?;
    Ok(ns.ino())
}

impl Xdp {
    /// Loads the program into a fresh pin directory (pins of a daemon that was
    /// killed are removed first) and attaches it to every interface in `ifnames`.
    pub fn start(ifnames: &[String], mode: AttachMode) -> Result<Xdp> {
        let pin_dir = remove_leftovers()?;
        let datapath = Datapath::load(&pin_dir).inspect_err(|_| {
            let _ = unpin_all(&pin_dir);
        })?;
        let maps = Arc::new(Mutex::new(datapath.maps().inspect_err(|_| {
            let _ = unpin_all(&pin_dir);
        })?));
        // From here on, any error drops `xdp`, which unpins what was loaded.
        let mut xdp = Xdp {
            datapath,
            maps,
            pin_dir,
        };
        for ifname in ifnames {
            xdp.datapath.attach(ifname, mode).with_context(|| {
                format!(
                    "attaching XDP to {ifname}: if another XDP program is attached there, ha does not replace it; \
                     detach it or set datapath = \"socket\""
                )
            })?;
        }
        Ok(xdp)
    }
}

/// Removes the pins a killed daemon left in this namespace's directory, and
/// with them its XDP program (a pinned link is what keeps it attached): a
/// stale liveness gate must never drop ARP for the daemon that came later,
/// whichever datapath it runs. Returns the directory.
pub fn remove_leftovers() -> Result<PathBuf> {
    let pin_dir = pin_dir()?;
    if pin_dir.exists() {
        tracing::warn!(pins = %pin_dir.display(), "removing the XDP program and pins of an ha that was killed");
        unpin_all(&pin_dir)
            .with_context(|| format!("removing old pins in {}", pin_dir.display()))?;
    }
    Ok(pin_dir)
}

/// Leaving the daemon any way but a crash (a clean exit, or an error after the
/// program was loaded) detaches and unpins everything. After SIGKILL the pins
/// stay, and the stale heartbeat silences the dead host's ARP/NS replies.
impl Drop for Xdp {
    fn drop(&mut self) {
        if let Err(e) = unpin_all(&self.pin_dir) {
            warn!(error = %format!("{e:#}"), "cannot remove the XDP pins");
        }
        // The shared parent goes too once no daemon (no other namespace) uses it;
        // remove_dir refuses a directory that is not empty.
        let _ = std::fs::remove_dir(PIN_ROOT);
    }
}

/// How often the router checks whether the ring buffer overflowed.
const LOST_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Hands each ring-buffer event to the instance it names.
///
/// An event that cannot be delivered (the instance's inbox is full) or that
/// the kernel could not write (the ring was full: `events_dropped`) may have
/// been the one that mattered, a master-down above all: the instances
/// concerned are then asked to resync from the maps, which hold the truth
/// (the last advert heard, whether the master-down timer still runs).
pub async fn route_events(
    mut events: EventStream,
    routes: HashMap<InstanceKey, mpsc::Sender<Inbound>>,
    maps: SharedMaps,
) {
    let mut lagging: std::collections::BTreeSet<InstanceKey> = Default::default();
    let mut dropped_seen = 0;
    let mut check_lost = tokio::time::interval(LOST_CHECK_EVERY);
    check_lost.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            event = events.next() => {
                let event = match event {
                    Ok(e) => e,
                    Err(e) => {
                        warn!(error = %format!("{e:#}"), "reading XDP events failed");
                        return;
                    }
                };
                match routes.get(&event.key) {
                    Some(inbox) => {
                        if inbox.try_send(Inbound::Kernel(event)).is_err() {
                            debug!(key = ?event.key, "instance inbox full; event dropped, resync pending");
                            lagging.insert(event.key);
                        }
                    }
                    None => debug!(key = ?event.key, "event for an unknown instance"),
                }
            }
            _ = check_lost.tick() => {
                let dropped = crate::sync::lock(&maps).stats().map(|s| s.events_dropped);
                if let Ok(dropped) = dropped && dropped > dropped_seen {
                    warn!(lost = dropped - dropped_seen, "the XDP event ring overflowed: every instance resyncs");
                    lagging.extend(routes.keys().copied());
                    dropped_seen = dropped;
                }
            }
            _ = retry.tick(), if !lagging.is_empty() => {}
        }
        lagging.retain(|key| match routes.get(key) {
            Some(inbox) => inbox.try_send(Inbound::KernelResync).is_err(),
            None => false,
        });
    }
}

/// How stale the heartbeat may get before the kernel stops answering ARP and
/// NS for our VIPs: `wanted` (see the daemon), clamped to 50 ms – 1 s. Below
/// 50 ms this VM's scheduling stalls would silence a live master; at 0.01 s
/// adverts a dead host may therefore answer a few ms past the takeover.
pub fn heartbeat_max_age(wanted: Duration) -> Duration {
    wanted.clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Whether anyone needs the heartbeat: the liveness gate only matters while an
/// instance is MASTER (a backup's XDP answers no ARP anyway), so a node that
/// masters nothing does not wake up to beat.
#[derive(Debug)]
pub struct Liveness {
    masters: std::sync::atomic::AtomicUsize,
    wake: tokio::sync::Notify,
    /// How stale the heartbeat may get.
    pub max_age: Duration,
}

impl Liveness {
    /// No master yet.
    pub fn new(max_age: Duration) -> Arc<Liveness> {
        Arc::new(Liveness {
            masters: Default::default(),
            wake: Default::default(),
            max_age,
        })
    }

    /// An instance became MASTER (`true`) or stopped being it (`false`). The
    /// caller beats first when it becomes MASTER, so the gate is open before its
    /// first ARP reply.
    pub fn master(&self, is_master: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if is_master {
            self.masters.fetch_add(1, Relaxed);
            self.wake.notify_one();
        } else {
            let _ = self
                .masters
                .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
        }
    }

    fn any_master(&self) -> bool {
        self.masters.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

/// How often the program's counters are copied into the status file. Each copy
/// rewrites the file (a rename, which on ext4 also flushes it): every second
/// cost an idle backup more CPU than its XDP program at 1 s adverts.
const STATS_EVERY: Duration = Duration::from_secs(5);

/// Keeps the heartbeat fresh (four beats per `max_age`) while any instance is
/// MASTER, and copies the program's counters into the status every
/// [`STATS_EVERY`], on the same wake-ups.
pub async fn heartbeat(maps: SharedMaps, liveness: Arc<Liveness>, board: Arc<StatusBoard>) {
    let period = liveness.max_age / 4;
    let mut last_stats = tokio::time::Instant::now() - STATS_EVERY;
    loop {
        let beating = liveness.any_master();
        {
            let mut maps = crate::sync::lock(&maps);
            if beating && let Err(e) = maps.beat(monotonic_ns(), liveness.max_age.as_nanos() as u64)
            {
                warn!(error = %format!("{e:#}"), "cannot write the heartbeat");
            }
            if last_stats.elapsed() >= STATS_EVERY
                && let Ok(stats) = maps.stats()
            {
                board.set_xdp(stats.fields());
                last_stats = tokio::time::Instant::now();
            }
        }
        if beating {
            tokio::time::sleep(period).await;
        } else {
            tokio::select! {
                () = liveness.wake.notified() => {}
                () = tokio::time::sleep(STATS_EVERY) => {}
            }
        }
    }
}
