//! The XDP object embedded at build time (see `build.rs`).

use anyhow::{Result, bail};

/// The object file as embedded; empty when the binary was built without it.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ha-ebpf.o"));

/// The embedded XDP object, or an error that says how to build it.
pub fn object() -> Result<&'static [u8]> {
    if OBJECT.is_empty() {
        bail!(
            "this ha binary was built without its XDP program: build it with `cargo xtask build` \
             (or choose datapath = \"socket\")"
        );
    }
    Ok(OBJECT)
}
