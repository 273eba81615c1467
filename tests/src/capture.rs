//! What crosses a host's wire, with kernel timestamps: an `AF_PACKET` capture
//! on one host's interface, and decoders for the frames a failover test cares
//! about (ARP, VRRP adverts, ICMP echo, Neighbor Advertisements).
//!
//! The socket is opened and bound inside the host's namespace, so it sees
//! only that interface; a thread in our own namespace drains it into memory
//! until [`Capture::stop`] (or `Drop`), a time limit, or a frame limit,
//! whichever comes first. Timestamps are the kernel's (`SO_TIMESTAMPNS`,
//! `CLOCK_REALTIME`), so they compare with [`SystemTime::now`] taken around a
//! fault in this process.
//!
//! ```no_run
//! # use std::time::{Duration, SystemTime};
//! # fn main() -> anyhow::Result<()> {
//! # let topo = hatest::Topology::builder().build()?;
//! # let vip = topo.subnet().vip4(0);
//! let cap = hatest::Capture::start(topo.client(), Duration::from_secs(10))?;
//! let fault = SystemTime::now();
//! // … kill the master …
//! let frames = cap.stop()?;
//! let garp = frames.iter().find(|f| {
//!     f.ts >= fault && f.arp().is_some_and(|a| a.is_gratuitous() && a.sender_ip == vip)
//! });
//! # Ok(()) }
//! ```

use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};

use crate::addr::Mac;
use crate::host::Host;
use crate::netns::in_netns;

/// Longest a capture may run, whatever the caller asks.
pub const MAX_CAPTURE: Duration = Duration::from_secs(120);
/// Most frames one capture keeps; later frames are counted, not stored.
pub const MAX_FRAMES: usize = 200_000;
/// Bytes kept of each frame: Ethernet + IPv4 + VRRP or ICMP headers fit.
pub const SNAPLEN: usize = 128;

/// How often the reader checks for [`Capture::stop`].
const POLL: Duration = Duration::from_millis(20);
/// Receive buffer asked for (as root, `SO_RCVBUFFORCE`): room for bursts
/// while the reader thread is not scheduled (this VM stalls a vCPU at times).
const RCVBUF: libc::c_int = 8 << 20;
/// `<asm-generic/socket.h>` (x86, arm): kernel receive timestamps as `timespec`.
const SO_TIMESTAMPNS: libc::c_int = 35;
/// `<linux/if_packet.h>`: a frame this host sent.
const PACKET_OUTGOING: u8 = 4;
const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4).
const ND_NEIGHBOR_ADVERT: u8 = 136;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_VRRP: u8 = 112;

/// One captured frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// When the kernel handed the frame to the capture (received, or sent
    /// for [`outgoing`](Self::outgoing) frames).
    pub ts: SystemTime,
    /// Sent by this host rather than received.
    pub outgoing: bool,
    /// Length on the wire.
    pub len: usize,
    /// The first [`SNAPLEN`] bytes, from the Ethernet header on.
    pub data: Vec<u8>,
}

/// An ARP packet (Ethernet / IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware address.
    pub sender_mac: Mac,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: Mac,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// A gratuitous ARP (request or reply): sender and target address are the same.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// A VRRP advertisement over IPv4 (v2 or v3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert {
    /// IP source: the sending router's primary address.
    pub src: Ipv4Addr,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Advertised priority (0: the master resigns).
    pub priority: u8,
}

/// An ICMP echo request or reply over IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    /// Reply rather than request.
    pub reply: bool,
    /// IP source.
    pub src: Ipv4Addr,
    /// IP destination.
    pub dst: Ipv4Addr,
    /// Echo identifier.
    pub ident: u16,
    /// Echo sequence number.
    pub seq: u16,
}

impl Frame {
    /// Ethernet destination.
    pub fn dst_mac(&self) -> Option<Mac> {
        mac_at(&self.data, 0)
    }

    /// Ethernet source.
    pub fn src_mac(&self) -> Option<Mac> {
        mac_at(&self.data, 6)
    }

    /// Ethertype (after one 802.1Q tag, if any).
    pub fn ethertype(&self) -> Option<u16> {
        let t = be16(&self.data, 12)?;
        if t == 0x8100 {
            be16(&self.data, 16)
        } else {
            Some(t)
        }
    }

    fn l3(&self) -> Option<&[u8]> {
        let off = if be16(&self.data, 12)? == 0x8100 {
            18
        } else {
            14
        };
        self.data.get(off..)
    }

    /// The ARP packet, if this is one.
    pub fn arp(&self) -> Option<Arp> {
        if self.ethertype()? != ETH_P_ARP {
            return None;
        }
        let a = self.l3()?;
        // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4.
        if be16(a, 0)? != 1 || be16(a, 2)? != ETH_P_IP || a.get(4..6)? != [6, 4] {
            return None;
        }
        Some(Arp {
            op: be16(a, 6)?,
            sender_mac: mac_at(a, 8)?,
            sender_ip: ipv4_at(a, 14)?,
            target_mac: mac_at(a, 18)?,
            target_ip: ipv4_at(a, 24)?,
        })
    }

    /// `(protocol, source, destination, payload)` of an IPv4 packet.
    fn ipv4(&self) -> Option<(u8, Ipv4Addr, Ipv4Addr, &[u8])> {
        if self.ethertype()? != ETH_P_IP {
            return None;
        }
        let ip = self.l3()?;
        let first = *ip.first()?;
        let header_len = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || header_len < 20 {
            return None;
        }
        Some((
            *ip.get(9)?,
            ipv4_at(ip, 12)?,
            ipv4_at(ip, 16)?,
            ip.get(header_len..)?,
        ))
    }

    /// The VRRP advertisement, if this is one (IPv4).
    pub fn vrrp(&self) -> Option<Advert> {
        let (proto, src, _, v) = self.ipv4()?;
        if proto != IPPROTO_VRRP {
            return None;
        }
        Some(Advert {
            src,
            version: *v.first()? >> 4,
            vrid: *v.get(1)?,
            priority: *v.get(2)?,
        })
    }

    /// The target address of an IPv6 Neighbor Advertisement (no extension
    /// headers), if this is one: who answered is [`src_mac`](Self::src_mac).
    pub fn neighbor_advert(&self) -> Option<Ipv6Addr> {
        if self.ethertype()? != ETH_P_IPV6 {
            return None;
        }
        let ip = self.l3()?;
        if *ip.first()? >> 4 != 6 || *ip.get(6)? != IPPROTO_ICMPV6 {
            return None;
        }
        let icmp = ip.get(40..)?;
        if *icmp.first()? != ND_NEIGHBOR_ADVERT {
            return None;
        }
        let target: [u8; 16] = icmp.get(8..24)?.try_into().ok()?;
        Some(Ipv6Addr::from(target))
    }

    /// The ICMP echo request or reply, if this is one (IPv4).
    pub fn echo(&self) -> Option<Echo> {
        let (proto, src, dst, icmp) = self.ipv4()?;
        if proto != IPPROTO_ICMP || *icmp.get(1)? != 0 {
            return None;
        }
        let reply = match icmp.first()? {
            0 => true,
            8 => false,
            _ => return None,
        };
        Some(Echo {
            reply,
            src,
            dst,
            ident: be16(icmp, 4)?,
            seq: be16(icmp, 6)?,
        })
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn mac_at(b: &[u8], at: usize) -> Option<Mac> {
    Some(Mac(b.get(at..at + 6)?.try_into().ok()?))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

/// What the reader thread hands back.
struct Collected {
    frames: Vec<Frame>,
    dropped: u64,
}

/// A running capture on one host's interface; stopped on `Drop`.
pub struct Capture {
    ns: String,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<Result<Collected>>>,
}

impl Capture {
    /// Starts capturing every frame sent or received on `host`'s interface,
    /// for at most `limit` (capped at [`MAX_CAPTURE`]). Frames are queued
    /// from the moment this returns.
    pub fn start(host: &Host, limit: Duration) -> Result<Capture> {
        let ifindex = host.ifindex();
        let fd = in_netns(&host.ns, || open(ifindex))
            .with_context(|| format!("{}: capture on {}", host.ns, host.ifname))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let deadline = Instant::now() + limit.min(MAX_CAPTURE);
        let reader = std::thread::Builder::new()
            .name(format!("capture {}", host.ifname))
            .spawn(move || read_frames(&fd, &flag, deadline))
            .context("starting the capture thread")?;
        Ok(Capture {
            ns: host.ns.clone(),
            stop,
            reader: Some(reader),
        })
    }

    /// Stops capturing and returns the frames in arrival order.
    pub fn stop(mut self) -> Result<Vec<Frame>> {
        Ok(self.finish()?.frames)
    }

    /// [`stop`](Self::stop), also returning how many frames were not kept
    /// ([`MAX_FRAMES`] reached, or the kernel's queue overflowed).
    pub fn stop_counted(mut self) -> Result<(Vec<Frame>, u64)> {
        let collected = self.finish()?;
        Ok((collected.frames, collected.dropped))
    }

    fn finish(&mut self) -> Result<Collected> {
        self.stop.store(true, Ordering::Relaxed);
        let reader = self
            .reader
            .take()
            .ok_or_else(|| anyhow!("capture in {} already stopped", self.ns))?;
        reader
            .join()
            .map_err(|_| anyhow!("capture thread in {} panicked", self.ns))?
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.finish();
        }
    }
}

/// Opens an `AF_PACKET` socket bound to `ifindex` (in the current thread's
/// namespace), with kernel timestamps, a large buffer and a read timeout.
fn open(ifindex: u32) -> Result<OwnedFd> {
    // Protocol 0 receives nothing until bound, so no frame of another
    // interface slips in between socket() and bind().
    // SAFETY: plain syscall; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error()).context("socket(AF_PACKET) (needs CAP_NET_RAW)");
    }
    // SAFETY: `raw` is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    setsockopt(&fd, "SO_TIMESTAMPNS", SO_TIMESTAMPNS, 1)?;
    // Best effort: without root's FORCE the plain limit applies.
    if setsockopt(&fd, "SO_RCVBUFFORCE", libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
        let _ = setsockopt(&fd, "SO_RCVBUF", libc::SO_RCVBUF, RCVBUF);
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL.as_micros() as libc::suseconds_t,
    };
    // SAFETY: valid fd, option value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).context("SO_RCVTIMEO");
    }
    // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_ALL.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: valid fd and a sockaddr_ll of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).context("bind(AF_PACKET)");
    }
    Ok(fd)
}

fn setsockopt(fd: &OwnedFd, name: &str, opt: libc::c_int, value: libc::c_int) -> Result<()> {
    // SAFETY: valid fd, an int option value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error()).with_context(|| format!("setsockopt {name}"));
    }
    Ok(())
}

/// Drains `fd` until `stop`, `deadline` or [`MAX_FRAMES`].
fn read_frames(fd: &OwnedFd, stop: &AtomicBool, deadline: Instant) -> Result<Collected> {
    let mut frames = Vec::new();
    let mut dropped = 0u64;
    let mut buf = [0u8; SNAPLEN];
    // Room for one SCM_TIMESTAMPNS control message (and then some).
    let mut control = [MaybeUninit::<u64>::uninit(); 16];
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        // SAFETY: all-zero is a valid sockaddr_ll and msghdr.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&raw mut from).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control);
        // MSG_TRUNC: return the frame's real length even though we keep SNAPLEN bytes.
        // SAFETY: every pointer in `msg` is valid for the lengths given.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut msg, libc::MSG_TRUNC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => {
                    continue;
                }
                _ => return Err(e).context("recvmsg on the capture socket"),
            }
        }
        if frames.len() >= MAX_FRAMES {
            dropped += 1;
            continue;
        }
        let len = n as usize;
        frames.push(Frame {
            ts: timestamp(&msg).unwrap_or_else(SystemTime::now),
            outgoing: from.sll_pkttype == PACKET_OUTGOING,
            len,
            data: buf[..len.min(SNAPLEN)].to_vec(),
        });
    }
    dropped += queue_drops(fd);
    Ok(Collected { frames, dropped })
}

/// The `SCM_TIMESTAMPNS` of a received message.
fn timestamp(msg: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: `msg` was filled by recvmsg; CMSG_* walk its control buffer.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SO_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

/// Frames the kernel dropped because our queue was full (`PACKET_STATISTICS`).
fn queue_drops(fd: &OwnedFd) -> u64 {
    let mut stats = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: valid fd and an out-buffer of the size passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut stats).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        u64::from(stats.tp_drops)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: Vec<u8>) -> Frame {
        Frame {
            ts: UNIX_EPOCH,
            outgoing: false,
            len: data.len(),
            data,
        }
    }

    fn eth(src: u8, ethertype: u16) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 7, 0, src]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f
    }

    #[test]
    fn gratuitous_arp() {
        let mut f = eth(2, ETH_P_ARP);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&[2, 0, 0, 7, 0, 2, 198, 18, 7, 100]);
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&[198, 18, 7, 100]);
        let f = frame(f);
        let a = f.arp().unwrap();
        assert!(a.is_gratuitous());
        assert_eq!(a.op, 1);
        assert_eq!(a.sender_ip, Ipv4Addr::new(198, 18, 7, 100));
        assert_eq!(f.src_mac(), Some(Mac([2, 0, 0, 7, 0, 2])));
        assert_eq!(f.vrrp(), None);
        assert_eq!(f.echo(), None);
    }

    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = eth(1, ETH_P_IP);
        f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 255, proto, 0, 0]);
        f.extend_from_slice(&[198, 18, 7, 1, 224, 0, 0, 18]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn vrrp_and_echo() {
        let v = frame(ipv4(IPPROTO_VRRP, &[0x31, 51, 0, 1, 0, 10, 0, 0]));
        assert_eq!(
            v.vrrp(),
            Some(Advert {
                src: Ipv4Addr::new(198, 18, 7, 1),
                version: 3,
                vrid: 51,
                priority: 0
            })
        );
        let e = frame(ipv4(IPPROTO_ICMP, &[0, 0, 0, 0, 0x12, 0x34, 0, 9]));
        let echo = e.echo().unwrap();
        assert!(echo.reply);
        assert_eq!((echo.ident, echo.seq), (0x1234, 9));
        assert_eq!(e.arp(), None);
        assert_eq!(frame(vec![1, 2, 3]).echo(), None, "truncated");
    }
}
