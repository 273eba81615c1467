//! keepalived's `use_vmac [NAME]` and `vmac_xmit_base`: each such instance
//! gets a macvlan on its interface whose MAC is the VRRP virtual MAC
//! (`00:00:5e:00:01:VRID`, IPv6 `00:00:5e:00:02:VRID`, RFC 9568 §7.3). Its
//! VIPs live there, so whichever router is master answers ARP with the same
//! MAC and a takeover needs no client to learn a new one.
//!
//! [`setup`] runs before the daemon resolves its interfaces and returns a
//! copy of the configuration in which the VMAC stands where keepalived puts
//! it (its `vrrp->ifp`):
//!
//! - without `vmac_xmit_base` the VMAC *is* the instance's interface:
//!   adverts go out from it (source MAC the virtual MAC, source address the
//!   base interface's, as keepalived's), are received there, VIPs without a
//!   `dev` are added there, and the XDP program is attached to it;
//! - with `vmac_xmit_base` adverts stay on the base interface (sent and
//!   received there, with its own MAC), VIPs without a `dev` go on the VMAC,
//!   and the XDP program is attached to both; it answers ARP for the VIPs
//!   on the VMAC with the virtual MAC.
//!
//! A virtual route without `dev` or gateway (a route on the link) follows
//! the VIPs onto the VMAC.
//!
//! The XDP program runs on a macvlan in generic (SKB) mode only: macvlan has
//! no native XDP (see `ebpf::iface::native_unusable`). Adverts and ARP
//! requests reach it (private mode hands the wire's multicasts and
//! broadcasts to every macvlan), and `XDP_TX` transmits through the stack.
//!
//! The kernel settings keepalived makes (`vrrp_if_config.c`), IPv4 only:
//! on the VMAC `arp_ignore=1`, `accept_local=1`, `rp_filter=0`,
//! `promote_secondaries=1`; on the base interface `arp_ignore=1` and
//! `arp_filter=1` (so it never answers ARP for a VIP on the VMAC with its
//! own MAC), put back at stop if nobody changed them since; and if
//! `net.ipv4.conf.all.rp_filter` is set, every interface (and `default`)
//! gets at least that value and `all` becomes 0, so the VMAC's 0 counts,
//! all put back at stop. An IPv4 VMAC without IPv6 addresses gets
//! `disable_ipv6=1`; an IPv6 one `addr_gen_mode=1` (no link-local from the
//! virtual MAC, RFC 9568 §7.4) and the base interface's link-local address
//! to send adverts from.
//!
//! Names: the configured one, else keepalived's `vrrp.VRID`; when two
//! instances would share it, keepalived's next choices (`vrrp6.VRID` for
//! IPv6 first, then `vrrp1.VRID`, `vrrp2.VRID`, …). At most 15 bytes
//! (IFNAMSIZ). A leftover VMAC of a killed daemon (a macvlan with that name,
//! the virtual MAC, on the same base) is used again; a macvlan with the name
//! but another MAC or base is deleted and made again, as keepalived does; an
//! interface with the name that is not a macvlan is never touched: the
//! daemon refuses to start. Every VMAC is deleted at stop.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
};

use anyhow::{Context, Result, bail};
use tracing::{info, warn};

use crate::{
    config::{Config, Instance, model::RouteKind},
    net::{
        Netlink,
        devconf::{self, Conf},
        macvlan::virtual_mac,
    },
};

/// `IFNAMSIZ - 1`.
const MAX_IFNAME: usize = 15;

/// The VMACs of one run and the settings they changed; undone on drop.
#[derive(Default)]
pub struct Vmacs {
    netlink: Option<Netlink>,
    /// VMACs to delete at stop: name and index.
    made: Vec<(String, u32)>,
    /// Settings to put back at stop, in the order they were changed.
    restore: Vec<Restore>,
    /// The virtual MAC of each instance with a VMAC, by instance name.
    macs: HashMap<String, [u8; 6]>,
    /// The advert source of each VMAC adverts are sent from (the base
    /// interface's address), by VMAC name.
    sources: HashMap<String, IpAddr>,
    /// VMACs holding VIPs of an instance whose adverts use the base
    /// interface (`vmac_xmit_base`): the XDP program answers ARP there too.
    xmit_base: Vec<String>,
    /// The base interfaces, by name.
    bases: Vec<String>,
}

/// One setting to put back.
struct Restore {
    conf: Conf,
    ifname: String,
    key: &'static str,
    /// What we wrote: put back only if it still holds.
    ours: u32,
    old: u32,
}

impl Vmacs {
    /// The virtual MAC of instance `name`, if it uses a VMAC.
    pub fn mac(&self, instance: &str) -> Option<[u8; 6]> {
        self.macs.get(instance).copied()
    }

    /// The source of adverts sent from interface `ifname`, if it is a VMAC.
    pub fn source(&self, ifname: &str) -> Option<IpAddr> {
        self.sources.get(ifname).copied()
    }

    /// VMACs the XDP program must be attached to besides the instances'
    /// interfaces.
    pub fn xdp_extra(&self) -> &[String] {
        &self.xmit_base
    }

    /// The base interfaces, watched for being re-created.
    pub fn bases(&self) -> &[String] {
        &self.bases
    }

    /// Changes a setting, remembering what it was.
    fn set(&mut self, conf: Conf, ifname: &str, key: &'static str, value: u32) {
        match devconf::read(conf, ifname, key) {
            Ok(old) if old == value => {}
            Ok(old) => match devconf::write(conf, ifname, key, value) {
                Ok(()) => self.restore.push(Restore {
                    conf,
                    ifname: ifname.to_owned(),
                    key,
                    ours: value,
                    old,
                }),
                Err(e) => warn!(error = %e, "cannot change an interface setting for a VMAC"),
            },
            Err(e) => warn!(error = %e, "cannot read an interface setting for a VMAC"),
        }
    }

    /// Sets a setting on an interface that dies with the daemon (the
    /// VMAC itself): nothing to put back.
    fn set_on_vmac(conf: Conf, ifname: &str, key: &'static str, value: u32) {
        if let Err(e) = devconf::write(conf, ifname, key, value) {
            warn!(error = %e, "cannot change a VMAC setting");
        }
    }

    /// keepalived's `clear_rp_filter`: with `all.rp_filter` set, the VMAC's
    /// `rp_filter=0` would not count (the kernel takes the larger); so every
    /// interface and `default` get at least `all`'s value, then `all` is 0.
    /// Reverse-path filtering is unchanged everywhere else.
    fn clear_rp_filter(&mut self) {
        let all = match devconf::read(Conf::Ipv4, "all", "rp_filter") {
            Ok(0) => return,
            Ok(v) => v,
            Err(e) => return warn!(error = %e, "cannot read net.ipv4.conf.all.rp_filter"),
        };
        let mut names = vec!["default".to_owned()];
        match devconf::ipv4_interfaces() {
            Ok(list) => names.extend(list),
            Err(e) => warn!(error = %e, "cannot list the interfaces' IPv4 settings"),
        }
        for name in names {
            if devconf::read(Conf::Ipv4, &name, "rp_filter").is_ok_and(|v| v < all) {
                self.set(Conf::Ipv4, &name, "rp_filter", all);
            }
        }
        info!(
            from = all,
            "setting net.ipv4.conf.all.rp_filter to 0 for the VMACs (every interface keeps its filtering)"
        );
        self.set(Conf::Ipv4, "all", "rp_filter", 0);
    }
}

impl Drop for Vmacs {
    /// Deletes the VMACs, then puts the settings back (last changed first).
    fn drop(&mut self) {
        if let Some(netlink) = &self.netlink {
            for (name, ifindex) in &self.made {
                match netlink.delete_link(*ifindex, name) {
                    Ok(()) => info!(interface = %name, "VMAC interface deleted"),
                    Err(e) => warn!(error = %e, "cannot delete VMAC interface"),
                }
            }
        }
        for r in self.restore.iter().rev() {
            // Only what still holds our value: an operator's later change stays.
            if devconf::read(r.conf, &r.ifname, r.key).is_ok_and(|v| v == r.ours)
                && let Err(e) = devconf::write(r.conf, &r.ifname, r.key, r.old)
            {
                warn!(error = %e, "cannot put an interface setting back");
            }
        }
    }
}

/// Creates (or adopts) the VMAC of every instance with `use_vmac` and
/// returns the configuration as the rest of the daemon must see it (see the
/// module docs), with what to undo at stop.
pub async fn setup(netlink: &Netlink, config: &Config) -> Result<(Config, Vmacs)> {
    let mut out = config.clone();
    let mut vmacs = Vmacs::default();
    if !config.instances.iter().any(|i| i.vmac.is_some()) {
        return Ok((out, vmacs));
    }
    vmacs.netlink = Some(netlink.clone());
    let names = names(config)?;
    let mut arp_set: HashSet<String> = HashSet::new();
    for (inst, name) in out.instances.iter_mut().zip(names) {
        let (Some(vmac), Some(name)) = (inst.vmac.clone(), name) else {
            continue;
        };
        let Some(base) = inst.interface.clone() else {
            bail!(
                "instance {}: use_vmac needs `interface` (the VMAC's base)",
                inst.name
            );
        };
        let ipv6 = inst.is_ipv6();
        let mac = virtual_mac(inst.vrid, ipv6);
        let base_link = netlink
            .link_by_name(&base)
            .await
            .with_context(|| format!("instance {}: the base of VMAC {name}", inst.name))?;
        let ifindex = make(netlink, &inst.name, &name, base_link.ifindex(), mac).await?;
        vmacs.made.push((name.clone(), ifindex));
        if !vmacs.bases.contains(&base) {
            vmacs.bases.push(base.clone());
        }
        let source = if ipv6 {
            vmac_ipv6(&name);
            base_link.ipv6_link_local().map(IpAddr::V6)
        } else {
            vmac_ipv4(inst, &name);
            if arp_set.insert(base.clone()) {
                vmacs.set(Conf::Ipv4, &base, "arp_ignore", 1);
                vmacs.set(Conf::Ipv4, &base, "arp_filter", 1);
            }
            if vmacs.restore.iter().all(|r| r.ifname != "all") {
                vmacs.clear_rp_filter();
            }
            inst.unicast_src
                .or(base_link.primary_ipv4().map(IpAddr::V4))
        };
        netlink.set_up(ifindex, &name).await?;
        if ipv6 && let Some(IpAddr::V6(ll)) = source {
            // The advert source, not derived from the virtual MAC (RFC 9568 §7.4).
            netlink
                .add_vip(ifindex, IpAddr::V6(ll), 64, None)
                .await
                .with_context(|| {
                    format!(
                        "instance {}: a link-local address for VMAC {name}",
                        inst.name
                    )
                })?;
        }
        info!(instance = %inst.name, interface = %name, base = %base, xmit_base = vmac.xmit_base, "VMAC interface ready");
        vmacs.macs.insert(inst.name.clone(), mac);
        // VIPs and routes on the link follow the VMAC.
        for vip in inst.vips.iter_mut().chain(inst.excluded_vips.iter_mut()) {
            if vip.dev.is_none() {
                vip.dev = Some(name.clone());
            }
        }
        for route in &mut inst.virtual_routes {
            if route.dev.is_none() && route.via.is_none() && route.kind == RouteKind::Unicast {
                route.dev = Some(name.clone());
            }
        }
        if vmac.xmit_base {
            vmacs.xmit_base.push(name);
        } else {
            if let Some(src) = source {
                vmacs.sources.insert(name.clone(), src);
            }
            inst.interface = Some(name);
        }
    }
    Ok((out, vmacs))
}

/// The VMAC `name` on `base` with `mac`: the one there if it fits, else
/// made afresh. Returns its index.
async fn make(
    netlink: &Netlink,
    instance: &str,
    name: &str,
    base: u32,
    mac: [u8; 6],
) -> Result<u32> {
    match netlink.vmac_link(name).await? {
        Some(l) if l.matches(base, mac) => {
            info!(
                instance,
                interface = name,
                "using the VMAC interface left by an earlier run"
            );
            return Ok(l.ifindex);
        }
        Some(l) if l.is_macvlan => {
            warn!(
                instance,
                interface = name,
                "a VMAC interface with this name has another MAC or base: making it again"
            );
            netlink.delete_link(l.ifindex, name)?;
        }
        Some(_) => bail!(
            "instance {instance}: interface {name} exists and is not a macvlan; ha does not touch it: \
             name the VMAC otherwise (`use_vmac NAME`)"
        ),
        None => {}
    }
    let ifindex = netlink
        .create_macvlan(name, base, mac)
        .await
        .with_context(|| format!("instance {instance}: use_vmac"))?;
    Ok(ifindex)
}

/// keepalived's VMAC settings for an IPv4 instance.
fn vmac_ipv4(inst: &Instance, name: &str) {
    for (key, value) in [
        ("arp_ignore", 1),
        ("accept_local", 1),
        ("rp_filter", 0),
        ("promote_secondaries", 1),
    ] {
        Vmacs::set_on_vmac(Conf::Ipv4, name, key, value);
    }
    let any_ipv6 = inst
        .vips
        .iter()
        .chain(&inst.excluded_vips)
        .any(|v| v.addr.is_ipv6() && v.dev.as_deref().is_none_or(|d| d == name));
    if !any_ipv6 {
        Vmacs::set_on_vmac(Conf::Ipv6, name, "disable_ipv6", 1);
    }
}

/// No link-local address from the virtual MAC (RFC 9568 §7.4):
/// `addr_gen_mode=1` (none), before the VMAC comes up.
fn vmac_ipv6(name: &str) {
    Vmacs::set_on_vmac(Conf::Ipv6, name, "addr_gen_mode", 1);
}

/// The VMAC name of each instance (`None`: no VMAC): the configured one or
/// keepalived's default, unique among the instances, at most 15 bytes.
fn names(config: &Config) -> Result<Vec<Option<String>>> {
    let mut used: HashSet<String> = config
        .instances
        .iter()
        .filter_map(|i| i.vmac.as_ref()?.name.clone())
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for inst in &config.instances {
        let Some(vmac) = &inst.vmac else {
            out.push(None);
            continue;
        };
        let name = match &vmac.name {
            Some(n) => {
                if !seen.insert(n.clone()) {
                    bail!(
                        "instance {}: VMAC name {n} is used by another instance",
                        inst.name
                    );
                }
                n.clone()
            }
            None => default_name(inst.vrid, inst.is_ipv6(), &used),
        };
        if name.is_empty() || name.len() > MAX_IFNAME || name.contains(['/', ' ']) {
            bail!(
                "instance {}: VMAC name {name:?} is not an interface name (1-{MAX_IFNAME} bytes, no '/' or space)",
                inst.name
            );
        }
        used.insert(name.clone());
        out.push(Some(name));
    }
    Ok(out)
}

/// keepalived's choice: `vrrp.VRID`, then for IPv6 `vrrp6.VRID`, then
/// `vrrp1.VRID`, `vrrp2.VRID`, … (skipping 6 for IPv6, tried already).
fn default_name(vrid: u8, ipv6: bool, used: &HashSet<String>) -> String {
    let first = format!("vrrp.{vrid}");
    if !used.contains(&first) {
        return first;
    }
    if ipv6 {
        let six = format!("vrrp6.{vrid}");
        if !used.contains(&six) {
            return six;
        }
    }
    (1..)
        .filter(|n| !(ipv6 && *n == 6))
        .map(|n| format!("vrrp{n}.{vrid}"))
        .find(|n| !used.contains(n))
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Vmac;

    fn inst(name: &str, vrid: u8, vmac: Option<&str>) -> Instance {
        let mut i = Instance::new(name, vrid);
        i.interface = Some("eth0".into());
        i.vmac = Some(Vmac {
            name: vmac.map(str::to_owned),
            xmit_base: false,
        });
        i
    }

    #[test]
    fn keepalived_default_names() {
        let config = Config {
            instances: vec![
                inst("a", 51, None),
                inst("b", 51, None),
                inst("c", 52, Some("vrrp.51")),
            ],
            ..Config::default()
        };
        let n = names(&config).unwrap();
        // The configured name is taken first.
        assert_eq!(n[2].as_deref(), Some("vrrp.51"));
        assert_eq!(n[0].as_deref(), Some("vrrp1.51"));
        assert_eq!(n[1].as_deref(), Some("vrrp2.51"));
        let mut used = HashSet::new();
        used.insert("vrrp.7".to_owned());
        assert_eq!(default_name(7, true, &used), "vrrp6.7");
        assert_eq!(default_name(255, false, &HashSet::new()), "vrrp.255");
    }

    #[test]
    fn names_fit_ifnamsiz() {
        let config = Config {
            instances: vec![inst("a", 1, Some("a-much-too-long-name"))],
            ..Config::default()
        };
        let e = names(&config).unwrap_err().to_string();
        assert!(e.contains("instance a") && e.contains("15"), "{e}");
        let twice = Config {
            instances: vec![inst("a", 1, Some("v")), inst("b", 2, Some("v"))],
            ..Config::default()
        };
        assert!(names(&twice).is_err());
    }
}
