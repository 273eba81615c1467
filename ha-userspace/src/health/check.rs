//! The task behind one [`Check`] (keepalived's `vrrp_script`, or a built-in
//! TCP/HTTP probe): run it every `interval`, feed the results through
//! [`Hysteresis`], publish the level.
//!
//! Runs are spaced start to start; a run still going when the next one is
//! due is not started twice: that tick is skipped. A run is cut at
//! `timeout` (the interval when unset, as keepalived) and a script is then
//! killed with its process group ([`exec`]); that counts as a failure. The
//! first run starts at once, as keepalived's.

use std::time::Duration;

use tokio::{sync::watch, time::MissedTickBehavior};
use tracing::{debug, info, warn};

use super::{Status, hysteresis::Hysteresis, probe, weight::Level};
use crate::{config::model::Check, exec};

/// The shortest interval honoured (tokio's interval cannot be zero).
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Runs `check` forever, publishing its level on `level` and its details
/// on `status`.
pub async fn run(
    check: Check,
    runner: exec::Runner,
    level: watch::Sender<Level>,
    status: watch::Sender<Status>,
) {
    let name = check.name.as_str();
    let timeout = check.timeout.unwrap_or(check.interval).max(MIN_INTERVAL);
    let mut hysteresis = Hysteresis::new(check.rise, check.fall, check.init_fail);
    level.send_replace(hysteresis.level());
    let mut tick = tokio::time::interval(check.interval.max(MIN_INTERVAL));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // The last "cannot start" error logged, so it is logged once, not at
    // every run.
    let mut not_started: Option<String> = None;
    let mut failures = 0u32;
    loop {
        tick.tick().await;
        let result = probe::attempt(&check.probe, timeout, &runner).await;
        let last_error = match &result {
            Ok(()) => {
                failures = 0;
                not_started = None;
                None
            }
            Err(f) => {
                failures = failures.saturating_add(1);
                if f.not_started {
                    if not_started.as_deref() != Some(f.reason.as_str()) {
                        warn!(
                            "check {name}: {}; counted as failed until it can run",
                            f.reason
                        );
                        not_started = Some(f.reason.clone());
                    }
                } else {
                    debug!(
                        "check {name} failed: {}; output: {}",
                        f.reason,
                        f.output.trim_end()
                    );
                }
                Some(f.reason.clone())
            }
        };
        if let Some(new) = hysteresis.record(result.is_ok()) {
            match &last_error {
                None => info!("check {name} succeeded: now {}", state_name(new)),
                Some(e) => info!("check {name} failed ({e}): now {}", state_name(new)),
            }
            level.send_replace(new);
        }
        // Only a change wakes the status writer: a healthy check's runs
        // cost it nothing.
        status.send_if_modified(|s| {
            let before = (s.state.clone(), s.failures, s.last_error.clone());
            s.state = state_name(hysteresis.level()).to_string();
            s.failures = failures;
            if last_error.is_some() {
                s.last_error = last_error;
            }
            before != (s.state.clone(), s.failures, s.last_error.clone())
        });
    }
}

/// The word the status file shows for a level.
pub fn state_name(level: Level) -> &'static str {
    match level {
        Level::Init => "init",
        Level::Up => "up",
        Level::Down => "down",
        Level::Value(_) => "value",
        Level::Disabled => "disabled",
    }
}
