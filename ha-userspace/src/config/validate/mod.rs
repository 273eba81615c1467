//! The rules every configuration must satisfy, whatever format it came from.
//!
//! `validate` looks only at the [`Config`]; it says *what* is wrong and *where
//! in the model* ([`Site`]). Each reader maps a site back to its own file and
//! line (a keepalived keyword, a TOML key), so the user sees `PATH:LINE:` for
//! problems found here just as for syntax errors.
//!
//! The rules are RFC 9568 / RFC 3768 limits, keepalived's own checks (one
//! family per advert) and what the daemon can run: a VRID unique per
//! (interface, family) and a VIP in one place only, because both datapaths
//! look an advert up by those keys and a VIP up by its address; an
//! interface on every instance; no more instances and VIPs than the XDP maps
//! hold.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    time::Duration,
};

use super::{
    error::{Diagnostics, Loc},
    model::{Auth, Config, Instance, TrackKind},
    vip::{Vip, max_prefix},
};
use ha_common::maps::{INSTANCES_MAP, MAX_INSTANCES, MAX_VIPS, VIPS_MAP};

mod service;

/// How bad an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The daemon must not run with this configuration.
    Error,
    /// The daemon runs, but the user should know.
    Warning,
}

/// Where in a [`Config`] an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Site {
    /// The configuration as a whole.
    Config,
    /// A field of `instances[index]`.
    Instance {
        /// Index in `Config::instances`.
        index: usize,
        /// Which field.
        field: Field,
    },
    /// A key of `global` (its TOML key, e.g. `notify_fifo`).
    Global(&'static str),
    /// An element of a top-level list, or one of its keys (the TOML key).
    Item {
        /// Which list.
        list: List,
        /// Index in it.
        index: usize,
        /// The key; `None`: the element as a whole.
        key: Option<&'static str>,
    },
    /// `sync_groups[group].instances[member]`.
    GroupMember {
        /// Index in `Config::sync_groups`.
        group: usize,
        /// Index in its `instances`.
        member: usize,
    },
    /// `virtual_servers[vs].real_servers[rs]`, or one of its checkers, or a
    /// key of it (`notify_up`, `notify_down`).
    RealServer {
        /// Index in `Config::virtual_servers`.
        vs: usize,
        /// Index in its `real_servers`.
        rs: usize,
        /// Index in its `checkers`.
        checker: Option<usize>,
        /// A key of the real server.
        key: Option<&'static str>,
    },
}

/// The top-level lists of a [`Config`] besides `instances`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// `checks`.
    Checks,
    /// `track_files`.
    TrackFiles,
    /// `track_processes`.
    TrackProcesses,
    /// `sync_groups`.
    SyncGroups,
    /// `virtual_servers`.
    VirtualServers,
    /// `static_addresses`.
    StaticAddresses,
    /// `static_routes`.
    StaticRoutes,
    /// `static_rules`.
    StaticRules,
}

impl List {
    /// The TOML key of the list.
    pub fn key(self) -> &'static str {
        match self {
            List::Checks => "checks",
            List::TrackFiles => "track_files",
            List::TrackProcesses => "track_processes",
            List::SyncGroups => "sync_groups",
            List::VirtualServers => "virtual_servers",
            List::StaticAddresses => "static_addresses",
            List::StaticRoutes => "static_routes",
            List::StaticRules => "static_rules",
        }
    }
}

/// A field of an [`Instance`]; the index variants point into its lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The instance as a whole (its header).
    Whole,
    /// `name`.
    Name,
    /// `interface`.
    Interface,
    /// `vrid`.
    Vrid,
    /// `version`.
    Version,
    /// `priority`.
    Priority,
    /// `advert_int_cs`.
    AdvertInt,
    /// `preempt`.
    Preempt,
    /// `preempt_delay`.
    PreemptDelay,
    /// `initial_state_master`.
    InitialState,
    /// `auth`.
    Auth,
    /// `vips[i]`.
    Vip(usize),
    /// `excluded_vips[i]`.
    ExcludedVip(usize),
    /// `unicast_src`.
    UnicastSrc,
    /// `unicast_peers[i]`.
    UnicastPeer(usize),
    /// `track.<kind>[i]`.
    Track(TrackKind, usize),
    /// `notify.<key>` (`master`, `backup`, `fault`, `stop`, `any`).
    Notify(&'static str),
    /// `vmac`.
    Vmac,
    /// `virtual_routes[i]`.
    VirtualRoute(usize),
    /// `virtual_rules[i]`.
    VirtualRule(usize),
}

/// One problem found by [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// Where it is.
    pub site: Site,
    /// What is wrong.
    pub message: String,
    /// For a duplicate: where the same thing was first written, so the user
    /// sees both places.
    pub first: Option<Site>,
}

/// Maps a [`Site`] to a file and line; implemented by each reader.
pub(crate) trait Locate {
    fn locate(&self, site: Site) -> Loc;
}

/// Turns issues into located errors and warnings.
pub(crate) fn report(issues: Vec<Issue>, at: &dyn Locate, diags: &mut Diagnostics) {
    for issue in issues {
        let loc = at.locate(issue.site);
        let message = match issue.first {
            Some(first) => format!("{} (first at {})", issue.message, at.locate(first)),
            None => issue.message,
        };
        match issue.severity {
            Severity::Error => diags.error(&loc, message),
            Severity::Warning => diags.warn(&loc, message),
        }
    }
}

/// The longest VRRPv3 advert interval: the field is 12 bits of centiseconds.
pub const MAX_ADVERT_INT_V3_CS: u16 = 4095;
/// The longest VRRPv2 advert interval: the field is 8 bits of seconds.
pub const MAX_ADVERT_INT_V2_S: u16 = 255;
/// keepalived's limit on `preempt_delay`.
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);
/// The address count in an advert is one byte.
pub const MAX_ADVERT_VIPS: usize = 255;
/// Linux interface names are at most IFNAMSIZ - 1 bytes.
const MAX_IFNAME: usize = 15;

/// Checks every rule; returns all issues found, errors and warnings, in
/// instance order.
pub fn validate(config: &Config) -> Vec<Issue> {
    let mut v = Validator::default();
    if config.instances.is_empty() {
        v.warn(
            Site::Config,
            "no VRRP instances are configured; there is nothing to do",
        );
    }
    for (index, inst) in config.instances.iter().enumerate() {
        v.instance(index, inst);
    }
    v.cross_instance(config);
    v.map_capacity(config);
    v.service(config);
    v.issues
}

#[derive(Default)]
struct Validator {
    issues: Vec<Issue>,
}

impl Validator {
    fn push(&mut self, severity: Severity, site: Site, message: impl Into<String>) {
        self.issues.push(Issue {
            severity,
            site,
            message: message.into(),
            first: None,
        });
    }

    /// An error about a second occurrence of something first written at `first`.
    fn duplicate(&mut self, site: Site, first: Site, message: impl Into<String>) {
        self.issues.push(Issue {
            severity: Severity::Error,
            site,
            message: message.into(),
            first: Some(first),
        });
    }

    fn error(&mut self, site: Site, message: impl Into<String>) {
        self.push(Severity::Error, site, message);
    }

    fn warn(&mut self, site: Site, message: impl Into<String>) {
        self.push(Severity::Warning, site, message);
    }

    fn instance(&mut self, index: usize, inst: &Instance) {
        let at = |field| Site::Instance { index, field };
        if inst.name.trim().is_empty() {
            self.error(at(Field::Name), "the instance name is empty");
        }
        if inst.vrid == 0 {
            self.error(at(Field::Vrid), vrid_out_of_range(0));
        }
        if inst.priority == 0 {
            self.error(at(Field::Priority), priority_out_of_range(0));
        }
        self.version_and_timing(index, inst);
        if inst.preempt_delay > MAX_PREEMPT_DELAY {
            self.error(
                at(Field::PreemptDelay),
                format!(
                    "preempt delay {:?} is out of range: at most 1000 s (keepalived's limit)",
                    inst.preempt_delay
                ),
            );
        }
        if !inst.preempt && inst.initial_state_master {
            self.warn(
                at(Field::Preempt),
                "no-preempt has no effect on an instance that starts as master \
                 (keepalived clears nopreempt with state MASTER)",
            );
        }
        self.auth(index, inst);
        self.interface(index, inst);
        self.vips(index, inst);
        self.unicast(index, inst);
    }

    fn version_and_timing(&mut self, index: usize, inst: &Instance) {
        let at = |field| Site::Instance { index, field };
        match inst.version {
            2 => {
                if inst.is_ipv6() {
                    self.error(
                        at(Field::Version),
                        "VRRP version 2 cannot carry IPv6 addresses (RFC 3768 is IPv4 only); \
                         use version 3, or leave the version out and IPv6 instances run 3",
                    );
                }
                let cs = inst.advert_int_cs;
                if cs == 0 || !cs.is_multiple_of(100) || cs / 100 > MAX_ADVERT_INT_V2_S {
                    self.error(
                        at(Field::AdvertInt),
                        format!(
                            "advert interval {} is out of range for VRRPv2: whole seconds \
                             from 1 to {MAX_ADVERT_INT_V2_S}",
                            secs_cs(cs)
                        ),
                    );
                }
            }
            3 => {
                let cs = inst.advert_int_cs;
                if cs == 0 || cs > MAX_ADVERT_INT_V3_CS {
                    self.error(
                        at(Field::AdvertInt),
                        advert_int_v3_out_of_range(&secs_cs(cs)),
                    );
                }
            }
            v => self.error(at(Field::Version), version_invalid(v.into())),
        }
    }

    fn auth(&mut self, index: usize, inst: &Instance) {
        let at = Site::Instance {
            index,
            field: Field::Auth,
        };
        if let Auth::Pass { password } = &inst.auth {
            if inst.version == 3 {
                self.error(
                    at,
                    "authentication is a VRRPv2 feature; VRRPv3 (RFC 9568) has none — \
                     remove it or use version 2",
                );
            }
            if password.is_empty() {
                self.error(at, "the authentication password is empty");
            } else if password.len() > 8 {
                self.error(
                    at,
                    format!(
                        "the authentication password is {} bytes; a VRRPv2 password is at most 8",
                        password.len()
                    ),
                );
            }
        }
    }

    /// Every instance needs its interface: the daemon opens its socket and
    /// attaches XDP there. keepalived lets a unicast instance leave it out;
    /// the daemon cannot run one yet, and `check-config` must say so rather
    /// than accept what `run` then refuses.
    fn interface(&mut self, index: usize, inst: &Instance) {
        let at = |field| Site::Instance { index, field };
        match &inst.interface {
            Some(name) => {
                if let Some(why) = bad_ifname(name) {
                    self.error(at(Field::Interface), format!("interface `{name}`: {why}"));
                }
            }
            None => self.error(
                at(Field::Whole),
                format!(
                    "instance `{}` has no `interface`: an instance without `interface` is not \
                     supported yet",
                    inst.name
                ),
            ),
        }
    }

    fn vips(&mut self, index: usize, inst: &Instance) {
        let at = |field| Site::Instance { index, field };
        if inst.vips.is_empty() {
            self.warn(
                at(Field::Whole),
                format!(
                    "instance `{}` has no virtual IP address; it will take part in the \
                     election but own no address",
                    inst.name
                ),
            );
        }
        let family_v6 = inst.vips.first().map(|v| v.addr.is_ipv6());
        for (i, vip) in inst.vips.iter().enumerate() {
            self.vip(at(Field::Vip(i)), vip);
            if Some(vip.addr.is_ipv6()) != family_v6 {
                self.error(
                    at(Field::Vip(i)),
                    format!(
                        "VIP {} is {} but the first VIP {} is {}: the addresses in an advert \
                         are one family; put the others in virtual_ipaddress_excluded \
                         (excluded_vips) or in a second instance",
                        vip.addr,
                        family_name(vip.addr),
                        inst.vips[0].addr,
                        family_name(inst.vips[0].addr)
                    ),
                );
            }
            if i == MAX_ADVERT_VIPS {
                self.error(
                    at(Field::Vip(i)),
                    format!(
                        "more than {MAX_ADVERT_VIPS} VIPs: an advert's address count is one byte; \
                         move the rest to virtual_ipaddress_excluded (excluded_vips)"
                    ),
                );
            }
        }
        for (i, vip) in inst.excluded_vips.iter().enumerate() {
            self.vip(at(Field::ExcludedVip(i)), vip);
        }
    }

    fn vip(&mut self, site: Site, vip: &Vip) {
        if let Some(why) = unusable_address(vip.addr) {
            self.error(site, format!("VIP {}: {why}", vip.addr));
        }
        if vip.prefix_len > max_prefix(vip.addr) {
            self.error(
                site,
                format!(
                    "VIP {}: prefix length {} is longer than {}",
                    vip.addr,
                    vip.prefix_len,
                    max_prefix(vip.addr)
                ),
            );
        }
        if let Some(dev) = &vip.dev
            && let Some(why) = bad_ifname(dev)
        {
            self.error(site, format!("VIP {}: dev `{dev}`: {why}", vip.addr));
        }
    }

    fn unicast(&mut self, index: usize, inst: &Instance) {
        let at = |field| Site::Instance { index, field };
        let family_v6 = inst.is_ipv6();
        if let Some(src) = inst.unicast_src {
            if let Some(why) = unusable_address(src) {
                self.error(
                    at(Field::UnicastSrc),
                    format!("unicast source {src}: {why}"),
                );
            } else if src.is_ipv6() != family_v6 {
                self.error(
                    at(Field::UnicastSrc),
                    format!(
                        "unicast source {src} is {} but the instance is {}",
                        family_name(src),
                        if family_v6 { "IPv6" } else { "IPv4" }
                    ),
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, &peer) in inst.unicast_peers.iter().enumerate() {
            if let Some(why) = unusable_address(peer) {
                self.error(
                    at(Field::UnicastPeer(i)),
                    format!("unicast peer {peer}: {why}"),
                );
            } else if peer.is_ipv6() != family_v6 {
                self.error(
                    at(Field::UnicastPeer(i)),
                    format!(
                        "unicast peer {peer} is {} but the instance is {}",
                        family_name(peer),
                        if family_v6 { "IPv6" } else { "IPv4" }
                    ),
                );
            }
            if !seen.insert(peer) {
                self.warn(
                    at(Field::UnicastPeer(i)),
                    format!("unicast peer {peer} is listed twice"),
                );
            }
        }
    }

    /// Names are unique. A VRID is unique per (interface, family): both
    /// datapaths find an advert's instance by that key alone (the XDP
    /// INSTANCES map, the socket's receive demux), so keepalived's exception
    /// for unicast instances with disjoint peers cannot be run. An address is
    /// a VIP of one instance only, once: the XDP VIPS map answers ARP for it
    /// on behalf of one instance, and two masters would fight over it.
    fn cross_instance(&mut self, config: &Config) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut vrids: HashMap<(Option<&str>, bool, u8), usize> = HashMap::new();
        let mut vips: HashMap<IpAddr, (usize, Field)> = HashMap::new();
        for (index, inst) in config.instances.iter().enumerate() {
            let at = |field| Site::Instance { index, field };
            match names.get(inst.name.as_str()) {
                Some(&first) => self.duplicate(
                    at(Field::Name),
                    Site::Instance {
                        index: first,
                        field: Field::Name,
                    },
                    format!(
                        "instance name `{}` is already used by instance #{}",
                        inst.name,
                        first + 1
                    ),
                ),
                None => {
                    names.insert(&inst.name, index);
                }
            }
            let key = (inst.interface.as_deref(), inst.is_ipv6(), inst.vrid);
            match vrids.get(&key) {
                Some(&first) => self.duplicate(
                    at(Field::Vrid),
                    Site::Instance {
                        index: first,
                        field: Field::Vrid,
                    },
                    format!(
                        "VRID {} on {} ({}) is already used by instance `{}`: a VRID must be \
                         unique per interface and address family",
                        inst.vrid,
                        inst.interface
                            .as_deref()
                            .map_or("no interface".to_string(), |i| format!("interface {i}")),
                        if inst.is_ipv6() { "IPv6" } else { "IPv4" },
                        config.instances[first].name,
                    ),
                ),
                None => {
                    vrids.insert(key, index);
                }
            }
            let listed = (inst.vips.iter().enumerate())
                .map(|(i, v)| (v, Field::Vip(i)))
                .chain(
                    (inst.excluded_vips.iter().enumerate())
                        .map(|(i, v)| (v, Field::ExcludedVip(i))),
                );
            for (vip, field) in listed {
                match vips.get(&vip.addr) {
                    Some(&(first, first_field)) => {
                        let whose = if first == index {
                            "is listed twice in this instance".to_string()
                        } else {
                            format!(
                                "is already a VIP of instance `{}`",
                                config.instances[first].name
                            )
                        };
                        self.duplicate(
                            at(field),
                            Site::Instance {
                                index: first,
                                field: first_field,
                            },
                            format!(
                                "VIP {} {whose}: an address belongs to one instance, once",
                                vip.addr
                            ),
                        );
                    }
                    None => {
                        vips.insert(vip.addr, (index, field));
                    }
                }
            }
        }
    }

    /// The XDP datapath keeps one INSTANCES (and PEERS) entry per instance and
    /// one VIPS entry per VIP, in maps of a fixed size: refuse what would not
    /// fit, at the first instance or VIP too many, rather than fail when the
    /// daemon writes the maps.
    fn map_capacity(&mut self, config: &Config) {
        let max_instances = MAX_INSTANCES as usize;
        if config.instances.len() > max_instances {
            self.error(
                Site::Instance {
                    index: max_instances,
                    field: Field::Whole,
                },
                format!(
                    "{} instances are configured; ha runs at most {max_instances} \
                     (the size of the XDP {INSTANCES_MAP} map)",
                    config.instances.len()
                ),
            );
        }
        let max_vips = MAX_VIPS as usize;
        let mut count = 0;
        for (index, inst) in config.instances.iter().enumerate() {
            let fields = (0..inst.vips.len())
                .map(Field::Vip)
                .chain((0..inst.excluded_vips.len()).map(Field::ExcludedVip));
            for field in fields {
                count += 1;
                if count == max_vips + 1 {
                    let total: usize = (config.instances.iter())
                        .map(|i| i.vips.len() + i.excluded_vips.len())
                        .sum();
                    self.error(
                        Site::Instance { index, field },
                        format!(
                            "{total} VIPs are configured (excluded ones included); ha runs at \
                             most {max_vips} (the size of the XDP {VIPS_MAP} map)"
                        ),
                    );
                    return;
                }
            }
        }
    }
}

fn family_name(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// Why an address cannot be a VIP, source or peer: it must be a unicast
/// address a host can own.
fn unusable_address(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(a) if a.is_unspecified() => Some("the unspecified address cannot be used"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address cannot be used"),
        IpAddr::V4(a) if a.is_multicast() => Some("a multicast address cannot be used"),
        IpAddr::V6(a) if a.is_unspecified() => Some("the unspecified address cannot be used"),
        IpAddr::V6(a) if a.is_multicast() => Some("a multicast address cannot be used"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => {
            Some("an IPv4-mapped IPv6 address cannot be used; write the IPv4 address")
        }
        _ => None,
    }
}

/// Why the kernel would refuse an interface name (`dev_valid_name`).
pub(crate) fn bad_ifname(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("the name is empty".into())
    } else if name.len() > MAX_IFNAME {
        Some(format!(
            "the name is {} bytes; Linux allows at most {MAX_IFNAME}",
            name.len()
        ))
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not interface names".into())
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("interface names cannot contain `/`, `:` or spaces".into())
    } else {
        None
    }
}

/// Centiseconds as seconds text: 150 → "1.5 s".
pub(crate) fn secs_cs(cs: u16) -> String {
    if cs.is_multiple_of(100) {
        format!("{} s", cs / 100)
    } else {
        format!("{}.{:02} s", cs / 100, cs % 100)
    }
}

// Messages shared with the keepalived reader, which range-checks while parsing.

pub(crate) fn vrid_out_of_range(v: i64) -> String {
    format!("virtual router id {v} is out of range: must be 1-255")
}

pub(crate) fn priority_out_of_range(v: i64) -> String {
    format!("priority {v} is out of range: must be 1-255 (255 = address owner)")
}

pub(crate) fn version_invalid(v: i64) -> String {
    format!("VRRP version {v} is not supported: must be 2 or 3")
}

pub(crate) fn advert_int_v3_out_of_range(v: &str) -> String {
    format!("advert interval {v} is out of range for VRRPv3: 0.01 s to 40.95 s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Instance;

    fn inst(name: &str, vrid: u8, vip: &str) -> Instance {
        let mut i = Instance::new(name, vrid);
        i.interface = Some("eth0".into());
        i.vips.push(vip.parse().unwrap());
        i
    }

    fn errors(c: &Config) -> Vec<(Site, String)> {
        validate(c)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| (i.site, i.message))
            .collect()
    }

    fn site(index: usize, field: Field) -> Site {
        Site::Instance { index, field }
    }

    #[test]
    fn a_plain_instance_is_fine() {
        let c = Config {
            instances: vec![inst("a", 1, "198.18.0.1/24")],
            ..Config::default()
        };
        assert_eq!(validate(&c), vec![]);
    }

    #[test]
    fn ranges() {
        let mut i = inst("a", 0, "198.18.0.1");
        i.priority = 0;
        i.advert_int_cs = 150;
        i.preempt_delay = Duration::from_secs(1001);
        let c = Config {
            instances: vec![i],
            ..Config::default()
        };
        let sites: Vec<Site> = errors(&c).into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            sites,
            vec![
                site(0, Field::Vrid),
                site(0, Field::Priority),
                site(0, Field::AdvertInt),
                site(0, Field::PreemptDelay)
            ]
        );
    }

    #[test]
    fn v3_interval_limits() {
        let mut i = inst("a", 1, "198.18.0.1");
        i.version = 3;
        i.advert_int_cs = 4096;
        let c = Config {
            instances: vec![i],
            ..Config::default()
        };
        assert_eq!(errors(&c)[0].0, site(0, Field::AdvertInt));
    }

    #[test]
    fn ipv6_needs_v3_and_one_family() {
        let mut i = inst("a", 1, "2001:2::1");
        i.vips.push("198.18.0.1".parse().unwrap());
        let c = Config {
            instances: vec![i],
            ..Config::default()
        };
        let e = errors(&c);
        assert_eq!(e[0].0, site(0, Field::Version));
        assert_eq!(e[1].0, site(0, Field::Vip(1)));
        assert!(e[1].1.contains("one family"), "{}", e[1].1);
    }

    #[test]
    fn interface_required_even_with_peers() {
        let mut i = inst("a", 1, "198.18.0.1");
        i.interface = None;
        i.unicast_peers.push("198.18.0.2".parse().unwrap());
        i.vips[0].dev = Some("eth0".into());
        let c = Config {
            instances: vec![i],
            ..Config::default()
        };
        let e = errors(&c);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, site(0, Field::Whole));
        // The daemon's words, so check-config and run say the same.
        assert!(
            e[0].1
                .contains("an instance without `interface` is not supported yet"),
            "{}",
            e[0].1
        );
    }

    /// (site, first site) of each error.
    fn duplicates(c: &Config) -> Vec<(Site, Option<Site>)> {
        validate(c)
            .into_iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| (i.site, i.first))
            .collect()
    }

    #[test]
    fn duplicate_vrid_on_one_interface_and_family() {
        let a = inst("a", 7, "198.18.0.1");
        let b = inst("b", 7, "198.18.0.2");
        let c = Config {
            instances: vec![a.clone(), b.clone()],
            ..Config::default()
        };
        assert_eq!(
            duplicates(&c),
            vec![(site(1, Field::Vrid), Some(site(0, Field::Vrid)))]
        );
        let msg = &errors(&c)[0].1;
        assert!(msg.contains("VRID 7 on interface eth0 (IPv4)"), "{msg}");
        // Another family on the same interface is another key: fine.
        let mut v6 = inst("b", 7, "2001:2::1");
        v6.version = 3;
        let c = Config {
            instances: vec![a.clone(), v6],
            ..Config::default()
        };
        assert_eq!(errors(&c), vec![]);
        // Another interface: fine.
        let mut other = b.clone();
        other.interface = Some("eth1".into());
        let c = Config {
            instances: vec![a.clone(), other],
            ..Config::default()
        };
        assert_eq!(errors(&c), vec![]);
        // Unicast with disjoint peers still collides in the datapath's key.
        let (mut a, mut b) = (a, b);
        a.unicast_peers.push("198.18.0.10".parse().unwrap());
        b.unicast_peers.push("198.18.0.11".parse().unwrap());
        let c = Config {
            instances: vec![a, b],
            ..Config::default()
        };
        assert_eq!(errors(&c)[0].0, site(1, Field::Vrid));
    }

    #[test]
    fn duplicate_vips_within_and_across_instances() {
        let mut a = inst("a", 1, "198.18.0.1");
        a.vips.push("198.18.0.1/24".parse().unwrap());
        let mut b = inst("b", 2, "198.18.0.2");
        b.excluded_vips.push("198.18.0.1".parse().unwrap());
        let c = Config {
            instances: vec![a, b],
            ..Config::default()
        };
        assert_eq!(
            duplicates(&c),
            vec![
                (site(0, Field::Vip(1)), Some(site(0, Field::Vip(0)))),
                (site(1, Field::ExcludedVip(0)), Some(site(0, Field::Vip(0)))),
            ]
        );
        let e = errors(&c);
        assert!(
            e[0].1.contains("listed twice in this instance"),
            "{}",
            e[0].1
        );
        assert!(
            e[1].1.contains("already a VIP of instance `a`"),
            "{}",
            e[1].1
        );
    }

    #[test]
    fn no_more_instances_and_vips_than_the_maps_hold() {
        let n = MAX_INSTANCES as usize + 1;
        let instances: Vec<Instance> = (0..n)
            .map(|k| {
                let mut i = inst(&format!("i{k}"), (k % 255 + 1) as u8, "198.18.0.1");
                i.interface = Some(format!("e{}", k / 255));
                i.vips.clear();
                i
            })
            .collect();
        let c = Config {
            instances,
            ..Config::default()
        };
        assert_eq!(
            errors(&c),
            vec![(site(n - 1, Field::Whole), errors(&c)[0].1.clone())]
        );
        assert!(errors(&c)[0].1.contains("INSTANCES"));

        // MAX_VIPS spread over instances of 255 (the advert limit) each.
        let per = MAX_ADVERT_VIPS;
        let total = MAX_VIPS as usize + 1;
        let mut instances = Vec::new();
        for k in 0..total.div_ceil(per) {
            let mut i = inst(&format!("i{k}"), (k + 1) as u8, "198.18.0.1");
            i.vips = (k * per..total.min((k + 1) * per))
                .map(|n| Vip::new(IpAddr::from([10, 0, (n / 256) as u8, (n % 256) as u8]), 32))
                .collect();
            instances.push(i);
        }
        let c = Config {
            instances,
            ..Config::default()
        };
        let e = errors(&c);
        let last = (total - 1) / per;
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, site(last, Field::Vip((total - 1) % per)));
        assert!(e[0].1.contains("VIPS"), "{}", e[0].1);
    }

    #[test]
    fn auth_rules() {
        let mut i = inst("a", 1, "198.18.0.1");
        i.version = 3;
        i.auth = Auth::Pass {
            password: "123456789".into(),
        };
        let c = Config {
            instances: vec![i],
            ..Config::default()
        };
        assert_eq!(errors(&c).len(), 2);
    }

    #[test]
    fn interface_names() {
        assert!(bad_ifname("eth0").is_none());
        assert!(bad_ifname("a-very-long-name0").is_some());
        assert!(bad_ifname("eth0:1").is_some());
        assert!(bad_ifname("").is_some());
    }

    #[test]
    fn seconds_text() {
        assert_eq!(secs_cs(100), "1 s");
        assert_eq!(secs_cs(150), "1.50 s");
        assert_eq!(secs_cs(5), "0.05 s");
    }
}
