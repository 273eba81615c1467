//! The kernel-facing network layer of the `socket` datapath: everything the
//! controller does to the network besides the XDP program.
//!
//! | module | concern |
//! | --- | --- |
//! | [`vrrp_socket`] | the raw IPPROTO_VRRP socket per (interface, family): adverts in and out |
//! | [`garp`] | gratuitous ARP and unsolicited NA for the VIPs of a new master |
//! | [`netlink`] | the one shared rtnetlink connection ([`Netlink`]) |
//! | [`link`] | interface lookup (index, MAC, MTU, state, source addresses) and change events |
//! | [`addr`] | adding, removing and listing VIPs |
//! | [`route`] | adding and removing `virtual_routes` / `static_routes` |
//! | [`rule`] | adding and removing `virtual_rules` / `static_rules` |
//! | [`macvlan`] | the VMAC interfaces of `use_vmac` |
//! | [`devconf`] | per-interface IP settings (`net.ipv4.conf.IF.KEY`) |
//! | `sync_route` | the blocking netlink request that adds a new master's VIPs |
//!
//! Everything is driven by tokio: sockets are non-blocking and wrapped in
//! `AsyncFd`, rtnetlink runs as a spawned task. Sockets and the netlink
//! connection belong to the network namespace of the thread that creates them.
//!
//! Errors name the interface, the address and the missing capability
//! ([`NetError`]); the send and receive paths return `io::Result` with the
//! same context in the message, so the daemon can also match on the kind.
//!
//! Decisions worth knowing:
//! - **Advert source address**: chosen per datagram with `IP_PKTINFO` /
//!   `IPV6_PKTINFO` control messages (primary IPv4 address, IPv6 link-local,
//!   RFC 9568 §5.1.1.1 / §5.1.2.1), not by `bind()`, which on a raw socket
//!   would also filter received datagrams by destination and so drop adverts
//!   sent to the multicast group.
//! - **NA method**: whole Ethernet frames on an `AF_PACKET` socket, like
//!   gratuitous ARP, byte-exact with keepalived (see [`garp`]).
//! - **Interface data**: rtnetlink dumps rather than ioctls (see [`link`]).

pub mod addr;
pub mod devconf;
mod error;
pub mod garp;
pub mod link;
pub mod macvlan;
mod msg;
pub mod netlink;
pub mod route;
pub mod rule;
mod sync_route;
mod sys;
pub mod vrrp_socket;

pub use addr::IfAddr;
pub use error::NetError;
pub use garp::GratuitousSender;
pub use link::{LinkInfo, LinkState, NetEvent, NetEvents, OperState};
pub use netlink::Netlink;
pub use vrrp_socket::{Received, VrrpSocket};
