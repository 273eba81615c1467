//! Notify scripts and the FIFO, run for real with small shell scripts in a
//! temporary directory (no root needed).

use std::{
    io::BufRead,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use super::*;
use crate::config::service::{Command, Notify, NotifyFifo};

/// A directory removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ha-notify-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs through `/bin/sh SCRIPT`: the script need not be executable, and a
/// freshly written executable cannot fail with ETXTBSY.
fn sh(script: &Path, args: &[&str]) -> Command {
    let script = script.display().to_string();
    Command::new(["/bin/sh", &script].into_iter().chain(args.iter().copied()))
}

/// A FIFO at `path` that ha creates, owned by root, with no reader script.
fn fifo_at(path: &Path) -> NotifyFifo {
    NotifyFifo {
        path: path.to_path_buf(),
        script: None,
        user: None,
        group: None,
    }
}

/// A script logging `start ARGS` and `end ARGS` around a short sleep.
fn logger(dir: &TempDir) -> (PathBuf, PathBuf) {
    let log = dir.path("log");
    let script = dir.path("log.sh");
    std::fs::write(
        &script,
        format!(
            "echo \"start $*\" >> {log}\nsleep 0.05\necho \"end $*\" >> {log}\n",
            log = log.display()
        ),
    )
    .unwrap();
    (script, log)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(ToString::to_string)
        .collect()
}

fn notify(timeout: Duration) -> Notify {
    Notify {
        timeout,
        ..Notify::default()
    }
}

#[test]
fn state_words_are_keepalived_s() {
    assert_eq!(NotifyState::Master.word(), "MASTER");
    assert_eq!(NotifyState::Backup.word(), "BACKUP");
    assert_eq!(NotifyState::Fault.word(), "FAULT");
    assert_eq!(NotifyState::Stop.word(), "STOP");
    // Without `notify_deleted`, keepalived reports a deleted instance as FAULT.
    assert_eq!(NotifyState::Deleted.word(), "FAULT");
}

#[tokio::test]
async fn scripts_run_one_at_a_time_in_event_order() {
    let dir = TempDir::new();
    let (script, log) = logger(&dir);
    let mut n = notify(Duration::from_secs(5));
    n.master = Some(sh(&script, &["m"]));
    n.backup = Some(sh(&script, &["b"]));
    n.fault = Some(sh(&script, &["f"]));
    n.any = Some(sh(&script, &["any"]));
    let (notifier, task) = Notifier::instance("VI_1", &n, None);
    let task = tokio::spawn(task);

    let t = Instant::now();
    notifier.event(NotifyState::Master, 100);
    notifier.event(NotifyState::Backup, 90);
    notifier.event(NotifyState::Fault, 0);
    notifier.event(NotifyState::Master, 100);
    assert!(t.elapsed() < Duration::from_millis(50), "event() waited");

    notifier.finish().await;
    let mut want = Vec::new();
    for (own, word, prio) in [
        ("m", "MASTER", 100),
        ("b", "BACKUP", 90),
        ("f", "FAULT", 0),
        ("m", "MASTER", 100),
    ] {
        // The state's own script first, bare; then `notify` with the four
        // arguments, the name unquoted (it is one argv element).
        want.push(format!("start {own}"));
        want.push(format!("end {own}"));
        want.push(format!("start any INSTANCE VI_1 {word} {prio}"));
        want.push(format!("end any INSTANCE VI_1 {word} {prio}"));
    }
    assert_eq!(lines(&log), want);
    // Every handle is gone: the task ends.
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_group_reports_group_and_priority_zero() {
    let dir = TempDir::new();
    let (script, log) = logger(&dir);
    let mut n = notify(Duration::from_secs(5));
    n.stop = Some(sh(&script, &["s"]));
    n.any = Some(sh(&script, &[]));
    let (notifier, task) = Notifier::group("G1", &n, None);
    tokio::spawn(task);
    notifier.event(NotifyState::Stop, 200);
    notifier.finish().await;
    assert_eq!(
        lines(&log),
        [
            "start s",
            "end s",
            "start GROUP G1 STOP 0",
            "end GROUP G1 STOP 0"
        ]
    );
}

#[tokio::test]
async fn a_hanging_script_is_killed_at_its_timeout_and_the_next_runs() {
    let dir = TempDir::new();
    let (script, log) = logger(&dir);
    let mut n = notify(Duration::from_millis(300));
    n.master = Some(Command::new(["/bin/sh", "-c", "sleep 30 & sleep 30"]));
    n.any = Some(sh(&script, &[]));
    let (notifier, task) = Notifier::instance("VI_1", &n, None);
    tokio::spawn(task);
    let t = Instant::now();
    notifier.event(NotifyState::Master, 100);
    notifier.finish().await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(
        lines(&log),
        [
            "start INSTANCE VI_1 MASTER 100",
            "end INSTANCE VI_1 MASTER 100"
        ]
    );
}

#[tokio::test]
async fn a_missing_script_is_skipped() {
    let dir = TempDir::new();
    let (script, log) = logger(&dir);
    let mut n = notify(Duration::from_secs(5));
    n.backup = Some(Command::new([dir.path("missing.sh").display().to_string()]));
    n.any = Some(sh(&script, &[]));
    let (notifier, task) = Notifier::instance("VI_1", &n, None);
    tokio::spawn(task);
    notifier.event(NotifyState::Backup, 50);
    notifier.finish().await;
    assert_eq!(
        lines(&log),
        [
            "start INSTANCE VI_1 BACKUP 50",
            "end INSTANCE VI_1 BACKUP 50"
        ]
    );
}

#[tokio::test]
async fn finish_waits_for_queued_scripts() {
    let dir = TempDir::new();
    let done = dir.path("done");
    let script = dir.path("slow.sh");
    std::fs::write(
        &script,
        format!("sleep 0.3\necho done > {}\n", done.display()),
    )
    .unwrap();
    let mut n = notify(Duration::from_secs(5));
    n.stop = Some(sh(&script, &[]));
    let (notifier, task) = Notifier::instance("VI_1", &n, None);
    tokio::spawn(task);
    notifier.event(NotifyState::Stop, 100);
    assert!(!done.exists());
    notifier.finish().await;
    assert!(done.exists());
}

/// Reads lines from the FIFO on a thread until it has `n` of them.
fn read_fifo(path: PathBuf, n: usize) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let f = std::fs::File::open(path).unwrap();
        std::io::BufReader::new(f)
            .lines()
            .take(n)
            .map(Result::unwrap)
            .collect()
    })
}

#[tokio::test]
async fn the_fifo_gets_every_event_in_order() {
    let dir = TempDir::new();
    let path = dir.path("fifo");
    let (fifo, writer) = Fifo::open(&fifo_at(&path)).unwrap();
    let writer = tokio::spawn(writer);
    let reader = read_fifo(path.clone(), 5);
    let (vi1, t1) = Notifier::instance("VI_1", &Notify::default(), Some(fifo.clone()));
    let (vi2, t2) = Notifier::instance("VI_2", &Notify::default(), Some(fifo.clone()));
    let (g1, t3) = Notifier::group("G1", &Notify::default(), Some(fifo));
    for t in [t1, t2, t3] {
        tokio::spawn(t);
    }
    vi1.event(NotifyState::Backup, 100);
    vi2.event(NotifyState::Master, 150);
    g1.event(NotifyState::Master, 7);
    vi1.event(NotifyState::Fault, 0);
    vi1.event(NotifyState::Stop, 100);
    let got = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        got,
        [
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_2\" MASTER 150",
            "GROUP \"G1\" MASTER 0",
            "INSTANCE \"VI_1\" FAULT 0",
            "INSTANCE \"VI_1\" STOP 100",
        ]
    );
    drop((vi1, vi2, g1));
    tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .unwrap()
        .unwrap();
    // Created here, so removed at the end, as keepalived.
    assert!(!path.exists());
}

#[tokio::test]
async fn a_fifo_without_reader_never_blocks_event() {
    let dir = TempDir::new();
    let path = dir.path("fifo");
    let (fifo, writer) = Fifo::open(&fifo_at(&path)).unwrap();
    let writer = tokio::spawn(writer);
    let (vi1, task) = Notifier::instance("VI_1", &Notify::default(), Some(fifo.clone()));
    tokio::spawn(task);
    let t = Instant::now();
    // Far more than the pipe (64 KiB) and the queue hold, in rounds that
    // let the writer fill the pipe.
    for _ in 0..100 {
        for _ in 0..500 {
            vi1.event(NotifyState::Master, 100);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(fifo.dropped() > 0);
    drop((vi1, fifo));
    // At shutdown the full pipe gets a bounded wait, then the rest is dropped.
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .unwrap()
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn an_existing_fifo_is_kept_and_a_non_fifo_is_refused() {
    let dir = TempDir::new();
    let file = dir.path("plain");
    std::fs::write(&file, "").unwrap();
    let Err(e) = Fifo::open(&fifo_at(&file)) else {
        panic!("a plain file taken for a FIFO");
    };
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");
    assert!(e.to_string().contains("not a FIFO"), "{e}");

    let path = dir.path("fifo");
    let (fifo, writer) = Fifo::open(&fifo_at(&path)).unwrap();
    drop(fifo);
    writer.await;
    assert!(!path.exists());
    // Made by someone else: opened as it is and left in place.
    let (fifo, writer) = {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        Fifo::open(&fifo_at(&path)).unwrap()
    };
    drop(fifo);
    writer.await;
    assert!(path.exists());
}

#[tokio::test]
async fn the_fifo_script_gets_the_path_reads_the_lines_and_is_stopped() {
    let dir = TempDir::new();
    let path = dir.path("fifo");
    let out = dir.path("out");
    let pid = dir.path("pid");
    let script = dir.path("reader.sh");
    std::fs::write(
        &script,
        format!(
            "echo $$ > {pid}\necho \"arg $1\" >> {out}\nexec cat \"$1\" >> {out}\n",
            pid = pid.display(),
            out = out.display()
        ),
    )
    .unwrap();
    let (fifo, writer) = Fifo::open(&NotifyFifo {
        script: Some(sh(&script, &[])),
        ..fifo_at(&path)
    })
    .unwrap();
    let writer = tokio::spawn(writer);
    let (vi1, task) = Notifier::instance("VI_1", &Notify::default(), Some(fifo));
    tokio::spawn(task);
    vi1.event(NotifyState::Master, 100);
    let want = [
        format!("arg {}", path.display()),
        "INSTANCE \"VI_1\" MASTER 100".to_string(),
    ];
    let t = Instant::now();
    while lines(&out) != want && t.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines(&out), want);
    let pid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    drop(vi1);
    tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .unwrap()
        .unwrap();
    // Reaped by the writer, so gone rather than a zombie.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[tokio::test]
async fn fifo_lines_do_not_wait_for_scripts() {
    let dir = TempDir::new();
    let path = dir.path("fifo");
    let script = dir.path("slow.sh");
    std::fs::write(&script, "sleep 2\n").unwrap();
    let (fifo, writer) = Fifo::open(&fifo_at(&path)).unwrap();
    tokio::spawn(writer);
    let reader = read_fifo(path, 2);
    let mut n = notify(Duration::from_secs(5));
    n.master = Some(sh(&script, &[]));
    let (vi1, task) = Notifier::instance("VI_1", &n, Some(fifo));
    tokio::spawn(task);
    let t = Instant::now();
    vi1.event(NotifyState::Master, 100);
    vi1.event(NotifyState::Backup, 100);
    let got = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    // As keepalived, the line goes out when the event happens, not when the
    // scripts of earlier events are done.
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(
        got,
        [
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_1\" BACKUP 100"
        ]
    );
}

#[tokio::test]
async fn a_fifo_created_for_a_user_is_theirs() {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // chown needs root
    }
    let dir = TempDir::new();
    let path = dir.path("fifo");
    let cfg = NotifyFifo {
        user: Some("nobody".into()),
        ..fifo_at(&path)
    };
    let (fifo, writer) = Fifo::open(&cfg).unwrap();
    let nobody = crate::exec::user::resolve(Some("nobody"), None)
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), nobody.uid);
    drop(fifo);
    writer.await;
    // An unknown owner is an error naming the FIFO, and changes nothing.
    let bad = NotifyFifo {
        user: Some("no-such-user-ha".into()),
        ..fifo_at(&dir.path("fifo2"))
    };
    let Err(e) = Fifo::open(&bad) else {
        panic!("an unknown owner was accepted");
    };
    assert!(format!("{e:#}").contains("fifo2"), "{e:#}");
    assert!(!dir.path("fifo2").exists());
}
