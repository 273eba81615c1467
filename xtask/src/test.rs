//! `cargo xtask test`: unit tests, then the tests that need root and namespaces.

use anyhow::{Context, Result, bail};

use crate::cmd;

pub fn run(filter: Option<&str>) -> Result<()> {
    // Stage 1: everything that runs without privileges (unit, codec vectors,
    // property tests, the state-machine simulation).
    let mut unit = cmd::cargo();
    unit.args(["test", "--workspace"]);
    if let Some(f) = filter {
        unit.args(["--", f]);
    }
    cmd::run(&mut unit).context("unit tests failed")?;

    // Stage 2: the tests that build hosts in network namespaces and load XDP (in
    // ha-userspace and in the `tests` crate). They are `#[ignore]`d in plain
    // `cargo test` and run here, as root, against the release binary.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the namespace tests need root: run `cargo xtask test` as root");
    }
    // One test at a time: they measure takeovers against the RFC's timers, and two
    // of them racing for this machine's two cores would only measure the machine.
    let mut root = cmd::cargo();
    root.args(["test", "--workspace", "--", "--ignored", "--test-threads=1"]);
    if let Some(f) = filter {
        root.arg(f);
    }
    root.env("HA_BIN", cmd::ha_path());
    cmd::run(&mut root).context("namespace tests failed")
}
