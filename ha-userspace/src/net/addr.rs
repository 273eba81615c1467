//! Virtual addresses: add, remove and list interface addresses through the
//! shared rtnetlink connection.
//!
//! The operations are idempotent because the daemon's view and the kernel's
//! drift: after a restart the VIP may still be there, an operator may have
//! removed it by hand, the interface may be gone. So:
//!
//! - adding sends `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_REPLACE` (never
//!   `NLM_F_EXCL`, which rtnetlink's plain `add()` uses and which fails with
//!   EEXIST for an address already present);
//! - deleting an address that is not there (EADDRNOTAVAIL), or whose
//!   interface is gone (ENODEV), succeeds: either way it is not configured.
//!
//! Defaults follow keepalived, so switching daemons changes nothing on the host:
//!
//! - IPv6 VIPs get `IFA_F_NODAD`: usable at once, with no Duplicate Address
//!   Detection delay, and never stuck in "dadfailed" after a split brain
//!   where both nodes briefly held the address. The RFC's Master must own the
//!   VIP the moment it sends its first advert (RFC 9568 §6.4.2).
//! - IPv6 /128 VIPs get a preferred lifetime of 0 (deprecated, RFC 4862
//!   §5.5.4), so the host does not pick the VIP as the source of its own
//!   connections (health checks would then follow the VIP). Other prefix
//!   lengths are preferred forever.
//! - IPv4 VIPs may carry a label, which the kernel reports in place of the
//!   interface name (`ip addr` shows `eth0:vip`). Like `ip addr add … label`,
//!   we require it to begin with the interface name and fit `IFNAMSIZ`.
//!   IPv6 has no labels.

use std::net::IpAddr;

use futures::TryStreamExt;
use rtnetlink::AddressMessageBuilder;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, CacheInfo,
};

use super::error::NetError;
use super::netlink::{Netlink, errno, nl_error};

/// `IFNAMSIZ - 1`: the longest interface name or label the kernel stores.
pub const MAX_LABEL_LEN: usize = 15;

/// A lifetime of "forever" in `IFA_CACHEINFO`.
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;

const IFA_F_SECONDARY: u32 = 0x01;
const IFA_F_NODAD: u32 = 0x02;
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_DEPRECATED: u32 = 0x20;
const IFA_F_TENTATIVE: u32 = 0x40;

/// One address on an interface, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface index.
    pub ifindex: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Label (`IFA_LABEL`); the kernel reports the interface name for an IPv4
    /// address added without one, and nothing for IPv6.
    pub label: Option<String>,
    /// Scope: 0 global, 200 site, 253 link, 254 host.
    pub scope: u8,
    /// `IFA_F_*` flags (`IFA_FLAGS` when present, else the header byte).
    pub flags: u32,
    /// Preferred lifetime in seconds (`u32::MAX` = forever), when reported.
    pub preferred_lft: Option<u32>,
}

impl IfAddr {
    /// A secondary IPv4 address (another address of the same subnet came first).
    pub fn is_secondary(&self) -> bool {
        self.flags & IFA_F_SECONDARY != 0
    }

    /// Still in IPv6 Duplicate Address Detection: not usable as a source.
    pub fn is_tentative(&self) -> bool {
        self.flags & IFA_F_TENTATIVE != 0
    }

    /// IPv6 Duplicate Address Detection found a duplicate.
    pub fn is_dadfailed(&self) -> bool {
        self.flags & IFA_F_DADFAILED != 0
    }

    /// Deprecated (preferred lifetime over): usable, but not chosen as a source.
    pub fn is_deprecated(&self) -> bool {
        self.flags & IFA_F_DEPRECATED != 0
    }

    /// Added without Duplicate Address Detection.
    pub fn is_nodad(&self) -> bool {
        self.flags & IFA_F_NODAD != 0
    }

    /// Usable as a source address now (not tentative, DAD not failed).
    pub fn is_usable(&self) -> bool {
        !self.is_tentative() && !self.is_dadfailed()
    }

    /// Decodes an `RTM_NEWADDR` / `RTM_DELADDR` message; `None` for families
    /// other than IPv4 and IPv6 or a message without an address.
    pub(crate) fn from_message(msg: &AddressMessage) -> Option<IfAddr> {
        if !matches!(
            msg.header.family,
            AddressFamily::Inet | AddressFamily::Inet6
        ) {
            return None;
        }
        let (mut local, mut address, mut label, mut flags, mut preferred) =
            (None, None, None, None, None);
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = Some(f.bits()),
                AddressAttribute::CacheInfo(c) => preferred = Some(c.ifa_preferred),
                _ => {}
            }
        }
        Some(IfAddr {
            ifindex: msg.header.index,
            addr: local.or(address)?,
            prefix_len: msg.header.prefix_len,
            label,
            scope: msg.header.scope.into(),
            flags: flags.unwrap_or_else(|| u32::from(msg.header.flags.bits())),
            preferred_lft: preferred,
        })
    }
}

impl Netlink {
    /// Adds a virtual address to interface `ifindex`, or refreshes it if it is
    /// already there (see the module docs for flags and lifetimes). `label` is
    /// IPv4 only and must begin with the interface name.
    pub async fn add_vip(
        &self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<(), NetError> {
        check_prefix(addr, prefix_len)?;
        if let Some(label) = label {
            check_label(&self.name_of(ifindex).await, addr, label)?;
        }
        // No other round trip on this path: it is a new master's, between its
        // master-down timer and its gratuitous ARP.
        let mut request = self
            .handle()
            .address()
            .add(ifindex, addr, prefix_len)
            .replace();
        let msg = request.message_mut();
        if let Some(label) = label {
            msg.attributes
                .push(AddressAttribute::Label(label.to_owned()));
        }
        if addr.is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
            let mut lifetimes = CacheInfo::default();
            lifetimes.ifa_preferred = if prefix_len == 128 {
                0
            } else {
                INFINITY_LIFE_TIME
            };
            lifetimes.ifa_valid = INFINITY_LIFE_TIME;
            msg.attributes.push(AddressAttribute::CacheInfo(lifetimes));
        }
        // In place, on the blocking socket: see `sync_route`.
        let msg = RouteNetlinkMessage::NewAddress(request.message_mut().clone());
        match self.create_or_replace(msg) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                Err(NetError::NoSuchIfindex(ifindex))
            }
            Err(e) => {
                let ifname = self.name_of(ifindex).await;
                Err(NetError::io(
                    format!("adding {addr}/{prefix_len} to interface {ifname}"),
                    "CAP_NET_ADMIN",
                    e,
                ))
            }
        }
    }

    /// Removes a virtual address from interface `ifindex`. Removing an address
    /// that is not there succeeds.
    pub async fn del_vip(
        &self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetError> {
        check_prefix(addr, prefix_len)?;
        let msg = match addr {
            IpAddr::V4(a) => AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                .index(ifindex)
                .address(a, prefix_len)
                .build(),
            IpAddr::V6(a) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(ifindex)
                .address(a, prefix_len)
                .build(),
        };
        match self.handle().address().del(msg).execute().await {
            Ok(()) => Ok(()),
            Err(e) if matches!(errno(&e), Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV)) => Ok(()),
            Err(e) => {
                let ifname = self.name_of(ifindex).await;
                Err(nl_error(
                    format!("removing {addr}/{prefix_len} from interface {ifname}"),
                    e,
                ))
            }
        }
    }

    /// Every address on interface `ifindex`, both families, in the kernel's order.
    pub async fn list_addrs(&self, ifindex: u32) -> Result<Vec<IfAddr>, NetError> {
        let messages: Vec<AddressMessage> = self
            .handle()
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .execute()
            .try_collect()
            .await
            .map_err(|e| {
                nl_error(
                    format!("listing the addresses of interface index {ifindex}"),
                    e,
                )
            })?;
        Ok(messages.iter().filter_map(IfAddr::from_message).collect())
    }
}

/// A VIP is a unicast address with a prefix length its family allows.
fn check_prefix(addr: IpAddr, prefix_len: u8) -> Result<(), NetError> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(NetError::Invalid(format!(
            "{addr}/{prefix_len}: prefix length above {max}"
        )));
    }
    let unicast = match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    };
    if !unicast {
        return Err(NetError::Invalid(format!(
            "{addr}/{prefix_len} cannot be a virtual address: not unicast"
        )));
    }
    Ok(())
}

/// The kernel shows an IPv4 address's label in place of the interface name,
/// so `ip` and keepalived insist it begin with that name (`eth0:vip`); it is
/// stored in IFNAMSIZ bytes.
fn check_label(ifname: &str, addr: IpAddr, label: &str) -> Result<(), NetError> {
    let reason = if addr.is_ipv6() {
        Some("IPv6 addresses have no labels".to_owned())
    } else if !label.starts_with(ifname) {
        Some(format!(
            "a label must begin with the interface name, like {ifname}:vip"
        ))
    } else if label.len() > MAX_LABEL_LEN {
        Some(format!("a label is at most {MAX_LABEL_LEN} bytes"))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NetError::Invalid(format!(
            "label {label:?} for {addr} on interface {ifname}: {reason}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_begin_with_the_interface_name() {
        let v4: IpAddr = "198.18.200.100".parse().unwrap();
        assert!(check_label("eth0", v4, "eth0:vip").is_ok());
        assert!(check_label("eth0", v4, "eth0").is_ok());
        let err = check_label("eth0", v4, "vip").unwrap_err().to_string();
        assert!(
            err.contains("eth0:vip") && err.contains("198.18.200.100"),
            "{err}"
        );
        assert!(check_label("eth0", v4, "eth0:0123456789a").is_err());
        let v6: IpAddr = "2001:2::1".parse().unwrap();
        assert!(check_label("eth0", v6, "eth0:vip").is_err());
    }

    #[test]
    fn prefixes_fit_the_family() {
        assert!(check_prefix("198.18.0.1".parse().unwrap(), 32).is_ok());
        assert!(check_prefix("198.18.0.1".parse().unwrap(), 33).is_err());
        assert!(check_prefix("2001:2::1".parse().unwrap(), 128).is_ok());
        assert!(check_prefix("2001:2::1".parse().unwrap(), 129).is_err());
        assert!(check_prefix("224.0.0.18".parse().unwrap(), 32).is_err());
    }
}
