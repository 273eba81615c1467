//! The signals `ha run` answers to.
//!
//! SIGTERM and SIGINT stop the daemon with a handover. SIGHUP, SIGUSR1 and
//! SIGUSR2 mean reload and dumps to keepalived users; until `ha` gives them a
//! meaning they are logged and ignored, never the default action (which would
//! kill the daemon and leave its VIPs behind).

use anyhow::{Context, Result};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{info, warn};

/// The handlers, installed: from here on none of these signals kills us.
pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    usr1: Signal,
    usr2: Signal,
}

impl Signals {
    /// Installs every handler; must run inside the tokio runtime.
    pub fn install() -> Result<Signals> {
        let install = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("installing the {name} handler"))
        };
        Ok(Signals {
            term: install(SignalKind::terminate(), "SIGTERM")?,
            int: install(SignalKind::interrupt(), "SIGINT")?,
            hup: install(SignalKind::hangup(), "SIGHUP")?,
            usr1: install(SignalKind::user_defined1(), "SIGUSR1")?,
            usr2: install(SignalKind::user_defined2(), "SIGUSR2")?,
        })
    }

    /// Resolves at the first SIGTERM or SIGINT; logs the others meanwhile.
    pub async fn stop_requested(mut self) {
        loop {
            tokio::select! {
                _ = self.term.recv() => return info!("SIGTERM: handing over"),
                _ = self.int.recv() => return info!("SIGINT: handing over"),
                _ = self.hup.recv() => warn!("SIGHUP: ignored (reload is not supported yet)"),
                _ = self.usr1.recv() => warn!("SIGUSR1: ignored (data dumps are not supported yet; see the status file)"),
                _ = self.usr2.recv() => warn!("SIGUSR2: ignored (stats dumps are not supported yet; see the status file)"),
            }
        }
    }
}
