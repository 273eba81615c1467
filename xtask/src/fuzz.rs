//! `cargo xtask fuzz`: a long run of what `cargo xtask test` runs briefly — the
//! XDP program fed random and mutated frames (`tests/tests/xdp_fuzz.rs`) — and
//! the configuration readers' property tests with as many cases.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Cases for each fuzzer: frames for the XDP program, inputs for each
    /// configuration property test (`HA_FUZZ_CASES`).
    #[arg(long, default_value_t = 100_000)]
    pub cases: u64,
    /// The XDP fuzzer stops after this many seconds if it has not run all its cases.
    #[arg(long, default_value_t = 300)]
    pub seconds: u64,
    /// The XDP fuzzer's seed, to replay a run [default: a fresh one, printed].
    #[arg(long, value_parser = parse_seed)]
    pub seed: Option<u64>,
}

fn parse_seed(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s}: {e}"))
}

pub fn run(args: &Args) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the XDP fuzzer loads the program: run `cargo xtask fuzz` as root");
    }
    let seed = match args.seed {
        Some(s) => s,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_nanos() as u64,
    };
    eprintln!(
        "xtask: fuzzing with {} cases, seed {seed:#x} (replay: cargo xtask fuzz --seed {seed:#x})",
        args.cases
    );
    let mut xdp = cmd::cargo();
    xdp.args([
        "test",
        "-p",
        "ha-tests",
        "--test",
        "xdp_fuzz",
        "--",
        "--ignored",
        "--nocapture",
    ])
    .env("HA_BIN", cmd::ha_path())
    .env("HA_FUZZ_CASES", args.cases.to_string())
    .env("HA_FUZZ_SECONDS", args.seconds.to_string())
    .env("HA_FUZZ_SEED", format!("{seed:#x}"));
    cmd::run(&mut xdp).context("the XDP fuzzer failed")?;

    let mut config = cmd::cargo();
    config
        .args(["test", "-p", "ha-userspace", "config"])
        .env("HA_FUZZ_CASES", args.cases.to_string());
    cmd::run(&mut config).context("the configuration property tests failed")
}
