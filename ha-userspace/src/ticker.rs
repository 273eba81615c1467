//! The periodic adverts of master instances, sent together.
//!
//! RFC 5798 §6.4.3: a master sends an advert every Advertisement_Interval. Each
//! instance doing so on its own timer wakes the daemon once per instance per
//! interval (5000 times a second for 50 instances at 0.01 s). Instead, every
//! instance that is master on one socket with one interval hands its advert to
//! that group's [`AdvertTicker`], which wakes once per interval and sends all of
//! them with one `sendmmsg`.
//!
//! Only the periodic adverts go this way. The ones the state machine sends at
//! once (on becoming master, in answer to a priority-0 or lower-priority advert,
//! priority 0 on leaving) are still sent by the instance when it decides them;
//! an instance's first periodic advert then follows within one interval, early
//! rather than late, which only makes backups restart their timers sooner.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering::Relaxed},
    },
    time::Duration,
};

use tokio::{sync::Notify, time::MissedTickBehavior};
use tracing::warn;

use crate::{net::VrrpSocket, status::StatusBoard};

/// One advert datagram: payload, source, destination.
pub type Datagram = (Vec<u8>, IpAddr, IpAddr);

/// What one master hands the ticker.
#[derive(Clone)]
struct Periodic {
    datagrams: Arc<Vec<Datagram>>,
    /// Woken when one of them could not be sent: a master nobody hears must
    /// not go on holding the VIPs (the instance goes to Fault).
    failed: Arc<Notify>,
}

/// The periodic adverts of one socket and one interval.
pub struct AdvertTicker {
    socket: Arc<VrrpSocket>,
    interval: Duration,
    board: Arc<StatusBoard>,
    /// By instance index (the status board's): what it sends every interval.
    adverts: Mutex<BTreeMap<usize, Periodic>>,
    /// A first instance joined an idle ticker.
    joined: Notify,
    /// The last send failed: warn once per run of failures (a down link fails
    /// every tick until the instances leave master).
    failing: AtomicBool,
}

impl AdvertTicker {
    /// A ticker for adverts every `interval` on `socket`; nothing is sent until
    /// an instance [`set`](Self::set)s its adverts and [`run`](Self::run) runs.
    pub fn new(socket: Arc<VrrpSocket>, interval: Duration, board: Arc<StatusBoard>) -> Arc<Self> {
        Arc::new(AdvertTicker {
            socket,
            interval,
            board,
            adverts: Mutex::new(BTreeMap::new()),
            joined: Notify::new(),
            failing: AtomicBool::new(false),
        })
    }

    /// Instance `index` is master: send these every interval from now on
    /// (replacing what it sent before), and wake `failed` when a send fails.
    pub fn set(&self, index: usize, datagrams: Vec<Datagram>, failed: Arc<Notify>) {
        let was_idle = {
            let mut adverts = crate::sync::lock(&self.adverts);
            let was_idle = adverts.is_empty();
            let periodic = Periodic {
                datagrams: Arc::new(datagrams),
                failed,
            };
            adverts.insert(index, periodic);
            was_idle
        };
        if was_idle {
            self.joined.notify_one();
        }
    }

    /// Instance `index` is no longer master.
    pub fn remove(&self, index: usize) {
        crate::sync::lock(&self.adverts).remove(&index);
    }

    /// Sends every registered advert once per interval while any is
    /// registered; sleeps otherwise. The schedule restarts when the first
    /// instance joins an idle ticker.
    pub async fn run(self: Arc<Self>) {
        loop {
            let joined = self.joined.notified();
            if self.snapshot().is_empty() {
                joined.await;
                continue;
            }
            let start = tokio::time::Instant::now() + self.interval;
            let mut ticks = tokio::time::interval_at(start, self.interval);
            // A late tick (a stalled CPU) sends at once and keeps the grid: no
            // burst of catch-up adverts, no drift.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                let batch = self.snapshot();
                if batch.is_empty() {
                    break;
                }
                self.send(&batch).await;
            }
        }
    }

    fn snapshot(&self) -> Vec<(usize, Periodic)> {
        let adverts = crate::sync::lock(&self.adverts);
        adverts.iter().map(|(i, d)| (*i, d.clone())).collect()
    }

    async fn send(&self, batch: &[(usize, Periodic)]) {
        let mut owner = Vec::new();
        let mut messages: Vec<(&[u8], IpAddr, IpAddr)> = Vec::new();
        for (k, (_, periodic)) in batch.iter().enumerate() {
            for (p, src, dst) in periodic.datagrams.iter() {
                owner.push(k);
                messages.push((p.as_slice(), *src, *dst));
            }
        }
        let failed = self.socket.send_many(&messages).await;
        let mut ok = vec![true; messages.len()];
        for (i, e) in &failed {
            ok[*i] = false;
            let (index, periodic) = &batch[owner[*i]];
            self.board.count(*index, "tx_errors");
            periodic.failed.notify_one();
            // A down link fails every tick until the instances leave master:
            // warn once per run of failures.
            if !self.failing.swap(true, Relaxed) {
                warn!(error = %e, "cannot send a periodic advert");
            }
        }
        if failed.is_empty() {
            self.failing.store(false, Relaxed);
        }
        for (i, sent) in ok.into_iter().enumerate() {
            if sent {
                self.board.count_quietly(batch[owner[i]].0, "adverts_tx");
            }
        }
    }
}
