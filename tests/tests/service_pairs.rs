//! The pairs `ha` is meant to front, end to end: two nodes, a real service on
//! each, a keepalived.conf as its users write it (only addresses, interface
//! names and paths adapted to the test net), `ha run` with default flags, and
//! a client that reaches the service through the VIP.
//!
//! - an nginx pair whose `vrrp_script` restarts nginx once before it gives
//!   up, with a negative weight that hands the VIP to the backup;
//! - a MySQL (MariaDB) pair as the field article configures it: both
//!   `state BACKUP` + `nopreempt`, a `virtual_server` whose `TCP_CHECK`
//!   guards the node's own server and whose `notify_down` stops the node's
//!   daemon, and the article's missing final `}`;
//! - a Heartbeat + DRBD style takeover: `notify_master` mounts the data
//!   filesystem then starts the service on it, the other notify scripts stop
//!   them in reverse.
//!
//! What is asserted is what a user sees: who holds the VIP, who serves the
//! client, in which order the scripts brought resources up and down.

use std::{
    fs,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use hatest::scenario::{wait_vip_on, write_script as script};
use hatest::services::{LoopFs, Mariadb, Nginx};
use hatest::{Daemon, HttpGet, TempDir, Topology, require_root, wait_until};

const ANY4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

fn logs(d: &[&Daemon]) -> String {
    hatest::logs(d.iter().copied())
}

/// Polls `http://VIP/` from the client until it serves `body` (bounded);
/// what it got last is in the error.
fn wait_page(topo: &Topology, vip: Ipv4Addr, body: &str, within: Duration) -> Result<()> {
    let url = format!("http://{vip}/");
    let start = Instant::now();
    let mut last = HttpGet::NoAnswer;
    while start.elapsed() < within {
        last = topo.client().http_get(&url, Duration::from_millis(500))?;
        if last.body() == Some(body) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("the client never got {body:?} from {url} within {within:?}; last: {last:?}")
}

// ---------------------------------------------------------------- nginx pair

/// The nginx pair's keepalived.conf, as the usual nginx + keepalived guides
/// write it: the master `state MASTER` at 150, the backup at 100, and a check
/// whose weight -60 takes the master below the backup.
fn nginx_conf(
    router_id: &str,
    state: &str,
    ifname: &str,
    priority: u8,
    check: &Path,
    vip: Ipv4Addr,
) -> String {
    format!(
        r#"! Configuration File for keepalived
global_defs {{
   router_id {router_id}
}}

vrrp_script chk_nginx {{
    script "{check}"
    interval 1
    fall 2
    rise 2
    weight -60
}}

vrrp_instance VI_1 {{
    state {state}
    interface {ifname}
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 1111
    }}
    virtual_ipaddress {{
        {vip}/24
    }}
    track_script {{
        chk_nginx
    }}
}}
"#,
        check = check.display()
    )
}

/// check_nginx.sh as users write it: if nginx does not answer, restart it
/// once; fail only if it still does not answer.
fn check_nginx(path: &Path, web: &Nginx) -> Result<PathBuf> {
    script(
        path,
        &format!(
            "{check} && exit 0\n{start}\n{check} || exit 1\n",
            check = web.check_cmd(),
            start = web.start_cmd()
        ),
    )
}

/// A killed nginx is restarted by the check script (the VIP stays); an
/// nginx that cannot start again lowers the master below the backup, which
/// takes the VIP and serves the client.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn nginx_pair_restarts_once_then_hands_over() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let tmp = TempDir::new("pair-nginx")?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip = topo.subnet().vip4(0);
    topo.client().flush_neighbors()?;
    let web1 = Nginx::start(n1, &tmp.sub("nginx-n1")?, ANY4, 80, "served by n1\n")?;
    let web2 = Nginx::start(n2, &tmp.sub("nginx-n2")?, ANY4, 80, "served by n2\n")?;
    let chk1 = check_nginx(&tmp.path().join("check_nginx-n1.sh"), &web1)?;
    let chk2 = check_nginx(&tmp.path().join("check_nginx-n2.sh"), &web2)?;
    let d1 = Daemon::ha(
        n1,
        "pair",
        &nginx_conf("nginx_n1", "MASTER", &n1.ifname, 150, &chk1, vip),
    )?;
    let d2 = Daemon::ha(
        n2,
        "pair",
        &nginx_conf("nginx_n2", "BACKUP", &n2.ifname, 100, &chk2, vip),
    )?;
    let l = || logs(&[&d1, &d2]);
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    wait_page(&topo, vip, "served by n1\n", Duration::from_secs(3)).with_context(l)?;

    // nginx crashes once: the next check restarts it and passes.
    let pid = web1.pid().context("nginx on n1 runs")?;
    web1.kill()?;
    wait_until(
        "the check script to restart nginx on n1",
        Duration::from_secs(5),
        || Ok(web1.pid().is_some_and(|p| p != pid)),
    )
    .with_context(|| format!("{}\n{}", web1.error_log(), l()))?;
    // Longer than fall × interval: a failing check would have shown by now.
    std::thread::sleep(Duration::from_millis(2500));
    ensure!(d2.counter("became_master")? == 0, "n2 took over:\n{}", l());
    ensure!(d1.status()?["instances"][0]["priority"] == 150, "{}", l());
    wait_vip_on(&topo, 0, vip, Duration::from_secs(1), &l)?;
    wait_page(&topo, vip, "served by n1\n", Duration::from_secs(2)).with_context(l)?;

    // nginx's configuration is gone (a bad deploy), then nginx dies: the
    // restart fails too.
    fs::rename(web1.conf_path(), tmp.path().join("nginx-n1.conf.away"))?;
    web1.kill()?;
    // fall × interval, then the backup's master-down interval (3 × 1 s + skew).
    wait_vip_on(&topo, 1, vip, Duration::from_secs(12), &l)?;
    wait_page(&topo, vip, "served by n2\n", Duration::from_secs(3)).with_context(l)?;
    let st = d1.status()?;
    ensure!(st["instances"][0]["state"] == "backup", "{st}\n{}", l());
    ensure!(st["instances"][0]["priority"] == 90, "{st}\n{}", l());
    ensure!(
        !web1.is_running(),
        "nginx on n1 came back:\n{}",
        web1.error_log()
    );
    Ok(())
}

// ---------------------------------------------------------------- MySQL pair

/// The MySQL pair's keepalived.conf as the widely copied master-master
/// article writes it — both `state BACKUP` with `nopreempt`, priorities
/// 100/90, a `virtual_server` on the VIP whose only real server is the node
/// itself with a `TCP_CHECK` and a `notify_down` — including the article's
/// missing final `}` (the `virtual_server` block is never closed).
///
/// The article's checker timings (`nb_get_retry 3`, `delay_before_retry 3`)
/// take up to 11 s to see a dead server; `delay_before_retry` is 0.5 here to
/// keep the test short, everything else is as published.
fn mysql_conf(ifname: &str, priority: u8, vip: Ipv4Addr, node: Ipv4Addr, down: &Path) -> String {
    format!(
        r#"! Configuration File for keepalived
global_defs {{
   notification_email {{
     root@localhost
   }}
   notification_email_from keepalived@localhost
   smtp_server 127.0.0.1
   smtp_connect_timeout 30
   router_id MYSQL_HA
}}

vrrp_instance VI_1 {{
    state BACKUP
    interface {ifname}
    virtual_router_id 51
    priority {priority}
    advert_int 1
    nopreempt
    authentication {{
        auth_type PASS
        auth_pass 1111
    }}
    virtual_ipaddress {{
        {vip}
    }}
}}

virtual_server {vip} 3306 {{
    delay_loop 2
    lb_algo rr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    real_server {node} 3306 {{
        weight 1
        notify_down {down}
        TCP_CHECK {{
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 0.5
            connect_port 3306
        }}
    }}
"#,
        down = down.display()
    )
}

/// The article's mysql.sh is `pkill keepalived`. Here every node's `ha`
/// shares the machine's PID namespace, so the script stops only the `ha` in
/// its own network namespace (the node it runs on).
const MYSQL_DOWN: &str = "pkill --ns $$ --nslist net -x ha\n";

/// Which node's server answered: a row each server holds.
const WHO: &str = "SELECT name FROM pair.node";

/// MariaDB stops on the master: its real server's `notify_down` stops that
/// node's `ha`, which hands the VIP over; the client's queries through the
/// VIP work before and after, answered by the other node.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn mysql_pair_notify_down_stops_ha_and_the_vip_moves() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let tmp = TempDir::new("pair-mysql")?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let client = topo.client();
    let vip = topo.subnet().vip4(0);
    client.flush_neighbors()?;
    // mariadb-install-db takes seconds: both at once.
    let (dir1, dir2) = (tmp.sub("mariadb-n1")?, tmp.sub("mariadb-n2")?);
    let (db1, db2) = std::thread::scope(|s| {
        let a = s.spawn(|| Mariadb::start(n1, &dir1, ANY4, 3306));
        let b = s.spawn(|| Mariadb::start(n2, &dir2, ANY4, 3306));
        (a.join(), b.join())
    });
    let db1 = db1.map_err(|_| anyhow::anyhow!("starting mariadb on n1 panicked"))??;
    let db2 = db2.map_err(|_| anyhow::anyhow!("starting mariadb on n2 panicked"))??;
    for (db, node, name) in [(&db1, n1, "n1"), (&db2, n2, "n2")] {
        db.query(
            client,
            node.ipv4.into(),
            &format!("CREATE DATABASE pair; CREATE TABLE pair.node (name TEXT); INSERT INTO pair.node VALUES ('{name}')"),
        )?;
    }
    let down = script(&tmp.path().join("mysql_down.sh"), MYSQL_DOWN)?;
    let d1 = Daemon::ha(
        n1,
        "pair",
        &mysql_conf(&n1.ifname, 100, vip, n1.ipv4, &down),
    )?;
    // Both start as BACKUP with nopreempt: whoever comes up first stays
    // master, so n1 is given its master-down interval alone.
    d1.wait_state("master", Duration::from_secs(8))?;
    let d2 = Daemon::ha(n2, "pair", &mysql_conf(&n2.ifname, 90, vip, n2.ipv4, &down))?;
    let l = || logs(&[&d1, &d2]);
    d2.wait_state("backup", Duration::from_secs(5))
        .with_context(l)?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(3), &l)?;
    ensure!(
        d1.log().contains("never closed"),
        "no warning about the unclosed virtual_server:\n{}",
        d1.log()
    );
    ensure!(db1.query(client, vip.into(), "SELECT 1")? == "1");
    ensure!(db1.query(client, vip.into(), WHO)? == "n1");

    db1.stop()?;
    // delay_loop + retries, then notify_down, SIGTERM, the handover.
    let gone = d1.proc.wait_timeout(Duration::from_secs(10))?;
    ensure!(
        gone.is_some(),
        "notify_down did not stop ha on n1:\n{}",
        l()
    );
    ensure!(
        d2.proc.try_wait()?.is_none(),
        "ha on n2 stopped too:\n{}",
        l()
    );
    wait_vip_on(&topo, 1, vip, Duration::from_secs(5), &l)?;
    let mut answer = Err(anyhow::anyhow!("no query yet"));
    wait_until(
        "SELECT through the VIP after the move",
        Duration::from_secs(10),
        || {
            answer = db2.query(client, vip.into(), WHO);
            Ok(answer.as_deref().is_ok_and(|a| a == "n2"))
        },
    )
    .with_context(|| format!("{answer:?}\n{}", l()))?;
    ensure!(db2.query(client, vip.into(), "SELECT 1")? == "1");
    ensure!(d2.state()? == "master", "{}", l());
    Ok(())
}

// ------------------------------------------------------- ordered takeover

/// One node's resources, Heartbeat style: the data filesystem, and nginx
/// serving its page from it (`root` is the filesystem). Without DRBD each
/// node has a filesystem of its own; what is checked is the order in which
/// the scripts bring them up and down, not replication.
struct Resources {
    web: Nginx,
    fs: LoopFs,
    order: PathBuf,
    script: PathBuf,
}

impl Resources {
    fn new(node: &hatest::Host, tmp: &TempDir, name: &str) -> Result<Resources> {
        let dir = tmp.sub(&format!("res-{name}"))?;
        // nginx's root is DIR/www: the filesystem is mounted there, and the
        // page written onto it, so nginx only serves it when it is mounted.
        let fs = LoopFs::create_named(&dir, "www", 8)?;
        fs.mount()?;
        let web = Nginx::start(node, &dir, ANY4, 80, &format!("data of {name}\n"))?;
        web.stop()?;
        fs.umount()?;
        let order = tmp.path().join(format!("order-{name}"));
        let script = script(
            &tmp.path().join(format!("resource-{name}.sh")),
            &resource_script(&fs, &web, &order),
        )?;
        Ok(Resources {
            web,
            fs,
            order,
            script,
        })
    }

    fn order(&self) -> Vec<String> {
        fs::read_to_string(&self.order)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// `resource.sh start|stop`, as Heartbeat's resource scripts: start mounts
/// the filesystem then starts the service; stop does the reverse; both do
/// only what is not done yet, and append what they did to the order file.
fn resource_script(fs: &LoopFs, web: &Nginx, order: &Path) -> String {
    let mnt = fs.mount_point().display();
    let pid = web.pid_file();
    let pid = pid.display();
    let order = order.display();
    format!(
        r#"running() {{ [ -s {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null; }}
case "$1" in
start)
    if ! mountpoint -q {mnt}; then
        {mount} || exit 1
        echo "up fs" >> {order}
    fi
    if ! running; then
        {start} || exit 1
        echo "up svc" >> {order}
    fi
    ;;
stop)
    if running; then
        {stop}
        n=0
        while running && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
        running && exit 1
        echo "down svc" >> {order}
    fi
    if mountpoint -q {mnt}; then
        {umount} || exit 1
        echo "down fs" >> {order}
    fi
    ;;
esac
"#,
        mount = fs.mount_cmd(),
        umount = fs.umount_cmd(),
        start = web.start_cmd(),
        stop = web.stop_cmd(),
    )
}

/// keepalived.conf of the takeover pair: a check on the node's health flag
/// (what would watch DRBD or the disk), and the resource script for every
/// state change.
fn takeover_conf(
    state: &str,
    ifname: &str,
    priority: u8,
    flag: &Path,
    res: &Path,
    vip: Ipv4Addr,
) -> String {
    let res = res.display();
    format!(
        r#"global_defs {{
   router_id DATA
}}

vrrp_script chk_node {{
    script "/usr/bin/test -e {flag}"
    interval 1
}}

vrrp_instance DATA {{
    state {state}
    interface {ifname}
    virtual_router_id 61
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {vip}/24
    }}
    track_script {{
        chk_node
    }}
    notify_master "{res} start"
    notify_backup "{res} stop"
    notify_fault "{res} stop"
    notify_stop "{res} stop"
}}
"#,
        flag = flag.display()
    )
}

/// Every line of `order` follows the cycle up fs, up svc, down svc, down fs.
fn check_cycle(node: &str, order: &[String]) -> Result<()> {
    const CYCLE: [&str; 4] = ["up fs", "up svc", "down svc", "down fs"];
    for (i, line) in order.iter().enumerate() {
        ensure!(
            line == CYCLE[i % 4],
            "{node}: line {} is {line:?}, expected {:?}:\n{}",
            i + 1,
            CYCLE[i % 4],
            order.join("\n")
        );
    }
    Ok(())
}

/// The new master mounts then starts, the old one stops then unmounts, over
/// a fault, a preemption back and a daemon stop on each node.
#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn ordered_takeover_mounts_then_starts_and_stops_in_reverse() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).build()?;
    let tmp = TempDir::new("pair-takeover")?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip = topo.subnet().vip4(0);
    topo.client().flush_neighbors()?;
    let r1 = Resources::new(n1, &tmp, "n1")?;
    let r2 = Resources::new(n2, &tmp, "n2")?;
    let flag = |name: &str| tmp.path().join(format!("healthy-{name}"));
    fs::write(flag("n1"), "")?;
    fs::write(flag("n2"), "")?;
    let mut d1 = Daemon::ha(
        n1,
        "pair",
        &takeover_conf("MASTER", &n1.ifname, 150, &flag("n1"), &r1.script, vip),
    )?;
    let mut d2 = Daemon::ha(
        n2,
        "pair",
        &takeover_conf("BACKUP", &n2.ifname, 100, &flag("n2"), &r2.script, vip),
    )?;
    let l = || logs(&[&d1, &d2]);
    let orders = || format!("n1: {:?}\nn2: {:?}", r1.order(), r2.order());
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    wait_page(&topo, vip, "data of n1\n", Duration::from_secs(5))
        .with_context(|| format!("{}\n{}", orders(), l()))?;

    // n1's check fails: FAULT there, n2 takes over.
    fs::remove_file(flag("n1"))?;
    wait_vip_on(&topo, 1, vip, Duration::from_secs(6), &l)?;
    wait_page(&topo, vip, "data of n2\n", Duration::from_secs(5))
        .with_context(|| format!("{}\n{}", orders(), l()))?;
    wait_until("n1 to release", Duration::from_secs(5), || {
        Ok(r1.order().len() == 4 && !r1.fs.is_mounted()?)
    })
    .with_context(orders)?;

    // Healthy again: n1 preempts, n2 releases.
    fs::write(flag("n1"), "")?;
    wait_vip_on(&topo, 0, vip, Duration::from_secs(8), &l)?;
    wait_page(&topo, vip, "data of n1\n", Duration::from_secs(5))
        .with_context(|| format!("{}\n{}", orders(), l()))?;
    wait_until("n2 to release", Duration::from_secs(5), || {
        Ok(r2.order().len() == 4 && !r2.fs.is_mounted()?)
    })
    .with_context(orders)?;

    // n1's daemon stops: notify_stop releases, n2 takes over; then n2's.
    d1.terminate()?;
    ensure!(
        d1.proc.wait_timeout(Duration::from_secs(10))?.is_some(),
        "ha on n1 did not stop:\n{}",
        l()
    );
    wait_page(&topo, vip, "data of n2\n", Duration::from_secs(8))
        .with_context(|| format!("{}\n{}", orders(), l()))?;
    d2.terminate()?;
    ensure!(
        d2.proc.wait_timeout(Duration::from_secs(10))?.is_some(),
        "ha on n2 did not stop:\n{}",
        l()
    );
    let _ = (d1.proc.stop(), d2.proc.stop());

    let (o1, o2) = (r1.order(), r2.order());
    check_cycle("n1", &o1)?;
    check_cycle("n2", &o2)?;
    ensure!(
        o1.len() == 8,
        "n1: two takeovers and two releases expected:\n{}",
        orders()
    );
    ensure!(
        o2.len() == 8,
        "n2: two takeovers and two releases expected:\n{}",
        orders()
    );
    ensure!(
        !r1.fs.is_mounted()? && !r2.fs.is_mounted()?,
        "a filesystem is left mounted"
    );
    ensure!(
        !r1.web.is_running() && !r2.web.is_running(),
        "an nginx is left running"
    );
    Ok(())
}
