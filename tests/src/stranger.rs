//! A stranger on the LAN that speaks VRRP: raw IPPROTO_VRRP datagrams sent
//! from a test host, for tests of what the daemons do with adverts they
//! should not trust.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, Socket, Type};

use crate::{Host, in_netns};

/// VRRP's IP protocol number.
const IPPROTO_VRRP: i32 = 112;

/// At most this many datagrams per call, whatever the duration.
const MAX_SENT: usize = 100_000;

/// Sends the VRRP messages `payloads` (without IP header), one after the other
/// and round again, from `src` (an address of `host`) to `dst` with TTL 255,
/// `gap` apart (none: as fast as the socket takes them), for `duration` or
/// [`MAX_SENT`] datagrams. Returns how many went out.
pub fn send_vrrp(
    host: &Host,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payloads: &[Vec<u8>],
    gap: Option<Duration>,
    duration: Duration,
) -> Result<usize> {
    in_netns(&host.ns, || {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        socket.bind(&SocketAddr::from((src, 0)).into())?;
        if dst.is_multicast() {
            socket.set_multicast_ttl_v4(255)?;
            socket.set_multicast_if_v4(&src)?;
        } else {
            socket.set_ttl_v4(255)?;
        }
        let to = SocketAddr::from((dst, 0)).into();
        let end = Instant::now() + duration;
        let mut sent = 0;
        while Instant::now() < end && sent < MAX_SENT && !payloads.is_empty() {
            let payload = &payloads[sent % payloads.len()];
            socket
                .send_to(payload, &to)
                .context("sending a spoofed advert")?;
            sent += 1;
            if let Some(gap) = gap {
                std::thread::sleep(gap);
            }
        }
        Ok(sent)
    })
}
