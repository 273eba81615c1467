//! The per-instance checks on a decoded advert before it reaches the state
//! machine (the codec already checked TTL, length, version, type and checksum).

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::{
    config,
    demux::RxAdvert,
    vrrp::{Input, Version},
    wire::Auth,
};

/// Why an advert for our VRID was dropped here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// A v2 advert to a v3 instance or the reverse.
    VersionMismatch,
    /// Authentication type or password differs (RFC 3768 §7.1 / RFC 2338 §7.1:
    /// "MUST discard"). keepalived logs this as "invalid password".
    AuthMismatch,
}

impl Drop {
    /// Counter name in the status file.
    pub const fn counter(self) -> &'static str {
        match self {
            Drop::VersionMismatch => "rx_version_mismatch",
            Drop::AuthMismatch => "rx_auth_mismatch",
        }
    }
}

/// The checks, with what they compare against.
#[derive(Debug)]
pub struct RxCheck {
    version: Version,
    auth: Auth,
    vips: BTreeSet<IpAddr>,
}

impl RxCheck {
    /// The checks for instance `cfg`.
    pub fn new(cfg: &config::Instance, version: Version) -> RxCheck {
        RxCheck {
            version,
            auth: wire_auth(cfg, version),
            vips: cfg.vips.iter().map(|v| v.addr).collect(),
        }
    }

    /// The state machine input for `rx`, or why it is dropped. The second value
    /// says the address list differs from ours: logged and counted, not dropped
    /// (RFC 9568 §7.1 makes the check optional; keepalived 2.3.3 stopped dropping).
    pub fn check(&self, rx: &RxAdvert) -> Result<(Input, bool), Drop> {
        let a = &rx.advert;
        if a.version != self.version {
            return Err(Drop::VersionMismatch);
        }
        if self.version == Version::V2 && a.auth != self.auth {
            return Err(Drop::AuthMismatch);
        }
        let differs = a.addresses.len() != self.vips.len()
            || a.addresses.iter().any(|x| !self.vips.contains(x));
        Ok((
            Input::AdvertReceived {
                src: rx.src,
                priority: a.priority,
                advert_int_cs: a.advert_int_cs,
            },
            differs,
        ))
    }

    /// The authentication our adverts carry.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }
}

/// Configured authentication as the codec carries it (v2 only; v3 has none).
fn wire_auth(cfg: &config::Instance, version: Version) -> Auth {
    match (&cfg.auth, version) {
        (config::Auth::Pass { .. }, Version::V2) => Auth::Password(cfg.auth.wire_data()),
        _ => Auth::None,
    }
}
