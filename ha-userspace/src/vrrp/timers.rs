//! The RFC timer formulas, as plain functions of priority and interval.
//!
//! Intervals are carried the way VRRPv3 carries them on the wire: centiseconds
//! in a `u16` (RFC 5798 §5.2.7 Max Adver Int, 12 bits, 1..=4095). A VRRPv2
//! interval (whole seconds on the wire, RFC 3768 §5.3.7) is passed as
//! `seconds * 100` so both versions share one unit. Results are
//! [`Duration`]s so the driver can add them to its clock without conversions.
//!
//! Rounding: the RFCs state the formulas in their own unit (seconds for v2,
//! centiseconds for v3). Taken literally as integer arithmetic, v3's
//! `((256 - Priority) * Master_Adver_Interval) / 256` truncates to whole
//! centiseconds, which throws away most of the skew for short intervals (at
//! 1 cs every priority above 0 gets a skew of 0, so two backups of different
//! priority would fire together). keepalived computes the same formula in
//! microseconds. We keep even more: the product is formed in nanoseconds and
//! divided once, so the result is the exact value rounded down to the
//! nanosecond (the error is below 1 ns). v2's skew is exact: 10^9 / 256 is
//! the integer 3_906_250.

use std::time::Duration;

use super::Version;

/// Nanoseconds in one centisecond.
const NS_PER_CS: u64 = 10_000_000;

/// The largest VRRPv3 interval, 40.95 s (RFC 5798 §5.2.7: 12-bit field).
pub const MAX_V3_INTERVAL_CS: u16 = 4095;

/// Converts a centisecond count (the VRRPv3 interval unit) to a [`Duration`].
pub const fn centiseconds(cs: u16) -> Duration {
    Duration::from_nanos(cs as u64 * NS_PER_CS)
}

/// VRRPv2 Skew_Time, RFC 3768 §6.1: `(256 - Priority) / 256` seconds.
///
/// Independent of the advertisement interval. Exact: 1 s / 256 = 3_906_250 ns.
pub const fn skew_time_v2(priority: u8) -> Duration {
    Duration::from_nanos((256 - priority as u64) * 3_906_250)
}

/// VRRPv2 Master_Down_Interval, RFC 3768 §6.1:
/// `3 * Advertisement_Interval + Skew_Time`.
///
/// `advert_int_cs` is the configured interval in centiseconds (a v2 interval
/// of N seconds is `N * 100`).
pub const fn master_down_interval_v2(advert_int_cs: u16, priority: u8) -> Duration {
    let three = Duration::from_nanos(3 * advert_int_cs as u64 * NS_PER_CS);
    three.saturating_add(skew_time_v2(priority))
}

/// VRRPv3 Skew_Time, RFC 5798 §6.1 (RFC 9568 §6.1 unchanged):
/// `((256 - Priority) * Master_Adver_Interval) / 256` centiseconds.
///
/// Computed in nanoseconds as `(256 - Priority) * interval_cs * 10^7 / 256`,
/// rounded down (see the module docs for why not in whole centiseconds).
/// `master_adver_int_cs` is the interval learned from the current master's
/// adverts (initially the configured one).
pub const fn skew_time_v3(priority: u8, master_adver_int_cs: u16) -> Duration {
    // At most 256 * 4095 * 10^7 ≈ 1.05e13: far inside u64.
    let ns = (256 - priority as u64) * master_adver_int_cs as u64 * NS_PER_CS / 256;
    Duration::from_nanos(ns)
}

/// VRRPv3 Master_Down_Interval, RFC 5798 §6.1 (RFC 9568: Active_Down_Interval):
/// `3 * Master_Adver_Interval + Skew_Time`.
pub const fn master_down_interval_v3(priority: u8, master_adver_int_cs: u16) -> Duration {
    let three = Duration::from_nanos(3 * master_adver_int_cs as u64 * NS_PER_CS);
    three.saturating_add(skew_time_v3(priority, master_adver_int_cs))
}

/// Skew_Time for either version. For v2 `interval_cs` is ignored (RFC 3768's
/// skew does not depend on the interval).
pub const fn skew_time(version: Version, priority: u8, interval_cs: u16) -> Duration {
    match version {
        Version::V2 => skew_time_v2(priority),
        Version::V3 => skew_time_v3(priority, interval_cs),
    }
}

/// Master_Down_Interval for either version. For v2 `interval_cs` is the
/// configured Advertisement_Interval, for v3 the learned Master_Adver_Interval.
pub const fn master_down_interval(version: Version, priority: u8, interval_cs: u16) -> Duration {
    match version {
        Version::V2 => master_down_interval_v2(interval_cs, priority),
        Version::V3 => master_down_interval_v3(priority, interval_cs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// RFC 3768 §6.1: priority 100 → skew 156/256 s = 0.609375 s.
    #[test]
    fn rfc3768_6_1_skew_is_exact_fraction_of_a_second() {
        assert_eq!(skew_time_v2(100), Duration::from_micros(609_375));
        assert_eq!(skew_time_v2(255), Duration::from_nanos(3_906_250));
        assert_eq!(skew_time_v2(1), Duration::from_nanos(255 * 3_906_250));
        assert_eq!(skew_time_v2(0), Duration::from_secs(1));
    }

    /// RFC 3768 §6.1: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time.
    #[test]
    fn rfc3768_6_1_master_down_interval() {
        assert_eq!(
            master_down_interval_v2(100, 100),
            ms(3_000) + Duration::from_micros(609_375)
        );
        // The interval does not enter the v2 skew.
        assert_eq!(
            master_down_interval_v2(500, 100),
            ms(15_000) + Duration::from_micros(609_375)
        );
    }

    /// RFC 5798 §6.1: skew scales with Master_Adver_Interval; FRR's docs quote
    /// 3210 ms master down for priority 200 at 1 s (skew 56/256 s = 218.75 ms,
    /// which FRR truncates to 21 cs); we keep the precision.
    #[test]
    fn rfc5798_6_1_skew_and_master_down() {
        assert_eq!(skew_time_v3(200, 100), Duration::from_micros(218_750));
        assert_eq!(
            master_down_interval_v3(200, 100),
            Duration::from_micros(3_218_750)
        );
        // 50 cs, priority 100: 156 * 50 / 256 cs = 30.46875 cs = 304.6875 ms.
        assert_eq!(
            skew_time_v3(100, 50),
            Duration::from_micros(304_687) + Duration::from_nanos(500)
        );
        // 1 cs, priority 254: 2/256 cs = 78.125 µs (RFC integer cs would give 0).
        assert_eq!(skew_time_v3(254, 1), Duration::from_nanos(78_125));
        assert!(skew_time_v3(254, 1) < skew_time_v3(253, 1));
    }

    /// Rounding is downward to the nanosecond; the error is below 1 ns.
    #[test]
    fn rfc5798_6_1_skew_rounds_down_to_the_nanosecond() {
        for prio in 0..=255u8 {
            for cs in [1u16, 3, 7, 99, 100, 101, 4095] {
                let exact_num = (256 - u128::from(prio)) * u128::from(cs) * 10_000_000;
                let got = skew_time_v3(prio, cs).as_nanos() * 256;
                assert!(
                    got <= exact_num && exact_num - got < 256,
                    "prio {prio} cs {cs}"
                );
            }
        }
    }

    /// Higher priority always gives a strictly shorter master down interval,
    /// for every interval (the property the election relies on).
    #[test]
    fn rfc5798_6_1_higher_priority_times_out_first() {
        for cs in [1u16, 2, 10, 100, MAX_V3_INTERVAL_CS] {
            for prio in 1..255u8 {
                assert!(master_down_interval_v3(prio + 1, cs) < master_down_interval_v3(prio, cs));
                assert!(
                    master_down_interval_v2(100, prio + 1) < master_down_interval_v2(100, prio)
                );
            }
        }
    }

    #[test]
    fn version_dispatch() {
        assert_eq!(skew_time(Version::V2, 100, 4095), skew_time_v2(100));
        assert_eq!(skew_time(Version::V3, 100, 50), skew_time_v3(100, 50));
        assert_eq!(
            master_down_interval(Version::V2, 7, 200),
            master_down_interval_v2(200, 7)
        );
        assert_eq!(
            master_down_interval(Version::V3, 7, 200),
            master_down_interval_v3(7, 200)
        );
        assert_eq!(centiseconds(4095), ms(40_950));
    }
}
