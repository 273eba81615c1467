//! Which keepalived keywords ha knows but does not implement yet, so that a
//! config using them is read with a warning naming the feature, and an
//! unknown word (likely a typo) is told apart with a suggestion.
//!
//! The lists follow keepalived.conf(5) of keepalived 2.2.7; LVS (IPVS) is out
//! of scope: `virtual_server` is read for its checkers only.

/// Top-level blocks of later work (`NAME { … }` or `{ … }`).
pub(crate) const TOP_LATER: &[&str] = &[
    "bfd_instance",
    "garp_group",
    "linkbeat_interfaces",
    "track_group",
    "interface_up_down_delays",
    "SSL",
];

/// The top-level keywords ha reads.
pub(crate) const TOP_SUPPORTED: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "vrrp_track_process",
    "track_file",
    "vrrp_track_file",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "virtual_server",
    "virtual_server_group",
];

/// The keywords ha reads in a `vrrp_instance`.
pub(crate) const INSTANCE_SUPPORTED: &[&str] = &[
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "nopreempt",
    "no_preempt",
    "preempt",
    "preempt_delay",
    "authentication",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "unicast_src_ip",
    "unicast_peer",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "lower_prio_no_advert",
    "v3_checksum_as_v2",
    "check_unicast_src",
    "strict_mode",
    "track_script",
    "track_interface",
    "track_file",
    "track_process",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "mcast_src_ip",
    "skip_check_adv_addr",
    "dont_track_primary",
    "use_vmac",
    "vmac_xmit_base",
    "virtual_routes",
    "virtual_rules",
];

/// `vrrp_instance` keywords of later work.
pub(crate) const INSTANCE_LATER: &[&str] = &[
    "track_bfd",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "notify_priority_changes",
    "smtp_alert",
    "use_vmac_addr",
    "use_ipvlan",
    "accept",
    "no_accept",
    "mcast_dst_ip",
    "unicast_fault_no_peer",
    "unicast_ttl",
    "track_src_ip",
    "old_unicast_checksum",
    "higher_prio_send_advert",
    "down_timer_adverts",
    "timer_expired_backup",
    "thread_timer_expired",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "garp_extra_if",
    "garp_extra_if_vmac",
    "promote_secondaries",
    "native_ipv6",
    "no_virtual_ipaddress",
    "vrf",
    "linkbeat_use_polling",
    "kernel_rx_buf_size",
    "auth_hmac",
    "debug",
];

/// The `global_defs` keywords ha reads.
pub(crate) const GLOBAL_SUPPORTED: &[&str] = &[
    "router_id",
    "vrrp_version",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "v3_checksum_as_v2",
    "vrrp_lower_prio_no_advert",
    "vrrp_check_unicast_src",
    "vrrp_strict",
    "enable_script_security",
    "script_user",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_skip_check_adv_addr",
    "vrrp_startup_delay",
];

/// `global_defs` keywords of keepalived that ha does not implement (yet, or
/// ever: LVS, SNMP, DBus, process tuning).
pub(crate) const GLOBAL_LATER: &[&str] = &[
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "no_email_faults",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_higher_prio_send_advert",
    "vrrp_down_timer_adverts",
    "vrrp_delay_after_boot",
    "max_auto_priority",
    "min_auto_priority_delay",
    "vrrp_priority",
    "vrrp_rt_priority",
    "vrrp_rlimit_rttime",
    "vrrp_no_swap",
    "vrrp_cpu_affinity",
    "dynamic_interfaces",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_counters",
    "vrrp_iptables",
    "vrrp_ipsets",
    "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload",
    "reload_check_config",
    "reload_file",
    "reload_time_file",
    "reload_repeat",
    "state_file_location",
    "stats_file_location",
    "json_file_location",
    "json_version",
    "data_use_instance",
    "enable_dbus",
    "dbus_service_name",
    "dbus_no_interface_name",
    "snmp_socket",
    "enable_snmp_vrrp",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "default_interface",
    "disable_local_igmp",
    "log_unknown_vrids",
    "linkbeat_use_polling",
    "vmac_prefix",
    "vmac_addr_prefix",
    "umask",
    "random_seed",
    "child_wait_time",
    "include_check",
    "config_save_dir",
    "tmp_config_directory",
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "checker_priority",
    "checker_rt_priority",
    "checker_rlimit_rttime",
    "checker_no_swap",
    "checker_cpu_affinity",
    "checker_log_all_failures",
    "bfd_priority",
    "bfd_rt_priority",
    "bfd_rlimit_rttime",
    "bfd_no_swap",
    "bfd_cpu_affinity",
    "lvs_id",
    "lvs_sync_daemon",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_timeouts",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "rs_init_notifies",
    "no_checker_emails",
];

/// VIP options (after the address) ha does not implement yet; the value says
/// whether the option takes an argument.
pub(crate) const VIP_OPTIONS_LATER: &[(&str, bool)] = &[
    ("brd", true),
    ("broadcast", true),
    ("scope", true),
    ("peer", true),
    ("preferred_lft", true),
    ("track_group", true),
    ("home", false),
    ("-nodad", false),
    ("nodad", false),
    ("mngtmpaddr", false),
    ("noprefixroute", false),
    ("autojoin", false),
    ("no_track", false),
    ("use_vmac", false),
];

/// " (did you mean `x`?)" when a known keyword is within two edits of `word`.
pub(crate) fn suggestion(word: &str, lists: &[&[&str]]) -> String {
    // Lengths more than 2 apart are more than 2 edits apart: skipping them
    // keeps a line-long word from costing its length times every keyword's.
    let len = word.chars().count();
    lists
        .iter()
        .flat_map(|l| l.iter())
        .filter(|k| k.len().abs_diff(len) <= 2)
        .map(|k| (edit_distance(word, k), *k))
        .filter(|&(d, _)| d > 0 && d <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// Keywords whose arguments are secrets: never repeated in a message.
const SECRET_KEYWORDS: &[&str] = &["auth_pass"];

/// The words of a statement as a message may quote them: the arguments of a
/// secret keyword (`auth_pass`) replaced by `…`.
pub(crate) fn shown(words: &[String]) -> String {
    match words {
        [kw, rest @ ..] if SECRET_KEYWORDS.contains(&kw.as_str()) && !rest.is_empty() => {
            format!("{kw} …")
        }
        _ => words.join(" "),
    }
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_shown() {
        let w = |s: &[&str]| s.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(shown(&w(&["auth_pass", "s3cret", "x"])), "auth_pass …");
        assert_eq!(shown(&w(&["auth_pass"])), "auth_pass");
        assert_eq!(shown(&w(&["priority", "5"])), "priority 5");
    }

    #[test]
    fn suggests_near_keywords_only() {
        assert_eq!(
            suggestion("priorty", &[INSTANCE_SUPPORTED]),
            " (did you mean `priority`?)"
        );
        assert_eq!(suggestion("frobnicate", &[INSTANCE_SUPPORTED]), "");
        assert_eq!(
            suggestion("priori", &[INSTANCE_SUPPORTED]),
            " (did you mean `priority`?)"
        );
        let t = std::time::Instant::now();
        for _ in 0..100 {
            assert_eq!(suggestion(&"q".repeat(16_000), &[INSTANCE_SUPPORTED]), "");
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
