//! Where pinned maps, programs and links live on bpffs.
//!
//! bpffs is per mount namespace, not per network namespace: two daemons in two test
//! namespaces on one host would share pins, so every user of the datapath names its
//! own directory (the daemon uses [`PIN_ROOT`]/NAME, tests a per-test directory).
//!
//! A pin directory holds one loaded object: its maps under their names
//! (`INSTANCES`, `PEERS`, …; `bpftool map dump pinned DIR/NAME` prints typed
//! fields), its two programs (`ha_xdp`, `ha_arm`) and one link per interface the
//! program is attached to ([`link_pin`]).

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// The directory under which `ha` pins its objects by default.
pub const PIN_ROOT: &str = "/sys/fs/bpf/ha";

/// Prefix of the pinned XDP links inside a pin directory: `xdp_link_IFNAME`.
pub const LINK_PIN_PREFIX: &str = "xdp_link_";

/// Where the link of the program attached to `ifname` is pinned in `dir`.
///
/// bpffs refuses names with a dot (EPERM), which interface names may have
/// (`vrrp.51`, keepalived's VMAC names; `eth0.100`): a dot becomes `%`,
/// which no interface name can hold (the kernel takes it as a template).
pub fn link_pin(dir: &Path, ifname: &str) -> PathBuf {
    dir.join(format!("{LINK_PIN_PREFIX}{}", ifname.replace('.', "%")))
}

/// Creates `dir` (and parents), checking first that it lies on a mounted bpffs.
pub fn prepare(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create pin directory {} (is bpffs mounted on /sys/fs/bpf?)",
            dir.display()
        )
    })
}

/// Removes every pin in `dir` and the directory itself. Removing the pinned links
/// detaches the program once no process holds it. A missing directory is fine.
pub fn unpin_all(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        fs::remove_file(&path).with_context(|| format!("cannot unpin {}", path.display()))?;
    }
    fs::remove_dir(dir).with_context(|| format!("cannot remove {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_pins_have_no_dot() {
        let p = link_pin(Path::new("/sys/fs/bpf/ha/x"), "vrrp.51");
        assert_eq!(p, Path::new("/sys/fs/bpf/ha/x/xdp_link_vrrp%51"));
    }
}
