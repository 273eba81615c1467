//! The configuration readers under generated input (issue 8 §5): random
//! bytes, token soups in keepalived.conf's vocabulary, and mutations of the
//! real configurations under tests/data/config (the test vectors included),
//! read as keepalived.conf and as TOML. Whatever the input: no panic, an
//! answer within a deadline, bounded memory, and every error placed at a line
//! its file has.
//!
//! Each property runs `HA_FUZZ_CASES` cases (default 32, so `cargo test`
//! stays fast; the stretched soups, megabytes each, a quarter of that); a
//! longer run:
//!
//! ```text
//! HA_FUZZ_CASES=100000 cargo test --release -p ha-userspace --test config_fuzz
//! ```

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    fs,
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
    time::Duration,
};

use ha::config::{ConfigErrors, Options};
use proptest::{prelude::*, test_runner::TestCaseError};

// ---- memory: a per-thread count of the bytes the reader holds --------------

/// Counts the live and peak heap bytes of threads that ask for it, so a case
/// can be held to a memory bound while other tests run in parallel.
struct Counting;

thread_local! {
    static TRACKED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn count(add: usize, sub: usize) {
    // try_with: allocations may happen while the thread's locals are torn down.
    let _ = TRACKED.try_with(|t| {
        if t.get() {
            let _ = LIVE.try_with(|live| {
                let now = live.get().saturating_add(add).saturating_sub(sub);
                live.set(now);
                let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
            });
        }
    });
}

// SAFETY: every call is passed to System unchanged; the counting touches only
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, layout.size());
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        count(new, layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ---- running one case ---------------------------------------------------------

/// How long one case may take: real cases take milliseconds, but a debug
/// build on a loaded machine is slow.
const DEADLINE: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(10)
} else {
    Duration::from_secs(2)
};
/// What one case may hold at its peak: the file limits allow 16 MiB of text
/// and a million tokens in all, so this is a bound, not a measurement; real
/// cases use a small fraction of it.
const MAX_PEAK_BYTES: usize = 256 << 20;

fn cases() -> u32 {
    std::env::var("HA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Shrinking re-runs cases, slow ones too; a failure prints its input
        // anyway.
        max_shrink_iters: 256,
        max_shrink_time: 30_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Reads `text` as the file `path` on a thread of its own, within the
/// deadline and the memory bound, and checks that every error in `path`
/// names a line it has. Returns the peak heap bytes of the case.
fn read(path: &Path, text: String) -> Result<usize, TestCaseError> {
    let lines = text.lines().count();
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    thread::Builder::new()
        .name("fuzz-case".into())
        .spawn(move || {
            TRACKED.with(|t| t.set(true));
            let result = Options {
                config_id: Some("fuzz".into()),
            }
            .check_str(&p, &text)
            .map(|_| ());
            let peak = PEAK.with(Cell::get);
            TRACKED.with(|t| t.set(false));
            let _ = tx.send((result, peak));
        })
        .map_err(|e| TestCaseError::fail(format!("spawn: {e}")))?;
    let (result, peak) = match rx.recv_timeout(DEADLINE) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(TestCaseError::fail(format!(
                "no answer within {DEADLINE:?}"
            )));
        }
        // The thread died without sending: it panicked (its message is above).
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(TestCaseError::fail("the reader panicked"));
        }
    };
    prop_assert!(peak <= MAX_PEAK_BYTES, "peak {peak} bytes");
    if let Err(ConfigErrors(errors)) = result {
        prop_assert!(!errors.is_empty());
        for e in errors.iter().filter(|e| e.file == path) {
            prop_assert!(e.line <= lines + 1, "{e} but the text has {lines} lines");
        }
    }
    Ok(peak)
}

/// Reads `text` both as keepalived.conf and as TOML.
fn read_both(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    read(&dir.join("fuzz.conf"), text.to_string())?;
    read(&dir.join("fuzz.toml"), text.to_string()).map(|_| ())
}

/// A scratch directory the include patterns of the token soup can find
/// things in: a few files, one including another, one including itself.
fn scratch() -> PathBuf {
    // Cargo's scratch space for integration tests: kept between runs, never
    // in the way.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config-fuzz");
    let files: &[(&str, &str)] = &[
        (
            "a.conf",
            "vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n}\n",
        ),
        ("b.conf", "include a.conf\n"),
        ("self.conf", "include self.conf\n"),
        ("sub/c.conf", "global_defs {\n  router_id c\n}\n"),
        ("sub/d.inc", "include ../*.conf\n"),
    ];
    for (rel, text) in files {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        if !p.exists() {
            fs::write(&p, text).unwrap();
        }
    }
    dir
}

// ---- inputs ----------------------------------------------------------------------

/// Words of keepalived.conf and of TOML, and the characters that matter to
/// the lexer.
const VOCABULARY: &[&str] = &[
    "vrrp_instance",
    "global_defs",
    "vrrp_sync_group",
    "vrrp_script",
    "virtual_server",
    "track_file",
    "vrrp_track_process",
    "static_routes",
    "static_rules",
    "static_ipaddress",
    "script",
    "\"/bin/sh -c 'x y'\"",
    "interval",
    "timeout",
    "weight",
    "reverse",
    "rise",
    "fall",
    "user",
    "init_fail",
    "file",
    "init_file",
    "overwrite",
    "process",
    "param_match",
    "quorum",
    "quorum_max",
    "fork_delay",
    "group",
    "track_script",
    "track_interface",
    "track_process",
    "notify_master",
    "notify",
    "notify_stop",
    "sync_group_tracking_weight",
    "real_server",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "url",
    "path",
    "status_code",
    "200-299",
    "digest",
    "misc_path",
    "connect_port",
    "connect_ip",
    "nb_get_retry",
    "lb_algo",
    "fwmark",
    "virtual_routes",
    "virtual_rules",
    "via",
    "table",
    "from",
    "blackhole",
    "use_vmac",
    "mcast_src_ip",
    "enable_script_security",
    "script_user",
    "notify_fifo",
    "vrrp_garp_interval",
    "interface",
    "eth0",
    "virtual_router_id",
    "priority",
    "advert_int",
    "state",
    "MASTER",
    "BACKUP",
    "nopreempt",
    "preempt_delay",
    "version",
    "authentication",
    "auth_type",
    "PASS",
    "AH",
    "auth_pass",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "unicast_peer",
    "unicast_src_ip",
    "dev",
    "label",
    "brd",
    "scope",
    "router_id",
    "vrrp_version",
    "garp_master_delay",
    "lower_prio_no_advert",
    "include",
    "*.conf",
    "sub/*",
    "{a,b}.conf",
    "[ab]*.conf",
    "self.conf",
    "b.conf",
    "../*",
    "@fuzz",
    "@^fuzz",
    "$VAR=1",
    "~SEQ",
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    "\n",
    "#",
    "!",
    "\"",
    "'",
    "\\",
    "\\x41",
    "\\101",
    "0",
    "1",
    "51",
    "255",
    "256",
    "-1",
    "0.5",
    "1e3",
    "198.18.0.1",
    "198.18.0.1/24",
    "2001:2::1/64",
    "::",
    "224.0.0.18",
    "on",
    "off",
    "yes",
    "[[instances]]",
    "[global]",
    "[instances.auth]",
    "[[checks]]",
    "[[sync_groups]]",
    "[[track_files]]",
    "[instances.track]",
    "[[virtual_servers]]",
    "probe",
    "argv",
    "checks",
    "instances",
    "=",
    "name",
    "vrid",
    "vips",
    "\"a\"",
    "[",
    "]",
    ",",
    "true",
    "type",
    "password",
    "\"pass\"",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(VOCABULARY),
            prop::sample::select(&[" ", "", "\n", "\t"][..]),
        ),
        0..200,
    )
    .prop_map(|toks| toks.into_iter().flat_map(|(t, s)| [t, s]).collect())
}

/// A soup whose tokens repeat up to thousands of times, and such runs again
/// up to a hundred times: long words, long lines, deep nesting, many lines —
/// what shows time or memory growing faster than the input. At most 512 KiB,
/// which a linear reader in a debug build reads well within the deadline.
fn stretched_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(VOCABULARY),
            1usize..4096,
            prop::sample::select(&[" ", "", "\n"][..]),
            1usize..100,
        ),
        0..16,
    )
    .prop_map(|parts| {
        let mut text = String::new();
        for (t, n, sep, m) in parts {
            let run = format!("{}\n", format!("{t}{sep}").repeat(n));
            for _ in 0..m {
                if text.len() + run.len() > 512 << 10 {
                    return text;
                }
                text.push_str(&run);
            }
        }
        text
    })
}

/// The configurations under tests/data/config: (path, text).
fn corpus() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(text) = fs::read_to_string(&p) {
                out.push((p, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/config"),
        &mut out,
    );
    out
}

/// One edit of a text: what, where (taken modulo the length), how much.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, &'static str),
    Byte(usize, u8),
    Swap(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..64).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), 0usize..256).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        (any::<usize>(), prop::sample::select(VOCABULARY)).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Byte(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let len = b.len().max(1);
        match *e {
            Edit::Delete(a, n) => {
                let a = a % len;
                let end = (a + n).min(b.len());
                if a < end {
                    b.drain(a..end);
                }
            }
            Edit::Duplicate(a, n) => {
                let a = a % len;
                let end = (a + n).min(b.len());
                if a < end {
                    let part = b[a..end].to_vec();
                    b.splice(end..end, part);
                }
            }
            Edit::Insert(a, t) => {
                let a = (a % len).min(b.len());
                b.splice(a..a, t.bytes());
            }
            Edit::Byte(a, v) => {
                if !b.is_empty() {
                    b[a % len] = v;
                }
            }
            Edit::Swap(x, y) => {
                if !b.is_empty() {
                    b.swap(x % len, y % len);
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

// ---- properties --------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        read_both(&scratch(), &String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_text(text in "\\PC{0,512}") {
        read_both(&scratch(), &text)?;
    }

    #[test]
    fn token_soups(text in soup()) {
        read_both(&scratch(), &text)?;
    }

    #[test]
    fn mutated_real_configs(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        let corpus = corpus();
        let (path, text) = &corpus[pick.index(corpus.len())];
        let mutated = apply(text, &edits);
        // In place, so that relative includes find their files.
        read(path, mutated.clone())?;
        read(&path.with_extension("toml"), mutated)?;
    }
}

proptest! {
    // Inputs up to megabytes: a quarter of the cases.
    #![proptest_config(ProptestConfig { cases: cases().div_ceil(4), ..config() })]

    #[test]
    fn stretched_token_soups(text in stretched_soup()) {
        read_both(&scratch(), &text)?;
    }
}

/// The corpus itself reads, the vectors stay in it, and the memory count
/// sees the reader's allocations (a bound on zero would prove nothing).
#[test]
fn the_corpus_reads() {
    let corpus = corpus();
    assert!(
        corpus
            .iter()
            .any(|(p, _)| p.ends_with("vectors/v2auth.conf"))
    );
    assert!(corpus.iter().any(|(p, _)| p.ends_with("toml/full.toml")));
    for (path, text) in corpus {
        let peak = read(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(peak > 0, "{}: no allocation counted", path.display());
    }
}
