//! Scaffolding shared by the keepalived-syntax scenario tests: which daemon
//! runs a scenario ([`Run`]), a two-node group whose files differ only in
//! a few lines per node ([`Pair`], [`only_first`]), a scratch directory for
//! scripts and flag files ([`Scratch`]), and the wait that says who holds
//! the VIP as the client sees it ([`wait_vip_on`]).

use std::{
    fs,
    net::Ipv4Addr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, ensure};

use crate::{Daemon, Group, Host, Topology, wait_until};

/// Which daemon runs a scenario: the same keepalived.conf goes to each.
#[derive(Clone, Copy, Debug)]
pub enum Run {
    /// `ha run` with default flags.
    Ha,
    /// `ha run --datapath socket`: the default's twin.
    HaSocket,
    /// keepalived 2.2.7.
    Keepalived,
}

impl Run {
    /// Starts this daemon on `host` with `conf` (a keepalived.conf); `tag`
    /// names its work directory.
    pub fn start(self, host: &Host, tag: &str, conf: &str) -> Result<Daemon> {
        match self {
            Run::Ha => Daemon::ha(host, tag, conf),
            Run::HaSocket => Daemon::ha_with(host, tag, conf, &["--datapath", "socket"]),
            Run::Keepalived => Daemon::keepalived(host, tag, conf),
        }
    }
}

/// Per-node text of a two-node scenario: node 1's, then node 2's.
pub type PerNode = [String; 2];

/// `text` for node 1, nothing for node 2: most scenarios track something
/// on the master only.
pub fn only_first(text: impl Into<String>) -> PerNode {
    [text.into(), String::new()]
}

/// The same `text` for both nodes.
pub fn both(text: impl Into<String>) -> PerNode {
    let text = text.into();
    [text.clone(), text]
}

/// Two nodes running one v3 group (VIP: the subnet's first, 0.1 s adverts)
/// in keepalived syntax; each node's file is `top[i]` then the group with
/// `extra[i]` inside its instance block.
#[derive(Clone, Debug)]
pub struct Pair {
    /// Names the daemons' work directories.
    pub tag: &'static str,
    /// Virtual router id.
    pub vrid: u8,
    /// Node 1's and node 2's priority.
    pub priorities: [u8; 2],
    /// Text before the group (global_defs, vrrp_script, static_routes …).
    pub top: PerNode,
    /// Lines inside the instance block (track_script, use_vmac …).
    pub extra: PerNode,
}

impl Pair {
    /// A pair at priorities 200 / 100 with nothing added to the files.
    pub fn new(tag: &'static str, vrid: u8) -> Pair {
        Pair {
            tag,
            vrid,
            priorities: [200, 100],
            top: PerNode::default(),
            extra: PerNode::default(),
        }
    }

    /// Node `i`'s keepalived.conf.
    pub fn conf(&self, topo: &Topology, i: usize) -> String {
        let mut g = Group::v3(self.vrid, topo.subnet().vip4(0).into(), 24);
        g.extra = self.extra[i].clone();
        let node = &topo.nodes()[i];
        format!(
            "{}{}",
            self.top[i],
            g.keepalived_conf(node, self.priorities[i])
        )
    }

    /// Starts `run` on the topology's first two nodes, node 1 first.
    pub fn start(&self, run: Run, topo: &Topology) -> Result<Vec<Daemon>> {
        (0..2)
            .map(|i| run.start(&topo.nodes()[i], self.tag, &self.conf(topo, i)))
            .collect()
    }
}

/// Whether no node but `holder` (0-based) has `vip`.
pub fn no_other_holds(topo: &Topology, holder: usize, vip: Ipv4Addr) -> Result<bool> {
    for (i, n) in topo.nodes().iter().enumerate() {
        if i != holder && n.has_address(vip)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Waits until node `holder` (0-based) has `vip` and no other node does,
/// and the client's ARP for it is answered by `holder` alone; `logs` goes
/// into the error.
pub fn wait_vip_on(
    topo: &Topology,
    holder: usize,
    vip: Ipv4Addr,
    within: Duration,
    logs: &dyn Fn() -> String,
) -> Result<()> {
    let nodes = topo.nodes();
    wait_until(&format!("VIP on node {}", holder + 1), within, || {
        Ok(nodes[holder].has_address(vip)? && no_other_holds(topo, holder, vip)?)
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

/// A directory for one test's scripts and flag files under /tmp, named
/// after the topology's prefix (so parallel runs never share it), removed
/// on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `/tmp/<prefix>-<tag>`, empty.
    pub fn new(topo: &Topology, tag: &str) -> Result<Scratch> {
        let dir = Path::new("/tmp").join(format!("{}-{tag}", topo.prefix()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes the executable shell script `name` and returns its path.
    pub fn script(&self, name: &str, body: &str) -> Result<PathBuf> {
        write_script(&self.path(name), body)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes an executable (0755) shell script at `path` and returns the path.
pub fn write_script(path: &Path, body: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, format!("#!/bin/sh\n{body}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(path.to_path_buf())
}
