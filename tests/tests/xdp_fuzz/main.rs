//! The XDP program fed random and mutated frames through `BPF_PROG_TEST_RUN`.
//!
//! Each case is one frame: random bytes of a random length (0..=1600), or a frame
//! of the corpus in `tests/corpus/xdp/` (keepalived's captured adverts, ARP and NA,
//! adverts and ARP requests built by the wire codec, Neighbor Solicitations)
//! mutated: bit flips, truncations, extensions, byte overwrites, length fields
//! that lie, VLAN tags stacked, IPv6 extension headers, header fields set to
//! values the program looks at, splices, and checksums fixed up afterwards (half
//! the time) so the mutants get past the checksum to the checks behind it.
//!
//! The datapath holds six instances in MASTER and BACKUP (and, in the last phase,
//! INIT) with VIPs; the cases run in three phases: fresh heartbeat, states
//! swapped, stale heartbeat. For every frame:
//!
//! - the verdict is the one a model of the program's contract predicts, always
//!   one of XDP_PASS, XDP_DROP, XDP_TX; XDP_TX only for an ARP request or a valid
//!   Neighbor Solicitation for a VIP of a MASTER instance with a fresh heartbeat;
//! - the frame comes back untouched unless the verdict is XDP_TX, and then it is a
//!   reply the wire codec parses, with the right addresses;
//! - the counters move as the frame's class says (one `rx_*`, one outcome); an
//!   advert for one of our instances is accepted exactly when the wire codec
//!   parses it and it fits the instance (version, v2 password and interval),
//!   and dropped with one reason otherwise;
//! - at the end, adverts received = unknown + own + dropped by reason + accepted
//!   (+ the frames too short to name a VRID), and events sent or lost = adverts
//!   not absorbed + timers fired.
//!
//! `HA_FUZZ_CASES=N` (default 100000, about 5 s) and `HA_FUZZ_SECONDS=S`
//! (default 15) bound the run, whichever comes first; `HA_FUZZ_SEED` picks the
//! generator's seed (a fixed one by default, so CI runs the same cases); a
//! failure prints the seed and the case, and `HA_FUZZ_SEED=… HA_FUZZ_CASE=…`
//! replays that case alone. `HA_FUZZ_KEEP_GOING=1` reports one case of every
//! kind of failure at the end instead of stopping at the first.
//! Root: `cargo test -p ha-tests --test xdp_fuzz -- --ignored`, or `cargo xtask
//! fuzz` for a long run.

mod corpus;
mod mutate;
mod oracle;
#[path = "../xdp_support/mod.rs"]
mod xdp_support;

use std::{
    collections::BTreeMap,
    fs,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use ha::ebpf::Maps;
// ETH_HLEN is also the shortest frame BPF_PROG_TEST_RUN takes for XDP.
use ha_common::wire::{
    ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMPV6,
    IPPROTO_VRRP, ND_NEIGHBOR_SOLICIT,
};
use hatest::{ha_bin, names, require_root};
use xdp_support::*;

use corpus::load_corpus;
use mutate::{Rng, case_seed, generate};
use oracle::{DROPS, Model, Totals, check_case, counters, delta, expect, hex_of};

/// Cases of the short pass (CI), and its time budget.
const DEFAULT_CASES: u64 = 100_000;
const DEFAULT_SECONDS: u64 = 15;
/// The seed CI runs with.
const DEFAULT_SEED: u64 = 0x6861_5f78_6470_0001;
/// Longest frame generated.
const MAX_FRAME: usize = 1600;

const OWN4: Ipv4Addr = Ipv4Addr::new(198, 18, 30, 2);
const PEER4: Ipv4Addr = Ipv4Addr::new(198, 18, 30, 1);
const CLIENT4: Ipv4Addr = Ipv4Addr::new(198, 18, 30, 250);
const OWN6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xbb);
/// keepalived's password in the captured v2 adverts (VRID 51).
const PASSWORD: &[u8; 8] = b"secret12";

fn v4(last: u8) -> IpAddr {
    Ipv4Addr::new(198, 18, 30, last).into()
}

fn v6(last: u16) -> IpAddr {
    Ipv6Addr::new(0x2001, 2, 0, 0x30, 0, 0, 0, last).into()
}

// ---- frame layout, as the program reads it ----

/// Where the L3 header starts and its EtherType, skipping VLAN tags the way the
/// program does (an 802.1ad or 802.1Q tag, then one more 802.1Q); `None` when the
/// frame ends inside the tags.
fn l2(frame: &[u8]) -> Option<(u16, usize)> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]));
    let mut ethertype = be16(12)?;
    let mut l3 = ETH_HLEN;
    if ethertype == ETH_P_8021AD || ethertype == ETH_P_8021Q {
        ethertype = be16(l3 + 2)?;
        l3 += 4;
        if ethertype == ETH_P_8021Q {
            ethertype = be16(l3 + 2)?;
            l3 += 4;
        }
    }
    Some((ethertype, l3))
}

/// The VLAN ID of the outer tag (0 untagged or priority-tagged): the program
/// keys instances and VIPs by it, and ours are all on VLAN 0.
fn vlan_of(frame: &[u8]) -> u16 {
    match be16(frame, 12) {
        Some(ETH_P_8021AD | ETH_P_8021Q) => be16(frame, 14).map_or(0, |tci| tci & 0x0fff),
        _ => 0,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

fn ipv6_at(b: &[u8], at: usize) -> Option<Ipv6Addr> {
    let o: [u8; 16] = b.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(o))
}

/// The frame without its VLAN tags (for the codec, which reads untagged frames).
fn untagged(frame: &[u8], l3: usize) -> Vec<u8> {
    [&frame[..12], &frame[l3 - 2..]].concat()
}

/// The length of the VRRP message a header at `vrrp` announces (count and version).
fn vrrp_msg_len(frame: &[u8], vrrp: usize, addr_len: usize) -> Option<usize> {
    let version = frame.get(vrrp)? >> 4;
    let count = usize::from(*frame.get(vrrp + 3)?);
    Some(8 + count * addr_len + if version == 2 { 8 } else { 0 })
}

// ---- the run ----

fn env_u64(name: &str) -> Result<Option<u64>> {
    let Some(v) = std::env::var_os(name) else {
        return Ok(None);
    };
    let v = v.to_string_lossy();
    let parsed = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    parsed
        .map(Some)
        .with_context(|| format!("{name}={v} is not a number"))
}

/// `/sys/fs/bpf/ha/{prefix}-fuzz`, removed on drop with `/sys/fs/bpf/ha` when it
/// is left empty.
fn datapath() -> Result<Datapath> {
    let prefix = names::allocate()?;
    let dp = Datapath {
        ha: ha_bin()?,
        pin: PinDir(PathBuf::from(format!(
            "{}/{prefix}-fuzz",
            ha::ebpf::PIN_ROOT
        ))),
        host: None,
        said: String::new(),
    };
    dp.ha_ok(["datapath", "load"])?;
    Ok(dp)
}

/// Removes the empty pin root after the datapath's own directory went.
struct PinRoot;

impl Drop for PinRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir(ha::ebpf::PIN_ROOT);
    }
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn random_and_mutated_frames_get_the_expected_verdicts_and_counts() -> Result<()> {
    require_root();
    let seed = env_u64("HA_FUZZ_SEED")?.unwrap_or(DEFAULT_SEED);
    let cases = env_u64("HA_FUZZ_CASES")?.unwrap_or(DEFAULT_CASES);
    let budget = Duration::from_secs(env_u64("HA_FUZZ_SECONDS")?.unwrap_or(DEFAULT_SECONDS));
    let only = env_u64("HA_FUZZ_CASE")?;
    let corpus = load_corpus()?;

    let _root = PinRoot;
    let dp = datapath()?;
    let prog = dp.program()?;
    let maps = Maps::open(&dp.pin.0)?;
    let start_counters = counters(&maps)?;
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut ran = 0u64;
    // HA_FUZZ_KEEP_GOING: report every kind of failure at the end, not the first.
    let keep_going = std::env::var_os("HA_FUZZ_KEEP_GOING").is_some();
    let mut failures = BTreeMap::<String, String>::new();
    // Three phases, each a third of the cases (i % 3) and of the time, each with
    // its own maps.
    for phase in 0..3u64 {
        let model = Model::phase(phase);
        model.apply(&dp)?;
        let phase_ends = budget * (phase as u32 + 1) / 3;
        let mut i = phase;
        while i < cases {
            if only.is_some_and(|o| o != i) {
                i += 3;
                continue;
            }
            if started.elapsed() > phase_ends {
                break;
            }
            let mut rng = Rng(case_seed(seed, i));
            let (frame, how) = generate(&mut rng, &corpus);
            let before = counters(&maps)?;
            let result = prog.run_frame(&frame, LO);
            let after = counters(&maps)?;
            let replay = || {
                format!(
                    "case {i} (phase {phase}) of HA_FUZZ_SEED={seed:#x}: {how}\n\
                     frame ({} bytes): {}\nreplay: HA_FUZZ_SEED={seed:#x} HA_FUZZ_CASE={i} \
                     cargo test -p ha-tests --test xdp_fuzz -- --ignored",
                    frame.len(),
                    hex_of(&frame)
                )
            };
            match result {
                Err(e) if frame.len() < ETH_HLEN => {
                    assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{}\n{e}", replay());
                }
                Err(e) => panic!("{}\nBPF_PROG_TEST_RUN failed: {e}", replay()),
                Ok((verdict, out)) => {
                    let moved = delta(&before, &after);
                    if let Err(what) =
                        check_case(&frame, verdict, &out, &moved, &model, &mut totals)
                    {
                        let report = format!(
                            "{what}\nexpected class {:?}, verdict {verdict}, counters {moved:?}\n{}",
                            expect(&frame, &model),
                            replay()
                        );
                        if !keep_going {
                            panic!("{report}");
                        }
                        failures
                            .entry(what.lines().next().unwrap_or("").to_owned())
                            .or_insert(report);
                    }
                }
            }
            ran += 1;
            i += 3;
        }
    }
    for report in failures.values() {
        eprintln!("---- failure ----\n{report}");
    }
    assert!(failures.is_empty(), "{} kinds of failure", failures.len());
    // Stop the timers (remove the instances), then balance the books.
    for inst in &Model::base() {
        dp.instance(LO, inst.vrid, inst.own, &["--remove"])?;
    }
    let d = delta(&start_counters, &counters(&maps)?);
    let n = |name: &str| d.get(name).copied().unwrap_or(0);
    let drops: u64 = DROPS.iter().map(|d| n(d)).sum();
    let rx_vrrp = n("rx_vrrp_v4") + n("rx_vrrp_v6");
    assert_eq!(
        rx_vrrp,
        n("pass_unknown_vrid") + n("pass_own") + drops + n("adverts_accepted") + totals.vrrp_unread,
        "adverts received vs their outcomes: {d:?} {totals:?}"
    );
    assert_eq!(drops, totals.vrrp_drop_verdicts, "{d:?}");
    assert_eq!(n("arp_replied") + n("ns_replied"), totals.tx, "{d:?}");
    assert_eq!(
        n("events_sent") + n("events_dropped"),
        n("adverts_accepted") - n("adverts_absorbed") + n("timer_fired"),
        "events vs adverts that matter and timers fired: {d:?}"
    );
    assert_eq!(n("errors"), 0, "{d:?}");
    eprintln!(
        "xdp_fuzz: {ran} cases in {:.1?} (seed {seed:#x}); by class {:?}; counters {d:?}",
        started.elapsed(),
        totals.by_class
    );
    if only.is_none() {
        assert!(ran >= cases.min(1000), "only {ran} cases within {budget:?}");
    }
    Ok(())
}
