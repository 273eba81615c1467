//! Phase 2 of `bench health`: what 50 checks a second cost.
//!
//! One cell: a fresh one-node topology, the daemon with 50 VRRPv3 instances
//! (1 s adverts; alone, the node is master of all of them), each tracking a
//! check of its own every 1 s, and nginx on the node (the built-in TCP
//! checks connect to it; it runs in every cell so the node is the same).
//! Once every instance is master, the daemon's processes are moved into a
//! cgroup of their own: whatever they fork starts there, so the scripts'
//! fork/exec/exit CPU is counted even though each script lives a few ms.
//! Then CPU over the window: the cgroup's counter (µs), and as a
//! cross-check utime + stime + cutime + cstime of the daemon's processes
//! (/proc/PID/stat, 10 ms ticks; reaped children land in their parent's
//! cutime/cstime). nginx's own CPU (answering the TCP checks) is measured
//! in a cgroup of its own and shown apart.

use std::{
    fs,
    net::{IpAddr, Ipv4Addr},
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use hatest::{Daemon, Topology, services::Nginx, wait_until};

use super::{
    super::{
        Args,
        cgroup::CpuGroup,
        common::{self, Impl},
        interrupt, machine_line,
        table::Table,
    },
    conf::{self, Check, Instance, Probe},
};

/// Instances (and checks) on the node.
const INSTANCES: u8 = 50;
/// Check interval and advert interval, seconds.
const INTERVAL: f64 = 1.0;

/// What each instance tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Nothing: the daemon's own cost with 50 instances.
    None,
    /// `vrrp_script` running `/usr/bin/test -e FLAG` (a fork + exec a run).
    Script,
    /// ha's built-in TCP connect to 127.0.0.1:80 (nginx).
    Tcp,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::None => "no checks",
            Mode::Script => "vrrp_script `test -e`",
            Mode::Tcp => "built-in TCP",
        }
    }
}

#[derive(Clone, Debug)]
struct Measured {
    /// Daemon + children, cgroup counter, ms per s.
    cpu_ms_s: f64,
    /// utime+stime+cutime+cstime of the daemon's processes, ms per s.
    ticks_ms_s: f64,
    /// nginx's cgroup, ms per s.
    nginx_ms_s: f64,
    window_s: f64,
    how: &'static str,
    notes: Vec<String>,
}

pub fn run(args: &Args, daemons: &[Impl]) -> Result<()> {
    let window =
        Duration::from_secs_f64(args.window.unwrap_or(if args.quick { 10.0 } else { 30.0 }));
    let mut cells: Vec<(Impl, Mode)> = Vec::new();
    for &imp in daemons {
        cells.push((imp, Mode::None));
        cells.push((imp, Mode::Script));
        if imp.is_ha() {
            cells.push((imp, Mode::Tcp));
        }
    }
    eprintln!(
        "bench health (cost): {} cells, {INSTANCES} instances each, {:.0} s window each, each in a fresh topology",
        cells.len(),
        window.as_secs_f64()
    );
    let mut results: Vec<((Impl, Mode), Result<Measured, String>)> = Vec::new();
    for (k, &(imp, mode)) in cells.iter().enumerate() {
        if interrupt::requested() {
            break;
        }
        let line = format!(
            "[{}/{}] {:<11} {:<22}",
            k + 1,
            cells.len(),
            imp.label(),
            mode.label()
        );
        let outcome = in_one_node(|topo| one_cell(imp, mode, topo, window));
        match &outcome {
            Ok(m) => eprintln!(
                "{line}  {:.2} ms/s CPU (cgroup), {:.2} ms/s (/proc ticks), nginx {:.2} ms/s{}",
                m.cpu_ms_s,
                m.ticks_ms_s,
                m.nginx_ms_s,
                common::note_lines(&m.notes)
            ),
            Err(e) => {
                if common::report_failure(&line, "FAILED", e) {
                    break;
                }
            }
        }
        results.push(((imp, mode), outcome.map_err(|e| format!("{e:#}"))));
    }
    print_report(&results, window);
    Ok(())
}

/// A one-node topology around `f`, torn down after it (also on error).
fn in_one_node<T>(f: impl FnOnce(&Topology) -> Result<T>) -> Result<T> {
    let topo = Topology::builder().nodes(1).ipv6(false).build()?;
    let out = f(&topo);
    let torn = topo.teardown();
    let out = out?;
    torn?;
    Ok(out)
}

fn one_cell(imp: Impl, mode: Mode, topo: &Topology, window: Duration) -> Result<Measured> {
    let [node] = topo.nodes() else {
        bail!("expected one node");
    };
    // Declared first, dropped last: the daemons and nginx die before their groups go.
    let tag = format!("{}-{}", topo.prefix(), std::process::id());
    let group = CpuGroup::create(&format!("{tag}-d"))?;
    let nginx_group = CpuGroup::create(&format!("{tag}-n"))?;
    let tmp = hatest::TempDir::new("bench-health-cost")?;
    let web = Nginx::start(
        node,
        &tmp.sub("nginx")?,
        Ipv4Addr::UNSPECIFIED.into(),
        80,
        "node 1\n",
    )?;
    let mut checks = Vec::new();
    let mut instances = Vec::new();
    for i in 0..INSTANCES {
        let name = format!("chk_{i}");
        let flag = tmp.path().join(format!("healthy-{i}"));
        fs::write(&flag, "").with_context(|| format!("writing {}", flag.display()))?;
        let probe = match mode {
            Mode::None => None,
            Mode::Script => Some(Probe::Script(vec![
                "/usr/bin/test".into(),
                "-e".into(),
                flag.to_string_lossy().into_owned(),
            ])),
            Mode::Tcp => Some(Probe::Tcp {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 80,
            }),
        };
        if let Some(probe) = probe {
            checks.push(Check {
                name: name.clone(),
                probe,
                interval: INTERVAL,
                rise: 1,
                fall: 1,
                weight: 0,
            });
        }
        instances.push(Instance {
            vrid: common::FIRST_VRID + i,
            vip: IpAddr::V4(topo.subnet().vip4(i)),
            priority: common::MASTER_PRIORITY,
            advert: INTERVAL,
            track: (mode != Mode::None).then_some(name),
        });
    }
    let d = imp.start(node, &conf::for_daemon(imp, node, &checks, &instances)?)?;
    let measured = measure(imp, topo, &d, &web, (&group, &nginx_group), window);
    let _ = d.crash();
    // The cause first (the report shows an error's first line), the log after it.
    measured.map_err(|e| {
        let log = super::super::failover::strip_ansi(&d.log());
        let lines: Vec<&str> = log.lines().collect();
        anyhow::anyhow!(
            "{e:#}\n{}",
            lines[lines.len().saturating_sub(15)..].join("\n")
        )
    })
}

/// Waits until the node is master of every instance (every check passing:
/// a failing one would be FAULT).
fn all_master(imp: Impl, topo: &Topology, d: &Daemon) -> Result<bool> {
    if imp.is_ha() {
        return Ok(common::ha_all_in(d, "master"));
    }
    let addrs = topo.nodes()[0].addresses()?;
    Ok((0..INSTANCES).all(|i| {
        addrs
            .iter()
            .any(|a| a.addr == IpAddr::V4(topo.subnet().vip4(i)))
    }))
}

fn measure(
    imp: Impl,
    topo: &Topology,
    d: &Daemon,
    web: &Nginx,
    (group, nginx_group): (&CpuGroup, &CpuGroup),
    window: Duration,
) -> Result<Measured> {
    let limit =
        Duration::from_secs_f64(4.0 * common::master_down(INTERVAL)) + Duration::from_secs(10);
    wait_until(&format!("{INSTANCES} instances master"), limit, || {
        interrupt::check()?;
        all_master(imp, topo, d)
    })
    .with_context(|| d.log())?;
    // Move the daemon and nginx, then a moment for scripts started before the move to end.
    group.adopt(&common::members(d.proc.pid()))?;
    if let Some(pid) = web.pid() {
        nginx_group.adopt(&common::members(pid))?;
    }
    interrupt::sleep(Duration::from_secs(1))?;
    group.adopt(&common::members(d.proc.pid()))?;
    let snap = || -> Result<(Instant, u64, f64, u64)> {
        Ok((
            Instant::now(),
            group.usage_ns()?,
            ticks_with_children(d.proc.pid()),
            nginx_group.usage_ns()?,
        ))
    };
    let a = snap()?;
    interrupt::sleep(window)?;
    let b = snap()?;
    let secs = (b.0 - a.0).as_secs_f64();
    let mut notes = Vec::new();
    if !all_master(imp, topo, d)? {
        notes.push(
            "not every instance was master at the end of the window (a check failed?)".into(),
        );
    }
    Ok(Measured {
        cpu_ms_s: b.1.saturating_sub(a.1) as f64 / 1e6 / secs,
        ticks_ms_s: (b.2 - a.2) * 1000.0 / secs,
        nginx_ms_s: b.3.saturating_sub(a.3) as f64 / 1e6 / secs,
        window_s: secs,
        how: group.describe(),
        notes,
    })
}

/// utime + stime + cutime + cstime, seconds, over the daemon's processes.
fn ticks_with_children(leader: u32) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    common::members(leader)
        .into_iter()
        .filter_map(|pid| {
            fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()
        })
        .filter_map(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|v| v.parse().ok())
                .collect();
            (f.len() == 4).then(|| f.iter().sum::<u64>() as f64 / hz)
        })
        .sum()
}

/// Every cell's outcome, in the order run.
type Results = [((Impl, Mode), Result<Measured, String>)];

fn print_report(results: &Results, window: Duration) {
    let get = |imp: Impl, mode: Mode| {
        results
            .iter()
            .find(|(k, _)| *k == (imp, mode))
            .and_then(|(_, r)| r.as_ref().ok())
    };
    let how = results
        .iter()
        .find_map(|(_, r)| r.as_ref().ok().map(|m| m.how))
        .unwrap_or("cgroup");
    println!();
    println!(
        "### Health check cost: {INSTANCES} instances, each tracking its own check every {INTERVAL} s, one node (master of all)"
    );
    println!();
    println!("Machine: {}", machine_line());
    println!();
    println!(
        "One node alone (master of every instance, VRRPv3 adverts every {INTERVAL} s), one run per cell over a {:.0} s window. \
         **CPU**: the daemon and everything it forks, ms per s (= ‰ of one core), from a cgroup the daemon's processes \
         are moved into once every instance is master ({how}): scripts are charged as they run, though each lives a \
         few ms. **/proc ticks**: utime + stime + cutime + cstime of the daemon's processes (reaped children count in \
         their parent's cutime/cstime; 10 ms ticks), as a cross-check. **nginx**: the local nginx's own CPU (the TCP \
         checks' peer; idle in the other cells), not included in the daemon's. Scripts: `/usr/bin/test -e FLAG` with \
         one flag file per check, run without a shell by both daemons, which read the same keepalived.conf; the \
         built-in TCP check (127.0.0.1:80, ha only) is written in ha's TOML.",
        window.as_secs_f64()
    );
    println!();
    let mut t = Table::new(
        &[
            "daemon",
            "checks",
            "CPU ms/s",
            "/proc ticks ms/s",
            "checks alone ms/s",
            "per check run µs",
            "nginx ms/s",
        ],
        &[false, false, true, true, true, true, true],
    );
    let runs_s = f64::from(INSTANCES) / INTERVAL;
    for ((imp, mode), r) in results {
        let mut c = vec![imp.label().to_owned(), mode.label().to_owned()];
        match r {
            Ok(m) => {
                let base = get(*imp, Mode::None).map(|b| b.cpu_ms_s);
                let alone = match (mode, base) {
                    (Mode::None, _) | (_, None) => None,
                    (_, Some(b)) => Some(m.cpu_ms_s - b),
                };
                c.extend([
                    format!("{:.2}", m.cpu_ms_s),
                    format!("{:.2}", m.ticks_ms_s),
                    alone.map_or("–".into(), |a| format!("{a:.2}")),
                    alone.map_or("–".into(), |a| format!("{:.0}", a * 1000.0 / runs_s)),
                    format!("{:.2}", m.nginx_ms_s),
                ]);
            }
            Err(_) => c.push("failed".into()),
        }
        t.row(c);
    }
    print!("{}", t.render());
    println!();
    println!(
        "**Against keepalived's `vrrp_script`** (same run; target: ha's built-in check ≤ 1/10 of keepalived's script cost, reported, not asserted):"
    );
    println!();
    let mut r = Table::new(
        &[
            "daemon",
            "checks",
            "CPU / keepalived script",
            "checks alone / keepalived's",
            "target ≤ 0.1",
        ],
        &[false, false, true, true, false],
    );
    let k = get(Impl::Keepalived, Mode::Script);
    let k_base = get(Impl::Keepalived, Mode::None);
    for ((imp, mode), res) in results {
        if !imp.is_ha() || *mode == Mode::None {
            continue;
        }
        let Ok(m) = res else { continue };
        let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
        let total = k.and_then(|k| ratio(m.cpu_ms_s, k.cpu_ms_s));
        let alone = match (get(*imp, Mode::None), k, k_base) {
            (Some(hb), Some(k), Some(kb)) => {
                ratio(m.cpu_ms_s - hb.cpu_ms_s, k.cpu_ms_s - kb.cpu_ms_s)
            }
            _ => None,
        };
        let target = match (mode, total) {
            (Mode::Tcp, Some(x)) if x <= 0.1 => "met".to_owned(),
            (Mode::Tcp, Some(_)) => "**not met**".to_owned(),
            _ => String::new(),
        };
        let f = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.3}"));
        r.row(vec![
            imp.label().to_owned(),
            mode.label().to_owned(),
            f(total),
            f(alone),
            target,
        ]);
    }
    print!("{}", r.render());
    println!();
    println!(
        "- checks alone: the cell's CPU minus the same daemon's no-check cell (50 instances, adverts only); per check \
         run: that over {runs_s:.0} runs/s."
    );
    for ((imp, mode), r) in results {
        match r {
            Ok(m) => {
                for n in &m.notes {
                    println!("- {} {}: {n}", imp.label(), mode.label());
                }
                if (m.window_s - window.as_secs_f64()).abs() > 1.0 {
                    println!(
                        "- {} {}: window {:.1} s",
                        imp.label(),
                        mode.label(),
                        m.window_s
                    );
                }
            }
            Err(e) => println!(
                "- failed: {} {}: {}",
                imp.label(),
                mode.label(),
                e.lines().next().unwrap_or("")
            ),
        }
    }
}
