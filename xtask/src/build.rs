//! Building the XDP object on nightly and the userspace on stable.

use std::{path::PathBuf, process::Command};

use anyhow::{Context, Result};

use crate::{cmd, setup};

/// Where the XDP object lands (its own target dir: nightly artifacts never mix with stable ones).
pub fn ebpf_object() -> PathBuf {
    cmd::target_dir().join("ebpf/bpfel-unknown-none/release/ha-ebpf")
}

/// Builds the XDP object, then the release `ha` binary that embeds it.
pub fn all() -> Result<()> {
    ebpf()?;
    userspace()
}

/// `cargo +nightly build -p ha-ebpf -Z build-std=core --target bpfel-unknown-none --release`.
fn ebpf() -> Result<()> {
    let mut c = Command::new("rustup");
    c.current_dir(cmd::root())
        .args([
            "run",
            setup::NIGHTLY,
            "cargo",
            "build",
            "-p",
            "ha-ebpf",
            "-Z",
            "build-std=core",
        ])
        .args([
            "--target",
            "bpfel-unknown-none",
            "--release",
            "--target-dir",
        ])
        .arg(cmd::target_dir().join("ebpf"));
    // We run under `cargo xtask`, whose variables (RUSTC, CARGO, the toolchain choice,
    // rustflags) would make the nested nightly cargo build with the wrong compiler.
    for var in [
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
    ] {
        c.env_remove(var);
    }
    // --btf makes bpf-linker keep BTF: needed for BTF maps, bpf_timer and a typed
    // `bpftool map dump`.
    c.env(
        "CARGO_ENCODED_RUSTFLAGS",
        [
            "--cfg=bpf_target_arch=\"x86_64\"",
            "-Cdebuginfo=2",
            "-Clink-arg=--btf",
        ]
        .join("\x1f"),
    )
    .env("RUSTUP_AUTO_INSTALL", "0");
    cmd::run(&mut c).context("building the XDP program (ha-ebpf) on nightly")?;
    let object = ebpf_object();
    if !object.is_file() {
        anyhow::bail!(
            "the nightly build succeeded but left no object at {}",
            object.display()
        );
    }
    Ok(())
}

/// The release `ha` binary, embedding the object just built.
fn userspace() -> Result<()> {
    // build.rs finds the object at ebpf_object() by itself (HA_EBPF_OBJECT overrides it).
    cmd::run(cmd::cargo().args(["build", "--release", "-p", "ha-userspace"]))
        .context("building the ha binary")
}
