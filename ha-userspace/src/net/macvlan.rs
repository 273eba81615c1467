//! The macvlan interfaces of keepalived's `use_vmac`: an interface on top of
//! the instance's own whose MAC is the VRRP virtual MAC (RFC 9568 §7.3),
//! so a takeover needs no client to learn a new MAC.
//!
//! Mode `private`, as keepalived creates it: the macvlan receives the
//! frames sent to its MAC and the broadcasts and multicasts of the wire,
//! never frames from another macvlan of the same lower device (two VMACs of
//! one host must not hear each other's adverts and ARP as if from the LAN).
//! It is created down, so IPv6 settings can be made before the kernel
//! generates a link-local address, and set up after.

use futures::TryStreamExt;
use netlink_packet_route::{
    RouteNetlinkMessage,
    link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode},
};
use rtnetlink::{LinkMacVlan, LinkUnspec};

use super::error::NetError;
use super::netlink::{Netlink, errno, nl_error};

/// An existing interface, as far as a VMAC cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacLink {
    /// Its index.
    pub ifindex: u32,
    /// Whether it is a macvlan.
    pub is_macvlan: bool,
    /// Its MAC.
    pub mac: Option<[u8; 6]>,
    /// Its lower device (`IFLA_LINK`).
    pub base: Option<u32>,
}

impl VmacLink {
    /// A macvlan with `mac` on `base`: a VMAC this daemon (or one killed
    /// before it) made, fit to use again.
    pub fn matches(&self, base: u32, mac: [u8; 6]) -> bool {
        self.is_macvlan && self.base == Some(base) && self.mac == Some(mac)
    }
}

impl Netlink {
    /// The interface called `name`, if there is one.
    pub async fn vmac_link(&self, name: &str) -> Result<Option<VmacLink>, NetError> {
        let mut links = self.handle().link().get().match_name(name).execute();
        let msg = match links.try_next().await {
            Ok(Some(msg)) => msg,
            Ok(None) => return Ok(None),
            Err(e) if errno(&e) == Some(libc::ENODEV) => return Ok(None),
            Err(e) => return Err(nl_error(format!("looking up interface {name}"), e)),
        };
        Ok(Some(vmac_link(&msg)))
    }

    /// Creates macvlan `name` (mode private, down) on `base` with `mac`;
    /// returns its index.
    pub async fn create_macvlan(
        &self,
        name: &str,
        base: u32,
        mac: [u8; 6],
    ) -> Result<u32, NetError> {
        let msg = LinkMacVlan::new(name, base, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.handle()
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| nl_error(format!("creating the VMAC interface {name}"), e))?;
        match self.vmac_link(name).await? {
            Some(link) => Ok(link.ifindex),
            None => Err(NetError::NoSuchInterface(name.to_owned())),
        }
    }

    /// Sets interface `ifindex` administratively up.
    pub async fn set_up(&self, ifindex: u32, name: &str) -> Result<(), NetError> {
        let msg = LinkUnspec::new_with_index(ifindex).up().build();
        self.handle()
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| nl_error(format!("setting interface {name} up"), e))
    }

    /// Deletes interface `ifindex` (a VMAC: never call it on another
    /// interface). One already gone is not an error. Blocking, so it can
    /// run from a `Drop`.
    pub fn delete_link(&self, ifindex: u32, name: &str) -> Result<(), NetError> {
        let mut msg = LinkMessage::default();
        msg.header.index = ifindex;
        match self.request(RouteNetlinkMessage::DelLink(msg), 0) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            Err(e) => Err(NetError::io(
                format!("deleting the VMAC interface {name}"),
                "CAP_NET_ADMIN",
                e,
            )),
        }
    }
}

fn vmac_link(msg: &LinkMessage) -> VmacLink {
    let mut link = VmacLink {
        ifindex: msg.header.index,
        is_macvlan: false,
        mac: None,
        base: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::Address(bytes) => link.mac = <[u8; 6]>::try_from(&bytes[..]).ok(),
            LinkAttribute::Link(base) => link.base = Some(*base),
            LinkAttribute::LinkInfo(infos) => {
                link.is_macvlan = infos
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan)));
            }
            _ => {}
        }
    }
    link
}

/// The VRRP virtual MAC of `vrid`: `00:00:5e:00:01:VRID` for IPv4,
/// `00:00:5e:00:02:VRID` for IPv6 (RFC 9568 §7.3).
pub fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_macs() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(255, true), [0, 0, 0x5e, 0, 2, 255]);
    }

    #[test]
    fn reuse_needs_kind_base_and_mac() {
        let mac = virtual_mac(7, false);
        let l = VmacLink {
            ifindex: 9,
            is_macvlan: true,
            mac: Some(mac),
            base: Some(2),
        };
        assert!(l.matches(2, mac));
        assert!(!l.matches(3, mac));
        assert!(!l.matches(2, virtual_mac(8, false)));
        assert!(
            !VmacLink {
                is_macvlan: false,
                ..l
            }
            .matches(2, mac)
        );
    }
}
