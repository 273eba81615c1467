//! A blocking NETLINK_ROUTE socket for the one request on a takeover's
//! critical path: adding a new master's VIPs.
//!
//! The shared rtnetlink connection ([`super::Netlink`]) carries requests
//! through a task: the request waits for that task to be scheduled, and the
//! reply for the instance to be scheduled again, behind whatever else the
//! daemon's single thread has queued (0.1–0.5 ms measured on a takeover,
//! against ~50 µs for the kernel's work). Like keepalived, this sends the
//! request and reads the acknowledgement in place: the kernel handles a
//! NETLINK_ROUTE request inside `sendmsg` (waiting there for RTNL if another
//! task holds it, as the asynchronous path did too) and has queued the
//! acknowledgement by the time `recv` runs.

use std::{io, os::fd::AsRawFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// How long to wait for an acknowledgement, in seconds.
const REPLY_TIMEOUT_S: libc::time_t = 1;
/// Room for an acknowledgement (an error reply quotes the request).
const RECV_BUF: usize = 16 * 1024;

/// A connected, blocking NETLINK_ROUTE socket and its sequence numbers.
#[derive(Debug)]
pub(crate) struct SyncRoute {
    socket: Socket,
    seq: u32,
}

impl SyncRoute {
    /// Opens the socket in the calling thread's network namespace.
    pub(crate) fn new() -> io::Result<SyncRoute> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // A safety net: the acknowledgement is queued before `send` returns.
        let timeout = libc::timeval {
            tv_sec: REPLY_TIMEOUT_S,
            tv_usec: 0,
        };
        // SAFETY: a valid socket and a timeval of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SyncRoute { socket, seq: 0 })
    }

    /// Sends `msg` as a create-or-replace request and waits for the kernel's
    /// acknowledgement; a refusal comes back as its errno.
    pub(crate) fn create_or_replace(&mut self, msg: RouteNetlinkMessage) -> io::Result<()> {
        self.request(msg, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Sends `msg` with `flags` (besides request and ack) and waits for the
    /// kernel's acknowledgement; a refusal comes back as its errno. Routes
    /// and rules go through here too: they are few and off the hot path,
    /// and a synchronous answer keeps their order with the VIPs'.
    pub(crate) fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.seq;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        request.finalize();
        let mut buf = vec![0; request.buffer_len()];
        request.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        // Bounded: the kernel answers a request with one acknowledgement; a
        // reply to an earlier request that timed out may come first.
        for _ in 0..16 {
            let mut data = Vec::with_capacity(RECV_BUF);
            match self.socket.recv(&mut data, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let mut offset = 0;
            while offset < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = reply.header.length as usize;
                if reply.header.sequence_number == self.seq
                    && let NetlinkPayload::Error(e) = reply.payload
                {
                    return match e.code {
                        None => Ok(()),
                        Some(code) => Err(io::Error::from_raw_os_error(code.get().abs())),
                    };
                }
                // Messages in a datagram are 4-byte aligned (NLMSG_ALIGN).
                offset += (len + 3) & !3;
            }
        }
        Err(io::Error::other(
            "no acknowledgement from the kernel for a netlink request",
        ))
    }
}
