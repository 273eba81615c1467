//! Bounds-checked access to packet bytes.
//!
//! Every read goes through [`ptr_at`], which checks `start + offset + size <= end`
//! right before the access so the verifier can see the bound.

use aya_ebpf::programs::XdpContext;

/// A pointer to a `T` at `offset` bytes into the frame, or `Err` if it would run past the end.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Result<*const T, ()> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + core::mem::size_of::<T>() > end {
        return Err(());
    }
    Ok((start + offset) as *const T)
}

/// A big-endian `u16` at `offset`.
#[inline(always)]
pub fn be16_at(ctx: &XdpContext, offset: usize) -> Result<u16, ()> {
    let p = ptr_at::<[u8; 2]>(ctx, offset)?;
    // SAFETY: ptr_at checked that both bytes are inside the frame.
    Ok(u16::from_be_bytes(unsafe { *p }))
}

/// The byte at `offset`.
#[inline(always)]
pub fn u8_at(ctx: &XdpContext, offset: usize) -> Result<u8, ()> {
    let p = ptr_at::<u8>(ctx, offset)?;
    // SAFETY: ptr_at checked that the byte is inside the frame.
    Ok(unsafe { *p })
}
