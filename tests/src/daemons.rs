//! VRRP daemons under test: `ha` and keepalived, started in a host's namespace
//! from a keepalived.conf written for that host.
//!
//! Both read the same file format, so an interop test feeds them the same
//! configuration with only the priority and the interface changed.

use std::{
    fmt::Write as _,
    fs,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail};

use crate::{Enter, Host, Proc, ha_bin, wait_until};

/// One VRRP group as a test wants it; rendered to keepalived.conf per host.
#[derive(Debug, Clone)]
pub struct Group {
    /// Instance name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// Advertisement interval in seconds (v3: down to 0.01).
    pub advert_int: f64,
    /// The virtual addresses, with their prefix length.
    pub vips: Vec<(IpAddr, u8)>,
    /// A v2 simple password.
    pub password: Option<String>,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay` in seconds.
    pub preempt_delay: Option<f64>,
    /// Unicast peers instead of multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// Extra lines inside the instance block.
    pub extra: String,
}

impl Group {
    /// A v3 group with one VIP and a 0.1 s interval: failover in about 0.35 s, and
    /// long enough that this VM's occasional 35–75 ms vCPU stalls never look like a
    /// dead master.
    pub fn v3(vrid: u8, vip: IpAddr, prefix: u8) -> Group {
        Group {
            name: format!("VI_{vrid}"),
            vrid,
            version: 3,
            advert_int: 0.1,
            vips: vec![(vip, prefix)],
            password: None,
            nopreempt: false,
            preempt_delay: None,
            unicast_peers: Vec::new(),
            extra: String::new(),
        }
    }

    /// The keepalived.conf of `host` in this group at `priority`.
    pub fn keepalived_conf(&self, host: &Host, priority: u8) -> String {
        // Nothing host-specific but `interface` and `priority`: an interop test
        // feeds ha and keepalived the same file otherwise.
        let mut c = format!(
            "global_defs {{\n  router_id {}\n  vrrp_garp_master_delay 1\n}}\n",
            self.name
        );
        c.push_str(&self.instance_block(host, priority));
        c
    }

    /// The `vrrp_instance` block alone, to put several groups in one file.
    pub fn instance_block(&self, host: &Host, priority: u8) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "vrrp_instance {} {{", self.name);
        let _ = writeln!(c, "  state BACKUP\n  interface {}", host.ifname);
        let _ = writeln!(
            c,
            "  virtual_router_id {}\n  priority {priority}",
            self.vrid
        );
        let _ = writeln!(
            c,
            "  advert_int {}\n  version {}",
            self.advert_int, self.version
        );
        if self.nopreempt {
            c.push_str("  nopreempt\n");
        }
        if let Some(d) = self.preempt_delay {
            let _ = writeln!(c, "  preempt_delay {d}");
        }
        if let Some(p) = &self.password {
            let _ = writeln!(
                c,
                "  authentication {{\n    auth_type PASS\n    auth_pass {p}\n  }}"
            );
        }
        if !self.unicast_peers.is_empty() {
            let own: Vec<IpAddr> = [Some(IpAddr::V4(host.ipv4)), host.ipv6.map(IpAddr::V6)]
                .into_iter()
                .flatten()
                .collect();
            c.push_str("  unicast_peer {\n");
            for p in self.unicast_peers.iter().filter(|p| !own.contains(p)) {
                let _ = writeln!(c, "    {p}");
            }
            c.push_str("  }\n");
        }
        c.push_str("  virtual_ipaddress {\n");
        for (vip, prefix) in &self.vips {
            let _ = writeln!(c, "    {vip}/{prefix}");
        }
        c.push_str("  }\n");
        c.push_str(&self.extra);
        c.push_str("}\n");
        c
    }
}

/// Which implementation a [`Daemon`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our daemon.
    Ha,
    /// keepalived from Debian's package.
    Keepalived,
}

/// Long enough for `ha` to copy its XDP counters into the status file (every
/// 5 s) once more, with room for a busy machine.
pub const XDP_COUNTERS_WAIT: Duration = Duration::from_secs(8);

/// A running VRRP daemon in one host's namespace; killed on drop.
pub struct Daemon {
    /// The process (its group holds keepalived's children).
    pub proc: Proc,
    /// Which daemon this is.
    pub kind: Kind,
    dir: PathBuf,
}

impl Daemon {
    /// Starts `ha run` on `host` with `conf` (keepalived syntax or TOML) and no
    /// other flag, as a user runs it: the XDP program attaches in native mode
    /// on the host's veth, whose peer (a plain bridge port) runs no XDP, so the
    /// kernel answers ARP/NS for the VIPs behind the XDP gate.
    pub fn ha(host: &Host, tag: &str, conf: &str) -> Result<Daemon> {
        Daemon::ha_with(host, tag, conf, &[])
    }

    /// Starts `ha run` with extra arguments.
    pub fn ha_with(host: &Host, tag: &str, conf: &str, extra: &[&str]) -> Result<Daemon> {
        let dir = workdir(host, tag)?;
        let conf_path = dir.join("keepalived.conf");
        fs::write(&conf_path, conf)?;
        let proc = host
            .command(ha_bin()?)
            .arg("run")
            .arg("--config")
            .arg(&conf_path)
            .arg("--status-file")
            .arg(dir.join("status.json"))
            .args(extra)
            .env("HA_LOG", "ha=debug,info")
            .spawn()?;
        Ok(Daemon {
            proc,
            kind: Kind::Ha,
            dir,
        })
    }

    /// Starts keepalived (VRRP only, in the foreground) on `host` with `conf`.
    pub fn keepalived(host: &Host, tag: &str, conf: &str) -> Result<Daemon> {
        let dir = workdir(host, tag)?;
        let conf_path = dir.join("keepalived.conf");
        fs::write(&conf_path, conf)?;
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let proc = host
            .command("keepalived")
            .args([
                "--dont-fork",
                "--log-console",
                "--log-detail",
                "--no-syslog",
                "--vrrp",
            ])
            .args([
                "--use-file",
                &path("keepalived.conf"),
                "--pid",
                &path("k.pid"),
                "--vrrp_pid",
                &path("v.pid"),
            ])
            .enter(Enter::IpNetnsExec)
            .spawn()?;
        Ok(Daemon {
            proc,
            kind: Kind::Keepalived,
            dir,
        })
    }

    /// The `ha` status document (`ha` only).
    pub fn status(&self) -> Result<serde_json::Value> {
        let path = self.dir.join("status.json");
        let text = fs::read_to_string(&path)
            .with_context(|| format!("no status at {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("bad status JSON: {text}"))
    }

    /// The state `ha` reports for its first instance (`ha` only).
    pub fn state(&self) -> Result<String> {
        Ok(self.status()?["instances"][0]["state"]
            .as_str()
            .unwrap_or("")
            .to_string())
    }

    /// Counter `name` of the first instance (`ha` only; 0 when never counted).
    pub fn counter(&self, name: &str) -> Result<u64> {
        Ok(self.status()?["instances"][0]["counters"][name]
            .as_u64()
            .unwrap_or(0))
    }

    /// Counter `name` of the XDP program (`ha` on the XDP datapath; 0 when never
    /// counted). Refreshed in the status every 5 s: wait for it with [`XDP_COUNTERS_WAIT`].
    pub fn xdp_counter(&self, name: &str) -> Result<u64> {
        Ok(self.status()?["xdp"][name].as_u64().unwrap_or(0))
    }

    /// Waits until `ha` reports `state` for its first instance.
    pub fn wait_state(&self, state: &str, timeout: Duration) -> Result<()> {
        wait_until(
            &format!("{} to be {state}", self.proc.label()),
            timeout,
            || Ok(self.state().map(|s| s == state).unwrap_or(false)),
        )
        .with_context(|| self.log())
    }

    /// Kills the whole daemon at once (SIGKILL to its process group): a crash.
    pub fn crash(&self) -> Result<()> {
        self.proc.kill_group(libc::SIGKILL)
    }

    /// Sends SIGTERM to the daemon (keepalived's parent passes it on).
    pub fn terminate(&self) -> Result<()> {
        self.proc.kill(libc::SIGTERM)
    }

    /// Everything the daemon printed, for failure messages.
    pub fn log(&self) -> String {
        format!(
            "--- {} ---\n{}{}",
            self.proc.label(),
            self.proc.stdout(),
            self.proc.stderr()
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.proc.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Everything the daemons printed, one after the other, for failure messages.
pub fn logs<'a>(daemons: impl IntoIterator<Item = &'a Daemon>) -> String {
    daemons
        .into_iter()
        .map(Daemon::log)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until the first of `daemons` reports master (within `master`) and
/// every other one backup (within `backup` each).
pub fn wait_elected(daemons: &[Daemon], master: Duration, backup: Duration) -> Result<()> {
    daemons[0]
        .wait_state("master", master)
        .with_context(|| logs(daemons))?;
    for other in &daemons[1..] {
        other
            .wait_state("backup", backup)
            .with_context(|| logs(daemons))?;
    }
    Ok(())
}

/// A fresh directory for one daemon's files, named after the host's namespace.
fn workdir(host: &Host, tag: &str) -> Result<PathBuf> {
    let dir = Path::new("/tmp").join(format!("{}-{tag}", host.ns));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    Ok(dir)
}
