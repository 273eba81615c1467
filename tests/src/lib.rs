//! `hatest`: test hosts for `ha` in network namespaces.
//!
//! A [`Topology`] is one Linux bridge, N VRRP nodes and one client, each in
//! its own network namespace, joined by veth pairs. It follows the project's
//! test-host policy (DESIGN.md, "Test hosts"):
//!
//! - every namespace and link name starts with a per-run prefix
//!   ([`names`]), so parallel runs never collide;
//! - addresses come only from 198.18.0.0/15 and 2001:2::/48, one /24 and
//!   one /64 per topology ([`Subnet`]); no namespace has a default route;
//! - everything is removed on `Drop`, also while a test panics, and the
//!   processes a test started there are killed and reaped ([`Proc`]);
//!   leftovers of a SIGKILLed run are swept before the next run's first
//!   topology ([`remove_leftovers`]);
//! - every probe and wait is bounded in count and time.
//!
//! Real services for the health-check scenarios (nginx, MariaDB, a
//! loop-mounted filesystem, each under a [`TempDir`]) live in [`services`];
//! [`Host::http_get`] is the client's bounded web probe.
//!
//! The keepalived-syntax scenarios share their scaffolding through
//! [`scenario`]: which daemon runs ([`scenario::Run`]), a two-node group
//! ([`scenario::Pair`]), scratch scripts and the VIP-holder wait.
//!
//! Tests that need root call [`require_root`] first and carry
//! `#[ignore = "needs root: run by cargo xtask test"]`, so a plain
//! `cargo test` skips them and `cargo xtask test` runs them with `--ignored`.
//!
//! ```no_run
//! use std::time::Duration;
//! use hatest::{Topology, require_root};
//!
//! # fn main() -> anyhow::Result<()> {
//! require_root();
//! let topo = Topology::builder().nodes(2).subnet(7).build()?;
//! let [n1, n2] = topo.nodes() else { unreachable!() };
//! let vip = topo.subnet().vip4(0); // 198.18.7.100
//!
//! let daemon = n1.spawn("ha", ["--config", "/tmp/ha.toml"])?; // killed on drop
//! hatest::wait_until("VIP on node 1", Duration::from_secs(3), || n1.has_address(vip))?;
//! let arp = topo.client().arping(vip, 3, Duration::from_millis(20))?;
//! assert!(arp.answered_only_by(n1.mac()), "{arp:?}\n{}", daemon.stderr());
//!
//! n1.nft("table inet f {\n chain i {\n type filter hook input priority 0;\n ip protocol vrrp drop\n }\n}")?;
//! let report = topo.client().ping(n2.ipv4, 10, Duration::from_millis(10))?;
//! assert!(report.all_answered());
//! # Ok(()) }
//! ```

mod addr;
mod bins;
pub mod capture;
mod command;
pub mod daemons;
pub mod fault;
mod host;
mod http;
mod icmp;
pub mod names;
pub mod netns;
pub mod pins;
pub mod probe;
pub mod process;
pub mod scenario;
pub mod services;
pub mod stranger;
mod topology;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

pub use addr::{Mac, Subnet};
pub use bins::ha_bin;
pub use capture::{Capture, Frame};
pub use command::{Enter, HostCommand};
pub use daemons::{Daemon, Group, Kind, XDP_COUNTERS_WAIT, logs, wait_elected};
pub use host::Host;
pub use http::{HttpGet, MAX_HTTP_TIMEOUT};
pub use netns::{in_netns, remove_leftovers};
pub use probe::{ArpReply, ArpReport, IfAddr, PingReport};
pub use process::Proc;
pub use services::TempDir;
pub use topology::{MAX_NODES, Topology, TopologyBuilder};

/// Whether we run with effective uid 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Panics with a clear message unless running as root. Call it first in
/// every test that builds a topology.
pub fn require_root() {
    assert!(
        is_root(),
        "needs root: run `cargo xtask test` (it runs the root tests with `-- --ignored`)"
    );
}

/// Poll period of [`wait_until`].
const WAIT_POLL: Duration = Duration::from_millis(10);

/// Calls `check` every 10 ms until it returns `Ok(true)`; an error if
/// `timeout` passes first (naming `what`) or if `check` fails.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if check()? {
            return Ok(());
        }
        let waited = start.elapsed();
        if waited >= timeout {
            bail!("timed out after {waited:?} waiting for {what}");
        }
        std::thread::sleep(WAIT_POLL.min(timeout - waited));
    }
}
