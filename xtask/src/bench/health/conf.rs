//! The configurations of `bench health`: N VRRPv3 instances on one node,
//! each tracking a named check, as keepalived.conf (read by both daemons
//! when every check is a script) or as ha's TOML (the built-in TCP check
//! exists only there).

use std::{fmt::Write as _, net::IpAddr};

use anyhow::{Result, bail};
use hatest::{Group, Host};

/// What a check runs.
#[derive(Clone, Debug)]
pub enum Probe {
    /// A program and its arguments, run without a shell by both daemons
    /// (keepalived 2.x splits the script line and execs it).
    Script(Vec<String>),
    /// ha's built-in TCP connect (keepalived's vrrp_script has no such thing).
    Tcp { addr: IpAddr, port: u16 },
}

/// One named check (keepalived's `vrrp_script`, ha's `[[checks]]`).
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub probe: Probe,
    /// Seconds between two runs.
    pub interval: f64,
    pub rise: u32,
    pub fall: u32,
    /// 0: FAULT on failure; otherwise added to the priority while failed (negative).
    pub weight: i32,
}

/// One VRRPv3 instance tracking at most one check.
#[derive(Clone, Debug)]
pub struct Instance {
    pub vrid: u8,
    pub vip: IpAddr,
    pub priority: u8,
    /// Advert interval, seconds.
    pub advert: f64,
    pub track: Option<String>,
}

impl Instance {
    fn name(&self) -> String {
        format!("VI_{}", self.vrid)
    }
}

/// keepalived.conf of `host`; an error for a probe keepalived's
/// `vrrp_script` cannot express.
pub fn keepalived(host: &Host, checks: &[Check], instances: &[Instance]) -> Result<String> {
    let mut c =
        String::from("global_defs {\n  router_id bench_health\n  vrrp_garp_master_delay 1\n}\n");
    for k in checks {
        let Probe::Script(argv) = &k.probe else {
            bail!(
                "check {}: keepalived's vrrp_script only runs programs",
                k.name
            );
        };
        let _ = writeln!(c, "vrrp_script {} {{", k.name);
        let _ = writeln!(c, "  script \"{}\"", argv.join(" "));
        // keepalived 2.2.7 takes whole seconds here: "0.1" is refused (and
        // the default 1 s used), which `reaction` detects and reports.
        let _ = writeln!(c, "  interval {}", k.interval);
        let _ = writeln!(c, "  rise {}\n  fall {}", k.rise, k.fall);
        if k.weight != 0 {
            let _ = writeln!(c, "  weight {}", k.weight);
        }
        c.push_str("}\n");
    }
    for i in instances {
        let mut g = Group::v3(i.vrid, i.vip, 24);
        g.name = i.name();
        g.advert_int = i.advert;
        if let Some(t) = &i.track {
            g.extra = format!("  track_script {{\n    {t}\n  }}\n");
        }
        c.push_str(&g.instance_block(host, i.priority));
    }
    Ok(c)
}

/// ha's TOML for `host` (ha-userspace/src/config/model.rs and service.rs).
pub fn ha_toml(host: &Host, checks: &[Check], instances: &[Instance]) -> String {
    let mut c = String::from("[global]\nrouter_id = \"bench_health\"\n\n");
    for k in checks {
        let _ = writeln!(c, "[[checks]]\nname = {:?}", k.name);
        let _ = writeln!(c, "interval_ms = {}", (k.interval * 1000.0).round() as u64);
        let _ = writeln!(
            c,
            "rise = {}\nfall = {}\nweight = {}",
            k.rise, k.fall, k.weight
        );
        match &k.probe {
            Probe::Script(argv) => {
                let args: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
                let _ = writeln!(
                    c,
                    "probe = {{ script = {{ argv = [{}] }} }}",
                    args.join(", ")
                );
            }
            Probe::Tcp { addr, port } => {
                let _ = writeln!(
                    c,
                    "probe = {{ tcp = {{ addr = \"{addr}\", port = {port} }} }}"
                );
            }
        }
        c.push('\n');
    }
    for i in instances {
        let _ = writeln!(c, "[[instances]]\nname = {:?}", i.name());
        let _ = writeln!(c, "interface = {:?}", host.ifname);
        let _ = writeln!(
            c,
            "vrid = {}\nversion = 3\npriority = {}",
            i.vrid, i.priority
        );
        let _ = writeln!(c, "advert_int_cs = {}", (i.advert * 100.0).round() as u64);
        let _ = writeln!(c, "vips = [\"{}/24\"]", i.vip);
        if let Some(t) = &i.track {
            let _ = writeln!(c, "track = {{ checks = [{{ name = {t:?} }}] }}");
        }
        c.push('\n');
    }
    c
}

/// The config `imp` reads: the very keepalived.conf keepalived gets, or ha's
/// TOML for the built-in checks, which keepalived's syntax cannot say. A
/// script interval under a second stays in keepalived.conf: ha's reader
/// takes it (with a warning that keepalived 2.2.7 would not).
pub fn for_daemon(
    imp: super::super::common::Impl,
    host: &Host,
    checks: &[Check],
    instances: &[Instance],
) -> Result<String> {
    let toml_only = checks.iter().any(|c| !matches!(c.probe, Probe::Script(_)));
    if imp.is_ha() && toml_only {
        Ok(ha_toml(host, checks, instances))
    } else {
        keepalived(host, checks, instances)
    }
}
