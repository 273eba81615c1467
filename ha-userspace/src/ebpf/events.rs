//! The controller's side of the EVENTS ring buffer, on tokio.

use std::path::Path;

use anyhow::{Context, Result};
use aya::maps::{Map, MapData, RingBuf};
use ha_common::{EVENTS_MAP, Event};
use tokio::io::{Interest, unix::AsyncFd};

/// The events the XDP program writes, as an async stream. One reader per ring: two
/// readers would steal each other's events.
pub struct EventStream {
    ring: AsyncFd<RingBuf<MapData>>,
}

impl EventStream {
    /// Opens the ring pinned in `dir`. Call inside a tokio runtime (it registers
    /// the ring's fd with the reactor).
    pub fn open(dir: &Path) -> Result<EventStream> {
        let path = dir.join(EVENTS_MAP);
        let data = MapData::from_pin(&path).with_context(|| {
            format!(
                "no pinned ring buffer at {} (is the datapath loaded?)",
                path.display()
            )
        })?;
        let ring = RingBuf::try_from(Map::RingBuf(data))
            .with_context(|| format!("{} is not a ring buffer", path.display()))?;
        // SAFETY: the ring owns its map fd, which stays open and the same for as long
        // as the AsyncFd owns the ring.
        let ring = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)
            .context("cannot poll the events ring buffer")?;
        Ok(EventStream { ring })
    }

    /// The next event, waiting for one if none is queued.
    pub async fn next(&mut self) -> Result<Event> {
        loop {
            let mut guard = self
                .ring
                .readable_mut()
                .await
                .context("polling the events ring buffer")?;
            if let Some(event) = pop(guard.get_inner_mut()) {
                // Still readable: more may be queued; the next call tries first.
                return Ok(event);
            }
            guard.clear_ready();
        }
    }

    /// The next queued event, without waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        pop(self.ring.get_mut())
    }
}

/// Takes records until one decodes as an [`Event`] (any other size is skipped).
fn pop(ring: &mut RingBuf<MapData>) -> Option<Event> {
    loop {
        let item = ring.next()?;
        if let Some(event) = decode(&item) {
            return Some(event);
        }
    }
}

/// An [`Event`] from a ring-buffer record.
pub fn decode(bytes: &[u8]) -> Option<Event> {
    if bytes.len() != size_of::<Event>() {
        return None;
    }
    // SAFETY: the length matches and Event is plain data valid for any bit pattern;
    // read_unaligned copes with the record's alignment.
    Some(unsafe { bytes.as_ptr().cast::<Event>().read_unaligned() })
}

#[cfg(test)]
mod tests {
    use ha_common::{InstanceKey, event_kind, reason};

    use super::*;

    #[test]
    fn a_record_of_the_right_size_decodes_and_others_do_not() {
        let event = Event {
            kind: event_kind::ADVERT,
            reasons: reason::PREEMPTS_US | reason::NEW_MASTER_ADDR,
            key: InstanceKey::new(7, 51, 4),
            ts_ns: 123_456_789,
            src: ha_common::addr::from_v4([198, 18, 30, 1]),
            priority: 200,
            advert_int_cs: 100,
            ..Event::default()
        };
        // SAFETY: Event is plain data; we only read its bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts((&event as *const Event).cast::<u8>(), size_of::<Event>())
        };
        // Records need not be aligned in the ring.
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(bytes);
        assert_eq!(decode(&shifted[1..]), Some(event));
        assert!(event.has(reason::PREEMPTS_US) && !event.has(reason::PRIORITY_ZERO));
        assert_eq!(decode(&bytes[..47]), None);
        assert_eq!(decode(&[bytes, &[0]].concat()), None);
    }
}
