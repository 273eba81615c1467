//! Bounds-checked access to packet bytes, and the Ethernet header.
//!
//! Every access goes through [`ptr_at`] / [`ptr_at_mut`], which check
//! `data + offset + size_of::<T>() <= data_end` right before the access so the
//! verifier sees the bound on the very pointer that is dereferenced. Offsets that
//! depend on the packet (VLAN tags, the IPv4 IHL, the VRRP address count) are
//! bounded by their producers; [`MAX_OFFSET`] caps them again here so the verifier
//! always knows a maximum.

use aya_ebpf::programs::XdpContext;
use ha_common::wire::{ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, VLAN_HLEN};

/// No offset into a frame is larger: the verifier needs a visible upper bound on
/// variable packet offsets (its own limit is 0xffff).
pub const MAX_OFFSET: usize = 0x1fff;

/// Offset of the EtherType in an Ethernet header.
const ETH_TYPE_OFF: usize = 12;

/// A pointer to a `T` at `offset` bytes into the frame, or `Err` if it would run
/// past the end.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Result<*const T, ()> {
    ptr_at_mut::<T>(ctx, offset).map(|p: *mut T| p.cast_const())
}

/// A writable pointer to a `T` at `offset` bytes into the frame.
#[inline(always)]
pub fn ptr_at_mut<T>(ctx: &XdpContext, offset: usize) -> Result<*mut T, ()> {
    if offset > MAX_OFFSET {
        return Err(());
    }
    let end = ctx.data_end();
    // The verifier learns a bound only for the pointer it compares and for copies
    // of it (same id, fixed offset), and learns none from `p >= end`, which is
    // what LLVM makes of `p + 1 > end`. So: form the pointer, form the limit from
    // it, and hide both from the optimiser so neither is recomputed another way.
    let p = core::hint::black_box(ctx.data() + offset);
    let limit = core::hint::black_box(p + core::mem::size_of::<T>());
    if limit > end {
        return Err(());
    }
    Ok(p as *mut T)
}

/// A copy of the `T` at `offset` (any alignment).
#[inline(always)]
pub fn read<T: Copy>(ctx: &XdpContext, offset: usize) -> Result<T, ()> {
    let p = ptr_at::<T>(ctx, offset)?;
    // SAFETY: ptr_at checked that all size_of::<T>() bytes are inside the frame;
    // T is plain data (byte arrays, integers).
    Ok(unsafe { p.read_unaligned() })
}

/// A big-endian `u16` at `offset`.
#[inline(always)]
pub fn be16_at(ctx: &XdpContext, offset: usize) -> Result<u16, ()> {
    read::<[u8; 2]>(ctx, offset).map(u16::from_be_bytes)
}

/// The byte at `offset`.
#[inline(always)]
pub fn u8_at(ctx: &XdpContext, offset: usize) -> Result<u8, ()> {
    read::<u8>(ctx, offset)
}

/// Writes `value` at `offset` (any alignment).
#[inline(always)]
pub fn write<T: Copy>(ctx: &XdpContext, offset: usize, value: T) -> Result<(), ()> {
    let p = ptr_at_mut::<T>(ctx, offset)?;
    // SAFETY: ptr_at_mut checked the bounds; XDP frames are writable.
    unsafe { p.write_unaligned(value) };
    Ok(())
}

/// Length of the frame in bytes.
#[inline(always)]
pub fn frame_len(ctx: &XdpContext) -> usize {
    ctx.data_end() - ctx.data()
}

/// The EtherType of the payload, the offset where the payload starts, after
/// skipping up to two VLAN tags (802.1ad outer, 802.1Q inner), and the outer
/// tag's VLAN ID (0 untagged): part of every instance and VIP key.
#[inline(always)]
pub fn ethertype(ctx: &XdpContext) -> Result<(u16, usize, u16), ()> {
    /// The VLAN ID: the low 12 bits of the tag control information.
    const VID_MASK: u16 = 0x0fff;
    let mut off = ETH_HLEN;
    let mut ethertype = be16_at(ctx, ETH_TYPE_OFF)?;
    let mut vlan = 0;
    // Unrolled by hand: two tags (QinQ) is the whole story.
    if ethertype == ETH_P_8021AD || ethertype == ETH_P_8021Q {
        vlan = be16_at(ctx, off)? & VID_MASK;
        ethertype = be16_at(ctx, off + 2)?;
        off += VLAN_HLEN;
        if ethertype == ETH_P_8021Q {
            ethertype = be16_at(ctx, off + 2)?;
            off += VLAN_HLEN;
        }
    }
    Ok((ethertype, off, vlan))
}

/// IPv6 extension headers we step over to reach the upper layer (RFC 8200
/// §4.1 order): Hop-by-Hop Options, Routing, Destination Options. A Fragment
/// header (44) ends the walk: a fragment cannot be judged alone.
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_DEST_OPTS: u8 = 60;
/// At most this many extension headers are stepped over.
const IPV6_MAX_EXT: usize = 4;

/// The upper-layer protocol of the IPv6 packet at `l3` and where its header
/// starts, after any Hop-by-Hop, Routing and Destination Options headers
/// (each `(length + 1) * 8` bytes, RFC 8200 §4.3–4.6). A chain longer than
/// [`IPV6_MAX_EXT`] reports the extension header where it stopped.
#[inline(always)]
pub fn ipv6_upper(ctx: &XdpContext, l3: usize) -> Result<(u8, usize), ()> {
    /// Offset of the next-header field in an IPv6 header.
    const IPV6_NEXT_HEADER: usize = 6;
    let mut next = u8_at(ctx, l3 + IPV6_NEXT_HEADER)?;
    let mut at = l3 + ha_common::wire::IPV6_HLEN;
    for _ in 0..IPV6_MAX_EXT {
        if next != IPV6_HOP_BY_HOP && next != IPV6_ROUTING && next != IPV6_DEST_OPTS {
            break;
        }
        let [nh, len]: [u8; 2] = read(ctx, at)?;
        next = nh;
        at += (usize::from(len) + 1) * 8;
        if at > MAX_OFFSET {
            return Err(());
        }
    }
    Ok((next, at))
}
