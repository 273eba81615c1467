//! The native format: TOML that is exactly the serde form of [`Config`].
//!
//! Unknown keys are errors (every struct denies them), so a typo never turns
//! into a silently applied default. toml's own errors carry a byte span,
//! turned into `PATH:LINE` here; problems found later by `validate` are
//! located through [`spans`].

mod emit;
mod redact;
mod spans;

use std::path::Path;

pub use emit::to_toml;
pub(crate) use spans::Lines;

use super::{
    error::{Diagnostics, Loc},
    model::Config,
    scripts::{self, ScriptSite},
    validate,
};

/// Reads a native TOML configuration. Returns the config if it deserialized,
/// with the programs it runs; everything found wrong with it goes to `diags`.
pub(crate) fn read(
    text: &str,
    file: &Path,
    diags: &mut Diagnostics,
) -> Option<(Config, Vec<ScriptSite>)> {
    let mut config: Config = match toml::from_str(text) {
        Ok(c) => c,
        Err(e) => {
            let line = e.span().map_or(0, |s| Lines::new(text).line_of(s.start));
            let message = redact::redact(e.message().trim_end(), text);
            diags.error(&Loc::new(file, line), message);
            return None;
        }
    };
    let map = spans::TomlMap::new(file, text);
    // keepalived runs an IPv6 instance as VRRPv3 unless told otherwise; the
    // serde default (2) cannot see the addresses, so apply the rule here.
    for (index, inst) in config.instances.iter_mut().enumerate() {
        if inst.is_ipv6() && !map.instance_has(index, "version") {
            inst.version = 3;
        }
    }
    validate::report(validate::validate(&config), &map, diags);
    let scripts = scripts::locate(&config, &map);
    Some((config, scripts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_syntax_error_has_a_line() {
        let mut d = Diagnostics::default();
        let c = read("[global]\nrouter_id = \n", Path::new("x.toml"), &mut d);
        assert!(c.is_none());
        assert_eq!(d.errors[0].line, 2);
    }

    #[test]
    fn ipv6_defaults_to_v3() {
        let text = "[[instances]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 1\nvips = [\"2001:2::1/64\"]\n";
        let mut d = Diagnostics::default();
        let c = read(text, Path::new("x.toml"), &mut d);
        assert_eq!(d.errors, vec![]);
        assert_eq!(c.unwrap().0.instances[0].version, 3);
    }
}
