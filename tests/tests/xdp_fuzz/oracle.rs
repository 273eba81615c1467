//! The datapath's instances as the test configured them, and what the program
//! must do with a frame: its class, verdict, counters and reply.

use ha::wire::{
    Advert, Auth, IpContext, Version,
    arp::{self, ArpRepr, MacAddr, Operation},
    ndisc,
};

use super::*;

// ---- the instances ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    Init,
    Backup,
    Master,
}

impl State {
    pub(crate) fn flag(self) -> &'static str {
        match self {
            State::Init => "init",
            State::Backup => "backup",
            State::Master => "master",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Inst {
    pub(crate) vrid: u8,
    pub(crate) own: IpAddr,
    pub(crate) version: u8,
    pub(crate) state: State,
    pub(crate) mac: [u8; 6],
    pub(crate) router: bool,
    pub(crate) vips: Vec<IpAddr>,
    /// Advertisement_Interval (v2 adverts must carry it).
    pub(crate) advert_int_cs: u16,
    /// v2 simple password (auth type 1), or none (type 0).
    pub(crate) password: Option<[u8; 8]>,
}

impl Inst {
    pub(crate) fn is_v6(&self) -> bool {
        self.own.is_ipv6()
    }
}

/// What the datapath's maps hold, as the oracle reads it.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub(crate) insts: Vec<Inst>,
    pub(crate) fresh: bool,
}

impl Model {
    /// The instances of phase 0; [`Model::phase`] derives the others.
    pub(crate) fn base() -> Vec<Inst> {
        let inst = |vrid: u8, own: IpAddr, version: u8, state, advert_int_cs, vips| Inst {
            vrid,
            own,
            version,
            state,
            mac: [0x02, 0, 0, 0, 0, vrid],
            router: false,
            vips,
            advert_int_cs,
            password: None,
        };
        vec![
            // keepalived's v2auth.conf: v2, password, 1 s; it sends priority 150.
            Inst {
                password: Some(*PASSWORD),
                ..inst(
                    51,
                    OWN4.into(),
                    2,
                    State::Master,
                    100,
                    vec![v4(100), v4(101)],
                )
            },
            // v3ipv4.conf: 50 cs, priority 200.
            inst(52, OWN4.into(), 3, State::Backup, 100, vec![v4(110)]),
            // v3ipv6.conf, from fe80::f84a:b0ff:fe2a:1d46, priority 100.
            Inst {
                router: true,
                ..inst(53, OWN6.into(), 3, State::Master, 100, vec![v6(0x100)])
            },
            // v2plain.conf: v2, no auth, 2 s, priority 254.
            inst(
                54,
                OWN4.into(),
                2,
                State::Backup,
                200,
                vec![v4(120), v4(121), v4(122)],
            ),
            // Codec-built adverts, 10 cs.
            inst(7, OWN4.into(), 3, State::Master, 10, vec![v4(130)]),
            inst(8, OWN6.into(), 3, State::Backup, 100, vec![v6(0x101)]),
        ]
    }

    /// Phase 0: fresh heartbeat; 1: MASTER and BACKUP swapped; 2: stale heartbeat,
    /// VRID 7 in INIT.
    pub(crate) fn phase(phase: u64) -> Model {
        let mut insts = Model::base();
        match phase {
            0 => {}
            1 => {
                for i in &mut insts {
                    i.state = match i.state {
                        State::Master => State::Backup,
                        _ => State::Master,
                    };
                }
            }
            _ => {
                for i in &mut insts {
                    if i.vrid == 7 {
                        i.state = State::Init;
                    }
                }
            }
        }
        Model {
            insts,
            fresh: phase != 2,
        }
    }

    pub(crate) fn instance(&self, v6: bool, vrid: u8) -> Option<&Inst> {
        self.insts
            .iter()
            .find(|i| i.is_v6() == v6 && i.vrid == vrid)
    }

    pub(crate) fn vip(&self, addr: IpAddr) -> Option<&Inst> {
        self.insts.iter().find(|i| i.vips.contains(&addr))
    }

    /// Writes the instances, VIPs and heartbeat into the datapath.
    pub(crate) fn apply(&self, dp: &Datapath) -> Result<()> {
        for i in &self.insts {
            let mac = MacAddr(i.mac).to_string();
            let version = i.version.to_string();
            let mut flags = vec![
                "--state",
                i.state.flag(),
                "--version",
                &version,
                "--mac",
                &mac,
            ];
            if i.router {
                flags.push("--router");
            }
            let interval = i.advert_int_cs.to_string();
            flags.extend(["--advert-int-cs", &interval]);
            let password = i.password.map(|p| String::from_utf8_lossy(&p).into_owned());
            if let Some(p) = &password {
                flags.extend(["--auth-pass", p]);
            }
            dp.instance(LO, i.vrid, i.own, &flags)?;
            for vip in &i.vips {
                dp.vip(LO, i.vrid, *vip)?;
            }
        }
        // Replies in place, so the rewritten answers are checked too (the
        // kernel path is a plain XDP_PASS, covered by xdp_test_run).
        dp.replies(LO, "xdp-tx")?;
        dp.beat(self.fresh.then_some(3_600_000))
    }
}

// ---- the oracle ----

/// What the responder's gate says for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Not judged: passed with no further counter.
    Pass,
    NotMaster,
    Stale,
    /// An NS for a VIP of a live master in a form answered by the kernel.
    Passed,
    /// A request for a VIP of a live master that must not be answered: an
    /// ARP request not to us or broadcast, or from a non-unicast sender; an
    /// NS with a bad checksum.
    Invalid,
    /// Answered by instance index.
    Answer(usize),
}

/// The class of a frame and what the program must do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The program cannot read as far as it needs to classify: passed, nothing counted.
    Unread,
    Other,
    Arp(Gate),
    Ns(Gate),
    /// VRRP; `vrid`: the VRID field and whether it is one of ours, if the
    /// program can read it.
    Vrrp {
        v6: bool,
        vrid: Option<(u8, bool)>,
    },
}

pub(crate) fn gate(model: &Model, frame: &[u8], target: IpAddr) -> Gate {
    let Some(inst) = model.vip(target).filter(|_| vlan_of(frame) == 0) else {
        return Gate::Pass;
    };
    if inst.state != State::Master {
        Gate::NotMaster
    } else if !model.fresh {
        Gate::Stale
    } else {
        Gate::Answer(
            model
                .insts
                .iter()
                .position(|i| i.vrid == inst.vrid && i.is_v6() == inst.is_v6())
                .unwrap(),
        )
    }
}

pub(crate) fn gate_name(g: &Gate) -> &'static str {
    match g {
        Gate::Pass => "pass",
        Gate::NotMaster => "not master",
        Gate::Stale => "stale",
        Gate::Passed => "passed",
        Gate::Invalid => "invalid",
        Gate::Answer(_) => "answer",
    }
}

pub(crate) fn expect(frame: &[u8], model: &Model) -> Expect {
    let Some((ethertype, l3)) = l2(frame) else {
        return Expect::Unread;
    };
    // Every instance and VIP here is on VLAN 0: a frame tagged for another
    // VLAN belongs to that VLAN's interface.
    let tagged = vlan_of(frame) != 0;
    let ours = |v6: bool, vrid: u8| !tagged && model.instance(v6, vrid).is_some();
    match ethertype {
        ETH_P_ARP => Expect::Arp(expect_arp(frame, l3, model)),
        ETH_P_IP => match frame.get(l3 + 9) {
            None => Expect::Unread,
            Some(&IPPROTO_VRRP) => {
                let version = frame[l3] >> 4;
                let ihl = usize::from(frame[l3] & 0x0f) * 4;
                let vrid = frame.get(l3 + ihl + 1).copied().filter(|_| version == 4);
                Expect::Vrrp {
                    v6: false,
                    vrid: vrid.map(|v| (v, ours(false, v))),
                }
            }
            Some(_) => Expect::Other,
        },
        ETH_P_IPV6 => match ipv6_upper(frame, l3) {
            None => Expect::Unread,
            Some((IPPROTO_VRRP, vrrp)) => {
                let vrid = frame.get(vrrp + 1).copied();
                Expect::Vrrp {
                    v6: true,
                    vrid: vrid.map(|v| (v, ours(true, v))),
                }
            }
            // Behind extension headers an NS is the kernel's.
            Some((IPPROTO_ICMPV6, icmp)) if icmp == l3 + 40 => match frame.get(icmp) {
                None => Expect::Unread,
                Some(&ND_NEIGHBOR_SOLICIT) => Expect::Ns(expect_ns(frame, l3, model)),
                Some(_) => Expect::Other,
            },
            Some(_) => Expect::Other,
        },
        _ => Expect::Other,
    }
}

/// The upper-layer protocol of the IPv6 packet at `l3` and where it starts,
/// after up to four Hop-by-Hop (0), Routing (43) and Destination Options (60)
/// headers, as the program walks them; `None` where it cannot read on (the
/// program passes the frame then, counting nothing).
pub(crate) fn ipv6_upper(frame: &[u8], l3: usize) -> Option<(u8, usize)> {
    const MAX_OFFSET: usize = 0x1fff;
    let mut next = *frame.get(l3 + 6)?;
    let mut at = l3 + 40;
    for _ in 0..4 {
        if ![0, 43, 60].contains(&next) {
            break;
        }
        next = *frame.get(at)?;
        at += (usize::from(*frame.get(at + 1)?) + 1) * 8;
        if at > MAX_OFFSET {
            return None;
        }
    }
    Some((next, at))
}

/// RFC 826: an Ethernet/IPv4 request for a VIP, not gratuitous.
pub(crate) fn expect_arp(frame: &[u8], l3: usize, model: &Model) -> Gate {
    let Some(arp) = frame.get(l3..l3 + 28) else {
        return Gate::Pass;
    };
    let request = arp[0..8] == [0, 1, 8, 0, 6, 4, 0, 1];
    if !request || arp[14..18] == arp[24..28] {
        return Gate::Pass;
    }
    match gate(model, frame, ipv4_at(arp, 24).unwrap().into()) {
        Gate::Answer(i) => {
            let mac = model.insts[i].mac;
            let eth_dst = &frame[0..6];
            let sha = &arp[8..14];
            let unicast = sha[0] & 1 == 0 && sha != [0; 6];
            if (eth_dst != [0xff; 6] && eth_dst != mac) || !unicast {
                Gate::Invalid
            } else {
                Gate::Answer(i)
            }
        }
        other => other,
    }
}

/// RFC 4861 §7.1.1: a valid NS for a VIP; answered in place only in the form
/// with one source link-layer option from a unicast address.
pub(crate) fn expect_ns(frame: &[u8], l3: usize, model: &Model) -> Gate {
    let icmp = l3 + 40;
    let payload = usize::from(be16(frame, l3 + 4).unwrap());
    let (Some(&hop), Some(&code)) = (frame.get(l3 + 7), frame.get(icmp + 1)) else {
        return Gate::Pass;
    };
    if hop != 255 || code != 0 || payload < 24 {
        return Gate::Pass;
    }
    let Some(target) = ipv6_at(frame, icmp + 8) else {
        return Gate::Pass;
    };
    match gate(model, frame, target.into()) {
        Gate::Answer(i) => {
            let src = ipv6_at(frame, l3 + 8).unwrap();
            let dst = ipv6_at(frame, l3 + 24).unwrap();
            let whole = frame.get(icmp..icmp + 32);
            let answerable = payload == 32
                && frame[l3] >> 4 == 6
                && !src.is_unspecified()
                && !src.is_multicast()
                && whole.is_some_and(|m| m[24..26] == [1, 1]);
            let checksum_ok = whole.is_some_and(|m| {
                checksum(&[
                    &src.octets(),
                    &dst.octets(),
                    &32u32.to_be_bytes(),
                    &[0, 0, 0, IPPROTO_ICMPV6],
                    m,
                ]) == 0
            });
            match (answerable, checksum_ok) {
                (false, _) => Gate::Passed,
                (true, false) => Gate::Invalid,
                (true, true) => Gate::Answer(i),
            }
        }
        other => other,
    }
}

/// Counters that move on their own: the master-down timers' callbacks fire
/// between any two reads. Checked in total at the end.
pub(crate) const ASYNC: [&str; 4] = [
    "timer_started",
    "timer_fired",
    "events_sent",
    "events_dropped",
];
pub(crate) const DROPS: [&str; 11] = [
    "drop_ttl",
    "drop_version",
    "drop_type",
    "drop_len",
    "drop_frag",
    "drop_count_mismatch",
    "drop_checksum",
    "drop_auth",
    "drop_interval",
    "drop_not_peer",
    "drop_address_list",
];

pub(crate) type Counters = BTreeMap<&'static str, u64>;

pub(crate) fn counters(maps: &Maps) -> Result<Counters> {
    Ok(maps.stats()?.fields().into_iter().collect())
}

pub(crate) fn delta(before: &Counters, after: &Counters) -> Counters {
    after
        .iter()
        .map(|(k, v)| (*k, v.wrapping_sub(before[k])))
        .filter(|(_, d)| *d != 0)
        .collect()
}

/// Totals over a run, for the end-of-run balance.
#[derive(Default, Debug)]
pub(crate) struct Totals {
    pub(crate) vrrp_unread: u64,
    pub(crate) vrrp_drop_verdicts: u64,
    pub(crate) tx: u64,
    pub(crate) by_class: BTreeMap<String, u64>,
}

/// Checks one frame's verdict, output and counters.
pub(crate) fn check_case(
    frame: &[u8],
    verdict: u32,
    out: &[u8],
    moved: &Counters,
    model: &Model,
    totals: &mut Totals,
) -> Result<(), String> {
    let exp = expect(frame, model);
    let class = match &exp {
        Expect::Unread => "unread".to_owned(),
        Expect::Other => "other".to_owned(),
        Expect::Arp(g) => format!("arp {}", gate_name(g)),
        Expect::Ns(g) => format!("ns {}", gate_name(g)),
        Expect::Vrrp { v6, vrid } => format!(
            "vrrp{} {}",
            if *v6 { 6 } else { 4 },
            match vrid {
                None => "unread",
                Some((_, true)) => "ours",
                Some((_, false)) => "unknown",
            }
        ),
    };
    *totals.by_class.entry(class).or_default() += 1;
    if ![XDP_PASS, XDP_DROP, XDP_TX].contains(&verdict) {
        return Err(format!("verdict {verdict} is none of PASS, DROP, TX"));
    }
    if verdict != XDP_TX && out != frame {
        return Err(format!(
            "verdict {verdict} but the frame came back changed:\n{}",
            hex_of(out)
        ));
    }
    let mut rest: Counters = moved
        .iter()
        .filter(|(k, _)| !ASYNC.contains(k))
        .map(|(k, v)| (*k, *v))
        .collect();
    let mut take = |name: &'static str| rest.remove(name).unwrap_or(0);
    let (want_verdict, rx) = match &exp {
        Expect::Unread => (XDP_PASS, None),
        Expect::Other => (XDP_PASS, Some("rx_other")),
        Expect::Arp(g) => {
            let v = match g {
                Gate::Pass | Gate::Passed => XDP_PASS,
                Gate::NotMaster | Gate::Stale | Gate::Invalid => XDP_DROP,
                Gate::Answer(_) => XDP_TX,
            };
            let outcome = match g {
                Gate::NotMaster => Some("arp_dropped_not_master"),
                Gate::Stale => Some("arp_dropped_stale"),
                Gate::Invalid => Some("arp_dropped_invalid"),
                Gate::Answer(_) => Some("arp_replied"),
                _ => None,
            };
            if let Some(o) = outcome
                && take(o) != 1
            {
                return Err(format!("{o} did not move by 1"));
            }
            (v, Some("rx_arp"))
        }
        Expect::Ns(g) => {
            let v = match g {
                Gate::Pass | Gate::Passed => XDP_PASS,
                Gate::NotMaster | Gate::Stale | Gate::Invalid => XDP_DROP,
                Gate::Answer(_) => XDP_TX,
            };
            let outcome = match g {
                Gate::NotMaster => Some("ns_dropped_not_master"),
                Gate::Stale => Some("ns_dropped_stale"),
                Gate::Invalid => Some("ns_dropped_checksum"),
                Gate::Answer(_) => Some("ns_replied"),
                Gate::Passed => Some("ns_passed"),
                Gate::Pass => None,
            };
            if let Some(o) = outcome
                && take(o) != 1
            {
                return Err(format!("{o} did not move by 1"));
            }
            (v, Some("rx_ns"))
        }
        Expect::Vrrp { v6, vrid } => {
            let rx = if *v6 { "rx_vrrp_v6" } else { "rx_vrrp_v4" };
            let v = match vrid {
                None => {
                    totals.vrrp_unread += 1;
                    XDP_PASS
                }
                Some((_, false)) => {
                    if take("pass_unknown_vrid") != 1 {
                        return Err("pass_unknown_vrid did not move by 1".into());
                    }
                    XDP_PASS
                }
                Some((vrid, true)) => {
                    let drops: Vec<_> = DROPS.iter().filter(|d| moved.contains_key(*d)).collect();
                    let outcomes = drops.len()
                        + usize::from(moved.contains_key("pass_own"))
                        + usize::from(moved.contains_key("adverts_accepted"));
                    if outcomes != 1 {
                        return Err(format!("{outcomes} outcomes for an advert of ours"));
                    }
                    if let Some(d) = drops.first() {
                        if take(d) != 1 {
                            return Err(format!("{d} moved by more than 1"));
                        }
                        totals.vrrp_drop_verdicts += 1;
                        XDP_DROP
                    } else {
                        let own = take("pass_own");
                        let accepted = take("adverts_accepted");
                        if own + accepted != 1 {
                            return Err("pass_own / adverts_accepted moved by more than 1".into());
                        }
                        if accepted == 1 {
                            let inst = model.instance(*v6, *vrid).unwrap();
                            for (name, allowed) in [
                                ("adverts_absorbed", true),
                                ("adverts_outranked", inst.state == State::Backup),
                                ("timer_armed", inst.state != State::Init),
                            ] {
                                if take(name) > u64::from(allowed) {
                                    return Err(format!(
                                        "{name} moved for a {:?} instance",
                                        inst.state
                                    ));
                                }
                            }
                        }
                        XDP_PASS
                    }
                }
            };
            (v, Some(rx))
        }
    };
    if let Expect::Vrrp {
        v6,
        vrid: Some((vrid, true)),
    } = exp
    {
        // The program judges an advert of ours as the codec and the instance's
        // configuration do.
        let inst = model.instance(v6, vrid).unwrap();
        let want = match advert_outcome(frame, v6, inst) {
            Ok(true) => "pass_own",
            Ok(false) => "adverts_accepted",
            Err(_) => "a drop",
        };
        let got = if moved.contains_key("pass_own") {
            "pass_own"
        } else if moved.contains_key("adverts_accepted") {
            "adverts_accepted"
        } else {
            "a drop"
        };
        if want != got {
            return Err(format!(
                "advert judged {got}, expected {want} ({:?})",
                advert_outcome(frame, v6, inst)
            ));
        }
    }
    if let Some(rx) = rx
        && take(rx) != 1
    {
        return Err(format!("{rx} did not move by 1"));
    }
    if !rest.is_empty() {
        return Err(format!("unexpected counters moved: {rest:?}"));
    }
    if verdict != want_verdict {
        return Err(format!("verdict {verdict}, expected {want_verdict}"));
    }
    if verdict == XDP_TX {
        totals.tx += 1;
        match &exp {
            Expect::Arp(Gate::Answer(i)) => check_arp_reply(frame, out, &model.insts[*i]),
            Expect::Ns(Gate::Answer(i)) => check_na(frame, out, &model.insts[*i]),
            _ => unreachable!(),
        }?;
    }
    Ok(())
}

/// What becomes of an advert for `inst`: `Ok(true)` our own, `Ok(false)`
/// accepted, `Err(why)` dropped. The IP header as RFC 5798 §7.1 asks (TTL, not a
/// fragment, lengths that fit the frame), the message as the wire codec parses
/// it (trailing bytes in the IP payload allowed), then the instance's version,
/// and for v2 its authentication and interval (RFC 3768 §7.1).
pub(crate) fn advert_outcome(frame: &[u8], v6: bool, inst: &Inst) -> Result<bool, String> {
    let (_, l3) = l2(frame).unwrap();
    let too_short = || "frame too short".to_owned();
    let (ctx, vrrp, end, addr_len) = if v6 {
        if frame[l3] >> 4 != 6 {
            return Err("IP version".into());
        }
        let payload = usize::from(be16(frame, l3 + 4).ok_or_else(too_short)?);
        let (_, vrrp) = ipv6_upper(frame, l3).ok_or_else(too_short)?;
        let end = l3 + 40 + payload;
        if vrrp + 8 > end || end > frame.len() {
            return Err("payload length".into());
        }
        let ctx = IpContext {
            src: ipv6_at(frame, l3 + 8).unwrap().into(),
            dst: ipv6_at(frame, l3 + 24).unwrap().into(),
            ttl: frame[l3 + 7],
        };
        (ctx, vrrp, end, 16)
    } else {
        let ihl = usize::from(frame[l3] & 0x0f) * 4;
        if ihl < 20 {
            return Err("IHL".into());
        }
        if be16(frame, l3 + 6).ok_or_else(too_short)? & 0x3fff != 0 {
            return Err("fragment".into());
        }
        let total = usize::from(be16(frame, l3 + 2).ok_or_else(too_short)?);
        if total < ihl + 8 || l3 + total > frame.len() {
            return Err("total length".into());
        }
        let ctx = IpContext {
            src: ipv4_at(frame, l3 + 12).unwrap().into(),
            dst: ipv4_at(frame, l3 + 16).unwrap().into(),
            ttl: frame[l3 + 8],
        };
        (ctx, l3 + ihl, l3 + total, 4)
    };
    let len = vrrp_msg_len(frame, vrrp, addr_len).ok_or_else(too_short)?;
    let msg = frame
        .get(vrrp..(vrrp + len).min(end))
        .ok_or_else(too_short)?;
    let got = Advert::parse(&ctx, msg).map_err(|e| format!("codec: {e}"))?;
    let advert = got.advert;
    let version = match advert.version {
        Version::V2 => 2,
        Version::V3 => 3,
    };
    if version != inst.version {
        return Err("version".into());
    }
    if version == 2 {
        let auth = match inst.password {
            Some(p) => Auth::Password(p),
            None => Auth::None,
        };
        if advert.auth != auth {
            return Err("authentication".into());
        }
        if advert.advert_int_cs != inst.advert_int_cs {
            return Err("interval".into());
        }
    }
    Ok(ctx.src == inst.own)
}

/// The bytes outside `range` of `out` are those of `frame`.
pub(crate) fn untouched_outside(
    frame: &[u8],
    out: &[u8],
    from: usize,
    to: usize,
    what: &str,
) -> Result<(), String> {
    if out.len() != frame.len() {
        return Err(format!(
            "{what}: {} bytes out, {} in",
            out.len(),
            frame.len()
        ));
    }
    if out[12..from] != frame[12..from] || out[to..] != frame[to..] {
        return Err(format!("{what}: bytes outside the reply changed"));
    }
    Ok(())
}

pub(crate) fn check_arp_reply(frame: &[u8], out: &[u8], inst: &Inst) -> Result<(), String> {
    let (_, l3) = l2(frame).unwrap();
    untouched_outside(frame, out, l3 - 2, l3 + 28, "ARP reply")?;
    let (eth_out, reply) =
        arp::parse_frame(&untagged(out, l3)).map_err(|e| format!("ARP reply: {e}"))?;
    let (_, request) =
        arp::parse_frame(&untagged(frame, l3)).map_err(|e| format!("request: {e}"))?;
    let want = ArpRepr {
        operation: Operation::Reply,
        sender_mac: MacAddr(inst.mac),
        sender_ip: request.target_ip,
        target_mac: request.sender_mac,
        target_ip: request.sender_ip,
    };
    if reply != want || eth_out.dst != request.sender_mac || eth_out.src != MacAddr(inst.mac) {
        return Err(format!(
            "ARP reply {eth_out:?} {reply:?}, expected {want:?}"
        ));
    }
    Ok(())
}

pub(crate) fn check_na(frame: &[u8], out: &[u8], inst: &Inst) -> Result<(), String> {
    let (_, l3) = l2(frame).unwrap();
    untouched_outside(frame, out, l3 - 2, l3 + 40 + 32, "NA")?;
    let na = ndisc::parse_frame(&untagged(out, l3)).map_err(|e| format!("NA: {e}"))?;
    let target = ipv6_at(frame, l3 + 40 + 8).unwrap();
    let want = ndisc::NeighborAdvert {
        router: inst.router,
        solicited: true,
        override_flag: true,
        target,
        target_mac: Some(MacAddr(inst.mac)),
    };
    let ok = na.na == want
        && na.src == target
        && Some(na.dst) == ipv6_at(frame, l3 + 8)
        && na.eth.dst.0 == frame[6..12]
        && na.eth.src.0 == inst.mac;
    if !ok {
        return Err(format!("NA {na:?}, expected {want:?}"));
    }
    Ok(())
}

pub(crate) fn hex_of(frame: &[u8]) -> String {
    frame.iter().map(|b| format!("{b:02x}")).collect()
}
