//! keepalived's `HTTP_GET` / `SSL_GET`: one GET of a URL, good when the
//! status is one of those listed (any 2xx when none are) and, if a digest
//! is given, the MD5 of the body matches it.
//!
//! One [`ureq::Agent`] serves every check (its connection pool and TLS
//! roots are shared); each request carries its own timeout and, for
//! `insecure`, a TLS config that skips certificate verification (keepalived
//! never verifies). Redirects are not followed and no proxy from the
//! environment is used: the check is about the server named. ureq blocks,
//! so the request runs on tokio's blocking pool.

use std::{
    io::Read,
    sync::{Arc, OnceLock},
    time::Duration,
};

use md5::{Digest, Md5};

/// The most body read for a digest; a longer body fails the check.
const BODY_LIMIT: u64 = 16 << 20;

/// The agent all checks share.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .proxy(None)
                .user_agent("ha-health-check")
                .build(),
        )
    })
}

/// GETs `url` within `timeout`: `Err` names why the check failed.
pub async fn get(
    url: &str,
    status: &[u16],
    digest: Option<&str>,
    insecure: bool,
    timeout: Duration,
) -> Result<(), String> {
    let url: Arc<str> = url.into();
    let status = status.to_vec();
    let digest = digest.map(str::to_ascii_lowercase);
    let job = tokio::task::spawn_blocking(move || {
        blocking_get(&url, &status, digest.as_deref(), insecure, timeout)
    });
    // The request has its own global timeout; this one only guards against
    // a pool that cannot start it.
    match tokio::time::timeout(timeout + Duration::from_secs(1), job).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("request task failed: {e}")),
        Err(_) => Err(format!("timed out after {timeout:?}")),
    }
}

fn blocking_get(
    url: &str,
    status: &[u16],
    digest: Option<&str>,
    insecure: bool,
    timeout: Duration,
) -> Result<(), String> {
    let mut request = agent().get(url).config().timeout_global(Some(timeout));
    if insecure {
        request = request.tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build(),
        );
    }
    let mut response = request.build().call().map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("timed out after {timeout:?}"),
        e => e.to_string(),
    })?;
    let code = response.status().as_u16();
    let good = if status.is_empty() {
        (200..300).contains(&code)
    } else {
        status.contains(&code)
    };
    if !good {
        return Err(format!("HTTP status {code}"));
    }
    let Some(want) = digest else {
        return Ok(());
    };
    let mut hasher = Md5::new();
    let mut reader = response.body_mut().with_config().limit(BODY_LIMIT).reader();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => return Err(format!("reading the body: {e}")),
        }
    }
    let got = hex(&hasher.finalize());
    if got == want {
        Ok(())
    } else {
        Err(format!("digest {got} does not match {want}"))
    }
}

/// Lowercase hex, as keepalived's `genhash` prints digests.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn md5_hex_of_a_known_string() {
        use md5::{Digest, Md5};
        assert_eq!(
            super::hex(&Md5::digest(b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
