//! The generator: a seeded PRNG, random frames and mutations of the corpus.

use super::*;

// ---- the generator ----

/// SplitMix64: small, seeded, the same sequence on every machine.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub(crate) fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub(crate) fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed of case `i` of a run seeded with `seed`.
pub(crate) fn case_seed(seed: u64, i: u64) -> u64 {
    Rng(seed ^ i.wrapping_mul(0xd134_2543_de82_ef95)).next()
}

// ---- mutations ----

pub(crate) const INTERESTING: [u8; 14] =
    [0, 1, 2, 3, 4, 6, 0x7f, 0x80, 0xfe, 0xff, 112, 58, 135, 255];

/// Offsets and widths of the length-like fields of `frame`.
pub(crate) fn length_fields(frame: &[u8]) -> Vec<(usize, usize)> {
    let mut fields = Vec::new();
    let Some((ethertype, l3)) = l2(frame) else {
        return fields;
    };
    match ethertype {
        ETH_P_IP => {
            fields.push((l3, 1)); // version + IHL
            fields.push((l3 + 2, 2)); // total length
            if let Some(b) = frame.get(l3) {
                fields.push((l3 + usize::from(b & 0x0f) * 4 + 3, 1)); // VRRP count
            }
        }
        ETH_P_IPV6 => {
            fields.push((l3 + 4, 2)); // payload length
            fields.push((l3 + 40 + 3, 1)); // VRRP count
            fields.push((l3 + 40 + 25, 1)); // ND option length
        }
        ETH_P_ARP => {
            fields.push((l3 + 4, 1));
            fields.push((l3 + 5, 1));
        }
        _ => {}
    }
    fields.retain(|&(at, w)| at + w <= frame.len());
    fields
}

/// Offsets of fields the program decides on, and values worth putting there.
pub(crate) fn semantic_field(frame: &[u8], rng: &mut Rng) -> Option<(usize, Vec<u8>)> {
    let (ethertype, l3) = l2(frame)?;
    let vrids: [u8; 7] = [51, 52, 53, 54, 7, 8, 99];
    let addr4: [IpAddr; 6] = [v4(100), v4(110), v4(130), OWN4.into(), PEER4.into(), v4(0)];
    let addr6: [IpAddr; 5] = [
        v6(0x100),
        v6(0x101),
        OWN6.into(),
        Ipv6Addr::UNSPECIFIED.into(),
        GROUP6.into(),
    ];
    let octets = |a: &IpAddr| match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let choice = match ethertype {
        ETH_P_IP => {
            let ihl = usize::from(frame.get(l3)? & 0x0f) * 4;
            match rng.below(8) {
                0 => (l3 + 8, vec![*rng.pick(&[255, 254, 1, 0])]), // TTL
                1 => (l3 + 9, vec![*rng.pick(&[112, 17, 1])]),     // protocol
                2 => (l3 + 12, octets(rng.pick(&addr4))),          // source
                3 => (l3 + 6, vec![*rng.pick(&[0x20, 0x40, 0]), 0]), // fragment
                4 => (l3 + ihl + 1, vec![*rng.pick(&vrids)]),
                5 => (l3 + ihl, vec![*rng.pick(&[0x21, 0x31, 0x32, 0x41, 0x20])]),
                6 => (l3 + ihl + 2, vec![*rng.pick(&[0, 1, 100, 254, 255])]),
                _ => (l3 + ihl + 4, vec![rng.byte(), rng.byte()]), // auth type / interval
            }
        }
        ETH_P_IPV6 => match rng.below(8) {
            0 => (l3 + 7, vec![*rng.pick(&[255, 254, 1])]), // hop limit
            1 => (l3 + 6, vec![*rng.pick(&[112, 58, 0, 60, 43, 44, 17])]),
            2 => (l3 + 8, octets(rng.pick(&addr6))), // source
            3 => (l3, vec![*rng.pick(&[0x60, 0x40, 0x70, 0x00])]),
            4 => (l3 + 41, vec![*rng.pick(&vrids)]),
            5 => (l3 + 40, vec![*rng.pick(&[135, 136, 128, 0x31, 0x21])]),
            6 => (l3 + 48, octets(rng.pick(&addr6))), // ND target
            _ => (l3 + 64, vec![*rng.pick(&[1, 2, 0]), *rng.pick(&[0, 1, 2])]), // ND option
        },
        ETH_P_ARP => match rng.below(5) {
            0 => (l3 + 6, vec![0, *rng.pick(&[0, 1, 2, 3])]), // op
            1 => (l3 + 24, octets(rng.pick(&addr4))),         // target
            2 => (l3 + 14, octets(rng.pick(&addr4))),         // sender
            3 => (l3, vec![0, *rng.pick(&[1, 6])]),           // htype
            _ => (l3 + 8, vec![0xff; 6]),                     // sender MAC
        },
        _ => (
            l3 - 2,
            rng.pick(&[ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q])
                .to_be_bytes()
                .to_vec(),
        ),
    };
    Some(choice)
}

/// Recomputes the VRRP or ICMPv6 checksum (and the IPv4 header's) where the
/// frame still holds the message.
pub(crate) fn fix_checksums(frame: &mut [u8], rng: &mut Rng) {
    let Some((ethertype, l3)) = l2(frame) else {
        return;
    };
    match ethertype {
        ETH_P_IP if frame.len() >= l3 + 20 => {
            let ihl = usize::from(frame[l3] & 0x0f) * 4;
            if ihl >= 20 && frame.len() >= l3 + ihl {
                frame[l3 + 10..l3 + 12].fill(0);
                let c = checksum(&[&frame[l3..l3 + ihl]]);
                frame[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
            }
            if frame[l3 + 9] != IPPROTO_VRRP {
                return;
            }
            let vrrp = l3 + ihl;
            let Some(len) = vrrp_msg_len(frame, vrrp, 4) else {
                return;
            };
            if frame.len() < vrrp + len {
                return;
            }
            frame[vrrp + 6..vrrp + 8].fill(0);
            let msg = &frame[vrrp..vrrp + len];
            let c = if frame[vrrp] >> 4 == 3 && rng.one_in(2) {
                let addrs = &frame[l3 + 12..l3 + 20];
                checksum(&[addrs, &[0, IPPROTO_VRRP], &(len as u16).to_be_bytes(), msg])
            } else {
                checksum(&[msg])
            };
            frame[vrrp + 6..vrrp + 8].copy_from_slice(&c.to_be_bytes());
        }
        ETH_P_IPV6 if frame.len() >= l3 + 40 => {
            let nh = frame[l3 + 6];
            let at = l3 + 40;
            let (len, field) = match nh {
                IPPROTO_VRRP => match vrrp_msg_len(frame, at, 16) {
                    Some(len) => (len, at + 6),
                    None => return,
                },
                IPPROTO_ICMPV6 => (usize::from(be16(frame, l3 + 4).unwrap_or(0)), at + 2),
                _ => return,
            };
            if frame.len() < at + len || field + 2 > at + len {
                return;
            }
            frame[field..field + 2].fill(0);
            let c = checksum(&[
                &frame[l3 + 8..l3 + 40],
                &(len as u32).to_be_bytes(),
                &[0, 0, 0, nh],
                &frame[at..at + len],
            ]);
            frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
        }
        _ => {}
    }
}

/// One mutation of `frame`; returns its name.
pub(crate) fn mutate_once(
    frame: &mut Vec<u8>,
    rng: &mut Rng,
    corpus: &[(String, Vec<u8>)],
) -> &'static str {
    let len = frame.len();
    match rng.below(11) {
        0 if len > 0 => {
            for _ in 0..rng.range(1, 8) {
                let bit = rng.below(len * 8);
                frame[bit / 8] ^= 1 << (bit % 8);
            }
            "bit flips"
        }
        1 if len > 0 => {
            // Near the end (inside the last header) or anywhere.
            let cut = if rng.one_in(2) {
                len.saturating_sub(rng.range(1, 40))
            } else {
                rng.below(len + 1)
            };
            frame.truncate(cut);
            "truncation"
        }
        2 => {
            let n = rng.range(1, 64).min(MAX_FRAME.saturating_sub(len));
            let tail = if rng.one_in(2) {
                vec![0; n]
            } else {
                rng.bytes(n)
            };
            frame.extend(tail);
            "extension"
        }
        3 if len > 0 => {
            for _ in 0..rng.range(1, 4) {
                let at = rng.below(len);
                frame[at] = if rng.one_in(2) {
                    *rng.pick(&INTERESTING)
                } else {
                    rng.byte()
                };
            }
            "byte overwrites"
        }
        4 => {
            let fields = length_fields(frame);
            if fields.is_empty() {
                return "no length field";
            }
            let &(at, width) = rng.pick(&fields);
            let old = if width == 2 {
                usize::from(be16(frame, at).unwrap_or(0))
            } else {
                usize::from(frame[at])
            };
            let new = match rng.below(4) {
                0 => old.wrapping_add(rng.range(1, 8)),
                1 => old.wrapping_sub(rng.range(1, 8)),
                2 => 0,
                _ => rng.next() as usize,
            };
            if width == 2 {
                frame[at..at + 2].copy_from_slice(&(new as u16).to_be_bytes());
            } else if at == l2(frame).map_or(usize::MAX, |(_, l3)| l3) {
                // Version + IHL: keep the version nibble, lie about the IHL.
                frame[at] = (frame[at] & 0xf0) | (new as u8 & 0x0f);
            } else {
                frame[at] = new as u8;
            }
            "length-field lie"
        }
        5 if len >= ETH_HLEN => {
            let mut tags = Vec::new();
            for _ in 0..rng.range(1, 4) {
                let tpid = *rng.pick(&[ETH_P_8021Q, ETH_P_8021AD]);
                tags.extend(tpid.to_be_bytes());
                tags.extend([rng.byte() & 0x0f, rng.byte()]);
            }
            frame.splice(12..12, tags);
            "VLAN tags stacked"
        }
        6 => {
            let Some((ETH_P_IPV6, l3)) = l2(frame) else {
                return "no IPv6 header";
            };
            if frame.len() < l3 + 40 {
                return "no IPv6 header";
            }
            // Hop-by-hop, routing, fragment or destination options, 8 bytes.
            let kind = *rng.pick(&[0u8, 43, 44, 60]);
            let mut ext = vec![frame[l3 + 6], 0];
            ext.extend(rng.bytes(6));
            if kind == 0 || kind == 60 {
                ext[2..].copy_from_slice(&[1, 4, 0, 0, 0, 0]); // PadN
            }
            frame[l3 + 6] = kind;
            let payload = be16(frame, l3 + 4).unwrap_or(0).wrapping_add(8);
            frame[l3 + 4..l3 + 6].copy_from_slice(&payload.to_be_bytes());
            frame.splice(l3 + 40..l3 + 40, ext);
            "IPv6 extension header"
        }
        7 | 8 => {
            let Some((at, bytes)) = semantic_field(frame, rng) else {
                return "no field";
            };
            if at + bytes.len() <= frame.len() {
                frame[at..at + bytes.len()].copy_from_slice(&bytes);
            }
            "header field"
        }
        9 => {
            let other = &rng.pick(corpus).1;
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1).max(cut.min(other.len()));
            frame.truncate(cut);
            frame.extend_from_slice(&other[from..]);
            "splice"
        }
        _ => {
            fix_checksums(frame, rng);
            "checksums fixed"
        }
    }
}

/// Case `i`'s frame and how it was made.
pub(crate) fn generate(rng: &mut Rng, corpus: &[(String, Vec<u8>)]) -> (Vec<u8>, String) {
    match rng.below(8) {
        0 => {
            // Pure random, mostly short.
            let len = if rng.one_in(2) {
                rng.range(0, 100)
            } else {
                rng.range(0, MAX_FRAME)
            };
            (rng.bytes(len), format!("{len} random bytes"))
        }
        1 => {
            // Random behind an interesting EtherType.
            let ethertype = *rng.pick(&[ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q]);
            let len = rng.range(0, 120);
            let mut frame = rng.bytes(12);
            frame.extend(ethertype.to_be_bytes());
            frame.extend(rng.bytes(len));
            (
                frame,
                format!("{len} random bytes after EtherType {ethertype:#06x}"),
            )
        }
        _ => {
            let (name, seed) = rng.pick(corpus);
            let mut frame = seed.clone();
            let mut how = vec![name.clone()];
            for _ in 0..rng.range(1, 4) {
                how.push(mutate_once(&mut frame, rng, corpus).to_owned());
            }
            if rng.one_in(2) {
                fix_checksums(&mut frame, rng);
                how.push("checksums fixed".to_owned());
            }
            frame.truncate(MAX_FRAME);
            (frame, how.join(", "))
        }
    }
}
