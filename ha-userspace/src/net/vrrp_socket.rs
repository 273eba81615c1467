//! The raw IPPROTO_VRRP socket of the `socket` datapath: one per (interface,
//! address family), sending and receiving advertisements.
//!
//! What the RFC asks of the transport, and how the socket provides it:
//!
//! - Adverts go to 224.0.0.18 / ff02::12 (RFC 9568 §5.1.1.2, §5.1.2.2): the
//!   socket joins that group on its interface only (`IP_ADD_MEMBERSHIP` with
//!   `ip_mreqn.imr_ifindex`, `IPV6_ADD_MEMBERSHIP`), sends multicast out of it
//!   (`IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`), and is bound to it
//!   (`SO_BINDTODEVICE`) so adverts from another link are never seen here.
//! - TTL / Hop Limit 255 on send, for multicast and unicast alike (RFC 9568
//!   §5.1.1.3, §5.1.2.3): `IP_TTL`, `IP_MULTICAST_TTL`, `IPV6_UNICAST_HOPS`,
//!   `IPV6_MULTICAST_HOPS`. On receive the value is handed to the caller, who
//!   must drop anything but 255 (`wire` does): the IPv4 raw socket delivers the
//!   IP header, the IPv6 one reports it in an `IPV6_HOPLIMIT` control message.
//! - The source of an IPv4 advert is the interface's primary address, of an
//!   IPv6 advert its link-local address (RFC 9568 §5.1.1.1, §5.1.2.1) — never
//!   a VIP, even when the VIP is on the interface. The source is set per
//!   datagram with `IP_PKTINFO.ipi_spec_dst` / `IPV6_PKTINFO.ipi6_addr`. We do
//!   not `bind()` to it: a bound raw socket only receives datagrams addressed to
//!   the bound address, which would drop every multicast advert.
//! - We must not process our own adverts: multicast loopback is off, and as a
//!   second guard [`VrrpSocket::recv`] drops datagrams whose source is our
//!   own source address (counted in [`VrrpSocket::own_dropped`]).
//! - TOS / traffic class 0xc0 (network control), as keepalived sends.
//!
//! The kernel builds the IP header; the payload is the VRRP message. For
//! IPv6 the kernel does not touch the VRRP checksum (no `IPV6_CHECKSUM`): the
//! codec computes it over the pseudo-header with [`VrrpSocket::source`].

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::error::{NetError, with_context};
use super::link::LinkInfo;
use super::msg::{self, OutMsg};
use super::sys;
use crate::wire::{Family, IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL};

/// IP TOS / IPv6 traffic class of adverts: precedence 6, "network control"
/// (RFC 2474 class selector CS6), what keepalived uses.
pub const VRRP_TOS: u8 = 0xc0;

/// One received VRRP datagram. The bytes are in the caller's buffer:
/// `buf[..len]`, the VRRP message at `buf[ip_header_len..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (the group for multicast adverts).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 Hop Limit as received; anything but 255 must be dropped.
    pub ttl_or_hop_limit: u8,
    /// Interface the datagram arrived on.
    pub ifindex: u32,
    /// Bytes written into the buffer.
    pub len: usize,
    /// Length of the IPv4 header at the start of the buffer; 0 for IPv6,
    /// whose raw sockets deliver the payload only.
    pub ip_header_len: usize,
    /// The datagram was longer than the buffer and was cut.
    pub truncated: bool,
}

impl Received {
    /// The VRRP message inside `buf` (the buffer passed to `recv`).
    pub fn payload<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.ip_header_len..self.len]
    }
}

/// A raw IPPROTO_VRRP socket on one interface for one address family.
///
/// All methods take `&self`, so one socket can be shared (in an `Arc`) by a
/// receive task and the tasks that send.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<OwnedFd>,
    family: Family,
    ifindex: u32,
    ifname: String,
    source: Mutex<IpAddr>,
    own_dropped: AtomicU64,
    malformed: AtomicU64,
}

impl VrrpSocket {
    /// Opens the socket of `family` on `link`, sending from its primary IPv4
    /// address or its IPv6 link-local address.
    ///
    /// Fails if the interface has no such address yet (an IPv6 link-local
    /// address is only usable once Duplicate Address Detection is over).
    pub fn for_link(link: &LinkInfo, family: Family) -> Result<VrrpSocket, NetError> {
        let source = match family {
            Family::Ipv4 => link.primary_ipv4().map(IpAddr::V4),
            Family::Ipv6 => link.ipv6_link_local().map(IpAddr::V6),
        }
        .ok_or_else(|| {
            NetError::Invalid(match family {
                Family::Ipv4 => format!(
                    "interface {} has no IPv4 address to send VRRP adverts from (RFC 9568 §5.1.1.1 wants its primary address)",
                    link.name()
                ),
                Family::Ipv6 => format!(
                    "interface {} has no usable IPv6 link-local address to send VRRP adverts from (RFC 9568 §5.1.2.1); it may still be tentative",
                    link.name()
                ),
            })
        })?;
        VrrpSocket::open(link.name(), link.ifindex(), source)
    }

    /// Opens the socket on interface `ifname` (index `ifindex`) sending from
    /// `source`, whose family selects IPv4 or IPv6. `source` must be an
    /// address of this host (the kernel refuses others at send time).
    ///
    /// # Panics
    /// Outside a tokio runtime (the socket registers with its reactor).
    pub fn open(ifname: &str, ifindex: u32, source: IpAddr) -> Result<VrrpSocket, NetError> {
        check_source(ifname, source)?;
        let family = Family::of(&source);
        let what = |step: &str| format!("{step} of the {family} VRRP socket on {ifname}");
        let domain = match family {
            Family::Ipv4 => libc::AF_INET,
            Family::Ipv6 => libc::AF_INET6,
        };
        let fd =
            sys::socket(domain, libc::SOCK_RAW, libc::c_int::from(IPPROTO_VRRP)).map_err(|e| {
                NetError::io(
                    format!("opening a raw {family} VRRP socket for {ifname}"),
                    "CAP_NET_RAW",
                    e,
                )
            })?;
        sys::bind_to_device(&fd, ifname).map_err(|e| match e.raw_os_error() {
            Some(libc::ENODEV) => NetError::NoSuchInterface(ifname.to_owned()),
            _ => NetError::io(what("SO_BINDTODEVICE"), "CAP_NET_RAW", e),
        })?;
        let set = |level, name, value: libc::c_int, opt: &str| {
            sys::set_int(&fd, level, name, value)
                .map_err(|e| NetError::io(what(opt), "CAP_NET_RAW", e))
        };
        let ttl = libc::c_int::from(VRRP_TTL);
        let tos = libc::c_int::from(VRRP_TOS);
        match family {
            Family::Ipv4 => {
                set(libc::IPPROTO_IP, libc::IP_TTL, ttl, "IP_TTL")?;
                set(
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_TTL,
                    ttl,
                    "IP_MULTICAST_TTL",
                )?;
                set(
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_LOOP,
                    0,
                    "IP_MULTICAST_LOOP",
                )?;
                set(
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_ALL,
                    0,
                    "IP_MULTICAST_ALL",
                )?;
                set(libc::IPPROTO_IP, libc::IP_TOS, tos, "IP_TOS")?;
                set(libc::IPPROTO_IP, libc::IP_PKTINFO, 1, "IP_PKTINFO")?;
                let mreqn = ip_mreqn(Ipv4Addr::UNSPECIFIED, ifindex);
                sys::setsockopt(&fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreqn)
                    .map_err(|e| NetError::io(what("IP_MULTICAST_IF"), "CAP_NET_RAW", e))?;
            }
            Family::Ipv6 => {
                set(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_UNICAST_HOPS,
                    ttl,
                    "IPV6_UNICAST_HOPS",
                )?;
                set(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_HOPS,
                    ttl,
                    "IPV6_MULTICAST_HOPS",
                )?;
                set(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_LOOP,
                    0,
                    "IPV6_MULTICAST_LOOP",
                )?;
                set(
                    libc::IPPROTO_IPV6,
                    IPV6_MULTICAST_ALL,
                    0,
                    "IPV6_MULTICAST_ALL",
                )?;
                set(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tos, "IPV6_TCLASS")?;
                set(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVPKTINFO,
                    1,
                    "IPV6_RECVPKTINFO",
                )?;
                set(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVHOPLIMIT,
                    1,
                    "IPV6_RECVHOPLIMIT",
                )?;
                set(
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_IF,
                    ifindex as libc::c_int,
                    "IPV6_MULTICAST_IF",
                )?;
            }
        }
        let fd = sys::register(fd, Interest::READABLE | Interest::WRITABLE).map_err(|e| {
            NetError::Io {
                what: what("registering with tokio"),
                cause: e,
            }
        })?;
        let socket = VrrpSocket {
            fd,
            family,
            ifindex,
            ifname: ifname.to_owned(),
            source: Mutex::new(source),
            own_dropped: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
        };
        socket.join(match family {
            Family::Ipv4 => IpAddr::V4(VRRP_GROUP_V4),
            Family::Ipv6 => IpAddr::V6(VRRP_GROUP_V6),
        })?;
        Ok(socket)
    }

    /// Joins another multicast group on this interface (keepalived's
    /// `mcast_dst_ip`); [`open`](Self::open) joins the VRRP group itself.
    pub fn join(&self, group: IpAddr) -> Result<(), NetError> {
        let fd = self.fd.get_ref();
        let what = || format!("joining multicast group {group} on {}", self.ifname);
        let result = match (self.family, group) {
            (Family::Ipv4, IpAddr::V4(g)) if g.is_multicast() => sys::setsockopt(
                fd,
                libc::IPPROTO_IP,
                libc::IP_ADD_MEMBERSHIP,
                &ip_mreqn(g, self.ifindex),
            ),
            (Family::Ipv6, IpAddr::V6(g)) if g.is_multicast() => {
                let mreq = libc::ipv6_mreq {
                    ipv6mr_multiaddr: sys::in6_addr(g),
                    ipv6mr_interface: self.ifindex,
                };
                sys::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)
            }
            _ => {
                return Err(NetError::Invalid(format!(
                    "{}: not an {} multicast group",
                    what(),
                    self.family
                )));
            }
        };
        result.map_err(|e| NetError::io(what(), "CAP_NET_RAW", e))
    }

    /// IPv4 or IPv6.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Index of the interface the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Name of the interface the socket is bound to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The address adverts are sent from (and whose echoes are dropped).
    pub fn source(&self) -> IpAddr {
        *crate::sync::lock(&self.source)
    }

    /// Changes the source address, e.g. when the interface's primary address
    /// changed. Must be of the socket's family.
    pub fn set_source(&self, source: IpAddr) -> Result<(), NetError> {
        check_source(&self.ifname, source)?;
        if Family::of(&source) != self.family {
            return Err(NetError::Invalid(format!(
                "source {source} for the {} VRRP socket on {} is of the wrong family",
                self.family, self.ifname
            )));
        }
        *crate::sync::lock(&self.source) = source;
        Ok(())
    }

    /// Makes the socket send-only: a classic BPF filter that accepts nothing, so
    /// the kernel no longer queues every received advert for a reader that never
    /// comes (the XDP datapath receives adverts in the kernel). keepalived does
    /// the same to its send sockets.
    pub fn stop_receiving(&self) -> Result<(), NetError> {
        // One instruction: BPF_RET | BPF_K with k = 0, "keep 0 bytes".
        let mut drop_all = [libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let prog = libc::sock_fprog {
            len: 1,
            filter: drop_all.as_mut_ptr(),
        };
        sys::setsockopt(
            self.fd.get_ref(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog,
        )
        .map_err(|e| {
            NetError::io(
                format!(
                    "SO_ATTACH_FILTER of the {} VRRP socket on {}",
                    self.family, self.ifname
                ),
                "CAP_NET_RAW",
                e,
            )
        })
    }

    /// Datagrams dropped because their source was our own address.
    pub fn own_dropped(&self) -> u64 {
        self.own_dropped.load(Ordering::Relaxed)
    }

    /// Datagrams dropped because the kernel's framing made no sense (an IPv4
    /// header that does not parse, a missing IPv6 control message).
    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Waits for the next advert from someone else and copies it into `buf`.
    ///
    /// Give a buffer of at least 1500 bytes: a larger datagram is cut and
    /// flagged [`Received::truncated`]. Nothing is validated beyond the IP
    /// framing; the VRRP checks (TTL 255 included) belong to `wire`.
    ///
    /// Cancel-safe: dropping the future (in `tokio::select!`) loses no datagram.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            let info = match guard.try_io(|fd| msg::recv(fd.get_ref(), buf)) {
                Ok(result) => result.map_err(|e| {
                    with_context(|| format!("receiving VRRP on {}", self.ifname), e)
                })?,
                Err(_would_block) => continue,
            };
            let Some(received) = self.frame(buf, info) else {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if received.src == self.source() {
                self.own_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            return Ok(received);
        }
    }

    /// Turns what `recvmsg` returned into a [`Received`], or `None` if the
    /// framing is broken.
    fn frame(&self, buf: &[u8], info: msg::RecvInfo) -> Option<Received> {
        let ifindex = info.pktinfo.map_or(self.ifindex, |(index, _)| index);
        match self.family {
            Family::Ipv4 => {
                let header = Ipv4Framing::parse(&buf[..info.len])?;
                Some(Received {
                    src: IpAddr::V4(header.src),
                    dst: IpAddr::V4(header.dst),
                    ttl_or_hop_limit: header.ttl,
                    ifindex,
                    len: info.len,
                    ip_header_len: header.header_len,
                    truncated: info.truncated,
                })
            }
            Family::Ipv6 => Some(Received {
                src: info.src?,
                dst: info.pktinfo?.1,
                ttl_or_hop_limit: info.hop_limit?,
                ifindex,
                len: info.len,
                ip_header_len: 0,
                truncated: info.truncated,
            }),
        }
    }

    /// Sends one VRRP message to `dst` (the group, or a unicast peer) from
    /// [`source`](Self::source).
    pub async fn send_to(&self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        self.send_from(payload, self.source(), dst).await
    }

    /// Sends one VRRP message from an explicit source (keepalived's
    /// `unicast_src_ip` / `mcast_src_ip`).
    pub async fn send_from(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> io::Result<()> {
        let what = || {
            format!(
                "sending a VRRP advert on {} from {src} to {dst}",
                self.ifname
            )
        };
        self.check_pair(src, dst)
            .map_err(|e| with_context(what, e))?;
        let mut out = OutMsg::new(src, dst, self.ifindex);
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| msg::send(fd.get_ref(), payload, &mut out)) {
                Ok(result) => {
                    return result
                        .map(drop)
                        .map_err(|e| with_context(what, hint_source(e, src)));
                }
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends several messages, each from its own source to its own
    /// destination, with as few system calls as the kernel allows
    /// (`sendmmsg`): the periodic adverts of every master instance on this
    /// socket that shares an interval, one per unicast peer. A message that
    /// fails does not hold back the others; returns the failures by index.
    pub async fn send_many(&self, messages: &[(&[u8], IpAddr, IpAddr)]) -> Vec<(usize, io::Error)> {
        let mut failed = Vec::new();
        let mut index = Vec::with_capacity(messages.len());
        let mut outs = Vec::with_capacity(messages.len());
        for (i, (_, src, dst)) in messages.iter().enumerate() {
            match self.check_pair(*src, *dst) {
                Ok(()) => {
                    index.push(i);
                    outs.push(OutMsg::new(*src, *dst, self.ifindex));
                }
                Err(e) => failed.push((i, self.send_error(messages[i], e))),
            }
        }
        let payloads: Vec<&[u8]> = index.iter().map(|&i| messages[i].0).collect();
        let mut done = 0;
        while done < index.len() {
            let mut guard = match self.fd.writable().await {
                Ok(g) => g,
                Err(e) => {
                    let e = self.send_error(messages[index[done]], e);
                    failed.push((index[done], e));
                    done += 1;
                    continue;
                }
            };
            match guard
                .try_io(|fd| msg::send_many(fd.get_ref(), &payloads[done..], &mut outs[done..]))
            {
                Ok(Ok(n)) if n > 0 => done += n,
                // sendmmsg reports the error of the first message it could not
                // send (at once if it is the first): skip that one, go on.
                Ok(result) => {
                    let e = result
                        .err()
                        .unwrap_or_else(|| io::ErrorKind::WriteZero.into());
                    let e = self.send_error(messages[index[done]], e);
                    failed.push((index[done], e));
                    done += 1;
                }
                Err(_would_block) => continue,
            }
        }
        failed
    }

    /// `e` from sending `message`, with what was being sent.
    fn send_error(&self, message: (&[u8], IpAddr, IpAddr), e: io::Error) -> io::Error {
        let (_, src, dst) = message;
        with_context(
            || {
                format!(
                    "sending a VRRP advert on {} from {src} to {dst}",
                    self.ifname
                )
            },
            hint_source(e, src),
        )
    }

    /// Source and destination must both be of the socket's family.
    fn check_pair(&self, src: IpAddr, dst: IpAddr) -> io::Result<()> {
        if Family::of(&src) != self.family || Family::of(&dst) != self.family {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the socket is {}", self.family),
            ));
        }
        Ok(())
    }
}

/// `IPV6_MULTICAST_ALL` (linux/in6.h), missing from the `libc` crate for
/// glibc targets: 0 = deliver only the groups this socket joined.
const IPV6_MULTICAST_ALL: libc::c_int = 29;

/// An `ip_mreqn` selecting the interface by index.
fn ip_mreqn(group: Ipv4Addr, ifindex: u32) -> libc::ip_mreqn {
    libc::ip_mreqn {
        imr_multiaddr: sys::in_addr(group),
        imr_address: sys::in_addr(Ipv4Addr::UNSPECIFIED),
        imr_ifindex: ifindex as libc::c_int,
    }
}

/// The kernel answers a source address that is not one of ours with
/// EADDRNOTAVAIL, EINVAL or ENETUNREACH depending on the family and route;
/// say what to check.
fn hint_source(e: io::Error, src: IpAddr) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL | libc::EINVAL | libc::ENETUNREACH) => io::Error::new(
            e.kind(),
            format!("{e}; is {src} an address of this host, with a route to the destination?"),
        ),
        _ => e,
    }
}

/// A source address must be a unicast address.
fn check_source(ifname: &str, source: IpAddr) -> Result<(), NetError> {
    let bad = match source {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
    };
    if bad {
        return Err(NetError::Invalid(format!(
            "{source} cannot be the source of VRRP adverts on {ifname}: not a unicast address"
        )));
    }
    Ok(())
}

/// The fields of the IPv4 header an IPv4 raw socket delivers that the
/// receive path needs, read with every length checked.
struct Ipv4Framing {
    header_len: usize,
    ttl: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

impl Ipv4Framing {
    fn parse(bytes: &[u8]) -> Option<Ipv4Framing> {
        let first = *bytes.first()?;
        let header_len = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || header_len < 20 || bytes.len() < header_len {
            return None;
        }
        let addr =
            |at: usize| Ipv4Addr::new(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
        Some(Ipv4Framing {
            header_len,
            ttl: bytes[8],
            src: addr(12),
            dst: addr(16),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_framing_reads_a_keepalived_header() {
        let hdr = [
            0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xf6, 0x7a, 0xc6, 0x12,
            0x1e, 0x01, 0xe0, 0x00, 0x00, 0x12,
        ];
        let f = Ipv4Framing::parse(&hdr).unwrap();
        assert_eq!(f.header_len, 20);
        assert_eq!(f.ttl, 255);
        assert_eq!(f.src, Ipv4Addr::new(198, 18, 30, 1));
        assert_eq!(f.dst, Ipv4Addr::new(224, 0, 0, 18));
    }

    #[test]
    fn ipv4_framing_refuses_nonsense() {
        assert!(Ipv4Framing::parse(&[]).is_none());
        assert!(Ipv4Framing::parse(&[0x45; 19]).is_none());
        assert!(Ipv4Framing::parse(&[0x65; 40]).is_none());
        assert!(Ipv4Framing::parse(&[0x44; 40]).is_none());
        assert!(Ipv4Framing::parse(&[0x4f; 40]).is_none());
    }

    #[test]
    fn source_must_be_unicast() {
        assert!(check_source("eth0", "224.0.0.18".parse().unwrap()).is_err());
        assert!(check_source("eth0", "0.0.0.0".parse().unwrap()).is_err());
        assert!(check_source("eth0", "ff02::12".parse().unwrap()).is_err());
        assert!(check_source("eth0", "fe80::1".parse().unwrap()).is_ok());
    }
}
