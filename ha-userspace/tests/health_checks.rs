//! Health checks end to end, without root or namespaces: scripts in a temp
//! directory, TCP and HTTP servers on 127.0.0.1 started by the test, files
//! and processes the test makes.

use std::{
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, TcpListener},
    path::PathBuf,
    time::{Duration, Instant},
};

use ha::{
    config::model::{
        Check, Checker, Command, Config, Probe, RealServer, TrackFile, TrackProcess, VirtualServer,
    },
    exec,
    health::{Health, Level, probe},
};
use tokio::sync::watch;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A fresh directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ha-health-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sh(script: &str) -> Command {
    Command::new(["/bin/sh", "-c", script])
}

fn check(name: &str, probe: Probe, interval_ms: u64, rise: u32, fall: u32) -> Check {
    Check {
        name: name.into(),
        probe,
        interval: Duration::from_millis(interval_ms),
        timeout: None,
        rise,
        fall,
        weight: 0,
        reverse: false,
        init_fail: false,
    }
}

/// Builds the health of `config` and spawns its tasks.
fn start(config: &Config) -> (Health, Vec<tokio::task::JoinHandle<()>>) {
    let (health, tasks) = Health::new(config);
    let handles = tasks.into_iter().map(|(_, f)| tokio::spawn(f)).collect();
    (health, handles)
}

/// Waits until `rx` shows `want`, at most `within`.
async fn wait_for(rx: &mut watch::Receiver<Level>, want: Level, within: Duration) -> bool {
    tokio::time::timeout(within, rx.wait_for(|l| *l == want))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// Every level `rx` shows during `span`, the current one first.
async fn levels_during(rx: &mut watch::Receiver<Level>, span: Duration) -> Vec<Level> {
    let mut seen = vec![*rx.borrow_and_update()];
    let end = tokio::time::Instant::now() + span;
    while let Ok(Ok(())) = tokio::time::timeout_at(end, rx.changed()).await {
        seen.push(*rx.borrow_and_update());
    }
    seen
}

#[tokio::test]
async fn a_flapping_script_with_rise_and_fall_2_never_changes_state() {
    let dir = temp_dir("flap");
    let counter = dir.join("n");
    std::fs::write(&counter, "0").unwrap();
    // Succeeds on even runs, fails on odd ones.
    let script = format!(
        "n=$(cat {c}); echo $((n + 1)) > {c}; [ $((n % 2)) -eq 0 ]",
        c = counter.display()
    );
    let config = Config {
        checks: vec![check("flap", Probe::Script(sh(&script)), 40, 2, 2)],
        ..Config::default()
    };
    let (health, tasks) = start(&config);
    let mut rx = health.check("flap").unwrap();
    let seen = levels_during(&mut rx, Duration::from_millis(1200)).await;
    let runs: u32 = std::fs::read_to_string(&counter)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(runs >= 8, "only {runs} runs");
    // Init, then the first result (a success) decides, then nothing moves.
    assert_eq!(seen.last(), Some(&Level::Up), "{seen:?}");
    assert!(!seen.contains(&Level::Down), "{seen:?}");
    tasks.iter().for_each(|t| t.abort());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Live (not zombie) processes in process group `pgid`.
fn live_in_group(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the ")" closing comm: state ppid pgrp …
        let rest: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if rest.first() != Some(&"Z") && rest.get(2).and_then(|g| g.parse().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

#[tokio::test]
async fn a_hanging_script_is_killed_at_its_timeout_with_its_group() {
    let dir = temp_dir("hang");
    let pidfile = dir.join("pid");
    let script = format!("echo $$ > {}; sleep 30 & sleep 30", pidfile.display());
    let mut c = check("hang", Probe::Script(sh(&script)), 5000, 1, 1);
    c.timeout = Some(Duration::from_millis(300));
    let config = Config {
        checks: vec![c],
        ..Config::default()
    };
    let t = Instant::now();
    let (health, tasks) = start(&config);
    let mut rx = health.check("hang").unwrap();
    assert!(wait_for(&mut rx, Level::Down, Duration::from_secs(3)).await);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let pgid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The kill is done before the result is published.
    assert_eq!(live_in_group(pgid), Vec::<i32>::new());
    let status = health.statuses();
    assert_eq!(status[0].failures, 1);
    assert!(
        status[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("timed out"),
        "{status:?}"
    );
    tasks.iter().for_each(|t| t.abort());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn tcp_check_follows_a_listener_closed_midway() {
    let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = Probe::Tcp {
        addr: LOCALHOST,
        port,
        bind: Some(LOCALHOST),
    };
    let config = Config {
        checks: vec![check("tcp", probe, 50, 1, 1)],
        ..Config::default()
    };
    let (health, tasks) = start(&config);
    let mut rx = health.check("tcp").unwrap();
    assert!(wait_for(&mut rx, Level::Up, Duration::from_secs(2)).await);
    drop(listener);
    assert!(wait_for(&mut rx, Level::Down, Duration::from_secs(2)).await);
    let st = &health.statuses()[0];
    assert!(
        st.last_error.as_deref().unwrap_or("").contains("refused"),
        "{st:?}"
    );
    tasks.iter().for_each(|t| t.abort());
}

/// A server on 127.0.0.1 answering every request with `response` (after
/// `delay`), for `count` connections.
fn http_server(response: &'static str, delay: Duration) -> u16 {
    let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(16) {
            let Ok(mut conn) = conn else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            std::thread::sleep(delay);
            let _ = conn.write_all(response.as_bytes());
        }
    });
    port
}

const OK_HELLO: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
/// MD5 of "hello".
const HELLO_MD5: &str = "5d41402abc4b2a76b9719d911017c592";

fn http(port: u16, status: &[u16], digest: Option<&str>) -> Probe {
    Probe::Http {
        url: format!("http://127.0.0.1:{port}/health"),
        status: status.to_vec(),
        digest: digest.map(Into::into),
        insecure: false,
    }
}

#[tokio::test]
async fn http_check_status_digest_and_timeout() {
    let runner = exec::Runner::default();
    let t = Duration::from_secs(2);
    let port = http_server(OK_HELLO, Duration::ZERO);
    assert_eq!(
        probe::attempt(&http(port, &[], None), t, &runner).await,
        Ok(())
    );
    assert_eq!(
        probe::attempt(&http(port, &[200], Some(HELLO_MD5)), t, &runner).await,
        Ok(())
    );
    let wrong_code = probe::attempt(&http(port, &[201], None), t, &runner)
        .await
        .unwrap_err();
    assert!(wrong_code.reason.contains("200"), "{wrong_code:?}");
    let bad_digest = probe::attempt(
        &http(port, &[], Some("00112233445566778899aabbccddeeff")),
        t,
        &runner,
    )
    .await
    .unwrap_err();
    assert!(bad_digest.reason.contains("digest"), "{bad_digest:?}");

    let port = http_server(
        "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
        Duration::ZERO,
    );
    let e = probe::attempt(&http(port, &[], None), t, &runner)
        .await
        .unwrap_err();
    assert!(e.reason.contains("503"), "{e:?}");
    assert_eq!(
        probe::attempt(&http(port, &[503], None), t, &runner).await,
        Ok(())
    );

    let port = http_server(OK_HELLO, Duration::from_secs(3));
    let start = Instant::now();
    let e = probe::attempt(&http(port, &[], None), Duration::from_millis(300), &runner)
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(e.reason.contains("timed out"), "{e:?}");
}

#[tokio::test]
async fn http_check_as_a_tracked_check() {
    let port = http_server(OK_HELLO, Duration::ZERO);
    let config = Config {
        checks: vec![check("web", http(port, &[], Some(HELLO_MD5)), 100, 1, 1)],
        ..Config::default()
    };
    let (health, tasks) = start(&config);
    let mut rx = health.check("web").unwrap();
    assert!(wait_for(&mut rx, Level::Up, Duration::from_secs(3)).await);
    tasks.iter().for_each(|t| t.abort());
}

#[tokio::test]
async fn track_file_changes_are_seen_within_100ms() {
    let dir = temp_dir("file");
    let path = dir.join("prio");
    let config = Config {
        track_files: vec![TrackFile {
            name: "f".into(),
            path: path.clone(),
            weight: 1,
            reverse: false,
            init: Some(7),
            init_overwrite: false,
        }],
        ..Config::default()
    };
    let (health, tasks) = start(&config);
    let mut rx = health.file("f").unwrap();
    assert!(wait_for(&mut rx, Level::Value(7), Duration::from_secs(1)).await);
    let fast = Duration::from_millis(100);
    // A write in place.
    std::fs::write(&path, "12\n").unwrap();
    assert!(wait_for(&mut rx, Level::Value(12), fast).await, "write");
    // An atomic replace by rename.
    let tmp = dir.join("prio.tmp");
    std::fs::write(&tmp, "-30\n").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert!(wait_for(&mut rx, Level::Value(-30), fast).await, "rename");
    // Deleted: 0.
    std::fs::remove_file(&path).unwrap();
    assert!(wait_for(&mut rx, Level::Value(0), fast).await, "delete");
    // Created again.
    std::fs::write(&path, "0x10").unwrap();
    assert!(wait_for(&mut rx, Level::Value(16), fast).await, "create");
    tasks.iter().for_each(|t| t.abort());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn track_process_counts_a_uniquely_named_sleep() {
    let dir = temp_dir("proc");
    let name = format!("hachk_{}", std::process::id());
    let exe = dir.join(&name);
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let config = Config {
        track_processes: vec![TrackProcess {
            name: "p".into(),
            process: name.clone(),
            params: vec![],
            param_match: Default::default(),
            quorum: 1,
            quorum_max: None,
            delay: Duration::ZERO,
            weight: 0,
            reverse: false,
            full_command: false,
        }],
        ..Config::default()
    };
    let (health, tasks) = start(&config);
    let mut rx = health.process("p").unwrap();
    assert!(wait_for(&mut rx, Level::Down, Duration::from_secs(1)).await);
    let mut child = std::process::Command::new(&exe).arg("30").spawn().unwrap();
    assert!(wait_for(&mut rx, Level::Up, Duration::from_secs(2)).await);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(wait_for(&mut rx, Level::Down, Duration::from_secs(2)).await);
    tasks.iter().for_each(|t| t.abort());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_real_server_runs_notify_down_once_then_notify_up_once() {
    let dir = temp_dir("rs");
    let log = dir.join("log");
    let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let note = |word: &str| Some(sh(&format!("echo {word} >> {}", log.display())));
    let config = Config {
        virtual_servers: vec![VirtualServer {
            addr: LOCALHOST,
            port: 80,
            delay_loop: Duration::from_millis(60),
            real_servers: vec![RealServer {
                addr: LOCALHOST,
                port,
                notify_up: note("up"),
                notify_down: note("down"),
                checkers: vec![Checker {
                    probe: Probe::Tcp {
                        addr: LOCALHOST,
                        port,
                        bind: None,
                    },
                    timeout: Duration::from_millis(500),
                    retry: 1,
                    delay_before_retry: Duration::from_millis(30),
                    delay_loop: None,
                }],
            }],
        }],
        ..Config::default()
    };
    let (health, tasks) = start(&config);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read(), "", "no notify while up");
    drop(listener);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(read(), "down\n");
    assert_eq!(health.statuses()[0].state, "down");
    let _listener = TcpListener::bind((LOCALHOST, port)).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(read(), "down\nup\n");
    tasks.iter().for_each(|t| t.abort());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn scripts_run_as_the_global_script_user() {
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: needs root to change user");
        return;
    }
    let nobody = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .unwrap();
    let nobody = String::from_utf8_lossy(&nobody.stdout).trim().to_string();
    let runner = exec::Runner {
        default_user: Some("nobody".into()),
        default_group: None,
    };
    let run = runner
        .run(&sh("id -u; id -G"), &[], Duration::from_secs(5))
        .await
        .unwrap();
    let mut lines = run.output.lines();
    assert_eq!(lines.next(), Some(nobody.as_str()));
    // Supplementary groups are cleared: only the primary group is left.
    assert_eq!(
        lines.next().map(|g| g.split_whitespace().count()),
        Some(1),
        "{}",
        run.output
    );
    // A command's own user wins over the global one.
    let mut root = sh("id -u");
    root.user = Some("root".into());
    let run = runner
        .run(&root, &[], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(run.output.trim(), "0");
}
