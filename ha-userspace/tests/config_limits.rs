//! Hostile keepalived.conf and TOML input: include loops, globs and includes
//! that fan out, deep nesting, FIFOs and devices, huge files and overlong
//! lines. Each ends in an error naming the file (and line where there is
//! one), within a deadline: never a hang, a stack overflow or a panic.

use std::{
    ffi::CString,
    fs,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
    time::Duration,
};

use ha::config::{ConfigError, ConfigErrors, MAX_FILE_BYTES, check, check_str};

/// A directory removed on drop, unique per test.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("ha-limits-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` on a thread of its own and fails the test if it takes longer
/// than `secs`: a hang is a failure, not a stuck test run.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|e| panic!("no answer within {secs} s: {e}"))
}

/// The errors of checking `path`, within a deadline.
fn errors(path: &Path) -> Vec<ConfigError> {
    let path = path.to_path_buf();
    within(20, move || match check(&path) {
        Ok(l) => panic!("accepted: {:?}", l.config),
        Err(ConfigErrors(e)) => e,
    })
}

/// Asserts that some error is at `file:line` and says `want`.
fn assert_has(errs: &[ConfigError], file: &Path, line: usize, want: &str) {
    assert!(
        errs.iter()
            .any(|e| e.file == file && e.line == line && e.message.contains(want)),
        "no `{}:{line}: …{want}…` in\n{}",
        file.display(),
        ConfigErrors(errs.to_vec())
    );
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    198.18.50.1/24\n  }\n}\n";

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn a_file_including_itself() {
    let d = Dir::new("self");
    let main = d.write(
        "keepalived.conf",
        format!("{INSTANCE}include keepalived.conf\n"),
    );
    assert_has(
        &errors(&main),
        &main,
        8,
        "includes itself (an include loop)",
    );
}

#[test]
fn an_include_loop_through_another_file() {
    let d = Dir::new("loop");
    let main = d.write("keepalived.conf", format!("include a/b.conf\n{INSTANCE}"));
    let b = d.write("a/b.conf", "\n\ninclude ../keepalived.conf\n");
    assert_has(&errors(&main), &b, 3, "an include loop");
}

#[test]
fn a_glob_matching_thousands_of_files() {
    let d = Dir::new("many");
    for i in 0..1500 {
        d.write(&format!("conf.d/{i:04}.conf"), "");
    }
    let main = d.write(
        "keepalived.conf",
        format!("{INSTANCE}include conf.d/*.conf\n"),
    );
    assert_has(&errors(&main), &main, 8, "matches more than 1024 files");
}

#[test]
fn includes_fanning_out() {
    // Ten files each including all ten: every order of them is a chain
    // without a loop, 10! of them.
    let d = Dir::new("fanout");
    for i in 0..10 {
        d.write(&format!("conf.d/{i}.conf"), "include *.conf\n");
    }
    let main = d.write(
        "keepalived.conf",
        format!("{INSTANCE}include conf.d/*.conf\n"),
    );
    let errs = errors(&main);
    assert!(
        errs.iter()
            .any(|e| e.message.contains("more than 1024 files are included")),
        "{}",
        ConfigErrors(errs.clone())
    );
    assert!(errs.len() < 100, "{} errors", errs.len());
}

#[test]
fn brace_explosions_in_an_include() {
    let d = Dir::new("braces");
    let main = d.write(
        "keepalived.conf",
        format!("{INSTANCE}include {}\n", "{a,b}".repeat(30)),
    );
    assert_has(
        &errors(&main),
        &main,
        8,
        "brace alternatives expand to more than",
    );
    let main = d.write(
        "keepalived.conf",
        format!(
            "{INSTANCE}include {}x{}\n",
            "{".repeat(4000),
            "}".repeat(4000)
        ),
    );
    assert_has(&errors(&main), &main, 8, "brace alternatives");
}

#[test]
fn a_glob_walking_the_file_system() {
    let d = Dir::new("walk");
    let main = d.write(
        "keepalived.conf",
        format!("{INSTANCE}include /*/*/*/*/*.conf\n"),
    );
    let errs = within(20, move || check(&main).map(|_| ()).map_err(|e| e.0));
    // Small machines may have fewer entries than the limit: then the pattern
    // just matches what it matches. Either way it ends, quickly.
    if let Err(errs) = errs {
        assert!(!errs.is_empty());
    }
}

#[test]
fn thousands_of_nested_blocks() {
    let d = Dir::new("deep");
    let text = format!("{}{}", "a {\n".repeat(100_000), "}\n".repeat(100_000));
    let main = d.write("keepalived.conf", &text);
    assert_has(
        &errors(&main),
        &main,
        33,
        "blocks are nested deeper than 32",
    );
    // All on one line, and in memory.
    let text = format!("{}{}", "a{".repeat(5000), "}".repeat(5000));
    let errs = within(20, move || check_str("k.conf", &text).unwrap_err().0);
    assert!(errs[0].message.contains("nested deeper"), "{}", errs[0]);
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let d = Dir::new("fifo");
    let fifo = d.0.join("fifo.conf");
    mkfifo(&fifo);
    assert_has(&errors(&fifo), &fifo, 0, "is a FIFO, not a regular file");
    let main = d.write("keepalived.conf", format!("{INSTANCE}include fifo.conf\n"));
    assert_has(&errors(&main), &main, 8, "is a FIFO, not a regular file");
    // Matched by a glob too.
    let main = d.write("keepalived.conf", format!("{INSTANCE}include *.conf\n"));
    let errs = errors(&main);
    assert_has(&errs, &main, 8, "is a FIFO");
}

#[test]
fn devices_are_refused_without_reading() {
    let d = Dir::new("dev");
    assert_has(
        &errors(Path::new("/dev/zero")),
        Path::new("/dev/zero"),
        0,
        "is a character device",
    );
    let main = d.write("keepalived.conf", format!("{INSTANCE}include /dev/zero\n"));
    assert_has(&errors(&main), &main, 8, "is a character device");
    let main = d.write("keepalived.conf", format!("{INSTANCE}include /dev/stdin\n"));
    let errs = errors(&main);
    assert!(
        errs.iter().all(|e| e.file == main && e.line == 8),
        "{}",
        ConfigErrors(errs)
    );
    let main = d.write("keepalived.conf", format!("{INSTANCE}include /dev\n"));
    assert_has(&errors(&main), &main, 8, "is a directory");
}

/// `n` bytes of comment lines.
fn comments(n: usize) -> String {
    let line = format!("#{}\n", "x".repeat(1022));
    let mut s = line.repeat(n / line.len());
    s.push_str(&"\n".repeat(n - s.len()));
    s
}

#[test]
fn huge_files_are_refused() {
    let d = Dir::new("huge");
    let big = MAX_FILE_BYTES as usize + 1;
    let main = d.write("keepalived.conf", comments(big));
    assert_has(&errors(&main), &main, 0, "larger than 4 MiB");
    let toml = d.write("ha.toml", comments(big));
    assert_has(&errors(&toml), &toml, 0, "larger than 4 MiB");
    let errs = within(20, move || {
        check_str("k.conf", &comments(big)).unwrap_err().0
    });
    assert!(errs[0].message.contains("larger than 4 MiB"), "{}", errs[0]);
    // As an include.
    fs::rename(&main, d.0.join("big.inc")).unwrap();
    let main = d.write("keepalived.conf", format!("{INSTANCE}include big.inc\n"));
    assert_has(&errors(&main), &main, 8, "larger than 4 MiB");
}

#[test]
fn many_large_includes_are_refused_in_all() {
    let d = Dir::new("total");
    let size = MAX_FILE_BYTES as usize - 1024;
    for i in 0..5 {
        d.write(&format!("conf.d/{i}.conf"), comments(size));
    }
    let main = d.write(
        "keepalived.conf",
        format!("{INSTANCE}include conf.d/*.conf\n"),
    );
    assert_has(&errors(&main), &main, 8, "larger than 16 MiB in all");
}

#[test]
fn overlong_lines_and_tokens() {
    let d = Dir::new("long");
    let text = format!("{INSTANCE}router_id {}\n", "x".repeat(1 << 20));
    let main = d.write("keepalived.conf", text);
    assert_has(&errors(&main), &main, 8, "bytes long");
    let text = format!("{INSTANCE}x \"{}\n", "y".repeat(20_000));
    let main = d.write("keepalived.conf", text);
    assert_has(&errors(&main), &main, 8, "bytes long");
}

#[test]
fn bad_utf8_names_its_line() {
    let d = Dir::new("utf8");
    let main = d.write("keepalived.conf", b"# ok\n\n# caf\xe9\n");
    assert_has(&errors(&main), &main, 3, "not valid UTF-8");
    let inc = d.write("inc.conf", b"\n\xff\n");
    let main = d.write("keepalived.conf", format!("{INSTANCE}include inc.conf\n"));
    assert_has(&errors(&main), &inc, 2, "not valid UTF-8");
}

#[test]
fn deep_toml_is_an_error() {
    let deep = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let errs = within(20, move || {
        check_str("/etc/ha/ha.toml", &deep).unwrap_err().0
    });
    assert_eq!(errs[0].line, 1, "{}", errs[0]);
    let deep = format!("x = {}1{}\n", "{ a = ".repeat(10_000), " }".repeat(10_000));
    let errs = within(20, move || {
        check_str("/etc/ha/ha.toml", &deep).unwrap_err().0
    });
    assert_eq!(errs[0].line, 1, "{}", errs[0]);
}

#[test]
fn long_unknown_words_cost_little() {
    // Each used to be compared with every keyword at full length: minutes.
    let word = "q".repeat(16_000);
    let text = format!(
        "global_defs {{\n{}}}\n{INSTANCE}",
        format!("{word}\n").repeat(50)
    );
    let l = within(20, move || check_str("k.conf", &text).unwrap());
    assert_eq!(l.warnings.len(), 50);
    assert!(l.warnings[0].message.len() < 1024, "{}", l.warnings[0]);
}

#[test]
fn a_flood_of_problems_is_summed_up() {
    let text = format!("{INSTANCE}{}", "}\n".repeat(3000));
    let errs = within(30, move || check_str("k.conf", &text).unwrap_err().0);
    assert_eq!(errs.len(), 1001);
    assert!(
        errs.iter()
            .any(|e| e.message == "2000 more errors are not shown (only the first 1000 are)"),
        "{}",
        errs[0]
    );
    let text = format!("{INSTANCE}{}", "frobnicate\n".repeat(3000));
    let l = within(30, move || check_str("k.conf", &text).unwrap());
    assert_eq!(l.warnings.len(), 1001);
}

#[test]
fn a_million_words_are_refused() {
    // Under the size limits (2.2 MiB, lines of 16000 bytes), over the word limit.
    let line = format!("{}\n", "a ".repeat(8000));
    let text = format!("global_defs {{\n{}}}\n", line.repeat(140));
    let errs = within(30, move || check_str("k.conf", &text).unwrap_err().0);
    assert!(
        errs.iter()
            .any(|e| e.line == 133 && e.message.contains("more than 1048576 words and braces")),
        "{}",
        ConfigErrors(errs)
    );
}
