//! The keepalived.conf reader: the sample configs from the test vectors, a
//! realistic file full of features ha does not have yet, includes, every hard
//! error with its file:line, and the keepalived → TOML → Config round trip.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use ha::config::{
    Auth, Config, ConfigError, Format, Garp, Global, Instance, Loaded, Options, Vip, check,
    check_str, detect_format, load,
    model::{
        Check, Checker, Command, Notify, Probe, RealServer, SyncGroup, TrackRef, VirtualServer,
    },
    to_toml,
};

fn cmd(argv: &[&str]) -> Command {
    Command::new(argv.iter().copied())
}

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

/// An instance as the vectors write it: `state MASTER`, interface tva0.
fn vector_instance(name: &str, vrid: u8, priority: u8, version: u8, advert_cs: u16) -> Instance {
    let mut i = Instance::new(name, vrid);
    i.interface = Some("tva0".into());
    i.priority = priority;
    i.version = version;
    i.advert_int_cs = advert_cs;
    i.initial_state_master = true;
    // global_defs { vrrp_garp_master_delay 1 }
    i.garp.master_delay = Duration::from_secs(1);
    i
}

fn vector_config(router_id: &str, inst: Instance) -> Config {
    Config {
        global: Global {
            router_id: Some(router_id.into()),
            // global_defs { enable_script_security }
            script_security: true,
            ..Global::default()
        },
        instances: vec![inst],
        ..Config::default()
    }
}

/// (line, message) of each warning, for compact assertions.
fn warnings(l: &Loaded) -> Vec<(usize, String)> {
    l.warnings
        .iter()
        .map(|w| (w.line, w.message.clone()))
        .collect()
}

fn assert_vector(file: &str, expected: Config) {
    let l = load(data(file)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.format, Format::Keepalived);
    assert_eq!(l.config, expected);
    // Everything the vectors say is read.
    assert_eq!(l.warnings, vec![]);
}

#[test]
fn vector_v2auth() {
    let mut i = vector_instance("VI_v2auth", 51, 150, 2, 100);
    i.auth = Auth::Pass {
        password: "secret12".into(),
    };
    i.vips = vec![vip("198.18.30.100/24"), vip("198.18.30.101/24")];
    assert_vector("vectors/v2auth.conf", vector_config("tv_v2auth", i));
}

#[test]
fn vector_v2plain() {
    let mut i = vector_instance("VI_v2plain", 54, 254, 2, 200);
    i.vips = vec![
        vip("198.18.30.120/24"),
        vip("198.18.30.121/24"),
        vip("198.18.30.122/24"),
    ];
    assert_vector("vectors/v2plain.conf", vector_config("tv_v2plain", i));
}

#[test]
fn vector_v3ipv4() {
    let mut i = vector_instance("VI_v3ipv4", 52, 200, 3, 50);
    i.vips = vec![vip("198.18.30.110/24")];
    assert_vector("vectors/v3ipv4.conf", vector_config("tv_v3ipv4", i));
}

#[test]
fn vector_v3ipv6() {
    let mut i = vector_instance("VI_v3ipv6", 53, 100, 3, 100);
    i.vips = vec![Vip::new(ip("2001:2:0:30::100"), 64)];
    assert_vector("vectors/v3ipv6.conf", vector_config("tv_v3ipv6", i));
}

#[test]
fn realistic_config_reads_with_a_warning_per_unsupported_feature() {
    let l = load(data("realistic.conf")).unwrap_or_else(|e| panic!("{e}"));

    let garp = Garp {
        master_delay: Duration::from_secs(2),
        master_refresh: Duration::from_secs(60),
        ..Garp::default()
    };
    let mut db = Instance::new("VI_DB", 61);
    db.interface = Some("eth0".into());
    db.priority = 150;
    db.preempt = false;
    db.preempt_delay = Duration::from_secs(30);
    db.auth = Auth::Pass {
        password: "db pass".into(),
    };
    db.unicast_src = Some(ip("198.18.61.1"));
    db.unicast_peers = vec![ip("198.18.61.2")];
    db.vips = vec![
        Vip {
            dev: Some("eth0".into()),
            label: Some("eth0:vip".into()),
            ..vip("198.18.61.100/24")
        },
        vip("198.18.61.101/24"),
    ];
    db.excluded_vips = vec![vip("2001:2:0:61::100/64")];
    db.garp = garp.clone();
    let mut db6 = Instance::new("VI_DB6", 62);
    db6.interface = Some("eth0".into());
    db6.version = 3; // IPv6 without `version`
    db6.advert_int_cs = 25;
    db6.lower_prio_readvert = false;
    db6.vips = vec![vip("2001:2:0:61::1/64")];
    db6.garp = Garp {
        master_repeat: 3,
        ..garp
    };
    // In the sync group DB, keepalived drops the weight of the tracked
    // interface (FAULT while down) and the weighted track_script.
    db.track.interfaces = vec![TrackRef {
        name: "eth0".into(),
        weight: Some(0),
        reverse: false,
    }];
    let notify = |arg: &str| Some(cmd(&["/etc/keepalived/notify.sh", arg]));
    db.notify = Notify {
        master: notify("master"),
        backup: notify("backup"),
        fault: notify("fault"),
        any: Some(cmd(&["/etc/keepalived/notify-all.sh"])),
        ..Notify::default()
    };
    db.skip_check_adv_addr = true;
    db6.skip_check_adv_addr = true;
    let expected = Config {
        global: Global {
            router_id: Some("DB1".into()),
            script_security: true,
            script_user: Some("root".into()),
            ..Global::default()
        },
        instances: vec![db, db6],
        checks: vec![Check {
            name: "chk_mysql".into(),
            probe: Probe::Script(cmd(&["/usr/bin/mysqladmin", "ping", "-h", "127.0.0.1"])),
            interval: Duration::from_secs(2),
            timeout: Some(Duration::from_secs(3)),
            rise: 1,
            fall: 2,
            weight: -20,
            reverse: false,
            init_fail: false,
        }],
        sync_groups: vec![SyncGroup {
            name: "DB".into(),
            instances: vec!["VI_DB".into(), "VI_DB6".into()],
            notify: Notify {
                master: notify("master"),
                ..Notify::default()
            },
        }],
        virtual_servers: vec![VirtualServer {
            addr: ip("198.18.61.100"),
            port: 3306,
            delay_loop: Duration::from_secs(6),
            real_servers: vec![RealServer {
                addr: ip("198.18.61.1"),
                port: 3306,
                notify_up: None,
                notify_down: None,
                checkers: vec![Checker {
                    probe: Probe::Tcp {
                        addr: ip("198.18.61.1"),
                        port: 3306,
                        bind: None,
                    },
                    timeout: Duration::from_secs(3),
                    retry: 1,
                    delay_before_retry: Duration::from_secs(1),
                    delay_loop: None,
                }],
            }],
        }],
        ..Config::default()
    };
    assert_eq!(l.config, expected);

    let expect: &[(usize, &str)] = &[
        (3, "global_defs `notification_email` is not implemented yet"),
        (6, "`notification_email_from` is not implemented yet"),
        (7, "`smtp_server` is not implemented yet"),
        (8, "`smtp_connect_timeout` is not implemented yet"),
        (15, "unknown keyword `frobnicate_everything` in global_defs"),
        (
            53,
            "address option `brd 198.18.61.255` is not implemented yet",
        ),
        (53, "address option `scope global` is not implemented yet"),
        (
            59,
            "track_interface eth0: weight -30 ignored in a sync group",
        ),
        (
            62,
            "track_script chk_mysql with weight -20 is ignored in a sync group",
        ),
        (68, "`smtp_alert` is not implemented yet"),
        (
            69,
            "unknown keyword `priorty` in vrrp_instance VI_DB; ignored (did you mean `priority`?)",
        ),
        (83, "does not program IPVS; ignored: lb_algo"),
    ];
    let got = warnings(&l);
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((line, msg), (want_line, want)) in got.iter().zip(expect) {
        assert_eq!(line, want_line, "{msg}");
        assert!(msg.contains(want), "line {line}: `{msg}` lacks `{want}`");
    }
    assert!(l.warnings.iter().all(|w| w.file == data("realistic.conf")));
}

#[test]
fn includes_follow_globs_and_relative_paths() {
    let l = load(data("includes/keepalived.conf")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.warnings, vec![], "{:?}", l.warnings);
    let names: Vec<&str> = l.config.instances.iter().map(|i| i.name.as_str()).collect();
    // conf.d/*.conf in sorted order, README and .hidden.conf skipped, then the
    // quoted name with a space.
    assert_eq!(names, ["A", "B", "C"]);
    let b = &l.config.instances[1];
    assert_eq!(
        b.vips,
        vec![
            vip("198.18.40.2/24"),
            Vip {
                dev: Some("eth1".into()),
                ..vip("198.18.40.3/24")
            }
        ]
    );
    let c = &l.config.instances[2];
    assert_eq!((c.version, c.advert_int_cs), (3, 10));
    assert_eq!(l.config.global.router_id.as_deref(), Some("inc"));
    let files: Vec<String> = l
        .files
        .iter()
        .map(|f| {
            f.strip_prefix(data("includes"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        files,
        [
            "keepalived.conf",
            "conf.d/10-a.conf",
            "conf.d/20-b.conf",
            "conf.d/../shared/b-vips.inc",
            "extra/instance c.conf"
        ]
    );
}

#[test]
fn include_errors_name_the_including_file_and_line() {
    let errs = check(data("include-errors/keepalived.conf")).unwrap_err().0;
    let got: Vec<(PathBuf, usize)> = errs.iter().map(|e| (e.file.clone(), e.line)).collect();
    assert_eq!(
        got,
        [
            (data("include-errors/keepalived.conf"), 6),
            (data("include-errors/sub/inner.conf"), 2),
            (data("include-errors/sub/inner.conf"), 5),
        ]
    );
    assert!(
        errs[0]
            .message
            .contains("include `nothere.conf`: no such file")
    );
    assert!(
        errs[1]
            .message
            .contains("include `missing.conf`: no such file")
    );
    assert!(errs[2].message.contains("priority 0 is out of range"));
    // The first error, as `load` returns it, displays as PATH:LINE: message.
    let first = load(data("include-errors/keepalived.conf")).unwrap_err();
    assert_eq!(
        first.to_string(),
        format!(
            "{}:6: include `nothere.conf`: no such file ({})",
            data("include-errors/keepalived.conf").display(),
            data("include-errors/nothere.conf").display()
        )
    );
}

#[test]
fn a_glob_matching_nothing_is_a_warning() {
    let dir = std::env::temp_dir().join(format!("ha-config-glob-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let main = dir.join("keepalived.conf");
    std::fs::write(
        &main,
        format!("include conf.d/*.conf\n{}", instance_text("")),
    )
    .unwrap();
    let l = load(&main).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(l.warnings[0].line, 1);
    assert!(l.warnings[0].message.contains("matches no file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let read = |id: &str| {
        Options {
            config_id: Some(id.into()),
        }
        .load(data("conditional.conf"))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let lb1 = read("lb1");
    let i = &lb1.config.instances[0];
    assert_eq!(lb1.config.global.router_id.as_deref(), Some("lb1"));
    assert_eq!((i.priority, i.initial_state_master), (150, true));
    assert_eq!(i.unicast_src, Some(ip("198.18.70.1")));
    assert_eq!(i.unicast_peers, vec![ip("198.18.70.2")]);
    let lb2 = read("lb2");
    let i = &lb2.config.instances[0];
    assert_eq!(lb2.config.global.router_id.as_deref(), Some("lb2"));
    assert_eq!((i.priority, i.initial_state_master), (100, false));
    assert_eq!(i.unicast_peers, vec![ip("198.18.70.1")]);
    // Parameter definitions are not supported: warned, never silent.
    assert_eq!(lb1.warnings.len(), 1);
    assert_eq!(lb1.warnings[0].line, 22);
    assert!(lb1.warnings[0].message.contains("parameter definitions"));
}

// ---- hard errors ----------------------------------------------------------------

/// A valid instance with `extra` lines inserted after `virtual_router_id`
/// (line 4), so that the first extra line is line 5.
fn instance_text(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n{extra}\n  virtual_ipaddress {{\n    198.18.50.1/24\n  }}\n}}\n"
    )
}

/// The errors of a config given as text.
fn errors_of(text: &str) -> Vec<ConfigError> {
    match check_str("/etc/keepalived/keepalived.conf", text) {
        Ok(l) => panic!("accepted: {:?}", l.config),
        Err(e) => e.0,
    }
}

/// Asserts exactly one error, at `line`, whose message contains `want`.
fn assert_error(text: &str, line: usize, want: &str) {
    let errs = errors_of(text);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].line, line, "{}", errs[0]);
    assert!(
        errs[0].message.contains(want),
        "`{}` lacks `{want}`",
        errs[0]
    );
    assert_eq!(
        errs[0].to_string(),
        format!(
            "/etc/keepalived/keepalived.conf:{line}: {}",
            errs[0].message
        )
    );
}

#[test]
fn bad_priority() {
    assert_error(
        &instance_text("  priority 0"),
        5,
        "priority 0 is out of range: must be 1-255",
    );
    assert_error(
        &instance_text("  priority 300"),
        5,
        "priority 300 is out of range",
    );
    assert_error(
        &instance_text("  priority high"),
        5,
        "`priority`: `high` is not a whole number",
    );
    assert_error(&instance_text("  priority"), 5, "`priority` needs a value");
}

#[test]
fn bad_vrid() {
    let text = instance_text("").replace("virtual_router_id 51", "virtual_router_id 0");
    assert_error(
        &text,
        4,
        "virtual router id 0 is out of range: must be 1-255",
    );
    let text = instance_text("").replace("virtual_router_id 51", "virtual_router_id 256");
    assert_error(&text, 4, "virtual router id 256 is out of range");
    let text = instance_text("").replace("  virtual_router_id 51\n", "");
    assert_error(&text, 1, "vrrp_instance VI_1 has no virtual_router_id");
}

#[test]
fn bad_addresses() {
    let text = instance_text("").replace("198.18.50.1/24", "198.18.50.300");
    assert_error(
        &text,
        7,
        "invalid address `198.18.50.300` in `virtual_ipaddress`",
    );
    let text = instance_text("").replace("198.18.50.1/24", "198.18.50.1/33");
    assert_error(&text, 7, "prefix length `33` is not a number from 0 to 32");
    assert_error(
        &instance_text("  unicast_src_ip 198.18.50"),
        5,
        "invalid unicast_src_ip `198.18.50`",
    );
    assert_error(
        &instance_text("  unicast_peer {\n    fe80::1::2\n  }"),
        6,
        "invalid unicast peer `fe80::1::2`",
    );
    let text = instance_text("").replace("198.18.50.1/24", "224.0.0.18");
    assert_error(
        &text,
        7,
        "VIP 224.0.0.18: a multicast address cannot be used",
    );
}

#[test]
fn bad_advert_int() {
    assert_error(
        &instance_text("  advert_int 0"),
        5,
        "advert_int 0 is out of range",
    );
    assert_error(
        &instance_text("  advert_int 256"),
        5,
        "advert_int 256 is out of range",
    );
    assert_error(
        &instance_text("  advert_int 1s"),
        5,
        "advert_int `1s` is not a number of seconds",
    );
    assert_error(
        &instance_text("  version 3\n  advert_int 41"),
        6,
        "advert interval 41 s is out of range for VRRPv3: 0.01 s to 40.95 s",
    );
}

#[test]
fn mixed_families_in_virtual_ipaddress() {
    let text = instance_text("").replace("198.18.50.1/24\n", "198.18.50.1/24\n    2001:2::1/64\n");
    assert_error(
        &text,
        8,
        "VIP 2001:2::1 is IPv6 but the first VIP 198.18.50.1 is IPv4",
    );
    // …while the excluded list may mix them.
    let text =
        instance_text("  virtual_ipaddress_excluded {\n    2001:2::1/64\n    198.18.51.1\n  }");
    check_str("k.conf", &text).unwrap();
}

#[test]
fn ipv6_with_explicit_version_2() {
    let text = instance_text("  version 2").replace("198.18.50.1/24", "2001:2::1/64");
    assert_error(&text, 5, "VRRP version 2 cannot carry IPv6 addresses");
    // Without `version`, or with a global `vrrp_version 2`, IPv6 runs v3.
    let text = format!(
        "global_defs {{\n  vrrp_version 2\n}}\n{}",
        instance_text("").replace("198.18.50.1/24", "2001:2::1/64")
    );
    let l = check_str("k.conf", &text).unwrap();
    assert_eq!(l.config.instances[0].version, 3);
}

#[test]
fn interface_required_even_with_unicast_peers() {
    let text = instance_text("").replace("  interface eth0\n", "");
    assert_error(&text, 1, "instance `VI_1` has no `interface`");
    // keepalived runs this; the daemon cannot yet, and check-config says so in
    // the daemon's words rather than accept it.
    let text = instance_text("  unicast_peer {\n    198.18.50.2\n  }")
        .replace("  interface eth0\n", "")
        .replace("198.18.50.1/24", "198.18.50.1/24 dev eth0");
    assert_error(
        &text,
        1,
        "an instance without `interface` is not supported yet",
    );
}

#[test]
fn duplicate_vrid_on_one_interface_and_family() {
    let second = instance_text("")
        .replace("VI_1", "VI_2")
        .replace("198.18.50.1", "198.18.50.9");
    let text = format!("{}{}", instance_text(""), second);
    assert_error(
        &text,
        13,
        "VRID 51 on interface eth0 (IPv4) is already used by instance `VI_1`: a VRID must be \
         unique per interface and address family (first at /etc/keepalived/keepalived.conf:4)",
    );
    // Unicast with disjoint peers, which keepalived allows, collides in the
    // datapath's (interface, family, VRID) key all the same.
    let peers = |p: &str| format!("  unicast_peer {{\n    {p}\n  }}");
    let second = instance_text(&peers("198.18.50.3"))
        .replace("VI_1", "VI_2")
        .replace("198.18.50.1", "198.18.50.9");
    let text = format!("{}{}", instance_text(&peers("198.18.50.2")), second);
    assert_error(&text, 15, "VRID 51 on interface eth0 (IPv4)");
}

#[test]
fn duplicate_vips_within_and_across_instances() {
    let twice = instance_text("").replace(
        "    198.18.50.1/24\n",
        "    198.18.50.1/24\n    198.18.50.1/32\n",
    );
    assert_error(
        &twice,
        8,
        "VIP 198.18.50.1 is listed twice in this instance: an address belongs to one \
         instance, once (first at /etc/keepalived/keepalived.conf:7)",
    );
    // In another instance, excluded or not.
    let second = instance_text("")
        .replace("VI_1", "VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace("virtual_ipaddress ", "virtual_ipaddress_excluded ");
    let text = format!("{}{}", instance_text(""), second);
    assert_error(
        &text,
        16,
        "VIP 198.18.50.1 is already a VIP of instance `VI_1`: an address belongs to one \
         instance, once (first at /etc/keepalived/keepalived.conf:7)",
    );
}

#[test]
fn duplicate_instance_name() {
    let second = instance_text("")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace("198.18.50.1", "198.18.50.9");
    let text = format!("{}{}", instance_text(""), second);
    assert_error(&text, 10, "instance name `VI_1` is already used");
}

#[test]
fn unbalanced_braces() {
    // Unclosed at the end: closed there, as keepalived does, with a warning
    // where the brace was opened.
    let text = instance_text("")
        .trim_end()
        .trim_end_matches('}')
        .to_string();
    let w = warnings_of(&text);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].0, 1);
    assert!(
        w[0].1
            .contains("`{` (after `vrrp_instance VI_1`) is never closed")
            && w[0].1.contains("There are 1 missing '}'s"),
        "{}",
        w[0].1
    );
    let text = format!(
        "{}vrrp_script chk {{\n  script /bin/true\n",
        instance_text("")
    );
    let w = warnings_of(&text);
    assert_eq!(w[0].0, 10);
    assert!(
        w[0].1
            .contains("`{` (after `vrrp_script chk`) is never closed")
    );
    // One too many.
    let text = format!("{}}}\n", instance_text(""));
    assert_error(&text, 10, "`}` closes no open block");
    assert_error("{\n}\n", 1, "`{` has no keyword before it");
}

#[test]
fn other_bad_values() {
    assert_error(
        &instance_text("  state master"),
        5,
        "unknown state `master`: must be MASTER or BACKUP",
    );
    assert_error(
        &instance_text("  version 4"),
        5,
        "VRRP version 4 is not supported: must be 2 or 3",
    );
    assert_error(
        &instance_text("  preempt_delay 1001"),
        5,
        "preempt_delay 1001 is out of range",
    );
    assert_error(
        &instance_text("  authentication {\n    auth_type AH\n    auth_pass x\n  }"),
        6,
        "auth_type AH (IPsec AH) is not supported",
    );
    assert_error(
        &instance_text("  authentication {\n    auth_type MD5\n  }"),
        6,
        "unknown auth_type `MD5`",
    );
    assert_error(
        &instance_text("  interface an-interface-name-too-long"),
        5,
        "Linux allows at most 15",
    );
    assert_error(
        &instance_text("  lower_prio_no_advert maybe"),
        5,
        "`maybe` is not a boolean",
    );
    assert_error(
        &instance_text("  notify \"/bin/notify"),
        5,
        "unterminated quoted string",
    );
    assert_error(
        &instance_text("  virtual_ipaddress"),
        5,
        "`virtual_ipaddress` needs a `{ … }` block",
    );
}

#[test]
fn every_error_is_reported_in_file_order() {
    let text = instance_text("  priority 0\n  advert_int 0\n  state WHATEVER");
    let lines: Vec<usize> = errors_of(&text).iter().map(|e| e.line).collect();
    assert_eq!(lines, [5, 6, 7]);
}

// ---- keepalived's lenient fix-ups, as warnings ------------------------------------

fn warnings_of(text: &str) -> Vec<(usize, String)> {
    let l = check_str("k.conf", text).unwrap_or_else(|e| panic!("{e}"));
    warnings(&l)
}

#[test]
fn v2_advert_int_is_rounded_to_seconds() {
    let l = check_str("k.conf", &instance_text("  advert_int 0.4")).unwrap();
    assert_eq!(l.config.instances[0].advert_int_cs, 100);
    let l = check_str("k.conf", &instance_text("  advert_int 2.5")).unwrap();
    assert_eq!(l.config.instances[0].advert_int_cs, 300);
    let w = warnings(&l);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, 5);
    assert!(
        w[0].1.contains("not a whole number of seconds"),
        "{}",
        w[0].1
    );
}

#[test]
fn v3_advert_int_is_rounded_to_centiseconds() {
    let l = check_str("k.conf", &instance_text("  version 3\n  advert_int 0.015")).unwrap();
    assert_eq!(l.config.instances[0].advert_int_cs, 2);
    assert_eq!(warnings(&l)[0].0, 6);
    // Global vrrp_version 3 applies to instances without `version`.
    let text = format!(
        "global_defs {{\n  vrrp_version 3\n}}\n{}",
        instance_text("  advert_int 0.05")
    );
    let l = check_str("k.conf", &text).unwrap();
    assert_eq!(
        (
            l.config.instances[0].version,
            l.config.instances[0].advert_int_cs
        ),
        (3, 5)
    );
    assert_eq!(l.warnings, vec![]);
}

#[test]
fn auth_type_pass_needs_a_password() {
    assert_error(
        &instance_text("  authentication {\n    auth_type PASS\n  }"),
        6,
        "auth_type PASS needs an auth_pass",
    );
}

/// A password no message may contain.
const SECRET: &str = "Zq7wXk";

#[test]
fn the_password_is_never_in_a_message_or_debug_output() {
    let auth = |body: &str| {
        instance_text(&format!(
            "  authentication {{\n    auth_type PASS\n{body}\n  }}"
        ))
    };
    let texts = [
        // Truncated, with extra words, in an unclosed block, with other errors.
        auth(&format!("    auth_pass {SECRET}{SECRET}")),
        auth(&format!("    auth_pass {SECRET} {SECRET}2")),
        auth(&format!("    auth_pass {SECRET} {{")),
        auth(&format!("    auth_pass {SECRET}\n    auth_pass {SECRET}")).replace("priority", "x"),
        auth(&format!("    auth_pass {SECRET}"))
            .replace("virtual_router_id 51", "virtual_router_id 0"),
        auth(&format!("    auth_pass \"{SECRET}")),
    ];
    for text in &texts {
        assert!(text.contains(SECRET));
        let shown = match check_str("k.conf", text) {
            Ok(l) => format!("{l:?}{:?}", l.warnings),
            Err(e) => format!("{e}{e:?}"),
        };
        assert!(!shown.contains(SECRET), "{text}\n{shown}");
    }
    // A good config: read, used, and still not in its Debug form.
    let l = check_str("k.conf", &auth(&format!("    auth_pass {SECRET}"))).unwrap();
    assert_eq!(
        l.config.instances[0].auth,
        Auth::Pass {
            password: SECRET.into()
        }
    );
    assert!(!format!("{l:?}{:#?}", l.config).contains(SECRET));
    // Nor in the forms it takes on the wire and in the XDP map.
    let data = l.config.instances[0].auth.wire_data();
    let wire = format!("{:?}", ha::wire::Auth::Password(data));
    let map = format!(
        "{:?}",
        ha_common::maps::InstanceConf {
            auth_type: 1,
            auth_data: data,
            ..Default::default()
        }
    );
    for shown in [wire, map] {
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("90, 113, 55"),
            "{shown}"
        );
    }
}

#[test]
fn long_password_is_truncated() {
    let text =
        instance_text("  authentication {\n    auth_type PASS\n    auth_pass longpassword123\n  }");
    let l = check_str("k.conf", &text).unwrap();
    assert_eq!(
        l.config.instances[0].auth,
        Auth::Pass {
            password: "longpass".into()
        }
    );
    assert_eq!(l.config.instances[0].auth.wire_data(), *b"longpass");
    let w = warnings(&l);
    assert_eq!(w[0].0, 7);
    assert!(w[0].1.contains("only the first 8 are used"));
}

#[test]
fn keepalived_fixups_warn() {
    // nopreempt with state MASTER is cleared.
    let w = warnings_of(&instance_text("  nopreempt"));
    assert_eq!(w[0].0, 5);
    assert!(w[0].1.contains("nopreempt has no effect with state MASTER"));
    // VRRPv3 drops authentication.
    let text =
        instance_text("  version 3\n  authentication {\n    auth_type PASS\n    auth_pass x\n  }");
    let l = check_str("k.conf", &text).unwrap();
    assert_eq!(l.config.instances[0].auth, Auth::None);
    assert_eq!(warnings(&l)[0].0, 6);
    // Set twice: the last wins.
    let l = check_str("k.conf", &instance_text("  priority 10\n  priority 20")).unwrap();
    assert_eq!(l.config.instances[0].priority, 20);
    assert_eq!(warnings(&l)[0].0, 6);
}

#[test]
fn syntax_variants() {
    // `{` on the next line, braces against words, one-line blocks, quotes,
    // comments with # and ! anywhere.
    let text = "global_defs{router_id \"my router\" }  ! trailing\nvrrp_instance VI_1\n{\n  interface eth0 # the LAN\n  virtual_router_id 51\n  virtual_ipaddress { 198.18.50.1/24 }\n  preempt\n}\n";
    let l = check_str("k.conf", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.warnings, vec![]);
    assert_eq!(l.config.global.router_id.as_deref(), Some("my router"));
    assert_eq!(l.config.instances[0].vips, vec![vip("198.18.50.1/24")]);
    assert!(l.config.instances[0].preempt);
}

#[test]
fn keepalived_defaults() {
    let l = check_str("k.conf", &instance_text("").replace("  state MASTER\n", "")).unwrap();
    let i = &l.config.instances[0];
    assert_eq!((i.version, i.priority, i.advert_int_cs), (2, 100, 100));
    assert!(i.preempt && !i.initial_state_master);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(
        i.garp,
        Garp {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            interval: Duration::ZERO,
            na_interval: Duration::ZERO,
        }
    );
    assert!(i.lower_prio_readvert && i.v3_checksum_with_pseudo_header);
    // No prefix: a host address.
    let text = instance_text("").replace("198.18.50.1/24", "198.18.50.1");
    let l = check_str("k.conf", &text).unwrap();
    assert_eq!(l.config.instances[0].vips[0].prefix_len, 32);
}

#[test]
fn global_and_instance_settings() {
    let text = format!(
        "global_defs {{\n  vrrp_garp_master_repeat 2\n  vrrp_garp_master_refresh_repeat 3\n  v3_checksum_as_v2\n  vrrp_lower_prio_no_advert true\n}}\n{}",
        instance_text(
            "  garp_master_repeat 4\n  garp_master_delay 0\n  lower_prio_no_advert off\n  preempt_delay 2.5"
        )
    );
    let l = check_str("k.conf", &text).unwrap_or_else(|e| panic!("{e}"));
    let i = &l.config.instances[0];
    assert_eq!(i.garp.master_repeat, 4);
    assert_eq!(i.garp.master_refresh_repeat, 3);
    assert_eq!(i.garp.master_delay, Duration::ZERO);
    assert!(!i.v3_checksum_with_pseudo_header);
    assert!(i.lower_prio_readvert);
    assert_eq!(i.preempt_delay, Duration::from_millis(2500));
}

#[test]
fn format_sniffing() {
    let conf = Path::new("/etc/keepalived/keepalived.conf");
    assert_eq!(detect_format(conf, &instance_text("")), Format::Keepalived);
    assert_eq!(
        detect_format(conf, "! comment\nglobal_defs {\n}\n"),
        Format::Keepalived
    );
    assert_eq!(
        detect_format(conf, "[[instances]]\nname = \"a\"\nvrid = 1\n"),
        Format::Toml
    );
    assert_eq!(
        detect_format(Path::new("ha.toml"), "anything"),
        Format::Toml
    );
    // A TOML file named .conf is read as TOML.
    let l = check_str(
        "/etc/ha/ha.conf",
        "[[instances]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 1\nvips = [\"198.18.50.1/24\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.format, Format::Toml);
    // A keepalived file is read as keepalived whatever its name, except .toml.
    let l = check_str("/tmp/keepalived", &instance_text("")).unwrap();
    assert_eq!(l.format, Format::Keepalived);
}

#[test]
fn unreadable_file() {
    let e = load(data("no-such-file.conf")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.to_string().starts_with(&format!(
        "{}: cannot read",
        data("no-such-file.conf").display()
    )));
}

// ---- conversion ---------------------------------------------------------------------

fn assert_converts(file: &str) {
    let l = load(data(file)).unwrap_or_else(|e| panic!("{e}"));
    let text = to_toml(&l.config);
    let back = check_str("converted.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.config, l.config, "{text}");
    assert_eq!(back.warnings, vec![], "{text}");
}

#[test]
fn keepalived_to_toml_to_config_is_the_same() {
    for f in [
        "vectors/v2auth.conf",
        "vectors/v2plain.conf",
        "vectors/v3ipv4.conf",
        "vectors/v3ipv6.conf",
        "realistic.conf",
        "includes/keepalived.conf",
        "follow.conf",
    ] {
        assert_converts(f);
    }
}

#[test]
fn no_more_instances_than_the_xdp_maps_hold() {
    let max = ha_common::maps::MAX_INSTANCES as usize;
    let text: String = (0..=max)
        .map(|k| {
            format!(
                "vrrp_instance I{k} {{\n  interface e{}\n  virtual_router_id {}\n}}\n",
                k / 255,
                k % 255 + 1
            )
        })
        .collect();
    // The instance one too many, at its header line.
    assert_error(
        &text,
        4 * max + 1,
        "1025 instances are configured; ha runs at most 1024 (the size of the XDP INSTANCES map)",
    );
}
