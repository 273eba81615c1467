//! ICMP / ICMPv6 echo over raw sockets, run on a thread inside a namespace.
//!
//! In-process instead of `ping(8)`: no extra package, no output parsing, and
//! a per-probe result (which probes went unanswered, and for how long) that
//! failover tests need to measure an outage.

use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::probe::PingReport;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const IPPROTO_ICMP: u8 = 1;
/// Payload after the 8-byte echo header, so replies are recognisable in captures.
const PAYLOAD: &[u8; 8] = b"hatest\0\0";

/// How long replies are awaited after the last request, at least.
pub(crate) const LINGER: Duration = Duration::from_millis(500);

/// A distinct echo identifier per call: raw sockets see every echo reply in
/// the namespace, so concurrent pings tell theirs apart by identifier.
fn next_ident() -> u16 {
    static SEQ: AtomicU16 = AtomicU16::new(0);
    (std::process::id() as u16)
        .wrapping_mul(251)
        .wrapping_add(SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Sends `count` echo requests to `target`, one every `interval`, and
/// collects replies until `max(interval, LINGER)` after the last request or
/// until all are answered. Must run inside the source namespace.
pub(crate) fn ping(
    target: IpAddr,
    scope_id: u32,
    count: u16,
    interval: Duration,
) -> Result<PingReport> {
    let (socket, dest) = match target {
        IpAddr::V4(a) => (
            Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)),
            SockAddr::from(SocketAddrV4::new(a, 0)),
        ),
        IpAddr::V6(a) => (
            Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)),
            SockAddr::from(SocketAddrV6::new(a, 0, 0, scope_id)),
        ),
    };
    let socket = socket.context("opening a raw ICMP socket (needs CAP_NET_RAW)")?;
    let mut state = Exchange {
        socket,
        target,
        ident: next_ident(),
        sent_at: vec![None; usize::from(count)],
        rtts: vec![None; usize::from(count)],
        duplicates: 0,
    };
    let start = Instant::now();
    for seq in 0..count {
        state.receive_until(start + interval * u32::from(seq), false);
        let request = echo_request(target.is_ipv4(), state.ident, seq);
        state.sent_at[usize::from(seq)] = Some(Instant::now());
        // A failed send (e.g. EHOSTUNREACH after failed neighbour
        // resolution) is a lost probe, not an error of the harness.
        let _ = state.socket.send_to(&request, &dest);
    }
    state.receive_until(Instant::now() + interval.max(LINGER), true);
    Ok(PingReport {
        target,
        interval,
        rtts: state.rtts,
        duplicates: state.duplicates,
    })
}

struct Exchange {
    socket: Socket,
    target: IpAddr,
    ident: u16,
    sent_at: Vec<Option<Instant>>,
    rtts: Vec<Option<Duration>>,
    duplicates: u32,
}

impl Exchange {
    /// Records replies until `deadline` (or, with `stop_when_done`, until
    /// every probe is answered). Bounded by `deadline` alone.
    fn receive_until(&mut self, deadline: Instant, stop_when_done: bool) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
        loop {
            if stop_when_done && self.rtts.iter().all(Option::is_some) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            if self.socket.set_read_timeout(Some(wait)).is_err() {
                return;
            }
            // Timeouts and asynchronous ICMP errors just end this read; the
            // deadline check above ends the loop.
            let Ok((len, from)) = self.socket.recv_from(&mut buf) else {
                continue;
            };
            if from.as_socket().map(|s| s.ip()) != Some(self.target) {
                continue;
            }
            // SAFETY: recv_from initialised the first `len` bytes.
            let packet = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
            if let Some(seq) = parse_reply(self.target.is_ipv4(), packet, self.ident) {
                self.record(seq);
            }
        }
    }

    fn record(&mut self, seq: u16) {
        let i = usize::from(seq);
        let Some(Some(sent)) = self.sent_at.get(i) else {
            return;
        };
        if self.rtts[i].is_some() {
            self.duplicates += 1;
        } else {
            self.rtts[i] = Some(sent.elapsed());
        }
    }
}

/// An echo request. ICMPv6 checksums are filled in by the kernel on raw
/// ICMPv6 sockets; ICMPv4 ones are ours to compute.
fn echo_request(v4: bool, ident: u16, seq: u16) -> Vec<u8> {
    let kind = if v4 { ECHO_REQUEST_V4 } else { ECHO_REQUEST_V6 };
    let mut p = vec![kind, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if v4 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The sequence number of an echo reply with our identifier, else `None`.
/// IPv4 raw sockets deliver the IP header too; IPv6 ones deliver ICMPv6 only.
fn parse_reply(v4: bool, packet: &[u8], ident: u16) -> Option<u16> {
    let icmp = if v4 {
        let first = *packet.first()?;
        let header_len = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || header_len < 20 || *packet.get(9)? != IPPROTO_ICMP {
            return None;
        }
        packet.get(header_len..)?
    } else {
        packet
    };
    let reply = if v4 { ECHO_REPLY_V4 } else { ECHO_REPLY_V6 };
    if icmp.len() < 8 || icmp[0] != reply || icmp[1] != 0 {
        return None;
    }
    if u16::from_be_bytes([icmp[4], icmp[5]]) != ident {
        return None;
    }
    Some(u16::from_be_bytes([icmp[6], icmp[7]]))
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_request_checksums_to_zero() {
        let p = echo_request(true, 0x1234, 7);
        assert_eq!(checksum(&p), 0);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
    }

    #[test]
    fn parses_only_our_replies() {
        let mut icmp = echo_request(false, 42, 9);
        assert_eq!(
            parse_reply(false, &icmp, 42),
            None,
            "a request is not a reply"
        );
        icmp[0] = ECHO_REPLY_V6;
        assert_eq!(parse_reply(false, &icmp, 42), Some(9));
        assert_eq!(parse_reply(false, &icmp, 43), None);
        let mut v4 = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, IPPROTO_ICMP];
        v4.resize(20, 0);
        let mut reply = echo_request(true, 42, 3);
        reply[0] = ECHO_REPLY_V4;
        v4.extend_from_slice(&reply);
        assert_eq!(parse_reply(true, &v4, 42), Some(3));
        assert_eq!(parse_reply(true, &v4[..24], 42), None, "truncated");
    }
}
