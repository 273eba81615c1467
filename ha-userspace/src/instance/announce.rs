//! Gratuitous ARP and unsolicited Neighbor Advertisements for a new master's
//! VIPs, with keepalived's bursts: `master_repeat` packets at once, the same
//! again after `master_delay`, then `master_refresh_repeat` every
//! `master_refresh` while master (RFC 5798 §6.4.2 asks for the first; the rest
//! keeps switches and neighbours that missed it from holding a stale entry).

use std::{net::IpAddr, sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tracing::warn;

use crate::{config::Garp, net::GratuitousSender};

/// One VIP and the sender on its interface.
type Target = (Arc<GratuitousSender>, IpAddr);

/// Sends the announcement bursts in a task of their own, cancelled on leaving master.
#[derive(Debug)]
pub struct Announcer {
    targets: Arc<Vec<Target>>,
    garp: Garp,
    task: Option<JoinHandle<()>>,
}

impl Announcer {
    /// An announcer for `targets` with the instance's timing.
    pub fn new(targets: Vec<Target>, garp: Garp) -> Announcer {
        Announcer {
            targets: Arc::new(targets),
            garp,
            task: None,
        }
    }

    /// Starts a new round of bursts, replacing any running one: the first
    /// burst now, the rest in a task of its own. Sending the first one here
    /// rather than from the task saves a new master a trip through the
    /// scheduler between its VIP and its first gratuitous ARP.
    pub async fn start(&mut self) {
        self.stop();
        // keepalived's `vrrp_garp_interval` / `vrrp_gna_interval` pace the
        // packets of a burst: the first round goes out now, the rest of the
        // burst from the task, so the pacing never holds up the instance.
        let paced = !self.garp.interval.is_zero() || !self.garp.na_interval.is_zero();
        let now = if paced {
            self.garp.master_repeat.min(1)
        } else {
            self.garp.master_repeat
        };
        burst(&self.targets, now, &self.garp).await;
        let targets = self.targets.clone();
        let garp = self.garp.clone();
        self.task = Some(tokio::spawn(async move {
            if now < garp.master_repeat {
                pause(&targets, &garp).await;
                burst(&targets, garp.master_repeat - now, &garp).await;
            }
            if !garp.master_delay.is_zero() {
                tokio::time::sleep(garp.master_delay).await;
                burst(&targets, garp.master_repeat, &garp).await;
            }
            if garp.master_refresh.is_zero() {
                return;
            }
            loop {
                tokio::time::sleep(garp.master_refresh.max(Duration::from_millis(10))).await;
                burst(&targets, garp.master_refresh_repeat, &garp).await;
            }
        }));
    }

    /// Stops announcing (on leaving master).
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The pause before the next packet for `vip`'s family.
async fn pace(vip: &IpAddr, garp: &Garp) {
    let gap = if vip.is_ipv4() {
        garp.interval
    } else {
        garp.na_interval
    };
    if !gap.is_zero() {
        tokio::time::sleep(gap).await;
    }
}

/// The pause between the inline first round and the rest of a burst.
async fn pause(targets: &[Target], garp: &Garp) {
    if let Some((_, vip)) = targets.first() {
        pace(vip, garp).await;
    }
}

impl std::ops::Drop for Announcer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `repeat` rounds of one packet per VIP, paced by the GARP / NA interval.
async fn burst(targets: &[Target], repeat: u32, garp: &Garp) {
    let mut first = true;
    for _ in 0..repeat {
        for (sender, vip) in targets {
            if !first {
                pace(vip, garp).await;
            }
            first = false;
            let sent = match vip {
                IpAddr::V4(v4) => sender.send_garp(*v4).await,
                IpAddr::V6(v6) => sender.send_unsolicited_na(*v6).await,
            };
            if let Err(e) = sent {
                warn!(vip = %vip, error = %e, "cannot announce the VIP");
            }
        }
    }
}
