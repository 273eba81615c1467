//! Real services for the health-check scenarios (issue 9: the VIP follows the
//! service): nginx, MariaDB and a loop-mounted filesystem, each run or used
//! the way a user's check and notify scripts do, with every file under the
//! test's [`TempDir`].
//!
//! nginx and mariadbd run detached (daemonized, tracked by pid file), because
//! the scripts under test stop and start them behind the harness's back; the
//! guards stop them on drop, and the namespace teardown kills whatever is
//! still inside. `cargo xtask setup` installs the Debian packages without
//! starting their system-wide services.
//!
//! Drop order in a test: daemons (`ha`, keepalived) first, then services,
//! then the [`TempDir`], then the topology, which is what declaring them in
//! the reverse order gives:
//!
//! ```no_run
//! # use std::{net::Ipv4Addr, time::Duration};
//! # use hatest::{Topology, services::{Nginx, TempDir}};
//! # fn main() -> anyhow::Result<()> {
//! let topo = Topology::builder().nodes(2).build()?;
//! let tmp = TempDir::new("web")?;
//! let [n1, _n2] = topo.nodes() else { unreachable!() };
//! let web = Nginx::start(n1, &tmp.sub("nginx-n1")?, Ipv4Addr::UNSPECIFIED.into(), 80, "n1\n")?;
//! let got = topo.client().http_get(&web.url(), Duration::from_secs(1))?;
//! assert_eq!(got.body(), Some("n1\n"));
//! # Ok(()) }
//! ```

mod detached;
pub mod loopfs;
pub mod mariadb;
pub mod nginx;
mod tempdir;

pub use loopfs::LoopFs;
pub use mariadb::{MARIADB_PASSWORD, MARIADB_USER, Mariadb, Startup};
pub use nginx::Nginx;
pub use tempdir::TempDir;
