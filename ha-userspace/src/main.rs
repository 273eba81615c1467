//! The `ha` binary: parses the command line and hands off to the library.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};
use clap::Parser;
use ha::{
    cli::{Cli, Command, DatapathCommand},
    config, daemon, ebpf,
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
        Command::Run {
            config,
            status_file,
            config_id,
        } => {
            let loaded = load(&config, config_id)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            let opts = daemon::Options {
                status_file: Some(status_file),
            };
            runtime.block_on(daemon::run(loaded.config, opts))
        }
        Command::CheckConfig { path, config_id } => {
            let options = config::Options { config_id };
            match options.check(&path) {
                Ok(loaded) => {
                    print_warnings(&loaded);
                    println!(
                        "{}: ok ({} instances)",
                        path.display(),
                        loaded.config.instances.len()
                    );
                    Ok(())
                }
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("{e}");
                    }
                    bail!("{}: {} error(s)", path.display(), errors.0.len())
                }
            }
        }
        Command::Convert { path, config_id } => {
            let loaded = load(&path, config_id)?;
            print!("{}", config::to_toml(&loaded.config));
            Ok(())
        }
        Command::Datapath(cmd) => datapath(cmd),
    }
}

/// Loads a configuration, logging its warnings; the first error fails.
fn load(path: &Path, config_id: Option<String>) -> Result<config::Loaded> {
    let loaded = config::Options { config_id }.load(path)?;
    print_warnings(&loaded);
    Ok(loaded)
}

fn print_warnings(loaded: &config::Loaded) {
    for w in &loaded.warnings {
        eprintln!("{w}");
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
