//! A minimal two-namespace topology for the root tests of `ha::net`:
//!
//! ```text
//!   netns hanet<pid><tag>a            netns hanet<pid><tag>b
//!     hn<pid><tag>a  ── veth ──  hn<pid><tag>b
//!     198.18.S.1/24                 198.18.S.2/24
//!     2001:2:0:S::1/64              2001:2:0:S::2/64
//! ```
//!
//! Names carry the test process id so parallel runs never collide; links are
//! at most 15 bytes. Addresses come from the benchmarking ranges only and no
//! namespace gets a default route. [`NsPair`] deletes both namespaces (and
//! so the veth) when dropped, also when a test panics. Every wait is bounded.
//!
//! Sockets belong to the namespace of the thread that creates them, so
//! [`in_netns`] runs a closure on a thread that has `setns()`ed into one.

#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Two namespaces joined by a veth pair, removed on drop.
pub struct NsPair {
    /// Namespace of side A.
    pub ns_a: String,
    /// Namespace of side B.
    pub ns_b: String,
    /// veth end in A.
    pub link_a: String,
    /// veth end in B.
    pub link_b: String,
    /// A's IPv4 address.
    pub v4_a: Ipv4Addr,
    /// B's IPv4 address.
    pub v4_b: Ipv4Addr,
    /// A's global IPv6 address.
    pub v6_a: Ipv6Addr,
    /// B's global IPv6 address.
    pub v6_b: Ipv6Addr,
}

impl NsPair {
    /// Builds the pair for test `tag` (one or two lowercase letters) in
    /// subnet `S` = `subnet` (198.18.S.0/24, 2001:2:0:S::/64), both links up.
    pub fn new(tag: &str, subnet: u8) -> NsPair {
        assert!(
            tag.len() <= 2,
            "tag {tag:?} too long for a 15-byte link name"
        );
        let pid = std::process::id();
        let pair = NsPair {
            ns_a: format!("hanet{pid}{tag}a"),
            ns_b: format!("hanet{pid}{tag}b"),
            link_a: format!("hn{pid}{tag}a"),
            link_b: format!("hn{pid}{tag}b"),
            v4_a: Ipv4Addr::new(198, 18, subnet, 1),
            v4_b: Ipv4Addr::new(198, 18, subnet, 2),
            v6_a: format!("2001:2:0:{subnet:x}::1").parse().unwrap(),
            v6_b: format!("2001:2:0:{subnet:x}::2").parse().unwrap(),
        };
        // From here on, Drop cleans up whatever was created.
        ip(&["netns", "add", &pair.ns_a]);
        ip(&["netns", "add", &pair.ns_b]);
        ip(&[
            "-n",
            &pair.ns_a,
            "link",
            "add",
            &pair.link_a,
            "type",
            "veth",
            "peer",
            "name",
            &pair.link_b,
            "netns",
            &pair.ns_b,
        ]);
        for (ns, link, v4, v6) in [
            (&pair.ns_a, &pair.link_a, pair.v4_a, pair.v6_a),
            (&pair.ns_b, &pair.link_b, pair.v4_b, pair.v6_b),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", link]);
            ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                link,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", link, "up"]);
        }
        pair
    }

    /// Waits (at most 10 s) until both ends have a link-local address that
    /// finished Duplicate Address Detection, and returns (A's, B's).
    pub fn wait_link_locals(&self) -> (Ipv6Addr, Ipv6Addr) {
        (
            wait_link_local(&self.ns_a, &self.link_a),
            wait_link_local(&self.ns_b, &self.link_b),
        )
    }
}

impl Drop for NsPair {
    fn drop(&mut self) {
        for ns in [&self.ns_a, &self.ns_b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (at most 10 s) for a non-tentative link-local address on `link`.
pub fn wait_link_local(ns: &str, link: &str) -> Ipv6Addr {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ip(&[
            "-n", ns, "-6", "-o", "addr", "show", "dev", link, "scope", "link",
        ]);
        for line in out.lines() {
            if line.contains("tentative") {
                continue;
            }
            let mut words = line.split_whitespace();
            if words.any(|w| w == "inet6")
                && let Some(addr) = words.next().and_then(|w| w.split('/').next())
                && let Ok(addr) = addr.parse::<Ipv6Addr>()
            {
                return addr;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no usable link-local address on {link} in {ns} after 10 s: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` on a new thread inside network namespace `ns`, on a
/// current-thread tokio runtime; join the handle with [`join`].
pub fn in_netns<F, Fut, T>(ns: &str, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns on this thread only; the fd is valid for the call.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(f())
    })
}

/// Joins a thread from [`in_netns`], re-raising its panic in the test.
pub fn join<T>(handle: JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Reads frames of `ethertype` arriving on `ifname` (of the calling thread's
/// namespace) until `keep` accepts one or `timeout` passes.
pub struct Capture {
    fd: std::os::fd::OwnedFd,
}

impl Capture {
    /// Opens an `AF_PACKET` socket for `ethertype` bound to `ifname`.
    pub fn open(ifname: &str, ethertype: u16) -> Capture {
        use std::os::fd::FromRawFd;
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: plain libc calls with valid arguments; the fd is owned below.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert_ne!(ifindex, 0, "no interface {ifname}");
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(ethertype.to_be()),
            )
        };
        assert!(
            fd >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ethertype.to_be();
        addr.sll_ifindex = ifindex as i32;
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
        Capture { fd }
    }

    /// The first frame `keep` accepts within `timeout`, or `None`.
    pub fn next_matching(
        &self,
        timeout: Duration,
        keep: impl Fn(&[u8]) -> bool,
    ) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) };
            if rc <= 0 {
                continue;
            }
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n > 0 && keep(&buf[..n as usize]) {
                return Some(buf[..n as usize].to_vec());
            }
        }
    }
}
