//! The receive checks a configuration asks for: keepalived's
//! `check_unicast_src` / `vrrp_check_unicast_src` (adverts only from the
//! unicast peers) and `vrrp_strict` / `strict_mode`, and their native TOML
//! form (`accept_from`, `strict`).

use std::net::IpAddr;

use ha::config::{check_str, to_toml};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const PEERS: &str = "\
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 7
  unicast_src_ip 198.18.0.1
  unicast_peer {
    198.18.0.2
    198.18.0.3
  }
  virtual_ipaddress {
    198.18.0.100/24
  }
  CHECK
}
";

#[test]
fn check_unicast_src_accepts_only_the_unicast_peers() {
    let conf = PEERS.replace("CHECK", "check_unicast_src");
    let loaded = check_str("keepalived.conf", &conf).expect("valid");
    let inst = &loaded.config.instances[0];
    assert_eq!(inst.accept_from, vec![ip("198.18.0.2"), ip("198.18.0.3")]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let global = format!(
        "global_defs {{\n  vrrp_check_unicast_src\n}}\n{}",
        PEERS.replace("CHECK", "")
    );
    let loaded = check_str("keepalived.conf", &global).expect("valid");
    assert_eq!(loaded.config.instances[0].accept_from.len(), 2);

    let off = check_str("keepalived.conf", &PEERS.replace("CHECK", "")).expect("valid");
    assert!(off.config.instances[0].accept_from.is_empty());
}

#[test]
fn check_unicast_src_without_peers_warns_with_its_line() {
    let conf = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 7\n  \
                check_unicast_src\n  virtual_ipaddress {\n    198.18.0.100/24\n  }\n}\n";
    let loaded = check_str("keepalived.conf", conf).expect("valid");
    assert!(loaded.config.instances[0].accept_from.is_empty());
    let w = &loaded.warnings[0];
    assert_eq!(w.line, 4, "{w:?}");
    assert!(w.message.contains("no effect"), "{w:?}");
}

#[test]
fn strict_mode_drops_mismatched_lists_and_stays_quiet_to_lower_priorities() {
    let global = format!(
        "global_defs {{\n  vrrp_strict\n}}\n{}",
        PEERS.replace("CHECK", "")
    );
    let inst = &check_str("keepalived.conf", &global)
        .expect("valid")
        .config
        .instances[0];
    assert!(inst.strict);
    // keepalived: strict mode turns lower_prio_no_advert on by default.
    assert!(!inst.lower_prio_readvert);

    let asked = format!(
        "global_defs {{\n  vrrp_strict\n}}\n{}",
        PEERS.replace("CHECK", "lower_prio_no_advert false")
    );
    let inst = &check_str("keepalived.conf", &asked)
        .expect("valid")
        .config
        .instances[0];
    assert!(inst.strict && inst.lower_prio_readvert);

    let off = format!(
        "global_defs {{\n  vrrp_strict\n}}\n{}",
        PEERS.replace("CHECK", "strict_mode false")
    );
    let inst = &check_str("keepalived.conf", &off)
        .expect("valid")
        .config
        .instances[0];
    assert!(!inst.strict && inst.lower_prio_readvert);
}

#[test]
fn both_survive_the_toml_round_trip() {
    let conf = format!(
        "global_defs {{\n  vrrp_strict\n}}\n{}",
        PEERS.replace("CHECK", "check_unicast_src")
    );
    let loaded = check_str("keepalived.conf", &conf).expect("valid");
    let toml = to_toml(&loaded.config);
    assert!(toml.contains("accept_from = "), "{toml}");
    assert!(toml.contains("strict = true"), "{toml}");
    let back = check_str("ha.toml", &toml).expect("valid TOML");
    assert_eq!(back.config, loaded.config);
}
