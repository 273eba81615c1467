//! The seed frames: keepalived's capture, adverts and ARP requests built by the
//! wire codec, Neighbor Solicitations; one hex file each in `tests/corpus/xdp/`.

use std::{fs, path::Path};

use anyhow::bail;
use ha::wire::{
    Advert, Auth, ChecksumForm, Version,
    arp::{self, ArpRepr, MacAddr, Operation},
};

use super::*;

// ---- the corpus ----

pub(crate) fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/xdp")
}

/// A corpus file: `#` comment lines, then the frame in hex (whitespace ignored).
pub(crate) fn parse_corpus_file(text: &str) -> Result<Vec<u8>> {
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("not an even number of hex digits");
    }
    Ok(hex(&digits))
}

pub(crate) fn load_corpus() -> Result<Vec<(String, Vec<u8>)>> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "hex"));
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = fs::read_to_string(p)?;
            let frame = parse_corpus_file(&text).with_context(|| format!("{}", p.display()))?;
            Ok((name, frame))
        })
        .collect()
}

/// The seed frames the corpus is made from: `(file name, what it is, frame)`.
pub(crate) fn seed_frames() -> Result<Vec<(String, String, Vec<u8>)>> {
    let mut seeds = Vec::new();
    // keepalived 2.2.7's frames, as captured.
    for (i, (v, frame)) in keepalived_frames()?.into_iter().enumerate() {
        let conf = v["source"]
            .as_str()
            .unwrap_or("")
            .rsplit(' ')
            .next()
            .unwrap_or("")
            .trim_end_matches(".conf")
            .to_owned();
        let kind = v["kind"].as_str().unwrap_or("frame");
        let what = match kind {
            "vrrp" => format!("advert-vrid{}-prio{}", v["vrid"], v["priority"]),
            "arp" => format!("garp-{}", v["target_ip"].as_str().unwrap_or("")),
            _ => "na".to_owned(),
        };
        seeds.push((
            format!("keepalived-{i:02}-{conf}-{what}.hex"),
            format!("keepalived 2.2.7 ({conf}.conf), line {} of ha-userspace/tests/data/keepalived-2.2.7.jsonl", i + 1),
            frame,
        ));
    }
    // Adverts built by the wire codec.
    let advert = |version, vrid, priority, advert_int_cs, addresses: Vec<IpAddr>, auth| Advert {
        version,
        vrid,
        priority,
        advert_int_cs,
        addresses,
        auth,
    };
    let frame4 = |a: &Advert, src: Ipv4Addr, form| -> Result<Vec<u8>> {
        let mut ip = vec![0u8; 20 + a.buffer_len()];
        let n = a.emit_ipv4_packet(src, GROUP4, 1, form, &mut ip)?;
        ip.truncate(n);
        Ok(eth(VRRP_MAC4, MAC_B, ETH_P_IP, &ip))
    };
    let frame6 = |a: &Advert, src: Ipv6Addr| -> Result<Vec<u8>> {
        let m = a.to_bytes(src.into(), GROUP6.into(), ChecksumForm::PseudoHeader)?;
        Ok(eth(
            VRRP_MAC6,
            MAC_B,
            ETH_P_IPV6,
            &ipv6(src, GROUP6, 255, IPPROTO_VRRP, &m),
        ))
    };
    let v3_7 = advert(Version::V3, 7, 150, 10, vec![v4(130)], Auth::None);
    seeds.push((
        "codec-v3-ipv4-vrid7-prio150.hex".into(),
        "wire codec: v3 advert over IPv4 from 198.18.30.1, pseudo-header checksum".into(),
        frame4(&v3_7, PEER4, ChecksumForm::PseudoHeader)?,
    ));
    seeds.push((
        "codec-v3-ipv4-vrid7-prio50-message-only.hex".into(),
        "wire codec: v3 advert over IPv4, lower priority, message-only checksum".into(),
        frame4(
            &Advert {
                priority: 50,
                ..v3_7.clone()
            },
            PEER4,
            ChecksumForm::MessageOnly,
        )?,
    ));
    seeds.push((
        "codec-v3-ipv4-vrid7-own.hex".into(),
        "wire codec: v3 advert over IPv4 from our own address".into(),
        frame4(&v3_7, OWN4, ChecksumForm::PseudoHeader)?,
    ));
    seeds.push((
        "codec-v3-ipv4-vrid52-prio0.hex".into(),
        "wire codec: v3 priority-0 advert over IPv4, two addresses".into(),
        frame4(
            &advert(Version::V3, 52, 0, 50, vec![v4(110), v4(111)], Auth::None),
            PEER4,
            ChecksumForm::PseudoHeader,
        )?,
    ));
    seeds.push((
        "codec-v2-ipv4-vrid51-password.hex".into(),
        "wire codec: v2 advert with keepalived's password, priority 200".into(),
        frame4(
            &advert(
                Version::V2,
                51,
                200,
                100,
                vec![v4(100), v4(101)],
                Auth::Password(*PASSWORD),
            ),
            PEER4,
            ChecksumForm::MessageOnly,
        )?,
    ));
    seeds.push((
        "codec-v2-ipv4-vrid54.hex".into(),
        "wire codec: v2 advert without authentication, 2 s".into(),
        frame4(
            &advert(Version::V2, 54, 100, 200, vec![v4(120)], Auth::None),
            PEER4,
            ChecksumForm::MessageOnly,
        )?,
    ));
    seeds.push((
        "codec-v3-ipv6-vrid8-prio200.hex".into(),
        "wire codec: v3 advert over IPv6 from fe80::1".into(),
        frame6(
            &advert(Version::V3, 8, 200, 100, vec![v6(0x101)], Auth::None),
            PEER6,
        )?,
    ));
    seeds.push((
        "codec-v3-ipv6-vrid53-prio0.hex".into(),
        "wire codec: v3 priority-0 advert over IPv6, two addresses".into(),
        frame6(
            &advert(
                Version::V3,
                53,
                0,
                100,
                vec![v6(0x100), v6(0x102)],
                Auth::None,
            ),
            PEER6,
        )?,
    ));
    // ARP requests built by the codec: VIPs of every instance, an address that is
    // no VIP, a probe (sender 0.0.0.0), and tagged ones.
    let request = |sender: Ipv4Addr, target: IpAddr| {
        let IpAddr::V4(target) = target else {
            unreachable!()
        };
        let repr = ArpRepr {
            operation: Operation::Request,
            sender_mac: MacAddr(MAC_B),
            sender_ip: sender,
            target_mac: MacAddr([0; 6]),
            target_ip: target,
        };
        arp::emit_frame(&repr, MacAddr(MAC_B), MacAddr::BROADCAST).to_vec()
    };
    for (last, what) in [
        (100, "vrid51"),
        (110, "vrid52"),
        (121, "vrid54"),
        (130, "vrid7"),
        (2, "not-a-vip"),
    ] {
        seeds.push((
            format!("codec-arp-request-198.18.30.{last}.hex"),
            format!("wire codec: ARP request for 198.18.30.{last} ({what})"),
            request(CLIENT4, v4(last)),
        ));
    }
    seeds.push((
        "codec-arp-probe-198.18.30.130.hex".into(),
        "wire codec: ARP probe (sender 0.0.0.0) for a VIP".into(),
        request(Ipv4Addr::UNSPECIFIED, v4(130)),
    ));
    let tag = |frame: &[u8], tags: &[u8]| [&frame[..12], tags, &frame[12..]].concat();
    seeds.push((
        "codec-arp-request-vlan-198.18.30.100.hex".into(),
        "wire codec: ARP request for a VIP behind an 802.1Q tag".into(),
        tag(&request(CLIENT4, v4(100)), &[0x81, 0, 0, 5]),
    ));
    seeds.push((
        "codec-arp-request-qinq-198.18.30.110.hex".into(),
        "wire codec: ARP request for a VIP behind 802.1ad + 802.1Q tags".into(),
        tag(
            &request(CLIENT4, v4(110)),
            &[0x88, 0xa8, 0, 10, 0x81, 0, 0, 20],
        ),
    ));
    // Neighbor Solicitations (the codec emits no NS: the test helper builds them).
    let v6addr = |a: IpAddr| match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(_) => unreachable!(),
    };
    for (target, what) in [(0x100, "vrid53"), (0x101, "vrid8")] {
        seeds.push((
            format!("ns-2001-2-0-30--{target:x}.hex"),
            format!("Neighbor Solicitation from fe80::bb for 2001:2:0:30::{target:x} ({what})"),
            neighbor_solicit(MAC_B, CLIENT6, v6addr(v6(target))),
        ));
    }
    seeds.push((
        "ns-dad-2001-2-0-30--100.hex".into(),
        "Neighbor Solicitation for DAD (from ::) for a VIP".into(),
        neighbor_solicit(MAC_B, Ipv6Addr::UNSPECIFIED, v6addr(v6(0x100))),
    ));
    seeds.push((
        "ns-not-a-vip.hex".into(),
        "Neighbor Solicitation for fe80::2, no VIP".into(),
        neighbor_solicit(MAC_B, CLIENT6, OWN6),
    ));
    seeds.push((
        "ns-vlan-2001-2-0-30--100.hex".into(),
        "Neighbor Solicitation for a VIP behind an 802.1Q tag".into(),
        tag(
            &neighbor_solicit(MAC_B, CLIENT6, v6addr(v6(0x100))),
            &[0x81, 0, 0, 5],
        ),
    ));
    // Something else: UDP over IPv4.
    let udp = [
        &[0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0][..],
        &[1, 2, 3, 4][..],
    ]
    .concat();
    seeds.push((
        "other-udp.hex".into(),
        "UDP over IPv4 (passed untouched)".into(),
        eth(MAC_A, MAC_B, ETH_P_IP, &ipv4(CLIENT4, OWN4, 64, 17, &udp)),
    ));
    Ok(seeds)
}

pub(crate) fn corpus_file_text(what: &str, frame: &[u8]) -> String {
    let mut text = format!(
        "# {what}\n# generated by `HA_FUZZ_BLESS=1 cargo test -p ha-tests --test xdp_fuzz corpus`\n"
    );
    for line in frame.chunks(32) {
        for b in line {
            text.push_str(&format!("{b:02x}"));
        }
        text.push('\n');
    }
    text
}

/// The corpus files of the seed frames are what [`seed_frames`] builds (and
/// `HA_FUZZ_BLESS=1` writes them). Other files in the directory (regressions
/// found by the fuzzer) are left alone. No root needed.
#[test]
pub(crate) fn corpus_files_match_their_sources() -> Result<()> {
    let bless = std::env::var_os("HA_FUZZ_BLESS").is_some();
    let dir = corpus_dir();
    for (name, what, frame) in seed_frames()? {
        let path = dir.join(&name);
        if bless {
            fs::create_dir_all(&dir)?;
            fs::write(&path, corpus_file_text(&what, &frame))?;
            continue;
        }
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: missing (HA_FUZZ_BLESS=1 cargo test -p ha-tests --test xdp_fuzz corpus)",
                path.display()
            )
        })?;
        assert_eq!(
            parse_corpus_file(&text)?,
            frame,
            "{} differs from what it is built from",
            path.display()
        );
    }
    let corpus = load_corpus()?;
    assert!(corpus.len() >= 30, "{} corpus files", corpus.len());
    Ok(())
}
