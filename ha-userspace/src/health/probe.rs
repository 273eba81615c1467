//! One attempt of a [`Probe`]: run the script, open the TCP connection or
//! fetch the URL, within a timeout. The result is `Ok` or the reason it
//! failed, short enough for a log line ("connection refused", "exit 1",
//! "HTTP status 503").

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpSocket;

use super::http;
use crate::{config::model::Probe, exec};

/// Why an attempt failed, and for a script the tail of its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A short reason.
    pub reason: String,
    /// A script's output (empty for built-in probes).
    pub output: String,
    /// The program could not be started at all (missing, not executable,
    /// unknown user): logged once rather than at every run.
    pub not_started: bool,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            output: String::new(),
            not_started: false,
        }
    }
}

/// keepalived's name of the probe kind, for logs.
pub fn kind(probe: &Probe) -> &'static str {
    match probe {
        Probe::Script(_) => "MISC_CHECK",
        Probe::Tcp { .. } => "TCP_CHECK",
        Probe::Http { url, .. } if url.starts_with("https:") => "SSL_GET",
        Probe::Http { .. } => "HTTP_GET",
    }
}

/// Runs one attempt of `probe`, failing after `timeout`.
pub async fn attempt(
    probe: &Probe,
    timeout: Duration,
    runner: &exec::Runner,
) -> Result<(), Failure> {
    match probe {
        Probe::Script(cmd) => match runner.run(cmd, &[], timeout).await {
            Ok(run) if run.outcome.success() => Ok(()),
            Ok(run) => Err(Failure {
                reason: match run.outcome {
                    exec::Outcome::Exited(c) => format!("exit status {c}"),
                    exec::Outcome::Signalled(s) => format!("killed by signal {s}"),
                    exec::Outcome::TimedOut => format!("timed out after {timeout:?}"),
                },
                output: run.output,
                not_started: false,
            }),
            Err(e) => Err(Failure {
                reason: e.to_string(),
                output: String::new(),
                not_started: true,
            }),
        },
        Probe::Tcp { addr, port, bind } => tcp(SocketAddr::new(*addr, *port), *bind, timeout).await,
        Probe::Http {
            url,
            status,
            digest,
            insecure,
        } => http::get(url, status, digest.as_deref(), *insecure, timeout)
            .await
            .map_err(Failure::new),
    }
}

/// keepalived's TCP_CHECK: the connection opens within the timeout, then
/// is closed.
async fn tcp(
    to: SocketAddr,
    bind: Option<std::net::IpAddr>,
    timeout: Duration,
) -> Result<(), Failure> {
    let socket = if to.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| Failure::new(format!("socket: {e}")))?;
    if let Some(ip) = bind {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| Failure::new(format!("bind {ip}: {e}")))?;
    }
    match tokio::time::timeout(timeout, socket.connect(to)).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) => Err(Failure::new(io_reason(&e))),
        Err(_) => Err(Failure::new(format!("connect timed out after {timeout:?}"))),
    }
}

/// "connection refused" rather than "Connection refused (os error 111)".
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s);
    s.to_lowercase()
}
