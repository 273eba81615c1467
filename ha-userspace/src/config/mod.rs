//! Configuration: the native model the daemon consumes, its TOML form, and a
//! reader for keepalived.conf so a keepalived user's file works as it is.
//!
//! - [`model`]: [`Config`] and its parts, with keepalived's defaults.
//! - [`load`] / [`check`]: read a file in either format ([`detect_format`]),
//!   validate it, and return it with its [`Warning`]s, or the errors as
//!   `PATH:LINE: message`; [`Options`] for keepalived's config-id.
//! - [`to_toml`]: the native TOML of a config (what `ha convert` prints).
//! - [`validate()`]: the rules both formats share.
//!
//! Whatever the input, reading ends in a configuration or in errors with
//! their file and line: never a panic, a hang or unbounded memory. Files are
//! read through `read` (regular files only, at most [`MAX_FILE_BYTES`]) and
//! the keepalived reader bounds includes, lines and nesting.

mod detect;
mod duration_serde;
pub mod error;
mod keepalived;
pub mod model;
mod native;
mod read;
pub mod route;
mod scripts;
pub mod service;
pub mod validate;
pub mod vip;

use std::path::{Path, PathBuf};

pub use detect::{Format, detect_format};
pub use error::{ConfigError, ConfigErrors, Loc, Warning};
pub use model::{Auth, Config, Datapath, Garp, Global, Handover, Instance, Vmac};
pub use native::to_toml;
pub use read::MAX_FILE_BYTES;
pub use scripts::ScriptSite;
pub use validate::validate;
pub use vip::Vip;

use error::Diagnostics;

/// A configuration that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The configuration to run.
    pub config: Config,
    /// What the user should know: keywords not implemented, values rounded.
    pub warnings: Vec<Warning>,
    /// The format the main file was read as.
    pub format: Format,
    /// Every file read, main file first (includes after it), e.g. to watch
    /// for a reload.
    pub files: Vec<PathBuf>,
    /// Every program the configuration runs (check and notify scripts,
    /// `MISC_CHECK`, the FIFO script) with the line naming it: what
    /// `exec::security::script_problems` checks on the filesystem.
    pub scripts: Vec<ScriptSite>,
}

/// How to read a configuration. `Options::default()` is what [`load`],
/// [`check`] and [`check_str`] use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// keepalived's config-id (`keepalived -i ID`): a keepalived.conf line
    /// starting `@ID` applies only when ID matches, `@^ID` only when it does
    /// not. `None` means the host name up to its first dot, as in keepalived.
    pub config_id: Option<String>,
}

impl Options {
    /// Reads, parses and validates the configuration at `path`; the first
    /// error if there is any. See [`Options::check`] for all of them.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Loaded, ConfigError> {
        self.check(path).map_err(|mut e| e.0.remove(0))
    }

    /// Like [`Options::load`], but returns every error found (in file order),
    /// for `ha check-config`. The error list is never empty.
    pub fn check(&self, path: impl AsRef<Path>) -> Result<Loaded, ConfigErrors> {
        let path = path.as_ref();
        let text = read::read_file(path)
            .map_err(|e| ConfigErrors(vec![ConfigError::at(&Loc::new(path, e.line), e.message)]))?;
        self.check_str(path, &text)
    }

    /// Like [`Options::check`] for text already in memory; `path` names it in
    /// messages, decides the format with [`detect_format`], and anchors
    /// relative includes.
    pub fn check_str(&self, path: impl AsRef<Path>, text: &str) -> Result<Loaded, ConfigErrors> {
        let path = path.as_ref();
        read::check_size(text.len())
            .map_err(|e| ConfigErrors(vec![ConfigError::at(&Loc::new(path, 0), e.message)]))?;
        let format = detect_format(path, text);
        let mut diags = Diagnostics::default();
        let (config, files, scripts) = match format {
            Format::Toml => {
                let (config, scripts) = native::read(text, path, &mut diags).unzip();
                (
                    config,
                    vec![path.to_path_buf()],
                    scripts.unwrap_or_default(),
                )
            }
            Format::Keepalived => {
                let read = keepalived::read(path, text, self.config_id.as_deref(), &mut diags);
                (read.config, read.files, read.scripts)
            }
        };
        diags.finish(path);
        let by_place = |file: &Path, line: usize| (file_rank(&files, file), line);
        match config {
            Some(config) if diags.errors.is_empty() => {
                let mut warnings = diags.warnings;
                warnings.sort_by_key(|w| by_place(&w.file, w.line));
                Ok(Loaded {
                    config,
                    warnings,
                    format,
                    files,
                    scripts,
                })
            }
            _ => {
                let mut errors = diags.errors;
                if errors.is_empty() {
                    errors.push(ConfigError::at(&Loc::new(path, 0), "no configuration read"));
                }
                // Stable: errors at one place keep the order they were found in.
                errors.sort_by_key(|e| by_place(&e.file, e.line));
                Err(ConfigErrors(errors))
            }
        }
    }
}

/// Reads, parses and validates the configuration at `path` with default
/// [`Options`]; the first error if there is any. See [`check`] for all.
pub fn load(path: impl AsRef<Path>) -> Result<Loaded, ConfigError> {
    Options::default().load(path)
}

/// Like [`load`], but returns every error found, in file order.
pub fn check(path: impl AsRef<Path>) -> Result<Loaded, ConfigErrors> {
    Options::default().check(path)
}

/// Like [`check`] for text already in memory (see [`Options::check_str`]).
pub fn check_str(path: impl AsRef<Path>, text: &str) -> Result<Loaded, ConfigErrors> {
    Options::default().check_str(path, text)
}

fn file_rank(files: &[PathBuf], file: &Path) -> usize {
    files.iter().position(|f| f == file).unwrap_or(usize::MAX)
}
