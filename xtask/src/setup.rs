//! `cargo xtask setup`: installs what is missing and nothing else.
//!
//! Each check is cheap (one dpkg-query, a few `--version` calls, one statfs) so the
//! whole thing takes well under two seconds when everything is there. Installing
//! needs root; without it, a missing piece is an error naming the command that fixes it.

use std::{
    ffi::CString,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::cmd;
use crate::quiet_install::{PolicyRcd, stop_started};

/// The nightly that builds the eBPF crate. Never updated: a newer one brings an LLVM
/// that bpf-linker (built on LLVM 22) cannot read.
pub const NIGHTLY: &str = "nightly";
const LLVM_MAJOR: &str = "22";
const BPF_LINKER_VERSION: &str = "0.13.0";
const BPFFS: &str = "/sys/fs/bpf";
/// statfs magic of bpffs (linux/magic.h).
const BPF_FS_MAGIC: libc::__fsword_t = 0xcafe_4a11;

/// Debian packages the build and the tests use.
const PACKAGES: &[&str] = &[
    "llvm-22-dev",  // bpf-linker links libLLVM 22
    "iproute2",     // ip netns / link / addr in tests
    "bpftool",      // map dumps in tests
    "nftables",     // fault injection (drop, random loss) in tests
    "tcpdump",      // wire checks in tests
    "ethtool",      // offload settings on veths
    "arping",       // who answers ARP for the VIP
    "iputils-ping", // reachability probes
    "keepalived",   // the interop peer and the benchmark baseline
    // The real services of the health-check scenarios (never started system-wide:
    // see quiet_install).
    "nginx-light",    // the smallest Debian nginx: the web server a check script guards
    "mariadb-server", // mariadbd + mariadb-install-db: the database a check script guards
    "mariadb-client", // mariadb / mariadb-admin: queries and clean shutdowns
    "curl",           // what users' HTTP check scripts call
    "e2fsprogs",      // mkfs.ext4 for the loop-mounted filesystem a notify script mounts
    "mount",          // losetup, mount, umount
    "util-linux",     // findmnt, nsenter
];

pub fn run() -> Result<()> {
    let root = is_root();
    packages(root)?;
    nightly()?;
    rust_src(root)?;
    bpf_linker()?;
    bpffs(root)?;
    Ok(())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn packages(root: bool) -> Result<()> {
    // dpkg-query exits 1 as soon as one package is unknown to dpkg, but still
    // lists the others: read stdout whatever the status, so `missing` is exact
    // (stop_started relies on it to touch only daemons this run installed).
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev} ${Package}\n"])
        .args(PACKAGES)
        .stderr(std::process::Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let installed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("ii"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed.contains(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !root {
        bail!(
            "missing Debian packages: {}; install them as root: {install}",
            missing.join(" ")
        );
    }
    println!("xtask setup: installing {}", missing.join(" "));
    // Package scripts must not start nginx or mariadbd system-wide; the guard
    // removes its policy file again however the install ends.
    let policy = PolicyRcd::install()?;
    let installed = install_missing(&missing, &install);
    drop(policy);
    // Also after a failed install: a package configured before the failure may
    // have started its daemon.
    stop_started(&missing)?;
    installed
}

fn install_missing(missing: &[&str], install: &str) -> Result<()> {
    cmd::run(Command::new("apt-get").args(["-o", "DPkg::Lock::Timeout=300", "update", "-qq"]))
        .with_context(|| format!("apt-get update failed; the fix is: {install}"))?;
    cmd::run(
        Command::new("apt-get")
            .args([
                "-o",
                "DPkg::Lock::Timeout=300",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
            ])
            .args(missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .with_context(|| {
        format!(
            "installing {} failed; the fix is: {install}",
            missing.join(" ")
        )
    })
}

fn nightly() -> Result<()> {
    let vv = cmd::output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "-vV"]).env("RUSTUP_AUTO_INSTALL", "0"))
        .with_context(|| {
            format!(
                "no `{NIGHTLY}` toolchain: the eBPF crate needs the installed nightly whose LLVM is {LLVM_MAJOR} \
                 (1.97.0-nightly 2026-05-19). Do not `rustup update` it: bpf-linker reads only LLVM {LLVM_MAJOR} bitcode"
            )
        })?;
    let llvm = vv
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .unwrap_or("unknown");
    if llvm.split('.').next() != Some(LLVM_MAJOR) {
        bail!(
            "the {NIGHTLY} toolchain uses LLVM {llvm}, but bpf-linker is built on LLVM {LLVM_MAJOR}"
        );
    }
    Ok(())
}

fn rust_src(root: bool) -> Result<()> {
    let sysroot =
        cmd::output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "--print", "sysroot"]))
            .context("cannot ask the nightly rustc for its sysroot")?;
    if Path::new(sysroot.trim())
        .join("lib/rustlib/src/rust/library/core")
        .is_dir()
    {
        return Ok(());
    }
    let fix = format!("rustup component add rust-src --toolchain {NIGHTLY}");
    if !root {
        bail!("rust-src is missing for {NIGHTLY} (-Z build-std needs it); the fix is: {fix}");
    }
    println!("xtask setup: {fix}");
    cmd::run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", NIGHTLY]))
        .with_context(|| format!("the fix was: {fix}"))
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin").join(name)
}

fn bpf_linker_ok(bin: &Path) -> bool {
    let version = cmd::output(Command::new(bin).arg("--version")).unwrap_or_default();
    let ldd = cmd::output(Command::new("ldd").arg(bin)).unwrap_or_default();
    version.trim() == format!("bpf-linker {BPF_LINKER_VERSION}")
        && ldd
            .lines()
            .any(|l| l.contains(&format!("libLLVM.so.{LLVM_MAJOR}")) && l.contains("=> /"))
}

fn bpf_linker() -> Result<()> {
    let bin = cargo_bin("bpf-linker");
    if bpf_linker_ok(&bin) {
        return Ok(());
    }
    let llvm_prefix = format!("/usr/lib/llvm-{LLVM_MAJOR}");
    let fix = format!(
        "LLVM_PREFIX={llvm_prefix} cargo install --locked --force bpf-linker@{BPF_LINKER_VERSION} \
         --no-default-features --features llvm-{LLVM_MAJOR}"
    );
    println!(
        "xtask setup: building bpf-linker {BPF_LINKER_VERSION} on LLVM {LLVM_MAJOR} (about a minute)"
    );
    // LLVM_PREFIX is what bpf-linker's build script reads; without it, it finds Debian's
    // default llvm-config (LLVM 14) and fails to link.
    cmd::run(
        cmd::cargo()
            .args([
                "install",
                "--locked",
                "--force",
                &format!("bpf-linker@{BPF_LINKER_VERSION}"),
            ])
            .args([
                "--no-default-features",
                "--features",
                &format!("llvm-{LLVM_MAJOR}"),
            ])
            .env("LLVM_PREFIX", &llvm_prefix),
    )
    .with_context(|| format!("installing bpf-linker failed; the fix is: {fix}"))?;
    if !bpf_linker_ok(&bin) {
        bail!(
            "bpf-linker at {} is not {BPF_LINKER_VERSION} on libLLVM.so.{LLVM_MAJOR}; the fix is: {fix}",
            bin.display()
        );
    }
    Ok(())
}

fn bpffs(root: bool) -> Result<()> {
    let path = CString::new(BPFFS).expect("no NUL");
    // SAFETY: an all-zero statfs is a valid value to be overwritten.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated and st is a struct statfs.
    if unsafe { libc::statfs(path.as_ptr(), &mut st) } == 0 && st.f_type == BPF_FS_MAGIC {
        return Ok(());
    }
    let fix = format!("mount -t bpf bpf {BPFFS}");
    if !root {
        bail!("bpffs is not mounted on {BPFFS}; the fix is: {fix}");
    }
    println!("xtask setup: {fix}");
    cmd::run(Command::new("mount").args(["-t", "bpf", "bpf", BPFFS]))
        .with_context(|| format!("the fix was: {fix}"))
}
