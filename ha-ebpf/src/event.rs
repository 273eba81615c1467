//! Writing events for the controller to the [`EVENTS`] ring buffer.

use ha_common::Event;

use crate::{maps::EVENTS, stats::inc};

/// Writes `event`; counts it as sent, or as dropped when the ring is full (the
/// controller is not keeping up or not reading).
#[inline(always)]
pub fn send(event: &Event) {
    match EVENTS.output(event, 0) {
        Ok(()) => inc(|s| &mut s.events_sent),
        Err(_) => inc(|s| &mut s.events_dropped),
    }
}
