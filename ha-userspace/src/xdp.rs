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
    let ns = std::fs::metadata("/proc/self/ns/net").context("reading /proc/self/ns/net")?;
    Ok(PathBuf::from(PIN_ROOT).join(format!("net-{}", ns.ino())))
}

impl Xdp {
    /// Loads the program into a fresh pin directory (pins of a daemon that was
    /// killed are removed first) and attaches it to every interface in `ifnames`.
    pub fn start(ifnames: &[String], mode: AttachMode) -> Result<Xdp> {
        let pin_dir = pin_dir()?;
        unpin_all(&pin_dir)
            .with_context(|| format!("removing old pins in {}", pin_dir.display()))?;
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

/// Leaving the daemon any way but a crash (a clean exit, or an error after the
/// program was loaded) detaches and unpins everything. After SIGKILL the pins
/// stay, and the stale heartbeat silences the dead host's ARP/NS replies.
impl Drop for Xdp {
    fn drop(&mut self) {
        if let Err(e) = unpin_all(&self.pin_dir) {
            warn!(error = %format!("{e:#}"), "cannot remove the XDP pins");
        }
    }
}

/// Hands each ring-buffer event to the instance it names.
pub async fn route_events(
    mut events: EventStream,
    routes: HashMap<InstanceKey, mpsc::Sender<Inbound>>,
) {
    loop {
        let event = match events.next().await {
            Ok(e) => e,
            Err(e) => {
                warn!(error = %format!("{e:#}"), "reading XDP events failed");
                return;
            }
        };
        match routes.get(&event.key) {
            Some(inbox) => {
                if inbox.try_send(Inbound::Kernel(event)).is_err() {
                    debug!(key = ?event.key, "instance inbox full or gone; event dropped");
                }
            }
            None => debug!(key = ?event.key, "event for an unknown instance"),
        }
    }
}

/// How stale the heartbeat may get before the kernel stops answering ARP and
/// NS for our VIPs: `wanted` (see the daemon), clamped to 50 ms – 1 s. Below
/// 50 ms this VM's scheduling stalls would silence a live master; at 0.01 s
/// adverts a dead host may therefore answer a few ms past the takeover.
pub fn heartbeat_max_age(wanted: Duration) -> Duration {
    wanted.clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Refreshes the heartbeat four times per `max_age`, for as long as the
/// daemon's runtime is alive, and copies the program's counters into the
/// status on the same wake-up (at most once a second).
pub async fn heartbeat(maps: SharedMaps, max_age: Duration, board: Arc<StatusBoard>) {
    let period = max_age / 4;
    let stats_every = (Duration::from_secs(1).as_nanos() / period.as_nanos().max(1)).max(1);
    let mut beats: u128 = 0;
    loop {
        {
            let mut maps = maps.lock().expect("maps lock");
            if let Err(e) = maps.beat(monotonic_ns(), max_age.as_nanos() as u64) {
                warn!(error = %format!("{e:#}"), "cannot write the heartbeat");
            }
            if beats.is_multiple_of(stats_every)
                && let Ok(stats) = maps.stats()
            {
                board.set_xdp(stats.fields());
            }
        }
        beats += 1;
        tokio::time::sleep(period).await;
    }
}
