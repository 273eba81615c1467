//! Sending gratuitous ARP (IPv4) and unsolicited Neighbor Advertisements
//! (IPv6) for the VIPs of a new master (RFC 9568 §6.4.2), so hosts and
//! switches on the link move the VIP to our MAC at once.
//!
//! Both go out of one `AF_PACKET` / `SOCK_RAW` socket as whole Ethernet
//! frames built by `wire::arp` and `wire::ndisc`:
//!
//! - the frames are then byte for byte what keepalived sends (tested against
//!   captures), including the NA's IPv6 source, which is the VIP itself;
//! - an NA needs no raw ICMPv6 socket, no IPv6 source-address check by the
//!   kernel, and no wait for the VIP to leave the tentative state;
//! - the socket is opened with protocol 0 and bound to the interface, so it
//!   receives nothing: no queue fills up with frames nobody reads.
//!
//! Repetition and pacing (keepalived's `garp_master_repeat`, `_delay`,
//! `_refresh`, `garp_interval`) are the caller's: one call sends one frame.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::OwnedFd;

use ha_common::wire::{ETH_P_ARP, ETH_P_IPV6};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::error::{NetError, with_context};
use super::link::LinkInfo;
use super::sys;
use crate::wire::arp::{self, MacAddr};
use crate::wire::ndisc;

/// Sends gratuitous ARP requests and unsolicited NAs on one interface.
#[derive(Debug)]
pub struct GratuitousSender {
    fd: AsyncFd<OwnedFd>,
    ifindex: u32,
    ifname: String,
    mac: MacAddr,
    router: bool,
}

impl GratuitousSender {
    /// Opens the sender on interface `ifindex`, announcing `mac` (the
    /// interface MAC, or the virtual MAC when one is used). The NA Router
    /// flag is off; see [`with_router_flag`](Self::with_router_flag).
    ///
    /// # Panics
    /// Outside a tokio runtime (the socket registers with its reactor).
    pub fn new(ifindex: u32, mac: MacAddr) -> Result<GratuitousSender, NetError> {
        GratuitousSender::open(ifindex, format!("interface index {ifindex}"), mac)
    }

    /// Opens the sender on `link` with its own MAC, setting the NA Router flag
    /// as keepalived does: when IPv6 forwarding is on for the interface.
    pub fn for_link(link: &LinkInfo) -> Result<GratuitousSender, NetError> {
        let mac = link.mac().ok_or_else(|| {
            NetError::Invalid(format!(
                "interface {} has no Ethernet address to announce in gratuitous ARP",
                link.name()
            ))
        })?;
        let sender = GratuitousSender::open(link.ifindex(), link.name().to_owned(), mac)?;
        Ok(sender.with_router_flag(ipv6_forwarding(link.name())))
    }

    fn open(ifindex: u32, ifname: String, mac: MacAddr) -> Result<GratuitousSender, NetError> {
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(|e| {
            NetError::io(
                format!("opening a packet socket for gratuitous ARP/NA on {ifname}"),
                "CAP_NET_RAW",
                e,
            )
        })?;
        sys::bind_packet(&fd, ifindex).map_err(|e| match e.raw_os_error() {
            Some(libc::ENODEV) => NetError::NoSuchIfindex(ifindex),
            _ => NetError::io(
                format!("binding the gratuitous ARP/NA socket to {ifname}"),
                "CAP_NET_RAW",
                e,
            ),
        })?;
        let fd = sys::register(fd, Interest::WRITABLE).map_err(|e| NetError::Io {
            what: format!("registering the gratuitous ARP/NA socket of {ifname} with tokio"),
            cause: e,
        })?;
        Ok(GratuitousSender {
            fd,
            ifindex,
            ifname,
            mac,
            router: false,
        })
    }

    /// Sets the Router (R) flag of the NAs: RFC 9568 §6.4.2 says set;
    /// keepalived sets it only when the interface forwards IPv6.
    pub fn with_router_flag(mut self, router: bool) -> GratuitousSender {
        self.router = router;
        self
    }

    /// The MAC announced.
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Broadcasts one gratuitous ARP request for `vip` (see `wire::arp`).
    pub async fn send_garp(&self, vip: Ipv4Addr) -> io::Result<()> {
        let frame = arp::gratuitous_frame(self.mac, vip);
        self.send_frame(&frame, ETH_P_ARP, MacAddr::BROADCAST)
            .await
            .map_err(|e| {
                with_context(
                    || format!("sending gratuitous ARP for {vip} on {}", self.ifname),
                    e,
                )
            })
    }

    /// Sends one unsolicited Neighbor Advertisement for `vip` to all nodes
    /// (see `wire::ndisc`).
    pub async fn send_unsolicited_na(&self, vip: Ipv6Addr) -> io::Result<()> {
        let frame = ndisc::unsolicited_na_frame(self.mac, vip, self.router);
        let dst = MacAddr::for_ipv6_multicast(&ndisc::ALL_NODES);
        self.send_frame(&frame, ETH_P_IPV6, dst).await.map_err(|e| {
            with_context(
                || format!("sending unsolicited NA for {vip} on {}", self.ifname),
                e,
            )
        })
    }

    async fn send_frame(&self, frame: &[u8], ethertype: u16, dst: MacAddr) -> io::Result<()> {
        let to = sys::sockaddr_ll(self.ifindex, ethertype, dst.octets());
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| sys::send_packet(fd.get_ref(), frame, &to)) {
                Ok(result) => return result.map(drop),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Whether IPv6 forwarding is on for `ifname`
/// (`/proc/sys/net/ipv6/conf/IF/forwarding`, in the caller's network
/// namespace); false if it cannot be read (IPv6 disabled, say).
pub fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() != "0")
        .unwrap_or(false)
}
