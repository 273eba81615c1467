//! The XDP program of `ha`. Entry wrappers only: entry → `try_` function → verdict.
//!
//! On the host (stable `cargo build --workspace`, clippy) this crate is an empty
//! binary; `cargo xtask build` builds the real object for `bpfel-unknown-none`.

#![cfg_attr(target_arch = "bpf", no_std, no_main)]

#[cfg(target_arch = "bpf")]
mod classify;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod parse;
#[cfg(target_arch = "bpf")]
mod stats;

#[cfg(target_arch = "bpf")]
use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

/// Attached to every VRRP interface. Never drops or rewrites yet: it classifies and
/// counts, then passes every frame on.
#[cfg(target_arch = "bpf")]
#[xdp]
pub fn ha_xdp(ctx: XdpContext) -> u32 {
    match try_ha_xdp(&ctx) {
        Ok(verdict) => verdict,
        // A frame we cannot parse is not ours to judge: let the stack see it.
        Err(()) => xdp_action::XDP_PASS,
    }
}

#[cfg(target_arch = "bpf")]
fn try_ha_xdp(ctx: &XdpContext) -> Result<u32, ()> {
    let kind = classify::classify(ctx)?;
    stats::count(kind);
    Ok(xdp_action::XDP_PASS)
}

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Unreachable in a verified program: any reachable panic fails verification.
    loop {}
}

#[cfg(target_arch = "bpf")]
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";

#[cfg(not(target_arch = "bpf"))]
fn main() {}
