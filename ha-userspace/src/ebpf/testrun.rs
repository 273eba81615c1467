//! `BPF_PROG_TEST_RUN` on a pinned program, through the raw `bpf(2)` syscall.
//!
//! aya 0.14 can test-run an `Xdp` it loaded, but opening a pinned XDP program
//! needs an `XdpAttachType` it does not export; the two commands are small enough
//! to issue directly.

use std::{
    ffi::CString,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    os::unix::ffi::OsStrExt,
    path::Path,
};

use anyhow::{Context, Result};

/// `enum bpf_cmd` values.
const BPF_OBJ_GET: libc::c_long = 7;
const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// The `BPF_OBJ_GET` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ObjGetAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
    path_fd: i32,
    _pad: u32,
}

/// The `test` member of `union bpf_attr` (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// `struct xdp_md` as `BPF_PROG_TEST_RUN` takes it in `ctx_in`.
#[repr(C)]
#[derive(Default)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
}

/// A pinned program, opened.
pub struct PinnedProgram {
    fd: OwnedFd,
}

impl PinnedProgram {
    /// Opens the program pinned at `path`.
    pub fn open(path: &Path) -> Result<PinnedProgram> {
        let c = CString::new(path.as_os_str().as_bytes()).context("pin path with a NUL byte")?;
        let mut attr = ObjGetAttr {
            pathname: c.as_ptr() as u64,
            ..ObjGetAttr::default()
        };
        // SAFETY: attr is a valid BPF_OBJ_GET attribute of the size we pass; the
        // kernel only reads the path string, which outlives the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_OBJ_GET,
                &mut attr as *mut ObjGetAttr,
                size_of::<ObjGetAttr>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("cannot open the pinned program {}", path.display()));
        }
        // SAFETY: the kernel returned a new file descriptor we now own.
        Ok(PinnedProgram {
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
        })
    }

    /// Runs the program once on `data` and returns its verdict.
    pub fn run(&self, data: &[u8]) -> io::Result<u32> {
        self.test_run(data, None, &mut [])
            .map(|(verdict, _)| verdict)
    }

    /// Runs an XDP program once on `frame` as if it had arrived on interface
    /// `ingress_ifindex`; returns the verdict and the frame as the program left
    /// it (rewritten in place for `XDP_TX`).
    pub fn run_frame(&self, frame: &[u8], ingress_ifindex: u32) -> io::Result<(u32, Vec<u8>)> {
        let ctx = XdpMd {
            data_end: frame.len() as u32,
            ingress_ifindex,
            ..XdpMd::default()
        };
        // Room for a program that grows the frame (bpf_xdp_adjust_tail).
        let mut out = vec![0u8; frame.len() + 256];
        let (verdict, len) = self.test_run(frame, Some(&ctx), &mut out)?;
        out.truncate(len);
        Ok((verdict, out))
    }

    /// `BPF_PROG_TEST_RUN` with an optional `struct xdp_md` context and output
    /// buffer; returns the verdict and the output length.
    fn test_run(
        &self,
        data: &[u8],
        ctx: Option<&XdpMd>,
        out: &mut [u8],
    ) -> io::Result<(u32, usize)> {
        let mut attr = TestRunAttr {
            prog_fd: self.fd.as_raw_fd() as u32,
            data_size_in: data.len() as u32,
            data_in: data.as_ptr() as u64,
            data_size_out: out.len() as u32,
            data_out: if out.is_empty() {
                0
            } else {
                out.as_mut_ptr() as u64
            },
            repeat: 1,
            ctx_size_in: ctx.map_or(0, |_| size_of::<XdpMd>() as u32),
            ctx_in: ctx.map_or(0, |c| c as *const XdpMd as u64),
            ..TestRunAttr::default()
        };
        // SAFETY: attr is a valid BPF_PROG_TEST_RUN attribute; the kernel reads
        // data_size_in bytes of data and ctx_size_in bytes of ctx, and writes at
        // most data_size_out bytes into out and into attr.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_TEST_RUN,
                &mut attr as *mut TestRunAttr,
                size_of::<TestRunAttr>(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((attr.retval, (attr.data_size_out as usize).min(out.len())))
    }
}
