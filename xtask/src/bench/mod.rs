//! `cargo xtask bench [NAME]`: measurements of `ha` against keepalived, printed
//! as markdown (stdout) with progress on stderr.
//!
//! Every measurement builds its own hosts with `hatest` (namespaces with the
//! per-run prefix, addresses from 198.18.0.0/15, no default route) and tears
//! them down before the next one. Nothing here asserts a time: the numbers
//! are reported as measured.

mod cgroup;
mod common;
mod cost;
mod failover;
mod false_takeover;
mod health;
mod hostile;
mod lag;
mod table;

use std::{
    fs,
    sync::atomic::{AtomicBool, Ordering},
};

use anyhow::{Result, bail};
use clap::ValueEnum;

use crate::cmd;

pub use failover::Fault;

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which benchmark to run (default: all of them).
    #[arg(value_enum)]
    pub which: Option<Which>,
    /// Runs per cell at adverts shorter than 0.5 s (0.1 s, 0.01 s); health: runs per reaction cell (2 with --quick).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub runs: u16,
    /// Runs per cell at adverts of 0.5 s and longer, where one run takes ~12 s at 1 s [default: the smaller of --runs and 3].
    #[arg(long = "runs-1s", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub runs_1s: Option<u16>,
    /// Advert intervals in seconds, comma-separated, VRRPv3 (0.01 to 40.95); lag uses those below 0.5 s.
    #[arg(long, value_delimiter = ',', default_values_t = [1.0, 0.1, 0.01])]
    pub intervals: Vec<f64>,
    /// cost, lag, hostile, health: only these daemons (for quick iterations; the ratios need
    /// keepalived and ha-xdp) [default: all three; health: ha-xdp and keepalived].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub daemons: Vec<common::Impl>,
    /// Faults to inject [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub faults: Vec<Fault>,
    /// failover: after a run with a note (anything unexpected), print the adverts and ARP the
    /// client saw; hostile: print each daemon's state transitions.
    #[arg(long)]
    pub trace: bool,
    /// cost: seconds of steady state measured per cell [default: 20, 5 with --quick];
    /// health's cost phase: [default: 30, 10 with --quick].
    #[arg(long, value_parser = parse_secs)]
    pub window: Option<f64>,
    /// cost, lag, false-takeover, hostile, health: shorter windows and fewer runs, to check that everything works.
    #[arg(long)]
    pub quick: bool,
    /// cost: instances per node, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1u8, 50], value_parser = clap::value_parser!(u8).range(1..=150))]
    pub instances: Vec<u8>,
    /// lag: runs per cell [default: 20, 3 with --quick].
    #[arg(long = "lag-runs", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub lag_runs: Option<u16>,
    /// false-takeover: seconds of CPU burners on the backup's core [default: 30, 10 with --quick].
    #[arg(long, value_parser = parse_secs)]
    pub burn: Option<f64>,
}

impl Args {
    /// The daemons to measure, in table order.
    pub fn daemons(&self) -> Vec<common::Impl> {
        common::Impl::ALL
            .into_iter()
            .filter(|i| self.daemons.is_empty() || self.daemons.contains(i))
            .collect()
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(0.5..=3600.0).contains(&v) {
        return Err("between 0.5 and 3600 seconds".into());
    }
    Ok(v)
}

/// The benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Client-observed outage and takeover time for kill -9, link down and SIGTERM.
    Failover,
    /// CPU, wake-ups and peak RSS of a steady-state backup and master.
    Cost,
    /// Backup's first gratuitous ARP against the RFC deadline, p50/p99 (adverts below 0.5 s).
    Lag,
    /// Takeovers by a backup (50 × 0.01 s) whose CPU is kept busy, false and correct ones.
    FalseTakeover,
    /// A stranger's spoofed adverts (lower priority at 1000/s, then priority 0): re-announcements, transitions, probes lost.
    Hostile,
    /// Health checks: nginx dies → backup serves (vrrp_script, weight 0 and negative), and the CPU of 50 checks/s.
    Health,
}

/// Runs the chosen benchmarks (setup and build have run).
pub fn run(args: Args) -> Result<()> {
    for &i in &args.intervals {
        if !(0.01..=40.95).contains(&i) {
            bail!("advert interval {i} s is outside VRRPv3's 0.01..=40.95 s");
        }
    }
    prepare()?;
    let all = args.which.is_none();
    if all || args.which == Some(Which::Failover) {
        failover::run(&args)?;
    }
    if all || args.which == Some(Which::Cost) {
        cost::run(&args)?;
    }
    if all || args.which == Some(Which::Lag) {
        lag::run(&args)?;
    }
    if all || args.which == Some(Which::FalseTakeover) {
        false_takeover::run(&args)?;
    }
    if all || args.which == Some(Which::Hostile) {
        hostile::run(&args)?;
    }
    if all || args.which == Some(Which::Health) {
        health::run(&args)?;
    }
    Ok(())
}

/// What every command that builds hosts needs first: root, the `ha` binary
/// `hatest` should start, and a Ctrl-C that tears down instead of leaking.
pub fn prepare() -> Result<()> {
    if !hatest::is_root() {
        bail!("this builds network namespaces: run it as root");
    }
    // SAFETY: still single-threaded here; nothing reads the environment concurrently.
    unsafe { std::env::set_var("HA_BIN", cmd::ha_path()) };
    hatest::ha_bin()?;
    interrupt::install();
    Ok(())
}

/// Ctrl-C: the first one asks the run to stop at the next check and clean up
/// (namespaces, daemons); a second one kills at once (the next run of any
/// `hatest` user sweeps what is left).
pub mod interrupt {
    use super::*;

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);

    const NOTICE: &[u8] = b"\nxtask: stopping: the probes under way finish (a few seconds), then \
        everything is cleaned up; press Ctrl-C again to quit at once\n";

    extern "C" fn on_signal(_: libc::c_int) {
        INTERRUPTED.store(true, Ordering::Relaxed);
        // SAFETY: write(2) is async-signal-safe; the buffer is static.
        unsafe {
            libc::write(libc::STDERR_FILENO, NOTICE.as_ptr().cast(), NOTICE.len());
        }
    }

    /// Installs the handler for SIGINT and SIGTERM (once; the second signal
    /// gets the default action).
    pub fn install() {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    }

    /// Whether Ctrl-C was pressed.
    pub fn requested() -> bool {
        INTERRUPTED.load(Ordering::Relaxed)
    }

    /// An error once Ctrl-C was pressed.
    pub fn check() -> Result<()> {
        if requested() {
            bail!("interrupted");
        }
        Ok(())
    }

    /// Sleeps `d`, waking early (with an error) on Ctrl-C.
    pub fn sleep(d: std::time::Duration) -> Result<()> {
        let end = std::time::Instant::now() + d;
        loop {
            check()?;
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(std::time::Duration::from_millis(20)));
        }
    }
}

/// One line about where the numbers come from: CPU, kernel, OS, versions.
pub fn machine_line() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    let debian = fs::read_to_string("/etc/debian_version")
        .map(|v| format!("Debian {}", v.trim()))
        .unwrap_or_else(|_| "unknown OS".into());
    let keepalived = std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            // "Keepalived v2.2.7 (01/16,2022)"
            let version = text
                .split_whitespace()
                .nth(1)?
                .trim_start_matches('v')
                .to_owned();
            Some(format!("keepalived {version}"))
        })
        .unwrap_or_else(|| "keepalived ?".into());
    let ha = cmd::output(cmd::ha_bin().arg("--version"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "ha ?".into());
    let commit = cmd::output(
        std::process::Command::new("git")
            .current_dir(cmd::root())
            .args(["rev-parse", "--short", "HEAD"]),
    )
    .map(|c| c.trim().to_owned());
    let dirty = cmd::output(
        std::process::Command::new("git")
            .current_dir(cmd::root())
            .args(["status", "--porcelain", "--untracked-files=no"]),
    )
    .is_some_and(|s| !s.trim().is_empty());
    let rev = match commit {
        Some(c) if dirty => format!(" (git {c}, modified)"),
        Some(c) => format!(" (git {c})"),
        None => String::new(),
    };
    format!(
        "{cpu}, {cores} vCPU, Linux {kernel}, {debian}; {ha}{rev}; {keepalived} (Debian package)"
    )
}
