//! Types shared by the XDP program (`ha-ebpf`) and the controller (`ha-userspace`).
//!
//! Everything here is `#[repr(C)]` with explicit padding so the kernel, the BTF that
//! `bpftool` prints, and userspace agree byte for byte. Map values carry no `bool`,
//! `Option` or enum: the kernel can hand userspace any bit pattern.
//! With the `user` feature the map types implement `aya::Pod`.

#![no_std]

pub mod counters;
pub mod wire;

pub use counters::{FRAME_COUNTS_MAP, FrameCounts};
