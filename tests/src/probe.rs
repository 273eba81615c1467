//! What a host can see: reachability (ICMP echo), who answers ARP, which
//! addresses it holds and which MAC it has learned for a neighbour.
//!
//! Every probe is bounded in count and time; an unanswered probe is a result,
//! not an error.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::addr::Mac;
use crate::command::Enter;
use crate::host::Host;
use crate::icmp;
use crate::netns::{in_netns, ip};

/// Most probes one [`Host::ping`] / [`Host::arping`] call may send.
pub const MAX_PROBES: u16 = 10_000;
/// Longest span one probe call may cover (`count × interval`).
pub const MAX_SPAN: Duration = Duration::from_secs(60);
/// Shortest probe interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Outcome of [`Host::ping`]: one entry per probe, in sending order.
#[derive(Clone, Debug)]
pub struct PingReport {
    /// Address pinged.
    pub target: IpAddr,
    /// Time between probes.
    pub interval: Duration,
    /// Round-trip time of probe `i`, `None` if unanswered.
    pub rtts: Vec<Option<Duration>>,
    /// Replies beyond the first for the same probe.
    pub duplicates: u32,
}

impl PingReport {
    /// Probes sent.
    pub fn sent(&self) -> usize {
        self.rtts.len()
    }

    /// Probes answered.
    pub fn received(&self) -> usize {
        self.rtts.iter().filter(|r| r.is_some()).count()
    }

    /// Probes unanswered.
    pub fn lost(&self) -> usize {
        self.sent() - self.received()
    }

    /// Every probe was answered.
    pub fn all_answered(&self) -> bool {
        self.lost() == 0
    }

    /// Longest run of consecutive unanswered probes; times
    /// [`interval`](Self::interval) it bounds an outage from below.
    pub fn longest_loss(&self) -> usize {
        self.rtts
            .split(Option::is_some)
            .map(<[_]>::len)
            .max()
            .unwrap_or(0)
    }
}

/// One reply seen by [`Host::arping`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpReply {
    /// Sender hardware address of the reply.
    pub mac: Mac,
    /// Which request (0-based) it answered, as arping reports it.
    pub index: u32,
}

/// Outcome of [`Host::arping`].
#[derive(Clone, Debug)]
pub struct ArpReport {
    /// Address asked for.
    pub target: Ipv4Addr,
    /// Requests sent.
    pub sent: u16,
    /// Every reply, in arrival order (two masters show up as two MACs).
    pub replies: Vec<ArpReply>,
}

impl ArpReport {
    /// Distinct MACs that answered, sorted.
    pub fn macs(&self) -> Vec<Mac> {
        self.replies
            .iter()
            .map(|r| r.mac)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// At least one reply came, and all of them from `mac`.
    pub fn answered_only_by(&self, mac: Mac) -> bool {
        self.macs() == [mac]
    }
}

/// One address configured in a namespace (`ip -o addr show`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface holding it.
    pub ifname: String,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// IPv6 DAD has not finished (or failed): not usable yet.
    pub tentative: bool,
}

fn check_bounds(count: u16, interval: Duration) -> Result<()> {
    if count == 0 || count > MAX_PROBES {
        bail!("probe count must be in 1..={MAX_PROBES}, got {count}");
    }
    if interval < MIN_INTERVAL {
        bail!("probe interval must be at least {MIN_INTERVAL:?}, got {interval:?}");
    }
    if interval * u32::from(count) > MAX_SPAN {
        bail!("{count} probes every {interval:?} exceed {MAX_SPAN:?}");
    }
    Ok(())
}

impl Host {
    /// Sends `count` ICMP echo requests to `target`, one every `interval`,
    /// from this namespace. Takes about `count × interval` plus at most
    /// `max(interval, 500 ms)` for late replies (less when all arrive).
    /// Link-local IPv6 targets are reached over this host's interface.
    pub fn ping(
        &self,
        target: impl Into<IpAddr>,
        count: u16,
        interval: Duration,
    ) -> Result<PingReport> {
        check_bounds(count, interval)?;
        let target = target.into();
        let scope = match target {
            IpAddr::V6(a) if a.is_unicast_link_local() => self.ifindex(),
            _ => 0,
        };
        in_netns(&self.ns, || icmp::ping(target, scope, count, interval))
            .with_context(|| format!("{}: ping {target}", self.ns))
    }

    /// Sends `count` ARP requests for `target` out of this host's interface,
    /// one every `interval` (arping(8)), and reports every reply.
    pub fn arping(&self, target: Ipv4Addr, count: u16, interval: Duration) -> Result<ArpReport> {
        check_bounds(count, interval)?;
        let span = interval * u32::from(count);
        let out = self
            .command("arping")
            .args(["-i", &self.ifname, "-c", &count.to_string()])
            .args(["-W", &format!("{:.3}", interval.as_secs_f64())])
            .args(["-w", &format!("{:.3}", (span + icmp::LINGER).as_secs_f64())])
            .arg(target.to_string())
            .enter(Enter::IpNetnsExec)
            .timeout(span + Duration::from_secs(10))
            .run()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        // arping exits 1 when nobody answered; anything else is a real failure.
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "{}: arping {target} failed ({})\nstdout:\n{stdout}\nstderr:\n{}",
                self.ns,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(ArpReport {
            target,
            sent: count,
            replies: stdout.lines().filter_map(parse_arping_line).collect(),
        })
    }

    /// Every address in this namespace, on any interface (VIPs may sit on
    /// the host interface, `lo` or a VMAC interface).
    pub fn addresses(&self) -> Result<Vec<IfAddr>> {
        let out = ip(&["-n", &self.ns, "-o", "addr", "show"])?;
        Ok(out.lines().filter_map(parse_addr_line).collect())
    }

    /// `addr` is configured on some interface of this namespace (tentative or not).
    pub fn has_address(&self, addr: impl Into<IpAddr>) -> Result<bool> {
        let addr = addr.into();
        Ok(self.addresses()?.iter().any(|a| a.addr == addr))
    }

    /// The usable (non-tentative) IPv6 link-local address of this host's
    /// interface; VRRPv3 over IPv6 advertises from it.
    pub fn link_local(&self) -> Result<Option<Ipv6Addr>> {
        Ok(self.addresses()?.into_iter().find_map(|a| match a.addr {
            IpAddr::V6(v6)
                if a.ifname == self.ifname && v6.is_unicast_link_local() && !a.tentative =>
            {
                Some(v6)
            }
            _ => None,
        }))
    }

    /// The MAC this host's neighbour table holds for `addr` (ARP or ND), if
    /// resolved. After a [`ping`](Self::ping), this tells who answered.
    pub fn neighbor(&self, addr: impl Into<IpAddr>) -> Result<Option<Mac>> {
        let addr = addr.into().to_string();
        let out = ip(&[
            "-n",
            &self.ns,
            "-o",
            "neigh",
            "show",
            "to",
            &addr,
            "dev",
            &self.ifname,
        ])?;
        // "198.18.1.1 lladdr 02:00:00:01:00:01 REACHABLE" (no lladdr while INCOMPLETE/FAILED)
        let mut words = out.split_whitespace();
        match words.find(|w| *w == "lladdr").and(words.next()) {
            Some(mac) => Ok(Some(mac.parse()?)),
            None => Ok(None),
        }
    }

    /// Forgets every learned neighbour (IPv4 and IPv6) on this host's interface.
    pub fn flush_neighbors(&self) -> Result<()> {
        for family in ["-4", "-6"] {
            ip(&[
                family,
                "-n",
                &self.ns,
                "neigh",
                "flush",
                "dev",
                &self.ifname,
            ])?;
        }
        Ok(())
    }
}

/// `42 bytes from 02:00:00:01:00:01 (198.18.1.1): index=0 time=12.9 usec`
fn parse_arping_line(line: &str) -> Option<ArpReply> {
    let rest = line.split_once(" bytes from ")?.1;
    let mac = rest.split_whitespace().next()?.parse().ok()?;
    let index = rest.split_once("index=")?.1;
    let index = index.split_whitespace().next()?.parse().ok()?;
    Some(ArpReply { mac, index })
}

/// `2: eth0    inet6 2001:2:0:1::1/64 scope global tentative \       valid_lft …`
fn parse_addr_line(line: &str) -> Option<IfAddr> {
    let mut words = line.split_whitespace();
    let ifname = words.nth(1)?.to_owned();
    let family = words.next()?;
    if family != "inet" && family != "inet6" {
        return None;
    }
    let (addr, len) = words.next()?.split_once('/')?;
    let tentative = line
        .split_whitespace()
        .any(|w| w == "tentative" || w == "dadfailed");
    Some(IfAddr {
        ifname,
        addr: addr.parse().ok()?,
        prefix_len: len.parse().ok()?,
        tentative,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arping_lines() {
        let r = parse_arping_line(
            "42 bytes from 2e:7a:a1:75:18:07 (198.18.200.2): index=2 time=6.890 usec",
        )
        .unwrap();
        assert_eq!(r.mac.to_string(), "2e:7a:a1:75:18:07");
        assert_eq!(r.index, 2);
        for other in [
            "ARPING 198.18.200.2",
            "Timeout",
            "3 packets transmitted, 3 packets received",
        ] {
            assert_eq!(parse_arping_line(other), None);
        }
    }

    #[test]
    fn addr_lines() {
        let a = parse_addr_line(
            "2: zztb    inet6 fe80::2c7a:a1ff:fe75:1807/64 scope link tentative \\       valid_lft forever",
        )
        .unwrap();
        assert_eq!(a.ifname, "zztb");
        assert_eq!(a.prefix_len, 64);
        assert!(a.tentative && matches!(a.addr, IpAddr::V6(v) if v.is_unicast_link_local()));
        let b =
            parse_addr_line("1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever")
                .unwrap();
        assert_eq!(b.addr, IpAddr::from([127, 0, 0, 1]));
        assert!(!b.tentative);
    }

    #[test]
    fn loss_runs() {
        let ms = Some(Duration::from_millis(1));
        let r = PingReport {
            target: IpAddr::from([198, 18, 0, 1]),
            interval: Duration::from_millis(10),
            rtts: vec![ms, None, None, ms, None, None, None, ms],
            duplicates: 0,
        };
        assert_eq!(
            (r.sent(), r.received(), r.lost(), r.longest_loss()),
            (8, 3, 5, 3)
        );
        assert!(!r.all_answered());
    }
}
