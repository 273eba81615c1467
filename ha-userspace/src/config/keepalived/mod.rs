//! The keepalived.conf reader: the same file a keepalived user already has.
//!
//! Pipeline: [`source`] reads the file and its includes into token lines
//! ([`lexer`], [`glob`]), [`tree`] pairs the braces into statements and
//! blocks, [`parser`] reads the statements ([`global`], [`instance`],
//! [`addresses`]) into a [`Config`] applying keepalived's defaults, and
//! `validate` checks the result. Everything keepalived accepts but ha does not
//! implement is reported as a warning with its file and line.

mod addresses;
mod context;
mod glob;
mod global;
mod instance;
mod keywords;
pub(crate) mod lexer;
mod membership;
mod parser;
mod routes;
mod script;
mod source;
mod sync_group;
mod track;
mod tree;
mod values;
mod virtual_server;

use std::path::{Path, PathBuf};

use super::{
    error::Diagnostics,
    model::Config,
    scripts::{self, ScriptSite},
    validate,
};

/// What reading a keepalived configuration produced.
pub(crate) struct Read {
    /// The configuration, unless the file could not be structured at all.
    pub config: Option<Config>,
    /// Every file read, main file first.
    pub files: Vec<PathBuf>,
    /// The programs the configuration runs, with their lines.
    pub scripts: Vec<ScriptSite>,
}

/// Reads the keepalived configuration at `path` (whose text is `text`),
/// following its includes; `config_id` selects the `@ID` lines (keepalived's
/// `-i`), by default the host name up to its first dot.
pub(crate) fn read(
    path: &Path,
    text: &str,
    config_id: Option<&str>,
    diags: &mut Diagnostics,
) -> Read {
    let id = config_id.map_or_else(source::default_config_id, str::to_string);
    let (files, lines) = source::read_text(path, text, &id, diags);
    let paths = files.paths().to_vec();
    let stmts = match tree::build(&lines) {
        Ok(built) => {
            for w in built.warnings {
                diags.warn(&files.loc(w.pos), w.message);
            }
            built.stmts
        }
        Err(errors) => {
            for e in errors {
                diags.error(&files.loc(e.pos), e.message);
            }
            return Read {
                config: None,
                files: paths,
                scripts: Vec::new(),
            };
        }
    };
    let (config, map) = parser::parse(&stmts, &files, diags);
    validate::report(validate::validate(&config), &map, diags);
    let scripts = scripts::locate(&config, &map);
    Read {
        config: Some(config),
        files: paths,
        scripts,
    }
}
