//! The XDP datapath seen from one instance: what the controller writes into
//! the maps for it (its configuration, state, VIPs) and how the state
//! machine's master-down timer becomes the kernel's `bpf_timer`.
//!
//! In this datapath the kernel receives every advert, re-arms the master-down
//! timer itself and wakes the controller only when something changed, so the
//! controller never runs a master-down timer of its own.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Result;
use ha_common::{
    addr,
    maps::{InstanceConf, InstanceKey, VipKey, instance_flag, state},
};
use tracing::warn;

use crate::{ebpf::Maps, vrrp::State, wire::Auth};

/// The maps, shared by every instance of the daemon.
pub type SharedMaps = Arc<Mutex<Maps>>;

/// One instance's entries in the XDP program's maps.
pub struct Kernel {
    maps: SharedMaps,
    key: InstanceKey,
    conf: InstanceConf,
    vips: Vec<VipKey>,
    /// The senders adverts are accepted from (empty: anyone).
    accept_from: Vec<[u8; 16]>,
    /// Written to the maps and not removed yet.
    installed: bool,
    /// CLOCK_MONOTONIC at the state machine's epoch: turns its `Duration`s
    /// into the kernel's nanoseconds.
    epoch_ns: u64,
    /// Who needs the heartbeat.
    liveness: Arc<crate::xdp::Liveness>,
}

impl Kernel {
    /// The entries for an instance; nothing is written until [`install`](Self::install).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        maps: SharedMaps,
        liveness: Arc<crate::xdp::Liveness>,
        key: InstanceKey,
        epoch_ns: u64,
        own: IpAddr,
        mac: [u8; 6],
        na_router: bool,
        fsm: &crate::vrrp::Config,
        auth: &Auth,
        vips: Vec<(u32, IpAddr)>,
        accept_from: Vec<IpAddr>,
        strict_list: Option<&[IpAddr]>,
    ) -> Kernel {
        let (strict, vip_count, vip_sum) = match strict_list {
            Some(list) => (
                instance_flag::STRICT,
                list.len().min(255) as u8,
                list.iter().fold(0u32, |s, ip| {
                    s.wrapping_add(addr::mix(&addr::to_bytes(*ip)))
                }),
            ),
            None => (0, 0, 0),
        };
        let peers_only = if accept_from.is_empty() {
            0
        } else {
            instance_flag::PEERS_ONLY
        };
        let conf = InstanceConf {
            state: state::INIT,
            priority: fsm.priority,
            version: fsm.version.number(),
            preempt: u8::from(fsm.preempt || fsm.priority == 255),
            flags: peers_only
                | strict
                | if na_router {
                    instance_flag::NA_ROUTER
                } else {
                    0
                },
            advert_int_cs: fsm.advert_int_cs,
            mac,
            preempt_hold_until_ns: 0,
            own_addr: addr::to_bytes(own),
            auth_type: auth.auth_type(),
            vip_count,
            slot: 0,
            vip_sum,
            auth_data: auth.data(),
        };
        let vips = vips
            .into_iter()
            .map(|(ifindex, ip)| VipKey::from_ip(ifindex, ip))
            .collect();
        Kernel {
            maps,
            key,
            conf,
            vips,
            accept_from: accept_from.into_iter().map(addr::to_bytes).collect(),
            installed: false,
            epoch_ns,
            liveness,
        }
    }

    /// Writes the instance (state INIT) and its VIPs.
    pub fn install(&mut self) -> Result<()> {
        let mut maps = crate::sync::lock(&self.maps);
        self.installed = true;
        // The allowed senders before the flag that makes the kernel check them.
        for peer in &self.accept_from {
            maps.allow_peer(self.key, *peer)?;
        }
        maps.set_instance(self.key, self.conf)?;
        for vip in &self.vips {
            maps.set_vip(*vip, self.key)?;
        }
        Ok(())
    }

    /// Removes the instance, its peer and timer, and its VIPs (once; also
    /// when its task dies, from the instance's `Drop`).
    pub fn remove(&mut self) {
        if !std::mem::take(&mut self.installed) {
            return;
        }
        if self.conf.state == state::MASTER {
            self.liveness.master(false);
        }
        let mut maps = crate::sync::lock(&self.maps);
        for vip in &self.vips {
            if let Err(e) = maps.remove_vip(*vip) {
                warn!(error = %format!("{e:#}"), "cannot remove a VIP from the XDP map");
            }
        }
        if let Err(e) = maps.remove_instance(self.key) {
            warn!(error = %format!("{e:#}"), "cannot remove the instance from the XDP maps");
        }
        for peer in &self.accept_from {
            if let Err(e) = maps.forget_peer_allowance(self.key, *peer) {
                warn!(error = %format!("{e:#}"), "cannot remove an allowed sender from the XDP maps");
            }
        }
    }

    /// Tells the kernel the state: MASTER answers ARP/NS for the VIPs (Releasing
    /// still holds them), BACKUP keeps the master-down timer, INIT does neither.
    pub fn set_state(&mut self, s: State) {
        let new = match s {
            State::Master | State::Releasing => state::MASTER,
            State::Backup => state::BACKUP,
            State::Initialize | State::Fault => state::INIT,
        };
        if new == self.conf.state {
            return;
        }
        let mut maps = crate::sync::lock(&self.maps);
        if self.conf.state == state::INIT && new == state::BACKUP {
            // Coming back from INIT: let the first advert of the current master
            // be reported once, as if after silence.
            let _ = maps.forget_peer(self.key);
        }
        if new == state::MASTER {
            // Open the liveness gate before the kernel starts answering for us.
            let max_age = self.liveness.max_age.as_nanos() as u64;
            if let Err(e) = maps.beat(crate::ebpf::monotonic_ns(), max_age) {
                warn!(error = %format!("{e:#}"), "cannot write the heartbeat");
            }
            self.liveness.master(true);
        } else if self.conf.state == state::MASTER {
            self.liveness.master(false);
        }
        self.conf.state = new;
        if let Err(e) = maps.set_state(self.key, new) {
            warn!(error = %format!("{e:#}"), "cannot write the instance state to the XDP map");
        }
    }

    /// The effective priority or the preempt hold changed.
    pub fn update(&mut self, priority: u8, hold_until: Option<Duration>) {
        let hold_ns = hold_until.map_or(0, |d| self.epoch_ns + d.as_nanos() as u64);
        if priority == self.conf.priority && hold_ns == self.conf.preempt_hold_until_ns {
            return;
        }
        self.conf.priority = priority;
        self.conf.preempt_hold_until_ns = hold_ns;
        if let Err(e) = crate::sync::lock(&self.maps).set_instance(self.key, self.conf) {
            warn!(error = %format!("{e:#}"), "cannot update the instance in the XDP map");
        }
    }

    /// Arms the kernel's master-down timer to fire at `at` (the state
    /// machine's time, since the epoch).
    ///
    /// False if the kernel could not arm it (`bpf_timer_init` can fail for
    /// want of memory at that moment): the caller runs the timer itself.
    pub fn arm_master_down(&self, at: Duration) -> bool {
        let maps = crate::sync::lock(&self.maps);
        let deadline_ns = self.epoch_ns + at.as_nanos() as u64;
        match maps.arm_master_down(self.key, deadline_ns) {
            Ok(()) => true,
            Err(e) => {
                warn!(error = %format!("{e:#}"), "cannot arm the kernel master-down timer: the controller keeps it this time");
                false
            }
        }
    }

    /// What the kernel knows when its events may have been lost: the last
    /// advert heard and the running master-down deadline (CLOCK_MONOTONIC ns).
    pub fn snapshot(&self) -> Result<(Option<ha_common::Peer>, Option<u64>)> {
        let maps = crate::sync::lock(&self.maps);
        Ok((maps.peer(self.key)?, maps.master_down_deadline(self.key)?))
    }

    /// Cancels the kernel's master-down timer.
    pub fn cancel_master_down(&self) {
        let maps = crate::sync::lock(&self.maps);
        if let Err(e) = maps.cancel_master_down(self.key) {
            warn!(error = %format!("{e:#}"), "cannot cancel the kernel master-down timer");
        }
    }
}
