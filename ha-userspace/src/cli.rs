//! Command-line interface of the `ha` binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use crate::ebpf::command::{DatapathCommand, ModeArg};

/// `--datapath` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DatapathArg {
    /// Adverts and ARP in the XDP program.
    Xdp,
    /// Raw sockets only.
    Socket,
}

impl From<DatapathArg> for crate::config::Datapath {
    fn from(d: DatapathArg) -> Self {
        match d {
            DatapathArg::Xdp => crate::config::Datapath::Xdp,
            DatapathArg::Socket => crate::config::Datapath::Socket,
        }
    }
}

/// ha — a VRRP daemon with its per-packet work in XDP.
#[derive(Debug, Parser)]
#[command(name = "ha", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the VRRP instances of a configuration in the foreground (logs on stderr).
    Run {
        /// Native TOML or a keepalived.conf, taken as it is.
        #[arg(long, short = 'f')]
        config: PathBuf,
        /// Write the JSON status (state, master, counters) here whenever it changes.
        #[arg(long, default_value = "/run/ha/status.json")]
        status_file: PathBuf,
        /// keepalived's config-id (`keepalived -i`): selects `@ID` lines.
        #[arg(long)]
        config_id: Option<String>,
        /// How instances with datapath = "xdp" attach: native (driver) mode with a
        /// logged fallback to generic (a bond: generic), or one of them only.
        /// Where XDP_TX would not arrive (a veth in native mode) the kernel sends
        /// the ARP/NS replies, behind the same liveness gate.
        #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
        xdp_mode: ModeArg,
        /// Use this datapath for every instance, whatever the configuration says
        /// (keepalived.conf has no such keyword; the default there is xdp).
        #[arg(long, value_enum)]
        datapath: Option<DatapathArg>,
    },
    /// Validate a configuration; exits non-zero with file:line and what is wrong.
    CheckConfig {
        /// Native TOML or a keepalived.conf.
        path: PathBuf,
        /// keepalived's config-id (`keepalived -i`): selects `@ID` lines.
        #[arg(long)]
        config_id: Option<String>,
    },
    /// Print the equivalent native TOML of a configuration.
    Convert {
        /// Native TOML or a keepalived.conf.
        path: PathBuf,
        /// keepalived's config-id (`keepalived -i`): selects `@ID` lines.
        #[arg(long)]
        config_id: Option<String>,
    },
    /// Inspect or manage the XDP datapath by hand.
    #[command(subcommand)]
    Datapath(DatapathCommand),
}
