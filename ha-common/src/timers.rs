//! The RFC timer formulas in nanoseconds, for the XDP program (which re-arms the
//! master-down timer itself). They equal `ha-userspace/src/vrrp/timers.rs` to the
//! nanosecond; a unit test in `ha-userspace/src/ebpf` checks every priority.

/// Nanoseconds per centisecond (the VRRPv3 interval unit).
pub const NS_PER_CS: u64 = 10_000_000;
/// VRRPv2 Skew_Time unit: 1 s / 256, exact in nanoseconds (RFC 3768 §6.1).
pub const V2_SKEW_NS_PER_PRIORITY: u64 = 3_906_250;

/// Skew_Time for our `priority`: v2 `(256 - Priority) / 256` s (RFC 3768 §6.1);
/// v3 `((256 - Priority) * Master_Adver_Interval) / 256` cs (RFC 5798 §6.1), formed in
/// ns and divided once (rounded down to the nanosecond). `interval_cs` is the
/// master's interval (v3) and is ignored for v2.
pub const fn skew_ns(version: u8, priority: u8, interval_cs: u16) -> u64 {
    let weight = 256 - priority as u64;
    if version == 2 {
        weight * V2_SKEW_NS_PER_PRIORITY
    } else {
        weight * interval_cs as u64 * NS_PER_CS / 256
    }
}

/// Master_Down_Interval: `3 * interval + Skew_Time` (RFC 3768 / RFC 5798 §6.1).
/// `interval_cs`: v2 our Advertisement_Interval (seconds * 100), v3 the master's.
pub const fn master_down_ns(version: u8, priority: u8, interval_cs: u16) -> u64 {
    3 * interval_cs as u64 * NS_PER_CS + skew_ns(version, priority, interval_cs)
}
