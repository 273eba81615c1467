//! The responder's gate, shared by ARP and ND: is the address a VIP of ours, is its
//! instance Master, and is the controller alive (Cilium's `l2_responder` liveness
//! gate: a hung or dead controller stops answering).

use aya_ebpf::helpers::bpf_ktime_get_ns;
use ha_common::{VipKey, replies, state};

use crate::maps::{HEARTBEAT, IFACES, INSTANCES, VIPS};

/// What to do with a request for an address.
pub enum Gate {
    /// Not a VIP on this interface: not ours to judge.
    NotOurs,
    /// A VIP whose instance is not Master (or is gone): we must not claim it.
    NotMaster,
    /// A VIP of a Master instance, but the controller's heartbeat is stale.
    Stale,
    /// Answer with this MAC; `flags` are the instance's `instance_flag` bits.
    Answer { mac: [u8; 6], flags: u8 },
}

/// The gate for `vip`.
#[inline(always)]
pub fn check(vip: &VipKey) -> Gate {
    let Some(key) = VIPS.get_ptr(vip) else {
        return Gate::NotOurs;
    };
    // SAFETY: plain copies out of live map values.
    let key = unsafe { key.read() };
    let Some(conf) = INSTANCES.get_ptr(key) else {
        return Gate::NotMaster;
    };
    let (st, mac, flags) = unsafe { ((*conf).state, (*conf).mac, (*conf).flags) };
    if st != state::MASTER {
        return Gate::NotMaster;
    }
    if !fresh() {
        return Gate::Stale;
    }
    Gate::Answer { mac, flags }
}

/// Whether the controller beat within its `max_age_ns`.
#[inline(always)]
fn fresh() -> bool {
    let Some(hb) = HEARTBEAT.get_ptr(0) else {
        return false;
    };
    // SAFETY: a plain copy out of a live array value.
    let (last, max_age) = unsafe { ((*hb).last_ns, (*hb).max_age_ns) };
    // SAFETY: no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    last != 0 && now <= last.saturating_add(max_age)
}

/// Whether a reply the gate allows may be sent in place (`XDP_TX`) on the
/// interface `ifindex`, rather than left to the kernel (`XDP_PASS`). Only where
/// the loader said `XDP_TX` delivers: an interface without an entry gets the
/// kernel's answer, which always leaves the host.
#[inline(always)]
pub fn replies_in_place(ifindex: u32) -> bool {
    match IFACES.get_ptr(ifindex) {
        // SAFETY: a plain read out of a live map value.
        Some(conf) => unsafe { (*conf).replies == replies::XDP_TX },
        None => false,
    }
}
