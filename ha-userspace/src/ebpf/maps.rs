//! Typed access to the pinned maps: what the controller writes (instances, VIPs,
//! the heartbeat, timer arming) and reads (peers, counters).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use aya::maps::{Array, HashMap, Map, MapData, MapError, PerCpuArray};
use ha_common::{
    ALLOWED_PEERS_MAP, ARM_PROGRAM, AllowedPeer, ArmRequest, BY_VRID_MAP, HEARTBEAT_MAP, Heartbeat,
    IFACES_MAP, INSTANCES_MAP, IfaceConf, InstanceConf, InstanceKey, MAX_INSTANCES, PEER_SLOT_SIZE,
    PEERS_MAP, Peer, STATS_MAP, Stats, VIPS_MAP, VRID_SHARED, VipKey, VridEntry, arm_op,
    by_vrid_index, family, replies, state,
};

use super::testrun::PinnedProgram;

/// The datapath's maps, opened from a pin directory (see [`super::Datapath`]).
///
/// Writes follow the one-writer rule: the controller owns INSTANCES, VIPS and
/// HEARTBEAT, its loader IFACES ([`Maps::set_iface`]); PEERS belongs to the XDP programs: the controller asks `ha_arm` to
/// arm, cancel or forget, and only reads it.
pub struct Maps {
    dir: PathBuf,
    instances: HashMap<MapData, InstanceKey, InstanceConf>,
    by_vrid: Array<MapData, VridEntry>,
    peers: Array<MapData, [u8; PEER_SLOT_SIZE]>,
    vips: HashMap<MapData, VipKey, InstanceKey>,
    allowed_peers: HashMap<MapData, AllowedPeer, u8>,
    heartbeat: Array<MapData, Heartbeat>,
    stats: PerCpuArray<MapData, Stats>,
    ifaces: HashMap<MapData, u32, IfaceConf>,
    arm: PinnedProgram,
}

impl Maps {
    /// Opens the maps and the `ha_arm` program pinned in `dir`.
    pub fn open(dir: &Path) -> Result<Maps> {
        let arm = PinnedProgram::open(&dir.join(ARM_PROGRAM)).context("is the datapath loaded?")?;
        Ok(Maps {
            dir: dir.to_path_buf(),
            instances: typed(dir, INSTANCES_MAP)?,
            by_vrid: typed(dir, BY_VRID_MAP)?,
            peers: typed(dir, PEERS_MAP)?,
            vips: typed(dir, VIPS_MAP)?,
            allowed_peers: typed(dir, ALLOWED_PEERS_MAP)?,
            heartbeat: typed(dir, HEARTBEAT_MAP)?,
            stats: typed(dir, STATS_MAP)?,
            ifaces: typed(dir, IFACES_MAP)?,
            arm,
        })
    }

    /// The pin directory the maps come from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds or replaces an instance. The controller rewrites it on every change of
    /// state, priority or preempt hold. The slot is chosen here: a present
    /// instance keeps its own, a new one gets the lowest free one (`conf.slot` is
    /// ignored).
    pub fn set_instance(&mut self, key: InstanceKey, conf: InstanceConf) -> Result<()> {
        check_key(&key)?;
        check_conf(&conf)?;
        // Zero the padding whatever the caller left in it.
        let key = InstanceKey::new(key.ifindex, key.vrid, key.family);
        let slot = match self.instance(key)? {
            Some(present) => present.slot,
            None => self.free_slot()?,
        };
        let conf = InstanceConf { slot, ..conf };
        self.instances
            .insert(key, conf, 0)
            .with_context(|| format!("cannot write instance {key:?} into {INSTANCES_MAP}"))?;
        // The copy the advert path reads: this instance's own entry, or a
        // pointer to INSTANCES when another interface has the same VRID.
        let index = by_vrid_index(key.family, key.vrid);
        let entry = match self.by_vrid_entry(index)?.ifindex {
            i if i == 0 || i == key.ifindex => VridEntry {
                ifindex: key.ifindex,
                _pad: 0,
                conf,
            },
            _ => VridEntry {
                ifindex: VRID_SHARED,
                ..VridEntry::default()
            },
        };
        self.write_by_vrid(index, entry)
    }

    fn by_vrid_entry(&self, index: u32) -> Result<VridEntry> {
        self.by_vrid
            .get(&index, 0)
            .with_context(|| format!("cannot read entry {index} of {BY_VRID_MAP}"))
    }

    fn write_by_vrid(&mut self, index: u32, entry: VridEntry) -> Result<()> {
        self.by_vrid
            .set(index, entry, 0)
            .with_context(|| format!("cannot write entry {index} of {BY_VRID_MAP}"))
    }

    /// After `key` left INSTANCES: its BY_VRID entry cleared, or recomputed
    /// when it was shared.
    fn forget_by_vrid(&mut self, key: InstanceKey) -> Result<()> {
        let index = by_vrid_index(key.family, key.vrid);
        let entry = match self.by_vrid_entry(index)?.ifindex {
            i if i == key.ifindex => VridEntry::default(),
            VRID_SHARED => {
                let rest: Vec<_> = self
                    .instances()?
                    .into_iter()
                    .filter(|(k, _)| k.family == key.family && k.vrid == key.vrid)
                    .collect();
                match rest.as_slice() {
                    [] => VridEntry::default(),
                    [(k, conf)] => VridEntry {
                        ifindex: k.ifindex,
                        _pad: 0,
                        conf: *conf,
                    },
                    _ => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        self.write_by_vrid(index, entry)
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

    /// The lowest slot no instance holds.
    fn free_slot(&self) -> Result<u16> {
        let mut used: Vec<u16> = self.instances()?.into_iter().map(|(_, c)| c.slot).collect();
        used.sort_unstable();
        let mut free = 0u16;
        for s in used {
            if s == free {
                free += 1;
            } else if s > free {
                break;
            }
        }
        if u32::from(free) >= MAX_INSTANCES {
            bail!("{INSTANCES_MAP} is full: at most {MAX_INSTANCES} instances");
        }
        Ok(free)
    }

    /// Every instance.
    pub fn instances(&self) -> Result<Vec<(InstanceKey, InstanceConf)>> {
        self.instances
            .iter()
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {INSTANCES_MAP}"))
    }

    /// Removes an instance: its timer stopped, its peer slot reset for the next
    /// instance to get it. Absent is fine.
    pub fn remove_instance(&mut self, key: InstanceKey) -> Result<()> {
        if self.instance(key)?.is_none() {
            return Ok(());
        }
        // INIT first: adverts still in flight then no longer arm the timer.
        self.set_state(key, state::INIT)?;
        // Best effort: the instance goes whatever ha_arm says (a timer left
        // running finds the slot forgotten and reports nobody it can route).
        for cleaned in [self.cancel_master_down(key), self.forget_peer(key)] {
            if let Err(e) = cleaned {
                tracing::warn!(error = %format!("{e:#}"), "cleaning the slot of a removed instance");
            }
        }
        absent_ok(self.instances.remove(&key))
            .with_context(|| format!("cannot remove {key:?} from {INSTANCES_MAP}"))?;
        self.forget_by_vrid(key)
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

    /// Accepts adverts for `instance` from `addr` (with `PEERS_ONLY` set).
    pub fn allow_peer(&mut self, instance: InstanceKey, addr: [u8; 16]) -> Result<()> {
        let peer = allowed_peer(instance, addr);
        self.allowed_peers
            .insert(peer, 1, 0)
            .with_context(|| format!("cannot write {peer:?} into {ALLOWED_PEERS_MAP}"))
    }

    /// Forgets an allowed sender; absent is fine.
    pub fn forget_peer_allowance(&mut self, instance: InstanceKey, addr: [u8; 16]) -> Result<()> {
        let peer = allowed_peer(instance, addr);
        absent_ok(self.allowed_peers.remove(&peer))
            .with_context(|| format!("cannot remove {peer:?} from {ALLOWED_PEERS_MAP}"))
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

    /// What the last valid advert for `key` said, if one arrived since the
    /// instance was added or its peer forgotten.
    pub fn peer(&self, key: InstanceKey) -> Result<Option<Peer>> {
        let Some(bytes) = self.peer_slot(key)? else {
            return Ok(None);
        };
        const _: () = assert!(size_of::<Peer>() <= PEER_SLOT_SIZE);
        // SAFETY: a slot starts with a Peer (ha-ebpf/src/maps.rs), which is plain
        // data valid for any bytes; the read is unaligned-safe.
        let peer = unsafe { bytes.as_ptr().cast::<Peer>().read_unaligned() };
        Ok((peer.adverts != 0).then_some(peer))
    }

    /// When `key`'s master-down timer goes off if no advert moves it
    /// (CLOCK_MONOTONIC ns); `None` when it is not running (cancelled, fired
    /// or never armed). Read from the last 8 bytes of the PEERS slot.
    pub fn master_down_deadline(&self, key: InstanceKey) -> Result<Option<u64>> {
        let Some(bytes) = self.peer_slot(key)? else {
            return Ok(None);
        };
        let tail: [u8; 8] = bytes[PEER_SLOT_SIZE - 8..].try_into().expect("8 bytes");
        let deadline = u64::from_ne_bytes(tail);
        Ok((deadline != 0).then_some(deadline))
    }

    /// The PEERS slot of instance `key`, if it exists.
    fn peer_slot(&self, key: InstanceKey) -> Result<Option<[u8; PEER_SLOT_SIZE]>> {
        let Some(conf) = self.instance(key)? else {
            return Ok(None);
        };
        self.peers
            .get(&u32::from(conf.slot), 0)
            .map(Some)
            .with_context(|| format!("cannot read slot {} of {PEERS_MAP}", conf.slot))
    }

    /// Forgets the last advert heard for `key`, so the next one is reported again
    /// (NEW_MASTER_ADDR | FIRST_AFTER_SILENCE) instead of absorbed. For a controller
    /// that (re)enters Backup and wants to hear the current master once. Done by
    /// `ha_arm`: the controller does not write PEERS itself.
    pub fn forget_peer(&mut self, key: InstanceKey) -> Result<()> {
        self.run_arm(ArmRequest {
            key,
            op: arm_op::FORGET,
            result: 0,
            deadline_ns: 0,
        })
    }

    /// How the responder replies on interface `ifindex`. Written by the loader
    /// when it attaches the program there ([`super::Datapath::attach`]), and by
    /// hand (`ha datapath replies`) for a program that is only loaded.
    pub fn set_iface(&mut self, ifindex: u32, conf: IfaceConf) -> Result<()> {
        if conf.replies != replies::KERNEL && conf.replies != replies::XDP_TX {
            bail!("unknown replies value {}", conf.replies);
        }
        self.ifaces
            .insert(ifindex, conf, 0)
            .with_context(|| format!("cannot write interface {ifindex} into {IFACES_MAP}"))
    }

    /// How the responder replies on interface `ifindex`, if the loader said.
    pub fn iface(&self, ifindex: u32) -> Result<Option<IfaceConf>> {
        optional(self.ifaces.get(&ifindex, 0))
            .with_context(|| format!("cannot read interface {ifindex} from {IFACES_MAP}"))
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

    /// Starts (or restarts) `key`'s master-down timer to fire at `deadline_ns`
    /// ([`super::monotonic_ns`]; a past deadline fires at once),
    /// as an advert would. For the start of Backup before any advert is heard; the
    /// instance must be in INSTANCES.
    pub fn arm_master_down(&self, key: InstanceKey, deadline_ns: u64) -> Result<()> {
        self.run_arm(ArmRequest {
            key,
            op: arm_op::ARM,
            result: 0,
            deadline_ns,
        })
    }

    /// Stops `key`'s master-down timer if it runs.
    pub fn cancel_master_down(&self, key: InstanceKey) -> Result<()> {
        self.run_arm(ArmRequest {
            key,
            op: arm_op::CANCEL,
            result: 0,
            deadline_ns: 0,
        })
    }

    fn run_arm(&self, req: ArmRequest) -> Result<()> {
        let req = ArmRequest {
            key: InstanceKey::new(req.key.ifindex, req.key.vrid, req.key.family),
            result: 0,
            ..req
        };
        // SAFETY: ArmRequest is repr(C) plain data without implicit padding.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&req as *const ArmRequest).cast::<u8>(),
                size_of::<ArmRequest>(),
            )
        };
        // A timer helper may fail for want of memory the moment it is asked
        // (bpf_timer_init allocates the kernel timer): try again before giving up.
        let mut errno = 0;
        for _ in 0..ARM_ATTEMPTS {
            let (verdict, out) = self
                .arm
                .run_frame(bytes, 0)
                .with_context(|| format!("cannot run {ARM_PROGRAM} (BPF_PROG_TEST_RUN)"))?;
            match verdict {
                XDP_PASS => return Ok(()),
                XDP_DROP => bail!("no instance {:?} in {INSTANCES_MAP}", req.key),
                XDP_ABORTED => {
                    // SAFETY: out holds the request as the program left it (at
                    // least as long; checked), plain data.
                    errno = (out.len() >= size_of::<ArmRequest>())
                        .then(|| unsafe { out.as_ptr().cast::<ArmRequest>().read_unaligned() })
                        .map_or(0, |r| r.result);
                }
                other => bail!("{ARM_PROGRAM} answered {other}, which this ha does not know"),
            }
        }
        bail!(
            "{ARM_PROGRAM} could not set the timer of {:?}: {} ({ARM_ATTEMPTS} attempts)",
            req.key,
            std::io::Error::from_raw_os_error(errno as i32)
        )
    }
}

/// How often [`Maps`] asks `ha_arm` before reporting a timer helper's failure.
const ARM_ATTEMPTS: usize = 3;

/// XDP verdicts `ha_arm` answers with.
const XDP_ABORTED: u32 = 0;
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

/// The [`AllowedPeer`] key, padding zeroed whatever the caller left in it.
fn allowed_peer(instance: InstanceKey, addr: [u8; 16]) -> AllowedPeer {
    AllowedPeer {
        instance: InstanceKey::new(instance.ifindex, instance.vrid, instance.family),
        addr,
    }
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
