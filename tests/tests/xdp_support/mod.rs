//! What the XDP tests share: a loaded datapath under a per-test pin directory
//! driven through `ha datapath …`, `BPF_PROG_TEST_RUN` on its pinned program, and
//! builders for the frames it judges (VRRP v2/v3, ARP, Neighbor Solicitation).
//!
//! Every test file includes it with `mod xdp_support;` and uses part of it.
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    ffi::OsStr,
    fs,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use hatest::{Host, Proc, ha_bin, names};
use serde_json::Value;

/// XDP verdicts.
pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;

/// `ifindex` of `lo` in the root namespace: what test runs claim as ingress.
pub const LO: u32 = 1;

/// A bpffs directory removed on drop, also when the test panics: removing the
/// pinned links detaches the program, removing the rest frees the maps.
pub struct PinDir(pub PathBuf);

impl PinDir {
    /// `/sys/fs/bpf/ha/{prefix}-{tag}` (`ha datapath` pins under
    /// /sys/fs/bpf/ha/ only); `prefix` is a topology prefix or a fresh one.
    pub fn new(prefix: Option<&str>, tag: &str) -> Result<PinDir> {
        let prefix = match prefix {
            Some(p) => p.to_owned(),
            None => names::allocate()?,
        };
        Ok(PinDir(PathBuf::from(format!(
            "/sys/fs/bpf/ha/{prefix}-{tag}"
        ))))
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        // The parent too, once empty.
        let _ = fs::remove_dir("/sys/fs/bpf/ha");
    }
}

/// A loaded datapath and the `ha` binary that drives it, in the root network
/// namespace or inside a test host (`nsenter --net`, so /sys/fs/bpf stays visible).
pub struct Datapath {
    pub ha: PathBuf,
    pub pin: PinDir,
    pub host: Option<Host>,
    /// What `ha datapath attach` printed (empty for a loaded-only program).
    pub said: String,
}

impl Datapath {
    /// Loads the object (no attachment) in the root namespace.
    pub fn load(tag: &str) -> Result<Datapath> {
        let dp = Datapath {
            ha: ha_bin()?,
            pin: PinDir::new(None, tag)?,
            host: None,
            said: String::new(),
        };
        dp.ha_ok(["datapath", "load"])?;
        Ok(dp)
    }

    /// Attaches the program to `host`'s interface in `mode` (`skb` / `native`).
    pub fn attach(host: &Host, prefix: &str, tag: &str, mode: &str) -> Result<Datapath> {
        let mut dp = Datapath {
            ha: ha_bin()?,
            pin: PinDir::new(Some(prefix), tag)?,
            host: Some(host.clone()),
            said: String::new(),
        };
        let out = dp.ha_ok([
            "datapath",
            "attach",
            "--interface",
            &host.ifname,
            "--mode",
            mode,
        ])?;
        if !out.contains("attached to") {
            bail!("ha datapath attach said: {out}");
        }
        dp.said = out;
        Ok(dp)
    }

    /// Runs `ha ARGS… --pin-dir DIR` (the pin directory appended) and returns stdout;
    /// a failure is an error quoting both outputs.
    pub fn ha_ok<I, S>(&self, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut argv: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        argv.push("--pin-dir".into());
        argv.push(self.pin.0.clone().into());
        let out = match &self.host {
            Some(host) => host.command(&self.ha).args(&argv).run()?,
            None => Command::new(&self.ha)
                .args(&argv)
                .output()
                .context("running ha")?,
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "ha {argv:?} failed ({})\nstdout:\n{stdout}\nstderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    }

    /// Like [`ha_ok`](Self::ha_ok), but returns whether it succeeded and its stderr.
    pub fn ha_status<I, S>(&self, args: I) -> Result<(bool, String)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.ha);
        cmd.args(args).arg("--pin-dir").arg(&self.pin.0);
        let out = cmd.output().context("running ha")?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// Starts `ha datapath events` streaming JSON lines (inside the host if any).
    pub fn spawn_events(&self) -> Result<Proc> {
        let host = self
            .host
            .as_ref()
            .context("spawn_events needs a host (use events() in the root namespace)")?;
        host.command(&self.ha)
            .args(["datapath", "events", "--pin-dir"])
            .arg(&self.pin.0)
            .spawn()
    }

    /// Adds or replaces an instance: `extra` are further `ha datapath instance` flags.
    pub fn instance(&self, ifindex: u32, vrid: u8, own: IpAddr, extra: &[&str]) -> Result<()> {
        let mut args = vec![
            "datapath".to_owned(),
            "instance".to_owned(),
            "--ifindex".to_owned(),
            ifindex.to_string(),
            "--vrid".to_owned(),
            vrid.to_string(),
            "--own-addr".to_owned(),
            own.to_string(),
        ];
        if !extra.contains(&"--mac") && !extra.contains(&"--remove") {
            args.extend(["--mac".to_owned(), "02:00:00:00:00:aa".to_owned()]);
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.ha_ok(args).map(drop)
    }

    /// Answers for `vip` on `ifindex` on behalf of VRID `vrid`.
    pub fn vip(&self, ifindex: u32, vrid: u8, vip: IpAddr) -> Result<()> {
        self.ha_ok([
            "datapath",
            "vip",
            "--ifindex",
            &ifindex.to_string(),
            "--vrid",
            &vrid.to_string(),
            "--addr",
            &vip.to_string(),
        ])
        .map(drop)
    }

    /// How the responder replies on `ifindex`: `xdp-tx` or `kernel` (what the
    /// loader writes when it attaches; a loaded-only program has no entry, which
    /// means `kernel`).
    pub fn replies(&self, ifindex: u32, via: &str) -> Result<()> {
        self.ha_ok([
            "datapath",
            "replies",
            "--ifindex",
            &ifindex.to_string(),
            "--via",
            via,
        ])
        .map(drop)
    }

    /// A fresh heartbeat valid for `max_age_ms`, or a stale one.
    pub fn beat(&self, max_age_ms: Option<u64>) -> Result<()> {
        match max_age_ms {
            Some(ms) => self.ha_ok(["datapath", "beat", "--max-age-ms", &ms.to_string()]),
            None => self.ha_ok(["datapath", "beat", "--stale"]),
        }
        .map(drop)
    }

    /// The counters, summed over CPUs, by name.
    pub fn stats(&self) -> Result<BTreeMap<String, u64>> {
        let out = self.ha_ok(["datapath", "counters", "--json"])?;
        let v: Value =
            serde_json::from_str(out.trim()).with_context(|| format!("counters: {out}"))?;
        v.as_object()
            .context("counters is not an object")?
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_u64().context("counter not a number")?)))
            .collect()
    }

    /// The PEERS entry of an instance (`Value::Null` if none).
    pub fn peer(&self, ifindex: u32, vrid: u8, family: u8) -> Result<Value> {
        let out = self.ha_ok([
            "datapath",
            "peer",
            "--ifindex",
            &ifindex.to_string(),
            "--vrid",
            &vrid.to_string(),
            "--family",
            &family.to_string(),
        ])?;
        serde_json::from_str(out.trim()).with_context(|| format!("peer: {out}"))
    }

    /// Every event queued now (drains the ring: waits until none came for `idle`).
    pub fn events(&self, idle: Duration) -> Result<Vec<Value>> {
        let out = self.ha_ok([
            "datapath",
            "events",
            "--idle-ms",
            &idle.as_millis().to_string(),
        ])?;
        parse_lines(&out)
    }

    /// The pinned `ha_xdp` program, opened for test runs.
    pub fn program(&self) -> Result<Program> {
        Program::open(&self.pin.0.join("ha_xdp"))
    }
}

/// JSON lines.
pub fn parse_lines(out: &str) -> Result<Vec<Value>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("event line {l}")))
        .collect()
}

/// Counter deltas between two snapshots, only those that moved.
pub fn moved(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d != 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// The reasons of an event as strings.
pub fn reasons(event: &Value) -> Vec<String> {
    event["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A pinned XDP program, run with `BPF_PROG_TEST_RUN` (the library's own).
pub use ha::ebpf::PinnedProgram as Program;

// ---- frames ----

/// The Internet checksum of `parts` concatenated (each part an even length except
/// possibly the last).
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let bytes: Vec<u8> = parts.concat();
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The `frame_hex` of every record of the keepalived 2.2.7 capture, with its JSON.
pub fn keepalived_frames() -> Result<Vec<(Value, Vec<u8>)>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ha-userspace/tests/data/keepalived-2.2.7.jsonl");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)?;
            let frame = hex(v["frame_hex"].as_str().context("no frame_hex")?);
            Ok((v, frame))
        })
        .collect()
}

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    [&dst[..], &src[..], &ethertype.to_be_bytes(), payload].concat()
}

/// An IPv4 packet (20-byte header, correct header checksum).
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0xc0];
    h.extend(total.to_be_bytes());
    h.extend([0, 1, 0, 0, ttl, proto, 0, 0]);
    h.extend(src.octets());
    h.extend(dst.octets());
    let c = checksum(&[&h]);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    [h, payload.to_vec()].concat()
}

pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, hop: u8, nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([nh, hop]);
    h.extend(src.octets());
    h.extend(dst.octets());
    [h, payload.to_vec()].concat()
}

/// How a v3 advert over IPv4 is checksummed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    PseudoHeader,
    MessageOnly,
}

/// A VRRPv3 message; `src`/`dst` give the pseudo-header.
pub fn vrrp_v3(
    vrid: u8,
    prio: u8,
    int_cs: u16,
    addrs: &[IpAddr],
    src: IpAddr,
    dst: IpAddr,
    form: Form,
) -> Vec<u8> {
    let mut m = vec![0x31, vrid, prio, addrs.len() as u8];
    m.extend((int_cs & 0x0fff).to_be_bytes());
    m.extend([0, 0]);
    for a in addrs {
        match a {
            IpAddr::V4(v4) => m.extend(v4.octets()),
            IpAddr::V6(v6) => m.extend(v6.octets()),
        }
    }
    let len = (m.len() as u16).to_be_bytes();
    let c = match (form, src, dst) {
        (Form::MessageOnly, _, _) => checksum(&[&m]),
        (Form::PseudoHeader, IpAddr::V4(s), IpAddr::V4(d)) => {
            checksum(&[&s.octets(), &d.octets(), &[0, 112], &len, &m])
        }
        (Form::PseudoHeader, IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum(&[&s.octets(), &d.octets(), &[0, 0], &len, &[0, 0, 0, 112], &m])
        }
        _ => panic!("mixed families"),
    };
    m[6..8].copy_from_slice(&c.to_be_bytes());
    m
}

/// A VRRPv2 message (interval in seconds, auth type 1 when `password` is set).
pub fn vrrp_v2(
    vrid: u8,
    prio: u8,
    int_s: u8,
    addrs: &[Ipv4Addr],
    password: Option<&[u8; 8]>,
) -> Vec<u8> {
    let mut m = vec![
        0x21,
        vrid,
        prio,
        addrs.len() as u8,
        u8::from(password.is_some()),
        int_s,
        0,
        0,
    ];
    for a in addrs {
        m.extend(a.octets());
    }
    m.extend(password.copied().unwrap_or([0; 8]));
    let c = checksum(&[&m]);
    m[6..8].copy_from_slice(&c.to_be_bytes());
    m
}

pub const GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
pub const VRRP_MAC4: [u8; 6] = [0x01, 0x00, 0x5e, 0, 0, 0x12];
pub const VRRP_MAC6: [u8; 6] = [0x33, 0x33, 0, 0, 0, 0x12];

/// A whole v3 IPv4 advert frame from `src`.
pub fn advert4(src: Ipv4Addr, vrid: u8, prio: u8, int_cs: u16, vip: Ipv4Addr) -> Vec<u8> {
    let m = vrrp_v3(
        vrid,
        prio,
        int_cs,
        &[vip.into()],
        src.into(),
        GROUP4.into(),
        Form::PseudoHeader,
    );
    eth(VRRP_MAC4, MAC_B, 0x0800, &ipv4(src, GROUP4, 255, 112, &m))
}

/// An ARP request "who has `target`, tell `sender`" from `mac`.
pub fn arp_request(mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend(mac);
    a.extend(sender.octets());
    a.extend([0; 6]);
    a.extend(target.octets());
    eth([0xff; 6], mac, 0x0806, &a)
}

/// A Neighbor Solicitation for `target` from `src` (with a source link-layer option
/// unless `src` is `::`), to the solicited-node group.
pub fn neighbor_solicit(mac: [u8; 6], src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend(t);
    if !src.is_unspecified() {
        m.extend([1, 1]);
        m.extend(mac);
    }
    let len = (m.len() as u32).to_be_bytes();
    let c = checksum(&[&src.octets(), &group.octets(), &len, &[0, 0, 0, 58], &m]);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    let g = group.octets();
    let dst_mac = [0x33, 0x33, g[12], g[13], g[14], g[15]];
    eth(dst_mac, mac, 0x86dd, &ipv6(src, group, 255, 58, &m))
}
