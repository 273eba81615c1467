//! `cargo xtask bench health`: health checks, `ha` beside keepalived 2.2.7
//! in the same run.
//!
//! - [`reaction`]: nginx killed on the master → the client served by the
//!   backup, for a `vrrp_script` at 1 s and 0.1 s, weight 0 (FAULT) and a
//!   negative weight, against the RFC-derived floor;
//! - [`cost`]: CPU of 50 checks a second on one node: `vrrp_script` in
//!   both daemons, ha's built-in TCP check, counted with the forked
//!   children (a cgroup per daemon).

mod conf;
mod cost;
mod prober;
mod reaction;

use anyhow::{Result, bail};

use super::{Args, common::Impl, interrupt};

/// The daemons measured: `--daemons`, else ha with default flags and keepalived.
fn daemons(args: &Args) -> Vec<Impl> {
    if args.daemons.is_empty() {
        vec![Impl::HaXdp, Impl::Keepalived]
    } else {
        args.daemons()
    }
}

pub fn run(args: &Args) -> Result<()> {
    let daemons = daemons(args);
    reaction::run(args, &daemons)?;
    if !interrupt::requested() {
        cost::run(args, &daemons)?;
    }
    if interrupt::requested() {
        bail!("interrupted: the tables above hold only what finished");
    }
    Ok(())
}
