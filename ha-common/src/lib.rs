//! Types shared by the XDP program (`ha-ebpf`) and the controller (`ha-userspace`).
//!
//! Everything here is `#[repr(C)]` with explicit padding so the kernel, the BTF that
//! `bpftool` prints, and userspace agree byte for byte. Map values carry no `bool`,
//! `Option` or enum: the kernel can hand userspace any bit pattern, so states, kinds
//! and flags are plain integers with named constants. With the `user` feature the map
//! types implement `aya::Pod`. Padding fields are public and must be zero: a hash-map
//! key with a stray byte in its padding silently misses.
//!
//! # Byte order
//!
//! - **Addresses** (`[u8; 16]`) are in network byte order, exactly as on the wire.
//!   An IPv4 address fills the first 4 bytes, the other 12 are zero ([`addr`]).
//!   MAC addresses are the 6 bytes as on the wire.
//! - **Every integer field** (`u16`, `u32`, `u64`) is in host byte order: interface
//!   indexes, priorities, intervals, nanoseconds, counters. The XDP program converts
//!   wire fields (the VRRP interval) when it copies them.
//!
//! # Clock
//!
//! Every `*_ns` field is `CLOCK_MONOTONIC` in nanoseconds: the clock of
//! `bpf_ktime_get_ns` in the kernel and of `clock_gettime(CLOCK_MONOTONIC)` in
//! userspace, so the two sides compare times directly.
//!
//! # Maps (one writer each)
//!
//! | name | kind | key → value | writer |
//! | --- | --- | --- | --- |
//! | [`INSTANCES_MAP`] | hash | [`InstanceKey`] → [`InstanceConf`] | controller |
//! | [`BY_VRID_MAP`] | array\[512\] | [`by_vrid_index`] → [`VridEntry`] (a copy of INSTANCES for the advert path) | controller |
//! | [`PEERS_MAP`] | array | [`InstanceConf::slot`] → [`Peer`], then the master-down timer (kernel-only layout) | XDP (`ha_xdp`; `ha_arm` arms, cancels and forgets for the controller) |
//! | [`VIPS_MAP`] | hash | [`VipKey`] → [`InstanceKey`] | controller |
//! | [`HEARTBEAT_MAP`] | array\[1\] | `0` → [`Heartbeat`] | controller |
//! | [`EVENTS_MAP`] | ring buffer | [`Event`] records | XDP |
//! | [`STATS_MAP`] | per-CPU array\[1\] | `0` → [`Stats`] | XDP |
//! | [`IFACES_MAP`] | hash | ifindex → [`IfaceConf`] (how the responder replies there) | controller (loader, at attach) |

#![no_std]

pub mod addr;
pub mod event;
pub mod maps;
pub mod stats;
pub mod timers;
pub mod wire;

pub use event::{Event, event_kind, reason};
pub use maps::{
    ALLOWED_PEERS_MAP, ARM_PROGRAM, AllowedPeer, ArmRequest, BY_VRID_ENTRIES, BY_VRID_MAP,
    EVENTS_BYTES, EVENTS_MAP, HEARTBEAT_MAP, Heartbeat, IFACES_MAP, INSTANCES_MAP, IfaceConf,
    InstanceConf, InstanceKey, MAX_ALLOWED_PEERS, MAX_IFACES, MAX_INSTANCES, MAX_VIPS,
    PEER_SLOT_SIZE, PEERS_MAP, Peer, STATS_MAP, VIPS_MAP, VRID_SHARED, VipKey, VridEntry,
    XDP_PROGRAM, arm_op, by_vrid_index, family, instance_flag, replies, state, xdp_mode,
};
pub use stats::Stats;
