//! Reads a keepalived.conf and everything it includes into one stream of
//! token lines, each remembering its file and line.
//!
//! keepalived.conf(5): an include pattern may be absolute or relative, and a
//! relative one is taken from the directory of the file that contains the
//! `include` line; patterns may use wildcards and `{a,b}` alternatives.
//! keepalived's plain `include` only logs a missing file; ha refuses a missing
//! named file (a typo would otherwise drop whole instances) and warns when a
//! wildcard matches nothing (an empty conf.d is normal).
//!
//! Conditional lines are resolved here too (keepalived.conf(5), "Conditional
//! configuration"): a line starting `@ID` is kept only when ID is the
//! config-id, `@^ID` only when it is not, so one file can serve both nodes.
//!
//! A file may include anything, so reading is bounded: files are read with
//! `config::read` (regular files only, each at most 4 MiB), a loop back into
//! a file being read is an error, and reading stops with an error at
//! [`MAX_FILES`] files, [`MAX_TOTAL_BYTES`] bytes or [`MAX_TOKENS`] tokens
//! in all, so that includes fanning out at every level end quickly too.

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
};

use super::{
    glob,
    lexer::{self, INCLUDE_KEYWORDS, Tok},
};
use crate::config::{
    error::{Diagnostics, Loc},
    read::{MAX_FILE_BYTES, read_file},
};

/// Deeper than this is taken to be an include loop.
const MAX_DEPTH: usize = 32;
/// At most this many files are read in all (an include read twice counts
/// twice): includes that fan out at every level multiply.
pub(crate) const MAX_FILES: usize = 1024;
/// At most this many bytes are read in all, main file and includes.
pub(crate) const MAX_TOTAL_BYTES: usize = 4 * MAX_FILE_BYTES as usize;
/// At most this many tokens are kept in all: what memory the token lines and
/// the statement tree take is proportional to it.
pub(crate) const MAX_TOKENS: usize = 1 << 20;

/// A position: an index into [`Files`] and a 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub file: usize,
    pub line: usize,
}

/// Every file read, in the order first read; the first is the main file.
#[derive(Debug, Default)]
pub(crate) struct Files {
    paths: Vec<PathBuf>,
}

impl Files {
    /// The user-facing location of a position.
    pub(crate) fn loc(&self, pos: Pos) -> Loc {
        Loc::new(self.paths[pos.file].clone(), pos.line)
    }

    /// The files read, main file first.
    pub(crate) fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    fn add(&mut self, path: &Path) -> usize {
        self.paths.push(path.to_path_buf());
        self.paths.len() - 1
    }
}

/// One line of tokens from some file.
#[derive(Debug, Clone)]
pub(crate) struct SrcLine {
    pub pos: Pos,
    pub toks: Vec<Tok>,
}

/// Splits the main file's text and reads its includes, keeping the `@ID`
/// lines meant for `config_id`. Problems (missing files, unterminated quotes,
/// include loops) go to `diags`; the lines that could be read are returned
/// regardless.
pub(crate) fn read_text(
    path: &Path,
    text: &str,
    config_id: &str,
    diags: &mut Diagnostics,
) -> (Files, Vec<SrcLine>) {
    let mut reader = Reader {
        files: Files::default(),
        lines: Vec::new(),
        stack: Vec::new(),
        config_id,
        bytes: text.len(),
        tokens: 0,
        stopped: false,
        loops: HashSet::new(),
    };
    reader.file(path, text, diags);
    (reader.files, reader.lines)
}

struct Reader<'a> {
    config_id: &'a str,
    files: Files,
    lines: Vec<SrcLine>,
    /// Canonical paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
    /// Bytes read so far, all files.
    bytes: usize,
    /// Tokens kept so far, all files.
    tokens: usize,
    /// A limit was reached and reported: nothing more is read.
    stopped: bool,
    /// Include loops reported: where, and the file included again.
    loops: HashSet<(Loc, PathBuf)>,
}

impl Reader<'_> {
    fn file(&mut self, path: &Path, text: &str, diags: &mut Diagnostics) {
        let file = self.files.add(path);
        self.stack
            .push(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
        let (lines, errors) = lexer::lex(text);
        for e in errors {
            diags.error(&Loc::new(path, e.line), e.message);
        }
        for l in lines {
            if self.stopped {
                break;
            }
            let pos = Pos { file, line: l.line };
            self.tokens += l.toks.len();
            if self.tokens > MAX_TOKENS {
                self.stop(
                    &Loc::new(path, l.line),
                    format!("the configuration has more than {MAX_TOKENS} words and braces"),
                    diags,
                );
                break;
            }
            let Some(toks) = conditional(l.toks, self.config_id) else {
                continue;
            };
            match toks.first() {
                Some(Tok::Word(w)) if INCLUDE_KEYWORDS.contains(&w.as_str()) => {
                    self.include(path, pos, &toks, diags);
                }
                Some(_) => self.lines.push(SrcLine { pos, toks }),
                None => {}
            }
        }
        self.stack.pop();
    }

    fn include(&mut self, from: &Path, pos: Pos, toks: &[Tok], diags: &mut Diagnostics) {
        let at = Loc::new(from, pos.line);
        let Some(Tok::Word(pattern)) = toks.get(1) else {
            diags.error(&at, "`include` needs a file name or pattern");
            return;
        };
        let base = from.parent().unwrap_or(Path::new("."));
        let matches = match glob::expand(pattern, base) {
            Ok(m) => m,
            Err(why) => {
                // The reason first: a long pattern is cut in the message.
                diags.error(&at, format!("include: {why}: `{pattern}`"));
                return;
            }
        };
        if matches.is_empty() {
            if glob::has_magic(pattern) {
                diags.warn(&at, format!("include `{pattern}` matches no file"));
            } else {
                diags.error(
                    &at,
                    format!(
                        "include `{pattern}`: no such file ({})",
                        base.join(pattern).display()
                    ),
                );
            }
            return;
        }
        for m in matches {
            if self.stopped {
                return;
            }
            let canon = fs::canonicalize(&m).unwrap_or_else(|_| m.clone());
            if self.stack.contains(&canon) {
                // Once per place and file: includes that fan out meet the
                // same loop along many paths.
                if self.loops.insert((at.clone(), canon)) {
                    diags.error(
                        &at,
                        format!(
                            "include `{}` includes itself (an include loop)",
                            m.display()
                        ),
                    );
                }
                continue;
            }
            if self.stack.len() >= MAX_DEPTH {
                diags.error(&at, format!("includes nested deeper than {MAX_DEPTH}"));
                return;
            }
            if self.files.paths.len() >= MAX_FILES {
                self.stop(
                    &at,
                    format!(
                        "more than {MAX_FILES} files are included in all (includes fanning out?)"
                    ),
                    diags,
                );
                return;
            }
            match read_file(&m) {
                Ok(text) => {
                    self.bytes += text.len();
                    if self.bytes > MAX_TOTAL_BYTES {
                        self.stop(
                            &at,
                            format!(
                                "the configuration and its includes are larger than {} MiB in all",
                                MAX_TOTAL_BYTES >> 20
                            ),
                            diags,
                        );
                        return;
                    }
                    self.file(&m, &text, diags);
                }
                // A bad byte is reported where it is; anything else where
                // the file was included.
                Err(e) if e.line > 0 => diags.error(&Loc::new(&m, e.line), e.message),
                Err(e) => diags.error(&at, format!("include `{}`: {}", m.display(), e.message)),
            }
        }
    }

    /// Reports a limit reached and stops reading.
    fn stop(&mut self, at: &Loc, message: String, diags: &mut Diagnostics) {
        diags.error(at, message);
        self.stopped = true;
    }
}

/// The tokens of a line for this node: an `@ID` / `@^ID` prefix is removed
/// when it selects `config_id`, and the whole line dropped when it does not.
fn conditional(mut toks: Vec<Tok>, config_id: &str) -> Option<Vec<Tok>> {
    let keep = match toks.first() {
        Some(Tok::Word(w)) => match w.strip_prefix('@') {
            Some(id) => match id.strip_prefix('^') {
                Some(not_id) => not_id != config_id,
                None => id == config_id,
            },
            None => return Some(toks),
        },
        _ => return Some(toks),
    };
    keep.then(|| {
        toks.remove(0);
        toks
    })
}

/// keepalived's default config-id: the host name up to its first dot.
pub(crate) fn default_config_id() -> String {
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    host.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Tok {
        Tok::Word(s.to_string())
    }

    #[test]
    fn conditional_lines() {
        let line = || vec![w("@main"), w("priority"), w("150")];
        assert_eq!(
            conditional(line(), "main"),
            Some(vec![w("priority"), w("150")])
        );
        assert_eq!(conditional(line(), "backup"), None);
        let not = || vec![w("@^main"), w("198.18.0.1")];
        assert_eq!(conditional(not(), "main"), None);
        assert_eq!(conditional(not(), "backup"), Some(vec![w("198.18.0.1")]));
        assert_eq!(conditional(vec![w("x")], "main"), Some(vec![w("x")]));
    }
}
