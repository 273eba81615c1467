//! What a web client sees: one bounded HTTP/1.0 GET from a host's namespace,
//! with nothing but `std`'s TCP socket (no curl process per probe, so a test
//! can poll a VIP every few milliseconds).
//!
//! Like the other probes, an unanswered request is a result, not an error:
//! "connection refused" (nobody listens: the service is down or the VIP is on
//! a node without it) and "no answer" (nobody holds the address, or the
//! server hangs) are what failover tests look at.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::host::Host;
use crate::netns::in_netns;

/// Longest timeout one [`Host::http_get`] may be given.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response kept; the rest is not read.
const MAX_RESPONSE: u64 = 1 << 20;

/// Outcome of [`Host::http_get`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpGet {
    /// A response came: its status code and body (lossy UTF-8).
    Served {
        /// E.g. 200.
        status: u16,
        /// The body as sent.
        body: String,
    },
    /// The connection was refused (RST): the address is held, nothing listens.
    Refused,
    /// No connection (nobody answered ARP/ND or the SYN) or no complete
    /// response within the timeout.
    NoAnswer,
    /// Anything else: reset mid-response, unreachable, garbled reply.
    Broken(String),
}

impl HttpGet {
    /// The body of a `200` response.
    pub fn body(&self) -> Option<&str> {
        match self {
            HttpGet::Served { status: 200, body } => Some(body),
            _ => None,
        }
    }

    /// A response came, whatever its status.
    pub fn is_served(&self) -> bool {
        matches!(self, HttpGet::Served { .. })
    }
}

impl Host {
    /// GETs `url` (`http://IP[:PORT]/PATH`, IPv6 in brackets; no names) from
    /// this namespace, everything (connect, send, read) within `timeout`
    /// (at most [`MAX_HTTP_TIMEOUT`]). Errors only for a bad URL or timeout,
    /// or a namespace that cannot be entered.
    pub fn http_get(&self, url: &str, timeout: Duration) -> Result<HttpGet> {
        if timeout.is_zero() || timeout > MAX_HTTP_TIMEOUT {
            bail!("HTTP timeout must be in (0, {MAX_HTTP_TIMEOUT:?}], got {timeout:?}");
        }
        let (addr, path) = parse_url(url)?;
        in_netns(&self.ns, || Ok(get(addr, &path, timeout)))
            .with_context(|| format!("{}: GET {url}", self.ns))
    }
}

/// `http://198.18.7.100:8080/x` → (198.18.7.100:8080, "/x").
fn parse_url(url: &str) -> Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if let Ok(sa) = authority.parse::<SocketAddr>() {
        sa
    } else {
        let host = authority.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = host
            .parse()
            .with_context(|| format!("{url}: the host must be an IP address"))?;
        SocketAddr::new(ip, 80)
    };
    Ok((addr, path.to_owned()))
}

fn get(addr: SocketAddr, path: &str, timeout: Duration) -> HttpGet {
    let deadline = Instant::now() + timeout;
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return HttpGet::Refused,
        // EHOSTUNREACH: ARP/ND for the address failed (after ~3 s): nobody holds it.
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::HostUnreachable) => {
            return HttpGet::NoAnswer;
        }
        Err(e) => return HttpGet::Broken(format!("connect: {e}")),
    };
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: hatest\r\nConnection: close\r\n\r\n",
        host_header(addr)
    );
    let mut response = Vec::new();
    let io = (|| -> std::io::Result<()> {
        stream.set_write_timeout(Some(remaining(deadline)?))?;
        stream.write_all(request.as_bytes())?;
        let mut limited = (&stream).take(MAX_RESPONSE);
        let mut chunk = [0u8; 8192];
        loop {
            stream.set_read_timeout(Some(remaining(deadline)?))?;
            match limited.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => response.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })();
    match io {
        Ok(()) => parse_response(&response),
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            HttpGet::NoAnswer
        }
        Err(e) => HttpGet::Broken(format!("exchange: {e}")),
    }
}

fn remaining(deadline: Instant) -> std::io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ErrorKind::TimedOut.into());
    }
    Ok(left)
}

fn host_header(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V6(a) => format!("[{a}]:{}", addr.port()),
        IpAddr::V4(a) => format!("{a}:{}", addr.port()),
    }
}

/// `HTTP/1.1 200 OK\r\n…\r\n\r\nbody`
fn parse_response(bytes: &[u8]) -> HttpGet {
    let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return HttpGet::Broken(format!("no header end in {} bytes", bytes.len()));
    };
    let head = String::from_utf8_lossy(&bytes[..split]);
    let status_line = head.lines().next().unwrap_or("");
    let mut words = status_line.split_whitespace();
    let status = match (words.next(), words.next().and_then(|s| s.parse().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => code,
        _ => return HttpGet::Broken(format!("bad status line {status_line:?}")),
    };
    HttpGet::Served {
        status,
        body: String::from_utf8_lossy(&bytes[split + 4..]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let (a, p) = parse_url("http://198.18.7.100:8080/x/y").unwrap();
        assert_eq!(
            (a.to_string().as_str(), p.as_str()),
            ("198.18.7.100:8080", "/x/y")
        );
        let (a, p) = parse_url("http://198.18.7.100").unwrap();
        assert_eq!((a.port(), p.as_str()), (80, "/"));
        let (a, _) = parse_url("http://[2001:2:0:7::1]:81/").unwrap();
        assert_eq!(a.to_string(), "[2001:2:0:7::1]:81");
        let (a, _) = parse_url("http://[2001:2::1]/").unwrap();
        assert_eq!(a.port(), 80);
        assert!(parse_url("https://198.18.0.1/").is_err());
        assert!(parse_url("http://example.com/").is_err());
    }

    #[test]
    fn responses() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\nnode n1\n"),
            HttpGet::Served {
                status: 200,
                body: "node n1\n".into()
            }
        );
        assert!(matches!(
            parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            HttpGet::Served { status: 404, .. }
        ));
        assert!(matches!(parse_response(b"garbage"), HttpGet::Broken(_)));
        assert!(matches!(
            parse_response(b"SSH-2.0\r\n\r\n"),
            HttpGet::Broken(_)
        ));
    }
}
