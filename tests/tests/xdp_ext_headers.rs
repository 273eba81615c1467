//! IPv6 adverts behind extension headers (RFC 8200 §4): on the XDP datapath
//! nobody but the XDP program reads adverts, so one behind a Hop-by-Hop or
//! Destination Options header must be judged like any other, not passed to a
//! raw socket that drops everything.

mod xdp_support;

use std::net::{IpAddr, Ipv6Addr};

use anyhow::Result;
use hatest::require_root;
use xdp_support::*;

const OWN6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0x31, 0, 0, 0, 0x100);
const MAC_PEER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// Next-header values of the extension headers used here.
const HOP_BY_HOP: u8 = 0;
const DEST_OPTS: u8 = 60;
const VRRP: u8 = 112;

/// An 8-byte extension header whose next header is `next`, padded with PadN.
fn ext(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// A v3 advert for VRID 61 at `prio`, behind the extension headers `chain`
/// (outermost first, each an (its type, its bytes) pair).
fn advert_behind(chain: &[(u8, Vec<u8>)], prio: u8) -> Vec<u8> {
    let msg = vrrp_v3(
        61,
        prio,
        100,
        &[IpAddr::V6(VIP6)],
        PEER6.into(),
        GROUP6.into(),
        Form::PseudoHeader,
    );
    let first = chain.first().map_or(VRRP, |(t, _)| *t);
    let payload: Vec<u8> = chain
        .iter()
        .flat_map(|(_, bytes)| bytes.clone())
        .chain(msg)
        .collect();
    eth(
        VRRP_MAC6,
        MAC_PEER,
        0x86dd,
        &ipv6(PEER6, GROUP6, 255, first, &payload),
    )
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn an_advert_behind_extension_headers_is_judged_not_lost() -> Result<()> {
    require_root();
    let dp = Datapath::load("tr-ext")?;
    let prog = dp.program()?;
    dp.instance(LO, 61, OWN6.into(), &["--version", "3"])?;
    let before = dp.stats()?;

    let plain = advert_behind(&[], 150);
    let hop = advert_behind(&[(HOP_BY_HOP, ext(VRRP))], 150);
    let two = advert_behind(&[(HOP_BY_HOP, ext(DEST_OPTS)), (DEST_OPTS, ext(VRRP))], 150);
    for frame in [&plain, &hop, &two] {
        assert_eq!(prog.run_frame(frame, LO)?.0, XDP_PASS);
    }
    // A bad checksum behind a header is still caught and dropped.
    let mut bad = hop.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(prog.run_frame(&bad, LO)?.0, XDP_DROP);
    // A header that claims more bytes than the frame has: not an advert the
    // program can read; the stack judges it (and drops it).
    let mut long = advert_behind(&[(HOP_BY_HOP, ext(VRRP))], 150);
    long[14 + 40 + 1] = 200;
    assert_eq!(prog.run_frame(&long, LO)?.0, XDP_PASS);

    let delta = moved(&before, &dp.stats()?);
    assert_eq!(delta.get("rx_vrrp_v6"), Some(&5), "{delta:?}");
    assert_eq!(delta.get("adverts_accepted"), Some(&3), "{delta:?}");
    assert_eq!(delta.get("drop_checksum"), Some(&1), "{delta:?}");
    let peer = dp.peer(LO, 61, 6)?;
    assert_eq!(peer["master_priority"], 150, "{peer}");
    Ok(())
}
