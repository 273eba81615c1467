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
    /// The sender is not one of `accept_from` (keepalived's
    /// `check_unicast_src`).
    NotPeer,
    /// Strict mode: the address list differs from ours (RFC 9568 §7.1).
    AddressMismatch,
}

impl Drop {
    /// Counter name in the status file.
    pub const fn counter(self) -> &'static str {
        match self {
            Drop::VersionMismatch => "rx_version_mismatch",
            Drop::AuthMismatch => "rx_auth_mismatch",
            Drop::NotPeer => "rx_not_peer",
            Drop::AddressMismatch => "rx_address_mismatch_dropped",
        }
    }
}

/// The checks, with what they compare against.
#[derive(Debug)]
pub struct RxCheck {
    version: Version,
    auth: Auth,
    vips: BTreeSet<IpAddr>,
    /// Empty: adverts from anyone.
    accept_from: BTreeSet<IpAddr>,
    strict: bool,
    /// keepalived's `skip_check_adv_addr`: address lists are not compared.
    skip_addresses: bool,
}

impl RxCheck {
    /// The checks for instance `cfg`.
    pub fn new(cfg: &config::Instance, version: Version) -> RxCheck {
        RxCheck {
            version,
            auth: wire_auth(cfg, version),
            vips: cfg.vips.iter().map(|v| v.addr).collect(),
            accept_from: cfg.accept_from.iter().copied().collect(),
            strict: cfg.strict && !cfg.skip_check_adv_addr,
            skip_addresses: cfg.skip_check_adv_addr,
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
        if !self.accept_from.is_empty() && !self.accept_from.contains(&rx.src) {
            return Err(Drop::NotPeer);
        }
        // keepalived skips the comparison only for the current master's
        // adverts; ha skips it for all (a list that differs is never
        // dropped without `strict` anyway).
        let differs = !self.skip_addresses
            && (a.addresses.len() != self.vips.len()
                || a.addresses.iter().any(|x| !self.vips.contains(x)));
        if differs && self.strict {
            return Err(Drop::AddressMismatch);
        }
        Ok((
            Input::AdvertReceived {
                src: rx.src,
                priority: a.priority,
                advert_int_cs: a.advert_int_cs,
            },
            differs,
        ))
    }

    /// The senders adverts are accepted from (empty: anyone).
    pub fn accept_from(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.accept_from.iter().copied()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Advert;

    fn rx(src: &str, addresses: &[&str]) -> RxAdvert {
        RxAdvert {
            src: src.parse().unwrap(),
            advert: Advert {
                version: Version::V3,
                vrid: 7,
                priority: 200,
                advert_int_cs: 100,
                addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
                auth: Auth::None,
            },
        }
    }

    fn instance() -> config::Instance {
        let mut i = config::Instance::new("VI_1", 7);
        i.version = 3;
        i.vips = vec!["198.18.0.100/24".parse().unwrap()];
        i
    }

    #[test]
    fn accept_from_drops_strangers_only() {
        let mut cfg = instance();
        cfg.accept_from = vec!["198.18.0.2".parse().unwrap()];
        let check = RxCheck::new(&cfg, Version::V3);
        assert!(check.check(&rx("198.18.0.2", &["198.18.0.100"])).is_ok());
        assert_eq!(
            check.check(&rx("198.18.0.66", &["198.18.0.100"])).err(),
            Some(Drop::NotPeer)
        );
        let open = RxCheck::new(&instance(), Version::V3);
        assert!(open.check(&rx("198.18.0.66", &["198.18.0.100"])).is_ok());
    }

    #[test]
    fn strict_drops_another_address_list_others_count_it() {
        let lax = RxCheck::new(&instance(), Version::V3);
        let (_, differs) = lax.check(&rx("198.18.0.2", &["198.18.0.101"])).unwrap();
        assert!(differs);
        let mut cfg = instance();
        cfg.strict = true;
        let strict = RxCheck::new(&cfg, Version::V3);
        assert_eq!(
            strict.check(&rx("198.18.0.2", &["198.18.0.101"])).err(),
            Some(Drop::AddressMismatch)
        );
        assert!(strict.check(&rx("198.18.0.2", &["198.18.0.100"])).is_ok());
        // skip_check_adv_addr: not compared, not dropped, not counted.
        cfg.skip_check_adv_addr = true;
        let skip = RxCheck::new(&cfg, Version::V3);
        let (_, differs) = skip.check(&rx("198.18.0.2", &["198.18.0.101"])).unwrap();
        assert!(!differs);
    }
}
