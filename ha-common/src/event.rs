//! Records on the [`crate::EVENTS_MAP`] ring buffer: what the XDP program tells
//! the controller. It writes one only when something matters; steady-state adverts
//! are absorbed in the kernel (counted in [`crate::Stats::adverts_absorbed`]).

use crate::maps::InstanceKey;

/// Values of [`Event::kind`].
pub mod event_kind {
    /// A valid advert the controller should see; [`super::Event::reasons`] says why.
    pub const ADVERT: u32 = 1;
    /// The instance's master-down timer fired. The controller decides what follows
    /// (normally: become master). `src`, `priority` and `advert_int_cs` are zero.
    pub const MASTER_DOWN: u32 = 2;
}

/// Bits of [`Event::reasons`] for [`event_kind::ADVERT`]; several may be set.
pub mod reason {
    /// Priority 0: the master is leaving. In Backup the timer was set to
    /// Skew_Time; in Master the controller should send an advert now.
    pub const PRIORITY_ZERO: u32 = 1 << 0;
    /// The sender differs from the last one heard ([`crate::Peer::master_addr`]).
    pub const NEW_MASTER_ADDR: u32 = 1 << 1;
    /// Same sender, different priority than its last advert.
    pub const PRIORITY_CHANGE: u32 = 1 << 2;
    /// We are Master and the sender ranks above us: a higher priority, or the same
    /// priority and a greater primary address (RFC 5798 §6.4.3). The master-down
    /// timer has been armed with Master_Down_Interval, as for the Backup we become.
    pub const PREEMPTS_US: u32 = 1 << 3;
    /// We are Master and the sender ranks below us: RFC 9568 §6.4.3 says discard
    /// it and send an advert at once.
    pub const LOWER_WHILE_MASTER: u32 = 1 << 4;
    /// Nothing heard for this instance for longer than three of the sender's
    /// intervals, or never.
    pub const FIRST_AFTER_SILENCE: u32 = 1 << 5;
    /// Same sender, different interval than its last advert.
    pub const INTERVAL_CHANGE: u32 = 1 << 6;
    /// Backup with preempt: the advert ranks below us and no preempt hold runs,
    /// so it did not re-arm the master-down timer (RFC 5798 §6.4.2 "discard");
    /// the timer will expire and we take over. Only ever set together with
    /// another reason: repeats of the same lower advert are absorbed.
    pub const OUTRANKED: u32 = 1 << 7;
}

/// One ring-buffer record. 48 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// [`event_kind::ADVERT`] or [`event_kind::MASTER_DOWN`].
    pub kind: u32,
    /// [`reason`] bits (adverts only).
    pub reasons: u32,
    /// The instance.
    pub key: InstanceKey,
    /// When it happened (`bpf_ktime_get_ns`, `CLOCK_MONOTONIC`).
    pub ts_ns: u64,
    /// The advert's IP source (network byte order, IPv4 in the first 4 bytes).
    pub src: [u8; 16],
    /// The advert's priority.
    pub priority: u8,
    pub _pad: u8,
    /// The advert's interval in centiseconds (v2: seconds * 100).
    pub advert_int_cs: u16,
    pub _pad2: u32,
}

impl Event {
    /// Whether reason bit `bit` is set.
    pub const fn has(&self, bit: u32) -> bool {
        self.reasons & bit != 0
    }
}

// SAFETY: repr(C), integers and byte arrays, explicit padding, any bit pattern valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Event {}

const _: () = assert!(size_of::<Event>() == 48);
