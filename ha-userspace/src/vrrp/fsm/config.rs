//! The per-virtual-router parameters the state machine needs (RFC 5798 §6.1
//! "Parameters per Virtual Router"), and their validation.

use std::net::IpAddr;
use std::time::Duration;

use crate::vrrp::Version;
use crate::vrrp::timers::{MAX_V3_INTERVAL_CS, centiseconds};

/// Priority of the IPvX address owner (RFC 5798 §5.2.4). It goes to Master at
/// start-up without waiting and tracking never changes it.
pub const OWNER_PRIORITY: u8 = 255;

/// Priority in the advert a master sends when it stops (RFC 5798 §5.2.4).
pub const STOP_PRIORITY: u8 = 0;

/// What one virtual router is configured with.
///
/// Fields are public so the config layer can fill them in; [`Config::new`]
/// gives the RFC defaults and [`Config::validate`] (called by
/// [`Fsm::new`](super::Fsm::new)) checks the ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Virtual Router Identifier, 1..=255 (RFC 5798 §5.2.3).
    pub vrid: u8,
    /// Protocol version.
    pub version: Version,
    /// Configured priority, 1..=255; 255 means this router owns the virtual
    /// addresses (RFC 5798 §5.2.4).
    pub priority: u8,
    /// Advertisement_Interval in centiseconds (RFC 5798 §6.1). v3: 1..=4095.
    /// v2: whole seconds times 100, 100..=25500 (RFC 3768 §5.3.7: 8-bit
    /// seconds field).
    pub advert_int_cs: u16,
    /// Preempt_Mode (RFC 5798 §6.1, default true). The owner always preempts
    /// regardless of this flag.
    pub preempt: bool,
    /// keepalived `preempt_delay`: after start-up, and after first seeing a
    /// lower-priority master, accept that master for this long before
    /// preempting it. Zero disables it. See the `fsm` module docs.
    pub preempt_delay: Duration,
    /// This router's primary address on the interface: the source of its
    /// adverts and the tie-break key when two masters have equal priority
    /// (RFC 5798 §6.4.3). Its family is the virtual router's family.
    pub primary_addr: IpAddr,
    /// RFC 9568 §6.4.3: a master that receives an advert from a router it
    /// outranks sends an advert at once (default true). keepalived's
    /// `lower_prio_no_advert` is the negation.
    pub lower_prio_readvert: bool,
    /// keepalived `state MASTER`: the first Master_Down_Timer after Startup
    /// is one Advertisement_Interval plus Skew_Time, so with no master on the
    /// link we take over after about one interval instead of three.
    pub initial_master: bool,
}

impl Config {
    /// A config with the RFC defaults: advert interval 1 s, preempt on, no
    /// preempt delay, re-advert on a lower-priority advert.
    pub fn new(vrid: u8, version: Version, priority: u8, primary_addr: IpAddr) -> Self {
        Config {
            vrid,
            version,
            priority,
            advert_int_cs: 100,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary_addr,
            lower_prio_readvert: true,
            initial_master: false,
        }
    }

    /// Advertisement_Interval as a [`Duration`].
    pub fn advert_interval(&self) -> Duration {
        centiseconds(self.advert_int_cs)
    }

    /// Whether this router owns the virtual addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }

    /// Checks every range the state machine relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == STOP_PRIORITY {
            return Err(ConfigError::Priority);
        }
        match self.version {
            Version::V2 => {
                if self.primary_addr.is_ipv6() {
                    return Err(ConfigError::V2Ipv6);
                }
                if self.advert_int_cs == 0
                    || !self.advert_int_cs.is_multiple_of(100)
                    || self.advert_int_cs > 255 * 100
                {
                    return Err(ConfigError::V2Interval(self.advert_int_cs));
                }
            }
            Version::V3 => {
                if !(1..=MAX_V3_INTERVAL_CS).contains(&self.advert_int_cs) {
                    return Err(ConfigError::V3Interval(self.advert_int_cs));
                }
            }
        }
        Ok(())
    }
}

/// A [`Config`] value outside what the RFCs allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// RFC 5798 §5.2.3: VRID 0 does not exist.
    #[error("virtual router id must be 1..=255, got 0")]
    Vrid,
    /// RFC 5798 §5.2.4: 0 is reserved for the stopping master.
    #[error("priority must be 1..=255 (0 is reserved for a stopping master)")]
    Priority,
    /// RFC 3768 is IPv4 only.
    #[error("VRRPv2 is IPv4 only; use version 3 for an IPv6 virtual router")]
    V2Ipv6,
    /// RFC 3768 §5.3.7: whole seconds, 1..=255.
    #[error("VRRPv2 advert interval must be whole seconds 1..=255, got {}.{:02} s", .0 / 100, .0 % 100)]
    V2Interval(u16),
    /// RFC 5798 §5.2.7: 1..=4095 centiseconds.
    #[error("VRRPv3 advert interval must be 1..=4095 centiseconds (0.01..=40.95 s), got {0} cs")]
    V3Interval(u16),
}
