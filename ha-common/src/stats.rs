//! The XDP program's counters: one named `u64` per outcome, per CPU.

/// Defines [`Stats`] with one `u64` per listed field, [`Stats::add`] and
/// [`Stats::fields`], so the names exist once.
macro_rules! stats {
    ($($(#[doc = $doc:literal])+ $field:ident,)+) => {
        /// What the XDP program did, by reason: one slot per CPU in
        /// [`crate::STATS_MAP`]. Writer: the XDP program. Readers sum the CPUs
        /// (`Maps::stats` in the controller; `bpftool map dump pinned DIR/STATS`
        /// prints every field by name).
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct Stats {
            $($(#[doc = $doc])+ pub $field: u64,)+
        }

        impl Stats {
            /// Adds another CPU's counts to these.
            pub fn add(&mut self, other: &Stats) {
                $(self.$field = self.$field.wrapping_add(other.$field);)+
            }

            /// Every counter with its name, in declaration order.
            pub const fn fields(&self) -> [(&'static str, u64); stats!(@count $($field)+)] {
                [$((stringify!($field), self.$field),)+]
            }
        }
    };
    (@count $($field:ident)+) => { 0 $(+ stats!(@one $field))+ };
    (@one $field:ident) => { 1 };
}

stats! {
    /// ARP frames seen (any operation).
    rx_arp,
    /// IPv4 packets with protocol 112 (VRRP), ours or not.
    rx_vrrp_v4,
    /// IPv6 packets with next header 112 (VRRP), ours or not.
    rx_vrrp_v6,
    /// IPv6 Neighbor Solicitations seen.
    rx_ns,
    /// Everything else, passed on untouched.
    rx_other,
    /// VRRP for a VRID (or family, or interface) we have no instance for: passed on.
    pass_unknown_vrid,
    /// Our own adverts (source = our primary address): passed on, ignored.
    pass_own,
    /// Dropped: TTL / hop limit not 255 (RFC 5798 §7.1).
    drop_ttl,
    /// Dropped: VRRP version is not the instance's (2 or 3).
    drop_version,
    /// Dropped: VRRP type is not 1 (ADVERTISEMENT).
    drop_type,
    /// Dropped: the IP header or payload is shorter than it says or than a VRRP header.
    drop_len,
    /// Dropped: an IPv4 fragment.
    drop_frag,
    /// Dropped: the address count does not fit the payload, or is 0 in v3.
    drop_count_mismatch,
    /// Dropped: bad checksum.
    drop_checksum,
    /// Dropped: v2 authentication type or password differs from ours.
    drop_auth,
    /// Dropped: v2 interval differs from ours (RFC 3768 §7.1), or a v3 interval of 0.
    drop_interval,
    /// Dropped: the sender is not one the instance accepts adverts from
    /// (`check_unicast_src` / `accept_from`).
    drop_not_peer,
    /// Dropped in strict mode: the address list differs from ours.
    drop_address_list,
    /// Valid adverts accepted (PEERS updated).
    adverts_accepted,
    /// Accepted adverts that needed no event: handled in the kernel alone.
    adverts_absorbed,
    /// Backup with preempt: lower-priority adverts that did not re-arm the timer.
    adverts_outranked,
    /// Master-down deadlines set, by adverts or by the controller.
    timer_armed,
    /// Kernel timer starts: a deadline earlier than the running timer's, or the
    /// timer waking before a deadline that adverts moved (about one per
    /// Master_Down_Interval per instance in steady state, not one per advert).
    timer_started,
    /// Master-down timers that fired.
    timer_fired,
    /// Arm / cancel requests from the controller (`ha_arm`).
    arm_requests,
    /// Events written to the ring buffer.
    events_sent,
    /// Events lost because the ring buffer was full.
    events_dropped,
    /// ARP requests for a VIP answered with XDP_TX.
    arp_replied,
    /// ARP requests for a VIP passed to the kernel to answer (Master, fresh): the
    /// interface's replies go through the kernel (`IFACES`: native mode on a veth).
    arp_passed,
    /// ARP requests for a VIP dropped: the instance is not Master.
    arp_dropped_not_master,
    /// ARP requests for a VIP dropped: the controller's heartbeat is stale.
    arp_dropped_stale,
    /// ARP requests for a VIP dropped unanswered (Master, fresh): the Ethernet
    /// destination is neither broadcast nor our MAC, or the sender hardware
    /// address is not unicast (multicast, broadcast or zero).
    arp_dropped_invalid,
    /// Neighbor Solicitations for a VIP answered with an NA (XDP_TX).
    ns_replied,
    /// Neighbor Solicitations for a VIP passed to the kernel to answer (Master,
    /// fresh): the interface's replies go through the kernel (`IFACES`), a form
    /// we do not answer in place (DAD, no source link-layer option), or one the
    /// kernel discards (a multicast source, a frame shorter than its message).
    ns_passed,
    /// Neighbor Solicitations for a VIP dropped: the instance is not Master.
    ns_dropped_not_master,
    /// Neighbor Solicitations for a VIP dropped: the controller's heartbeat is stale.
    ns_dropped_stale,
    /// Neighbor Solicitations for a VIP dropped unanswered (Master, fresh, a form
    /// we answer in place): bad ICMPv6 checksum.
    ns_dropped_checksum,
    /// A map update or timer helper failed (should stay 0).
    errors,
}

// SAFETY: repr(C), only u64 fields, no padding, every bit pattern valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for Stats {}
