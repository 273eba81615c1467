//! The client's view of the VIP: HTTP GETs every few milliseconds
//! ([`hatest::Host::http_get`] from the client's namespace), until a
//! response carries the body we wait for.
//!
//! One thread cannot probe every 5 ms while a probe waits for its timeout
//! (a SYN sent to a node that just dropped the VIP is never answered), so
//! [`THREADS`] threads take turns on a shared schedule: probe `k` starts at
//! `start + k × STEP` on the first free thread. A probe that gets no answer
//! holds its thread for [`TIMEOUT`]; the others go on.

use std::{
    net::Ipv4Addr,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Result, anyhow};
use hatest::{Host, HttpGet};

/// Time between two probe starts.
pub const STEP: Duration = Duration::from_millis(5);
/// One probe's bound (connect, request, response).
pub const TIMEOUT: Duration = Duration::from_millis(30);
/// Enough threads that STEP holds while TIMEOUT-long probes are pending.
pub const THREADS: usize = 8;

/// What the client saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// When the first response with the awaited body came back.
    pub first: Option<SystemTime>,
    /// Probes sent, and of them answered by anyone with a 200.
    pub sent: u64,
    pub served: u64,
}

/// Probes `http://vip/` from `client` until a body equals `want`, `stop`
/// is set, or `limit` has passed; `started` is set once probing runs.
pub fn probe_until(
    client: &Host,
    vip: Ipv4Addr,
    want: &str,
    limit: Duration,
    started: &AtomicBool,
    stop: &AtomicBool,
) -> Result<Seen> {
    let url = format!("http://{vip}/");
    let begin = Instant::now();
    let next = AtomicU64::new(0);
    let sent = AtomicU64::new(0);
    let served = AtomicU64::new(0);
    let first: Mutex<Option<SystemTime>> = Mutex::new(None);
    let found = AtomicBool::new(false);
    let done = || {
        found.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) || begin.elapsed() >= limit
    };
    thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    while !done() {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let at = begin + STEP * u32::try_from(k).unwrap_or(u32::MAX);
                        if let Some(wait) = at.checked_duration_since(Instant::now()) {
                            thread::sleep(wait);
                        }
                        if done() {
                            break;
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                        let got = client.http_get(&url, TIMEOUT)?;
                        let now = SystemTime::now();
                        if let HttpGet::Served { status: 200, body } = &got {
                            served.fetch_add(1, Ordering::Relaxed);
                            if body == want {
                                let mut f = first.lock().unwrap_or_else(|p| p.into_inner());
                                if f.is_none_or(|t| now < t) {
                                    *f = Some(now);
                                }
                                found.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        started.store(true, Ordering::Relaxed);
        for w in workers {
            w.join()
                .map_err(|_| anyhow!("a prober thread panicked"))??;
        }
        Ok(())
    })?;
    let first = *first.lock().unwrap_or_else(|p| p.into_inner());
    Ok(Seen {
        first,
        sent: sent.load(Ordering::Relaxed),
        served: served.load(Ordering::Relaxed),
    })
}
