//! Loading the XDP object once, pinning it, and attaching it to interfaces.
//!
//! One loaded object serves every interface of a daemon: the same `ha_xdp` program
//! is attached to each VRRP interface and all of them share its maps (keys carry the
//! ingress ifindex). The maps and both programs are pinned under one directory, and
//! each attachment's bpf_link as `xdp_link_IFNAME`, so the datapath outlives the
//! process that set it up until [`super::unpin_all`] removes the pins.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, anyhow, bail};
use aya::{
    Ebpf, EbpfLoader,
    programs::{Xdp, XdpMode, links::FdLink, xdp::XdpLinkId},
};
use ha_common::{ARM_PROGRAM, IfaceConf, XDP_PROGRAM, xdp_mode};
use tracing::{debug, info, warn};

use super::{Maps, iface, object, pins};

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

/// The loaded object, its maps and programs pinned under one directory.
pub struct Datapath {
    ebpf: Ebpf,
    pin_dir: PathBuf,
}

impl Datapath {
    /// Loads the embedded object (the verifier checks both programs here) and pins
    /// its maps and programs under `pin_dir`. Attaches nothing.
    pub fn load(pin_dir: &Path) -> Result<Datapath> {
        pins::prepare(pin_dir)?;
        let mut ebpf = EbpfLoader::new().load(object()?).context(
            "the kernel refused to load the XDP object (needs root or CAP_BPF + CAP_NET_ADMIN)",
        )?;
        for name in [XDP_PROGRAM, ARM_PROGRAM] {
            let program = xdp_program(&mut ebpf, name)?;
            let started = Instant::now();
            program
                .load()
                .with_context(|| format!("the verifier rejected the XDP program {name}"))?;
            let verified = program
                .info()
                .ok()
                .and_then(|i| i.verified_instruction_count());
            debug!(program = name, ?verified, took = ?started.elapsed(), "XDP program verified");
            let path = pin_dir.join(name);
            program
                .pin(&path)
                .with_context(|| format!("cannot pin program {name} at {}", path.display()))?;
        }
        // Internal maps (`.rodata*`, `.bss`) hold the object's constants: not ours to pin.
        for (name, map) in ebpf.maps().filter(|(name, _)| !name.starts_with('.')) {
            let path = pin_dir.join(name);
            map.pin(&path)
                .with_context(|| format!("cannot pin map {name} at {}", path.display()))?;
        }
        Ok(Datapath {
            ebpf,
            pin_dir: pin_dir.to_path_buf(),
        })
    }

    /// Attaches `ha_xdp` to `ifname`, pins the link as `xdp_link_IFNAME` and
    /// tells the responder how to reply there (IFACES, see
    /// [`iface::replies_for`]). Returns the mode the kernel accepted.
    pub fn attach(&mut self, ifname: &str, mode: AttachMode) -> Result<XdpMode> {
        let ifindex = iface::ifindex_of(ifname)?;
        let driver = iface::driver_of(ifname)
            .inspect_err(
                |e| debug!(interface = ifname, error = %format!("{e:#}"), "driver unknown"),
            )
            .ok();
        let program = xdp_program(&mut self.ebpf, XDP_PROGRAM)?;
        let (link_id, mode) = attach_with_fallback(program, ifname, mode, driver.as_deref())?;
        let link = program.take_link(link_id)?;
        let fd_link = FdLink::try_from(link).map_err(|e| {
            anyhow!("XDP on {ifname} was attached through netlink, not a bpf_link, so it cannot be pinned: {e}")
        })?;
        let link_path = pins::link_pin(&self.pin_dir, ifname);
        fd_link
            .pin(&link_path)
            .with_context(|| format!("cannot pin the XDP link at {}", link_path.display()))?;
        let (replies, why) = iface::replies_for(mode, driver.as_deref());
        let conf = IfaceConf {
            replies,
            xdp_mode: if matches!(mode, XdpMode::Skb) {
                xdp_mode::SKB
            } else {
                xdp_mode::NATIVE
            },
        };
        self.maps()?.set_iface(ifindex, conf)?;
        info!(
            interface = ifname,
            ?mode,
            driver = driver.as_deref().unwrap_or("?"),
            replies = iface::replies_name(replies),
            why,
            pins = %self.pin_dir.display(),
            "XDP program attached"
        );
        Ok(mode)
    }

    /// The typed maps, opened from the pins.
    pub fn maps(&self) -> Result<Maps> {
        Maps::open(&self.pin_dir)
    }

    /// The directory holding the pins.
    pub fn pin_dir(&self) -> &Path {
        &self.pin_dir
    }
}

/// A datapath attached to one interface.
pub struct Attached {
    /// The loaded object; dropping it detaches nothing once the link is pinned.
    pub datapath: Datapath,
    /// The mode the kernel accepted.
    pub mode: XdpMode,
}

/// Loads the embedded program, attaches it to `ifname` and pins its maps, programs
/// and link under `pin_dir`, so the program outlives this process until unpinned.
pub fn attach(ifname: &str, mode: AttachMode, pin_dir: &Path) -> Result<Attached> {
    let mut datapath = Datapath::load(pin_dir)?;
    let mode = datapath.attach(ifname, mode)?;
    Ok(Attached { datapath, mode })
}

fn xdp_program<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Xdp> {
    ebpf.program_mut(name)
        .ok_or_else(|| anyhow!("the XDP object has no program {name}"))?
        .try_into()
        .with_context(|| format!("{name} is not an XDP program"))
}

fn attach_with_fallback(
    program: &mut Xdp,
    ifname: &str,
    mode: AttachMode,
    driver: Option<&str>,
) -> Result<(XdpLinkId, XdpMode)> {
    let try_mode = |program: &mut Xdp, m: XdpMode| {
        program
            .attach(ifname, m)
            .with_context(|| format!("cannot attach XDP to interface {ifname} in {m:?} mode"))
    };
    if let Some(why) = iface::native_unusable(driver) {
        match mode {
            AttachMode::Native => bail!(
                "native XDP on {ifname} ({}): {why}; use --xdp-mode auto or skb",
                driver.unwrap_or("?")
            ),
            AttachMode::Auto => {
                info!(interface = ifname, why, "generic (SKB) mode");
                return Ok((try_mode(program, XdpMode::Skb)?, XdpMode::Skb));
            }
            AttachMode::Skb => {}
        }
    }
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
