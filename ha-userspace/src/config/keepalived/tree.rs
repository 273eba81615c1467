//! Builds the block structure of a keepalived configuration from its token
//! lines: a statement is the words of one line, and owns a block when a `{`
//! follows its words (on the same line, or alone at the start of the next
//! line, which keepalived also accepts). Content may share a line with its
//! braces: `authentication { auth_type PASS` is a statement with a block whose
//! first statement is `auth_type PASS`.

use super::{
    keywords::shown,
    lexer::Tok,
    source::{Pos, SrcLine},
};

/// One statement: a keyword, its arguments, and maybe a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt {
    /// Where its first word is.
    pub pos: Pos,
    /// The keyword and its arguments; never empty.
    pub words: Vec<String>,
    /// The `{ … }` that follows, if any.
    pub block: Option<Vec<Stmt>>,
}

impl Stmt {
    /// The keyword.
    pub fn keyword(&self) -> &str {
        &self.words[0]
    }

    /// The arguments after the keyword.
    pub fn args(&self) -> &[String] {
        &self.words[1..]
    }
}

/// Blocks nest at most this deep. keepalived's deepest is about four
/// (`virtual_server { real_server { HTTP_GET { url {`); the bound keeps the
/// tree, which is dropped, compared and printed recursively, shallow.
pub(crate) const MAX_NESTING: usize = 32;

/// A brace that does not pair up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BraceError {
    pub pos: Pos,
    pub message: String,
}

struct Frame {
    /// The statement owning the block (`None` for the top level, or for a
    /// block with no keyword before it, which is reported and dropped).
    owner: Option<(Pos, Vec<String>)>,
    open: Pos,
    body: Vec<Stmt>,
}

/// The statement tree and what was fixed up on the way.
#[derive(Debug)]
pub(crate) struct Built {
    pub stmts: Vec<Stmt>,
    /// Blocks still open at the end, closed there as keepalived does.
    pub warnings: Vec<BraceError>,
}

/// Builds the statement tree. A block still open at the end of the
/// configuration is closed there with a warning at the line that opened it
/// (keepalived: "There are N missing '}'s", and it reads on). Any other
/// unbalanced brace is an error at the brace that has no partner; the tree
/// is then not usable.
pub(crate) fn build(lines: &[SrcLine]) -> Result<Built, Vec<BraceError>> {
    let mut errors = Vec::new();
    let mut stack = vec![Frame {
        owner: None,
        open: Pos::default(),
        body: Vec::new(),
    }];
    for line in lines {
        let mut words: Vec<String> = Vec::new();
        for tok in &line.toks {
            match tok {
                Tok::Word(w) => words.push(w.clone()),
                Tok::Open => {
                    let top = stack.last_mut().expect("the top level is never popped");
                    let owner = if words.is_empty() {
                        // `{` alone: it opens the block of the previous line's
                        // statement, if that has none yet.
                        match top.body.last() {
                            Some(prev) if prev.block.is_none() => {
                                let prev = top.body.pop().expect("just matched");
                                Some((prev.pos, prev.words))
                            }
                            _ => {
                                errors.push(BraceError {
                                    pos: line.pos,
                                    message: "`{` has no keyword before it".into(),
                                });
                                None
                            }
                        }
                    } else {
                        Some((line.pos, std::mem::take(&mut words)))
                    };
                    if stack.len() > MAX_NESTING {
                        // Nothing after this can be paired up reliably.
                        errors.push(BraceError {
                            pos: line.pos,
                            message: format!("blocks are nested deeper than {MAX_NESTING}"),
                        });
                        return Err(errors);
                    }
                    stack.push(Frame {
                        owner,
                        open: line.pos,
                        body: Vec::new(),
                    });
                }
                Tok::Close => {
                    flush(&mut stack, line.pos, &mut words);
                    if stack.len() == 1 {
                        errors.push(BraceError {
                            pos: line.pos,
                            message: "`}` closes no open block".into(),
                        });
                        continue;
                    }
                    let frame = stack.pop().expect("checked above");
                    if let Some((pos, words)) = frame.owner {
                        let top = stack.last_mut().expect("the top level is never popped");
                        top.body.push(Stmt {
                            pos,
                            words,
                            block: Some(frame.body),
                        });
                    }
                }
            }
        }
        flush(&mut stack, line.pos, &mut words);
    }
    let mut warnings = Vec::new();
    let missing = stack.len() - 1;
    while stack.len() > 1 {
        let frame = stack.pop().expect("checked by the loop");
        let Some((pos, words)) = frame.owner else {
            continue;
        };
        warnings.push(BraceError {
            pos: frame.open,
            message: format!(
                "`{{` (after `{}`) is never closed; closed at the end of the configuration, \
                 as keepalived does (\"There are {missing} missing '}}'s\")",
                shown(&words)
            ),
        });
        let top = stack.last_mut().expect("the top level is never popped");
        top.body.push(Stmt {
            pos,
            words,
            block: Some(frame.body),
        });
    }
    warnings.reverse();
    if errors.is_empty() {
        Ok(Built {
            stmts: stack.pop().expect("the top level").body,
            warnings,
        })
    } else {
        errors.sort_by_key(|e| (e.pos.file, e.pos.line));
        Err(errors)
    }
}

fn flush(stack: &mut [Frame], pos: Pos, words: &mut Vec<String>) {
    if !words.is_empty() {
        let top = stack.last_mut().expect("the top level is never popped");
        top.body.push(Stmt {
            pos,
            words: std::mem::take(words),
            block: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keepalived::lexer::lex;

    fn tree(text: &str) -> Result<Vec<Stmt>, Vec<BraceError>> {
        built(text).map(|b| b.stmts)
    }

    fn built(text: &str) -> Result<Built, Vec<BraceError>> {
        let (lines, _) = lex(text);
        let lines: Vec<SrcLine> = lines
            .into_iter()
            .map(|l| SrcLine {
                pos: Pos {
                    file: 0,
                    line: l.line,
                },
                toks: l.toks,
            })
            .collect();
        build(&lines)
    }

    fn shape(stmts: &[Stmt]) -> String {
        stmts
            .iter()
            .map(|s| match &s.block {
                Some(b) => format!("{}@{}{{{}}}", s.words.join(" "), s.pos.line, shape(b)),
                None => format!("{}@{}", s.words.join(" "), s.pos.line),
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn blocks_on_one_line_and_across_lines() {
        let t = tree("a {\n  auth { auth_type PASS\n auth_pass x }\n b 1\n}\n").unwrap();
        assert_eq!(
            shape(&t),
            "a@1{auth@2{auth_type PASS@2;auth_pass x@3};b 1@4}"
        );
        let t = tree("vrrp_instance X\n{\n  vip { 1.2.3.4 }\n}\n").unwrap();
        assert_eq!(shape(&t), "vrrp_instance X@1{vip@3{1.2.3.4@3}}");
        let t = tree("g { x }\nh { }").unwrap();
        assert_eq!(shape(&t), "g@1{x@1};h@2{}");
    }

    #[test]
    fn unbalanced() {
        // Open at the end: closed there, with a warning at the opening line.
        let b = built("a {\n b {\n}\n c 1\n").unwrap();
        assert_eq!(shape(&b.stmts), "a@1{b@2{};c 1@4}");
        assert_eq!(b.warnings.len(), 1);
        assert_eq!(b.warnings[0].pos.line, 1);
        assert!(
            b.warnings[0].message.contains("never closed"),
            "{}",
            b.warnings[0].message
        );
        let b = built("a {\n b {\n").unwrap();
        assert_eq!(shape(&b.stmts), "a@1{b@2{}}");
        assert_eq!(
            b.warnings.iter().map(|w| w.pos.line).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(b.warnings[0].message.contains("2 missing"));
        let e = tree("a {\n}\n}\n").unwrap_err();
        assert_eq!(e[0].pos.line, 3);
        let e = tree("{\n}\n").unwrap_err();
        assert_eq!(e[0].pos.line, 1);
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!(
            "{}{}",
            "a {\n".repeat(MAX_NESTING),
            "}\n".repeat(MAX_NESTING)
        );
        tree(&ok).unwrap();
        let deep = format!("{}{}", "a {\n".repeat(100_000), "}\n".repeat(100_000));
        let e = tree(&deep).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].pos.line, MAX_NESTING + 1);
        assert!(e[0].message.contains("nested deeper"), "{}", e[0].message);
    }
}
