//! The real services of the health-check scenarios, without `ha`: nginx and
//! MariaDB in a node's namespace reached from the client, stopped and started
//! the way a script does it, and the loop-mounted filesystem a notify script
//! mounts. If these fail, a failing scenario test says nothing about `ha`.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use hatest::services::{LoopFs, Mariadb, Nginx, loopfs};
use hatest::{HttpGet, TempDir, Topology, require_root};

const HTTP_TIMEOUT: Duration = Duration::from_secs(2);
const ANY4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn nginx_serves_its_node_and_scripts_stop_and_start_it() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let tmp = TempDir::new("nginx")?;
    let n1 = &topo.nodes()[0];
    let client = topo.client();

    let t0 = Instant::now();
    let web = Nginx::start(n1, &tmp.sub("nginx-n1")?, ANY4, 80, "served by n1\n")?;
    eprintln!("nginx ready in {:?}", t0.elapsed());
    let got = client.http_get(&web.url(), HTTP_TIMEOUT)?;
    ensure!(
        got.body() == Some("served by n1\n"),
        "{got:?}\n{}",
        web.error_log()
    );
    // Over IPv6 too (`listen 80` is IPv4 only, so this one is refused).
    let v6 = format!("http://[{}]/", n1.ipv6.expect("topology has IPv6"));
    ensure!(client.http_get(&v6, HTTP_TIMEOUT)? == HttpGet::Refused);

    // A script stops it with the command line the helper gives.
    let pid = web.pid().expect("running");
    n1.run_ok("sh", ["-c", &web.stop_cmd()])?;
    hatest::wait_until("nginx to exit", Duration::from_secs(5), || {
        Ok(!web.is_running())
    })?;
    ensure!(web.pid().is_none(), "master {pid} still running");
    let got = client.http_get(&web.url(), HTTP_TIMEOUT)?;
    ensure!(got == HttpGet::Refused, "{got:?}");
    ensure!(!n1.run("sh", ["-c", &web.check_cmd()])?.status.success());

    web.start_again()?;
    ensure!(n1.run("sh", ["-c", &web.check_cmd()])?.status.success());
    web.set_body("n1 again\n")?;
    let got = client.http_get(&web.url(), HTTP_TIMEOUT)?;
    ensure!(got.body() == Some("n1 again\n"), "{got:?}");

    // A crash: master and worker gone at once, the port refused.
    web.kill()?;
    ensure!(!web.is_running());
    let got = client.http_get(&web.url(), HTTP_TIMEOUT)?;
    ensure!(got == HttpGet::Refused, "{got:?}");
    // nginx starts over a stale pid file.
    web.start_again()?;
    ensure!(client.http_get(&web.url(), HTTP_TIMEOUT)?.is_served());
    web.stop()?;
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn nginx_on_a_vip_the_node_does_not_hold_yet() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let tmp = TempDir::new("nginx-vip")?;
    let n1 = &topo.nodes()[0];
    let vip = topo.subnet().vip4(0);
    // As on a backup: nginx binds the VIP before the node holds it.
    n1.sysctl("net.ipv4.ip_nonlocal_bind", "1")?;
    n1.run_ok("ip", ["link", "set", "lo", "up"])?;
    let web = Nginx::start(n1, &tmp.sub("nginx")?, vip.into(), 8080, "vip on n1\n")?;
    let got = topo
        .client()
        .http_get(&web.url(), Duration::from_millis(300))?;
    ensure!(
        got == HttpGet::NoAnswer,
        "nobody holds the VIP yet: {got:?}"
    );
    n1.run_ok(
        "ip",
        ["addr", "add", &format!("{vip}/24"), "dev", &n1.ifname],
    )?;
    let got = topo.client().http_get(&web.url(), HTTP_TIMEOUT)?;
    ensure!(got.body() == Some("vip on n1\n"), "{got:?}");
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn mariadb_answers_the_client_and_survives_stop_and_crash() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let tmp = TempDir::new("mariadb")?;
    let n1 = &topo.nodes()[0];
    let client = topo.client();

    let db = Mariadb::start(n1, &tmp.sub("mariadb-n1")?, ANY4, 3306)?;
    eprintln!("mariadb startup: {:?}", db.startup());
    ensure!(db.query(client, n1.ipv4.into(), "SELECT 1")? == "1");
    db.query(
        client,
        n1.ipv4.into(),
        "CREATE DATABASE t; CREATE TABLE t.x (v INT); INSERT INTO t.x VALUES (42)",
    )?;
    ensure!(n1.run("sh", ["-c", &db.check_cmd()])?.status.success());

    // A script's clean shutdown.
    let t0 = Instant::now();
    n1.run_ok("sh", ["-c", &db.stop_cmd()])?;
    hatest::wait_until("mariadbd to exit", Duration::from_secs(10), || {
        Ok(!db.is_running())
    })?;
    eprintln!("mariadb clean stop in {:?}", t0.elapsed());
    ensure!(db.query(client, n1.ipv4.into(), "SELECT 1").is_err());
    ensure!(!n1.run("sh", ["-c", &db.check_cmd()])?.status.success());

    let t0 = Instant::now();
    db.start_again()?;
    eprintln!("mariadb restart in {:?}", t0.elapsed());
    ensure!(db.query(client, n1.ipv4.into(), "SELECT v FROM t.x")? == "42");

    // A crash, then InnoDB recovery on the next start.
    db.kill()?;
    ensure!(!db.is_running());
    ensure!(db.query(client, n1.ipv4.into(), "SELECT 1").is_err());
    let t0 = Instant::now();
    db.start_again()?;
    eprintln!("mariadb start after crash in {:?}", t0.elapsed());
    ensure!(db.query(client, n1.ipv4.into(), "SELECT v FROM t.x")? == "42");
    db.stop()?;
    ensure!(!db.is_running());
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn loopfs_mount_by_script_and_cleanup_leaves_nothing() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(1).build()?;
    let n1 = &topo.nodes()[0];
    let tmp = TempDir::new("loopfs")?;
    let dir = tmp.path().to_path_buf();
    let t0 = Instant::now();
    let fs_ = LoopFs::create(&dir, 8)?;
    eprintln!("mkfs.ext4 of 8 MiB in {:?}", t0.elapsed());

    // As a notify script under `ha` does it: `ha` runs with `nsenter --net`
    // (Host::command's default), so the mount is the machine's. (`ip netns exec`,
    // as Host::run uses, would mount into a private mount namespace.)
    let script = |line: &str| n1.command("sh").args(["-c", line]).run_ok();
    script(&fs_.mount_cmd())?;
    ensure!(fs_.is_mounted()?);
    ensure!(fs_.loop_devices()?.len() == 1, "{:?}", fs_.loop_devices()?);
    fs::write(fs_.mount_point().join("data"), "kept")?;
    script(&fs_.umount_cmd())?;
    ensure!(!fs_.is_mounted()?);
    ensure!(
        fs_.loop_devices()?.is_empty(),
        "umount releases the loop device"
    );

    // The data is on the image, not in the mount point.
    ensure!(!fs_.mount_point().join("data").exists());
    fs_.mount()?;
    ensure!(fs::read_to_string(fs_.mount_point().join("data"))? == "kept");

    // Left mounted, with a busy loop device as a crashed script leaves it: the
    // cleanup undoes both.
    let out = std::process::Command::new("losetup")
        .args(["-f", "--show"])
        .arg(fs_.image())
        .output()?;
    ensure!(
        out.status.success(),
        "losetup -f: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(fs_.loop_devices()?.len() == 2);
    drop(fs_);
    ensure!(loopfs::mounts_under(&dir)?.is_empty());
    let left = std::process::Command::new("losetup")
        .args(["-j"])
        .arg(dir.join("fs.img"))
        .output()?;
    ensure!(
        left.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&left.stdout)
    );
    drop(tmp);
    ensure!(!dir.exists());
    Ok(())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn a_panicking_test_leaves_no_service_mount_or_directory() -> Result<()> {
    require_root();
    let mut seen = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let topo = Topology::builder().nodes(1).build().unwrap();
        let tmp = TempDir::new("panic").unwrap();
        let n1 = &topo.nodes()[0];
        let web = Nginx::start(n1, &tmp.sub("nginx").unwrap(), ANY4, 80, "x").unwrap();
        let fs_ = LoopFs::create(tmp.path(), 4).unwrap();
        fs_.mount().unwrap();
        seen = Some((tmp.path().to_path_buf(), web.pid().unwrap()));
        panic!("the test fails while nginx runs and the filesystem is mounted");
    }));
    ensure!(outcome.is_err());
    let (dir, pid) = seen.expect("got as far as the panic");
    ensure!(loopfs::mounts_under(&dir)?.is_empty());
    ensure!(!dir.exists(), "{} left behind", dir.display());
    let comm = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie_or_gone = comm
        .rsplit_once(") ")
        .is_none_or(|(_, r)| r.starts_with('Z'));
    ensure!(zombie_or_gone, "nginx {pid} still running: {comm}");
    Ok(())
}
