//! Typed access to the pinned maps: what the controller writes (instances, VIPs,
//! the heartbeat, timer arming) and reads (peers, counters).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use aya::maps::{Array, HashMap, Map, MapData, MapError, PerCpuArray};
use ha_common::{
    ARM_PROGRAM, ArmRequest, HEARTBEAT_MAP, Heartbeat, INSTANCES_MAP, InstanceConf, InstanceKey,
    PEERS_MAP, Peer, STATS_MAP, Stats, TIMER_SLOT_SIZE, TIMERS_MAP, VIPS_MAP, VipKey, arm_op,
    family, state,
};

use super::testrun::PinnedProgram;

/// The datapath's maps, opened from a pin directory (see [`super::Datapath`]).
///
/// Writes follow the one-writer rule: the controller owns INSTANCES, VIPS and
/// HEARTBEAT; PEERS and TIMERS belong to the XDP program, and the controller only
/// deletes an instance's entries when it removes the instance.
pub struct Maps {
    dir: PathBuf,
    instances: HashMap<MapData, InstanceKey, InstanceConf>,
    peers: HashMap<MapData, InstanceKey, Peer>,
    vips: HashMap<MapData, VipKey, InstanceKey>,
    heartbeat: Array<MapData, Heartbeat>,
    timers: HashMap<MapData, InstanceKey, [u8; TIMER_SLOT_SIZE]>,
    stats: PerCpuArray<MapData, Stats>,
    arm: PinnedProgram,
}

impl Maps {
    /// Opens the maps and the `ha_arm` program pinned in `dir`.
    pub fn open(dir: &Path) -> Result<Maps> {
        let arm = PinnedProgram::open(&dir.join(ARM_PROGRAM)).context("is the datapath loaded?")?;
        Ok(Maps {
            dir: dir.to_path_buf(),
            instances: typed(dir, INSTANCES_MAP)?,
            peers: typed(dir, PEERS_MAP)?,
            vips: typed(dir, VIPS_MAP)?,
            heartbeat: typed(dir, HEARTBEAT_MAP)?,
            timers: typed(dir, TIMERS_MAP)?,
            stats: typed(dir, STATS_MAP)?,
            arm,
        })
    }

    /// The pin directory the maps come from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds or replaces an instance. The controller rewrites it on every change of
    /// state, priority or preempt hold.
    pub fn set_instance(&mut self, key: InstanceKey, conf: InstanceConf) -> Result<()> {
        check_key(&key)?;
        check_conf(&conf)?;
        // Zero the padding whatever the caller left in it.
        let key = InstanceKey::new(key.ifindex, key.vrid, key.family);
        let conf = InstanceConf {
            _pad: [0; 7],
            ..conf
        };
        self.instances
            .insert(key, conf, 0)
            .with_context(|| format!("cannot write instance {key:?} into {INSTANCES_MAP}"))
    }

    /// Changes only the state of an instance (read, modify, write: the controller
    /// is the only writer).
    pub fn set_state(&mut self, key: InstanceKey, new_state: u32) -> Result<()> {
        let Some(conf) = self.instance(key)? else {
            bail!("no instance {key:?} in {INSTANCES_MAP}");
        };
        self.set_instance(
            key,
            InstanceConf {
                state: new_state,
                ..conf
            },
        )
    }

    /// The configuration of an instance, if present.
    pub fn instance(&self, key: InstanceKey) -> Result<Option<InstanceConf>> {
        optional(self.instances.get(&key, 0))
            .with_context(|| format!("cannot read instance {key:?} from {INSTANCES_MAP}"))
    }

    /// Every instance.
    pub fn instances(&self) -> Result<Vec<(InstanceKey, InstanceConf)>> {
        self.instances
            .iter()
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {INSTANCES_MAP}"))
    }

    /// Removes an instance with its peer entry and its timer (deleting the slot
    /// cancels the timer). Absent entries are fine.
    pub fn remove_instance(&mut self, key: InstanceKey) -> Result<()> {
        absent_ok(self.instances.remove(&key))
            .with_context(|| format!("cannot remove {key:?} from {INSTANCES_MAP}"))?;
        absent_ok(self.timers.remove(&key))
            .with_context(|| format!("cannot remove {key:?} from {TIMERS_MAP}"))?;
        absent_ok(self.peers.remove(&key))
            .with_context(|| format!("cannot remove {key:?} from {PEERS_MAP}"))
    }

    /// Answers ARP / NS for `vip` on behalf of `instance` (when it is Master and the
    /// heartbeat is fresh).
    pub fn set_vip(&mut self, vip: VipKey, instance: InstanceKey) -> Result<()> {
        if vip.family != family::V4 && vip.family != family::V6 {
            bail!("VIP family must be 4 or 6, not {}", vip.family);
        }
        let vip = VipKey::new(vip.ifindex, vip.family, vip.addr);
        let instance = InstanceKey::new(instance.ifindex, instance.vrid, instance.family);
        self.vips
            .insert(vip, instance, 0)
            .with_context(|| format!("cannot write VIP {vip:?} into {VIPS_MAP}"))
    }

    /// Stops answering for `vip`; absent is fine.
    pub fn remove_vip(&mut self, vip: VipKey) -> Result<()> {
        absent_ok(self.vips.remove(&vip))
            .with_context(|| format!("cannot remove VIP {vip:?} from {VIPS_MAP}"))
    }

    /// Every VIP and its instance.
    pub fn vips(&self) -> Result<Vec<(VipKey, InstanceKey)>> {
        self.vips
            .iter()
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {VIPS_MAP}"))
    }

    /// The liveness heartbeat: the responder answers while
    /// `now - now_ns <= max_age_ns`. Call it more often than `max_age_ns`.
    pub fn beat(&mut self, now_ns: u64, max_age_ns: u64) -> Result<()> {
        self.heartbeat
            .set(
                0,
                Heartbeat {
                    last_ns: now_ns,
                    max_age_ns,
                },
                0,
            )
            .with_context(|| format!("cannot write {HEARTBEAT_MAP}"))
    }

    /// The current heartbeat.
    pub fn heartbeat(&self) -> Result<Heartbeat> {
        self.heartbeat
            .get(&0, 0)
            .with_context(|| format!("cannot read {HEARTBEAT_MAP}"))
    }

    /// What the last valid advert for `key` said, if one arrived.
    pub fn peer(&self, key: InstanceKey) -> Result<Option<Peer>> {
        optional(self.peers.get(&key, 0))
            .with_context(|| format!("cannot read {key:?} from {PEERS_MAP}"))
    }

    /// Forgets the last advert heard for `key`, so the next one is reported again
    /// (NEW_MASTER_ADDR | FIRST_AFTER_SILENCE) instead of absorbed. For a controller
    /// that (re)enters Backup and wants to hear the current master once. Deleting is
    /// the controller's only write to PEERS, as for [`Maps::remove_instance`].
    pub fn forget_peer(&mut self, key: InstanceKey) -> Result<()> {
        absent_ok(self.peers.remove(&key))
            .with_context(|| format!("cannot remove {key:?} from {PEERS_MAP}"))
    }

    /// The counters summed over all CPUs.
    pub fn stats(&self) -> Result<Stats> {
        let per_cpu = self
            .stats
            .get(&0, 0)
            .with_context(|| format!("cannot read {STATS_MAP}"))?;
        let mut total = Stats::default();
        for cpu in per_cpu.iter() {
            total.add(cpu);
        }
        Ok(total)
    }

    /// Starts (or restarts) `key`'s master-down timer to fire `delay_ns` from now,
    /// as an advert would. For the start of Backup before any advert is heard; the
    /// instance must be in INSTANCES.
    pub fn arm_master_down(&self, key: InstanceKey, delay_ns: u64) -> Result<()> {
        self.run_arm(ArmRequest {
            key,
            op: arm_op::ARM,
            _pad: 0,
            delay_ns,
        })
    }

    /// Stops `key`'s master-down timer if it runs.
    pub fn cancel_master_down(&self, key: InstanceKey) -> Result<()> {
        self.run_arm(ArmRequest {
            key,
            op: arm_op::CANCEL,
            _pad: 0,
            delay_ns: 0,
        })
    }

    fn run_arm(&self, req: ArmRequest) -> Result<()> {
        let req = ArmRequest {
            key: InstanceKey::new(req.key.ifindex, req.key.vrid, req.key.family),
            ..req
        };
        // SAFETY: ArmRequest is repr(C) plain data without implicit padding.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&req as *const ArmRequest).cast::<u8>(),
                size_of::<ArmRequest>(),
            )
        };
        let verdict = self
            .arm
            .run(bytes)
            .with_context(|| format!("cannot run {ARM_PROGRAM} (BPF_PROG_TEST_RUN)"))?;
        match verdict {
            XDP_PASS => Ok(()),
            XDP_DROP => bail!("no instance {:?} in {INSTANCES_MAP}", req.key),
            other => bail!(
                "{ARM_PROGRAM} could not set the timer of {:?} (verdict {other}; see the errors counter)",
                req.key
            ),
        }
    }
}

/// XDP verdicts `ha_arm` answers with.
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

fn typed<T>(dir: &Path, name: &str) -> Result<T>
where
    T: TryFrom<Map, Error = MapError>,
{
    let path = dir.join(name);
    let data = MapData::from_pin(&path).with_context(|| {
        format!(
            "no pinned map at {} (is the datapath loaded?)",
            path.display()
        )
    })?;
    let map = Map::from_map_data(data)
        .with_context(|| format!("{} is not a map ha knows", path.display()))?;
    T::try_from(map).with_context(|| {
        format!(
            "{} does not have the layout this ha expects (pinned by another version?)",
            path.display()
        )
    })
}

fn is_absent(e: &MapError) -> bool {
    match e {
        MapError::KeyNotFound => true,
        MapError::SyscallError(s) => s.io_error.raw_os_error() == Some(libc::ENOENT),
        _ => false,
    }
}

fn optional<V>(r: Result<V, MapError>) -> Result<Option<V>, MapError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn absent_ok(r: Result<(), MapError>) -> Result<(), MapError> {
    optional(r).map(drop)
}

fn check_key(key: &InstanceKey) -> Result<()> {
    if key.family != family::V4 && key.family != family::V6 {
        bail!("instance family must be 4 or 6, not {}", key.family);
    }
    if key.vrid == 0 {
        bail!("VRID 0 is not a valid virtual router id (1..=255)");
    }
    Ok(())
}

fn check_conf(conf: &InstanceConf) -> Result<()> {
    if conf.state > state::MASTER {
        bail!("unknown instance state {}", conf.state);
    }
    if conf.version != 2 && conf.version != 3 {
        bail!("VRRP version must be 2 or 3, not {}", conf.version);
    }
    if conf.priority == 0 {
        bail!("priority 0 is reserved for a leaving master");
    }
    if conf.advert_int_cs == 0 {
        bail!("the advertisement interval must not be 0");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    /// The controller moves the maps into its tasks.
    #[test]
    fn maps_are_send() {
        assert_send::<Maps>();
        assert_send::<super::super::EventStream>();
    }

    #[test]
    fn instance_checks_name_what_is_wrong() {
        let conf = InstanceConf {
            state: state::BACKUP,
            priority: 100,
            version: 3,
            advert_int_cs: 100,
            ..InstanceConf::default()
        };
        assert!(check_conf(&conf).is_ok());
        let bad = |c: InstanceConf| check_conf(&c).unwrap_err().to_string();
        assert!(bad(InstanceConf { version: 4, ..conf }).contains("version"));
        assert!(
            bad(InstanceConf {
                priority: 0,
                ..conf
            })
            .contains("priority 0")
        );
        assert!(bad(InstanceConf { state: 7, ..conf }).contains("state"));
        assert!(
            bad(InstanceConf {
                advert_int_cs: 0,
                ..conf
            })
            .contains("interval")
        );
        assert!(check_key(&InstanceKey::new(1, 0, family::V4)).is_err());
        assert!(check_key(&InstanceKey::new(1, 1, 5)).is_err());
        assert!(check_key(&InstanceKey::new(1, 1, family::V6)).is_ok());
    }
}
