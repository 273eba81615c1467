//! Steady state in the kernel: a master advertising every 10 ms to a node with a
//! Backup instance costs the controller one event, then nothing, while the
//! datapath absorbs the adverts and keeps re-arming the master-down timer; when
//! the master falls silent, MASTER_DOWN arrives one Master_Down_Interval after its
//! last advert.
//!
//! Root: `cargo test -p ha-tests --test xdp_steady -- --ignored`.

mod xdp_support;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use hatest::{Host, Topology, in_netns, require_root, wait_until};
use serde_json::Value;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use xdp_support::*;

const VRID: u8 = 30;
/// The master's advertised interval: 10 cs. It sends ten times as often, so a
/// late send on a busy machine never looks like silence.
const INTERVAL_CS: u16 = 10;
const SEND_EVERY: Duration = Duration::from_millis(10);

/// Sends v3 adverts (priority 200) from `host` every 10 ms until `stop` is set.
fn advertise(
    host: Host,
    vip: Ipv4Addr,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<u64>> {
    std::thread::spawn(move || {
        let ifindex = host.ifindex();
        in_netns(&host.ns, move || {
            let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112)))?;
            sock.bind_device_by_index_v4(NonZeroU32::new(ifindex))?;
            sock.set_multicast_ttl_v4(255)?;
            let src = IpAddr::V4(host.ipv4);
            let msg = vrrp_v3(
                VRID,
                200,
                INTERVAL_CS,
                &[vip.into()],
                src,
                GROUP4.into(),
                Form::PseudoHeader,
            );
            let group = SockAddr::from(SocketAddr::new(GROUP4.into(), 0));
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                sock.send_to(&msg, &group).context("send advert")?;
                sent += 1;
                std::thread::sleep(SEND_EVERY);
            }
            Ok(sent)
        })
    })
}

fn events_of(proc: &hatest::Proc) -> Result<Vec<Value>> {
    parse_lines(&proc.stdout())
}

#[test]
#[ignore = "needs root: run by cargo xtask test"]
fn steady_adverts_are_absorbed_and_silence_fires_master_down() -> Result<()> {
    require_root();
    let topo = Topology::builder().nodes(2).ipv6(false).build()?;
    let [n1, n2] = topo.nodes() else {
        unreachable!()
    };
    let vip = topo.subnet().vip4(0);

    let dp = Datapath::attach(n1, topo.prefix(), "steady", "skb")?;
    dp.instance(
        n1.ifindex(),
        VRID,
        n1.ipv4.into(),
        &["--state", "backup", "--priority", "100"],
    )?;
    let reader = dp.spawn_events()?;
    // The reader is up once the ring is open; a moment is plenty.
    std::thread::sleep(Duration::from_millis(200));

    let stop = Arc::new(AtomicBool::new(false));
    let sender = advertise(n2.clone(), vip, stop.clone());
    wait_until("the first advert's event", Duration::from_secs(3), || {
        Ok(!events_of(&reader)?.is_empty())
    })?;
    let first = events_of(&reader)?;
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(
        reasons(&first[0]),
        ["new_master_addr", "first_after_silence"]
    );
    assert_eq!(first[0]["src"], n2.ipv4.to_string());

    // One second of steady state: absorbed in the kernel, no event.
    let before = dp.stats()?;
    std::thread::sleep(Duration::from_secs(1));
    let delta = moved(&before, &dp.stats()?);
    let absorbed = delta.get("adverts_absorbed").copied().unwrap_or(0);
    assert!(
        absorbed >= 50,
        "only {absorbed} adverts absorbed in 1 s: {delta:?}"
    );
    assert_eq!(
        delta.get("timer_armed"),
        Some(&absorbed),
        "every advert moves the deadline: {delta:?}"
    );
    // ...but the kernel timer is only started when it wakes before the moved
    // deadline: about once per Master_Down_Interval (361 ms), not per advert.
    let started = delta.get("timer_started").copied().unwrap_or(0);
    assert!(
        (1..=6).contains(&started),
        "{started} timer starts in 1 s for {absorbed} adverts: {delta:?}"
    );
    assert_eq!(delta.get("events_sent"), None, "{delta:?}");
    assert_eq!(events_of(&reader)?.len(), 1, "{:#?}", events_of(&reader)?);

    // Silence: MASTER_DOWN one Master_Down_Interval after the last advert
    // (3 * 100 ms + (256 - 100) * 100 ms / 256 = 360.9375 ms).
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().expect("sender thread")?;
    let stopped = Instant::now();
    wait_until("master_down", Duration::from_secs(3), || {
        Ok(events_of(&reader)?
            .iter()
            .any(|e| e["kind"] == "master_down"))
    })?;
    let noticed = stopped.elapsed();
    let events = events_of(&reader)?;
    assert_eq!(events.len(), 2, "{events:#?}");
    let down = &events[1];
    assert_eq!(down["vrid"], VRID);
    assert_eq!(down["ifindex"], n1.ifindex());
    let peer = dp.peer(n1.ifindex(), VRID, 4)?;
    let last_seen = peer["last_seen_ns"].as_u64().context("last_seen_ns")?;
    let after_last = Duration::from_nanos(down["ts_ns"].as_u64().context("ts_ns")? - last_seen);
    let master_down = Duration::from_nanos(300_000_000 + 156 * 100_000_000 / 256);
    assert!(
        // Never early; late by at most a vCPU stall of this VM (35–75 ms).
        after_last >= master_down && after_last < master_down + Duration::from_millis(100),
        "MASTER_DOWN {after_last:?} after the last advert, expected {master_down:?}"
    );
    assert!(
        noticed < Duration::from_secs(1),
        "noticed after {noticed:?}"
    );
    assert!(
        peer["adverts"].as_u64() >= Some(sent.saturating_sub(5)),
        "{peer} of {sent} sent"
    );
    eprintln!("{sent} adverts sent, 1 event, master down {after_last:?} after the last one");
    Ok(())
}
