//! The per-instance master-down timer: a `bpf_timer` in the instance's [`PEERS`]
//! slot.
//!
//! Armed by [`crate::vrrp`] on adverts (Backup: reset to Master_Down_Interval or
//! Skew_Time; Master: when a better advert makes us Backup) and by the controller
//! through the `ha_arm` program (entering Backup). When the deadline passes,
//! [`master_down`] writes a MASTER_DOWN event; the controller decides.
//!
//! Lazily: an advert in Backup only moves the deadline (`expires_ns`) later while
//! the kernel timer runs. Restarting an hrtimer on every advert cost more than the
//! rest of an advert's handling together; this way it is started about once per
//! Master_Down_Interval. When it wakes before the deadline, [`master_down`] starts
//! it again for the rest, so the event still comes at the deadline (RFC 5798
//! §6.4.2: the last advert + Master_Down_Interval).
//!
//! Invariant: `expires_ns != 0` ⇒ the timer runs and goes off at or before
//! `expires_ns`. An advert racing the callback on another CPU can break it (the
//! callback clears the deadline and reports master-down while the advert keeps a
//! deadline without a timer); the controller then goes Master and, back in Backup,
//! arms with `force`, which restarts the timer whatever the fields say.

use core::ffi::c_void;

use aya_ebpf::helpers::{
    bpf_ktime_get_ns,
    generated::{bpf_timer_cancel, bpf_timer_init, bpf_timer_set_callback, bpf_timer_start},
};
use ha_common::{Event, event_kind};

use crate::{
    event,
    maps::{PEERS, PeerSlot},
    stats::inc,
};

/// `-EBUSY`: `bpf_timer_init` on a timer already initialised.
const EBUSY: i64 = -16;
/// `CLOCK_MONOTONIC`: the clock of `bpf_ktime_get_ns`.
const CLOCK_MONOTONIC: u64 = 1;

/// Sets the master-down deadline of `slot` to `delay_ns` after `now`. Starts the
/// kernel timer when it is idle, when the deadline moves earlier, or with
/// `force`. Returns 0 or the timer helper's error (counted).
///
/// # Safety
/// `slot` is a live value of [`PEERS`].
#[inline(always)]
pub unsafe fn arm(slot: *mut PeerSlot, delay_ns: u64, now: u64, force: bool) -> i64 {
    let deadline = now.wrapping_add(delay_ns);
    inc(|s| &mut s.timer_armed);
    // SAFETY: the caller's promise. Plain loads and stores: see the module docs
    // for the one race and what heals it.
    unsafe {
        let current = (*slot).expires_ns;
        (*slot).expires_ns = deadline;
        // The common case: an advert pushes the deadline later; the running
        // timer wakes in time and the callback carries on.
        if !force && current != 0 && deadline >= current {
            return 0;
        }
        start(slot, delay_ns)
    }
}

/// Stops the timer of `slot` if it runs.
///
/// # Safety
/// `slot` is a live value of [`PEERS`].
#[inline(always)]
pub unsafe fn cancel(slot: *mut PeerSlot) {
    // SAFETY: the caller's promise. Cancelling an uninitialised or idle timer
    // returns an error and changes nothing.
    unsafe {
        (*slot).expires_ns = 0;
        bpf_timer_cancel(core::ptr::addr_of_mut!((*slot).timer));
    }
}

/// Starts the kernel timer of `slot` to go off `delay_ns` from now. Initialises
/// it first if it never was (`bpf_timer_start` says -EINVAL then). A failure is
/// counted, leaves no deadline and returns the helper's error.
///
/// # Safety
/// `slot` is a live value of [`PEERS`].
#[inline(always)]
unsafe fn start(slot: *mut PeerSlot, delay_ns: u64) -> i64 {
    // SAFETY: the caller's promise; the helpers take the embedded bpf_timer of a
    // PEERS value, and PEERS is the map that holds it.
    let rc = unsafe {
        let timer = core::ptr::addr_of_mut!((*slot).timer);
        match bpf_timer_start(timer, delay_ns, 0) {
            0 => 0,
            _ => {
                // -EBUSY when a racing CPU initialised it first: fine.
                let init = bpf_timer_init(
                    timer,
                    core::ptr::addr_of!(PEERS).cast_mut().cast(),
                    CLOCK_MONOTONIC,
                );
                let cb = bpf_timer_set_callback(timer, master_down as *mut c_void);
                match bpf_timer_start(timer, delay_ns, 0) {
                    0 => 0,
                    // Report init's or set_callback's error if they failed: it
                    // explains start's.
                    _ if init != 0 && init != EBUSY => init,
                    _ if cb != 0 => cb,
                    rc => rc,
                }
            }
        }
    };
    if rc == 0 {
        inc(|s| &mut s.timer_started);
    } else {
        inc(|s| &mut s.errors);
        // SAFETY: as above.
        unsafe { (*slot).expires_ns = 0 };
    }
    rc
}

/// The timer callback (the kernel calls it with the map, the index and the
/// value). Before the deadline (adverts moved it): starts again for the rest. At
/// or after it: the master is down. Must return 0.
extern "C" fn master_down(_map: *mut c_void, _index: *mut u32, slot: *mut PeerSlot) -> i32 {
    // SAFETY: no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    // SAFETY: the kernel passes a valid pointer to the element's value.
    let deadline = unsafe { (*slot).expires_ns };
    if deadline == 0 {
        // Cancelled while the callback was on its way.
        return 0;
    }
    // SAFETY: slot is this PEERS value; restarting a timer from its own
    // callback is allowed (bpf_timer_cancel is not).
    if now < deadline && unsafe { start(slot, deadline - now) } == 0 {
        // A priority-0 advert on another CPU may have moved the deadline
        // earlier (Skew_Time) and started the timer between our read and our
        // start, which replaced its: start again for the earlier one.
        // SAFETY: as above.
        unsafe {
            let moved = (*slot).expires_ns;
            if moved != 0 && moved < deadline {
                start(slot, moved.saturating_sub(now));
            }
        }
        return 0;
    }
    // At the deadline, or the timer could not be started again (counted; not
    // expected of an initialised timer): report master-down now rather than
    // never. Early by less than Master_Down_Interval, a takeover the current
    // master's next advert undoes (RFC 5798 §6.4.2: higher priority → Backup);
    // a lost timer would leave the VIP unheld when the master dies.
    // SAFETY: as above.
    let key = unsafe {
        (*slot).expires_ns = 0;
        (*slot).peer.key
    };
    inc(|s| &mut s.timer_fired);
    event::send(&Event {
        kind: event_kind::MASTER_DOWN,
        reasons: 0,
        key,
        ts_ns: now,
        src: [0; 16],
        priority: 0,
        _pad: 0,
        advert_int_cs: 0,
        _pad2: 0,
    });
    0
}
