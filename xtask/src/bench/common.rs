//! What the cost, lag and false-takeover benchmarks share: the three daemons
//! under test, a configuration with N instances, waiting for steady state,
//! and reading a daemon's processes and its XDP program from outside.

use std::{fmt::Write as _, fs, net::IpAddr, time::Duration};

use anyhow::{Context, Result, anyhow, bail};
use hatest::{Daemon, Group, Host, Topology, wait_until};

/// The master's priority; the backup runs at [`BACKUP_PRIORITY`].
pub const MASTER_PRIORITY: u8 = 200;
pub const BACKUP_PRIORITY: u8 = 100;
/// VRID of instance `i` (0-based).
pub const FIRST_VRID: u8 = 100;

/// A daemon under test with its datapath.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Impl {
    /// `ha`, XDP datapath, default flags (native attach on the veths; the
    /// kernel sends the ARP replies behind the XDP gate).
    HaXdp,
    /// `ha --datapath socket`.
    HaSocket,
    /// keepalived from Debian's package.
    Keepalived,
}

impl Impl {
    pub const ALL: [Impl; 3] = [Impl::HaXdp, Impl::HaSocket, Impl::Keepalived];

    pub fn label(self) -> &'static str {
        match self {
            Impl::HaXdp => "ha (xdp)",
            Impl::HaSocket => "ha (socket)",
            Impl::Keepalived => "keepalived",
        }
    }

    pub fn is_ha(self) -> bool {
        self != Impl::Keepalived
    }

    pub fn start(self, host: &Host, conf: &str) -> Result<Daemon> {
        match self {
            // No flag: the XDP datapath as a user runs it.
            Impl::HaXdp => Daemon::ha(host, "ha", conf),
            Impl::HaSocket => Daemon::ha_with(host, "ha", conf, &["--datapath", "socket"]),
            Impl::Keepalived => Daemon::keepalived(host, "k", conf),
        }
    }
}

/// Skew_Time of a v3 router at `priority` (RFC 9568 §6.1), in seconds.
pub fn skew(interval: f64, priority: u8) -> f64 {
    (256.0 - f64::from(priority)) / 256.0 * interval
}

/// Master_Down_Interval of the backup (RFC 9568 §6.1), in seconds.
pub fn master_down(interval: f64) -> f64 {
    3.0 * interval + skew(interval, BACKUP_PRIORITY)
}

/// keepalived.conf of `host` with `n` VRRPv3 instances at `interval`
/// (VRID 100 + i, VIP number i of the topology's subnet).
pub fn conf(topo: &Topology, host: &Host, n: u8, interval: f64, priority: u8) -> String {
    let mut c = String::new();
    for i in 0..n {
        let mut g = Group::v3(FIRST_VRID + i, IpAddr::V4(topo.subnet().vip4(i)), 24);
        g.advert_int = interval;
        if i == 0 {
            c.push_str(&g.keepalived_conf(host, priority));
        } else {
            let _ = write!(c, "{}", g.instance_block(host, priority));
        }
    }
    c
}

/// Whether every instance of an `ha` daemon reports `state`.
pub fn ha_all_in(d: &Daemon, state: &str) -> bool {
    d.status()
        .ok()
        .and_then(|s| s["instances"].as_array().cloned())
        .is_some_and(|is| !is.is_empty() && is.iter().all(|i| i["state"] == state))
}

/// Sum of counter `name` over every instance of an `ha` daemon.
pub fn ha_total(d: &Daemon, name: &str) -> Result<u64> {
    let status = d.status()?;
    Ok(status["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["counters"][name].as_u64().unwrap_or(0))
        .sum())
}

/// How often keepalived's log says an instance entered `state` ("MASTER", "BACKUP").
pub fn keepalived_entered(d: &Daemon, state: &str) -> usize {
    d.log().matches(&format!("Entering {state} STATE")).count()
}

/// Times the backup became master so far: `became_master` for `ha`, log
/// lines for keepalived.
pub fn takeovers(imp: Impl, backup: &Daemon) -> Result<u64> {
    if imp.is_ha() {
        ha_total(backup, "became_master")
    } else {
        Ok(keepalived_entered(backup, "MASTER") as u64)
    }
}

/// Waits until node 1 is master and node 2 backup in all `n` instances.
pub fn settle(imp: Impl, topo: &Topology, d: &[Daemon; 2], n: u8, interval: f64) -> Result<()> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let limit = Duration::from_secs_f64(4.0 * master_down(interval)) + Duration::from_secs(5);
    let logs = || format!("{}\n{}", d[0].log(), d[1].log());
    if imp.is_ha() {
        wait_until(
            &format!("{n} masters on node 1 and {n} backups on node 2"),
            limit,
            || {
                super::interrupt::check()?;
                Ok(ha_all_in(&d[0], "master") && ha_all_in(&d[1], "backup"))
            },
        )
        .with_context(logs)?;
    } else {
        let vips: Vec<IpAddr> = (0..n).map(|i| topo.subnet().vip4(i).into()).collect();
        wait_until(
            &format!("keepalived: {n} VIPs on node 1, none on node 2"),
            limit,
            || {
                super::interrupt::check()?;
                if keepalived_entered(&d[1], "BACKUP") < usize::from(n) {
                    return Ok(false);
                }
                let a1 = n1.addresses()?;
                let a2 = n2.addresses()?;
                Ok(vips.iter().all(|v| a1.iter().any(|a| a.addr == *v))
                    && !vips.iter().any(|v| a2.iter().any(|a| a.addr == *v)))
            },
        )
        .with_context(logs)?;
    }
    Ok(())
}

/// Builds a two-node IPv4 topology, runs `f` in it and tears it down, also
/// when `f` fails; an error if a namespace is left behind.
pub fn in_topology<T>(f: impl FnOnce(&Topology) -> Result<T>) -> Result<T> {
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let prefix = topo.prefix().to_owned();
    let out = f(&topo);
    let torn = topo.teardown();
    let left: Vec<String> = hatest::netns::list()?
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    let out = out?;
    torn?;
    if !left.is_empty() {
        bail!("namespaces left after teardown: {left:?}");
    }
    Ok(out)
}

/// Starts `imp` on both nodes with `n` instances at `interval`.
pub fn start_pair(imp: Impl, topo: &Topology, n: u8, interval: f64) -> Result<[Daemon; 2]> {
    let [n1, n2] = topo.nodes() else {
        bail!("expected two nodes");
    };
    let master = imp.start(n1, &conf(topo, n1, n, interval, MASTER_PRIORITY))?;
    let backup = imp.start(n2, &conf(topo, n2, n, interval, BACKUP_PRIORITY))?;
    Ok([master, backup])
}

/// Cumulative resource use of a daemon's processes (its process group and
/// everything forked below it) at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, seconds (clock ticks: 10 ms resolution).
    pub cpu_s: f64,
    /// Time on a CPU summed over every thread, from /proc/PID/task/*/schedstat
    /// (nanoseconds; threads that already exited are not counted).
    pub run_ns: u64,
    /// Voluntary + involuntary context switches over every thread.
    pub wakeups: u64,
    /// Sum of VmHWM over the processes, KiB.
    pub hwm_kib: u64,
    /// How many processes were found.
    pub procs: usize,
}

/// `(pid, ppid, pgrp, utime + stime in ticks)` of every process.
fn all_procs() -> Vec<(u32, u32, u32, u64)> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // rest[0] is field 3 (state): field k is f[k - 3].
        let num = |k: usize| f.get(k - 3).and_then(|v| v.parse::<u64>().ok());
        if let (Some(ppid), Some(pgrp), Some(ut), Some(st)) = (num(4), num(5), num(14), num(15)) {
            out.push((pid, ppid as u32, pgrp as u32, ut + st));
        }
    }
    out
}

/// A `key:   value kB` line of a /proc status file.
fn status_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The daemon's processes: `leader`, its process group and everything forked below it.
pub fn members(leader: u32) -> Vec<u32> {
    members_of(&all_procs(), leader)
}

fn members_of(procs: &[(u32, u32, u32, u64)], leader: u32) -> Vec<u32> {
    let mut members: Vec<u32> = procs
        .iter()
        .filter(|p| p.0 == leader || p.2 == leader)
        .map(|p| p.0)
        .collect();
    // Descendants that left the process group (setsid) count too.
    loop {
        let more: Vec<u32> = procs
            .iter()
            .filter(|p| members.contains(&p.1) && !members.contains(&p.0))
            .map(|p| p.0)
            .collect();
        if more.is_empty() {
            break;
        }
        members.extend(more);
    }
    members
}

/// Resource use of the daemon whose first process is `leader`.
pub fn usage(leader: u32) -> Usage {
    let procs = all_procs();
    let members = members_of(&procs, leader);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut u = Usage::default();
    for &pid in &members {
        if let Some(p) = procs.iter().find(|p| p.0 == pid) {
            u.cpu_s += p.3 as f64 / hz;
        }
        if let Ok(s) = fs::read_to_string(format!("/proc/{pid}/status")) {
            u.hwm_kib += status_field(&s, "VmHWM");
        }
        if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                if let Ok(s) = fs::read_to_string(t.path().join("status")) {
                    u.wakeups += status_field(&s, "voluntary_ctxt_switches")
                        + status_field(&s, "nonvoluntary_ctxt_switches");
                }
                if let Ok(s) = fs::read_to_string(t.path().join("schedstat")) {
                    u.run_ns += s
                        .split_whitespace()
                        .next()
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        }
        u.procs += 1;
    }
    u
}

/// Run time and run count of the XDP program named `ha_xdp` attached in `host`'s
/// namespace (needs `kernel.bpf_stats_enabled=1`); `None` when none is attached.
pub fn xdp_prog_stats(host: &Host) -> Result<Option<(u64, u64)>> {
    let link = hatest::netns::ip(&["-n", &host.ns, "-d", "link", "show", "dev", &host.ifname])?;
    // "prog/xdp id 123" (generic or native attach).
    let Some(id) = link
        .split("prog/xdp id ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_owned)
    else {
        return Ok(None);
    };
    let out = std::process::Command::new("bpftool")
        .args(["prog", "show", "id", &id])
        .output()
        .context("running bpftool")?;
    if !out.status.success() {
        bail!(
            "bpftool prog show id {id}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("name ha_xdp") {
        return Err(anyhow!(
            "the XDP program on {} is not ha_xdp: {}",
            host.ifname,
            text.trim()
        ));
    }
    let field = |key: &str| -> u64 {
        text.split(key)
            .nth(1)
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Ok(Some((field("run_time_ns "), field("run_cnt "))))
}

/// `kernel.bpf_stats_enabled=1` for as long as this lives; the old value after.
pub struct BpfStats {
    old: Option<String>,
}

const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

impl BpfStats {
    pub fn enable() -> Result<BpfStats> {
        let old = fs::read_to_string(BPF_STATS)
            .with_context(|| format!("reading {BPF_STATS}"))?
            .trim()
            .to_owned();
        if old != "1" {
            fs::write(BPF_STATS, "1").with_context(|| format!("writing {BPF_STATS}"))?;
        }
        Ok(BpfStats { old: Some(old) })
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        if let Some(old) = self.old.take()
            && old != "1"
        {
            let _ = fs::write(BPF_STATS, old);
        }
    }
}

/// Seconds as a label: "1 s", "0.01 s".
pub fn interval_label(interval: f64) -> String {
    format!("{interval} s")
}

/// A measurement's notes as continuation lines of its progress line.
pub fn note_lines(notes: &[String]) -> String {
    notes
        .iter()
        .map(|n| format!("\n          note: {n}"))
        .collect()
}

/// Prints why a cell has no result under its progress `line`: "stopped
/// (Ctrl-C)" when the run was interrupted, else `what` (e.g. "FAILED") and
/// the error, indented. True when the run was interrupted: the caller stops.
pub fn report_failure(line: &str, what: &str, e: &anyhow::Error) -> bool {
    if super::interrupt::requested() {
        eprintln!("{line}  stopped (Ctrl-C)");
        return true;
    }
    eprintln!(
        "{line}  {what}: {}",
        format!("{e:#}").replace('\n', "\n          ")
    );
    false
}
