//! Per-CPU frame counters of the XDP program.

/// How many frames of each kind the XDP program has seen on an interface.
///
/// One writer: the XDP program (`ha-ebpf`), per CPU. Readers (the controller,
/// `bpftool map dump pinned .../FRAME_COUNTS`) sum the per-CPU values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCounts {
    /// ARP frames (EtherType 0x0806), any operation.
    pub arp: u64,
    /// IPv4 packets with protocol 112 (VRRP).
    pub vrrp_v4: u64,
    /// IPv6 packets whose next header is 112 (VRRP).
    pub vrrp_v6: u64,
    /// Everything else, passed on untouched.
    pub other: u64,
}

impl FrameCounts {
    /// Adds another CPU's counts to these.
    pub fn add(&mut self, other: &FrameCounts) {
        self.arp += other.arp;
        self.vrrp_v4 += other.vrrp_v4;
        self.vrrp_v6 += other.vrrp_v6;
        self.other += other.other;
    }
}

// SAFETY: repr(C), four u64 fields, no padding, every bit pattern valid.
#[cfg(feature = "user")]
unsafe impl aya::Pod for FrameCounts {}

/// Name of the per-CPU array holding one [`FrameCounts`] (index 0).
pub const FRAME_COUNTS_MAP: &str = "FRAME_COUNTS";
