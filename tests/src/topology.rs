//! The test network: one bridge, N VRRP nodes, one client, each in its own
//! network namespace.
//!
//! ```text
//!   {p}-n1            {p}-n2                    {p}-c
//!   {p}n1 .1 ::1      {p}n2 .2 ::2        ...   {p}c .250 ::250
//!     |                 |                         |
//!   {p}p1             {p}p2                     {p}pc
//!   +-------------- bridge {p}b in {p}-br --------------+
//! ```
//!
//! `{p}` is the per-run prefix from [`crate::names`]. Veth pairs are created in
//! the bridge namespace with the peer placed straight into the host
//! namespace, so no interface of ours ever appears in the root namespace.
//! No namespace gets a default route: only the connected /24 and /64 exist,
//! so nothing a test sends can leave the bridge.
//!
//! Namespace settings, and why:
//! - host namespaces: `accept_dad = 0` (all, default): link-local and global
//!   IPv6 addresses, VIPs included, are usable at once instead of after a
//!   1 s DAD, which keeps failover timings deterministic. A test that wants
//!   DAD can turn it back on with [`Host::sysctl`].
//! - host namespaces: `keep_addr_on_down = 1`: [`Host::link_down`] would
//!   otherwise delete the static IPv6 address, and `link_up` would not
//!   bring it back.
//! - with `.ipv6(false)`, `disable_ipv6 = 1` in host namespaces: no
//!   link-local, no MLD/RS noise.
//! - bridge namespace: `disable_ipv6 = 1`, so the bridge and its ports send
//!   nothing of their own; the bridge has `mcast_snooping 0`, so VRRP
//!   multicast (224.0.0.18, ff02::12) is flooded to every port without
//!   depending on MLD/IGMP state, and STP is off, so ports forward at once.
//! - ARP sysctls (`arp_ignore`, `arp_announce`) keep their defaults.

use std::ffi::OsStr;
use std::sync::Once;

use anyhow::{Context, Result, bail};

use crate::addr::{CLIENT_OCTET, Mac, Subnet};
use crate::command::HostCommand;
use crate::host::Host;
use crate::names;
use crate::netns::{self, ip, ip_batch, sysctls};

/// Most nodes a topology may have: node octets stay below the VIP range.
pub const MAX_NODES: u8 = 99;

/// Options for a [`Topology`]; start with [`Topology::builder`].
#[derive(Clone, Debug)]
pub struct TopologyBuilder {
    nodes: u8,
    subnet: Option<u16>,
    ipv6: bool,
}

impl Default for TopologyBuilder {
    fn default() -> Self {
        Self {
            nodes: 2,
            subnet: None,
            ipv6: true,
        }
    }
}

impl TopologyBuilder {
    /// Number of VRRP nodes, `1..=99` (default 2).
    pub fn nodes(mut self, n: u8) -> Self {
        self.nodes = n;
        self
    }

    /// Subnet index `0..512` (see [`Subnet`]). Default: derived from the
    /// prefix. Topologies are separate L2 domains, so equal subnets in
    /// parallel tests do not collide; the index only makes captures readable.
    pub fn subnet(mut self, index: u16) -> Self {
        self.subnet = Some(index);
        self
    }

    /// Also give every host an IPv6 address (default `true`).
    pub fn ipv6(mut self, enabled: bool) -> Self {
        self.ipv6 = enabled;
        self
    }

    /// Creates the namespaces, bridge, veths and addresses, and waits until
    /// every host link is up (and has its IPv6 link-local address). On error
    /// everything created so far is removed again.
    pub fn build(self) -> Result<Topology> {
        if !crate::is_root() {
            bail!("building a topology needs root: run `cargo xtask test`");
        }
        if !(1..=MAX_NODES).contains(&self.nodes) {
            bail!("nodes must be in 1..={MAX_NODES}, got {}", self.nodes);
        }
        remove_leftovers_once();
        let prefix = names::allocate()?;
        let default_subnet = names::decode(&prefix).map_or(0, |(_, seq)| (seq % 256) as u16);
        let subnet = Subnet::new(self.subnet.unwrap_or(default_subnet))?;
        let mut topo = Topology {
            bridge_ns: names::bridge_ns(&prefix),
            bridge_if: format!("{prefix}b"),
            prefix,
            subnet,
            nodes: usize::from(self.nodes),
            hosts: Vec::new(),
            namespaces: Vec::new(),
        };
        // From here on, an early return drops `topo`, which tears down what exists.
        topo.create_bridge()?;
        for i in 1..=self.nodes {
            topo.add_host(Some(i), self.ipv6)?;
        }
        topo.add_host(None, self.ipv6)?;
        for host in &topo.hosts {
            host.wait_ready(self.ipv6)?;
        }
        Ok(topo)
    }
}

/// Sweeps leftovers of killed runs once per process, before our first prefix.
fn remove_leftovers_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        match netns::sweep(true) {
            Ok(removed) if removed.is_empty() => {}
            Ok(removed) => eprintln!("hatest: removed leftover namespaces {removed:?}"),
            Err(e) => eprintln!("hatest: removing leftovers: {e:#}"),
        }
        let pins = crate::pins::sweep_orphans();
        if !pins.is_empty() {
            eprintln!("hatest: removed {} orphaned ha pin directories", pins.len());
        }
    });
}

/// A bridge, N nodes and a client in network namespaces; all of it is removed
/// on `Drop` (also during a panic), including processes still inside.
#[derive(Debug)]
pub struct Topology {
    prefix: String,
    subnet: Subnet,
    bridge_ns: String,
    bridge_if: String,
    nodes: usize,
    /// Nodes in order, then the client.
    hosts: Vec<Host>,
    /// Every namespace created, in creation order; emptied by teardown.
    namespaces: Vec<String>,
}

impl Topology {
    /// Starts a builder: 2 nodes, derived subnet, IPv6 on.
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder::default()
    }

    /// The per-run name prefix every namespace and link starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The topology's /24 and /64; also hands out VIP addresses.
    pub fn subnet(&self) -> Subnet {
        self.subnet
    }

    /// The VRRP nodes; `nodes()[0]` is node 1 (address `.1`).
    pub fn nodes(&self) -> &[Host] {
        &self.hosts[..self.nodes]
    }

    /// The client host (address `.250`).
    pub fn client(&self) -> &Host {
        self.hosts.last().expect("a built topology has a client")
    }

    /// Nodes and client.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Namespace holding the bridge (run `tcpdump -i` [`bridge_ifname`](Self::bridge_ifname) there).
    pub fn bridge_ns(&self) -> &str {
        &self.bridge_ns
    }

    /// The bridge interface inside [`bridge_ns`](Self::bridge_ns).
    pub fn bridge_ifname(&self) -> &str {
        &self.bridge_if
    }

    /// A command in the bridge namespace, e.g. a capture of all traffic.
    pub fn bridge_command(&self, program: impl AsRef<OsStr>) -> HostCommand {
        HostCommand::new(&self.bridge_ns, program)
    }

    /// A LAN whose veth peers run XDP too: the `ha` program, with no instances
    /// (it passes everything), goes on every node's bridge port in native mode.
    /// For the tests of `ha --xdp-mode native` on such ports; `ha` needs none of
    /// it (on a veth in native mode its replies go through the kernel, as
    /// XDP_TX reaches a peer only if the peer runs XDP), and the default-mode
    /// tests run on plain ports. Pinned under the bridge namespace's `ha`
    /// directory, removed with it.
    pub fn native_xdp_ports(&self) -> Result<()> {
        let dir = crate::pins::ha_pin_dir(&self.bridge_ns)
            .with_context(|| format!("no inode for namespace {}", self.bridge_ns))?;
        for host in &self.hosts[..self.nodes] {
            self.bridge_command(crate::ha_bin()?)
                .args(["datapath", "attach", "--mode", "native", "--interface"])
                .arg(host.bridge_port())
                .arg("--pin-dir")
                .arg(dir.join(format!("port-{}", host.bridge_port())))
                .run_ok()?;
        }
        Ok(())
    }

    /// Deletes `host`'s veth and creates it again with the same names, MAC
    /// and addresses (a new ifindex), as a network manager restarting an
    /// interface does.
    pub fn recreate_link(&self, host: &Host) -> Result<()> {
        ip_batch(&self.bridge_ns, &format!("link del {}\n", host.port))?;
        ip_batch(
            &self.bridge_ns,
            &format!(
                "link add {port} type veth peer name {ifname} address {mac} netns {ns}\n\
                 link set {port} master {br} up\n",
                port = host.port,
                ifname = host.ifname,
                mac = host.mac,
                ns = host.ns,
                br = self.bridge_if
            ),
        )?;
        let mut batch = format!(
            "addr add {}/{} dev {}\n",
            host.ipv4,
            Subnet::V4_PREFIX_LEN,
            host.ifname
        );
        if let Some(v6) = host.ipv6 {
            batch += &format!(
                "addr add {v6}/{} dev {} nodad\n",
                Subnet::V6_PREFIX_LEN,
                host.ifname
            );
        }
        batch += &format!("link set {} up\n", host.ifname);
        ip_batch(&host.ns, &batch)
    }

    /// Every namespace this topology created (bridge first).
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// Removes everything now and reports what could not be removed; `Drop`
    /// does the same and prints errors instead.
    pub fn teardown(mut self) -> Result<()> {
        self.teardown_inner()
    }

    fn teardown_inner(&mut self) -> Result<()> {
        let mut errors = Vec::new();
        // Stop every process first, so no namespace is kept alive by one.
        for ns in &self.namespaces {
            if let Err(e) = netns::kill_all(ns) {
                errors.push(format!("{e:#}"));
            }
        }
        // Hosts before the bridge, so no veth peer is ever moved anywhere.
        for ns in self.namespaces.drain(..).rev() {
            // Pins of an `ha` killed in there outlive the namespace (bpffs is the host's).
            crate::pins::remove_for(&ns);
            if let Err(e) = netns::delete(&ns) {
                errors.push(format!("{e:#}"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            bail!("tearing down {}:\n{}", self.prefix, errors.join("\n"))
        }
    }

    fn add_namespace(&mut self, ns: &str) -> Result<()> {
        netns::add(ns)?;
        self.namespaces.push(ns.to_owned());
        Ok(())
    }

    fn create_bridge(&mut self) -> Result<()> {
        let ns = self.bridge_ns.clone();
        self.add_namespace(&ns)?;
        if ipv6_supported() {
            sysctls(
                &ns,
                &[
                    ("net.ipv6.conf.all.disable_ipv6", "1"),
                    ("net.ipv6.conf.default.disable_ipv6", "1"),
                ],
            )?;
        }
        ip_batch(
            &ns,
            &format!(
                "link set lo up\n\
                 link add {br} type bridge stp_state 0 mcast_snooping 0\n\
                 link set {br} up\n",
                br = self.bridge_if
            ),
        )
    }

    /// Adds node `index` (or the client for `None`) and its veth to the bridge.
    fn add_host(&mut self, index: Option<u8>, ipv6: bool) -> Result<()> {
        let p = &self.prefix;
        let (ns, ifname, port, octet) = match index {
            Some(i) => (
                names::node_ns(p, i),
                format!("{p}n{i}"),
                format!("{p}p{i}"),
                i,
            ),
            None => (
                names::client_ns(p),
                format!("{p}c"),
                format!("{p}pc"),
                CLIENT_OCTET,
            ),
        };
        self.add_namespace(&ns)?;
        if ipv6 {
            sysctls(
                &ns,
                &[
                    ("net.ipv6.conf.all.accept_dad", "0"),
                    ("net.ipv6.conf.default.accept_dad", "0"),
                    ("net.ipv6.conf.all.keep_addr_on_down", "1"),
                    ("net.ipv6.conf.default.keep_addr_on_down", "1"),
                ],
            )?;
        } else if ipv6_supported() {
            sysctls(
                &ns,
                &[
                    ("net.ipv6.conf.all.disable_ipv6", "1"),
                    ("net.ipv6.conf.default.disable_ipv6", "1"),
                ],
            )?;
        }
        // A locally administered MAC that names the subnet and host: 02:00:k:k:00:h.
        let [k_hi, k_lo] = self.subnet.index().to_be_bytes();
        let mac = Mac([0x02, 0, k_hi, k_lo, 0, octet]);
        ip_batch(
            &self.bridge_ns,
            &format!(
                "link add {port} type veth peer name {ifname} address {mac} netns {ns}\n\
                 link set {port} master {br} up\n",
                br = self.bridge_if
            ),
        )?;
        let ipv4 = self.subnet.v4(octet);
        let ipv6 = ipv6.then(|| self.subnet.v6(octet));
        let mut batch = format!(
            "link set lo up\naddr add {ipv4}/{} dev {ifname}\n",
            Subnet::V4_PREFIX_LEN
        );
        if let Some(v6) = ipv6 {
            batch += &format!(
                "addr add {v6}/{} dev {ifname} nodad\n",
                Subnet::V6_PREFIX_LEN
            );
        }
        batch += &format!("link set {ifname} up\n");
        ip_batch(&ns, &batch)?;
        let (ifindex, mac) = link_info(&ns, &ifname)?;
        self.hosts.push(Host {
            ns,
            ifname,
            ipv4,
            ipv6,
            ifindex,
            mac,
            bridge_ns: self.bridge_ns.clone(),
            port,
        });
        Ok(())
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Err(e) = self.teardown_inner() {
            eprintln!("hatest: {e:#}");
        }
    }
}

fn ipv6_supported() -> bool {
    std::path::Path::new("/proc/sys/net/ipv6").exists()
}

/// `(ifindex, MAC)` of `ifname` in `ns`, from `ip -o link show`.
fn link_info(ns: &str, ifname: &str) -> Result<(u32, Mac)> {
    let line = ip(&["-n", ns, "-o", "link", "show", "dev", ifname])?;
    // "7: hak..n1@if6: <BROADCAST,...> mtu 1500 ... \    link/ether 02:00:.. brd ..."
    let index = line
        .split(':')
        .next()
        .and_then(|i| i.trim().parse().ok())
        .with_context(|| format!("no ifindex in {line:?}"))?;
    let mut words = line.split_whitespace();
    let mac = words
        .find(|w| *w == "link/ether")
        .and_then(|_| words.next())
        .with_context(|| format!("no MAC in {line:?}"))?
        .parse()?;
    Ok((index, mac))
}
