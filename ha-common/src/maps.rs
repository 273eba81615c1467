//! Map names, keys and values of the XDP datapath. See the crate docs for byte
//! order, the clock and who writes which map.

/// Hash map [`InstanceKey`] → [`InstanceConf`]. Writer: the controller.
pub const INSTANCES_MAP: &str = "INSTANCES";
/// Array of [`BY_VRID_ENTRIES`] [`VridEntry`]s indexed by [`by_vrid_index`]: a
/// copy of INSTANCES the advert path reads with one direct access instead of a
/// hash lookup. Writer: the controller, with every write to INSTANCES.
pub const BY_VRID_MAP: &str = "BY_VRID";
/// Array indexed by [`InstanceConf::slot`] of peer slots: a [`Peer`] in the
/// first [`size_of::<Peer>()`] bytes, then the instance's master-down `bpf_timer`
/// and its deadline (the kernel's business, `ha-ebpf/src/maps.rs`); 64 bytes
/// per instance, so an advert touches one BY_VRID entry and one PEERS entry.
/// Writer: the XDP programs (`ha_xdp`, and `ha_arm` for the controller).
pub const PEERS_MAP: &str = "PEERS";
/// Hash map [`VipKey`] → [`InstanceKey`]. Writer: the controller.
pub const VIPS_MAP: &str = "VIPS";
/// Hash map [`AllowedPeer`] → `u8` (1): the senders an instance with
/// [`instance_flag::PEERS_ONLY`] accepts adverts from (keepalived's
/// `check_unicast_src`). Writer: the controller.
pub const ALLOWED_PEERS_MAP: &str = "ALLOWED_PEERS";
/// Array of one [`Heartbeat`]. Writer: the controller.
pub const HEARTBEAT_MAP: &str = "HEARTBEAT";
/// Ring buffer of [`crate::Event`]s. Writer: the XDP program and its timer callback.
pub const EVENTS_MAP: &str = "EVENTS";
/// Per-CPU array of one [`crate::Stats`]. Writer: the XDP program.
pub const STATS_MAP: &str = "STATS";
/// Hash map ifindex (`u32`) → [`IfaceConf`]: how the responder sends its replies
/// on each interface the program is attached to. Writer: the controller's loader
/// (`Datapath::attach`), once per interface, when it attaches.
pub const IFACES_MAP: &str = "IFACES";

/// The XDP program attached to interfaces.
pub const XDP_PROGRAM: &str = "ha_xdp";
/// The XDP program the controller runs with `BPF_PROG_TEST_RUN` to arm or cancel
/// a master-down timer (data: one [`ArmRequest`]). Never attached.
pub const ARM_PROGRAM: &str = "ha_arm";

/// Capacity of [`INSTANCES_MAP`] and [`PEERS_MAP`]; slots are below it.
pub const MAX_INSTANCES: u32 = 1024;
/// Capacity of [`VIPS_MAP`].
pub const MAX_VIPS: u32 = 4096;
/// Capacity of [`ALLOWED_PEERS_MAP`].
pub const MAX_ALLOWED_PEERS: u32 = 4096;
/// Capacity of [`IFACES_MAP`]: interfaces one loaded program is attached to (as
/// many as instances: every instance may run on its own interface).
pub const MAX_IFACES: u32 = MAX_INSTANCES;
/// Entries of [`BY_VRID_MAP`]: one per family and VRID.
pub const BY_VRID_ENTRIES: u32 = 512;
/// [`VridEntry::ifindex`] when several interfaces run this family and VRID:
/// look the instance up in [`INSTANCES_MAP`].
pub const VRID_SHARED: u32 = u32::MAX;

/// The [`BY_VRID_MAP`] index of a family and VRID.
pub const fn by_vrid_index(family: u8, vrid: u8) -> u32 {
    (if family == family::V6 { 256 } else { 0 }) + vrid as u32
}

/// Size of a [`PEERS_MAP`] value: the [`Peer`] (40 bytes), a `bpf_timer` (16)
/// and the master-down deadline (8).
pub const PEER_SLOT_SIZE: usize = 64;
/// Size of the [`EVENTS_MAP`] ring in bytes (a power of two, a multiple of the page size).
/// An event takes 48 bytes plus an 8-byte record header: about 1100 events.
pub const EVENTS_BYTES: u32 = 64 * 1024;

/// Values of [`InstanceKey::family`] and [`VipKey::family`].
pub mod family {
    /// IPv4.
    pub const V4: u8 = 4;
    /// IPv6.
    pub const V6: u8 = 6;
}

/// Values of [`InstanceConf::state`].
pub mod state {
    /// Not running (or in fault): adverts update PEERS, nothing else.
    pub const INIT: u32 = 0;
    /// Monitoring the master: adverts re-arm the master-down timer.
    pub const BACKUP: u32 = 1;
    /// Holding the VIPs: the ARP/NS responder answers for them.
    pub const MASTER: u32 = 2;
}

/// Values of [`IfaceConf::replies`]: how the ARP/NS responder answers a request
/// for a VIP whose instance is Master while the heartbeat is fresh. Either way a
/// request the gate refuses (not Master, stale heartbeat) is dropped.
pub mod replies {
    /// Pass the request to the kernel (`XDP_PASS`), which answers for the VIP
    /// configured on the master. Where `XDP_TX` is not known to deliver: native
    /// mode on a veth, whose `XDP_TX` frames reach the peer only if the peer runs
    /// an XDP program too. Also what an interface without an [`super::IFACES_MAP`]
    /// entry gets (all zero): the kernel's answer always leaves the host.
    pub const KERNEL: u32 = 0;
    /// Rewrite the request into the reply in place and send it back (`XDP_TX`):
    /// generic (SKB) mode, and native mode on drivers other than veth.
    pub const XDP_TX: u32 = 1;
}

/// Values of [`IfaceConf::xdp_mode`], for readers of a `bpftool` dump.
pub mod xdp_mode {
    /// Generic (SKB) mode.
    pub const SKB: u32 = 1;
    /// Native (driver) mode.
    pub const NATIVE: u32 = 2;
}

/// Bits of [`InstanceConf::flags`].
pub mod instance_flag {
    /// Set the Router flag in the Neighbor Advertisements the responder sends
    /// (RFC 4861 §4.4). Set it when the VIP is a host's default router: an NA
    /// without it makes hosts drop the router from their default router list
    /// (RFC 4861 §7.2.5).
    pub const NA_ROUTER: u8 = 1;
    /// Accept adverts only from the senders listed for the instance in
    /// [`super::ALLOWED_PEERS_MAP`]; others are counted and dropped.
    pub const PEERS_ONLY: u8 = 2;
    /// keepalived's `vrrp_strict`: adverts whose address list differs from
    /// ours ([`super::InstanceConf::vip_count`], `vip_sum`) are dropped.
    pub const STRICT: u8 = 4;
}

/// One virtual router: the interface it runs on, its VLAN there, its VRID and its
/// address family.
///
/// 8 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKey {
    /// Index of the interface the adverts arrive on (the XDP ingress ifindex).
    pub ifindex: u32,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// [`family::V4`] or [`family::V6`].
    pub family: u8,
    /// The VLAN ID of the frame's outer tag, 0 for an untagged frame. An
    /// instance runs on its own interface (a VLAN one for a VLAN): its key says
    /// 0, so a tagged frame seen on the parent is never taken for the parent's
    /// (the same VRID on two VLANs is two groups).
    pub vlan: u16,
}

impl InstanceKey {
    /// The key of VRID `vrid` of family `family` on interface `ifindex`.
    pub const fn new(ifindex: u32, vrid: u8, family: u8) -> Self {
        InstanceKey {
            ifindex,
            vrid,
            family,
            vlan: 0,
        }
    }

    /// This key for frames tagged with VLAN ID `vlan` (0: untagged).
    pub const fn on_vlan(self, vlan: u16) -> Self {
        InstanceKey { vlan, ..self }
    }
}

/// What the XDP program needs to know about one of our instances.
///
/// 56 bytes. Writer: the controller, which rewrites the whole value whenever
/// something changes (state, priority after tracking, the preempt hold). Its
/// `Debug` leaves the password out.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceConf {
    /// [`state::INIT`], [`state::BACKUP`] or [`state::MASTER`].
    pub state: u32,
    /// Our current (effective) priority, 1..=255.
    pub priority: u8,
    /// VRRP version of this instance: 2 or 3. Adverts of the other version are dropped.
    pub version: u8,
    /// Non-zero: Preempt_Mode (RFC 5798 §6.1). Set it for the address owner (255),
    /// which always preempts.
    pub preempt: u8,
    /// [`instance_flag`] bits.
    pub flags: u8,
    /// Our Advertisement_Interval in centiseconds (v2: seconds * 100). v2 adverts
    /// must carry the same interval (RFC 3768 §7.1); v3 uses the master's.
    pub advert_int_cs: u16,
    /// The MAC the ARP/NS responder answers with: the interface's MAC, or the
    /// VRRP virtual MAC when one is in use.
    pub mac: [u8; 6],
    /// keepalived's `preempt_delay`: while `now < preempt_hold_until_ns`, adverts of
    /// a lower priority re-arm the master-down timer as if preempt were off. 0: none.
    pub preempt_hold_until_ns: u64,
    /// Our primary address (the source of our adverts): adverts from it are ours
    /// and ignored; it breaks priority ties while we are master.
    pub own_addr: [u8; 16],
    /// VRRPv2 authentication type (RFC 3768 §5.3.6 / RFC 2338): 0 none, 1 simple
    /// text password. v2 adverts must carry the same type.
    pub auth_type: u8,
    /// How many addresses our adverts carry (255 at most).
    pub vip_count: u8,
    /// The instance's index in [`PEERS_MAP`], below [`MAX_INSTANCES`]. Chosen by
    /// the controller when it adds the instance; kept while the instance exists.
    pub slot: u16,
    /// The wrapping sum of [`crate::addr::mix`] over the addresses our adverts
    /// carry: with [`instance_flag::STRICT`], an advert's must be the same.
    pub vip_sum: u32,
    /// VRRPv2 password (type 1), zero-padded to 8 bytes; v2 adverts must carry
    /// the same bytes.
    pub auth_data: [u8; 8],
}

impl core::fmt::Debug for InstanceConf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InstanceConf")
            .field("state", &self.state)
            .field("priority", &self.priority)
            .field("version", &self.version)
            .field("preempt", &self.preempt)
            .field("flags", &self.flags)
            .field("advert_int_cs", &self.advert_int_cs)
            .field("mac", &self.mac)
            .field("preempt_hold_until_ns", &self.preempt_hold_until_ns)
            .field("own_addr", &self.own_addr)
            .field("auth_type", &self.auth_type)
            .field("vip_count", &self.vip_count)
            .field("slot", &self.slot)
            .field("vip_sum", &self.vip_sum)
            .field("auth_data", &format_args!("<redacted>"))
            .finish()
    }
}

/// A [`BY_VRID_MAP`] value: the one instance of a family and VRID, or a pointer
/// to [`INSTANCES_MAP`].
///
/// 64 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VridEntry {
    /// The instance's interface; 0: no instance; [`VRID_SHARED`]: several.
    pub ifindex: u32,
    pub _pad: u32,
    /// Its configuration, as in [`INSTANCES_MAP`] (meaningful for one instance).
    pub conf: InstanceConf,
}

/// The router whose adverts this instance hears: what its last accepted advert said.
///
/// 40 bytes. Writer: the XDP program, on every valid advert from an address other
/// than [`InstanceConf::own_addr`]. All zero (`adverts == 0`): nothing heard yet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peer {
    /// The advert's IP source address (its primary address).
    pub master_addr: [u8; 16],
    /// When that advert arrived (`bpf_ktime_get_ns`).
    pub last_seen_ns: u64,
    /// The instance the slot belongs to (for readers of a `bpftool` dump).
    pub key: InstanceKey,
    /// Valid adverts counted since the slot was last reset (wraps).
    pub adverts: u32,
    /// The priority it advertised.
    pub master_priority: u8,
    pub _pad: u8,
    /// The interval it advertised, in centiseconds (v2: seconds * 100).
    pub advert_int_cs: u16,
}

/// A sender an instance accepts adverts from.
///
/// 24 bytes; the padding of `instance` must be zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllowedPeer {
    /// The instance.
    pub instance: InstanceKey,
    /// The sender's address (the advert's IP source; see [`crate::addr`]).
    pub addr: [u8; 16],
}

/// An address the ARP/NS responder answers for, on one interface and VLAN.
///
/// 24 bytes; the padding must be zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VipKey {
    /// Index of the interface the ARP request / NS arrives on.
    pub ifindex: u32,
    /// [`family::V4`] or [`family::V6`].
    pub family: u8,
    pub _pad: u8,
    /// The VLAN ID of the request's outer tag, 0 when untagged (see
    /// [`InstanceKey::vlan`]): a tagged request is answered only for a VIP of
    /// that VLAN.
    pub vlan: u16,
    /// The virtual address (see [`crate::addr`]).
    pub addr: [u8; 16],
}

impl VipKey {
    /// The key of address `addr` (map form) of family `family` on `ifindex`.
    pub const fn new(ifindex: u32, family: u8, addr: [u8; 16]) -> Self {
        VipKey {
            ifindex,
            family,
            _pad: 0,
            vlan: 0,
            addr,
        }
    }

    /// This key for requests tagged with VLAN ID `vlan` (0: untagged).
    pub const fn on_vlan(self, vlan: u16) -> Self {
        VipKey { vlan, ..self }
    }

    /// The key of `ip` on `ifindex`.
    pub const fn from_ip(ifindex: u32, ip: core::net::IpAddr) -> Self {
        Self::new(
            ifindex,
            crate::addr::family_of(ip),
            crate::addr::to_bytes(ip),
        )
    }
}

/// The controller's liveness, as the responder sees it: it answers ARP/NS for a
/// VIP only while `now - last_ns <= max_age_ns`. A controller that hangs or dies
/// stops beating, and its host stops claiming the VIPs even though the addresses
/// stay configured. All zero (the initial value): never fresh.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// When the controller last beat (`CLOCK_MONOTONIC` ns). 0: never.
    pub last_ns: u64,
    /// How old a beat may be and still count.
    pub max_age_ns: u64,
}

/// How the program runs on one interface: an [`IFACES_MAP`] value.
///
/// 8 bytes. Writer: the controller's loader, when it attaches the program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceConf {
    /// A [`replies`] value: the responder's verdict for a request it answers.
    pub replies: u32,
    /// The [`xdp_mode`] the kernel accepted (informative: the program does not read it).
    pub xdp_mode: u32,
}

/// Operations of an [`ArmRequest`].
pub mod arm_op {
    /// Start (or restart) the master-down timer to fire at `deadline_ns`.
    pub const ARM: u32 = 1;
    /// Stop the timer if it is running.
    pub const CANCEL: u32 = 2;
    /// Forget the last advert heard (zero the [`super::Peer`]): the next one is
    /// reported as after silence. Also how a removed instance's slot is cleaned.
    pub const FORGET: u32 = 3;
}

/// The input of the [`ARM_PROGRAM`]: the controller's way to arm a master-down timer
/// (at startup in Backup, before any advert has been heard) or to cancel one.
///
/// 24 bytes, passed as the packet data of `BPF_PROG_TEST_RUN`. The program answers
/// `XDP_PASS` when done, `XDP_DROP` when the request is malformed or the instance is
/// not in [`INSTANCES_MAP`], `XDP_ABORTED` when a timer helper failed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArmRequest {
    /// The instance whose timer to arm.
    pub key: InstanceKey,
    /// An [`arm_op`] value.
    pub op: u32,
    /// 0 in a request. In the data `BPF_PROG_TEST_RUN` hands back after
    /// `XDP_ABORTED`: the timer helper's errno.
    pub result: u32,
    /// For [`arm_op::ARM`]: when to fire (`CLOCK_MONOTONIC` ns; a deadline
    /// already past fires at once). Absolute, so the time the request took to
    /// reach the kernel is not added to Master_Down_Interval.
    pub deadline_ns: u64,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY (all): repr(C), only integer and byte-array fields, explicit padding
    // fields so there are no implicit holes, and every bit pattern is valid.
    unsafe impl aya::Pod for super::InstanceKey {}
    unsafe impl aya::Pod for super::InstanceConf {}
    unsafe impl aya::Pod for super::Peer {}
    unsafe impl aya::Pod for super::VridEntry {}
    unsafe impl aya::Pod for super::VipKey {}
    unsafe impl aya::Pod for super::AllowedPeer {}
    unsafe impl aya::Pod for super::Heartbeat {}
    unsafe impl aya::Pod for super::ArmRequest {}
    unsafe impl aya::Pod for super::IfaceConf {}
}

// The layouts are part of the contract with the kernel and with bpftool output.
const _: () = {
    assert!(size_of::<InstanceKey>() == 8);
    assert!(size_of::<InstanceConf>() == 56);
    assert!(core::mem::offset_of!(InstanceConf, preempt_hold_until_ns) == 16);
    assert!(core::mem::offset_of!(InstanceConf, own_addr) == 24);
    assert!(core::mem::offset_of!(InstanceConf, slot) == 42);
    assert!(core::mem::offset_of!(InstanceConf, auth_data) == 48);
    assert!(size_of::<Peer>() == 40);
    assert!(size_of::<VipKey>() == 24);
    assert!(size_of::<AllowedPeer>() == 24);
    assert!(size_of::<VridEntry>() == 64);
    assert!(size_of::<Heartbeat>() == 16);
    assert!(size_of::<ArmRequest>() == 24);
    assert!(size_of::<IfaceConf>() == 8);
};
