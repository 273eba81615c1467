//! Shared plumbing for the keepalived parsers: reporting at a [`Pos`], and
//! the common shapes of a statement (one value, a flag, an optional boolean,
//! a block).

use super::{
    keywords::shown,
    source::{Files, Pos},
    tree::Stmt,
    values,
};
use crate::config::error::Diagnostics;

/// What every parser function gets: the file table and the diagnostics.
pub(crate) struct Ctx<'a> {
    pub files: &'a Files,
    pub diags: &'a mut Diagnostics,
}

impl Ctx<'_> {
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        let loc = self.files.loc(pos);
        self.diags.error(&loc, message);
    }

    pub fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        let loc = self.files.loc(pos);
        self.diags.warn(&loc, message);
    }

    /// `file:line` of a position, for messages that point elsewhere.
    pub fn place(&self, pos: Pos) -> String {
        self.files.loc(pos).to_string()
    }

    /// Reports a block where none belongs; true when there was one.
    fn stray_block(&mut self, stmt: &Stmt) -> bool {
        if stmt.block.is_some() {
            self.error(
                stmt.pos,
                format!("`{}` does not take a `{{ … }}` block", stmt.keyword()),
            );
            true
        } else {
            false
        }
    }

    /// The single argument of `keyword VALUE`. Extra words are ignored with a
    /// warning (keepalived ignores them too); a missing value is an error.
    pub fn value<'s>(&mut self, stmt: &'s Stmt) -> Option<&'s str> {
        if self.stray_block(stmt) {
            return None;
        }
        match stmt.args() {
            [] => {
                self.error(stmt.pos, format!("`{}` needs a value", stmt.keyword()));
                None
            }
            [v] => Some(v),
            [v, rest @ ..] => {
                let message = if shown(&stmt.words) == stmt.words.join(" ") {
                    format!(
                        "extra words after `{} {v}` are ignored: `{}`",
                        stmt.keyword(),
                        rest.join(" ")
                    )
                } else {
                    // A secret: say how many words, not which.
                    format!(
                        "`{}` takes one word; the {} after it are ignored",
                        stmt.keyword(),
                        rest.len()
                    )
                };
                self.warn(stmt.pos, message);
                Some(v)
            }
        }
    }

    /// A keyword that takes no value.
    pub fn flag(&mut self, stmt: &Stmt) {
        if !self.stray_block(stmt) && !stmt.args().is_empty() {
            self.warn(
                stmt.pos,
                format!(
                    "`{}` takes no value; `{}` is ignored",
                    stmt.keyword(),
                    stmt.args().join(" ")
                ),
            );
        }
    }

    /// `keyword [<BOOL>]`: no value means true.
    pub fn opt_bool(&mut self, stmt: &Stmt) -> Option<bool> {
        if stmt.args().is_empty() && !self.stray_block(stmt) {
            return Some(true);
        }
        let v = self.value(stmt)?;
        let b = values::boolean(v);
        if b.is_none() {
            self.error(
                stmt.pos,
                format!(
                    "`{}`: `{v}` is not a boolean (on|off|true|false|yes|no)",
                    stmt.keyword()
                ),
            );
        }
        b
    }

    /// The body of `keyword { … }`.
    pub fn block<'s>(&mut self, stmt: &'s Stmt) -> Option<&'s [Stmt]> {
        if stmt.block.is_none() {
            self.error(
                stmt.pos,
                format!("`{}` needs a `{{ … }}` block", stmt.keyword()),
            );
        }
        stmt.block.as_deref()
    }

    /// An integer in `lo..=hi`, reported with `out_of_range(value)` when
    /// outside.
    pub fn int_in(
        &mut self,
        stmt: &Stmt,
        lo: i64,
        hi: i64,
        out_of_range: impl Fn(i64) -> String,
    ) -> Option<i64> {
        let v = self.value(stmt)?;
        match values::integer(v) {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            Some(n) => {
                self.error(stmt.pos, out_of_range(n));
                None
            }
            None => {
                self.error(
                    stmt.pos,
                    format!("`{}`: `{v}` is not a whole number", stmt.keyword()),
                );
                None
            }
        }
    }

    /// Stores a value, warning when the keyword was already given (the last
    /// one wins, as in keepalived).
    pub fn set<T>(&mut self, slot: &mut Option<(T, Pos)>, value: T, stmt: &Stmt) {
        if let Some((_, old)) = slot {
            let old = self.place(*old);
            self.warn(
                stmt.pos,
                format!("`{}` is also set at {old}; this one wins", stmt.keyword()),
            );
        }
        *slot = Some((value, stmt.pos));
    }
}

/// keepalived's parameter definitions (`$NAME=…`) and sequences (`~SEQ`) are
/// not supported; such lines are skipped with a warning. Returns true when
/// the statement was one of them. (Conditional `@ID` lines are resolved when
/// the file is read.)
pub(crate) fn skip_advanced(ctx: &mut Ctx<'_>, stmt: &Stmt) -> bool {
    let kw = stmt.keyword();
    if kw.starts_with('$') || kw.starts_with('~') {
        ctx.warn(
            stmt.pos,
            format!(
                "parameter definitions and sequences (`{kw}`) are not supported; the line is ignored"
            ),
        );
        true
    } else {
        false
    }
}
