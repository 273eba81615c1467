//! `ha datapath …`: set up, inspect and drive the XDP datapath by hand (and from
//! the root tests). Each subcommand opens the pins, does one thing and exits,
//! except `events`, which streams.

use std::{
    io::Write,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use ha_common::{
    Event, IfaceConf, InstanceConf, InstanceKey, Peer, VipKey, addr, event_kind, family,
    instance_flag, reason, state,
};
use serde_json::{Value, json};

use super::{
    AttachMode, Datapath, EventStream, Maps, PIN_ROOT, attach,
    iface::{ifindex_of, mac_of, replies_name},
    monotonic_ns, unpin_all,
};

#[derive(Debug, Subcommand)]
pub enum DatapathCommand {
    /// Load the XDP program, attach it to an interface and pin it, then exit
    /// (the pinned link keeps it attached).
    Attach {
        /// The interface to attach to.
        #[arg(long, short)]
        interface: String,
        /// Where to pin the maps, programs and link (default: /sys/fs/bpf/ha/IFACE).
        #[arg(long)]
        pin_dir: Option<PathBuf>,
        /// Native mode, generic (SKB) mode, or native with a fallback to generic.
        #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
        mode: ModeArg,
    },
    /// Load and pin the XDP object without attaching it (for BPF_PROG_TEST_RUN).
    Load {
        /// Where to pin the maps and programs.
        #[arg(long)]
        pin_dir: PathBuf,
    },
    /// Unpin everything under the pin directory, which detaches the program.
    Detach {
        /// The interface it was attached to (names the default pin directory).
        #[arg(long, short)]
        interface: Option<String>,
        #[command(flatten)]
        pins: Pins,
    },
    /// Print the counters of a loaded program, one `name value` per line.
    Counters {
        /// The interface it was attached to (names the default pin directory).
        #[arg(long, short)]
        interface: Option<String>,
        #[command(flatten)]
        pins: Pins,
        /// Print one JSON object instead.
        #[arg(long)]
        json: bool,
    },
    /// Add, replace or remove an instance in INSTANCES.
    Instance(InstanceArgs),
    /// Add or remove a VIP the ARP/NS responder answers for.
    Vip {
        #[command(flatten)]
        pins: Pins,
        #[command(flatten)]
        on: OnInterface,
        /// The instance's VRID.
        #[arg(long)]
        vrid: u8,
        /// The address (its family picks the instance's family).
        #[arg(long)]
        addr: IpAddr,
        /// Remove it instead.
        #[arg(long)]
        remove: bool,
    },
    /// Say how the responder replies on an interface (IFACES; `attach` does it
    /// for the interface it attaches to): in place, or through the kernel.
    Replies {
        #[command(flatten)]
        pins: Pins,
        #[command(flatten)]
        on: OnInterface,
        /// How replies go out.
        #[arg(long, value_enum)]
        via: RepliesArg,
    },
    /// Write the controller heartbeat: fresh now, for `--max-age-ms`.
    Beat {
        /// The interface it was attached to (names the default pin directory).
        #[arg(long, short)]
        interface: Option<String>,
        #[command(flatten)]
        pins: Pins,
        /// How long the beat counts.
        #[arg(long, default_value_t = 1000)]
        max_age_ms: u64,
        /// Write a heartbeat that is already stale (never fresh).
        #[arg(long)]
        stale: bool,
    },
    /// Print the PEERS entry of an instance as JSON (`null` if none).
    Peer {
        #[command(flatten)]
        pins: Pins,
        #[command(flatten)]
        instance: InstanceRef,
    },
    /// Arm (or cancel) an instance's master-down timer, as the controller does at startup.
    Arm {
        #[command(flatten)]
        pins: Pins,
        #[command(flatten)]
        instance: InstanceRef,
        /// Fire this many milliseconds from now.
        #[arg(long, default_value_t = 1000)]
        delay_ms: u64,
        /// Cancel the timer instead.
        #[arg(long)]
        cancel: bool,
    },
    /// Print events from the ring buffer as JSON lines (one reader at a time).
    Events {
        /// The interface it was attached to (names the default pin directory).
        #[arg(long, short)]
        interface: Option<String>,
        #[command(flatten)]
        pins: Pins,
        /// Exit after this many events.
        #[arg(long)]
        count: Option<usize>,
        /// Exit when no event arrived for this long.
        #[arg(long)]
        idle_ms: Option<u64>,
    },
}

/// Which pin directory: `--pin-dir`, or the default for the interface named.
#[derive(Debug, Args)]
pub struct Pins {
    /// The pin directory (default: /sys/fs/bpf/ha/IFACE).
    #[arg(long)]
    pub pin_dir: Option<PathBuf>,
}

/// The interface an instance or VIP lives on: by name or index.
#[derive(Debug, Args)]
pub struct OnInterface {
    /// Interface name (resolved in the current network namespace).
    #[arg(long, short, conflicts_with = "ifindex")]
    pub interface: Option<String>,
    /// Interface index.
    #[arg(long)]
    pub ifindex: Option<u32>,
}

/// One instance by interface, VRID and family.
#[derive(Debug, Args)]
pub struct InstanceRef {
    #[command(flatten)]
    pub on: OnInterface,
    /// Virtual router id.
    #[arg(long)]
    pub vrid: u8,
    /// 4 or 6.
    #[arg(long, default_value_t = 4)]
    pub family: u8,
}

#[derive(Debug, Args)]
pub struct InstanceArgs {
    #[command(flatten)]
    pins: Pins,
    #[command(flatten)]
    on: OnInterface,
    /// Virtual router id.
    #[arg(long)]
    vrid: u8,
    /// Our primary address (adverts from it are ours); its family is the instance's.
    #[arg(long)]
    own_addr: IpAddr,
    /// Remove the instance instead (with its peer entry and timer).
    #[arg(long)]
    remove: bool,
    /// State as the XDP program sees it.
    #[arg(long, value_enum, default_value_t = StateArg::Backup)]
    state: StateArg,
    /// Our priority.
    #[arg(long, default_value_t = 100)]
    priority: u8,
    /// VRRP version (2 or 3).
    #[arg(long, default_value_t = 3)]
    version: u8,
    /// Advertisement interval in centiseconds (v2: seconds * 100).
    #[arg(long, default_value_t = 100)]
    advert_int_cs: u16,
    /// Preempt_Mode off.
    #[arg(long)]
    no_preempt: bool,
    /// Accept lower-priority masters for this long from now (keepalived preempt_delay).
    #[arg(long)]
    hold_ms: Option<u64>,
    /// MAC the responder answers with (default: the interface's).
    #[arg(long)]
    mac: Option<String>,
    /// v2 simple password (auth type 1).
    #[arg(long)]
    auth_pass: Option<String>,
    /// Set the Router flag in Neighbor Advertisements.
    #[arg(long)]
    router: bool,
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    Auto,
    Native,
    Skb,
}

impl From<ModeArg> for AttachMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Auto => AttachMode::Auto,
            ModeArg::Native => AttachMode::Native,
            ModeArg::Skb => AttachMode::Skb,
        }
    }
}

/// `--via` values of `ha datapath replies`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RepliesArg {
    /// Rewrite the request into the reply and send it back (XDP_TX).
    XdpTx,
    /// Pass the request to the kernel, which answers for a configured VIP.
    Kernel,
}

/// `--state` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StateArg {
    Init,
    Backup,
    Master,
}

/// Runs one `ha datapath` subcommand.
pub fn run(cmd: DatapathCommand) -> Result<()> {
    match cmd {
        DatapathCommand::Attach {
            interface,
            pin_dir,
            mode,
        } => {
            let dir = match pin_dir {
                Some(dir) => checked_pin_dir(&dir)?,
                None => default_pin_dir(&interface)?,
            };
            let attached = attach(&interface, mode.into(), &dir)?;
            let replies = attached
                .datapath
                .maps()?
                .iface(ifindex_of(&interface)?)?
                .unwrap_or_default()
                .replies;
            println!(
                "attached to {interface} in {:?} mode, replies: {}, pinned under {}",
                attached.mode,
                replies_name(replies),
                dir.display()
            );
            Ok(())
        }
        DatapathCommand::Load { pin_dir } => {
            let pin_dir = checked_pin_dir(&pin_dir)?;
            Datapath::load(&pin_dir)?;
            println!("loaded, pinned under {}", pin_dir.display());
            Ok(())
        }
        DatapathCommand::Detach { interface, pins } => unpin_all(&pins.dir(interface.as_deref())?),
        DatapathCommand::Counters {
            interface,
            pins,
            json,
        } => {
            let stats = Maps::open(&pins.dir(interface.as_deref())?)?.stats()?;
            if json {
                let map: serde_json::Map<String, Value> = stats
                    .fields()
                    .iter()
                    .map(|(name, v)| ((*name).to_owned(), json!(v)))
                    .collect();
                println!("{}", Value::Object(map));
            } else {
                for (name, value) in stats.fields() {
                    println!("{name} {value}");
                }
            }
            Ok(())
        }
        DatapathCommand::Instance(args) => instance(args),
        DatapathCommand::Vip {
            pins,
            on,
            vrid,
            addr,
            remove,
        } => {
            let mut maps = Maps::open(&pins.dir(on.interface.as_deref())?)?;
            let ifindex = on.ifindex()?;
            let vip = VipKey::from_ip(ifindex, addr);
            if remove {
                maps.remove_vip(vip)
            } else {
                maps.set_vip(vip, InstanceKey::new(ifindex, vrid, addr::family_of(addr)))
            }
        }
        DatapathCommand::Replies { pins, on, via } => {
            let mut maps = Maps::open(&pins.dir(on.interface.as_deref())?)?;
            let ifindex = on.ifindex()?;
            let conf = maps.iface(ifindex)?.unwrap_or_default();
            let replies = match via {
                RepliesArg::XdpTx => ha_common::replies::XDP_TX,
                RepliesArg::Kernel => ha_common::replies::KERNEL,
            };
            maps.set_iface(ifindex, IfaceConf { replies, ..conf })
        }
        DatapathCommand::Beat {
            interface,
            pins,
            max_age_ms,
            stale,
        } => {
            let mut maps = Maps::open(&pins.dir(interface.as_deref())?)?;
            if stale {
                maps.beat(0, 0)
            } else {
                maps.beat(monotonic_ns(), max_age_ms * 1_000_000)
            }
        }
        DatapathCommand::Peer { pins, instance } => {
            let maps = Maps::open(&pins.dir(instance.on.interface.as_deref())?)?;
            let key = instance.key()?;
            let peer = maps.peer(key)?;
            println!(
                "{}",
                peer.map_or(Value::Null, |p| peer_json(key.family, &p))
            );
            Ok(())
        }
        DatapathCommand::Arm {
            pins,
            instance,
            delay_ms,
            cancel,
        } => {
            let maps = Maps::open(&pins.dir(instance.on.interface.as_deref())?)?;
            let key = instance.key()?;
            if cancel {
                maps.cancel_master_down(key)
            } else {
                maps.arm_master_down(key, monotonic_ns() + delay_ms * 1_000_000)
            }
        }
        DatapathCommand::Events {
            interface,
            pins,
            count,
            idle_ms,
        } => events(
            &pins.dir(interface.as_deref())?,
            count,
            idle_ms.map(Duration::from_millis),
        ),
    }
}

fn instance(args: InstanceArgs) -> Result<()> {
    let mut maps = Maps::open(&args.pins.dir(args.on.interface.as_deref())?)?;
    let ifindex = args.on.ifindex()?;
    let key = InstanceKey::new(ifindex, args.vrid, addr::family_of(args.own_addr));
    if args.remove {
        return maps.remove_instance(key);
    }
    let mac = match (&args.mac, &args.on.interface) {
        (Some(mac), _) => parse_mac(mac)?,
        (None, Some(name)) => mac_of(name)?,
        (None, None) => bail!("name the interface (--interface) or give --mac"),
    };
    let mut auth_data = [0u8; 8];
    let auth_type = match &args.auth_pass {
        Some(pass) => {
            let bytes = pass.as_bytes();
            if bytes.len() > 8 {
                bail!("a VRRPv2 password has at most 8 bytes");
            }
            auth_data[..bytes.len()].copy_from_slice(bytes);
            1
        }
        None => 0,
    };
    let conf = InstanceConf {
        state: match args.state {
            StateArg::Init => state::INIT,
            StateArg::Backup => state::BACKUP,
            StateArg::Master => state::MASTER,
        },
        priority: args.priority,
        version: args.version,
        preempt: u8::from(!args.no_preempt),
        flags: if args.router {
            instance_flag::NA_ROUTER
        } else {
            0
        },
        advert_int_cs: args.advert_int_cs,
        mac,
        preempt_hold_until_ns: args.hold_ms.map_or(0, |ms| monotonic_ns() + ms * 1_000_000),
        own_addr: addr::to_bytes(args.own_addr),
        auth_type,
        vip_count: 0,
        slot: 0,
        vip_sum: 0,
        auth_data,
    };
    maps.set_instance(key, conf)
}

fn events(dir: &Path, count: Option<usize>, idle: Option<Duration>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let mut stream = EventStream::open(dir)?;
        let mut out = std::io::stdout().lock();
        let mut seen = 0usize;
        while count.is_none_or(|c| seen < c) {
            let event = match idle {
                Some(idle) => match tokio::time::timeout(idle, stream.next()).await {
                    Ok(event) => event?,
                    Err(_) => break,
                },
                None => stream.next().await?,
            };
            writeln!(out, "{}", event_json(&event))?;
            out.flush()?;
            seen += 1;
        }
        Ok(())
    })
}

/// An event as one JSON object.
pub fn event_json(e: &Event) -> Value {
    let kind = match e.kind {
        event_kind::ADVERT => "advert",
        event_kind::MASTER_DOWN => "master_down",
        _ => "unknown",
    };
    let names = [
        (reason::PRIORITY_ZERO, "priority_zero"),
        (reason::NEW_MASTER_ADDR, "new_master_addr"),
        (reason::PRIORITY_CHANGE, "priority_change"),
        (reason::PREEMPTS_US, "preempts_us"),
        (reason::LOWER_WHILE_MASTER, "lower_while_master"),
        (reason::FIRST_AFTER_SILENCE, "first_after_silence"),
        (reason::INTERVAL_CHANGE, "interval_change"),
        (reason::OUTRANKED, "outranked"),
    ];
    let reasons: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| e.has(*bit))
        .map(|(_, name)| *name)
        .collect();
    json!({
        "kind": kind,
        "reasons": reasons,
        "ifindex": e.key.ifindex,
        "vrid": e.key.vrid,
        "family": e.key.family,
        "ts_ns": e.ts_ns,
        "src": addr_json(e.key.family, e.src),
        "priority": e.priority,
        "advert_int_cs": e.advert_int_cs,
    })
}

/// A peer entry as one JSON object.
pub fn peer_json(fam: u8, p: &Peer) -> Value {
    json!({
        "master_addr": addr_json(fam, p.master_addr),
        "last_seen_ns": p.last_seen_ns,
        "adverts": p.adverts,
        "master_priority": p.master_priority,
        "advert_int_cs": p.advert_int_cs,
    })
}

fn addr_json(fam: u8, bytes: [u8; 16]) -> Value {
    addr::from_bytes(fam, bytes).map_or(Value::Null, |ip| json!(ip.to_string()))
}

impl Pins {
    /// The pin directory: `--pin-dir`, or the default one of `interface`.
    pub fn dir(&self, interface: Option<&str>) -> Result<PathBuf> {
        match (&self.pin_dir, interface) {
            (Some(dir), _) => checked_pin_dir(dir),
            (None, Some(interface)) => default_pin_dir(interface),
            (None, None) => {
                bail!("name the pin directory (--pin-dir) or the interface (--interface)")
            }
        }
    }
}

impl OnInterface {
    /// The interface index, resolving a name in the current network namespace.
    pub fn ifindex(&self) -> Result<u32> {
        match (&self.interface, self.ifindex) {
            (_, Some(i)) => Ok(i),
            (Some(name), None) => ifindex_of(name),
            (None, None) => bail!("name the interface (--interface) or give --ifindex"),
        }
    }
}

impl InstanceRef {
    fn key(&self) -> Result<InstanceKey> {
        if self.family != family::V4 && self.family != family::V6 {
            bail!("--family is 4 or 6");
        }
        Ok(InstanceKey::new(self.on.ifindex()?, self.vrid, self.family))
    }
}

/// `/sys/fs/bpf/ha/IFACE`, for a valid interface name only.
fn default_pin_dir(interface: &str) -> Result<PathBuf> {
    Ok(PathBuf::from(PIN_ROOT).join(checked_ifname(interface)?))
}

/// `name` if it can be an interface name: 1 to 15 bytes, no `/`, no white
/// space, not `.` or `..` (it becomes a path component of the pin directory,
/// and `detach` removes what that directory holds).
fn checked_ifname(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !ok {
        bail!("`{name}` is not an interface name (1-15 characters, no `/`, `:` or spaces)");
    }
    Ok(name)
}

/// `dir` if it lies under /sys/fs/bpf/ha/ (no `..`, not the root itself):
/// these commands create and delete pins, and nothing else.
fn checked_pin_dir(dir: &Path) -> Result<PathBuf> {
    use std::path::Component;
    let root = Path::new(PIN_ROOT);
    let inside = dir
        .strip_prefix(root)
        .ok()
        .filter(|rest| rest.components().next().is_some())
        .is_some_and(|rest| rest.components().all(|c| matches!(c, Component::Normal(_))));
    if !inside {
        bail!(
            "pin directory {} is not under {PIN_ROOT}/: ha pins and unpins only there",
            dir.display()
        );
    }
    Ok(dir.to_path_buf())
}

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        bail!("MAC {s:?} is not six colon-separated hex bytes");
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        *byte = u8::from_str_radix(part, 16).with_context(|| format!("MAC {s:?}"))?;
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: DatapathCommand,
    }

    #[test]
    fn macs_parse_and_name_what_is_wrong() {
        assert_eq!(
            parse_mac("02:00:0a:FF:00:01").unwrap(),
            [2, 0, 10, 255, 0, 1]
        );
        assert!(parse_mac("02:00:0a:ff:00").is_err());
        assert!(parse_mac("02:00:0a:ff:00:zz").is_err());
    }

    #[test]
    fn events_print_their_reasons_by_name() {
        let e = Event {
            kind: event_kind::ADVERT,
            reasons: reason::PRIORITY_ZERO | reason::OUTRANKED,
            key: InstanceKey::new(3, 9, family::V6),
            src: addr::to_bytes("fe80::1".parse().unwrap()),
            ..Event::default()
        };
        let j = event_json(&e);
        assert_eq!(j["kind"], "advert");
        assert_eq!(j["reasons"], json!(["priority_zero", "outranked"]));
        assert_eq!(j["src"], "fe80::1");
        assert_eq!(j["vrid"], 9);
    }

    #[test]
    fn pin_directories_stay_under_the_ha_root_and_names_are_names() {
        for bad in [
            "/x",
            "/sys/fs/bpf/ha",
            "/sys/fs/bpf/ha/../x",
            "/sys/fs/bpf/other",
        ] {
            let err = checked_pin_dir(Path::new(bad)).unwrap_err().to_string();
            assert!(err.contains("not under /sys/fs/bpf/ha"), "{bad}: {err}");
        }
        assert!(checked_pin_dir(Path::new("/sys/fs/bpf/ha/net-1/port-a")).is_ok());
        for bad in [
            "",
            ".",
            "..",
            "../../etc",
            "a/b",
            "eth0 x",
            "sixteen-chars-xx",
        ] {
            assert!(default_pin_dir(bad).is_err(), "{bad:?}");
        }
        assert!(default_pin_dir("eth0.10").is_ok());
    }

    #[test]
    fn the_pin_directory_comes_from_the_flag_or_the_interface() {
        let cli = Cli::parse_from(["ha", "beat", "--interface", "eth0"]);
        let DatapathCommand::Beat {
            interface, pins, ..
        } = cli.cmd
        else {
            panic!("{cli:?}")
        };
        assert_eq!(
            pins.dir(interface.as_deref()).unwrap(),
            Path::new("/sys/fs/bpf/ha/eth0")
        );
        let cli = Cli::parse_from([
            "ha",
            "vip",
            "--pin-dir",
            "/sys/fs/bpf/ha/x",
            "--ifindex",
            "2",
            "--vrid",
            "1",
            "--addr",
            "198.18.0.100",
        ]);
        let DatapathCommand::Vip { pins, on, .. } = cli.cmd else {
            panic!("{cli:?}")
        };
        assert_eq!(
            pins.dir(on.interface.as_deref()).unwrap(),
            Path::new("/sys/fs/bpf/ha/x")
        );
        assert_eq!(on.ifindex().unwrap(), 2);
        assert!(
            Cli::try_parse_from([
                "ha",
                "vip",
                "--interface",
                "a",
                "--ifindex",
                "2",
                "--vrid",
                "1",
                "--addr",
                "::1"
            ])
            .is_err()
        );
    }
}
