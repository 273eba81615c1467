//! The per-instance master-down timer: a `bpf_timer` in the [`TIMERS`] map.
//!
//! Armed by [`crate::vrrp`] on adverts (Backup: reset to Master_Down_Interval or
//! Skew_Time; Master: when a better advert makes us Backup) and by the controller
//! through the `ha_arm` program (at startup in Backup, before any advert). When it
//! fires, [`master_down`] writes a MASTER_DOWN event; the controller decides.

use core::ffi::c_void;

use aya_ebpf::{
    bindings::bpf_timer,
    helpers::{
        bpf_ktime_get_ns,
        generated::{bpf_timer_cancel, bpf_timer_init, bpf_timer_set_callback, bpf_timer_start},
    },
};
use ha_common::{Event, InstanceKey, event_kind};

use crate::{
    event,
    maps::{TIMERS, TimerSlot},
    stats::inc,
};

/// `CLOCK_MONOTONIC`: the clock of `bpf_ktime_get_ns`.
const CLOCK_MONOTONIC: u64 = 1;
/// `bpf_map_update_elem` flag: only create.
const BPF_NOEXIST: u64 = 1;

/// (Re)starts `key`'s timer to fire `delay_ns` after `now`. Failures are counted.
#[inline(always)]
pub fn arm(key: &InstanceKey, delay_ns: u64, now: u64) -> bool {
    let Some(slot) = slot(key) else {
        inc(|s| &mut s.errors);
        return false;
    };
    // SAFETY: a live map value of TIMERS; the timer helpers take its embedded
    // bpf_timer, and TIMERS is the map that holds it.
    let ok = unsafe {
        let timer = core::ptr::addr_of_mut!((*slot).timer);
        // -EBUSY when already initialised: fine. Setting the callback again is
        // harmless and covers a slot created by a racing CPU that had not set it yet.
        bpf_timer_init(
            timer,
            core::ptr::addr_of!(TIMERS).cast_mut().cast(),
            CLOCK_MONOTONIC,
        );
        bpf_timer_set_callback(timer, master_down as *mut c_void);
        (*slot).key = *key;
        (*slot).armed_ns = now;
        (*slot).expires_ns = now.wrapping_add(delay_ns);
        bpf_timer_start(timer, delay_ns, 0) == 0
    };
    if ok {
        inc(|s| &mut s.timer_armed);
    } else {
        inc(|s| &mut s.errors);
    }
    ok
}

/// Stops `key`'s timer if it runs.
#[inline(always)]
pub fn cancel(key: &InstanceKey) {
    if let Some(slot) = TIMERS.get_ptr_mut(key) {
        // SAFETY: a live map value of TIMERS. Cancelling an uninitialised or idle
        // timer returns an error and changes nothing.
        unsafe {
            bpf_timer_cancel(core::ptr::addr_of_mut!((*slot).timer));
            (*slot).expires_ns = 0;
        }
    }
}

/// The slot of `key`, created if missing.
#[inline(always)]
fn slot(key: &InstanceKey) -> Option<*mut TimerSlot> {
    if let Some(slot) = TIMERS.get_ptr_mut(key) {
        return Some(slot);
    }
    let empty = TimerSlot {
        timer: bpf_timer { __opaque: [0; 2] },
        key: *key,
        armed_ns: 0,
        expires_ns: 0,
    };
    // EEXIST from a racing CPU is fine: look it up either way.
    let _ = TIMERS.insert(key, &empty, BPF_NOEXIST);
    TIMERS.get_ptr_mut(key)
}

/// The timer callback (the kernel calls it with the map, the key and the value).
/// Must return 0.
extern "C" fn master_down(_map: *mut c_void, key: *mut InstanceKey, _slot: *mut TimerSlot) -> i32 {
    inc(|s| &mut s.timer_fired);
    // SAFETY: the kernel passes a valid pointer to the element's key.
    let key = unsafe { *key };
    event::send(&Event {
        kind: event_kind::MASTER_DOWN,
        reasons: 0,
        key,
        // SAFETY: no preconditions.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        src: [0; 16],
        priority: 0,
        _pad: 0,
        advert_int_cs: 0,
        _pad2: 0,
    });
    0
}
