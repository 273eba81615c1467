//! Faults with a precise timestamp, for measurements that start at the fault.

use std::io;
use std::mem::zeroed;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::host::Host;
use crate::netns::in_netns;

/// Sets `host`'s interface down (or up) with one ioctl and returns the time
/// just before the call: a fault time precise to microseconds, unlike
/// [`Host::link_down`], which starts `ip`.
pub fn set_link(host: &Host, up: bool) -> Result<SystemTime> {
    let name = host.ifname.as_bytes();
    if name.len() >= libc::IFNAMSIZ {
        bail!("interface name {} too long", host.ifname);
    }
    // An ioctl acts in the namespace of the socket it is made on.
    let fd = in_netns(&host.ns, || {
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("socket(AF_INET)");
        }
        // SAFETY: a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(raw) })
    })?;
    // SAFETY: all-zero is a valid ifreq.
    let mut req: libc::ifreq = unsafe { zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: valid fd and ifreq; SIOCGIFFLAGS fills ifru_flags.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut req) } != 0 {
        return Err(io::Error::last_os_error())
            .with_context(|| format!("{}: SIOCGIFFLAGS {}", host.ns, host.ifname));
    }
    // SAFETY: SIOCGIFFLAGS set the flags member.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    let up_flag = libc::IFF_UP as libc::c_short;
    req.ifr_ifru.ifru_flags = if up {
        flags | up_flag
    } else {
        flags & !up_flag
    };
    let at = SystemTime::now();
    // SAFETY: valid fd and ifreq.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS, &raw const req) } != 0 {
        return Err(io::Error::last_os_error())
            .with_context(|| format!("{}: SIOCSIFFLAGS {}", host.ns, host.ifname));
    }
    Ok(at)
}
