//! Script lines: `script "…"`, `notify_master "…" [USER [GROUP]]`,
//! `misc_path "…"`, `notify_up …` and kin.
//!
//! keepalived reads such a line in two passes (lib/notify.c
//! `notify_script_init`, `set_script_params_array`): the line is split into
//! words, honouring `"…"`, `'…'` and backslash escapes; the *first* word after
//! the keyword is the whole command line, which is split again the same way
//! into the program and its arguments; the words after it are the user and
//! group to run as. No shell is involved: `notify_master /x.sh master` runs
//! `/x.sh` as user `master` — the command line must be quoted to carry
//! arguments. The lexer did the first pass; [`split_words`] is the second.

use std::collections::HashMap;

use super::{context::Ctx, lexer::letter_escape, source::Pos, tree::Stmt};
use crate::config::model::{Command, Notify};

/// Splits a command line into words as keepalived's
/// `alloc_strvec_quoted_escaped` does: whitespace separates words; `"…"` and
/// `'…'` quote (the quotes are removed and may join parts into one word);
/// a backslash, inside quotes or not, escapes the next character, with the
/// C escapes `\n \t \r \a \b \f \v \E`, `\xHH`, `\NNN` (octal) and `\cX`.
pub(crate) fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (_, '\\') => {
                    chars.next();
                    let Some(e) = chars.next() else {
                        return Err(format!("`{line}`: a `\\` ends the line"));
                    };
                    escape(e, &mut chars, &mut word);
                    continue;
                }
                (Some(q), c) if c == q => quote = None,
                (None, '"' | '\'') => quote = Some(c),
                (_, c) => word.push(c),
            }
            chars.next();
        }
        if let Some(q) = quote {
            return Err(format!("`{line}`: missing terminating {q}"));
        }
        words.push(word);
    }
}

fn escape(e: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String) {
    let byte = |v: u32| char::from_u32(v & 0xff).unwrap_or('?');
    if let Some(c) = letter_escape(e) {
        word.push(c);
        return;
    }
    match e {
        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
            let mut v = 0u32;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(16)) {
                v = (v << 4) | d;
                chars.next();
            }
            word.push(byte(v));
        }
        'c' if chars.peek().is_some() => {
            let c = chars.next().unwrap_or('@');
            word.push(byte(u32::from(c) & 0x1f));
        }
        '0'..='7' => {
            let mut v = e.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = (v << 3) | d;
                        chars.next();
                    }
                    None => break,
                }
            }
            word.push(byte(v));
        }
        other => word.push(other),
    }
}

/// The command of `KEYWORD "PROGRAM ARGS…" [USER [GROUP]]`. `None` (with an
/// error) when there is no program.
pub(crate) fn command(ctx: &mut Ctx<'_>, stmt: &Stmt) -> Option<Command> {
    let kw = stmt.keyword();
    if stmt.block.is_some() {
        ctx.error(stmt.pos, format!("`{kw}` does not take a `{{ … }}` block"));
        return None;
    }
    let Some(line) = stmt.args().first() else {
        ctx.error(stmt.pos, format!("`{kw}` needs a script"));
        return None;
    };
    let argv = match split_words(line) {
        Ok(argv) if !argv.is_empty() && !argv[0].is_empty() => argv,
        Ok(_) => {
            ctx.error(stmt.pos, format!("`{kw}` needs a script"));
            return None;
        }
        Err(e) => {
            ctx.error(stmt.pos, format!("`{kw}`: {e}"));
            return None;
        }
    };
    let rest = &stmt.args()[1..];
    let (user, group) = user_group(ctx, stmt, rest)?;
    Some(Command { argv, user, group })
}

/// `USER [GROUP]` words; more is an error.
pub(crate) fn user_group(
    ctx: &mut Ctx<'_>,
    stmt: &Stmt,
    words: &[String],
) -> Option<(Option<String>, Option<String>)> {
    match words {
        [] => Some((None, None)),
        [u] => Some((Some(u.clone()), None)),
        [u, g] => Some((Some(u.clone()), Some(g.clone()))),
        [_, _, extra @ ..] => {
            ctx.error(
                stmt.pos,
                format!(
                    "`{}`: only USER [GROUP] may follow; `{}` is too much \
                     (quote the command line)",
                    stmt.keyword(),
                    extra.join(" ")
                ),
            );
            None
        }
    }
}

/// The notify keywords of an instance or sync group and the [`Notify`]
/// field (its TOML key) each sets.
pub(crate) const NOTIFY_KEYWORDS: &[(&str, &str)] = &[
    ("notify_master", "master"),
    ("notify_backup", "backup"),
    ("notify_fault", "fault"),
    ("notify_stop", "stop"),
    ("notify", "any"),
];

/// Reads `stmt` into `notify` if it is one of [`NOTIFY_KEYWORDS`]; returns
/// whether it was. `keys` records the line of each field set.
pub(crate) fn notify_keyword(
    ctx: &mut Ctx<'_>,
    stmt: &Stmt,
    notify: &mut Notify,
    keys: &mut HashMap<&'static str, Pos>,
) -> bool {
    let Some(&(_, key)) = NOTIFY_KEYWORDS.iter().find(|(k, _)| *k == stmt.keyword()) else {
        return false;
    };
    let Some(cmd) = command(ctx, stmt) else {
        return true;
    };
    let slot = match key {
        "master" => &mut notify.master,
        "backup" => &mut notify.backup,
        "fault" => &mut notify.fault,
        "stop" => &mut notify.stop,
        _ => &mut notify.any,
    };
    if let Some(old) = keys.get(key) {
        let old = ctx.place(*old);
        ctx.warn(
            stmt.pos,
            format!("`{}` is also set at {old}; this one wins", stmt.keyword()),
        );
    }
    *slot = Some(cmd);
    keys.insert(key, stmt.pos);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(split("/bin/check  a b"), ["/bin/check", "a", "b"]);
        assert_eq!(
            split(r#"/bin/sh -c 'echo "a b"; exit 1'"#),
            ["/bin/sh", "-c", r#"echo "a b"; exit 1"#]
        );
        assert_eq!(split(r#"x "a"'b'c"#), ["x", "abc"]);
        assert_eq!(split(r"a\ b c\tq"), ["a b", "c\tq"]);
        assert_eq!(split(r"\x41\101\cA"), ["AA\x01"]);
        assert_eq!(split(r#""""#), [""]);
        assert_eq!(split("  "), Vec::<String>::new());
        assert!(split_words("'open").is_err());
        assert!(split_words("end\\").is_err());
    }
}
