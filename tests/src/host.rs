//! One host of a [`crate::Topology`]: its addresses, commands inside its
//! namespace, and link faults. Probes are in [`crate::probe`].

use std::ffi::OsStr;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use anyhow::Result;

use crate::addr::Mac;
use crate::command::{Enter, HostCommand};
use crate::netns::{ip, netns_path, sysctls};
use crate::process::Proc;
use crate::wait_until;

/// Bound on waiting for links and link-local addresses after creation.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// One host of a topology: a namespace with one veth into the bridge.
///
/// Probes ([`ping`](Host::ping), [`arping`](Host::arping), address queries)
/// live in [`crate::probe`].
#[derive(Clone, Debug)]
pub struct Host {
    /// Namespace name, e.g. `ha0039u03-n1`.
    pub ns: String,
    /// The host's interface (its "eth0"), e.g. `ha0039u03n1`.
    pub ifname: String,
    /// Static IPv4 address (/24).
    pub ipv4: Ipv4Addr,
    /// Static IPv6 address (/64), when the topology has IPv6.
    pub ipv6: Option<Ipv6Addr>,
    pub(crate) ifindex: u32,
    pub(crate) mac: Mac,
    pub(crate) bridge_ns: String,
    /// The bridge-side end of this host's veth.
    pub(crate) port: String,
}

impl Host {
    /// `/run/netns/NAME`, e.g. for `setns` or `nsenter --net=`.
    pub fn netns_path(&self) -> PathBuf {
        netns_path(&self.ns)
    }

    /// Interface index of [`ifname`](Self::ifname) inside the namespace.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// MAC address of [`ifname`](Self::ifname) (`02:00:k:k:00:h`).
    pub fn mac(&self) -> Mac {
        self.mac
    }

    /// The bridge-side interface of this host's veth (in the bridge namespace).
    pub fn bridge_port(&self) -> &str {
        &self.port
    }

    /// A command in this namespace, entered with [`Enter::Nsenter`] unless
    /// changed with [`HostCommand::enter`].
    pub fn command(&self, program: impl AsRef<OsStr>) -> HostCommand {
        HostCommand::new(&self.ns, program)
    }

    /// Runs `program args…` with `ip netns exec` (so `/sys` matches the
    /// namespace) and returns its output whatever the exit status. Bounded by
    /// [`crate::process::RUN_TIMEOUT`].
    pub fn run<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(program)
            .args(args)
            .enter(Enter::IpNetnsExec)
            .run()
    }

    /// [`run`](Self::run), but a non-zero exit is an error quoting stdout and stderr.
    pub fn run_ok<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(program)
            .args(args)
            .enter(Enter::IpNetnsExec)
            .run_ok()
    }

    /// Runs `program args…` with `nsenter --net` (so `/sys/fs/bpf` stays
    /// visible) and returns its output whatever the exit status.
    pub fn nsenter<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(program).args(args).enter(Enter::Nsenter).run()
    }

    /// Starts `program args…` with `nsenter --net` and returns its guard.
    /// For `ip netns exec`, use `command(..).enter(Enter::IpNetnsExec).spawn()`.
    pub fn spawn<I, S>(&self, program: impl AsRef<OsStr>, args: I) -> Result<Proc>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(program)
            .args(args)
            .enter(Enter::Nsenter)
            .spawn()
    }

    /// Sets a sysctl inside this namespace, e.g.
    /// `("net.ipv4.conf.all.arp_ignore", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        sysctls(&self.ns, &[(key, value)])
    }

    /// Sets the host's interface administratively down (the host sees its
    /// own link go down; addresses stay, see the module docs).
    pub fn link_down(&self) -> Result<()> {
        ip(&["-n", &self.ns, "link", "set", "dev", &self.ifname, "down"]).map(drop)
    }

    /// Undoes [`link_down`](Self::link_down).
    pub fn link_up(&self) -> Result<()> {
        ip(&["-n", &self.ns, "link", "set", "dev", &self.ifname, "up"]).map(drop)
    }

    /// Pulls the cable: sets the bridge-side end down, so the host's interface
    /// stays up but loses carrier (`NO-CARRIER`, operstate `LOWERLAYERDOWN`).
    pub fn unplug(&self) -> Result<()> {
        ip(&[
            "-n",
            &self.bridge_ns,
            "link",
            "set",
            "dev",
            &self.port,
            "down",
        ])
        .map(drop)
    }

    /// Undoes [`unplug`](Self::unplug).
    pub fn plug(&self) -> Result<()> {
        ip(&[
            "-n",
            &self.bridge_ns,
            "link",
            "set",
            "dev",
            &self.port,
            "up",
        ])
        .map(drop)
    }

    /// Loads nftables rules into this namespace (`nft -f -`). The ruleset
    /// lives and dies with the namespace. Example, drop half of the VRRP
    /// adverts arriving here:
    ///
    /// ```text
    /// table inet fault {
    ///     chain input {
    ///         type filter hook input priority -300;
    ///         ip protocol vrrp numgen random mod 2 == 0 drop
    ///     }
    /// }
    /// ```
    ///
    /// `nft flush ruleset` (as a ruleset line) removes everything again.
    pub fn nft(&self, ruleset: &str) -> Result<()> {
        self.command("nft")
            .args(["-f", "-"])
            .stdin(ruleset)
            .enter(Enter::IpNetnsExec)
            .run_ok()
            .map(drop)
    }

    /// Waits (bounded) until the link is up and, with IPv6, the link-local
    /// address is usable.
    pub(crate) fn wait_ready(&self, ipv6: bool) -> Result<()> {
        wait_until(
            &format!("{} {} up", self.ns, self.ifname),
            READY_TIMEOUT,
            || {
                let link = ip(&["-n", &self.ns, "-o", "link", "show", "dev", &self.ifname])?;
                if !link.contains("LOWER_UP") {
                    return Ok(false);
                }
                Ok(!ipv6 || self.link_local()?.is_some())
            },
        )
    }
}
