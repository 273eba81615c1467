//! keepalived's `vrrp_track_process`: up while the number of matching
//! processes is within `quorum..=quorum_max`.
//!
//! keepalived follows the kernel's process events (proc connector); ha
//! scans `/proc` every [`SCAN`] instead (no fork, a few reads per process),
//! which needs no privilege and cannot miss a short-lived state change for
//! long. A change of the up/down state must last `delay` before it is
//! published (keepalived's `delay`); the first scan is published at once.
//!
//! Matching, as keepalived: the name is compared with the kernel's `comm`
//! (15 bytes at most), or with the command line's argv[0] when the name is
//! longer than that or contains a `/` (the whole argv[0] then, else its
//! base name). Parameters, when given, are compared with the rest of the
//! command line: `exact` all of them, `initial` its first words, `partial`
//! a run of consecutive words anywhere.

use std::time::Duration;

use tokio::{sync::watch, time::Instant};
use tracing::info;

use super::{Status, weight::Level};
use crate::config::model::{ParamMatch, TrackProcess};

/// Time between two scans of /proc.
pub const SCAN: Duration = Duration::from_millis(250);

/// The kernel's `comm` length (TASK_COMM_LEN − 1).
const COMM_MAX: usize = 15;

/// Runs the tracker of `tp` forever, publishing [`Level::Up`] or [`Level::Down`].
pub async fn run(tp: TrackProcess, level: watch::Sender<Level>, status: watch::Sender<Status>) {
    let quorum_max = tp.quorum_max.unwrap_or(u32::MAX);
    let within = |n: u32| n >= tp.quorum && n <= quorum_max;
    let first = count(&tp);
    let mut up = within(first);
    level.send_replace(if up { Level::Up } else { Level::Down });
    status.send_modify(|s| s.state = state(up, first));
    // Since when the count has said the other state.
    let mut pending: Option<Instant> = None;
    let mut tick = tokio::time::interval(SCAN);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let n = count(&tp);
        if within(n) == up {
            pending = None;
            continue;
        }
        let since = *pending.get_or_insert_with(Instant::now);
        if since.elapsed() < tp.delay {
            continue;
        }
        pending = None;
        up = !up;
        info!(
            "track_process {}: quorum {} ({n} {} running)",
            tp.name,
            if up { "gained" } else { "lost" },
            tp.process
        );
        level.send_replace(if up { Level::Up } else { Level::Down });
        status.send_modify(|s| s.state = state(up, n));
    }
}

fn state(up: bool, n: u32) -> String {
    format!("{} ({n} running)", if up { "up" } else { "down" })
}

/// How many processes match `tp` now.
pub fn count(tp: &TrackProcess) -> u32 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let by_argv0 = tp.process.len() > COMM_MAX || tp.process.contains('/');
    let need_cmdline = by_argv0 || !tp.params.is_empty();
    let mut n = 0u32;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let base = std::path::Path::new("/proc").join(pid);
        let cmdline = if need_cmdline {
            match std::fs::read(base.join("cmdline")) {
                Ok(c) if !c.is_empty() => c,
                // Gone, or a kernel thread: no command line.
                _ => continue,
            }
        } else {
            Vec::new()
        };
        let args: Vec<&[u8]> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .collect();
        let name_matches = if by_argv0 {
            args.first()
                .is_some_and(|a0| argv0_matches(a0, &tp.process))
        } else {
            std::fs::read(base.join("comm"))
                .is_ok_and(|c| c.strip_suffix(b"\n").unwrap_or(&c) == tp.process.as_bytes())
        };
        if name_matches && params_match(args.get(1..).unwrap_or(&[]), &tp.params, tp.param_match) {
            n = n.saturating_add(1);
        }
    }
    n
}

/// argv[0] against a name: whole when the name has a `/`, else by base name.
fn argv0_matches(argv0: &[u8], name: &str) -> bool {
    if name.contains('/') {
        argv0 == name.as_bytes()
    } else {
        argv0.rsplit(|&b| b == b'/').next() == Some(name.as_bytes())
    }
}

/// The process's parameters against the configured ones.
fn params_match(args: &[&[u8]], want: &[String], how: ParamMatch) -> bool {
    if want.is_empty() {
        return true;
    }
    let eq = |a: &[&[u8]]| a.iter().zip(want).all(|(x, w)| *x == w.as_bytes());
    match how {
        ParamMatch::Exact => args.len() == want.len() && eq(args),
        ParamMatch::Initial => args.len() >= want.len() && eq(&args[..want.len()]),
        ParamMatch::Partial => args.windows(want.len()).any(eq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_matching() {
        let args: Vec<&[u8]> = vec![b"-c", b"/etc/x.conf", b"--fg"];
        let w = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(params_match(&args, &w(&[]), ParamMatch::Exact));
        assert!(params_match(
            &args,
            &w(&["-c", "/etc/x.conf", "--fg"]),
            ParamMatch::Exact
        ));
        assert!(!params_match(
            &args,
            &w(&["-c", "/etc/x.conf"]),
            ParamMatch::Exact
        ));
        assert!(params_match(
            &args,
            &w(&["-c", "/etc/x.conf"]),
            ParamMatch::Initial
        ));
        assert!(!params_match(
            &args,
            &w(&["/etc/x.conf"]),
            ParamMatch::Initial
        ));
        assert!(params_match(
            &args,
            &w(&["/etc/x.conf", "--fg"]),
            ParamMatch::Partial
        ));
        assert!(!params_match(
            &args,
            &w(&["-c", "--fg"]),
            ParamMatch::Partial
        ));
    }

    #[test]
    fn argv0_by_base_name_or_whole_path() {
        assert!(argv0_matches(
            b"/usr/sbin/a-very-long-daemon-name",
            "a-very-long-daemon-name"
        ));
        assert!(argv0_matches(b"/usr/sbin/x", "/usr/sbin/x"));
        assert!(!argv0_matches(b"/opt/x", "/usr/sbin/x"));
    }
}
