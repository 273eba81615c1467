//! The rules every configuration must satisfy, whatever format it came from.
//!
//! `validate` looks only at the [`Config`]; it says *what* is wrong and *where
//! in the model* ([`Site`]). Each reader maps a site back to its own file and
//! line (a keepalived keyword, a TOML key), so the user sees `PATH:LINE:` for
//! problems found here just as for syntax errors.
//!
//! The rules are RFC 9568 / RFC 3768 limits plus keepalived's own checks:
//! one family per advert, unique VRID per (interface, family) unless unicast
//! peer sets are disjoint, an interface unless the instance is unicast.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    time::Duration,
};

use super::{
    error::{Diagnostics, Loc},
    model::{Auth, Config, Instance},
    vip::{Vip, max_prefix},
};

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
}

/// Maps a [`Site`] to a file and line; implemented by each reader.
pub(crate) trait Locate {
    fn locate(&self, site: Site) -> Loc;
}

/// Turns issues into located errors and warnings.
pub(crate) fn report(issues: Vec<Issue>, at: &dyn Locate, diags: &mut Diagnostics) {
    for issue in issues {
        let loc = at.locate(issue.site);
        match issue.severity {
            Severity::Error => diags.error(&loc, issue.message),
            Severity::Warning => diags.warn(&loc, issue.message),
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
pub const MAX_VIPS: usize = 255;
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

    fn interface(&mut self, index: usize, inst: &Instance) {
        let at = |field| Site::Instance { index, field };
        match &inst.interface {
            Some(name) => {
                if let Some(why) = bad_ifname(name) {
                    self.error(at(Field::Interface), format!("interface `{name}`: {why}"));
                }
            }
            None if inst.unicast_peers.is_empty() => self.error(
                at(Field::Whole),
                format!(
                    "instance `{}` has no interface; one is required unless unicast peers are listed",
                    inst.name
                ),
            ),
            None => {
                for (i, vip) in inst.vips.iter().enumerate() {
                    if vip.dev.is_none() {
                        self.error(
                            at(Field::Vip(i)),
                            format!(
                                "VIP {vip} has no dev and the instance has no interface to put it on"
                            ),
                        );
                    }
                }
            }
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
        let mut seen = HashSet::new();
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
            if !seen.insert(vip.addr) {
                self.warn(
                    at(Field::Vip(i)),
                    format!("VIP {} is listed twice", vip.addr),
                );
            }
            if i == MAX_VIPS {
                self.error(
                    at(Field::Vip(i)),
                    format!(
                        "more than {MAX_VIPS} VIPs: an advert's address count is one byte; \
                         move the rest to virtual_ipaddress_excluded (excluded_vips)"
                    ),
                );
            }
        }
        for (i, vip) in inst.excluded_vips.iter().enumerate() {
            self.vip(at(Field::ExcludedVip(i)), vip);
            if !seen.insert(vip.addr) {
                self.warn(
                    at(Field::ExcludedVip(i)),
                    format!("VIP {} is listed twice", vip.addr),
                );
            }
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

    /// Names are unique; a VRID is unique per (interface, family) — the
    /// receiving socket keepalived demultiplexes on — unless both instances are
    /// unicast with disjoint peers, which keepalived also allows.
    fn cross_instance(&mut self, config: &Config) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut vrids: HashMap<(Option<&str>, bool, u8), Vec<usize>> = HashMap::new();
        for (index, inst) in config.instances.iter().enumerate() {
            if let Some(&first) = names.get(inst.name.as_str()) {
                self.error(
                    Site::Instance {
                        index,
                        field: Field::Name,
                    },
                    format!(
                        "instance name `{}` is already used by instance #{}",
                        inst.name,
                        first + 1
                    ),
                );
            } else {
                names.insert(&inst.name, index);
            }
            let key = (inst.interface.as_deref(), inst.is_ipv6(), inst.vrid);
            let earlier = vrids.entry(key).or_default();
            if let Some(&other) = earlier
                .iter()
                .find(|&&j| !disjoint_unicast(&config.instances[j], inst))
            {
                self.error(
                    Site::Instance {
                        index,
                        field: Field::Vrid,
                    },
                    format!(
                        "instances `{}` and `{}` both use VRID {} with {} on {}; \
                         a VRID must be unique per interface and family",
                        config.instances[other].name,
                        inst.name,
                        inst.vrid,
                        if inst.is_ipv6() { "IPv6" } else { "IPv4" },
                        inst.interface
                            .as_deref()
                            .map_or("no interface".to_string(), |i| format!("interface {i}"))
                    ),
                );
            }
            earlier.push(index);
        }
    }
}

fn disjoint_unicast(a: &Instance, b: &Instance) -> bool {
    a.is_unicast() && b.is_unicast() && a.unicast_peers.iter().all(|p| !b.unicast_peers.contains(p))
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
    fn interface_required_without_peers() {
        let mut i = inst("a", 1, "198.18.0.1");
        i.interface = None;
        let c = Config {
            instances: vec![i.clone()],
            ..Config::default()
        };
        assert_eq!(errors(&c)[0].0, site(0, Field::Whole));
        i.unicast_peers.push("198.18.0.2".parse().unwrap());
        i.vips[0].dev = Some("eth0".into());
        let c = Config {
            instances: vec![i],
            ..Config::default()
        };
        assert_eq!(errors(&c), vec![]);
    }

    #[test]
    fn duplicate_vrid_unless_disjoint_unicast() {
        let a = inst("a", 7, "198.18.0.1");
        let b = inst("b", 7, "198.18.0.2");
        let c = Config {
            instances: vec![a.clone(), b.clone()],
            ..Config::default()
        };
        assert_eq!(errors(&c)[0].0, site(1, Field::Vrid));
        // Other family on the same interface is another socket: fine.
        let mut v6 = inst("b", 7, "2001:2::1");
        v6.version = 3;
        let c = Config {
            instances: vec![a.clone(), v6],
            ..Config::default()
        };
        assert_eq!(errors(&c), vec![]);
        // Unicast with disjoint peers: fine, as in keepalived.
        let (mut a, mut b) = (a, b);
        a.unicast_peers.push("198.18.0.10".parse().unwrap());
        b.unicast_peers.push("198.18.0.11".parse().unwrap());
        let c = Config {
            instances: vec![a, b],
            ..Config::default()
        };
        assert_eq!(errors(&c), vec![]);
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
