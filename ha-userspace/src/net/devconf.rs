//! Per-interface IP settings (`/proc/sys/net/ipv4/conf/IF/KEY`, the
//! `sysctl net.ipv4.conf.IF.KEY` of an operator), read and written for the
//! calling thread's network namespace (`/proc/sys/net` follows it).
//!
//! A VMAC needs some of them (see `daemon::vmac`); each write is named in
//! its error, with the file, so a read-only `/proc/sys` says where.

use std::{fs, io};

/// `net.ipv4.conf` or `net.ipv6.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conf {
    /// `net.ipv4.conf`.
    Ipv4,
    /// `net.ipv6.conf`.
    Ipv6,
}

impl Conf {
    fn dir(self) -> &'static str {
        match self {
            Conf::Ipv4 => "/proc/sys/net/ipv4/conf",
            Conf::Ipv6 => "/proc/sys/net/ipv6/conf",
        }
    }
}

/// The file of `key` for interface `ifname` (or `all`, `default`).
fn path(conf: Conf, ifname: &str, key: &str) -> String {
    format!("{}/{ifname}/{key}", conf.dir())
}

/// Reads an integer setting.
pub fn read(conf: Conf, ifname: &str, key: &str) -> io::Result<u32> {
    let p = path(conf, ifname, key);
    let text = fs::read_to_string(&p).map_err(|e| io::Error::new(e.kind(), format!("{p}: {e}")))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{p}: not an integer: {:?}", text.trim()),
        )
    })
}

/// Writes an integer setting.
pub fn write(conf: Conf, ifname: &str, key: &str, value: u32) -> io::Result<()> {
    let p = path(conf, ifname, key);
    fs::write(&p, value.to_string()).map_err(|e| io::Error::new(e.kind(), format!("{p}: {e}")))
}

/// Every interface with IPv4 settings (not `all` / `default`).
pub fn ipv4_interfaces() -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(Conf::Ipv4.dir())? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name != "all" && name != "default" {
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_errors_name_the_file() {
        assert_eq!(
            path(Conf::Ipv4, "vrrp.51", "arp_ignore"),
            "/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore"
        );
        let e = read(Conf::Ipv4, "no-such-if0", "arp_ignore").unwrap_err();
        assert!(e.to_string().contains("no-such-if0/arp_ignore"), "{e}");
    }
}
