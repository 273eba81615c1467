//! [`to_toml`]: a [`Config`] as native TOML, with a comment on the first
//! occurrence of every key saying its unit, default and keepalived keyword.
//!
//! The TOML itself comes from serde, so it is by construction what the reader
//! accepts; comments are added line by line afterwards, and dropped again if
//! they ever changed what the text means.

use crate::config::model::Config;

const HEADER: &str = "\
# ha configuration, native TOML (`ha convert` output).
# Keys documented with a default may be left out; keepalived's defaults apply.
# Durations are integers with the unit in the key (_ms, _cs).
";

/// Comment for each key (or table header), keyed by how its line starts.
const DOCS: &[(&str, &str)] = &[
    ("[global]", "Node-wide settings (keepalived: global_defs)."),
    (
        "router_id = ",
        "Node name in logs (keepalived: router_id). Default: the host name.",
    ),
    (
        "[[instances]]",
        "One virtual router per [[instances]] table (keepalived: vrrp_instance).",
    ),
    (
        "name = ",
        "Instance name, unique (keepalived: vrrp_instance NAME).",
    ),
    (
        "interface = ",
        "Interface adverts use (keepalived: interface). Optional only with unicast_peers.",
    ),
    (
        "vrid = ",
        "Virtual router id, 1-255 (keepalived: virtual_router_id).",
    ),
    (
        "version = ",
        "VRRP version: 2 (RFC 3768, IPv4 only) or 3 (RFC 9568). Default: 2, or 3 for IPv6.",
    ),
    (
        "priority = ",
        "1-255; 255 = address owner. Default: 100 (keepalived: priority).",
    ),
    (
        "advert_int_cs = ",
        "Advert interval in centiseconds: 1-4095 for v3, whole seconds (x100) for v2. Default: 100.",
    ),
    (
        "preempt = ",
        "Take over from a lower-priority master. Default: true (keepalived: nopreempt sets false).",
    ),
    (
        "preempt_delay_ms = ",
        "Delay before preempting, up to 1000000 ms. Default: 0 (keepalived: preempt_delay).",
    ),
    (
        "initial_state_master = ",
        "Start as master at once (keepalived: state MASTER). Default: false (state BACKUP).",
    ),
    (
        "vips = ",
        "Addresses carried in adverts, one family: \"ADDR[/PREFIX]\" or { addr, prefix_len, dev, label }; \
         no prefix = /32 or /128 (keepalived: virtual_ipaddress).",
    ),
    (
        "excluded_vips = ",
        "Addresses owned by the master but not advertised; any family \
         (keepalived: virtual_ipaddress_excluded).",
    ),
    (
        "unicast_src = ",
        "Source of unicast adverts (keepalived: unicast_src_ip). Default: the interface's address.",
    ),
    (
        "unicast_peers = ",
        "Send adverts to these peers instead of multicast (keepalived: unicast_peer).",
    ),
    (
        "accept_from = ",
        "Accept adverts only from these addresses, also in the XDP program \
         (keepalived: check_unicast_src, with the unicast peers). Default: from anyone.",
    ),
    (
        "strict = ",
        "Drop adverts whose address list differs from ours (keepalived: vrrp_strict, strict_mode). \
         Default: false.",
    ),
    (
        "lower_prio_readvert = ",
        "Master answers a lower-priority advert at once (RFC 9568). Default: true \
         (keepalived: lower_prio_no_advert sets false).",
    ),
    (
        "v3_checksum_with_pseudo_header = ",
        "VRRPv3 over IPv4 checksums the pseudo-header, as keepalived and FRR do. Default: true \
         (keepalived: v3_checksum_as_v2 sets false).",
    ),
    (
        "datapath = ",
        "\"xdp\" (default): adverts and ARP handled in the kernel; \"socket\": raw socket fallback.",
    ),
    (
        "handover = ",
        "On SIGTERM, \"make-before-break\" (default) keeps the VIP until a successor is heard; \
         \"immediate\" removes it at once, as keepalived does.",
    ),
    (
        "[instances.auth]",
        "VRRPv2 simple password, 1-8 bytes (keepalived: authentication { auth_type PASS }). \
         Leave out for none.",
    ),
    (
        "[instances.garp]",
        "Gratuitous ARP / unsolicited NA on becoming master (keepalived: garp_master_*).",
    ),
    (
        "master_delay_ms = ",
        "Delay before the second burst; 0 = no second burst. Default: 5000.",
    ),
    ("master_repeat = ", "Packets per burst. Default: 5."),
    (
        "master_refresh_ms = ",
        "Period of repeats while master; 0 = none. Default: 0.",
    ),
    (
        "master_refresh_repeat = ",
        "Packets per repeat. Default: 1.",
    ),
    (
        "interval_us = ",
        "Microseconds between two gratuitous ARPs of a burst (keepalived: vrrp_garp_interval). Default: 0.",
    ),
    (
        "na_interval_us = ",
        "Microseconds between two unsolicited NAs of a burst (keepalived: vrrp_gna_interval). Default: 0.",
    ),
    (
        "script_security = ",
        "Refuse scripts a non-root user could change (keepalived: enable_script_security).",
    ),
    (
        "script_user = ",
        "Who scripts run as unless they name a user (keepalived: script_user). Default: root.",
    ),
    (
        "startup_delay_ms = ",
        "Wait before the instances start (keepalived: vrrp_startup_delay). Default: 0.",
    ),
    (
        "skip_check_adv_addr = ",
        "Accept the master's adverts without comparing address lists (keepalived: skip_check_adv_addr).",
    ),
    (
        "dont_track_primary = ",
        "The interface going down does not mean FAULT (keepalived: dont_track_primary).",
    ),
    (
        "[[checks]]",
        "A named check instances track (keepalived: vrrp_script). Defaults: interval 1 s, \
         timeout = interval, rise 1, fall 1, weight 0 (0 = FAULT on failure).",
    ),
    (
        "[[track_files]]",
        "A file whose integer, times weight, changes the priority (keepalived: track_file). Default weight: 1.",
    ),
    (
        "[[track_processes]]",
        "Processes whose presence is tracked (keepalived: vrrp_track_process). Default quorum: 1.",
    ),
    (
        "[[sync_groups]]",
        "Instances that change state together (keepalived: vrrp_sync_group).",
    ),
    (
        "[[virtual_servers]]",
        "keepalived's virtual_server: ha runs the real servers' checkers and notify scripts, not IPVS.",
    ),
    (
        "[[instances.track.",
        "What the instance follows, by name; weight overrides the tracked object's \
         (keepalived: track_script, track_interface, track_file, track_process).",
    ),
    (
        "[instances.notify]",
        "Scripts run on state changes (keepalived: notify_master, notify_backup, notify_fault, \
         notify_stop, notify). argv is the program and its arguments; no shell.",
    ),
    (
        "[global.notify_fifo]",
        "Every state change as a line on this FIFO (keepalived: notify_fifo, vrrp_notify_fifo).",
    ),
];

/// The configuration as native TOML. Reading the output back gives the same
/// [`Config`].
pub fn to_toml(config: &Config) -> String {
    let plain = toml::to_string_pretty(config).expect("a Config always serializes to TOML");
    let commented = comment(&plain);
    // A comment line can only change the meaning inside a multi-line string;
    // check rather than trust.
    match toml::from_str::<Config>(&commented) {
        Ok(back) if back == *config => commented,
        _ => plain,
    }
}

fn comment(plain: &str) -> String {
    let mut out = String::from(HEADER);
    let mut done = vec![false; DOCS.len()];
    for line in plain.lines() {
        if let Some(i) = DOCS
            .iter()
            .position(|(start, _)| line.starts_with(start))
            .filter(|&i| !done[i])
        {
            done[i] = true;
            if line.starts_with('[') && !out.ends_with("\n\n") {
                out.push('\n');
            }
            for part in wrap(DOCS[i].1, 78) {
                out.push_str("# ");
                out.push_str(&part);
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Splits text into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let cur = lines.last_mut().expect("never empty");
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
    }

    #[test]
    fn empty_config_round_trips() {
        let text = to_toml(&Config::default());
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), Config::default());
    }
}
