//! Faults that must end in a safe state (the host stops claiming the VIP, the
//! group keeps exactly one master), run as a user runs `ha`: default flags.

use std::{net::IpAddr, thread, time::Duration};

use anyhow::{Context, Result, ensure};
use hatest::{Daemon, Group, Host, Topology, logs, require_root, wait_until};

/// `ha run` as a user starts it: no flags beyond the config and status file.
fn ha(host: &Host, tag: &str, conf: &str) -> Result<Daemon> {
    Daemon::ha_with(host, tag, conf, &[])
}

fn owns(host: &Host, vip: IpAddr) -> bool {
    host.has_address(vip).unwrap_or(false)
}

/// A second `ha run` in the namespace of a running one refuses to start,
/// names the lock and its holder, and leaves the first one's VIP alone.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_second_ha_in_the_same_namespace_refuses_to_start() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let n1 = &topo.nodes()[0];
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let conf = Group::v3(30, vip, 24).keepalived_conf(n1, 200);
    let first = ha(n1, "ha", &conf)?;
    first.wait_state("master", Duration::from_secs(3))?;

    let second = ha(n1, "ha2", &conf)?;
    let status = second
        .proc
        .wait_timeout(Duration::from_secs(10))?
        .with_context(|| format!("the second ha is still running\n{}", second.log()))?;
    ensure!(
        !status.success(),
        "the second ha exited 0\n{}",
        second.log()
    );
    let err = second.proc.stderr();
    ensure!(
        err.contains("another ha is already running")
            && err.contains(&first.proc.pid().to_string()),
        "no clear error naming the holder: {err}"
    );
    // The first daemon never noticed.
    thread::sleep(Duration::from_millis(500));
    ensure!(first.proc.try_wait()?.is_none(), "the first ha died");
    ensure!(first.state()? == "master", "{}", first.log());
    ensure!(owns(n1, vip), "the first ha lost its VIP\n{}", first.log());
    Ok(())
}

/// SIGHUP, SIGUSR1 and SIGUSR2 mean reload and dumps to keepalived users;
/// until they do something here they are logged, and the master stays master.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn hup_usr1_usr2_are_logged_and_ignored() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let n1 = &topo.nodes()[0];
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let d = ha(n1, "ha", &Group::v3(31, vip, 24).keepalived_conf(n1, 200))?;
    d.wait_state("master", Duration::from_secs(3))?;
    for (signal, name) in [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGUSR2, "SIGUSR2"),
    ] {
        d.proc.kill(signal)?;
        wait_until(&format!("{name} logged"), Duration::from_secs(3), || {
            Ok(d.proc.stderr().contains(&format!("{name}: ignored")))
        })
        .with_context(|| d.log())?;
        ensure!(
            d.proc.try_wait()?.is_none(),
            "{name} killed ha\n{}",
            d.log()
        );
    }
    ensure!(d.state()? == "master" && owns(n1, vip), "{}", d.log());
    Ok(())
}

/// A VIP the kernel refuses (a label longer than IFNAMSIZ) puts the would-be
/// master in fault: it never holds the VIP or answers ARP for it, never tells
/// the LAN it is master, and the lower-priority node serves throughout, with
/// no transition after its first.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_vip_the_kernel_refuses_faults_the_instance() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip = topo.subnet().vip4(0);
    let group = Group::v3(32, vip.into(), 24);
    let line = format!("    {vip}/24\n");
    let bad = group.keepalived_conf(n1, 200).replace(
        &line,
        &format!("    {vip}/24 label {}:waytoolonglabel\n", n1.ifname),
    );
    ensure!(bad.contains("waytoolonglabel"), "{bad}");
    let d1 = ha(n1, "ha", &bad)?;
    let d2 = ha(n2, "ha", &group.keepalived_conf(n2, 100))?;
    d2.wait_state("master", Duration::from_secs(5))
        .with_context(|| logs([&d1, &d2]))?;
    wait_until("n1 to count a fault", Duration::from_secs(5), || {
        Ok(d1.counter("faults")? >= 1)
    })
    .with_context(|| logs([&d1, &d2]))?;
    // Over several of n1's retries (each after about a second): n2 keeps the
    // VIP, n1 never holds it, and only n2 answers ARP.
    for _ in 0..6 {
        ensure!(
            owns(n2, vip.into()) && !owns(n1, vip.into()),
            "VIP not on n2 alone\n{}",
            logs([&d1, &d2])
        );
        let arp = topo.client().arping(vip, 2, Duration::from_millis(100))?;
        ensure!(
            arp.answered_only_by(n2.mac()),
            "ARP for the VIP: {arp:?}\n{}",
            logs([&d1, &d2])
        );
    }
    ensure!(d1.counter("faults")? >= 2, "n1 did not retry\n{}", d1.log());
    ensure!(
        d2.counter("became_master")? == 1 && d2.state()? == "master",
        "n2 was disturbed by n1's retries\n{}",
        logs([&d1, &d2])
    );
    Ok(())
}

/// A master whose adverts cannot leave the host (an nftables rule drops them
/// on output: sendmsg fails) must not keep the VIP: it faults, the backup,
/// hearing nothing, takes over, and the VIP ends on exactly one host.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_master_that_cannot_send_gives_the_vip_up() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(33, vip, 24);
    let d1 = ha(n1, "ha", &group.keepalived_conf(n1, 200))?;
    let d2 = ha(n2, "ha", &group.keepalived_conf(n2, 100))?;
    d1.wait_state("master", Duration::from_secs(3))
        .with_context(|| logs([&d1, &d2]))?;
    d2.wait_state("backup", Duration::from_secs(2))
        .with_context(|| logs([&d1, &d2]))?;

    n1.nft(
        "table inet hatest {\n  chain out {\n    type filter hook output priority 0;\n    \
         meta l4proto vrrp drop\n  }\n}\n",
    )?;
    d2.wait_state("master", Duration::from_secs(3))
        .with_context(|| logs([&d1, &d2]))?;
    wait_until("n1 to give the VIP up", Duration::from_secs(3), || {
        Ok(!owns(n1, vip))
    })
    .with_context(|| logs([&d1, &d2]))?;
    ensure!(d1.counter("faults")? >= 1, "{}", d1.log());
    // n1 retries now and then; whatever it does, it never keeps the VIP
    // beside n2 for longer than one failed send.
    let mut both = 0;
    for _ in 0..30 {
        if owns(n1, vip) && owns(n2, vip) {
            both += 1;
        }
        thread::sleep(Duration::from_millis(100));
    }
    ensure!(
        both <= 1,
        "both held the VIP in {both} of 30 samples\n{}",
        logs([&d1, &d2])
    );
    ensure!(owns(n2, vip), "n2 lost the VIP\n{}", logs([&d1, &d2]));
    Ok(())
}

/// An `ha` killed with SIGKILL leaves its XDP program, pins and a stale
/// liveness gate (on purpose: its host stops answering ARP). The next `ha
/// run` removes them whatever its datapath: a raw-socket daemon that came
/// later must not have its ARP replies dropped by the dead one's gate.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn pins_of_a_killed_ha_are_removed_by_the_next_one_on_either_datapath() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let n1 = &topo.nodes()[0];
    let vip = topo.subnet().vip4(0);
    let conf = Group::v3(34, vip.into(), 24).keepalived_conf(n1, 200);
    let pins = hatest::pins::ha_pin_dir(&n1.ns).context("no pin dir")?;
    let first = ha(n1, "ha", &conf)?;
    first.wait_state("master", Duration::from_secs(3))?;
    first.crash()?;
    ensure!(
        pins.exists(),
        "a killed ha left no pins at {}",
        pins.display()
    );
    drop(first);

    let second = Daemon::ha_with(n1, "ha2", &conf, &["--datapath", "socket"])?;
    second.wait_state("master", Duration::from_secs(3))?;
    ensure!(
        !pins.exists(),
        "pins still at {}\n{}",
        pins.display(),
        second.log()
    );
    ensure!(
        second
            .proc
            .stderr()
            .contains("pins of an ha that was killed"),
        "no word about the leftovers\n{}",
        second.log()
    );
    let arp = topo.client().arping(vip, 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(n1.mac()),
        "ARP for the VIP: {arp:?}\n{}",
        second.log()
    );
    Ok(())
}

/// Detaches a test's own XDP program by removing its pins, also on panic.
struct ForeignProgram(std::path::PathBuf);

impl Drop for ForeignProgram {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_dir("/sys/fs/bpf/ha");
    }
}

/// Somebody else's XDP program on the VRRP interface: the raw-socket
/// datapath runs and warns that it may see adverts and ARP first; the XDP
/// datapath refuses to replace it, with an error that says what to do.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_foreign_xdp_program_is_reported_never_replaced() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let n1 = &topo.nodes()[0];
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let conf = Group::v3(35, vip, 24).keepalived_conf(n1, 200);
    let foreign =
        ForeignProgram(std::path::Path::new("/sys/fs/bpf/ha").join(format!("{}-foreign", n1.ns)));
    n1.command(hatest::ha_bin()?)
        .args(["datapath", "attach", "--interface", &n1.ifname, "--pin-dir"])
        .arg(&foreign.0)
        .run_ok()?;

    let xdp = ha(n1, "ha", &conf)?;
    let status = xdp
        .proc
        .wait_timeout(Duration::from_secs(10))?
        .with_context(|| format!("ha replaced or ignored the program\n{}", xdp.log()))?;
    ensure!(!status.success(), "{}", xdp.log());
    ensure!(
        xdp.proc.stderr().contains("another XDP program"),
        "no clear error\n{}",
        xdp.log()
    );
    ensure!(
        foreign.0.exists(),
        "the foreign program's pins were removed"
    );
    drop(xdp);

    let socket = Daemon::ha_with(n1, "ha2", &conf, &["--datapath", "socket"])?;
    socket.wait_state("master", Duration::from_secs(3))?;
    ensure!(
        socket
            .proc
            .stderr()
            .contains("another XDP program is attached here"),
        "no warning\n{}",
        socket.log()
    );
    Ok(())
}

/// An interface deleted and created again (a new ifindex) is picked up: the
/// instance on it faults while it is gone, then runs again on the new one
/// and the group ends with one master again, the higher priority.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_deleted_and_recreated_interface_is_picked_up_again() -> Result<()> {
    recreated_interface(&[])
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_deleted_and_recreated_interface_is_picked_up_again_on_sockets() -> Result<()> {
    recreated_interface(&["--datapath", "socket"])
}

fn recreated_interface(flags: &[&str]) -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip: IpAddr = topo.subnet().vip4(0).into();
    let group = Group::v3(36, vip, 24);
    let d1 = Daemon::ha_with(n1, "ha", &group.keepalived_conf(n1, 200), flags)?;
    let d2 = Daemon::ha_with(n2, "ha", &group.keepalived_conf(n2, 100), flags)?;
    d1.wait_state("master", Duration::from_secs(3))
        .with_context(|| logs([&d1, &d2]))?;
    d2.wait_state("backup", Duration::from_secs(2))
        .with_context(|| logs([&d1, &d2]))?;

    topo.recreate_link(n1)?;
    // n2 covers the gap, unless n1, started again on the new interface,
    // wins the race: both wait about one Master_Down_Interval from n1's
    // last advert, and n2 may be master for an instant only.
    wait_until(
        "n2 to take over or n1 to be back",
        Duration::from_secs(3),
        || Ok(d2.counter("became_master")? >= 1 || d1.state()? == "master"),
    )
    .with_context(|| logs([&d1, &d2]))?;
    // n1 starts again on the new interface and preempts.
    d1.wait_state("master", Duration::from_secs(10))
        .with_context(|| logs([&d1, &d2]))?;
    d2.wait_state("backup", Duration::from_secs(3))
        .with_context(|| logs([&d1, &d2]))?;
    ensure!(
        d1.proc.try_wait()?.is_none(),
        "ha on n1 exited\n{}",
        d1.log()
    );
    ensure!(
        owns(n1, vip) && !owns(n2, vip),
        "VIP not on n1 alone\n{}",
        logs([&d1, &d2])
    );
    let arp = topo
        .client()
        .arping(topo.subnet().vip4(0), 3, Duration::from_millis(50))?;
    ensure!(
        arp.answered_only_by(n1.mac()),
        "ARP for the VIP: {arp:?}\n{}",
        logs([&d1, &d2])
    );
    Ok(())
}
