//! Which format a configuration file is in.
//!
//! A `.toml` extension decides. Otherwise the text is sniffed: keepalived's
//! top-level blocks (`global_defs {`, `vrrp_instance NAME {`, …) or an
//! `include` line mean keepalived.conf; a `[table]` header or `key = value`
//! means TOML; anything else is read as keepalived.conf, the format of the
//! files most likely to be handed over unnamed (`/etc/keepalived/keepalived.conf`).

use std::path::Path;

use super::keepalived::lexer::INCLUDE_KEYWORDS;

/// A configuration format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ha's native TOML (the serde form of [`Config`](super::Config)).
    Toml,
    /// keepalived.conf syntax.
    Keepalived,
}

/// keepalived keywords that only appear at the top level of its files.
const KEEPALIVED_TOP: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_script",
    "virtual_server",
    "virtual_server_group",
    "static_ipaddress",
    "static_routes",
];

/// Decides the format of `path` whose content is `text`.
pub fn detect_format(path: &Path, text: &str) -> Format {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        return Format::Toml;
    }
    let mut looks_toml = false;
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with(['#', '!']) {
            continue;
        }
        let first = line
            .split(|c: char| c.is_whitespace() || c == '{')
            .next()
            .unwrap_or_default();
        if KEEPALIVED_TOP.contains(&first) || INCLUDE_KEYWORDS.contains(&first) {
            return Format::Keepalived;
        }
        if line.starts_with('[') || is_toml_assignment(line) {
            looks_toml = true;
        }
    }
    if looks_toml {
        Format::Toml
    } else {
        Format::Keepalived
    }
}

/// `key = …` or `"quoted key" = …` (keepalived never writes `=` after its
/// first word).
fn is_toml_assignment(line: &str) -> bool {
    let Some((key, _)) = line.split_once('=') else {
        return false;
    };
    let key = key.trim();
    !key.is_empty()
        && (key.starts_with('"')
            || key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_wins() {
        assert_eq!(
            detect_format(Path::new("ha.toml"), "vrrp_instance X {"),
            Format::Toml
        );
    }

    #[test]
    fn sniffs() {
        let p = Path::new("/etc/keepalived/keepalived.conf");
        assert_eq!(
            detect_format(p, "! Configuration File\nglobal_defs {\n}\n"),
            Format::Keepalived
        );
        assert_eq!(
            detect_format(p, "vrrp_instance VI_1{\n}\n"),
            Format::Keepalived
        );
        assert_eq!(
            detect_format(p, "include conf.d/*.conf\n"),
            Format::Keepalived
        );
        assert_eq!(
            detect_format(p, "# ha\n[global]\nrouter_id = \"a\"\n"),
            Format::Toml
        );
        assert_eq!(
            detect_format(p, "[[instances]]\nname = \"a\"\n"),
            Format::Toml
        );
        assert_eq!(detect_format(p, ""), Format::Keepalived);
    }
}
