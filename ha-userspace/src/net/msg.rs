//! `sendmsg`/`sendmmsg`/`recvmsg` with the ancillary data VRRP needs:
//! `IP_PKTINFO` / `IPV6_PKTINFO` to choose the source address and interface of
//! an advert, and `IPV6_PKTINFO` / `IPV6_HOPLIMIT` to learn the destination and
//! hop limit of a received IPv6 one (an IPv6 raw socket does not deliver the
//! IP header, RFC 3542 §4).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;

use super::sys::{in_addr, in6_addr};

/// Room for the control messages of one datagram, aligned for `cmsghdr`.
/// 128 bytes hold `IP_PKTINFO` (28), or `IPV6_PKTINFO` (36) + `IPV6_HOPLIMIT` (20).
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub(crate) struct ControlBuf([u8; 128]);

impl ControlBuf {
    pub(crate) const fn new() -> ControlBuf {
        ControlBuf([0; 128])
    }
}

/// Everything `sendmsg` needs for one datagram except the payload: the
/// destination and the packet-info control message naming source and interface.
pub(crate) struct OutMsg {
    name: libc::sockaddr_storage,
    name_len: libc::socklen_t,
    control: ControlBuf,
    control_len: usize,
}

impl OutMsg {
    /// A datagram from `src` to `dst` out of `ifindex`. `src` and `dst` must be
    /// of the same family (the caller checks).
    ///
    /// IPv4: `ipi_spec_dst` sets the source address, `ipi_ifindex` the
    /// interface (ip(7) `IP_PKTINFO`). IPv6: `ipi6_addr` / `ipi6_ifindex`
    /// (RFC 3542 §6.1). A link-local or multicast IPv6 destination also gets the
    /// interface as its scope id.
    pub(crate) fn new(src: IpAddr, dst: IpAddr, ifindex: u32) -> OutMsg {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut name: libc::sockaddr_storage = unsafe { zeroed() };
        let mut control = ControlBuf::new();
        let (name_len, control_len) = match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: in_addr(dst),
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { ptr::write((&mut name as *mut libc::sockaddr_storage).cast(), sin) };
                let info = libc::in_pktinfo {
                    ipi_ifindex: ifindex as libc::c_int,
                    ipi_spec_dst: in_addr(src),
                    ipi_addr: in_addr(Ipv4Addr::UNSPECIFIED),
                };
                let len = write_cmsg(&mut control, libc::IPPROTO_IP, libc::IP_PKTINFO, info);
                (size_of::<libc::sockaddr_in>(), len)
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let scoped = dst.is_multicast() || dst.is_unicast_link_local();
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: 0,
                    sin6_flowinfo: 0,
                    sin6_addr: in6_addr(dst),
                    sin6_scope_id: if scoped { ifindex } else { 0 },
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { ptr::write((&mut name as *mut libc::sockaddr_storage).cast(), sin6) };
                let info = libc::in6_pktinfo {
                    ipi6_addr: in6_addr(src),
                    ipi6_ifindex: ifindex,
                };
                let len = write_cmsg(&mut control, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, info);
                (size_of::<libc::sockaddr_in6>(), len)
            }
            _ => unreachable!("OutMsg::new called with mixed address families"),
        };
        OutMsg {
            name,
            name_len: name_len as libc::socklen_t,
            control,
            control_len,
        }
    }

    /// A `msghdr` pointing at this message and at `iov`. Both must stay in
    /// place until the system call returns.
    fn msghdr(&mut self, iov: &mut libc::iovec) -> libc::msghdr {
        // SAFETY: all-zero is a valid msghdr (null pointers, zero lengths).
        let mut mh: libc::msghdr = unsafe { zeroed() };
        mh.msg_name = (&mut self.name as *mut libc::sockaddr_storage).cast();
        mh.msg_namelen = self.name_len;
        mh.msg_iov = iov;
        mh.msg_iovlen = 1;
        mh.msg_control = self.control.0.as_mut_ptr().cast();
        mh.msg_controllen = self.control_len as _;
        mh
    }
}

/// Writes one control message carrying `value` at the start of `buf` and
/// returns the control length to pass in `msg_controllen`.
fn write_cmsg<T: Copy>(
    buf: &mut ControlBuf,
    level: libc::c_int,
    ty: libc::c_int,
    value: T,
) -> usize {
    // SAFETY: the buffer is aligned for cmsghdr and large enough for one
    // CMSG_SPACE(size_of::<T>()) (T is at most 20 bytes here); the header and
    // data are written through the pointers the CMSG_* macros compute.
    unsafe {
        let space = libc::CMSG_SPACE(size_of::<T>() as u32) as usize;
        debug_assert!(space <= buf.0.len());
        let mut mh: libc::msghdr = zeroed();
        mh.msg_control = buf.0.as_mut_ptr().cast();
        mh.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&mh);
        (*cmsg).cmsg_level = level;
        (*cmsg).cmsg_type = ty;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<T>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<T>(), value);
        space
    }
}

/// `sendmsg(2)` of `payload` as described by `msg`.
pub(crate) fn send(fd: &OwnedFd, payload: &[u8], msg: &mut OutMsg) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mh = msg.msghdr(&mut iov);
    // SAFETY: `mh` points at `iov`, `payload` and `msg`, all alive for the call.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &mh, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// `sendmmsg(2)` of `payloads[i]` as described by `msgs[i]`; returns how many
/// datagrams the kernel took (it may stop early, like `send` on a full buffer).
pub(crate) fn send_many(
    fd: &OwnedFd,
    payloads: &[&[u8]],
    msgs: &mut [OutMsg],
) -> io::Result<usize> {
    debug_assert_eq!(payloads.len(), msgs.len());
    let mut iovs: Vec<libc::iovec> = payloads
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut libc::c_void,
            iov_len: p.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = msgs
        .iter_mut()
        .zip(iovs.iter_mut())
        .map(|(msg, iov)| libc::mmsghdr {
            msg_hdr: msg.msghdr(iov),
            msg_len: 0,
        })
        .collect();
    // SAFETY: every header points into `iovs`, `payloads` and `msgs`, which
    // outlive the call; the count matches the vector.
    let n = unsafe {
        libc::sendmmsg(
            fd.as_raw_fd(),
            headers.as_mut_ptr(),
            headers.len() as libc::c_uint,
            0,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// What `recvmsg` returned besides the payload.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RecvInfo {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (`MSG_TRUNC`).
    pub truncated: bool,
    /// Source address (from `msg_name`).
    pub src: Option<IpAddr>,
    /// Interface and destination from `IP_PKTINFO` / `IPV6_PKTINFO`.
    pub pktinfo: Option<(u32, IpAddr)>,
    /// Hop limit from `IPV6_HOPLIMIT`.
    pub hop_limit: Option<u8>,
}

/// `recvmsg(2)` into `buf`, decoding the source and the control messages.
pub(crate) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<RecvInfo> {
    // SAFETY: all-zero is a valid sockaddr_storage and msghdr.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut control = ControlBuf::new();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut mh: libc::msghdr = unsafe { zeroed() };
    mh.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    mh.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    mh.msg_iov = &mut iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.0.as_mut_ptr().cast();
    mh.msg_controllen = control.0.len() as _;
    // SAFETY: every pointer in `mh` refers to a live buffer of the given size.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut mh, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut info = RecvInfo {
        len: n as usize,
        truncated: mh.msg_flags & libc::MSG_TRUNC != 0,
        src: sockaddr_ip(&name),
        ..RecvInfo::default()
    };
    // SAFETY: the kernel filled `msg_controllen` bytes of `control` with
    // well-formed control messages; CMSG_FIRSTHDR/NXTHDR stay inside them and
    // each payload is read unaligned with the size its type implies.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&mh);
        while !cmsg.is_null() {
            let data = libc::CMSG_DATA(cmsg);
            let data_len = ((*cmsg).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO)
                    if data_len >= size_of::<libc::in_pktinfo>() =>
                {
                    let p: libc::in_pktinfo = ptr::read_unaligned(data.cast());
                    let dst = Ipv4Addr::from(p.ipi_addr.s_addr.to_ne_bytes());
                    info.pktinfo = Some((p.ipi_ifindex as u32, IpAddr::V4(dst)));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if data_len >= size_of::<libc::in6_pktinfo>() =>
                {
                    let p: libc::in6_pktinfo = ptr::read_unaligned(data.cast());
                    let dst = Ipv6Addr::from(p.ipi6_addr.s6_addr);
                    info.pktinfo = Some((p.ipi6_ifindex, IpAddr::V6(dst)));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                    if data_len >= size_of::<libc::c_int>() =>
                {
                    let hops: libc::c_int = ptr::read_unaligned(data.cast());
                    info.hop_limit = u8::try_from(hops).ok();
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&mh, cmsg);
        }
    }
    Ok(info)
}

/// The IP address in a `sockaddr_storage` the kernel filled.
fn sockaddr_ip(name: &libc::sockaddr_storage) -> Option<IpAddr> {
    match name.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { ptr::read((name as *const libc::sockaddr_storage).cast()) };
            Some(IpAddr::V4(Ipv4Addr::from(
                sin.sin_addr.s_addr.to_ne_bytes(),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { ptr::read((name as *const libc::sockaddr_storage).cast()) };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}
