//! The Internet checksum (RFC 1071) over packet bytes, with `bpf_csum_diff`.
//!
//! `bpf_csum_diff(NULL, 0, p, n, seed)` returns the 32-bit one's-complement sum of
//! `n` bytes at `p` added to `seed`; `n` must be a multiple of 4, and at most 512.
//! A VRRP message is at most 8 + 255 * 16 = 4088 bytes and always a multiple of 4
//! (v2: 16 + 4n, v3: 8 + 4n or 8 + 16n), so it is summed in 512-byte, then 64-byte
//! chunks, then 4-byte words, each access bounds-checked with a constant size.
//!
//! Sums are formed over 16-bit words as loaded (little-endian on this machine).
//! One's-complement addition is byte-order independent: a sum that folds to
//! `0xffff` verifies in any order, and a complemented sum stored back the same way
//! is a correct checksum on the wire.

use aya_ebpf::{bindings::xdp_md, helpers::generated::bpf_csum_diff, programs::XdpContext};

use crate::parse::{MAX_OFFSET, ptr_at};

/// Largest chunk `bpf_csum_diff` takes.
const CHUNK: usize = 512;
/// Longest message summed: 8 chunks (a VRRP message is at most 4088 bytes).
const MAX_LEN: usize = CHUNK * 8;

/// Adds `len` bytes of the frame at `off` to `seed`. `len` must be a multiple of 4
/// and at most 4096.
#[inline(always)]
pub fn sum_frame(ctx: &XdpContext, off: usize, len: usize, seed: u32) -> Result<u32, ()> {
    if off > u32::MAX as usize || len > MAX_LEN {
        return Err(());
    }
    let r = ha_csum_frame(ctx.ctx, off as u32, len as u32, seed);
    if r < 0 { Err(()) } else { Ok(r as u32) }
}

/// [`sum_frame`] as a BPF global function: the verifier checks it once, on its own,
/// with every argument unknown, instead of once per path through its callers (the
/// three bounded loops below would otherwise multiply the program's verification
/// cost by their iterations). Returns the sum, or -1.
///
/// Three bounded loops (512-byte chunks, then 64-byte, then 4-byte words): at most
/// 8 + 7 + 15 iterations, each one helper call.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ha_csum_frame(ctx: *mut xdp_md, off: u32, len: u32, seed: u32) -> i64 {
    let ctx = XdpContext::new(ctx);
    let (off, len) = (off as usize, len as usize);
    if len % 4 != 0 || len > MAX_LEN || off > MAX_OFFSET {
        return -1;
    }
    // The arguments are unknown to the verifier: give it bounds it can see. After
    // the check above the masks change nothing; black_box keeps LLVM from dropping them.
    let off = core::hint::black_box(off) & MAX_OFFSET;
    let len = core::hint::black_box(len) & (2 * MAX_LEN - 1);
    let mut sum = seed;
    let mut done = 0usize;
    for _ in 0..MAX_LEN / CHUNK {
        if len - done < CHUNK {
            break;
        }
        let Ok(s) = sum_at::<[u8; CHUNK]>(&ctx, off + done, sum) else {
            return -1;
        };
        sum = s;
        done += CHUNK;
    }
    for _ in 0..CHUNK / 64 - 1 {
        if len - done < 64 {
            break;
        }
        let Ok(s) = sum_at::<[u8; 64]>(&ctx, off + done, sum) else {
            return -1;
        };
        sum = s;
        done += 64;
    }
    for _ in 0..64 / 4 - 1 {
        if done >= len {
            break;
        }
        let Ok(s) = sum_at::<[u8; 4]>(&ctx, off + done, sum) else {
            return -1;
        };
        sum = s;
        done += 4;
    }
    i64::from(sum)
}

/// Adds the `size_of::<T>()` bytes of the frame at `off` to `seed`.
#[inline(always)]
pub fn sum_at<T>(ctx: &XdpContext, off: usize, seed: u32) -> Result<u32, ()> {
    let p = ptr_at::<T>(ctx, off)?;
    // SAFETY: ptr_at checked the bytes are in the frame; the helper only reads them.
    let r = unsafe {
        bpf_csum_diff(
            core::ptr::null_mut(),
            0,
            p.cast_mut().cast(),
            core::mem::size_of::<T>() as u32,
            seed,
        )
    };
    if r < 0 { Err(()) } else { Ok(r as u32) }
}

/// Adds the bytes of `buf` (on the stack; a multiple of 4 long) to `seed`.
#[inline(always)]
pub fn sum_stack<const N: usize>(buf: &[u8; N], seed: u32) -> Result<u32, ()> {
    // SAFETY: the helper only reads N bytes of buf.
    let r = unsafe {
        bpf_csum_diff(
            core::ptr::null_mut(),
            0,
            buf.as_ptr().cast_mut().cast(),
            N as u32,
            seed,
        )
    };
    if r < 0 { Err(()) } else { Ok(r as u32) }
}

/// Folds a 32-bit sum into 16 bits.
#[inline(always)]
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Whether a sum that includes the checksum field verifies.
#[inline(always)]
pub fn verifies(sum: u32) -> bool {
    fold(sum) == 0xffff
}
