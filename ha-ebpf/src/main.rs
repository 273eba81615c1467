//! The XDP programs of `ha`. Entry wrappers only: entry → `try_` function → verdict.
//!
//! - `ha_xdp`, attached to every VRRP interface: VRRP adverts ([`vrrp`]), the ARP
//!   ([`arp`]) and Neighbor Solicitation ([`nd`]) responders for VIPs; everything
//!   else passes untouched.
//! - `ha_arm`, never attached: the controller runs it with `BPF_PROG_TEST_RUN` on an
//!   `ArmRequest` to arm or cancel a master-down timer ([`timer`]) or to forget
//!   the last advert heard.
//!
//! On the host (stable `cargo build --workspace`, clippy) this crate is an empty
//! binary; `cargo xtask build` builds the real object for `bpfel-unknown-none`.

#![cfg_attr(target_arch = "bpf", no_std, no_main)]

#[cfg(target_arch = "bpf")]
mod arp;
#[cfg(target_arch = "bpf")]
mod checksum;
#[cfg(target_arch = "bpf")]
mod event;
#[cfg(target_arch = "bpf")]
mod gate;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod nd;
#[cfg(target_arch = "bpf")]
mod parse;
#[cfg(target_arch = "bpf")]
mod stats;
#[cfg(target_arch = "bpf")]
mod timer;
#[cfg(target_arch = "bpf")]
mod vrrp;

#[cfg(target_arch = "bpf")]
use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

/// Attached to every VRRP interface.
#[cfg(target_arch = "bpf")]
#[xdp]
pub fn ha_xdp(ctx: XdpContext) -> u32 {
    match try_ha_xdp(&ctx) {
        Ok(verdict) => verdict,
        // A frame too short for what its headers announce is not ours to judge:
        // let the stack see (and discard) it.
        Err(()) => xdp_action::XDP_PASS,
    }
}

#[cfg(target_arch = "bpf")]
fn try_ha_xdp(ctx: &XdpContext) -> Result<u32, ()> {
    use ha_common::wire::{ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMPV6, IPPROTO_VRRP};

    use ha_common::wire::IPV6_HLEN;

    /// Offset of the protocol field in an IPv4 header.
    const IPV4_PROTO: usize = 9;

    let (ethertype, l3, vlan) = parse::ethertype(ctx)?;
    match ethertype {
        ETH_P_ARP => arp::handle(ctx, l3, vlan),
        ETH_P_IP if parse::u8_at(ctx, l3 + IPV4_PROTO)? == IPPROTO_VRRP => {
            vrrp::handle_v4(ctx, l3, vlan)
        }
        // An advert behind extension headers is still an advert: on this
        // datapath nobody else reads it. An NS behind them goes to the kernel.
        ETH_P_IPV6 => match parse::ipv6_upper(ctx, l3)? {
            (IPPROTO_VRRP, vrrp) => vrrp::handle_v6(ctx, l3, vrrp, vlan),
            (IPPROTO_ICMPV6, icmp) if icmp == l3 + IPV6_HLEN => nd::handle(ctx, l3, vlan),
            _ => other(),
        },
        _ => other(),
    }
}

#[cfg(target_arch = "bpf")]
#[inline(always)]
fn other() -> Result<u32, ()> {
    stats::inc(|s| &mut s.rx_other);
    Ok(xdp_action::XDP_PASS)
}

/// Run by the controller (`BPF_PROG_TEST_RUN`, data = one `ArmRequest`): XDP_PASS
/// when done, XDP_DROP for a malformed request or an unknown instance, XDP_ABORTED
/// when the timer helpers failed.
#[cfg(target_arch = "bpf")]
#[xdp]
pub fn ha_arm(ctx: XdpContext) -> u32 {
    use aya_ebpf::helpers::bpf_ktime_get_ns;
    use ha_common::{ArmRequest, Peer, arm_op};

    stats::inc(|s| &mut s.arm_requests);
    let Ok(req) = parse::read::<ArmRequest>(&ctx, 0) else {
        return xdp_action::XDP_DROP;
    };
    let Some(conf) = maps::INSTANCES.get_ptr(req.key) else {
        return xdp_action::XDP_DROP;
    };
    // SAFETY: a plain copy of a live INSTANCES value.
    let conf = unsafe { conf.read() };
    let index = u32::from(conf.slot);
    let Some(slot) = maps::PEERS.get_ptr_mut(index) else {
        return xdp_action::XDP_DROP;
    };
    match req.op {
        arm_op::ARM => {
            // SAFETY: no preconditions.
            let now = unsafe { bpf_ktime_get_ns() };
            // SAFETY: a live PEERS value. The controller arms on entering Backup:
            // forced, whatever deadline the slot still holds.
            let rc = unsafe {
                (*slot).peer.key = req.key;
                let deadline = match vrrp::heard_deadline(&conf, &(*slot).peer) {
                    Some(heard) => heard.max(req.deadline_ns),
                    None => req.deadline_ns,
                };
                timer::arm(slot, deadline.saturating_sub(now), now, true)
            };
            if rc == 0 {
                return xdp_action::XDP_PASS;
            }
            // The helper's errno goes back in the request's `result` (the
            // controller reads the packet data out).
            let errno = (-rc) as u32;
            let _ = parse::write(&ctx, core::mem::offset_of!(ArmRequest, result), errno);
            xdp_action::XDP_ABORTED
        }
        arm_op::CANCEL => {
            // SAFETY: a live PEERS value.
            unsafe { timer::cancel(slot) };
            xdp_action::XDP_PASS
        }
        arm_op::FORGET => {
            // SAFETY: a live PEERS value; the timer fields are left alone, and the
            // key stays for the timer callback's event.
            unsafe {
                (*slot).peer = Peer {
                    key: req.key,
                    ..Peer::default()
                }
            };
            xdp_action::XDP_PASS
        }
        _ => xdp_action::XDP_DROP,
    }
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
