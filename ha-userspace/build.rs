//! Embeds the XDP object built by `cargo xtask build` into the `ha` binary.
//!
//! The eBPF crate needs nightly and bpf-linker, so a plain `cargo build` or `cargo test`
//! on stable must still work: when the object is missing an empty placeholder is
//! embedded, and loading it fails at run time with a message naming `cargo xtask build`.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=HA_EBPF_OBJECT");
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_DIR");
    let object = match env::var_os("HA_EBPF_OBJECT") {
        Some(path) => PathBuf::from(path),
        None => {
            let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
            let target = env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| manifest.join("..").join("target"));
            target.join("ebpf/bpfel-unknown-none/release/ha-ebpf")
        }
    };
    println!("cargo::rerun-if-changed={}", object.display());
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("ha-ebpf.o");
    let bytes = fs::read(&object).unwrap_or_default();
    fs::write(&out, bytes).expect("write the embedded eBPF object into OUT_DIR");
}
