//! The VIP follows the service: `vrrp_script` / `track_script`, tracked
//! interfaces and files, sync groups, notify scripts and the notify FIFO, in
//! keepalived syntax, with `ha run` and default flags (the socket datapath
//! as a twin where the tracker's path differs), and beside keepalived 2.2.7
//! where it can run the same file.
//!
//! What is asserted is what a user sees: who holds the VIP, who answers the
//! client's ARP, what the scripts were called with and in which order.

use std::{
    fs,
    net::Ipv4Addr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, ensure};
use hatest::{Daemon, Group, Host, Subnet, Topology, require_root, wait_until};

/// A directory for one test's scripts and flag files, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(topo: &Topology, tag: &str) -> Result<Scratch> {
        let dir = Path::new("/tmp").join(format!("{}-{tag}", topo.prefix()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes an executable shell script.
    fn script(&self, name: &str, body: &str) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(name);
        fs::write(&p, format!("#!/bin/sh\n{body}\n"))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
        Ok(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Which daemon runs a scenario.
#[derive(Clone, Copy, Debug)]
enum Run {
    /// `ha run` with default flags.
    Ha,
    /// `ha run --datapath socket`: the default's twin.
    HaSocket,
    /// keepalived 2.2.7.
    Keepalived,
}

fn start(run: Run, host: &Host, tag: &str, conf: &str) -> Result<Daemon> {
    match run {
        Run::Ha => Daemon::ha(host, tag, conf),
        Run::HaSocket => Daemon::ha_with(host, tag, conf, &["--datapath", "socket"]),
        Run::Keepalived => Daemon::keepalived(host, tag, conf),
    }
}

/// Waits until `holder` has the VIP and the other does not, and the client's
/// ARP for it is answered by `holder` alone.
fn wait_vip_on(
    topo: &Topology,
    holder: usize,
    vip: Ipv4Addr,
    within: Duration,
    logs: &dyn Fn() -> String,
) -> Result<()> {
    let nodes = topo.nodes();
    wait_until(&format!("VIP on node {}", holder + 1), within, || {
        let mut ok = nodes[holder].has_address(vip)?;
        for (i, n) in nodes.iter().enumerate() {
            if i != holder {
                ok &= !n.has_address(vip)?;
            }
        }
        Ok(ok)
    })
    .with_context(logs)?;
    let arp = topo.client().arping(vip, 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(nodes[holder].mac()),
        "ARP for {vip} not answered by node {} alone: {arp:?}\n{}",
        holder + 1,
        logs()
    );
    Ok(())
}

/// Two nodes with a v3 group at 0.1 s adverts whose instance block gets
/// `extra(node index)` and whose file gets `top(node index)` before it.
fn pair(
    run: Run,
    topo: &Topology,
    priorities: [u8; 2],
    top: impl Fn(usize) -> String,
    extra: impl Fn(usize) -> String,
) -> Result<Vec<Daemon>> {
    let vip = topo.subnet().vip4(0);
    let mut out = Vec::new();
    for (i, node) in topo.nodes().iter().enumerate() {
        let mut g = Group::v3(51, vip.into(), 24);
        g.extra = extra(i);
        let conf = format!("{}{}", top(i), g.keepalived_conf(node, priorities[i]));
        out.push(start(run, node, "trk", &conf)?);
    }
    Ok(out)
}

fn logs(d: &[Daemon]) -> String {
    hatest::logs(d.iter())
}

/// A failing `vrrp_script` with weight 0 puts the master in FAULT: the VIP
/// moves to the backup; when the check passes again the master takes it
/// back (it preempts).
fn script_fault_moves_the_vip(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "chk")?;
    let flag = |i: usize| s.path(&format!("healthy{i}"));
    for i in 0..2 {
        fs::write(flag(i), "")?;
    }
    let top = |i: usize| {
        format!(
            "vrrp_script chk_service {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  fall 2\n  rise 2\n}}\n",
            flag(i).display()
        )
    };
    let extra = |_| "  track_script {\n    chk_service\n  }\n".to_string();
    let d = pair(run, &topo, [200, 100], top, extra)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    fs::remove_file(flag(0))?;
    // fall × interval + Skew_Time, with room for a busy machine.
    wait_vip_on(&topo, 1, vip, Duration::from_secs(8), &l)?;
    if !matches!(run, Run::Keepalived) {
        let st = d[0].status()?;
        ensure!(st["instances"][0]["state"] == "fault", "{st}");
        ensure!(
            st["instances"][0]["faults"][0] == "script chk_service",
            "{st}"
        );
    }
    fs::write(flag(0), "")?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(10), &l)?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn script_fault_moves_the_vip_ha() -> Result<()> {
    script_fault_moves_the_vip(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn script_fault_moves_the_vip_ha_socket() -> Result<()> {
    script_fault_moves_the_vip(Run::HaSocket)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn script_fault_moves_the_vip_keepalived() -> Result<()> {
    script_fault_moves_the_vip(Run::Keepalived)
}

/// A negative weight only lowers the master below the backup: it stays a
/// backup (not FAULT), and the backup takes over.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn negative_weight_hands_over_without_fault() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "neg")?;
    let flag = s.path("healthy");
    fs::write(&flag, "")?;
    let top = |i: usize| {
        if i == 0 {
            format!(
                "vrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  weight -150\n}}\n",
                flag.display()
            )
        } else {
            String::new()
        }
    };
    let extra = |i: usize| {
        if i == 0 {
            "  track_script {\n    chk\n  }\n".into()
        } else {
            String::new()
        }
    };
    let d = pair(Run::Ha, &topo, [200, 100], top, extra)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    fs::remove_file(&flag)?;
    wait_vip_on(&topo, 1, vip, Duration::from_secs(8), &l)?;
    let st = d[0].status()?;
    ensure!(st["instances"][0]["state"] == "backup", "{st}");
    ensure!(st["instances"][0]["priority"] == 50, "{st}");
    fs::write(&flag, "")?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    Ok(())
}

/// A check that fails every other run, with rise 2 / fall 2, never moves
/// the VIP.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn flapping_check_does_not_move_the_vip() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "flap")?;
    let counter = s.path("n");
    let flap = s.script(
        "flap.sh",
        &format!(
            "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}; [ $((n % 2)) -eq 0 ]",
            c = counter.display()
        ),
    )?;
    let top = |i: usize| {
        if i == 0 {
            format!(
                "vrrp_script flap {{\n  script {}\n  interval 0.5\n  rise 2\n  fall 2\n}}\n",
                flap.display()
            )
        } else {
            String::new()
        }
    };
    let extra = |i: usize| {
        if i == 0 {
            "  track_script {\n    flap\n  }\n".into()
        } else {
            String::new()
        }
    };
    let d = pair(Run::Ha, &topo, [200, 100], top, extra)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    let runs_before = fs::read_to_string(&counter)?.trim().parse::<u32>()?;
    std::thread::sleep(Duration::from_secs(4));
    let runs = fs::read_to_string(&counter)?.trim().parse::<u32>()?;
    ensure!(
        runs >= runs_before + 5,
        "the check ran {runs_before} → {runs} times"
    );
    ensure!(d[1].counter("became_master")? == 0, "{}", l());
    ensure!(d[0].counter("became_master")? == 1, "{}", l());
    wait_vip_on(&topo, 0, vip, Duration::from_secs(1), &l)?;
    Ok(())
}

/// A script that hangs is killed at its timeout and counts as failed; no
/// process of it is left once `ha` has stopped.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn hanging_script_is_killed_and_fails() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "hang")?;
    let hang = s.script("hang.sh", "sleep 6173 & sleep 6173")?;
    let top = |i: usize| {
        if i == 0 {
            format!(
                "vrrp_script hang {{\n  script {}\n  interval 1\n  timeout 1\n}}\n",
                hang.display()
            )
        } else {
            String::new()
        }
    };
    let extra = |i: usize| {
        if i == 0 {
            "  track_script {\n    hang\n  }\n".into()
        } else {
            String::new()
        }
    };
    let mut d = pair(Run::Ha, &topo, [200, 100], top, extra)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    // Never healthy: node 2 holds the VIP, node 1 is in FAULT.
    wait_vip_on(&topo, 1, vip, Duration::from_secs(8), &l)?;
    d[0].wait_state("fault", Duration::from_secs(5))?;
    let sleepers = || -> Result<usize> {
        let out = std::process::Command::new("pgrep")
            .args(["-f", "sleep 6173"])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).lines().count())
    };
    // One run at a time at most (each killed at 1 s with its group: 2 sleeps).
    for _ in 0..5 {
        ensure!(sleepers()? <= 2, "runs pile up: {} sleeps", sleepers()?);
        std::thread::sleep(Duration::from_millis(300));
    }
    let d0 = d.remove(0);
    d0.terminate()?;
    drop(d0);
    wait_until(
        "no sleep of the hanging script left",
        Duration::from_secs(3),
        || Ok(sleepers()? == 0),
    )?;
    Ok(())
}

/// A tracked interface going down faults the instance (weight 0), and the
/// peer takes over; up again, the master preempts back.
fn tracked_interface_faults(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let n1 = &topo.nodes()[0];
    let (a, b) = (
        format!("{}ta", topo.prefix()),
        format!("{}tb", topo.prefix()),
    );
    n1.run_ok(
        "ip",
        ["link", "add", &a, "type", "veth", "peer", "name", &b],
    )?;
    n1.run_ok("ip", ["link", "set", &a, "up"])?;
    n1.run_ok("ip", ["link", "set", &b, "up"])?;
    let extra = |i: usize| {
        if i == 0 {
            format!("  track_interface {{\n    {a}\n  }}\n")
        } else {
            String::new()
        }
    };
    let d = pair(run, &topo, [200, 100], |_| String::new(), extra)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    n1.run_ok("ip", ["link", "set", &a, "down"])?;
    wait_vip_on(&topo, 1, vip, Duration::from_secs(3), &l)?;
    if !matches!(run, Run::Keepalived) {
        ensure!(d[0].state()? == "fault", "{}", l());
    }
    n1.run_ok("ip", ["link", "set", &a, "up"])?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(5), &l)?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_interface_faults_ha() -> Result<()> {
    tracked_interface_faults(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_interface_faults_ha_socket() -> Result<()> {
    tracked_interface_faults(Run::HaSocket)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_interface_faults_keepalived() -> Result<()> {
    tracked_interface_faults(Run::Keepalived)
}

/// The value in a tracked file, times its weight, changes the priority.
fn tracked_file_changes_priority(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "file")?;
    let file = s.path("prio");
    fs::write(&file, "0\n")?;
    let top = |i: usize| {
        if i == 0 {
            format!(
                "track_file prio {{\n  file {}\n  weight 1\n}}\n",
                file.display()
            )
        } else {
            String::new()
        }
    };
    let extra = |i: usize| {
        if i == 0 {
            "  track_file {\n    prio\n  }\n".into()
        } else {
            String::new()
        }
    };
    let d = pair(run, &topo, [200, 150], top, extra)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    // Replaced as editors and config tools do: a new file renamed over it.
    let tmp = s.path("prio.new");
    fs::write(&tmp, "-100\n")?;
    fs::rename(&tmp, &file)?;
    wait_vip_on(&topo, 1, vip, Duration::from_secs(5), &l)?;
    if !matches!(run, Run::Keepalived) {
        ensure!(d[0].status()?["instances"][0]["priority"] == 100, "{}", l());
    }
    fs::write(&file, "0\n")?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(5), &l)?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_file_changes_priority_ha() -> Result<()> {
    tracked_file_changes_priority(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_file_changes_priority_keepalived() -> Result<()> {
    tracked_file_changes_priority(Run::Keepalived)
}

/// Two instances in a sync group, on two interfaces: a link fault of one on
/// the master moves both to the peer; fixed, both come back.
fn sync_group_moves_together(run: Run) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    // A second link between the nodes, on a subnet of its own.
    let second = Subnet::new((topo.subnet().index() + 256) % 512)?;
    let (l1, l2) = (
        format!("{}s1", topo.prefix()),
        format!("{}s2", topo.prefix()),
    );
    n1.run_ok(
        "ip",
        ["link", "add", &l1, "type", "veth", "peer", "name", &l2],
    )?;
    n1.run_ok("ip", ["link", "set", &l2, "netns", &n2.ns])?;
    for (host, ifname, last) in [(n1, &l1, 1u8), (n2, &l2, 2u8)] {
        let addr = format!("{}/24", second.v4(last));
        host.run_ok("ip", ["addr", "add", &addr, "dev", ifname])?;
        host.run_ok("ip", ["link", "set", ifname, "up"])?;
    }
    let vip1 = topo.subnet().vip4(0);
    let vip2 = second.vip4(0);
    let conf = |i: usize, host: &Host, prio: u8| {
        let mut a = Group::v3(61, vip1.into(), 24);
        a.name = "OUTSIDE".into();
        let mut b = Group::v3(62, vip2.into(), 24);
        b.name = "INSIDE".into();
        let mut block_b = b.instance_block(host, prio);
        block_b = block_b.replace(
            &format!("interface {}", host.ifname),
            &format!("interface {}", if i == 0 { &l1 } else { &l2 }),
        );
        format!(
            "global_defs {{\n  vrrp_garp_master_delay 1\n}}\nvrrp_sync_group FW {{\n  group {{\n    OUTSIDE\n    INSIDE\n  }}\n}}\n{}{}",
            a.instance_block(host, prio),
            block_b
        )
    };
    let d = vec![
        start(run, n1, "sync", &conf(0, n1, 200))?,
        start(run, n2, "sync", &conf(1, n2, 100))?,
    ];
    let l = || logs(&d);
    let both_on = |holder: &Host, other: &Host| -> Result<bool> {
        Ok(holder.has_address(vip1)?
            && holder.has_address(vip2)?
            && !other.has_address(vip1)?
            && !other.has_address(vip2)?)
    };
    wait_until("both VIPs on node 1", Duration::from_secs(8), || {
        both_on(n1, n2)
    })
    .with_context(l)?;
    n1.run_ok("ip", ["link", "set", &l1, "down"])?;
    wait_until("both VIPs on node 2", Duration::from_secs(4), || {
        both_on(n2, n1)
    })
    .with_context(l)?;
    n1.run_ok("ip", ["link", "set", &l1, "up"])?;
    wait_until("both VIPs back on node 1", Duration::from_secs(8), || {
        both_on(n1, n2)
    })
    .with_context(l)?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn sync_group_moves_together_ha() -> Result<()> {
    sync_group_moves_together(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn sync_group_moves_together_ha_socket() -> Result<()> {
    sync_group_moves_together(Run::HaSocket)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn sync_group_moves_together_keepalived() -> Result<()> {
    sync_group_moves_together(Run::Keepalived)
}

/// notify_* and notify run in event order with keepalived's arguments, one
/// at a time, and the FIFO gets the same events as lines.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn notify_scripts_and_fifo_in_order() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "notify")?;
    let log = s.path("events");
    let flag = s.path("healthy");
    fs::write(&flag, "")?;
    // Each script takes a while, so overlapping runs would interleave.
    let rec = |name: &str| -> Result<PathBuf> {
        s.script(
            &format!("{name}.sh"),
            &format!(
                "echo \"start {name} $*\" >> {l}; sleep 0.2; echo \"end {name} $*\" >> {l}",
                l = log.display()
            ),
        )
    };
    let (master, backup, fault, stop, any) = (
        rec("master")?,
        rec("backup")?,
        rec("fault")?,
        rec("stop")?,
        rec("notify")?,
    );
    let fifo = s.path("fifo");
    let top = |i: usize| {
        if i == 0 {
            format!(
                "global_defs {{\n  notify_fifo {}\n}}\nvrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n}}\n",
                fifo.display(),
                flag.display()
            )
        } else {
            String::new()
        }
    };
    let extra = |i: usize| {
        if i == 0 {
            format!(
                "  track_script {{\n    chk\n  }}\n  notify_master {}\n  notify_backup {}\n  notify_fault {}\n  notify_stop {}\n  notify {}\n",
                master.display(),
                backup.display(),
                fault.display(),
                stop.display(),
                any.display()
            )
        } else {
            String::new()
        }
    };
    // A reader on the FIFO from the start (ha creates it).
    let fifo_lines = s.path("fifo.lines");
    let d = pair(Run::Ha, &topo, [200, 100], top, extra)?;
    wait_until("the FIFO", Duration::from_secs(5), || Ok(fifo.exists()))?;
    let reader = {
        let (fifo, out) = (fifo.clone(), fifo_lines.clone());
        std::thread::spawn(move || -> Result<()> {
            use std::io::{BufRead, Write};
            let f = fs::File::open(&fifo)?;
            let mut o = fs::File::create(&out)?;
            for line in std::io::BufReader::new(f).lines() {
                writeln!(o, "{}", line?)?;
            }
            Ok(())
        })
    };
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    fs::remove_file(&flag)?;
    wait_vip_on(&topo, 1, vip, Duration::from_secs(6), &l)?;
    fs::write(&flag, "")?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    let mut d = d;
    let d0 = d.remove(0);
    d0.terminate()?;
    let _ = d0.proc; // stopped on drop after it exits
    wait_until("STOP scripts", Duration::from_secs(10), || {
        Ok(fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("end notify INSTANCE VI_51 STOP"))
    })
    .with_context(|| fs::read_to_string(&log).unwrap_or_default())?;
    let _ = reader.join();
    let text = fs::read_to_string(&log)?;
    let lines: Vec<&str> = text.lines().collect();
    // Strictly sequential: every start is followed by its own end.
    for pair in lines.chunks(2) {
        ensure!(
            pair.len() == 2 && pair[1] == pair[0].replacen("start", "end", 1),
            "scripts overlapped:\n{text}"
        );
    }
    let events: Vec<&str> = lines.iter().step_by(2).copied().collect();
    // The state's own script, then `notify` with INSTANCE NAME STATE PRIORITY.
    let want = [
        "start backup ",
        "start notify INSTANCE VI_51 BACKUP 200",
        "start master ",
        "start notify INSTANCE VI_51 MASTER 200",
        "start fault ",
        "start notify INSTANCE VI_51 FAULT 200",
        "start backup ",
        "start notify INSTANCE VI_51 BACKUP 200",
        "start master ",
        "start notify INSTANCE VI_51 MASTER 200",
        "start stop ",
        "start notify INSTANCE VI_51 STOP 200",
    ];
    ensure!(
        events
            .iter()
            .map(|e| e.trim_end())
            .eq(want.iter().map(|w| w.trim_end())),
        "events:\n{text}"
    );
    let fifo_text = fs::read_to_string(&fifo_lines).unwrap_or_default();
    let want_fifo = [
        "INSTANCE \"VI_51\" BACKUP 200",
        "INSTANCE \"VI_51\" MASTER 200",
        "INSTANCE \"VI_51\" FAULT 200",
        "INSTANCE \"VI_51\" BACKUP 200",
        "INSTANCE \"VI_51\" MASTER 200",
        "INSTANCE \"VI_51\" STOP 200",
    ];
    ensure!(fifo_text.lines().eq(want_fifo), "FIFO:\n{fifo_text}");
    drop(d0);
    Ok(())
}
