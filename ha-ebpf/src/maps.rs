//! The maps of the XDP programs. Each names its one writer; names, keys and values
//! are in `ha-common` (`maps.rs`), except the tail of a peer slot, which holds
//! a kernel `bpf_timer` and is only ever touched here.

use aya_ebpf::{
    bindings::bpf_timer,
    btf_maps::{Array, HashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use ha_common::{
    AllowedPeer, BY_VRID_ENTRIES, EVENTS_BYTES, Event, Heartbeat, IfaceConf, InstanceConf,
    InstanceKey, MAX_ALLOWED_PEERS, MAX_IFACES, MAX_INSTANCES, MAX_VIPS, Peer, Stats, VipKey,
    VridEntry,
};

/// Our instances. Writer: the controller.
#[btf_map]
pub static INSTANCES: HashMap<InstanceKey, InstanceConf, { MAX_INSTANCES as usize }> =
    HashMap::new();

/// INSTANCES by family and VRID (`ha_common::by_vrid_index`), for the advert
/// path. Writer: the controller.
#[btf_map]
pub static BY_VRID: Array<VridEntry, { BY_VRID_ENTRIES as usize }> = Array::new();

/// Per instance (index: [`InstanceConf::slot`]) the last valid advert heard and
/// the master-down timer, 64 bytes together. Writer: this program (`ha_xdp` on
/// adverts, `ha_arm` for the controller).
#[btf_map]
pub static PEERS: Array<PeerSlot, { MAX_INSTANCES as usize }> = Array::new();

/// A [`PEERS`] value: what userspace reads as a [`Peer`], then the timer.
#[repr(C)]
pub struct PeerSlot {
    pub peer: Peer,
    /// The kernel timer; its callback is `timer::master_down`.
    pub timer: bpf_timer,
    /// The master-down deadline (`bpf_ktime_get_ns`): when the master is down if
    /// no advert moves it. 0: no deadline (cancelled, fired, never armed). While
    /// it is set the kernel timer runs and goes off at or before it.
    pub expires_ns: u64,
}

const _: () = assert!(size_of::<PeerSlot>() == ha_common::PEER_SLOT_SIZE);
const _: () = assert!(core::mem::offset_of!(PeerSlot, peer) == 0);

/// The addresses the ARP/NS responder answers for, and their instance. Writer: the controller.
#[btf_map]
pub static VIPS: HashMap<VipKey, InstanceKey, { MAX_VIPS as usize }> = HashMap::new();

/// The senders an instance with `PEERS_ONLY` accepts adverts from. Writer:
/// the controller.
#[btf_map]
pub static ALLOWED_PEERS: HashMap<AllowedPeer, u8, { MAX_ALLOWED_PEERS as usize }> = HashMap::new();

/// The controller's liveness (index 0). Writer: the controller.
#[btf_map]
pub static HEARTBEAT: Array<Heartbeat, 1> = Array::new();

/// Events for the controller. Writer: this program and its timer callback.
#[btf_map]
pub static EVENTS: RingBuf<Event, { EVENTS_BYTES as usize }> = RingBuf::new();

/// Counters by outcome, one slot per CPU. Writer: this program.
#[btf_map]
pub static STATS: PerCpuArray<Stats, 1> = PerCpuArray::new();

/// How the responder replies on each interface, by ifindex. Writer: the
/// controller's loader, when it attaches the program to the interface.
#[btf_map]
pub static IFACES: HashMap<u32, IfaceConf, { MAX_IFACES as usize }> = HashMap::new();
