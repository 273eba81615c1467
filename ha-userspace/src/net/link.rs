//! Interfaces: look one up by name or index (index, MAC, MTU, state and
//! addresses), and watch links and addresses change.
//!
//! Everything comes from rtnetlink (`RTM_GETLINK` / `RTM_GETADDR` dumps and the
//! `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV6_IFADDR` multicast
//! groups) rather than ioctls or `getifaddrs`: one mechanism, the same
//! attribute types for lookups and events, and it answers for the network
//! namespace the socket was opened in.
//!
//! Why the daemon needs each piece:
//! - the index to bind sockets and address VIPs, the MAC for gratuitous ARP
//!   and NA (RFC 9568 §6.4.2), the MTU to bound advert size;
//! - the primary IPv4 address and the IPv6 link-local address, the only
//!   legal sources of adverts (RFC 9568 §5.1.1.1, §5.1.2.1);
//! - link state and its changes, so a dead link moves the instance to its
//!   safe state at once instead of after Master_Down_Interval.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{Stream, StreamExt, TryStreamExt};
use rtnetlink::MulticastGroup;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, LinkXdp, State};
use rtnetlink::sys::{AsyncSocket, SocketAddr};

use super::addr::IfAddr;
use super::error::NetError;
use super::netlink::{Netlink, errno, nl_error};
use crate::wire::arp::MacAddr;

/// Operational state (RFC 2863 ifOperStatus, as the kernel reports it in
/// `IFLA_OPERSTATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperState {
    /// The driver does not report a state (loopback, dummy, many virtual devices).
    Unknown,
    /// A component is missing.
    NotPresent,
    /// Down.
    Down,
    /// Down because a lower device is (a veth whose peer is down, a VLAN on a dead NIC).
    LowerLayerDown,
    /// In a test mode.
    Testing,
    /// Up but waiting for an external event (802.1X, for example).
    Dormant,
    /// Up and passing packets.
    Up,
    /// A value this code does not know.
    Other(u8),
}

impl From<State> for OperState {
    fn from(s: State) -> Self {
        match s {
            State::Unknown => OperState::Unknown,
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            State::Other(v) => OperState::Other(v),
            _ => OperState::Other(u8::MAX),
        }
    }
}

/// The link-level facts about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, if the link has a 6-byte one.
    pub mac: Option<MacAddr>,
    /// MTU in bytes.
    pub mtu: u32,
    /// Administratively up (`IFF_UP`, `ip link set up`).
    pub admin_up: bool,
    /// Carrier present (`IFF_LOWER_UP`).
    pub carrier: bool,
    /// Operational state.
    pub oper_state: OperState,
    /// The id of the XDP program attached to the interface, if any.
    pub xdp_prog_id: Option<u32>,
}

impl LinkState {
    /// Whether the link can carry adverts now: up, with carrier, and not in
    /// an operational state that says otherwise (`Unknown` counts as up, as
    /// the kernel reports it for devices without state tracking).
    pub fn is_up(&self) -> bool {
        self.admin_up
            && self.carrier
            && matches!(
                self.oper_state,
                OperState::Up | OperState::Unknown | OperState::Other(_)
            )
    }

    fn from_message(msg: &LinkMessage) -> LinkState {
        let flags = msg.header.flags;
        let mut state = LinkState {
            ifindex: msg.header.index,
            name: String::new(),
            mac: None,
            mtu: 0,
            admin_up: flags.contains(LinkFlags::Up),
            carrier: flags.contains(LinkFlags::LowerUp),
            oper_state: OperState::Unknown,
            xdp_prog_id: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(name) => state.name = name.clone(),
                LinkAttribute::Address(bytes) => state.mac = MacAddr::from_slice(bytes),
                LinkAttribute::Mtu(mtu) => state.mtu = *mtu,
                LinkAttribute::OperState(s) => state.oper_state = (*s).into(),
                LinkAttribute::Xdp(xdp) => {
                    state.xdp_prog_id = xdp.iter().find_map(|a| match a {
                        LinkXdp::ProgId(id) if *id != 0 => Some(*id),
                        _ => None,
                    });
                }
                _ => {}
            }
        }
        state
    }
}

/// An interface and its addresses, as [`Netlink::link_by_name`] finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Index, name, MAC, MTU, state.
    pub link: LinkState,
    /// Every address on the interface, in the kernel's order.
    pub addrs: Vec<IfAddr>,
}

impl LinkInfo {
    /// Whether the interface can carry traffic (see [`LinkState::is_up`]).
    pub fn is_up(&self) -> bool {
        self.link.is_up()
    }

    /// Interface index.
    pub fn ifindex(&self) -> u32 {
        self.link.ifindex
    }

    /// Interface name.
    pub fn name(&self) -> &str {
        &self.link.name
    }

    /// Hardware address.
    pub fn mac(&self) -> Option<MacAddr> {
        self.link.mac
    }

    /// The primary IPv4 address: the first global-scope address the kernel
    /// does not flag secondary. This is the source of IPv4 adverts (RFC 9568
    /// §5.1.1.1) and what breaks priority ties (§6.4.3).
    ///
    /// The kernel keeps primaries ahead of later addresses of the same
    /// scope, so a VIP added later never displaces the first address; only a
    /// VIP in a subnet of its own is itself a primary, after it.
    pub fn primary_ipv4(&self) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|a| match a.addr {
            IpAddr::V4(v4) if !a.is_secondary() && a.scope == 0 => Some(v4),
            _ => None,
        })
    }

    /// The IPv6 link-local address adverts are sent from (RFC 9568
    /// §5.1.2.1), once it is usable: an address still in Duplicate Address
    /// Detection (tentative) or that failed it is skipped.
    pub fn ipv6_link_local(&self) -> Option<Ipv6Addr> {
        self.addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v6) if v6.is_unicast_link_local() && a.is_usable() => Some(v6),
            _ => None,
        })
    }
}

impl Netlink {
    /// Looks up an interface by name. Fails with
    /// [`NetError::NoSuchInterface`] ("interface eth9 does not exist").
    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo, NetError> {
        let mut links = self.handle().link().get().match_name(name).execute();
        let msg = match links.try_next().await {
            Ok(Some(msg)) => msg,
            Ok(None) => return Err(NetError::NoSuchInterface(name.to_owned())),
            Err(e) if errno(&e) == Some(libc::ENODEV) => {
                return Err(NetError::NoSuchInterface(name.to_owned()));
            }
            Err(e) => return Err(nl_error(format!("looking up interface {name}"), e)),
        };
        self.with_addrs(LinkState::from_message(&msg)).await
    }

    /// Looks up an interface by index.
    pub async fn link_by_index(&self, ifindex: u32) -> Result<LinkInfo, NetError> {
        let link = self.link_state(ifindex).await?;
        self.with_addrs(link).await
    }

    /// The link-level facts of an interface, without its addresses.
    pub async fn link_state(&self, ifindex: u32) -> Result<LinkState, NetError> {
        let mut links = self.handle().link().get().match_index(ifindex).execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(LinkState::from_message(&msg)),
            Ok(None) => Err(NetError::NoSuchIfindex(ifindex)),
            Err(e) if errno(&e) == Some(libc::ENODEV) => Err(NetError::NoSuchIfindex(ifindex)),
            Err(e) => Err(nl_error(format!("looking up interface index {ifindex}"), e)),
        }
    }

    /// The name of interface `ifindex`, for messages; "ifindex N" if it
    /// cannot be found.
    pub(crate) async fn name_of(&self, ifindex: u32) -> String {
        match self.link_state(ifindex).await {
            Ok(link) => link.name,
            Err(_) => format!("ifindex {ifindex}"),
        }
    }

    async fn with_addrs(&self, link: LinkState) -> Result<LinkInfo, NetError> {
        let addrs = self.list_addrs(link.ifindex).await?;
        Ok(LinkInfo { link, addrs })
    }

    /// Subscribes to link and address changes in this network namespace.
    /// Opens its own netlink socket (a multicast subscription cannot share the
    /// request socket); must be called inside a tokio runtime.
    pub fn events(&self) -> Result<NetEvents, NetError> {
        NetEvents::subscribe()
    }
}

/// A change the kernel announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link appeared or changed (`RTM_NEWLINK`): state, carrier, MTU, MAC…
    /// The kernel sends one for every change, not only state changes.
    Link(LinkState),
    /// A link was deleted (`RTM_DELLINK`).
    LinkRemoved {
        /// Its index.
        ifindex: u32,
        /// Its name.
        name: String,
    },
    /// An address was added or changed (`RTM_NEWADDR`; also sent when an IPv6
    /// address finishes Duplicate Address Detection).
    AddrAdded(IfAddr),
    /// An address was removed (`RTM_DELADDR`).
    AddrRemoved(IfAddr),
}

/// The stream of [`NetEvent`]s. It ends (`None`) if the kernel dropped
/// events because we read too slowly (netlink overflow) or the socket failed;
/// the caller must then re-read the state it cares about and subscribe again.
pub struct NetEvents {
    rx: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
}

impl std::fmt::Debug for NetEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetEvents").finish_non_exhaustive()
    }
}

/// Socket receive buffer for the event subscription: room for bursts (a
/// daemon adding many VIPs at once) before the kernel starts dropping.
const EVENT_RCVBUF: libc::c_int = 1 << 20;

impl NetEvents {
    fn subscribe() -> Result<NetEvents, NetError> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        let (mut connection, _handle, rx) =
            rtnetlink::new_multicast_connection(&groups).map_err(|e| {
                NetError::io(
                    "subscribing to rtnetlink link and address events",
                    "CAP_NET_ADMIN",
                    e,
                )
            })?;
        // Best effort: a smaller buffer still works, it only overflows sooner.
        let _ = connection
            .socket_mut()
            .socket_mut()
            .set_rx_buf_sz(EVENT_RCVBUF);
        tokio::spawn(connection);
        Ok(NetEvents { rx })
    }

    /// The next event; `None` when the subscription ended (see the type docs).
    pub async fn recv(&mut self) -> Option<NetEvent> {
        self.next().await
    }
}

impl Stream for NetEvents {
    type Item = NetEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NetEvent>> {
        loop {
            match self.rx.poll_next_unpin(cx) {
                Poll::Ready(Some((msg, _))) => {
                    if let Some(event) = decode_event(msg) {
                        return Poll::Ready(Some(event));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

fn decode_event(msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let NetlinkPayload::InnerMessage(inner) = msg.payload else {
        return None;
    };
    match inner {
        RouteNetlinkMessage::NewLink(link) => Some(NetEvent::Link(LinkState::from_message(&link))),
        RouteNetlinkMessage::DelLink(link) => {
            let state = LinkState::from_message(&link);
            Some(NetEvent::LinkRemoved {
                ifindex: state.ifindex,
                name: state.name,
            })
        }
        RouteNetlinkMessage::NewAddress(addr) => {
            IfAddr::from_message(&addr).map(NetEvent::AddrAdded)
        }
        RouteNetlinkMessage::DelAddress(addr) => {
            IfAddr::from_message(&addr).map(NetEvent::AddrRemoved)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(admin_up: bool, carrier: bool, oper_state: OperState) -> LinkState {
        LinkState {
            ifindex: 2,
            name: "eth0".into(),
            mac: None,
            mtu: 1500,
            admin_up,
            carrier,
            oper_state,
            xdp_prog_id: None,
        }
    }

    #[test]
    fn up_needs_admin_carrier_and_a_live_oper_state() {
        assert!(state(true, true, OperState::Up).is_up());
        assert!(state(true, true, OperState::Unknown).is_up());
        assert!(!state(false, true, OperState::Up).is_up());
        assert!(!state(true, false, OperState::Up).is_up());
        assert!(!state(true, true, OperState::LowerLayerDown).is_up());
        assert!(!state(true, true, OperState::Dormant).is_up());
    }
}
