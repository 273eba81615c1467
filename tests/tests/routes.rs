//! Routes and rules in keepalived syntax: `virtual_routes` / `virtual_rules`
//! follow the VIP (on the master only, moved on failover, gone when the
//! daemon stops) and `static_routes` / `static_rules` are on every node
//! while the daemon runs; with `ha run` and default flags, the socket
//! datapath as a twin, and keepalived 2.2.7 with the same file.
//!
//! Destinations are in 198.19.240.0/20, which no topology's own /24 reaches
//! in these tests' namespaces (each namespace has only its topology's /24).

use std::{net::Ipv4Addr, time::Duration};

use anyhow::{Context, Result, ensure};
use hatest::scenario::{Pair, Run, both};
use hatest::{Daemon, Host, Topology, require_root, wait_until};

/// `ip route show table all` and `ip rule show` (both families) of `host`.
fn routing(host: &Host) -> Result<String> {
    let mut out = String::new();
    for args in [
        ["-4", "route", "show", "table", "all"],
        ["-4", "rule", "show", "", ""],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let o = host.run_ok("ip", &args)?;
        out.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    Ok(out)
}

/// The lines a master's `virtual_routes` / `virtual_rules` below install.
fn virtual_lines(vip: Ipv4Addr, client: Ipv4Addr) -> Vec<String> {
    vec![
        "blackhole 198.19.241.0/24".into(),
        format!("198.19.242.0/24 via {client}"),
        format!("from {vip} lookup 100"),
    ]
}

fn has_all(text: &str, lines: &[String]) -> bool {
    lines.iter().all(|l| text.contains(l.as_str()))
}

fn has_none(text: &str, lines: &[String]) -> bool {
    lines.iter().all(|l| !text.contains(l.as_str()))
}

/// Waits until node `holder` has every line and the others none.
fn wait_routes_on(
    topo: &Topology,
    holder: Option<usize>,
    lines: &[String],
    logs: &dyn Fn() -> String,
) -> Result<()> {
    wait_until(
        &format!("virtual routes on node {holder:?} only"),
        Duration::from_secs(8),
        || {
            for (i, n) in topo.nodes().iter().enumerate() {
                let r = routing(n)?;
                let ok = if Some(i) == holder {
                    has_all(&r, lines)
                } else {
                    has_none(&r, lines)
                };
                if !ok {
                    return Ok(false);
                }
            }
            Ok(true)
        },
    )
    .with_context(|| {
        let tables: Vec<String> = topo
            .nodes()
            .iter()
            .map(|n| routing(n).unwrap_or_default())
            .collect();
        format!("{}\n{}", tables.join("\n---\n"), logs())
    })
}

/// The virtual routes and rule are on the master only, move with the VIP
/// when it stops, and are gone once the second daemon stops too.
fn virtual_routes_follow_the_vip(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let vip = topo.subnet().vip4(0);
    let client = topo.client().ipv4;
    let d = Pair {
        extra: both(format!(
            "  virtual_routes {{\n    blackhole 198.19.241.0/24\n    198.19.242.0/24 via {client}\n  }}\n  virtual_rules {{\n    from {vip} table 100\n  }}\n"
        )),
        ..Pair::new("rt", 51)
    }
    .start(run, &topo)?;
    let lines = virtual_lines(vip, client);
    let logs = |d: &[Daemon]| hatest::logs(d.iter());
    wait_until("VIP on node 1", Duration::from_secs(8), || {
        topo.nodes()[0].has_address(vip)
    })
    .with_context(|| logs(&d))?;
    wait_routes_on(&topo, Some(0), &lines, &|| logs(&d))?;
    d[0].terminate()?;
    wait_routes_on(&topo, Some(1), &lines, &|| logs(&d))?;
    ensure!(topo.nodes()[1].has_address(vip)?, "{}", logs(&d));
    d[1].terminate()?;
    wait_routes_on(&topo, None, &lines, &|| logs(&d))?;
    if !matches!(run, Run::Keepalived) {
        ensure!(
            !d[0].proc.stderr().contains("cannot add virtual")
                && !d[1].proc.stderr().contains("cannot add virtual"),
            "{}",
            logs(&d)
        );
    }
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn virtual_routes_follow_the_vip_ha() -> Result<()> {
    virtual_routes_follow_the_vip(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn virtual_routes_follow_the_vip_ha_socket() -> Result<()> {
    virtual_routes_follow_the_vip(Run::HaSocket)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn virtual_routes_follow_the_vip_keepalived() -> Result<()> {
    virtual_routes_follow_the_vip(Run::Keepalived)
}

/// `static_routes` / `static_rules` are on both nodes, master and backup,
/// while the daemon runs, and removed when it stops (keepalived's
/// `stop_vrrp` clears them).
fn static_routes_on_every_node(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let vip = topo.subnet().vip4(0);
    let top = "static_routes {\n  blackhole 198.19.243.0/24\n}\nstatic_rules {\n  to 198.19.244.0/24 table 101\n}\n";
    let d = Pair {
        top: both(top),
        ..Pair::new("st", 52)
    }
    .start(run, &topo)?;
    let lines = [
        "blackhole 198.19.243.0/24".to_string(),
        "to 198.19.244.0/24 lookup 101".to_string(),
    ];
    let logs = || hatest::logs(d.iter());
    wait_until("VIP on node 1", Duration::from_secs(8), || {
        topo.nodes()[0].has_address(vip)
    })
    .with_context(logs)?;
    for n in topo.nodes() {
        wait_until(
            &format!("static routes on {}", n.ns),
            Duration::from_secs(5),
            || Ok(has_all(&routing(n)?, &lines)),
        )
        .with_context(logs)?;
    }
    for daemon in &d {
        daemon.terminate()?;
    }
    for n in topo.nodes() {
        wait_until(
            &format!("static routes gone from {}", n.ns),
            Duration::from_secs(8),
            || Ok(has_none(&routing(n)?, &lines)),
        )
        .with_context(logs)?;
    }
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn static_routes_on_every_node_ha() -> Result<()> {
    static_routes_on_every_node(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn static_routes_on_every_node_keepalived() -> Result<()> {
    static_routes_on_every_node(Run::Keepalived)
}
