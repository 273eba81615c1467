//! keepalived's `virtual_server` real servers, as far as ha runs them: each
//! checker probes every `delay_loop`; the real server is up while all its
//! checkers pass, and its `notify_up` / `notify_down` run on each change.
//!
//! The retry rule (keepalived's `retry` and `delay_before_retry`): a passing
//! checker that fails is tried again up to `retry` times, `delay_before_retry`
//! apart, and is down only when every try failed; a failed checker is up
//! again after one success. Every checker starts up (keepalived's default
//! without `alpha`), and the first round starts at once (keepalived waits a
//! random part of `delay_loop` first).
//!
//! Notify scripts of one real server run one after another in order, each
//! with [`NOTIFY_TIMEOUT`] (keepalived does not time them out); they never
//! hold back the checks, which go on beside them.

use std::{net::SocketAddr, time::Duration};

use futures::future::join_all;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::{Status, probe};
use crate::{
    config::model::{Checker, Command, RealServer},
    exec,
};

/// How long a notify_up / notify_down script may run.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the checkers of `rs` (of a virtual server checked every
/// `delay_loop`) forever.
pub async fn run(
    rs: RealServer,
    delay_loop: Duration,
    runner: exec::Runner,
    status: watch::Sender<Status>,
) {
    let addr = SocketAddr::new(rs.addr, rs.port);
    let (results, mut changes) = mpsc::channel::<(usize, Result<(), String>)>(16);
    let (notify_tx, mut notify_rx) = mpsc::unbounded_channel::<Command>();
    let checkers: Vec<_> = rs
        .checkers
        .iter()
        .enumerate()
        .map(|(i, c)| checker(i, c, delay_loop, &runner, results.clone()))
        .collect();
    let aggregate = async {
        let mut up = vec![true; rs.checkers.len()];
        let mut server_up = true;
        while let Some((i, result)) = changes.recv().await {
            up[i] = result.is_ok();
            let now_up = up.iter().all(|&u| u);
            status.send_modify(|s| {
                s.state = if now_up { "up" } else { "down" }.to_string();
                if let Err(e) = &result {
                    s.last_error = Some(e.clone());
                }
            });
            if now_up == server_up {
                continue;
            }
            server_up = now_up;
            match &result {
                Err(e) => info!("real server {addr} down ({e})"),
                Ok(()) => info!("real server {addr} up"),
            }
            let script = if now_up {
                &rs.notify_up
            } else {
                &rs.notify_down
            };
            if let Some(cmd) = script {
                let _ = notify_tx.send(cmd.clone());
            }
        }
    };
    let notify = async {
        while let Some(cmd) = notify_rx.recv().await {
            match runner.run(&cmd, &[], NOTIFY_TIMEOUT).await {
                Ok(run) if run.outcome.success() => {}
                Ok(run) => warn!(
                    "real server {addr}: notify {:?} ended {:?}",
                    cmd.argv, run.outcome
                ),
                Err(e) => warn!("real server {addr}: notify: {e}"),
            }
        }
    };
    drop(results);
    futures::join!(join_all(checkers), aggregate, notify);
}

/// One checker's loop: reports each change of its up/down state.
async fn checker(
    i: usize,
    c: &Checker,
    delay_loop: Duration,
    runner: &exec::Runner,
    results: mpsc::Sender<(usize, Result<(), String>)>,
) {
    let every = c
        .delay_loop
        .unwrap_or(delay_loop)
        .max(Duration::from_millis(10));
    let kind = probe::kind(&c.probe);
    let mut up = true;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let tries = if up { c.retry.saturating_add(1) } else { 1 };
        let mut result = Err(String::new());
        for n in 0..tries {
            if n > 0 {
                tokio::time::sleep(c.delay_before_retry).await;
            }
            result = probe::attempt(&c.probe, c.timeout, runner)
                .await
                .map_err(|f| format!("{kind}: {}", f.reason));
            if result.is_ok() {
                break;
            }
        }
        if result.is_ok() != up {
            up = result.is_ok();
            if results.send((i, result)).await.is_err() {
                return;
            }
        }
    }
}
