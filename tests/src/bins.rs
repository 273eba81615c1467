//! The binaries under test.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The release `ha` binary: `$HA_BIN` (set by `cargo xtask test`) or the workspace's
/// `target/release/ha`. It must embed the XDP object, which only `cargo xtask build` does.
pub fn ha_bin() -> Result<PathBuf> {
    let path = match std::env::var_os("HA_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/ha"),
    };
    if !path.is_file() {
        bail!(
            "no ha binary at {}: run `cargo xtask build` (or `cargo xtask test`)",
            path.display()
        );
    }
    Ok(path)
}
