//! `cargo xtask`: the project's build, test and demo entry points.
//!
//! Every command but `setup` runs `setup` first, so a fresh Debian machine needs
//! nothing but root and this repository.

mod bench;
mod build;
mod cmd;
mod demo;
mod fuzz;
mod quiet_install;
mod setup;
mod test;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, test and demo ha")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing (Debian packages, rust-src, bpf-linker, bpffs) and nothing else.
    Setup,
    /// Build the XDP object (nightly) and the `ha` binary (stable, release).
    Build,
    /// Setup, build, unit tests, then the tests that need root and network namespaces.
    Test {
        /// Only run tests whose name contains this filter (both stages).
        filter: Option<String>,
    },
    /// Setup, build, then the XDP fuzzer and the config property tests for longer than `test` runs them.
    Fuzz(fuzz::Args),
    /// Build and attach the XDP program to IFACE, pinned under /sys/fs/bpf/ha/IFACE.
    Load {
        iface: String,
        /// auto (native, falling back to skb), native or skb.
        #[arg(long, default_value = "auto")]
        mode: String,
    },
    /// Detach the XDP program from IFACE and remove its pins.
    Unload { iface: String },
    /// Two nodes and a client in namespaces, a failover, and a timeline.
    Demo,
    /// Failover, cost, detection lag and false takeovers against keepalived (markdown on stdout).
    Bench(bench::Args),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Setup => setup::run(),
        Command::Build => {
            setup::run()?;
            build::all()
        }
        Command::Test { filter } => {
            setup::run()?;
            build::all()?;
            test::run(filter.as_deref())
        }
        Command::Fuzz(args) => {
            setup::run()?;
            build::all()?;
            fuzz::run(&args)
        }
        Command::Load { iface, mode } => {
            setup::run()?;
            build::all()?;
            cmd::run(cmd::ha_bin().args([
                "datapath",
                "attach",
                "--interface",
                &iface,
                "--mode",
                &mode,
            ]))
        }
        Command::Unload { iface } => {
            cmd::run(cmd::ha_bin().args(["datapath", "detach", "--interface", &iface]))
        }
        Command::Demo => {
            setup::run()?;
            build::all()?;
            demo::run()
        }
        Command::Bench(args) => {
            setup::run()?;
            build::all()?;
            bench::run(args)
        }
    }
}
