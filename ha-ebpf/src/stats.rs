//! Counting outcomes in the per-CPU [`STATS`] map.

use ha_common::Stats;

use crate::maps::STATS;

/// Adds one to the counter `field` picks, on this CPU. Per-CPU slots need no atomics.
#[inline(always)]
pub fn inc(field: impl FnOnce(&mut Stats) -> &mut u64) {
    let Some(stats) = STATS.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: the pointer comes from a successful lookup in a per-CPU array and is
    // only touched by this CPU while the program runs.
    let counter = field(unsafe { &mut *stats });
    *counter = counter.wrapping_add(1);
}
