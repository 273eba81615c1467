//! What the loader needs to know about an interface: its index, its driver, and
//! from those how the ARP/NS responder may send its replies there.
//!
//! Names are resolved in the current network namespace with ioctls on a socket:
//! `/sys/class/net` may show another namespace's interfaces under `nsenter --net`.

use anyhow::{Context, Result, bail};
use aya::programs::XdpMode;
use ha_common::replies;

/// The index of `name` in the current network namespace.
pub fn ifindex_of(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name).context("interface name with a NUL byte")?;
    // SAFETY: c is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        bail!(
            "no interface {name} in this network namespace: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(index)
}

/// The name of `name`'s driver as `ethtool -i` prints it (`veth`, `virtio_net`,
/// `bonding`, `802.1Q VLAN Support`, `macvlan`, ...), from the ethtool
/// driver-info ioctl (`ETHTOOL_GDRVINFO`).
pub fn driver_of(name: &str) -> Result<String> {
    /// `struct ethtool_drvinfo` (linux/ethtool.h): the fields up to `driver`
    /// matter; the rest is room for what the kernel writes.
    #[repr(C)]
    struct DrvInfo {
        cmd: u32,
        driver: [u8; 32],
        rest: [u8; 164],
    }
    const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;
    const _: () = assert!(size_of::<DrvInfo>() == 200);

    let mut info = DrvInfo {
        cmd: ETHTOOL_GDRVINFO,
        driver: [0; 32],
        rest: [0; 164],
    };
    let data = (&mut info as *mut DrvInfo).cast();
    // ifru_data: `info` is as large as the kernel's struct and outlives
    // the call.
    interface_ioctl(
        name,
        libc::SIOCETHTOOL,
        "the driver (ETHTOOL_GDRVINFO)",
        |req| {
            req.ifr_ifru.ifru_data = data;
        },
    )?;
    let len = info.driver.iter().position(|&b| b == 0).unwrap_or(32);
    Ok(String::from_utf8_lossy(&info.driver[..len]).into_owned())
}

/// The MAC of `name` in the current network namespace (SIOCGIFHWADDR).
pub fn mac_of(name: &str) -> Result<[u8; 6]> {
    let req = interface_ioctl(name, libc::SIOCGIFHWADDR, "the MAC", |_| {})?;
    // SAFETY: SIOCGIFHWADDR filled the hardware address member of the union.
    let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
    Ok(std::array::from_fn(|i| data[i] as u8))
}

/// Runs interface ioctl `request` on `name` with an `ifreq` that names it and
/// that `prepare` fills in further; returns what the kernel left in it.
/// `what` says what was asked for, in the error.
fn interface_ioctl(
    name: &str,
    request: libc::Ioctl,
    what: &str,
    prepare: impl FnOnce(&mut libc::ifreq),
) -> Result<libc::ifreq> {
    // SAFETY: plain socket/ioctl/close on a zeroed ifreq whose name we fill in and
    // NUL-terminate (at most IFNAMSIZ - 1 bytes); pointers `prepare` puts in it
    // are the caller's to keep valid. The fd is closed on every path.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            bail!(
                "cannot open a socket to ask for {what} of {name}: {}",
                std::io::Error::last_os_error()
            );
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req
            .ifr_name
            .iter_mut()
            .zip(name.bytes().take(libc::IFNAMSIZ - 1))
        {
            *dst = src as libc::c_char;
        }
        prepare(&mut req);
        let rc = libc::ioctl(fd, request, &mut req);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if rc < 0 {
            bail!("cannot read {what} of {name}: {err}");
        }
        Ok(req)
    }
}

/// How the responder replies on an interface the program is attached to in
/// `mode`, whose driver is `driver` (`None`: unknown), and why.
///
/// `XDP_TX` only where it is known to deliver: generic mode always (the frame
/// goes out through the stack), native mode on drivers other than veth. A veth
/// in native mode hands `XDP_TX` frames to its peer only if the peer runs an XDP
/// program too, which a bridge port or a container's host side does not, and
/// nothing tells us what the peer runs: there the kernel answers (the gate still
/// drops what must not be answered). An unknown driver gets the kernel as well.
pub fn replies_for(mode: XdpMode, driver: Option<&str>) -> (u32, &'static str) {
    match (mode, driver) {
        (XdpMode::Skb, _) => (replies::XDP_TX, "generic mode transmits through the stack"),
        (_, Some("veth")) => (
            replies::KERNEL,
            "a veth in native mode delivers XDP_TX only to a peer running XDP",
        ),
        (_, None) => (replies::KERNEL, "unknown driver"),
        (_, Some(_)) => (
            replies::XDP_TX,
            "native mode on this driver transmits XDP_TX",
        ),
    }
}

/// Why native mode must not be used on an interface with driver `driver`, if it
/// must not: on a bond the kernel installs a native program on the slaves and
/// runs it there, so it sees the slave's ifindex and nothing keyed by the bond's
/// (instances, VIPs) would match; generic mode runs it on the bond itself.
/// A macvlan (a `use_vmac` interface) has no native XDP at all: trying it
/// first would only add a warning.
pub fn native_unusable(driver: Option<&str>) -> Option<&'static str> {
    match driver {
        Some("bonding") => {
            Some("native XDP on a bond runs on its slaves, which report their own ifindex")
        }
        Some("macvlan") => Some("macvlan has no native XDP"),
        _ => None,
    }
}

/// `xdp_tx` or `kernel`, for logs and the CLI.
pub fn replies_name(replies: u32) -> &'static str {
    if replies == replies::XDP_TX {
        "xdp_tx"
    } else {
        "kernel"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_tx_only_where_it_delivers() {
        let tx = |mode, driver| replies_for(mode, driver).0 == replies::XDP_TX;
        assert!(tx(XdpMode::Skb, Some("veth")));
        assert!(tx(XdpMode::Skb, None));
        assert!(!tx(XdpMode::Driver, Some("veth")));
        assert!(!tx(XdpMode::Driver, None));
        assert!(tx(XdpMode::Driver, Some("virtio_net")));
        assert!(tx(XdpMode::Driver, Some("ixgbe")));
    }

    #[test]
    fn a_bond_is_never_native() {
        assert!(native_unusable(Some("bonding")).is_some());
        assert!(native_unusable(Some("macvlan")).is_some());
        for other in [Some("veth"), Some("virtio_net"), None] {
            assert!(native_unusable(other).is_none(), "{other:?}");
        }
    }

    #[test]
    fn loopback_has_a_driver_or_says_why_not() {
        // `lo` exists in every namespace; ETHTOOL_GDRVINFO may or may not be
        // supported there, but the error names the interface.
        match driver_of("lo") {
            Ok(d) => assert!(!d.contains('\0')),
            Err(e) => assert!(format!("{e:#}").contains("lo")),
        }
        assert!(ifindex_of("no-such-if0").is_err());
    }
}
