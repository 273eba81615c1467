//! The native TOML format: defaults, errors with PATH:LINE, validation located
//! at the offending key, and the to_toml round trip.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use ha::config::{
    Auth, Config, ConfigError, Datapath, Format, Garp, Global, Handover, Instance, Vip, check_str,
    load, to_toml,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/config")
        .join(rel)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn vip(s: &str) -> Vip {
    s.parse().unwrap()
}

fn full() -> Config {
    let mut web = Instance::new("web", 51);
    web.interface = Some("eth0".into());
    web.priority = 150;
    web.advert_int_cs = 200;
    web.preempt = false;
    web.preempt_delay = Duration::from_millis(2500);
    web.initial_state_master = true;
    web.auth = Auth::Pass {
        password: "secret12".into(),
    };
    web.vips = vec![
        vip("198.18.60.10/24"),
        Vip {
            dev: Some("eth1".into()),
            label: Some("eth1:web".into()),
            ..vip("198.18.60.11")
        },
    ];
    web.excluded_vips = vec![vip("2001:2:0:60::10/64"), vip("198.18.61.10/32")];
    web.unicast_src = Some(ip("198.18.60.1"));
    web.unicast_peers = vec![ip("198.18.60.2"), ip("198.18.60.3")];
    web.lower_prio_readvert = false;
    web.v3_checksum_with_pseudo_header = false;
    web.datapath = Datapath::Socket;
    web.handover = Handover::Immediate;
    web.garp = Garp {
        master_delay: Duration::ZERO,
        master_repeat: 2,
        master_refresh: Duration::from_secs(60),
        master_refresh_repeat: 3,
        ..Garp::default()
    };
    let mut web6 = Instance::new("web6", 51);
    web6.interface = Some("eth0".into());
    web6.version = 3;
    web6.advert_int_cs = 5;
    web6.vips = vec![vip("2001:2:0:60::1/64")];
    Config {
        global: Global {
            router_id: Some("node-a".into()),
            ..Global::default()
        },
        instances: vec![web, web6],
        ..Config::default()
    }
}

#[test]
fn reads_every_field() {
    let l = load(data("toml/full.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.format, Format::Toml);
    assert_eq!(l.config, full());
    // preempt = false with initial_state_master = true (line 12) is legal but
    // pointless.
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert_eq!(l.warnings[0].line, 12);
    assert_eq!(l.files, vec![data("toml/full.toml")]);
}

#[test]
fn round_trip() {
    let config = full();
    let text = to_toml(&config);
    let back = check_str("ha.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.config, config, "{text}");
    // The output documents itself.
    assert!(text.starts_with("# ha configuration"));
    assert!(text.contains("# Virtual router id, 1-255 (keepalived: virtual_router_id)."));
    // Empty and default configs too.
    for c in [Config::default(), {
        let mut c = Config::default();
        let mut i = Instance::new("x", 1);
        i.interface = Some("eth0".into());
        i.vips.push(vip("198.18.60.1"));
        c.instances.push(i);
        c
    }] {
        let text = to_toml(&c);
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
    }
}

#[test]
fn defaults_are_keepalived_defaults() {
    let text =
        "[[instances]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 7\nvips = [\"198.18.60.1\"]\n";
    let l = check_str("ha.toml", text).unwrap_or_else(|e| panic!("{e}"));
    let mut expected = Instance::new("a", 7);
    expected.interface = Some("eth0".into());
    expected.vips = vec![Vip::new(ip("198.18.60.1"), 32)];
    assert_eq!(l.config.instances, vec![expected.clone()]);
    let i = &l.config.instances[0];
    assert_eq!((i.version, i.priority, i.advert_int_cs), (2, 100, 100));
    assert!(i.preempt && !i.initial_state_master);
    assert_eq!(i.auth, Auth::None);
    assert_eq!(i.garp.master_delay, Duration::from_secs(5));
    assert_eq!(i.garp.master_repeat, 5);
    assert_eq!(i.garp.master_refresh, Duration::ZERO);
    assert_eq!(i.garp.master_refresh_repeat, 1);
    assert!(i.lower_prio_readvert && i.v3_checksum_with_pseudo_header);
    assert_eq!(
        (i.datapath, i.handover),
        (Datapath::Xdp, Handover::MakeBeforeBreak)
    );
}

fn errors_of(text: &str) -> Vec<ConfigError> {
    match check_str("/etc/ha/ha.toml", text) {
        Ok(l) => panic!("accepted: {:?}", l.config),
        Err(e) => e.0,
    }
}

fn assert_error(text: &str, line: usize, want: &str) {
    let errs = errors_of(text);
    assert_eq!(errs[0].line, line, "{}", errs[0]);
    assert!(
        errs[0].message.contains(want),
        "`{}` lacks `{want}`",
        errs[0]
    );
    assert_eq!(
        errs[0].to_string(),
        format!("/etc/ha/ha.toml:{line}: {}", errs[0].message)
    );
}

const BASE: &str = "[[instances]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 1\nvips = [\n  \"198.18.60.1/24\",\n]\n";

#[test]
fn deserialization_errors_have_lines() {
    assert_error(
        &format!("{BASE}priorty = 5\n"),
        8,
        "unknown field `priorty`",
    );
    assert_error(
        &format!("{BASE}priority = 300\n"),
        8,
        "invalid value: integer `300`",
    );
    assert_error(
        &format!("{BASE}datapath = \"dpdk\"\n"),
        8,
        "unknown variant `dpdk`",
    );
    assert_error(
        &BASE.replace("198.18.60.1/24", "198.18.60.1/40"),
        6,
        "invalid VIP `198.18.60.1/40`",
    );
    assert_error(&BASE.replace("vrid = 1\n", ""), 1, "missing field `vrid`");
    assert_error("[global]\nrouter_id = \n", 2, "");
}

#[test]
fn validation_errors_point_at_the_key() {
    assert_error(
        &format!("{BASE}priority = 0\n"),
        8,
        "priority 0 is out of range",
    );
    assert_error(
        &BASE.replace("vrid = 1", "vrid = 0"),
        4,
        "virtual router id 0 is out of range",
    );
    assert_error(
        &format!("{BASE}advert_int_cs = 150\n"),
        8,
        "out of range for VRRPv2",
    );
    assert_error(
        &format!("{BASE}version = 3\nadvert_int_cs = 5000\n"),
        9,
        "out of range for VRRPv3",
    );
    assert_error(
        &BASE.replace(
            "\"198.18.60.1/24\",\n",
            "\"198.18.60.1/24\",\n  \"2001:2::1\",\n",
        ),
        7,
        "VIP 2001:2::1 is IPv6 but the first VIP 198.18.60.1 is IPv4",
    );
    assert_error(
        &BASE.replace("interface = \"eth0\"\n", ""),
        1,
        "instance `a` has no `interface`: an instance without `interface` is not supported yet",
    );
    let second = BASE
        .replace("\"a\"", "\"b\"")
        .replace("198.18.60.1", "198.18.60.2");
    assert_error(
        &format!("{BASE}\n{second}"),
        12,
        "VRID 1 on interface eth0 (IPv4) is already used by instance `a`: a VRID must be \
         unique per interface and address family (first at /etc/ha/ha.toml:4)",
    );
    let second = BASE
        .replace("\"a\"", "\"b\"")
        .replace("vrid = 1", "vrid = 2");
    assert_error(
        &format!("{BASE}\n{second}"),
        14,
        "VIP 198.18.60.1 is already a VIP of instance `a`: an address belongs to one \
         instance, once (first at /etc/ha/ha.toml:6)",
    );
    assert_error(
        &format!("{BASE}version = 3\n[instances.auth]\ntype = \"pass\"\npassword = \"x\"\n"),
        9,
        "authentication is a VRRPv2 feature",
    );
    assert_error(
        &format!("{BASE}[instances.auth]\ntype = \"pass\"\npassword = \"123456789\"\n"),
        8,
        "a VRRPv2 password is at most 8",
    );
    assert_error(
        &format!("{BASE}preempt_delay_ms = 1000001\n"),
        8,
        "preempt delay",
    );
}

#[test]
fn ipv6_version_rules() {
    let v6 = BASE.replace("198.18.60.1/24", "2001:2::1/64");
    // Without `version`, IPv6 runs VRRPv3, as in keepalived.
    let l = check_str("ha.toml", &v6).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.instances[0].version, 3);
    // An explicit version 2 is refused.
    assert_error(
        &format!("{v6}version = 2\n"),
        8,
        "VRRP version 2 cannot carry IPv6",
    );
}

#[test]
fn validation_warnings_point_at_the_key() {
    let l = check_str(
        "ha.toml",
        &format!("{BASE}preempt = false\ninitial_state_master = true\n"),
    )
    .unwrap();
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(l.warnings[0].line, 8);
    let l = check_str("ha.toml", "[global]\n").unwrap();
    assert_eq!(l.warnings[0].line, 0);
    assert!(l.warnings[0].message.contains("no VRRP instances"));
}

#[test]
fn the_password_is_never_in_a_message() {
    let secret = "Zq7wXk";
    let texts = [
        format!("{BASE}[instances.auth]\ntype = \"pass\"\npassword = 31337\n"),
        format!("{BASE}[instances.auth]\ntype = \"pass\"\npassword = [\"{secret}\"]\n"),
        format!("{BASE}[instances.auth]\ntype = \"pass\"\npassword = \"{secret}{secret}\"\n"),
        format!("{BASE}version = 3\n[instances.auth]\ntype = \"pass\"\npassword = \"{secret}\"\n"),
    ];
    for text in &texts {
        let shown = match check_str("/etc/ha/ha.toml", text) {
            Ok(l) => format!("{l:?}"),
            Err(e) => format!("{e}{e:?}"),
        };
        assert!(
            !shown.contains(secret) && !shown.contains("31337"),
            "{text}\n{shown}"
        );
    }
}
