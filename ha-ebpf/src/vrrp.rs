//! VRRP adverts: the receive checks of RFC 5798 / RFC 9568 §7.1 and RFC 3768 §7.1
//! that need the packet, then the Backup/Master advert handling of §6.4.2/§6.4.3
//! that decides the master-down timer, and the events the controller must see.
//!
//! Verdicts: adverts for a VRID we have no instance for, and our own, are passed
//! untouched. Bad adverts for our instances are counted by reason and dropped.
//! Good ones are passed after accounting, so `tcpdump` still shows them and a
//! raw-socket fallback keeps working; the controller in XDP mode does not read the
//! raw socket (adverts reach it as events, or are absorbed here).

use aya_ebpf::{bindings::xdp_action, helpers::bpf_ktime_get_ns, programs::XdpContext};
use ha_common::{
    AllowedPeer, Event, InstanceConf, InstanceKey, Peer, VRID_SHARED, addr, by_vrid_index,
    event_kind, family, instance_flag, reason, state,
    timers::{NS_PER_CS, master_down_ns, skew_ns},
    wire::{
        IPPROTO_VRRP, IPV4_HLEN, IPV6_HLEN, VRRP_HLEN, VRRP_TTL, VRRP_TYPE_ADVERT, VRRP_V2_AUTH_LEN,
    },
};

use crate::{
    checksum, event,
    maps::{ALLOWED_PEERS, BY_VRID, INSTANCES, PEERS},
    parse::{be16_at, frame_len, read, u8_at},
    stats::inc,
    timer,
};

/// v2 auth type 0: no authentication data to compare.
const AUTH_NONE: u8 = 0;
/// Mask of the v3 Max Adver Int (12 bits; the top 4 are reserved).
const V3_INTERVAL_MASK: u16 = 0x0fff;

/// The fields of a valid advert that the handling needs. Explicit padding: the
/// verifier checks every byte a global function's pointer argument covers is
/// initialised.
#[repr(C)]
pub struct Advert {
    src: [u8; 16],
    priority: u8,
    _pad: u8,
    /// Centiseconds; v2 seconds * 100.
    advert_int_cs: u16,
}

/// Why a VRRP packet for one of our instances was dropped.
#[derive(Clone, Copy)]
enum Bad {
    Ttl,
    Version,
    Type,
    Len,
    Frag,
    Count,
    Checksum,
    Auth,
    Interval,
    NotPeer,
    AddressList,
}

impl Bad {
    fn count(self) {
        match self {
            Bad::Ttl => inc(|s| &mut s.drop_ttl),
            Bad::Version => inc(|s| &mut s.drop_version),
            Bad::Type => inc(|s| &mut s.drop_type),
            Bad::Len => inc(|s| &mut s.drop_len),
            Bad::Frag => inc(|s| &mut s.drop_frag),
            Bad::Count => inc(|s| &mut s.drop_count_mismatch),
            Bad::Checksum => inc(|s| &mut s.drop_checksum),
            Bad::Auth => inc(|s| &mut s.drop_auth),
            Bad::Interval => inc(|s| &mut s.drop_interval),
            Bad::NotPeer => inc(|s| &mut s.drop_not_peer),
            Bad::AddressList => inc(|s| &mut s.drop_address_list),
        }
    }
}

/// Offsets in an IPv4 header.
const V4_TOTAL_LEN: usize = 2;
const V4_FRAG: usize = 6;
const V4_TTL: usize = 8;
const V4_SRC: usize = 12;
/// IPv4 flags + fragment offset: MF and the offset (DF is fine).
const V4_FRAG_MASK: u16 = 0x3fff;

/// Offsets in an IPv6 header.
const V6_PAYLOAD_LEN: usize = 4;
const V6_HOP_LIMIT: usize = 7;
const V6_SRC: usize = 8;

/// An IPv4 packet with protocol 112 whose header starts at `l3`.
#[inline(always)]
pub fn handle_v4(ctx: &XdpContext, l3: usize, vlan: u16) -> Result<u32, ()> {
    inc(|s| &mut s.rx_vrrp_v4);
    let ver_ihl = u8_at(ctx, l3)?;
    if ver_ihl >> 4 != 4 {
        return Ok(xdp_action::XDP_PASS);
    }
    // IHL is 4 bits: at most 60 bytes, visible to the verifier through the mask.
    let ihl = usize::from(ver_ihl & 0x0f) * 4;
    let vrrp = l3 + ihl;
    let key = InstanceKey::new(
        ctx.ingress_ifindex() as u32,
        u8_at(ctx, vrrp + 1)?,
        family::V4,
    )
    .on_vlan(vlan);
    let Some(conf) = lookup(&key) else {
        inc(|s| &mut s.pass_unknown_vrid);
        return Ok(xdp_action::XDP_PASS);
    };
    match check_v4(ctx, l3, ihl, &conf).and_then(|a| allowed(&key, &conf, a)) {
        Ok(advert) => Ok(ha_accept(&key, &conf, &advert)),
        Err(bad) => {
            bad.count();
            Ok(xdp_action::XDP_DROP)
        }
    }
}

/// An IPv6 packet whose header starts at `l3` and whose VRRP message starts
/// at `vrrp` (after any extension headers).
#[inline(always)]
pub fn handle_v6(ctx: &XdpContext, l3: usize, vrrp: usize, vlan: u16) -> Result<u32, ()> {
    inc(|s| &mut s.rx_vrrp_v6);
    let key = InstanceKey::new(
        ctx.ingress_ifindex() as u32,
        u8_at(ctx, vrrp + 1)?,
        family::V6,
    )
    .on_vlan(vlan);
    let Some(conf) = lookup(&key) else {
        inc(|s| &mut s.pass_unknown_vrid);
        return Ok(xdp_action::XDP_PASS);
    };
    match check_v6(ctx, l3, vrrp, &conf).and_then(|a| allowed(&key, &conf, a)) {
        Ok(advert) => Ok(ha_accept(&key, &conf, &advert)),
        Err(bad) => {
            bad.count();
            Ok(xdp_action::XDP_DROP)
        }
    }
}

/// A copy of the instance's configuration (also what `ha_accept` reads: a copy on
/// the stack, not the live map value).
#[inline(always)]
fn lookup(key: &InstanceKey) -> Option<InstanceConf> {
    // One direct array access on the common path (a family and VRID on one
    // interface only): a hash lookup's two dependent cache misses were the
    // larger part of an advert's cost. BY_VRID holds untagged instances only;
    // a tagged frame goes to the hash (where, today, it finds nothing).
    if key.vlan == 0
        && let Some(e) = BY_VRID.get_ptr(by_vrid_index(key.family, key.vrid))
    {
        // SAFETY: plain copies out of a live map value; the controller may
        // rewrite it concurrently, which can at worst mix two of its versions.
        let ifindex = unsafe { (*e).ifindex };
        if ifindex == key.ifindex {
            return Some(unsafe { (*e).conf });
        }
        if ifindex != VRID_SHARED {
            return None;
        }
    }
    // SAFETY: as above.
    INSTANCES.get_ptr(key).map(|p| unsafe { p.read() })
}

/// keepalived's `check_unicast_src`: with `PEERS_ONLY`, only a listed sender's
/// advert goes on to the election; a stranger's priority 0 or higher priority
/// never moves a timer.
#[inline(always)]
fn allowed(key: &InstanceKey, conf: &InstanceConf, advert: Advert) -> Result<Advert, Bad> {
    if conf.flags & instance_flag::PEERS_ONLY == 0 {
        return Ok(advert);
    }
    let peer = AllowedPeer {
        instance: *key,
        addr: advert.src,
    };
    match ALLOWED_PEERS.get_ptr(&peer) {
        Some(_) => Ok(advert),
        None => Err(Bad::NotPeer),
    }
}

/// RFC 5798 §7.1 / RFC 3768 §7.1 for IPv4.
#[inline(always)]
fn check_v4(ctx: &XdpContext, l3: usize, ihl: usize, conf: &InstanceConf) -> Result<Advert, Bad> {
    if ihl < IPV4_HLEN {
        return Err(Bad::Len);
    }
    if be16_at(ctx, l3 + V4_FRAG).map_err(|()| Bad::Len)? & V4_FRAG_MASK != 0 {
        return Err(Bad::Frag);
    }
    let total = usize::from(be16_at(ctx, l3 + V4_TOTAL_LEN).map_err(|()| Bad::Len)?);
    if total < ihl + VRRP_HLEN || l3 + total > frame_len(ctx) {
        return Err(Bad::Len);
    }
    if u8_at(ctx, l3 + V4_TTL).map_err(|()| Bad::Len)? != VRRP_TTL {
        return Err(Bad::Ttl);
    }
    let vrrp = l3 + ihl;
    let msg_len = check_header(ctx, vrrp, total - ihl, 4, conf)?;

    let sum = checksum::sum_frame(ctx, vrrp, msg_len, 0).map_err(|()| Bad::Len)?;
    if !checksum::verifies(sum) {
        // v3 over IPv4: RFC 5798 was read both ways; RFC 9568 §5.2.8 says message
        // only, keepalived and FRR include the IPv4 pseudo-header. Accept both.
        if conf.version != 3 {
            return Err(Bad::Checksum);
        }
        // Source and destination: 8 contiguous bytes of the IPv4 header.
        let sum = checksum::sum_at::<[u8; 8]>(ctx, l3 + V4_SRC, sum).map_err(|()| Bad::Len)?;
        let [hi, lo] = (msg_len as u16).to_be_bytes();
        let sum = checksum::sum_stack(&[0, IPPROTO_VRRP, hi, lo], sum).map_err(|()| Bad::Len)?;
        if !checksum::verifies(sum) {
            return Err(Bad::Checksum);
        }
    }
    check_auth(ctx, vrrp, conf)?;
    check_list(ctx, vrrp, 4, conf)?;
    let src: [u8; 4] = read(ctx, l3 + V4_SRC).map_err(|()| Bad::Len)?;
    advert(ctx, vrrp, addr::from_v4(src), conf)
}

/// RFC 5798 / RFC 9568 §7.1 for IPv6 (v3 only; RFC 3768 is IPv4 only).
#[inline(always)]
fn check_v6(ctx: &XdpContext, l3: usize, vrrp: usize, conf: &InstanceConf) -> Result<Advert, Bad> {
    let ver = u8_at(ctx, l3).map_err(|()| Bad::Len)? >> 4;
    if ver != 6 {
        return Err(Bad::Len);
    }
    let payload = usize::from(be16_at(ctx, l3 + V6_PAYLOAD_LEN).map_err(|()| Bad::Len)?);
    let end = l3 + IPV6_HLEN + payload;
    if vrrp + VRRP_HLEN > end || end > frame_len(ctx) {
        return Err(Bad::Len);
    }
    if u8_at(ctx, l3 + V6_HOP_LIMIT).map_err(|()| Bad::Len)? != VRRP_TTL {
        return Err(Bad::Ttl);
    }
    // The upper-layer length: what follows the extension headers.
    let msg_len = check_header(ctx, vrrp, end - vrrp, 16, conf)?;
    // RFC 8200 §8.1 pseudo-header: source and destination (32 contiguous bytes),
    // upper-layer length, next header.
    let sum = checksum::sum_at::<[u8; 32]>(ctx, l3 + V6_SRC, 0).map_err(|()| Bad::Len)?;
    let [hi, lo] = (msg_len as u16).to_be_bytes();
    let sum =
        checksum::sum_stack(&[0, 0, hi, lo, 0, 0, 0, IPPROTO_VRRP], sum).map_err(|()| Bad::Len)?;
    let sum = checksum::sum_frame(ctx, vrrp, msg_len, sum).map_err(|()| Bad::Len)?;
    if !checksum::verifies(sum) {
        return Err(Bad::Checksum);
    }
    check_list(ctx, vrrp, 16, conf)?;
    let src: [u8; 16] = read(ctx, l3 + V6_SRC).map_err(|()| Bad::Len)?;
    advert(ctx, vrrp, src, conf)
}

/// Version, type and length of the VRRP header at `vrrp`, with `payload` bytes of
/// IP payload and `addr_len`-byte addresses. Returns the message length.
#[inline(always)]
fn check_header(
    ctx: &XdpContext,
    vrrp: usize,
    payload: usize,
    addr_len: usize,
    conf: &InstanceConf,
) -> Result<usize, Bad> {
    let ver_type = u8_at(ctx, vrrp).map_err(|()| Bad::Len)?;
    let version = ver_type >> 4;
    if version != conf.version || (version != 2 && version != 3) || (version == 2 && addr_len != 4)
    {
        return Err(Bad::Version);
    }
    if ver_type & 0x0f != VRRP_TYPE_ADVERT {
        return Err(Bad::Type);
    }
    let count = usize::from(u8_at(ctx, vrrp + 3).map_err(|()| Bad::Len)?);
    if version == 3 && count == 0 {
        return Err(Bad::Count);
    }
    let auth = if version == 2 { VRRP_V2_AUTH_LEN } else { 0 };
    let msg_len = VRRP_HLEN + count * addr_len + auth;
    if msg_len > payload {
        return Err(Bad::Count);
    }
    Ok(msg_len)
}

/// Strict mode reads at most this many addresses; a longer list is checked
/// by its count alone.
const STRICT_MAX_ADDRS: usize = 32;

/// keepalived's `vrrp_strict` (RFC 9568 §7.1: the address list may be
/// checked): with `STRICT`, the advert's address count and the sum of their
/// fingerprints must be ours, whatever the order.
#[inline(always)]
fn check_list(
    ctx: &XdpContext,
    vrrp: usize,
    addr_len: usize,
    conf: &InstanceConf,
) -> Result<(), Bad> {
    if conf.flags & instance_flag::STRICT == 0 {
        return Ok(());
    }
    let count = usize::from(u8_at(ctx, vrrp + 3).map_err(|()| Bad::Len)?);
    if count != usize::from(conf.vip_count) {
        return Err(Bad::AddressList);
    }
    if count > STRICT_MAX_ADDRS {
        return Ok(());
    }
    let mut sum = 0u32;
    for i in 0..STRICT_MAX_ADDRS {
        if i >= count {
            break;
        }
        let at = vrrp + VRRP_HLEN + i * addr_len;
        let a = if addr_len == 4 {
            addr::from_v4(read(ctx, at).map_err(|()| Bad::Len)?)
        } else {
            read(ctx, at).map_err(|()| Bad::Len)?
        };
        sum = sum.wrapping_add(addr::mix(&a));
    }
    if sum != conf.vip_sum {
        return Err(Bad::AddressList);
    }
    Ok(())
}

/// v2 authentication: the type must be ours and, unless it is 0, the data too
/// (RFC 3768 §7.1, RFC 2338 §7.1).
#[inline(always)]
fn check_auth(ctx: &XdpContext, vrrp: usize, conf: &InstanceConf) -> Result<(), Bad> {
    if conf.version != 2 {
        return Ok(());
    }
    let auth_type = u8_at(ctx, vrrp + 4).map_err(|()| Bad::Len)?;
    if auth_type != conf.auth_type {
        return Err(Bad::Auth);
    }
    if auth_type == AUTH_NONE {
        return Ok(());
    }
    let count = usize::from(u8_at(ctx, vrrp + 3).map_err(|()| Bad::Len)?);
    let data: [u8; 8] = read(ctx, vrrp + VRRP_HLEN + count * 4).map_err(|()| Bad::Len)?;
    if u64::from_ne_bytes(data) != u64::from_ne_bytes(conf.auth_data) {
        return Err(Bad::Auth);
    }
    Ok(())
}

/// Priority and interval of a checked advert from `src`.
#[inline(always)]
fn advert(
    ctx: &XdpContext,
    vrrp: usize,
    src: [u8; 16],
    conf: &InstanceConf,
) -> Result<Advert, Bad> {
    let priority = u8_at(ctx, vrrp + 2).map_err(|()| Bad::Len)?;
    let advert_int_cs = if conf.version == 2 {
        // RFC 3768 §7.1: an interval other than ours MUST be discarded.
        let cs = u16::from(u8_at(ctx, vrrp + 5).map_err(|()| Bad::Len)?) * 100;
        if cs != conf.advert_int_cs {
            return Err(Bad::Interval);
        }
        cs
    } else {
        // RFC 9568 erratum 8301: the interval must not be 0.
        let cs = be16_at(ctx, vrrp + 4).map_err(|()| Bad::Len)? & V3_INTERVAL_MASK;
        if cs == 0 {
            return Err(Bad::Interval);
        }
        cs
    };
    Ok(Advert {
        src,
        priority,
        _pad: 0,
        advert_int_cs,
    })
}

/// A valid advert: update PEERS, decide the master-down timer (RFC 5798 §6.4.2 in
/// Backup, §6.4.3 in Master), and tell the controller if it matters.
///
/// A BPF global function: verified once on its own rather than on each of the six
/// paths that reach it (IPv4/IPv6 × 0, 1 or 2 VLAN tags). Its pointer arguments
/// may be NULL as far as the verifier knows, hence the checks.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ha_accept(
    key: *const InstanceKey,
    conf: *const InstanceConf,
    adv: *const Advert,
) -> u32 {
    // SAFETY: the callers pass references to their stack; NULL is only the
    // verifier's worry.
    let refs = unsafe { (key.as_ref(), conf.as_ref(), adv.as_ref()) };
    let (Some(key), Some(conf), Some(adv)) = refs else {
        return xdp_action::XDP_PASS;
    };
    if same_addr(&adv.src, &conf.own_addr) {
        inc(|s| &mut s.pass_own);
        return xdp_action::XDP_PASS;
    }
    let Some(slot) = PEERS.get_ptr_mut(u32::from(conf.slot)) else {
        inc(|s| &mut s.errors);
        return xdp_action::XDP_PASS;
    };
    inc(|s| &mut s.adverts_accepted);
    // SAFETY: bpf_ktime_get_ns has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    // SAFETY: a live PEERS value (this function's only pointer into it).
    let mut reasons = update_peer(unsafe { &mut (*slot).peer }, key, adv, now);
    if adv.priority == 0 {
        reasons |= reason::PRIORITY_ZERO;
    }
    // v3 uses the master's interval (Master_Adver_Interval); a v2 one equals ours.
    let interval = adv.advert_int_cs;
    match conf.state {
        state::BACKUP => match backup_timer(conf, adv.priority, interval, now) {
            // SAFETY: slot is a live PEERS value.
            Some(delay) => unsafe {
                timer::arm(slot, delay, now, false);
            },
            None => {
                // "Discard the ADVERTISEMENT": the timer runs out and we preempt.
                inc(|s| &mut s.adverts_outranked);
                reasons |= reason::OUTRANKED;
            }
        },
        state::MASTER => {
            if adv.priority == 0 {
                // The controller sends an advert at once (PRIORITY_ZERO).
            } else if adv.priority > conf.priority
                || (adv.priority == conf.priority && addr_greater(&adv.src, &conf.own_addr))
            {
                // We become Backup: its Master_Down_Timer starts now (forced: a
                // master's slot may hold a stale deadline, see `timer`).
                reasons |= reason::PREEMPTS_US;
                unsafe {
                    timer::arm(
                        slot,
                        master_down_ns(conf.version, conf.priority, interval),
                        now,
                        true,
                    );
                }
            } else {
                reasons |= reason::LOWER_WHILE_MASTER;
            }
        }
        // Initialize: the controller is not running this instance; PEERS is enough.
        _ => reasons = 0,
    }
    if reasons & !reason::OUTRANKED == 0 {
        inc(|s| &mut s.adverts_absorbed);
    } else {
        event::send(&Event {
            kind: event_kind::ADVERT,
            reasons,
            key: *key,
            ts_ns: now,
            src: adv.src,
            priority: adv.priority,
            _pad: 0,
            advert_int_cs: adv.advert_int_cs,
            _pad2: 0,
        });
    }
    xdp_action::XDP_PASS
}

/// RFC 5798 §6.4.2, an advert of `priority` and `interval_cs` heard at `at` in
/// Backup: how long until the Master_Down_Timer fires, or `None` when the
/// advert is discarded (a lower priority we preempt).
#[inline(always)]
fn backup_timer(conf: &InstanceConf, priority: u8, interval_cs: u16, at: u64) -> Option<u64> {
    if priority == 0 {
        // "Set the Master_Down_Timer to Skew_Time."
        return Some(skew_ns(conf.version, conf.priority, interval_cs));
    }
    // "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is
    // greater than or equal to the local Priority": reset the timer
    // (keepalived's preempt_delay holds preemption off until the hold ends).
    let rearms = priority >= conf.priority || conf.preempt == 0 || at < conf.preempt_hold_until_ns;
    rearms.then(|| master_down_ns(conf.version, conf.priority, interval_cs))
}

/// The master-down deadline the last advert heard calls for, if it calls for
/// one ([`backup_timer`] from its arrival). The controller's arm (`ha_arm`) is
/// not allowed to be earlier: it answers an event that may be older than
/// adverts absorbed since.
#[inline(always)]
pub fn heard_deadline(conf: &InstanceConf, peer: &Peer) -> Option<u64> {
    if peer.adverts == 0 {
        return None;
    }
    backup_timer(
        conf,
        peer.master_priority,
        peer.advert_int_cs,
        peer.last_seen_ns,
    )
    .map(|delay| peer.last_seen_ns + delay)
}

/// Records the advert in the instance's [`Peer`]; returns the reasons it differs
/// from the last one.
///
/// A live PEERS value; only this program writes PEERS. Two CPUs racing on one
/// instance's adverts (at most one advert per 10 ms) can at worst lose a count.
#[inline(always)]
fn update_peer(peer: &mut Peer, key: &InstanceKey, adv: &Advert, now: u64) -> u32 {
    if peer.adverts == 0 {
        // Nothing heard since the slot was reset.
        *peer = Peer {
            master_addr: adv.src,
            last_seen_ns: now,
            key: *key,
            adverts: 1,
            master_priority: adv.priority,
            _pad: 0,
            advert_int_cs: adv.advert_int_cs,
        };
        return reason::FIRST_AFTER_SILENCE | reason::NEW_MASTER_ADDR;
    }
    let mut reasons = 0;
    let silence = 3 * u64::from(peer.advert_int_cs) * NS_PER_CS;
    if now.saturating_sub(peer.last_seen_ns) > silence {
        reasons |= reason::FIRST_AFTER_SILENCE;
    }
    if !same_addr(&peer.master_addr, &adv.src) {
        reasons |= reason::NEW_MASTER_ADDR;
    } else {
        if peer.master_priority != adv.priority {
            reasons |= reason::PRIORITY_CHANGE;
        }
        if peer.advert_int_cs != adv.advert_int_cs {
            reasons |= reason::INTERVAL_CHANGE;
        }
    }
    peer.master_addr = adv.src;
    peer.last_seen_ns = now;
    // Skips 0, which means "nothing heard".
    peer.adverts = peer.adverts.wrapping_add(1).max(1);
    peer.master_priority = adv.priority;
    peer.advert_int_cs = adv.advert_int_cs;
    reasons
}

/// Two map-form addresses are equal.
#[inline(always)]
fn same_addr(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let (ah, al) = halves(a);
    let (bh, bl) = halves(b);
    ah == bh && al == bl
}

/// `a > b` as unsigned integers in network byte order (RFC 5798 §6.4.3 tie-break).
#[inline(always)]
fn addr_greater(a: &[u8; 16], b: &[u8; 16]) -> bool {
    let (ah, al) = halves(a);
    let (bh, bl) = halves(b);
    ah > bh || (ah == bh && al > bl)
}

/// The address as two big-endian integers.
#[inline(always)]
fn halves(a: &[u8; 16]) -> (u64, u64) {
    (
        u64::from_be_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]),
        u64::from_be_bytes([a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]]),
    )
}
