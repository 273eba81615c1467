//! The maps of the XDP programs. Each names its one writer; names, keys and values
//! are in `ha-common` (`maps.rs`), except the timer slot, which holds a kernel
//! `bpf_timer` and is only ever touched here.

use aya_ebpf::{
    bindings::bpf_timer,
    btf_maps::{Array, HashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use ha_common::{
    EVENTS_BYTES, Event, Heartbeat, InstanceConf, InstanceKey, MAX_INSTANCES, MAX_VIPS, Peer,
    Stats, VipKey,
};

/// Our instances. Writer: the controller.
#[btf_map]
pub static INSTANCES: HashMap<InstanceKey, InstanceConf, { MAX_INSTANCES as usize }> =
    HashMap::new();

/// The last valid advert heard per instance. Writer: this program.
#[btf_map]
pub static PEERS: HashMap<InstanceKey, Peer, { MAX_INSTANCES as usize }> = HashMap::new();

/// The addresses the ARP/NS responder answers for, and their instance. Writer: the controller.
#[btf_map]
pub static VIPS: HashMap<VipKey, InstanceKey, { MAX_VIPS as usize }> = HashMap::new();

/// The controller's liveness (index 0). Writer: the controller.
#[btf_map]
pub static HEARTBEAT: Array<Heartbeat, 1> = Array::new();

/// One master-down timer per instance.
#[repr(C)]
pub struct TimerSlot {
    /// The kernel timer; its callback is `timer::master_down`.
    pub timer: bpf_timer,
    /// The instance (also the map key; kept for `bpftool` readers).
    pub key: InstanceKey,
    /// When it was last armed.
    pub armed_ns: u64,
    /// When it fires if nothing re-arms it.
    pub expires_ns: u64,
}

const _: () = assert!(size_of::<TimerSlot>() == ha_common::TIMER_SLOT_SIZE);

/// Master-down timers. Writer: this program (`ha_xdp` on adverts, `ha_arm` for the
/// controller); the controller deletes an instance's slot when it removes the instance.
#[btf_map]
pub static TIMERS: HashMap<InstanceKey, TimerSlot, { MAX_INSTANCES as usize }> = HashMap::new();

/// Events for the controller. Writer: this program and its timer callback.
#[btf_map]
pub static EVENTS: RingBuf<Event, { EVENTS_BYTES as usize }> = RingBuf::new();

/// Counters by outcome, one slot per CPU. Writer: this program.
#[btf_map]
pub static STATS: PerCpuArray<Stats, 1> = PerCpuArray::new();
