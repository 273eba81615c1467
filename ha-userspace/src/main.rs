//! The `ha` binary: parses the command line and hands off to the library.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Result, bail};
use clap::Parser;
use ha::{
    cli::{Cli, Command, DatapathCommand},
    ebpf,
};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HA_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ha: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Datapath(cmd) => datapath(cmd),
    }
}

fn datapath(cmd: DatapathCommand) -> Result<()> {
    match cmd {
        DatapathCommand::Attach {
            interface,
            pin_dir,
            mode,
        } => {
            let dir = pin_dir.unwrap_or_else(|| default_pin_dir(&interface));
            let attached = ebpf::attach(&interface, mode.into(), &dir)?;
            println!(
                "attached to {interface} in {:?} mode, pinned under {}",
                attached.mode,
                dir.display()
            );
            Ok(())
        }
        DatapathCommand::Detach { interface, pin_dir } => {
            let dir = pin_dir_of(interface, pin_dir)?;
            ebpf::unpin_all(&dir)
        }
        DatapathCommand::Counters { interface, pin_dir } => {
            let dir = pin_dir_of(interface, pin_dir)?;
            let c = ebpf::read_frame_counts(&dir)?;
            println!(
                "arp {} vrrp_v4 {} vrrp_v6 {} other {}",
                c.arp, c.vrrp_v4, c.vrrp_v6, c.other
            );
            Ok(())
        }
    }
}

fn default_pin_dir(interface: &str) -> PathBuf {
    PathBuf::from(ebpf::PIN_ROOT).join(interface)
}

fn pin_dir_of(interface: Option<String>, pin_dir: Option<PathBuf>) -> Result<PathBuf> {
    match (interface, pin_dir) {
        (_, Some(dir)) => Ok(dir),
        (Some(interface), None) => Ok(default_pin_dir(&interface)),
        (None, None) => bail!("name the interface (--interface) or the pin directory (--pin-dir)"),
    }
}
