//! Command-line interface of the `ha` binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::ebpf::AttachMode;

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

#[derive(Debug, Subcommand)]
pub enum DatapathCommand {
    /// Load the XDP program, attach it to an interface and pin it, then exit
    /// (the pinned link keeps it attached).
    Attach {
        /// The interface to attach to.
        #[arg(long, short)]
        interface: String,
        /// Where to pin the maps and link (default: /sys/fs/bpf/ha/IFACE).
        #[arg(long)]
        pin_dir: Option<PathBuf>,
        /// Native mode, generic (SKB) mode, or native with a fallback to generic.
        #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
        mode: ModeArg,
    },
    /// Unpin everything under the pin directory, which detaches the program.
    Detach {
        /// The interface it was attached to (names the default pin directory).
        #[arg(long, short)]
        interface: Option<String>,
        /// The pin directory (default: /sys/fs/bpf/ha/IFACE).
        #[arg(long)]
        pin_dir: Option<PathBuf>,
    },
    /// Print the frame counters of an attached program.
    Counters {
        /// The interface it was attached to (names the default pin directory).
        #[arg(long, short)]
        interface: Option<String>,
        /// The pin directory (default: /sys/fs/bpf/ha/IFACE).
        #[arg(long)]
        pin_dir: Option<PathBuf>,
    },
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    Auto,
    Native,
    Skb,
}

impl From<ModeArg> for AttachMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Auto => AttachMode::Auto,
            ModeArg::Native => AttachMode::Native,
            ModeArg::Skb => AttachMode::Skb,
        }
    }
}
