//! The XDP datapath: loading the embedded object, attaching it, pinning its maps,
//! programs and links, the typed maps the controller drives it with, and the
//! ring-buffer events it reports through.
//!
//! # How the controller drives it
//!
//! 1. [`Datapath::load`] once (pins under one directory), [`Datapath::attach`] to
//!    each VRRP interface: one program, one set of maps, keys carry the ifindex.
//!    Attaching also writes the interface's IFACES entry: whether the responder
//!    replies in place (`XDP_TX`) or lets the kernel answer ([`iface::replies_for`]).
//! 2. [`Maps::set_instance`] for every instance (state BACKUP or MASTER, priority,
//!    version, interval, preempt, own address, MAC for the responder, v2 auth),
//!    [`Maps::set_vip`] for every VIP, and [`Maps::beat`] periodically (the
//!    responder stops answering when the heartbeat is older than its max age).
//! 3. Read [`EventStream::next`]: ADVERT events for adverts that matter, and
//!    MASTER_DOWN when an instance's master-down timer fires.
//! 4. Entering Backup: [`Maps::arm_master_down`] with the deadline (now +
//!    Master_Down_Interval; never earlier than the adverts the kernel heard
//!    call for); after that, adverts re-arm the timer in the kernel.
//!
//! Clock: every `*_ns` value is [`monotonic_ns`] (`CLOCK_MONOTONIC`).

mod attach;
mod clock;
pub mod command;
mod events;
pub mod iface;
mod maps;
mod object;
mod pins;
mod testrun;

pub use attach::{AttachMode, Attached, Datapath, attach};
pub use clock::monotonic_ns;
pub use events::{EventStream, decode};
pub use maps::Maps;
pub use object::{OBJECT, object};
pub use pins::{LINK_PIN_PREFIX, PIN_ROOT, link_pin, unpin_all};
pub use testrun::PinnedProgram;

#[cfg(test)]
mod tests {
    use ha_common::timers::{master_down_ns, skew_ns};

    use crate::vrrp::{Version, timers};

    /// The kernel re-arms the master-down timer with ha-common's formulas: they must
    /// be the controller's, to the nanosecond, for every priority and interval.
    #[test]
    fn kernel_timer_formulas_equal_the_controllers() {
        for priority in 0..=255u8 {
            for cs in [1u16, 2, 5, 7, 10, 50, 99, 100, 101, 200, 1000, 4095] {
                let v3 = timers::master_down_interval(Version::V3, priority, cs);
                assert_eq!(u128::from(master_down_ns(3, priority, cs)), v3.as_nanos());
                let v3 = timers::skew_time(Version::V3, priority, cs);
                assert_eq!(u128::from(skew_ns(3, priority, cs)), v3.as_nanos());
                let v2 = timers::master_down_interval(Version::V2, priority, cs);
                assert_eq!(u128::from(master_down_ns(2, priority, cs)), v2.as_nanos());
                let v2 = timers::skew_time(Version::V2, priority, cs);
                assert_eq!(u128::from(skew_ns(2, priority, cs)), v2.as_nanos());
            }
        }
    }
}
