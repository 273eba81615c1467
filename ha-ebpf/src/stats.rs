//! Counting frames in the per-CPU [`FRAME_COUNTS`] map.

use crate::{classify::Kind, maps::FRAME_COUNTS};

/// Adds one to the counter of `kind` on this CPU. Per-CPU slots need no atomics.
#[inline(always)]
pub fn count(kind: Kind) {
    let Some(counts) = FRAME_COUNTS.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: the pointer comes from a successful lookup in a per-CPU array and is
    // only touched by this CPU while the program runs.
    let counts = unsafe { &mut *counts };
    match kind {
        Kind::Arp => counts.arp = counts.arp.wrapping_add(1),
        Kind::VrrpV4 => counts.vrrp_v4 = counts.vrrp_v4.wrapping_add(1),
        Kind::VrrpV6 => counts.vrrp_v6 = counts.vrrp_v6.wrapping_add(1),
        Kind::Other => counts.other = counts.other.wrapping_add(1),
    }
}
