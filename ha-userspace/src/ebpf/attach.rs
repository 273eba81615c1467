//! Loading the XDP program and attaching it to one interface.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use aya::{
    Ebpf, EbpfLoader,
    programs::{Xdp, XdpMode, links::FdLink},
};
use tracing::{info, warn};

use super::{object, pins};

/// Name of the XDP entry point in the object.
const PROGRAM: &str = "ha_xdp";

/// How to attach: native (driver) mode with a fallback to generic, or one of them only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachMode {
    /// Native mode first; generic (SKB) mode with a warning if the driver refuses.
    #[default]
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (SKB) mode only.
    Skb,
}

/// A loaded program attached to an interface, its maps pinned.
pub struct Attached {
    /// The loaded object; dropping it detaches nothing once the link is pinned.
    pub ebpf: Ebpf,
    /// The mode the kernel accepted.
    pub mode: XdpMode,
    /// The directory holding the pins.
    pub pin_dir: PathBuf,
}

/// Loads the embedded program, attaches it to `ifname` and pins its maps and the
/// link under `pin_dir`, so the program outlives this process until unpinned.
pub fn attach(ifname: &str, mode: AttachMode, pin_dir: &Path) -> Result<Attached> {
    pins::prepare(pin_dir)?;
    let mut ebpf = EbpfLoader::new().load(object()?).context(
        "the kernel refused to load the XDP object (needs root or CAP_BPF + CAP_NET_ADMIN)",
    )?;
    let program: &mut Xdp = ebpf
        .program_mut(PROGRAM)
        .ok_or_else(|| anyhow!("the XDP object has no program {PROGRAM}"))?
        .try_into()?;
    program
        .load()
        .context("the verifier rejected the XDP program")?;
    let (link_id, mode) = attach_with_fallback(program, ifname, mode)?;
    let link = program.take_link(link_id)?;
    let fd_link = FdLink::try_from(link).map_err(|e| {
        anyhow!("XDP on {ifname} was attached through netlink, not a bpf_link, so it cannot be pinned: {e}")
    })?;
    let link_path = pin_dir.join(pins::LINK_PIN);
    fd_link
        .pin(&link_path)
        .with_context(|| format!("cannot pin the XDP link at {}", link_path.display()))?;
    for (name, map) in ebpf.maps() {
        let path = pin_dir.join(name);
        map.pin(&path)
            .with_context(|| format!("cannot pin map {name} at {}", path.display()))?;
    }
    info!(interface = ifname, ?mode, pins = %pin_dir.display(), "XDP program attached");
    Ok(Attached {
        ebpf,
        mode,
        pin_dir: pin_dir.to_path_buf(),
    })
}

fn attach_with_fallback(
    program: &mut Xdp,
    ifname: &str,
    mode: AttachMode,
) -> Result<(aya::programs::xdp::XdpLinkId, XdpMode)> {
    let try_mode = |program: &mut Xdp, m: XdpMode| {
        program
            .attach(ifname, m)
            .with_context(|| format!("cannot attach XDP to interface {ifname} in {m:?} mode"))
    };
    match mode {
        AttachMode::Native => Ok((try_mode(program, XdpMode::Driver)?, XdpMode::Driver)),
        AttachMode::Skb => Ok((try_mode(program, XdpMode::Skb)?, XdpMode::Skb)),
        AttachMode::Auto => match try_mode(program, XdpMode::Driver) {
            Ok(id) => Ok((id, XdpMode::Driver)),
            Err(native) => {
                warn!(interface = ifname, error = %format!("{native:#}"), "native XDP refused; using generic (SKB) mode");
                Ok((try_mode(program, XdpMode::Skb)?, XdpMode::Skb))
            }
        },
    }
}
