//! The native configuration model: the one thing the daemon consumes.
//!
//! Both readers (native TOML and keepalived.conf) produce a [`Config`]; the TOML
//! format is exactly its serde form. Every default below is keepalived's, so a
//! keepalived user who converts a config gets the behaviour they had:
//! `keepalived/include/vrrp.h` defines priority 100, advert 1 s, GARP repeat 5,
//! GARP delay 5 s, GARP refresh 0 (off) and refresh repeat 1, and the protocol
//! version defaults to 2 (IPv6 instances to 3).
//!
//! Durations are plain integers in TOML with the unit in the key
//! (`preempt_delay_ms`, `master_delay_ms`), so a file never depends on a float
//! or on a duration syntax the reader might not share.

use std::{fmt, net::IpAddr, time::Duration};

use serde::{Deserialize, Serialize};

use super::duration_serde::{micros, millis};

pub use super::route::{Prefix, Route, RouteKind, Rule};
pub use super::service::{
    Check, Checker, Command, Notify, NotifyFifo, ParamMatch, Probe, RealServer, SyncGroup,
    TrackFile, TrackKind, TrackProcess, TrackRef, Tracking, VirtualServer,
};
pub use super::vip::Vip;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Settings that are not per virtual router.
    #[serde(default)]
    pub global: Global,
    /// The virtual routers this node takes part in, in file order.
    #[serde(default)]
    pub instances: Vec<Instance>,
    /// Named pass/fail checks instances track (keepalived's `vrrp_script`,
    /// and the built-in TCP/HTTP probes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Files whose value changes priorities (keepalived's `track_file`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_files: Vec<TrackFile>,
    /// Processes whose presence is tracked (keepalived's `vrrp_track_process`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_processes: Vec<TrackProcess>,
    /// Instances that change state together (keepalived's `vrrp_sync_group`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<SyncGroup>,
    /// keepalived's `virtual_server` blocks: their real servers' checkers
    /// and notify scripts (ha does not program IPVS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_servers: Vec<VirtualServer>,
    /// Addresses configured at start-up whatever the state (keepalived's
    /// `static_ipaddress`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_addresses: Vec<Vip>,
    /// Routes installed at start-up whatever the state (`static_routes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_routes: Vec<Route>,
    /// Policy rules installed at start-up whatever the state (`static_rules`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_rules: Vec<Rule>,
}

/// Node-wide settings (keepalived's `global_defs`).
///
/// keepalived's global `vrrp_*` defaults (`vrrp_version`, `vrrp_garp_master_*`,
/// `v3_checksum_as_v2`, `vrrp_lower_prio_no_advert`) are folded into each
/// instance by the keepalived reader, so an instance always carries its
/// effective values and the daemon never has to look in two places.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    /// Name of this node in logs (keepalived's `router_id`). `None` means the
    /// host name, as in keepalived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    /// keepalived's `enable_script_security`: refuse a script that a
    /// non-root user could change (it, or a directory on its path, writable
    /// by someone other than root).
    #[serde(default, skip_serializing_if = "is_false")]
    pub script_security: bool,
    /// keepalived's `script_user USER [GROUP]`: who scripts run as unless
    /// they name their own user. `None`: root (keepalived uses
    /// `keepalived_script` when that user exists, else root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_user: Option<String>,
    /// The group of `script_user`; `None`: that user's primary group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_group: Option<String>,
    /// keepalived's `notify_fifo` / `vrrp_notify_fifo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<NotifyFifo>,
    /// keepalived's `vrrp_startup_delay`: wait this long after start before
    /// the instances begin (e.g. for the network to settle after boot).
    #[serde(
        default,
        rename = "startup_delay_ms",
        with = "millis",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub startup_delay: Duration,
}

/// One virtual router (keepalived's `vrrp_instance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// Instance name, unique in the file; used in logs, status and notify.
    pub name: String,
    /// Interface adverts are sent and received on. May be omitted only for a
    /// unicast instance (peers listed), in which case every VIP names its `dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Virtual Router Identifier, 1–255 (RFC 9568 §5.2.3).
    pub vrid: u8,
    /// VRRP protocol version: 2 (RFC 3768, IPv4 only) or 3 (RFC 9568).
    /// Default 2 as in keepalived, except that an IPv6 instance whose file does
    /// not name a version runs 3 (both readers apply that rule).
    #[serde(default = "default_version")]
    pub version: u8,
    /// Priority, 1–255; 255 means this node owns the addresses (RFC 9568 §5.2.4).
    /// keepalived's default: 100.
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// Advertisement interval in centiseconds, the unit of the v3 header
    /// (RFC 9568 §5.2.7): 1–4095. A v2 instance carries whole seconds, so it
    /// must be a multiple of 100 and at most 25500. keepalived's default: 1 s.
    #[serde(default = "default_advert_int_cs")]
    pub advert_int_cs: u16,
    /// Whether a higher-priority backup takes over from a lower-priority master
    /// (RFC 9568 Preempt_Mode). keepalived's `nopreempt` sets this to false.
    #[serde(default = "yes")]
    pub preempt: bool,
    /// Extra delay before preempting at start-up or on seeing a lower-priority
    /// master (keepalived's `preempt_delay`, 0–1000 s, default 0).
    #[serde(default, rename = "preempt_delay_ms", with = "millis")]
    pub preempt_delay: Duration,
    /// keepalived's `state MASTER`: a hint to become master at once rather than
    /// wait for the master-down timer. `state BACKUP` (the default) is false.
    #[serde(default)]
    pub initial_state_master: bool,
    /// RFC 2338 simple-password authentication (VRRPv2 only).
    #[serde(default, skip_serializing_if = "Auth::is_none")]
    pub auth: Auth,
    /// Addresses carried in adverts and owned by the master. All of one family.
    #[serde(default)]
    pub vips: Vec<Vip>,
    /// Addresses owned by the master but not carried in adverts
    /// (keepalived's `virtual_ipaddress_excluded`); may mix families.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_vips: Vec<Vip>,
    /// Source address of this instance's adverts, unicast or multicast:
    /// keepalived's `unicast_src_ip` and `mcast_src_ip` set this one field
    /// (both write `vrrp->saddr`); `None` means the interface's primary
    /// address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_src: Option<IpAddr>,
    /// Unicast peers (keepalived's `unicast_peer`). Empty means multicast to
    /// 224.0.0.18 / ff02::12.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unicast_peers: Vec<IpAddr>,
    /// Accept adverts only from these senders (their IP source address);
    /// empty: from anyone. keepalived's `check_unicast_src` sets it to the
    /// unicast peers. The XDP program enforces it too: a stranger's priority-0
    /// or higher-priority advert never reaches the election.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept_from: Vec<IpAddr>,
    /// keepalived's `vrrp_strict` / `strict_mode`: adverts whose address list
    /// differs from ours are dropped (RFC 9568 §7.1), and a master does not
    /// answer lower-priority adverts at once unless asked to. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict: bool,
    /// Gratuitous ARP / unsolicited NA timing on becoming master.
    #[serde(default)]
    pub garp: Garp,
    /// A master that hears a lower-priority advert answers with its own advert
    /// at once (RFC 9568 §6.4.3). keepalived's `lower_prio_no_advert` turns it
    /// off. Default true.
    #[serde(default = "yes")]
    pub lower_prio_readvert: bool,
    /// VRRPv3 over IPv4: include the IPv4 pseudo-header in the checksum, as
    /// RFC 9568 §5.2.8, keepalived and FRR do. keepalived's `v3_checksum_as_v2`
    /// (some Cisco/Juniper releases) sets it to false. Default true.
    #[serde(default = "yes")]
    pub v3_checksum_with_pseudo_header: bool,
    /// Where adverts are received and ARP is answered.
    #[serde(default)]
    pub datapath: Datapath,
    /// What a stopping master does with its VIPs (see [`Handover`]).
    #[serde(default)]
    pub handover: Handover,
    /// Checks, interfaces, files and processes the instance follows.
    #[serde(default, skip_serializing_if = "Tracking::is_empty")]
    pub track: Tracking,
    /// Scripts run when the instance changes state.
    #[serde(default, skip_serializing_if = "Notify::is_empty")]
    pub notify: Notify,
    /// keepalived's `skip_check_adv_addr` (or global
    /// `vrrp_skip_check_adv_addr`): an advert from the current master is
    /// accepted without comparing its address list with ours.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_check_adv_addr: bool,
    /// keepalived's `dont_track_primary`: the interface going down does not
    /// put the instance in FAULT (tracked interfaces still do).
    #[serde(default, skip_serializing_if = "is_false")]
    pub dont_track_primary: bool,
    /// keepalived's `use_vmac`: adverts and VIPs on a macvlan with the
    /// VRRP virtual MAC (RFC 9568 §7.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac: Option<Vmac>,
    /// Routes added on becoming master and removed on leaving it
    /// (keepalived's `virtual_routes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<Route>,
    /// Policy rules added on becoming master and removed on leaving it
    /// (keepalived's `virtual_rules`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<Rule>,
}

/// keepalived's `use_vmac [NAME]` and `vmac_xmit_base`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vmac {
    /// The macvlan's name; `None`: keepalived's `vrrp.VRID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Send and receive adverts on the base interface, not the macvlan
    /// (keepalived's `vmac_xmit_base`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub xmit_base: bool,
}

/// Authentication carried in a VRRPv2 advert. Its `Debug` leaves the
/// password out: a `Config` is logged and printed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Auth {
    /// No authentication (auth type 0). The only choice for VRRPv3.
    #[default]
    None,
    /// Simple text password (auth type 1, keepalived's `auth_type PASS`):
    /// at most 8 bytes, zero-padded on the wire.
    Pass {
        /// The password, 1–8 bytes.
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Pass { .. } => f
                .debug_struct("Pass")
                .field("password", &format_args!("<redacted>"))
                .finish(),
        }
    }
}

impl Auth {
    /// True when no authentication is configured.
    pub fn is_none(&self) -> bool {
        matches!(self, Auth::None)
    }

    /// The 8 authentication-data bytes of a v2 advert (RFC 2338 §5.3.10):
    /// the password zero-padded, all zeros without a password.
    pub fn wire_data(&self) -> [u8; 8] {
        let mut data = [0u8; 8];
        if let Auth::Pass { password } = self {
            let bytes = password.as_bytes();
            let n = bytes.len().min(8);
            data[..n].copy_from_slice(&bytes[..n]);
        }
        data
    }
}

/// Gratuitous ARP / unsolicited Neighbor Advertisement timing (keepalived's
/// `garp_master_*`, defaults from its global `vrrp_garp_master_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Garp {
    /// Delay before the second burst after becoming master; zero means no
    /// second burst. keepalived's default: 5 s.
    #[serde(
        default = "default_garp_delay",
        rename = "master_delay_ms",
        with = "millis"
    )]
    pub master_delay: Duration,
    /// Packets per burst. keepalived's default: 5.
    #[serde(default = "default_garp_repeat")]
    pub master_repeat: u32,
    /// Period of the refresh while master; zero means no refresh
    /// (keepalived's default).
    #[serde(default, rename = "master_refresh_ms", with = "millis")]
    pub master_refresh: Duration,
    /// Packets per refresh. keepalived's default: 1.
    #[serde(default = "default_garp_refresh_repeat")]
    pub master_refresh_repeat: u32,
    /// Delay between two gratuitous ARPs of a burst (keepalived's global
    /// `vrrp_garp_interval`, microsecond resolution); zero: back to back.
    #[serde(
        default,
        rename = "interval_us",
        with = "micros",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub interval: Duration,
    /// Delay between two unsolicited NAs of a burst (keepalived's
    /// `vrrp_gna_interval`); zero: back to back.
    #[serde(
        default,
        rename = "na_interval_us",
        with = "micros",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub na_interval: Duration,
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            master_delay: default_garp_delay(),
            master_repeat: default_garp_repeat(),
            master_refresh: Duration::ZERO,
            master_refresh_repeat: default_garp_refresh_repeat(),
            interval: Duration::ZERO,
            na_interval: Duration::ZERO,
        }
    }
}

/// Which datapath feeds the state machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datapath {
    /// The XDP program parses adverts and answers ARP in the kernel.
    #[default]
    Xdp,
    /// A raw IPPROTO_VRRP socket; the fallback where XDP cannot attach.
    Socket,
}

/// What a master does with its VIPs when it is stopped (SIGTERM/SIGINT).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handover {
    /// Send priority-0 adverts but keep the VIPs until another router's advert
    /// as master is heard (at most about Master_Down_Interval), then remove them:
    /// clients of the VIP lose nothing while the backup takes over.
    #[default]
    MakeBeforeBreak,
    /// keepalived's behaviour: send priority 0 and remove the VIPs at once, so
    /// clients lose about Skew_Time of service.
    Immediate,
}

impl Instance {
    /// An instance with keepalived's defaults and the given identity; the
    /// starting point for both readers and for tests.
    pub fn new(name: impl Into<String>, vrid: u8) -> Self {
        Instance {
            name: name.into(),
            interface: None,
            vrid,
            version: default_version(),
            priority: default_priority(),
            advert_int_cs: default_advert_int_cs(),
            preempt: true,
            preempt_delay: Duration::ZERO,
            initial_state_master: false,
            auth: Auth::None,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            unicast_src: None,
            unicast_peers: Vec::new(),
            accept_from: Vec::new(),
            strict: false,
            garp: Garp::default(),
            lower_prio_readvert: true,
            v3_checksum_with_pseudo_header: true,
            datapath: Datapath::default(),
            handover: Handover::default(),
            track: Tracking::default(),
            notify: Notify::default(),
            skip_check_adv_addr: false,
            dont_track_primary: false,
            vmac: None,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
        }
    }

    /// True when the instance runs over IPv6: its first VIP is IPv6, or, with
    /// no VIPs, its unicast source or first peer is. keepalived takes the
    /// family from the addresses in the same way.
    pub fn is_ipv6(&self) -> bool {
        self.vips
            .first()
            .map(|v| v.addr)
            .or(self.unicast_src)
            .or(self.unicast_peers.first().copied())
            .is_some_and(|a| a.is_ipv6())
    }

    /// The advertisement interval as a duration.
    pub fn advert_int(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_int_cs) * 10)
    }

    /// True when adverts go to unicast peers rather than the multicast group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}

/// keepalived's `vrrp_version` default.
pub const DEFAULT_VERSION: u8 = 2;
/// keepalived's `VRRP_PRIO_DFL`.
pub const DEFAULT_PRIORITY: u8 = 100;
/// keepalived's default advert interval, 1 s, in centiseconds.
pub const DEFAULT_ADVERT_INT_CS: u16 = 100;
/// keepalived's `vrrp_garp_master_delay` default.
pub const DEFAULT_GARP_DELAY: Duration = Duration::from_secs(5);
/// keepalived's `vrrp_garp_master_repeat` default.
pub const DEFAULT_GARP_REPEAT: u32 = 5;
/// keepalived's `vrrp_garp_master_refresh_repeat` default.
pub const DEFAULT_GARP_REFRESH_REPEAT: u32 = 1;

fn default_version() -> u8 {
    DEFAULT_VERSION
}
fn default_priority() -> u8 {
    DEFAULT_PRIORITY
}
fn default_advert_int_cs() -> u16 {
    DEFAULT_ADVERT_INT_CS
}
fn default_garp_delay() -> Duration {
    DEFAULT_GARP_DELAY
}
fn default_garp_repeat() -> u32 {
    DEFAULT_GARP_REPEAT
}
fn default_garp_refresh_repeat() -> u32 {
    DEFAULT_GARP_REFRESH_REPEAT
}
fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}
