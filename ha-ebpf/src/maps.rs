//! The maps of the XDP program. Each names its one writer.

use aya_ebpf::{btf_maps::PerCpuArray, macros::btf_map};
use ha_common::FrameCounts;

/// Frames seen, by kind, one slot per CPU. Writer: this program. Readers: the
/// controller and `bpftool map dump pinned <dir>/FRAME_COUNTS`.
#[btf_map]
pub static FRAME_COUNTS: PerCpuArray<FrameCounts, 1> = PerCpuArray::new();
