//! The rules for what the VIP follows: checks, tracked files and processes,
//! track references, sync groups, virtual servers and scripts.
//!
//! Ranges are keepalived 2.2.7's: a script's and a reference's weight is
//! -253..253, a track file's and a process's -254..254 (the priority is
//! clamped anyway); rise and fall at least 1. The keepalived reader drops
//! references to undeclared names and missing sync group members with a
//! warning, as keepalived does, so the errors here about them concern TOML
//! files, where nothing is silently dropped.

use std::collections::HashMap;

use super::{Field, List, Site, Validator, bad_ifname};
use crate::config::model::{Checker, Config, Probe, TrackKind};

/// The weight range of a script and of a track reference.
pub const MAX_WEIGHT: i32 = 253;
/// The weight range of a track file and of a tracked process.
pub const MAX_OBJECT_WEIGHT: i32 = 254;

impl Validator {
    pub(super) fn service(&mut self, config: &Config) {
        self.checks(config);
        self.track_files(config);
        self.track_processes(config);
        self.track_refs(config);
        self.sync_groups(config);
        self.virtual_servers(config);
        self.commands(config);
    }

    /// Names unique in their list; an error at each repeat, pointing at the
    /// first.
    fn unique<'a>(&mut self, list: List, what: &str, names: impl Iterator<Item = &'a str>) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, name) in names.enumerate() {
            let site = Site::Item {
                list,
                index,
                key: None,
            };
            if name.trim().is_empty() {
                self.error(site, format!("a {what} has an empty name"));
            }
            match seen.get(name) {
                Some(&first) => self.duplicate(
                    site,
                    Site::Item {
                        list,
                        index: first,
                        key: None,
                    },
                    format!("{what} name `{name}` is already used"),
                ),
                None => {
                    seen.insert(name, index);
                }
            }
        }
    }

    fn checks(&mut self, config: &Config) {
        self.unique(
            List::Checks,
            "check",
            config.checks.iter().map(|c| c.name.as_str()),
        );
        for (index, c) in config.checks.iter().enumerate() {
            let at = |key| Site::Item {
                list: List::Checks,
                index,
                key: Some(key),
            };
            let name = &c.name;
            if c.interval.is_zero() {
                self.error(
                    at("interval_ms"),
                    format!("check `{name}`: the interval must be more than 0"),
                );
            }
            if c.timeout.is_some_and(|t| t.is_zero()) {
                self.error(
                    at("timeout_ms"),
                    format!("check `{name}`: the timeout must be more than 0"),
                );
            }
            if c.rise == 0 {
                self.error(
                    at("rise"),
                    format!("check `{name}`: rise must be at least 1"),
                );
            }
            if c.fall == 0 {
                self.error(
                    at("fall"),
                    format!("check `{name}`: fall must be at least 1"),
                );
            }
            if !(-MAX_WEIGHT..=MAX_WEIGHT).contains(&c.weight) {
                self.error(
                    at("weight"),
                    format!(
                        "check `{name}`: weight {} is out of range -253..253",
                        c.weight
                    ),
                );
            }
            self.probe(at("probe"), &c.probe, &format!("check `{name}`"));
        }
    }

    fn probe(&mut self, site: Site, probe: &Probe, what: &str) {
        match probe {
            Probe::Script(_) => {}
            Probe::Tcp { port, .. } => {
                if *port == 0 {
                    self.error(site, format!("{what}: TCP port 0 cannot be connected to"));
                }
            }
            Probe::Http { url, status, .. } => {
                if let Some(why) = url_problem(url) {
                    self.error(site, format!("{what}: URL `{url}` {why}"));
                }
                if let Some(bad) = status.iter().find(|s| !(100..=599).contains(*s)) {
                    self.error(site, format!("{what}: status code {bad} is not 100-599"));
                }
            }
        }
    }

    fn track_files(&mut self, config: &Config) {
        self.unique(
            List::TrackFiles,
            "track file",
            config.track_files.iter().map(|c| c.name.as_str()),
        );
        for (index, f) in config.track_files.iter().enumerate() {
            let at = |key| Site::Item {
                list: List::TrackFiles,
                index,
                key: Some(key),
            };
            if f.path.as_os_str().is_empty() {
                self.error(
                    at("path"),
                    format!("track file `{}` has an empty path", f.name),
                );
            }
            if !(-MAX_OBJECT_WEIGHT..=MAX_OBJECT_WEIGHT).contains(&f.weight) {
                self.error(
                    at("weight"),
                    format!(
                        "track file `{}`: weight {} is out of range -254..254",
                        f.name, f.weight
                    ),
                );
            }
        }
    }

    fn track_processes(&mut self, config: &Config) {
        self.unique(
            List::TrackProcesses,
            "tracked process",
            config.track_processes.iter().map(|c| c.name.as_str()),
        );
        for (index, p) in config.track_processes.iter().enumerate() {
            let at = |key| Site::Item {
                list: List::TrackProcesses,
                index,
                key: Some(key),
            };
            let name = &p.name;
            if p.process.is_empty() {
                self.error(
                    at("process"),
                    format!("tracked process `{name}` names no process"),
                );
            }
            if !(-MAX_OBJECT_WEIGHT..=MAX_OBJECT_WEIGHT).contains(&p.weight) {
                self.error(
                    at("weight"),
                    format!(
                        "tracked process `{name}`: weight {} is out of range -254..254",
                        p.weight
                    ),
                );
            }
            if let Some(max) = p.quorum_max
                && p.quorum > max
            {
                self.error(
                    at("quorum"),
                    format!(
                        "tracked process `{name}`: quorum {} is more than quorum_max {max}",
                        p.quorum
                    ),
                );
            }
        }
    }

    /// Every reference resolves, with a weight in range; interface names are
    /// names the kernel accepts.
    fn track_refs(&mut self, config: &Config) {
        let declared = |kind: TrackKind, name: &str| match kind {
            TrackKind::Check => config.checks.iter().any(|c| c.name == name),
            TrackKind::File => config.track_files.iter().any(|c| c.name == name),
            TrackKind::Process => config.track_processes.iter().any(|c| c.name == name),
            TrackKind::Interface => true,
        };
        for (index, inst) in config.instances.iter().enumerate() {
            for kind in TrackKind::ALL {
                for (i, t) in kind.list(&inst.track).iter().enumerate() {
                    let site = Site::Instance {
                        index,
                        field: Field::Track(kind, i),
                    };
                    let what = format!("instance `{}`: {} `{}`", inst.name, kind.keyword(), t.name);
                    if !declared(kind, &t.name) {
                        let list = match kind {
                            TrackKind::Check => "[[checks]]",
                            TrackKind::File => "[[track_files]]",
                            _ => "[[track_processes]]",
                        };
                        self.error(site, format!("{what} is not declared in {list}"));
                    }
                    if kind == TrackKind::Interface
                        && let Some(why) = bad_ifname(&t.name)
                    {
                        self.error(site, format!("{what}: {why}"));
                    }
                    if let Some(w) = t.weight
                        && !(-MAX_WEIGHT..=MAX_WEIGHT).contains(&w)
                    {
                        self.error(
                            site,
                            format!("{what}: weight {w} is out of range -253..253"),
                        );
                    }
                }
            }
        }
    }

    /// Group names unique, members existing, an instance in one group only.
    fn sync_groups(&mut self, config: &Config) {
        self.unique(
            List::SyncGroups,
            "sync group",
            config.sync_groups.iter().map(|g| g.name.as_str()),
        );
        let mut member_of: HashMap<&str, (usize, usize)> = HashMap::new();
        for (group, g) in config.sync_groups.iter().enumerate() {
            if g.instances.is_empty() {
                self.error(
                    Site::Item {
                        list: List::SyncGroups,
                        index: group,
                        key: None,
                    },
                    format!("sync group `{}` has no instances", g.name),
                );
            }
            for (member, name) in g.instances.iter().enumerate() {
                let site = Site::GroupMember { group, member };
                if !config.instances.iter().any(|i| &i.name == name) {
                    self.error(
                        site,
                        format!("sync group `{}`: there is no instance `{name}`", g.name),
                    );
                }
                match member_of.get(name.as_str()) {
                    Some(&(fg, fm)) => self.duplicate(
                        site,
                        Site::GroupMember {
                            group: fg,
                            member: fm,
                        },
                        format!(
                            "instance `{name}` is in sync group `{}` and already in `{}`: an \
                             instance is in one sync group at most",
                            g.name, config.sync_groups[fg].name
                        ),
                    ),
                    None => {
                        member_of.insert(name, (group, member));
                    }
                }
            }
        }
    }

    fn virtual_servers(&mut self, config: &Config) {
        for (vs, v) in config.virtual_servers.iter().enumerate() {
            for (rs, r) in v.real_servers.iter().enumerate() {
                for (c, checker) in r.checkers.iter().enumerate() {
                    let site = Site::RealServer {
                        vs,
                        rs,
                        checker: Some(c),
                        key: None,
                    };
                    let what = format!("real server {} port {}", r.addr, r.port);
                    self.probe(site, &checker.probe, &what);
                    self.checker_timing(site, checker, &what);
                }
            }
        }
    }

    fn checker_timing(&mut self, site: Site, c: &Checker, what: &str) {
        if c.timeout.is_zero() {
            self.error(
                site,
                format!("{what}: the checker's timeout must be more than 0"),
            );
        }
        if c.delay_loop.is_some_and(|d| d.is_zero()) {
            self.error(
                site,
                format!("{what}: the checker's delay_loop must be more than 0"),
            );
        }
    }

    /// Every program has a name to run.
    fn commands(&mut self, config: &Config) {
        for (site, what, cmd) in crate::config::scripts::sites(config) {
            if cmd.argv.first().is_none_or(|p| p.is_empty()) {
                self.error(site, format!("{what}: the command is empty"));
            }
        }
    }
}

/// What is wrong with an HTTP(S) URL a checker fetches, if anything: it
/// needs the `http` or `https` scheme, a host (a name, an IPv4 address or a
/// bracketed IPv6 address) and an optional port 1-65535.
pub(crate) fn url_problem(url: &str) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("has no scheme (http:// or https://)".into());
    };
    if scheme != "http" && scheme != "https" {
        return Some(format!(
            "has the scheme `{scheme}`; only http and https are checked"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Some("has an unclosed `[`".into());
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Some(format!("has `{addr}`, which is not an IPv6 address"));
        }
        (addr, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Some("has no host".into());
    }
    if !authority.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Some(format!(
            "has the host `{host}`, which is not a name or address"
        ));
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p != 0)
    {
        return Some(format!("has the port `{p}`, which is not 1-65535"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(url_problem("http://198.18.0.1:80/health"), None);
        assert_eq!(url_problem("https://[2001:2::1]:8443/"), None);
        assert_eq!(url_problem("http://example.com"), None);
        assert!(url_problem("ftp://x/").is_some());
        assert!(url_problem("198.18.0.1/x").is_some());
        assert!(url_problem("http://:80/").is_some());
        assert!(url_problem("http://h:0/").is_some());
        assert!(url_problem("http://[::1/").is_some());
        assert!(url_problem("http://a b/").is_some());
    }
}
