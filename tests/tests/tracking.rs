//! The VIP follows the service: `vrrp_script` / `track_script`, tracked
//! interfaces and files, sync groups, notify scripts and the notify FIFO, in
//! keepalived syntax, with `ha run` and default flags (the socket datapath
//! as a twin where the tracker's path differs), and beside keepalived 2.2.7
//! where it can run the same file.
//!
//! What is asserted is what a user sees: who holds the VIP, who answers the
//! client's ARP, what the scripts were called with and in which order.

use std::{fs, path::PathBuf, time::Duration};

use anyhow::{Context, Result, ensure};
use hatest::scenario::{Pair, Run, Scratch, both, only_first, wait_vip_on, write_script};
use hatest::{Daemon, Group, Host, Subnet, Topology, require_root, wait_until};

/// The tracking scenarios' pair: VRID 51, priorities 200 / 100.
fn pair() -> Pair {
    Pair::new("trk", 51)
}

/// [`pair`] with `top` and `extra` on node 1 only: what tracks something
/// on the master.
fn on_first(
    run: Run,
    topo: &Topology,
    top: impl Into<String>,
    extra: impl Into<String>,
) -> Result<Vec<Daemon>> {
    Pair {
        top: only_first(top),
        extra: only_first(extra),
        ..pair()
    }
    .start(run, topo)
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
    let d = Pair {
        top: [0, 1].map(|i| {
            format!(
                "vrrp_script chk_service {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  fall 2\n  rise 2\n}}\n",
                flag(i).display()
            )
        }),
        extra: both("  track_script {\n    chk_service\n  }\n"),
        ..pair()
    }
    .start(run, &topo)?;
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
        let check = &st["checks"][0];
        ensure!(
            check["name"] == "chk_service" && check["state"] == "down",
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
    let d = on_first(
        Run::Ha,
        &topo,
        format!(
            "vrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n  weight -150\n}}\n",
            flag.display()
        ),
        "  track_script {\n    chk\n  }\n",
    )?;
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
    let d = on_first(
        Run::Ha,
        &topo,
        format!(
            "vrrp_script flap {{\n  script {}\n  interval 0.5\n  rise 2\n  fall 2\n}}\n",
            flap.display()
        ),
        "  track_script {\n    flap\n  }\n",
    )?;
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
    let mut d = on_first(
        Run::Ha,
        &topo,
        format!(
            "vrrp_script hang {{\n  script {}\n  interval 1\n  timeout 1\n}}\n",
            hang.display()
        ),
        "  track_script {\n    hang\n  }\n",
    )?;
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
    let extra = only_first(format!("  track_interface {{\n    {a}\n  }}\n"));
    let d = Pair { extra, ..pair() }.start(run, &topo)?;
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
    let top = only_first(format!(
        "track_file prio {{\n  file {}\n  weight 1\n}}\n",
        file.display()
    ));
    let extra = only_first("  track_file {\n    prio\n  }\n");
    let d = Pair {
        top,
        extra,
        priorities: [200, 150],
        ..pair()
    }
    .start(run, &topo)?;
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
fn tracked_file_changes_priority_ha_socket() -> Result<()> {
    tracked_file_changes_priority(Run::HaSocket)
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
    // A second LAN between the nodes, on a bridge and a subnet of its own, so
    // one node's link going down leaves the other's carrier up.
    let second = Subnet::new((topo.subnet().index() + 256) % 512)?;
    let p = topo.prefix();
    let br = format!("{p}b2");
    let (l1, l2) = (format!("{p}s1"), format!("{p}s2"));
    let ip = |args: &[&str]| -> Result<()> {
        let st = std::process::Command::new("ip").args(args).status()?;
        ensure!(st.success(), "ip {args:?} failed");
        Ok(())
    };
    let bns = topo.bridge_ns();
    ip(&["-n", bns, "link", "add", &br, "type", "bridge"])?;
    ip(&["-n", bns, "link", "set", &br, "up"])?;
    for (host, ifname, port) in [(n1, &l1, format!("{p}q1")), (n2, &l2, format!("{p}q2"))] {
        ip(&[
            "link", "add", ifname, "netns", &host.ns, "type", "veth", "peer", "name", &port,
            "netns", bns,
        ])?;
        ip(&["-n", bns, "link", "set", &port, "master", &br])?;
        ip(&["-n", bns, "link", "set", &port, "up"])?;
    }
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
        run.start(n1, "sync", &conf(0, n1, 200))?,
        run.start(n2, "sync", &conf(1, n2, 100))?,
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
/// at a time, and the FIFO gets the same events as lines. keepalived, on
/// the same file, runs the same scripts with the same arguments and writes
/// the same FIFO lines, but starts each script without waiting for the one
/// before (they may overlap and finish out of order): for it the scripts'
/// events are compared as a set.
fn notify_scripts_and_fifo_in_order(run: Run) -> Result<()> {
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
    let top = only_first(format!(
        "global_defs {{\n  notify_fifo {}\n}}\nvrrp_script chk {{\n  script \"/usr/bin/test -e {}\"\n  interval 1\n}}\n",
        fifo.display(),
        flag.display()
    ));
    let extra = only_first(format!(
        "  track_script {{\n    chk\n  }}\n  notify_master {}\n  notify_backup {}\n  notify_fault {}\n  notify_stop {}\n  notify {}\n",
        master.display(),
        backup.display(),
        fault.display(),
        stop.display(),
        any.display()
    ));
    // A reader on the FIFO from the start (ha creates it).
    let fifo_lines = s.path("fifo.lines");
    let d = Pair {
        top,
        extra,
        ..pair()
    }
    .start(run, &topo)?;
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
    let strict = !matches!(run, Run::Keepalived);
    let mut events: Vec<&str> = if strict {
        // Strictly sequential: every start is followed by its own end.
        for pair in lines.chunks(2) {
            ensure!(
                pair.len() == 2 && pair[1] == pair[0].replacen("start", "end", 1),
                "scripts overlapped:\n{text}"
            );
        }
        lines.iter().step_by(2).copied().collect()
    } else {
        lines
            .iter()
            .filter(|l| l.starts_with("start"))
            .copied()
            .collect()
    };
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
    let mut want: Vec<&str> = want.to_vec();
    if !strict {
        events.sort_unstable();
        want.sort_unstable();
    }
    ensure!(
        events
            .iter()
            .map(|e| e.trim_end())
            .eq(want.iter().map(|w| w.trim_end())),
        "{run:?} events:\n{text}"
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
    ensure!(
        fifo_text.lines().eq(want_fifo),
        "{run:?} FIFO:\n{fifo_text}"
    );
    drop(d0);
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn notify_scripts_and_fifo_in_order_ha() -> Result<()> {
    notify_scripts_and_fifo_in_order(Run::Ha)
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn notify_scripts_and_fifo_keepalived() -> Result<()> {
    notify_scripts_and_fifo_in_order(Run::Keepalived)
}

/// With `enable_script_security`, a script in a directory anyone can write
/// is refused: `check-config` names it and fails; `ha run` logs it and runs
/// without it (keepalived disables such a script), so its failure moves
/// nothing.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn insecure_script_is_refused() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "insecure")?;
    let open_dir = s.path("open");
    fs::create_dir(&open_dir)?;
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777))?;
    let script = write_script(&open_dir.join("check.sh"), "exit 1")?;
    let p = Pair {
        top: only_first(format!(
            "global_defs {{\n  enable_script_security\n}}\nvrrp_script chk {{\n  script {}\n  interval 1\n}}\n",
            script.display()
        )),
        extra: only_first("  track_script {\n    chk\n  }\n"),
        ..pair()
    };
    // check-config refuses the file and says why.
    let conf = s.path("check.conf");
    fs::write(&conf, p.conf(&topo, 0))?;
    let out = std::process::Command::new(hatest::ha_bin()?)
        .arg("check-config")
        .arg(&conf)
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "check-config accepted it: {err}");
    ensure!(err.contains(&*open_dir.to_string_lossy()), "{err}");
    // ha run starts, without the script.
    let d = p.start(Run::Ha, &topo)?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    std::thread::sleep(Duration::from_secs(2));
    wait_vip_on(&topo, 0, vip, Duration::from_secs(1), &l)?;
    let log = d[0].log();
    ensure!(
        log.contains("check.sh"),
        "the refusal is not logged:\n{log}"
    );
    Ok(())
}

/// The built-in checks (TOML only: `probe = { tcp = … }` and `{ http = … }`),
/// which fork nothing: nginx stopped on the master fails both, the master
/// faults and the backup takes the VIP; nginx back, the master returns.
fn builtin_checks_follow_nginx(datapath: &str) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "builtin")?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let nginx =
        hatest::services::Nginx::start(n1, &s.path("nginx"), n1.ipv4.into(), 8080, "node 1")?;
    let vip = topo.subnet().vip4(0);
    let toml = |host: &Host, priority: u8, track: bool| {
        let mut t = format!(
            "[[instances]]\nname = \"VI_81\"\ninterface = \"{}\"\nvrid = 81\nversion = 3\npriority = {priority}\nadvert_int_cs = 10\nvips = [\"{vip}/24\"]\ndatapath = \"{datapath}\"\n",
            host.ifname
        );
        if track {
            t.push_str("[instances.track]\nchecks = [{ name = \"port\" }, { name = \"page\" }]\n");
            t.push_str(&format!(
                "[[checks]]\nname = \"port\"\ninterval_ms = 200\nfall = 2\nprobe = {{ tcp = {{ addr = \"{a}\", port = 8080 }} }}\n\
                 [[checks]]\nname = \"page\"\ninterval_ms = 200\nfall = 2\nprobe = {{ http = {{ url = \"http://{a}:8080/\", status = [200] }} }}\n",
                a = n1.ipv4
            ));
        }
        t
    };
    let d = vec![
        Daemon::ha(n1, "builtin", &toml(n1, 200, true))?,
        Daemon::ha(n2, "builtin", &toml(n2, 100, false))?,
    ];
    let l = || logs(&d);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    nginx.stop()?;
    wait_vip_on(&topo, 1, vip, Duration::from_secs(5), &l)?;
    let st = d[0].status()?;
    ensure!(st["instances"][0]["state"] == "fault", "{st}");
    nginx.start_again()?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(5), &l)?;
    // No process was forked for the checks: ha has no child.
    let pid = d[0].status()?["pid"].as_u64().unwrap_or(0);
    let children =
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    ensure!(children.trim().is_empty(), "ha has children: {children}");
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn builtin_checks_follow_nginx_ha() -> Result<()> {
    builtin_checks_follow_nginx("xdp")
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn builtin_checks_follow_nginx_ha_socket() -> Result<()> {
    builtin_checks_follow_nginx("socket")
}

/// `vrrp_track_process`: the master faults while its process is gone (the
/// scan, no fork of pidof), and recovers when it runs again.
fn tracked_process_faults_the_master(run: Run, tag: &str) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let s = Scratch::new(&topo, "proc")?;
    // A process with a name of its own: a copy of sleep.
    let name = format!("hap{tag}{}", std::process::id() % 100_000);
    let exe = s.path(&name);
    fs::copy("/bin/sleep", &exe)?;
    let spawn = || std::process::Command::new(&exe).arg("600").spawn();
    let mut proc = spawn()?;
    let d = on_first(
        run,
        &topo,
        format!("vrrp_track_process svc {{\n  process {name}\n}}\n"),
        "  track_process {\n    svc\n  }\n",
    )?;
    let vip = topo.subnet().vip4(0);
    let l = || logs(&d);
    let result = (|| -> Result<()> {
        wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
        proc.kill()?;
        proc.wait()?;
        wait_vip_on(&topo, 1, vip, Duration::from_secs(5), &l)?;
        ensure!(d[0].state()? == "fault", "{}", l());
        proc = spawn()?;
        wait_vip_on(&topo, 0, vip, Duration::from_secs(5), &l)?;
        Ok(())
    })();
    let _ = proc.kill();
    let _ = proc.wait();
    result
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_process_faults_the_master_ha() -> Result<()> {
    tracked_process_faults_the_master(Run::Ha, "x")
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn tracked_process_faults_the_master_ha_socket() -> Result<()> {
    tracked_process_faults_the_master(Run::HaSocket, "s")
}

// No keepalived twin: keepalived 2.2.7 watches processes through the
// kernel's process connector, which refuses listeners outside the initial
// network namespace ("Failed to set/clear process event listen - errno 111"),
// so in a test namespace it sits in FAULT for good. ha scans /proc instead.
