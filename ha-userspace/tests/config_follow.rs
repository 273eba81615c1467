//! What the VIP follows, from the configuration side: keepalived's
//! `vrrp_script`, `track_file`, `vrrp_track_process`, `track_*` blocks,
//! notify scripts, sync groups, `virtual_server` checkers and the other VRRP
//! keywords, read into the model; their TOML round trip; the validation
//! rules with their lines; and the scripts `check-config` refuses.
//!
//! The three field configs are the ones people run: an nginx pair, the MySQL
//! pair of the field article (with its missing final `}`), and a DRBD pair
//! with a sync group over two interfaces.

use std::{
    fs,
    net::IpAddr,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use ha::{
    config::{
        ConfigError, Loaded, check_str,
        model::{
            Check, Checker, Command, Notify, ParamMatch, Prefix, Probe, Route, RouteKind, Rule,
            SyncGroup, TrackFile, TrackProcess, TrackRef, Vmac,
        },
        to_toml,
    },
    exec::security::script_problems,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cmd(argv: &[&str]) -> Command {
    Command::new(argv.iter().copied())
}

fn track(name: &str) -> TrackRef {
    TrackRef {
        name: name.into(),
        weight: None,
        reverse: false,
    }
}

fn read(text: &str) -> Loaded {
    check_str("keepalived.conf", text).unwrap_or_else(|e| panic!("{e}"))
}

/// (line, message) of each warning.
fn warnings(l: &Loaded) -> Vec<(usize, String)> {
    l.warnings
        .iter()
        .map(|w| (w.line, w.message.clone()))
        .collect()
}

fn errors(path: &str, text: &str) -> Vec<ConfigError> {
    match check_str(path, text) {
        Ok(l) => panic!("accepted: {:?}", l.config),
        Err(e) => e.0,
    }
}

fn assert_error(path: &str, text: &str, line: usize, want: &str) {
    let errs = errors(path, text);
    assert!(
        errs.iter()
            .any(|e| e.line == line && e.message.contains(want)),
        "no error at line {line} containing `{want}`: {errs:#?}"
    );
}

/// keepalived → TOML → native reader gives the same Config, without
/// warnings.
fn assert_round_trip(l: &Loaded) {
    let text = to_toml(&l.config);
    let back = check_str("converted.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.config, l.config, "{text}");
    assert_eq!(back.warnings, vec![], "{text}");
    assert_eq!(back.scripts.len(), l.scripts.len());
}

// ---- the field configs -------------------------------------------------------

const NGINX: &str = r#"global_defs {
    router_id LB1
}

vrrp_script chk_nginx {
    script "/usr/local/bin/check_nginx.sh"
    interval 2
    weight -20
    fall 2
    rise 2
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 101
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        198.18.80.100/24
    }
    track_script {
        chk_nginx
    }
    notify_master "/etc/keepalived/notify.sh MASTER"
    notify_backup "/etc/keepalived/notify.sh BACKUP"
    notify_fault "/etc/keepalived/notify.sh FAULT"
}
"#;

#[test]
fn nginx_pair() {
    let l = read(NGINX);
    assert_eq!(l.warnings, vec![]);
    let c = &l.config;
    assert_eq!(
        c.checks,
        vec![Check {
            name: "chk_nginx".into(),
            probe: Probe::Script(cmd(&["/usr/local/bin/check_nginx.sh"])),
            interval: Duration::from_secs(2),
            timeout: None,
            rise: 2,
            fall: 2,
            weight: -20,
            reverse: false,
            init_fail: false,
        }]
    );
    let i = &c.instances[0];
    assert_eq!(i.track.checks, vec![track("chk_nginx")]);
    assert_eq!(
        i.notify,
        Notify {
            master: Some(cmd(&["/etc/keepalived/notify.sh", "MASTER"])),
            backup: Some(cmd(&["/etc/keepalived/notify.sh", "BACKUP"])),
            fault: Some(cmd(&["/etc/keepalived/notify.sh", "FAULT"])),
            ..Notify::default()
        }
    );
    assert_eq!(i.notify.timeout, Duration::from_secs(30));
    // Each program with its line, for check-config.
    let sites: Vec<(usize, &str)> = l
        .scripts
        .iter()
        .map(|s| (s.loc.line, s.what.as_str()))
        .collect();
    assert_eq!(
        sites,
        [
            (6, "vrrp_script chk_nginx"),
            (29, "notify_master of vrrp_instance VI_1"),
            (30, "notify_backup of vrrp_instance VI_1"),
            (31, "notify_fault of vrrp_instance VI_1"),
        ]
    );
    assert_round_trip(&l);
}

const MYSQL: &str = r#"! MySQL master-master, as the field article writes it
global_defs {
    router_id MySQL-HA
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    nopreempt
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        198.18.81.200
    }
}

virtual_server 198.18.81.200 3306 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    persistence_timeout 60
    protocol TCP
    real_server 198.18.81.1 3306 {
        weight 1
        notify_down /etc/keepalived/bin/mysql.sh
        TCP_CHECK {
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 3
            connect_port 3306
        }
    }
"#;

#[test]
fn mysql_pair_with_its_missing_brace() {
    let l = read(MYSQL);
    let w = warnings(&l);
    assert_eq!(w.len(), 2, "{w:#?}");
    // The block never closed, closed at the end as keepalived does.
    assert_eq!(w[0].0, 22);
    assert!(
        w[0].1
            .contains("`{` (after `virtual_server 198.18.81.200 3306`) is never closed"),
        "{}",
        w[0].1
    );
    // The IPVS keywords, in one warning at the block.
    assert_eq!(w[1].0, 22);
    assert!(
        w[1].1
            .contains("does not program IPVS; ignored: lb_algo, lb_kind, persistence_timeout, protocol, weight"),
        "{}",
        w[1].1
    );
    let c = &l.config;
    assert!(!c.instances[0].preempt);
    let vs = &c.virtual_servers[0];
    assert_eq!(
        (vs.addr, vs.port, vs.delay_loop),
        (ip("198.18.81.200"), 3306, Duration::from_secs(2))
    );
    let rs = &vs.real_servers[0];
    assert_eq!(rs.notify_down, Some(cmd(&["/etc/keepalived/bin/mysql.sh"])));
    assert_eq!(
        rs.checkers,
        vec![Checker {
            probe: Probe::Tcp {
                addr: ip("198.18.81.1"),
                port: 3306,
                bind: None,
            },
            timeout: Duration::from_secs(3),
            retry: 3,
            delay_before_retry: Duration::from_secs(3),
            delay_loop: None,
        }]
    );
    assert_eq!(l.scripts[0].loc.line, 30);
    assert_eq!(
        l.scripts[0].what,
        "notify_down of real_server 198.18.81.1 3306"
    );
    assert_round_trip(&l);
}

const DRBD: &str = r#"vrrp_sync_group VG_DRBD {
    group {
        VI_DRBD
        VI_NFS
    }
    track_interface {
        eth0
        eth1
    }
    notify_master "/etc/keepalived/drbd.sh master"
    notify_backup "/etc/keepalived/drbd.sh backup"
    notify_fault "/etc/keepalived/drbd.sh fault"
}

vrrp_instance VI_DRBD {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 100
    nopreempt
    virtual_ipaddress {
        198.18.82.10/24
    }
    notify_master "/etc/keepalived/drbd.sh master r0"
    notify_backup "/etc/keepalived/drbd.sh backup r0"
    notify_stop "/etc/keepalived/drbd.sh stop r0"
}

vrrp_instance VI_NFS {
    state BACKUP
    interface eth1
    virtual_router_id 62
    priority 100
    nopreempt
    virtual_ipaddress {
        198.18.83.10/24
    }
}
"#;

#[test]
fn drbd_pair_with_a_sync_group_on_two_interfaces() {
    let l = read(DRBD);
    assert_eq!(l.warnings, vec![]);
    let c = &l.config;
    let drbd = |arg: &str| Some(cmd(&["/etc/keepalived/drbd.sh", arg]));
    assert_eq!(
        c.sync_groups,
        vec![SyncGroup {
            name: "VG_DRBD".into(),
            instances: vec!["VI_DRBD".into(), "VI_NFS".into()],
            notify: Notify {
                master: drbd("master"),
                backup: drbd("backup"),
                fault: drbd("fault"),
                ..Notify::default()
            },
        }]
    );
    // The group's tracked interfaces are every member's.
    for i in &c.instances {
        assert_eq!(
            i.track.interfaces,
            vec![track("eth0"), track("eth1")],
            "{}",
            i.name
        );
    }
    let d = &c.instances[0].notify;
    assert_eq!(
        d.stop,
        Some(cmd(&["/etc/keepalived/drbd.sh", "stop", "r0"]))
    );
    assert_round_trip(&l);
}

// ---- declarations ---------------------------------------------------------------

#[test]
fn scripts_files_and_processes() {
    let text = r#"
vrrp_script chk {
    user nobody nogroup
    script "/bin/sh -c 'exit 0' \"a b\""
    timeout 3
    weight 10 reverse
    init_fail
}
track_file tf {
    file /run/ha/prio
    weight -2 reverse
    init_file 5 overwrite
}
vrrp_track_file old {
    file /run/ha/old
}
vrrp_track_process haproxy {
    process haproxy -f /etc/haproxy.cfg
    param_match initial
    quorum 2
    quorum_max 4
    fork_delay 1.5
    terminate_delay 0.5
    weight 30
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        198.18.87.1
    }
    track_script {
        chk weight -5 reverse
        missing
    }
    track_file {
        tf
        old weight 254
    }
    track_process {
        haproxy
    }
    track_interface {
        eth1 weight -10
    }
}
"#;
    let l = read(text);
    let c = &l.config;
    assert_eq!(
        c.checks[0].probe,
        Probe::Script(Command {
            argv: vec!["/bin/sh".into(), "-c".into(), "exit 0".into(), "a b".into()],
            user: Some("nobody".into()),
            group: Some("nogroup".into()),
        })
    );
    assert_eq!(
        (
            c.checks[0].interval,
            c.checks[0].timeout,
            c.checks[0].weight,
            c.checks[0].reverse,
            c.checks[0].init_fail
        ),
        (
            Duration::from_secs(1),
            Some(Duration::from_secs(3)),
            10,
            true,
            true
        )
    );
    assert_eq!(
        c.track_files,
        vec![
            TrackFile {
                name: "tf".into(),
                path: "/run/ha/prio".into(),
                weight: -2,
                reverse: true,
                init: Some(5),
                init_overwrite: true,
            },
            TrackFile {
                name: "old".into(),
                path: "/run/ha/old".into(),
                weight: 1,
                reverse: false,
                init: None,
                init_overwrite: false,
            }
        ]
    );
    assert_eq!(
        c.track_processes,
        vec![TrackProcess {
            name: "haproxy".into(),
            process: "haproxy".into(),
            params: vec!["-f".into(), "/etc/haproxy.cfg".into()],
            param_match: ParamMatch::Initial,
            quorum: 2,
            quorum_max: Some(4),
            delay: Duration::from_millis(1500),
            weight: 30,
            reverse: false,
            full_command: true,
        }]
    );
    let t = &c.instances[0].track;
    assert_eq!(
        t.checks,
        vec![TrackRef {
            name: "chk".into(),
            weight: Some(-5),
            reverse: true
        }]
    );
    assert_eq!(
        t.files,
        vec![
            track("tf"),
            TrackRef {
                name: "old".into(),
                weight: Some(253),
                reverse: false
            }
        ]
    );
    assert_eq!(t.processes, vec![track("haproxy")]);
    assert_eq!(t.interfaces[0].weight, Some(-10));
    let w = warnings(&l);
    let expect: &[(usize, &str)] = &[
        (
            22,
            "fork_delay 1.5 s and terminate_delay 0.5 s differ; ha uses one delay",
        ),
        (34, "(VI_1) track_script missing is not declared; ignored"),
        (38, "weight 254 for old is taken as 253"),
    ];
    assert_eq!(w.len(), expect.len(), "{w:#?}");
    for ((line, msg), (want_line, want)) in w.iter().zip(expect) {
        assert_eq!(line, want_line, "{msg}");
        assert!(msg.contains(want), "line {line}: `{msg}` lacks `{want}`");
    }
    assert_round_trip(&l);
}

#[test]
fn bad_declarations_are_errors_with_lines() {
    let inst = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n}\n";
    let with = |decl: &str| format!("{decl}{inst}");
    assert_error(
        "k.conf",
        &with("vrrp_script s {\n interval 2\n}\n"),
        1,
        "vrrp_script s has no `script`",
    );
    assert_error(
        "k.conf",
        &with("vrrp_script s {\n script x\n weight 300\n}\n"),
        3,
        "-253..253",
    );
    assert_error(
        "k.conf",
        &with("vrrp_script s {\n script x\n rise 0\n}\n"),
        3,
        "at least 1",
    );
    assert_error(
        "k.conf",
        &with("vrrp_script s {\n script \"x 'y\"\n}\n"),
        2,
        "missing terminating '",
    );
    assert_error(
        "k.conf",
        &with("track_file f {\n weight 2\n}\n"),
        1,
        "has no `file`",
    );
    assert_error(
        "k.conf",
        &with("vrrp_track_process p {\n quorum 0\n process x\n}\n"),
        2,
        "1-65535",
    );
    assert_error(
        "k.conf",
        &with("vrrp_track_process p {\n process x\n quorum 3\n quorum_max 2\n}\n"),
        3,
        "quorum 3 is more than quorum_max 2",
    );
    assert_error(
        "k.conf",
        &with("vrrp_script s {\n script /a\n}\nvrrp_script s {\n script /b\n}\n"),
        4,
        "check name `s` is already used (first at k.conf:1)",
    );
    assert_error(
        "k.conf",
        &with(
            "vrrp_instance W {\n interface eth1\n virtual_router_id 2\n notify_master /x a b c\n}\n",
        ),
        4,
        "only USER [GROUP] may follow",
    );
}

// ---- sync groups ----------------------------------------------------------------

fn two_instances(extra_a: &str) -> String {
    format!(
        "vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n 198.18.88.1\n }}\n{extra_a}}}\n\
         vrrp_instance B {{\n interface eth1\n virtual_router_id 2\n virtual_ipaddress {{\n 198.18.89.1\n }}\n}}\n"
    )
}

#[test]
fn sync_group_rules() {
    // Unknown member: warned and left out; a group of one: warned, kept.
    let text = format!(
        "{}vrrp_sync_group G {{\n group {{\n A\n nothere\n }}\n}}\n",
        two_instances("")
    );
    let l = read(&text);
    let w = warnings(&l);
    assert_eq!(w.len(), 2, "{w:#?}");
    assert_eq!(w[0].0, 15);
    assert!(w[0].1.contains("has only one instance"), "{}", w[0].1);
    assert_eq!(w[1].0, 18);
    assert!(
        w[1].1
            .contains("instance nothere in vrrp_sync_group G does not exist")
    );
    assert_eq!(l.config.sync_groups[0].instances, ["A"]);

    // An instance in two groups: an error naming both lines.
    let text = format!(
        "{}vrrp_sync_group G1 {{\n group {{\n A\n B\n }}\n}}\nvrrp_sync_group G2 {{\n group {{\n B A\n }}\n}}\n",
        two_instances("")
    );
    let errs = errors("k.conf", &text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].line, 23);
    assert!(
        errs[0]
            .message
            .contains("instance `B` is in sync group `G2` and already in `G1`")
            && errs[0].message.contains("(first at k.conf:18)"),
        "{}",
        errs[0].message
    );

    // Weighted tracks on a member are dropped, the group's kept.
    let text = format!(
        "vrrp_script s {{\n script /bin/true\n weight -10\n}}\n{}vrrp_sync_group G {{\n group {{\n A\n B\n }}\n track_script {{\n s\n }}\n}}\n",
        two_instances(" track_script {\n  s\n }\n track_interface {\n  eth3 weight 5\n }\n")
    );
    let l = read(&text);
    let a = &l.config.instances[0];
    assert_eq!(
        a.track.interfaces,
        vec![TrackRef {
            name: "eth3".into(),
            weight: Some(0),
            reverse: false
        }]
    );
    assert_eq!(a.track.checks, vec![track("s")]);
    assert_eq!(l.config.instances[1].track.checks, vec![track("s")]);
    let w = warnings(&l);
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(
        w[0].1
            .contains("track_script s with weight -10 is ignored in a sync group")
    );
    assert!(
        w[1].1
            .contains("track_interface eth3: weight 5 ignored in a sync group")
    );
}

// ---- the other VRRP keywords -----------------------------------------------------

#[test]
fn vrrp_keywords_that_moved_into_the_model() {
    let text = r#"global_defs {
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.5
    vrrp_startup_delay 5.5
    vrrp_skip_check_adv_addr
    enable_script_security
    script_user keepalived_script users
    vrrp_notify_fifo /run/ha.fifo root adm
    vrrp_notify_fifo_script "/usr/local/bin/fifo-reader -v"
}
static_ipaddress {
    198.18.84.1/24 dev eth0
}
static_routes {
    198.18.90.0/24 via 198.18.84.254 dev eth0 table 100 metric 5
    blackhole 198.18.91.0/24
    src 198.18.84.1 198.18.92.0/24 dev eth0 scope link proto static onlink
}
static_rules {
    from 198.18.84.0/24 table 100 priority 10
    to 198.18.90.0/24 iif eth0 fwmark 0x10/0xff lookup main
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    mcast_src_ip 198.18.84.1
    dont_track_primary
    skip_check_adv_addr off
    use_vmac vrrp.1
    vmac_xmit_base
    virtual_ipaddress {
        198.18.84.100/24
    }
    virtual_routes {
        198.18.93.0/24 via 198.18.84.254
    }
    virtual_rules {
        from 198.18.84.100 table 200
    }
}
"#;
    let l = read(text);
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].0, 17);
    assert!(
        w[0].1
            .contains("route option(s) `onlink` are not implemented"),
        "{}",
        w[0].1
    );
    let c = &l.config;
    let g = &c.global;
    assert!(g.script_security);
    assert_eq!(
        (g.script_user.as_deref(), g.script_group.as_deref()),
        (Some("keepalived_script"), Some("users"))
    );
    assert_eq!(g.startup_delay, Duration::from_millis(5500));
    let fifo = g.notify_fifo.as_ref().unwrap();
    assert_eq!(fifo.path, PathBuf::from("/run/ha.fifo"));
    assert_eq!(
        (fifo.user.as_deref(), fifo.group.as_deref()),
        (Some("root"), Some("adm"))
    );
    assert_eq!(
        fifo.script,
        Some(cmd(&["/usr/local/bin/fifo-reader", "-v"]))
    );
    let i = &c.instances[0];
    assert_eq!(i.garp.interval, Duration::from_micros(1000));
    assert_eq!(i.garp.na_interval, Duration::from_millis(500));
    assert!(
        !i.skip_check_adv_addr,
        "the instance's `off` wins over the global flag"
    );
    assert!(i.dont_track_primary);
    assert_eq!(i.unicast_src, Some(ip("198.18.84.1")));
    assert_eq!(
        i.vmac,
        Some(Vmac {
            name: Some("vrrp.1".into()),
            xmit_base: true
        })
    );
    let p = |s: &str| s.parse::<Prefix>().unwrap();
    assert_eq!(
        i.virtual_routes,
        vec![Route {
            via: Some(ip("198.18.84.254")),
            ..Route::new(p("198.18.93.0/24"))
        }]
    );
    assert_eq!(
        i.virtual_rules,
        vec![Rule {
            from: Some(p("198.18.84.100/32")),
            table: Some(200),
            ..Rule::default()
        }]
    );
    assert_eq!(c.static_addresses[0].dev.as_deref(), Some("eth0"));
    assert_eq!(
        c.static_routes,
        vec![
            Route {
                via: Some(ip("198.18.84.254")),
                dev: Some("eth0".into()),
                table: Some(100),
                metric: Some(5),
                ..Route::new(p("198.18.90.0/24"))
            },
            Route {
                kind: RouteKind::Blackhole,
                ..Route::new(p("198.18.91.0/24"))
            },
            Route {
                src: Some(ip("198.18.84.1")),
                dev: Some("eth0".into()),
                scope: Some(253),
                protocol: Some(4),
                ..Route::new(p("198.18.92.0/24"))
            },
        ]
    );
    assert_eq!(
        c.static_rules,
        vec![
            Rule {
                from: Some(p("198.18.84.0/24")),
                table: Some(100),
                priority: Some(10),
                ..Rule::default()
            },
            Rule {
                to: Some(p("198.18.90.0/24")),
                iif: Some("eth0".into()),
                fwmark: Some(0x10),
                fwmask: Some(0xff),
                table: Some(254),
                ..Rule::default()
            },
        ]
    );
    assert_round_trip(&l);
}

#[test]
fn http_and_misc_checkers() {
    let text = r#"vrrp_instance V {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        198.18.85.100
    }
}
virtual_server 198.18.85.1 443 {
    delay_loop 10
    connect_timeout 4
    real_server 198.18.85.2 8443 {
        SSL_GET {
            url {
                path /health
                status_code 200 204
            }
            url {
                path /ready
                digest 9B3A0C85A887A256D6939DA88AABD8CD
            }
            connect_ip 2001:2::5
            retry 2
        }
        MISC_CHECK {
            misc_path "/usr/local/bin/check.sh 198.18.85.2"
            misc_timeout 7
            user nobody
        }
    }
}
virtual_server fwmark 5 {
    delay_loop 3
}
"#;
    let l = read(text);
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].1
            .contains("fwmark and group virtual servers are IPVS only")
    );
    let rs = &l.config.virtual_servers[0].real_servers[0];
    assert_eq!(rs.checkers.len(), 3);
    assert_eq!(
        rs.checkers[0].probe,
        Probe::Http {
            url: "https://[2001:2::5]:8443/health".into(),
            status: vec![200, 204],
            digest: None,
            insecure: true,
        }
    );
    assert_eq!(rs.checkers[0].timeout, Duration::from_secs(4));
    assert_eq!(rs.checkers[0].retry, 2);
    assert!(
        matches!(&rs.checkers[1].probe, Probe::Http { url, digest: Some(d), .. }
        if url == "https://[2001:2::5]:8443/ready" && d == "9b3a0c85a887a256d6939da88aabd8cd")
    );
    assert_eq!(
        rs.checkers[2].probe,
        Probe::Script(Command {
            argv: vec!["/usr/local/bin/check.sh".into(), "198.18.85.2".into()],
            user: Some("nobody".into()),
            group: None,
        })
    );
    assert_eq!(rs.checkers[2].timeout, Duration::from_secs(7));
    assert_round_trip(&l);
}

// ---- TOML validation ----------------------------------------------------------------

const TOML_BASE: &str = r#"[[instances]]
name = "a"
interface = "eth0"
vrid = 1
vips = ["198.18.86.1/24"]
"#;

#[test]
fn toml_references_and_ranges_have_lines() {
    let t = |extra: &str| format!("{TOML_BASE}{extra}");
    assert_error(
        "c.toml",
        &t("[instances.track]\nchecks = [{ name = \"nope\" }]\n"),
        7,
        "instance `a`: track_script `nope` is not declared in [[checks]]",
    );
    assert_error(
        "c.toml",
        &t("[[sync_groups]]\nname = \"g\"\ninstances = [\"a\", \"zz\"]\n"),
        8,
        "sync group `g`: there is no instance `zz`",
    );
    let check = "[[checks]]\nname = \"c\"\nprobe = { script = { argv = [\"/bin/true\"] } }\n";
    assert_error(
        "c.toml",
        &t(&format!("{check}weight = 254\n")),
        9,
        "weight 254 is out of range -253..253",
    );
    assert_error(
        "c.toml",
        &t(&format!("{check}rise = 0\n")),
        9,
        "rise must be at least 1",
    );
    assert_error(
        "c.toml",
        &t(&format!("{check}interval_ms = 0\n")),
        9,
        "the interval must be more than 0",
    );
    assert_error(
        "c.toml",
        &t(&format!("{check}timeout_ms = 0\n")),
        9,
        "the timeout must be more than 0",
    );
    assert_error(
        "c.toml",
        &t(&format!("{check}{check}")),
        9,
        "check name `c` is already used (first at c.toml:6)",
    );
    assert_error(
        "c.toml",
        &t("[[checks]]\nname = \"h\"\nprobe = { http = { url = \"ftp://x/\" } }\n"),
        8,
        "URL `ftp://x/` has the scheme `ftp`",
    );
    assert_error(
        "c.toml",
        &t("[[checks]]\nname = \"t\"\nprobe = { tcp = { addr = \"198.18.86.2\", port = 0 } }\n"),
        8,
        "TCP port 0",
    );
    assert_error(
        "c.toml",
        &t("[[track_processes]]\nname = \"p\"\nprocess = \"x\"\nquorum = 3\nquorum_max = 1\n"),
        9,
        "quorum 3 is more than quorum_max 1",
    );
    assert_error(
        "c.toml",
        &t("[[checks]]\nname = \"c\"\nprobe = { script = { argv = [] } }\n"),
        8,
        "vrrp_script c: the command is empty",
    );
    // A bad value is a deserialization error with its line.
    assert_error(
        "c.toml",
        &t("[[track_files]]\nname = \"f\"\npath = \"/x\"\nweight = \"heavy\"\n"),
        9,
        "invalid type",
    );
}

// ---- scripts that cannot run ----------------------------------------------------------

/// A scratch directory under /tmp, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ha-follow-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn nginx_with(script: &Path, security: bool) -> String {
    let text = NGINX.replace(
        "/usr/local/bin/check_nginx.sh",
        &script.display().to_string(),
    );
    let text = text.replace("/etc/keepalived/notify.sh", "/bin/echo");
    if security {
        text.replace(
            "    router_id LB1\n",
            "    router_id LB1\n    enable_script_security\n",
        )
    } else {
        text
    }
}

#[test]
fn check_config_names_scripts_that_cannot_run() {
    let dir = Scratch::new("scripts");
    let script = dir.0.join("check_nginx.sh");
    let problems = |security: bool| {
        let l = check_str(
            "/etc/keepalived/keepalived.conf",
            &nginx_with(&script, security),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        script_problems(&l)
    };
    // Missing: an error at the script line, naming the path.
    let p = problems(false);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].line, 6);
    assert_eq!(
        p[0].to_string(),
        format!(
            "/etc/keepalived/keepalived.conf:6: vrrp_script chk_nginx: `{}` does not exist",
            script.display()
        )
    );
    // Not executable.
    fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    let p = problems(false);
    assert!(
        p[0].message.contains("is not executable"),
        "{}",
        p[0].message
    );
    // Executable: fine.
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(problems(false), vec![]);
        assert_eq!(problems(true), vec![]);
        // Writable by others: refused with enable_script_security only.
        fs::set_permissions(&script, fs::Permissions::from_mode(0o757)).unwrap();
        assert_eq!(problems(false), vec![]);
        let p = problems(true);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!(p[0].line, 7);
        assert!(
            p[0].message.contains(&format!(
                "{} is writable by non-root users",
                script.display()
            )),
            "{}",
            p[0].message
        );
        // A directory on the way writable by others, without the sticky bit.
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
        let p = problems(true);
        assert!(
            p[0].message.contains(&format!(
                "{} is writable by non-root users",
                dir.0.display()
            )),
            "{}",
            p[0].message
        );
        fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(problems(true), vec![]);
    } else {
        assert_eq!(problems(false), vec![]);
        // Run as root (no script_user) and owned by us: refused.
        assert!(!problems(true).is_empty());
    }
}
