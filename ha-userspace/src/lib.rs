//! The `ha` controller: VRRP wire codec, the pure state machine, configuration,
//! and the datapaths that connect them to the kernel.
//!
//! Layout (see DESIGN.md): `wire` decodes and encodes packets, `vrrp` holds the
//! RFC 5798/9568 state machine and timer formulas, `config` reads native TOML and
//! keepalived.conf, `ebpf` loads and pins the XDP program.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod demux;
pub mod ebpf;
pub mod exec;
pub mod health;
pub mod instance;
pub mod net;
pub mod notify;
pub mod status;
pub mod sync;
pub mod ticker;
pub mod vrrp;
pub mod wire;
pub mod xdp;
