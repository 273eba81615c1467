//! The `ha` binary: parses the command line and hands off to the library.

use std::{path::Path, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::Parser;
use ha::{
    cli::{Cli, Command},
    config, daemon, ebpf,
    exec::security::script_problems,
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
            xdp_mode,
            datapath,
        } => {
            let mut loaded = load(&config, config_id)?;
            // A script that cannot run does not stop the daemon: the runtime
            // counts it as a failed check (the same check, see
            // exec::security::check_program).
            for e in script_problems(&loaded) {
                eprintln!("{}", config::Warning::at(&e.loc(), e.message));
            }
            if let Some(d) = datapath {
                for i in &mut loaded.config.instances {
                    i.datapath = d.into();
                }
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            let opts = daemon::Options {
                status_file: Some(status_file),
                xdp_mode: xdp_mode.into(),
            };
            runtime.block_on(async {
                // Before anything slow: from here on no signal kills the daemon.
                let signals = daemon::Signals::install()?;
                daemon::run(loaded.config, opts, signals.stop_requested()).await
            })
        }
        Command::CheckConfig { path, config_id } => {
            let options = config::Options { config_id };
            match options.check(&path) {
                Ok(loaded) => {
                    print_warnings(&loaded);
                    let problems = script_problems(&loaded);
                    if !problems.is_empty() {
                        for e in &problems {
                            eprintln!("{e}");
                        }
                        bail!("{}: {} error(s)", path.display(), problems.len());
                    }
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
        Command::Datapath(cmd) => ebpf::command::run(cmd),
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
