//! Per-run name prefixes for namespaces and links.
//!
//! Every namespace and interface a topology creates is named `{prefix}{role}`
//! where the prefix is `ha` + the creating process id (5 base36 digits) + a
//! per-process sequence number (2 base36 digits), e.g. `ha00pn203`.
//!
//! Why this shape:
//! - Parallel test binaries have different pids and parallel tests in one
//!   binary have different sequence numbers, so names never collide.
//! - The pid can be read back from any name, so a later run can tell a
//!   leftover of a SIGKILLed run (pid gone) from a live one (see
//!   [`crate::remove_leftovers`]).
//! - Linux interface names hold at most 15 bytes: the 9-byte prefix leaves 6
//!   for the role (`b`, `n12`, `p12`, `c`, `pc`, or later e.g. a VMAC `v1`).
//!
//! Only names that match this pattern *exactly* are ever treated as ours.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Result, bail};

/// First characters of every prefix.
pub const PREFIX_MARK: &str = "ha";
/// Base36 digits holding the pid: 36^5 > 2^22, Linux's `PID_MAX_LIMIT`.
const PID_DIGITS: usize = 5;
/// Base36 digits holding the per-process sequence number.
const SEQ_DIGITS: usize = 2;
/// Length of a whole prefix, e.g. `ha00pn203`.
pub const PREFIX_LEN: usize = PREFIX_MARK.len() + PID_DIGITS + SEQ_DIGITS;
/// Largest pid Linux can hand out (`PID_MAX_LIMIT` on 64-bit).
const PID_MAX_LIMIT: u32 = 4_194_304;
/// Distinct sequence numbers; the counter wraps and skips prefixes in use.
const SEQ_SPACE: u32 = 36u32.pow(SEQ_DIGITS as u32);
/// Linux `IFNAMSIZ - 1`.
pub const IFNAME_MAX: usize = 15;

/// Name of the bridge namespace of a topology.
pub fn bridge_ns(prefix: &str) -> String {
    format!("{prefix}-br")
}

/// Name of node `i` (1-based) namespace.
pub fn node_ns(prefix: &str, i: u8) -> String {
    format!("{prefix}-n{i}")
}

/// Name of the client namespace.
pub fn client_ns(prefix: &str) -> String {
    format!("{prefix}-c")
}

/// Encodes `pid` and `seq` into a prefix; `None` when either is out of range.
pub fn encode(pid: u32, seq: u32) -> Option<String> {
    if pid > PID_MAX_LIMIT || seq >= SEQ_SPACE {
        return None;
    }
    let mut s = String::with_capacity(PREFIX_LEN);
    s.push_str(PREFIX_MARK);
    push_base36(&mut s, pid, PID_DIGITS);
    push_base36(&mut s, seq, SEQ_DIGITS);
    Some(s)
}

fn push_base36(out: &mut String, mut value: u32, digits: usize) {
    let mut buf = vec![b'0'; digits];
    for slot in buf.iter_mut().rev() {
        *slot = b"0123456789abcdefghijklmnopqrstuvwxyz"[(value % 36) as usize];
        value /= 36;
    }
    out.push_str(std::str::from_utf8(&buf).expect("base36 digits are ASCII"));
}

fn parse_base36(s: &str) -> Option<u32> {
    // `from_str_radix` accepts upper case and a sign; we only ever write lower-case digits.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        return None;
    }
    u32::from_str_radix(s, 36).ok()
}

/// Splits a full prefix into `(pid, seq)`; `None` unless `prefix` is exactly one.
pub fn decode(prefix: &str) -> Option<(u32, u32)> {
    if prefix.len() != PREFIX_LEN || !prefix.starts_with(PREFIX_MARK) {
        return None;
    }
    let digits = &prefix[PREFIX_MARK.len()..];
    let pid = parse_base36(&digits[..PID_DIGITS])?;
    let seq = parse_base36(&digits[PID_DIGITS..])?;
    (1..=PID_MAX_LIMIT).contains(&pid).then_some((pid, seq))
}

/// `n1` .. `n99` with no leading zero.
fn is_indexed(role: &str, letter: char) -> bool {
    let Some(num) = role.strip_prefix(letter) else {
        return false;
    };
    !num.is_empty()
        && num.len() <= 2
        && !num.starts_with('0')
        && num.bytes().all(|b| b.is_ascii_digit())
}

/// The pid encoded in a namespace name this harness creates (`{prefix}-br`,
/// `{prefix}-c`, `{prefix}-n{i}`); `None` for any other name.
pub fn netns_owner(name: &str) -> Option<u32> {
    let (prefix, role) = name.split_at_checked(PREFIX_LEN)?;
    let role = role.strip_prefix('-')?;
    let known = role == "br" || role == "c" || is_indexed(role, 'n');
    if !known {
        return None;
    }
    decode(prefix).map(|(pid, _)| pid)
}

/// Allocates a fresh prefix for this process.
///
/// The sequence counter wraps after 1296 topologies; a prefix whose bridge
/// namespace still exists is skipped, so a wrapped counter never reuses a
/// live name. Bounded: at most one pass over the sequence space.
pub fn allocate() -> Result<String> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let pid = std::process::id();
    for _ in 0..SEQ_SPACE {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed) % SEQ_SPACE;
        let Some(prefix) = encode(pid, seq) else {
            bail!("pid {pid} is above PID_MAX_LIMIT; cannot encode a name prefix");
        };
        if !Path::new(&crate::netns::netns_path(&bridge_ns(&prefix))).exists() {
            return Ok(prefix);
        }
    }
    bail!("all {SEQ_SPACE} name prefixes of pid {pid} are in use")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for (pid, seq) in [(1, 0), (32768, 5), (PID_MAX_LIMIT, SEQ_SPACE - 1)] {
            let p = encode(pid, seq).unwrap();
            assert_eq!(p.len(), PREFIX_LEN);
            assert_eq!(decode(&p), Some((pid, seq)), "{p}");
        }
        assert_eq!(encode(4242, 3).unwrap(), "ha0039u03");
    }

    #[test]
    fn out_of_range_is_refused() {
        assert_eq!(encode(PID_MAX_LIMIT + 1, 0), None);
        assert_eq!(encode(1, SEQ_SPACE), None);
        assert_eq!(decode("ha00000ab"), None, "pid 0 is never ours");
        assert_eq!(decode("hazzzzzab"), None, "pid above PID_MAX_LIMIT");
    }

    #[test]
    fn longest_link_name_fits() {
        let p = encode(PID_MAX_LIMIT, SEQ_SPACE - 1).unwrap();
        assert!(format!("{p}p99").len() <= IFNAME_MAX);
    }

    #[test]
    fn only_exact_namespace_names_match() {
        let p = encode(4242, 3).unwrap();
        for ok in ["-br", "-c", "-n1", "-n42"] {
            assert_eq!(netns_owner(&format!("{p}{ok}")), Some(4242), "{ok}");
        }
        for bad in [
            "", "-", "-b", "-n", "-n0", "-n01", "-n100", "-cc", "-br1", "b", "-N1",
        ] {
            assert_eq!(netns_owner(&format!("{p}{bad}")), None, "{bad:?}");
        }
        for bad in [
            "ha0039U03-br",
            "hb0039u03-br",
            "ha0039u3-br",
            "ha-0039u03-br",
            "héllo",
        ] {
            assert_eq!(netns_owner(bad), None, "{bad}");
        }
    }
}
