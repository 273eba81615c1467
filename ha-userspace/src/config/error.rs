//! What the user is told about a configuration: hard errors and warnings, each
//! with the file and line it is about, displayed as `PATH:LINE: message` so
//! editors and `grep -n` habits work on it.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use thiserror::Error;

/// A place in a configuration file. Line 0 means the file as a whole (it could
/// not be read, or the problem has no better place).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// The file, as the user named it (or as an include resolved it).
    pub file: PathBuf,
    /// 1-based line number; 0 for the whole file.
    pub line: usize,
}

impl Loc {
    /// A line in a file.
    pub fn new(file: impl Into<PathBuf>, line: usize) -> Self {
        Loc {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.file, self.line)
    }
}

fn write_place(f: &mut fmt::Formatter<'_>, file: &Path, line: usize) -> fmt::Result {
    if line == 0 {
        write!(f, "{}", file.display())
    } else {
        write!(f, "{}:{}", file.display(), line)
    }
}

/// A configuration the daemon must not run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// File the problem is in.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is the file as a whole.
    pub line: usize,
    /// What is wrong, and where useful what to write instead.
    pub message: String,
}

impl ConfigError {
    /// An error at a place.
    pub fn at(loc: &Loc, message: impl Into<String>) -> Self {
        ConfigError {
            file: loc.file.clone(),
            line: loc.line,
            message: message.into(),
        }
    }

    /// Where the error is.
    pub fn loc(&self) -> Loc {
        Loc::new(self.file.clone(), self.line)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.file, self.line)?;
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Something the daemon will run with, but differently from what the file
/// says or from what keepalived would do (a keyword not implemented yet, a
/// value rounded, a password truncated). Never silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// File the warning is about.
    pub file: PathBuf,
    /// 1-based line; 0 for the file as a whole.
    pub line: usize,
    /// What was ignored or changed, and why.
    pub message: String,
}

impl Warning {
    /// A warning at a place.
    pub fn at(loc: &Loc, message: impl Into<String>) -> Self {
        Warning {
            file: loc.file.clone(),
            line: loc.line,
            message: message.into(),
        }
    }

    /// Where the warning is.
    pub fn loc(&self) -> Loc {
        Loc::new(self.file.clone(), self.line)
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_place(f, &self.file, self.line)?;
        write!(f, ": warning: {}", self.message)
    }
}

/// Every hard error found in one configuration, in file order. `check`
/// returns all of them so `ha check-config` can list them at once; `load`
/// returns the first.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", display_all(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn display_all(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// At most this many errors, and as many warnings, are kept; the rest are
/// counted. A file of a million bad lines is told so without holding a
/// million messages.
pub(crate) const MAX_REPORTED: usize = 1000;
/// Messages are cut to this many bytes: they quote the user's words, and a
/// word can be as long as a line.
const MAX_MESSAGE_BYTES: usize = 512;

/// Collects errors and warnings while a file is read.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<Warning>,
    errors_dropped: usize,
    warnings_dropped: usize,
}

impl Diagnostics {
    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(ConfigError::at(loc, clip(message.into())));
        } else {
            self.errors_dropped += 1;
        }
    }

    pub fn warn(&mut self, loc: &Loc, message: impl Into<String>) {
        if self.warnings.len() < MAX_REPORTED {
            self.warnings.push(Warning::at(loc, clip(message.into())));
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// Says how many errors and warnings were left out, at `main` as a whole.
    pub fn finish(&mut self, main: &Path) {
        let at = Loc::new(main, 0);
        if self.errors_dropped > 0 {
            let n = self.errors_dropped;
            self.errors.push(ConfigError::at(
                &at,
                format!("{n} more errors are not shown (only the first {MAX_REPORTED} are)"),
            ));
        }
        if self.warnings_dropped > 0 {
            let n = self.warnings_dropped;
            self.warnings.push(Warning::at(
                &at,
                format!("{n} more warnings are not shown (only the first {MAX_REPORTED} are)"),
            ));
        }
    }
}

/// `message` cut at a character boundary to at most [`MAX_MESSAGE_BYTES`],
/// marked with `…` when cut.
fn clip(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_path_line_message() {
        let e = ConfigError::at(&Loc::new("/etc/keepalived/keepalived.conf", 12), "bad");
        assert_eq!(e.to_string(), "/etc/keepalived/keepalived.conf:12: bad");
        let e = ConfigError::at(&Loc::new("x.conf", 0), "cannot read");
        assert_eq!(e.to_string(), "x.conf: cannot read");
        let w = Warning::at(&Loc::new("x.conf", 3), "ignored");
        assert_eq!(w.to_string(), "x.conf:3: warning: ignored");
    }

    #[test]
    fn bounded_in_count_and_length() {
        let mut d = Diagnostics::default();
        for line in 1..=MAX_REPORTED + 5 {
            d.error(&Loc::new("x.conf", line), "bad");
            d.warn(&Loc::new("x.conf", line), "é".repeat(1000));
        }
        d.finish(Path::new("x.conf"));
        assert_eq!(d.errors.len(), MAX_REPORTED + 1);
        assert_eq!(
            d.errors[MAX_REPORTED].to_string(),
            "x.conf: 5 more errors are not shown (only the first 1000 are)"
        );
        assert_eq!(d.warnings.len(), MAX_REPORTED + 1);
        assert!(d.warnings[0].message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
        assert!(d.warnings[0].message.ends_with("é…"));
    }
}
