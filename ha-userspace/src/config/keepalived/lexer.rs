//! Splits one keepalived.conf file into tokens, line by line.
//!
//! keepalived's syntax (keepalived.conf(5), "Quoted strings" and the
//! introduction): words separated by whitespace; `{` and `}` are tokens of
//! their own even when written against a word; `#` or `!` starts a comment to
//! the end of the line anywhere outside quotes; `"…"` or `'…'` quote a part of
//! a word (the quotes are removed, `abc" d "e` is one word `abc d e`) and
//! inside quotes the shell-like escapes `\n`, `\t`, `\xHH`, `\NNN`, `\cC` …
//! apply. An `include` line keeps its argument raw so that brace globs
//! (`{a,b}`) survive.

/// One token of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A word, quotes removed and escapes applied.
    Word(String),
    /// `{`
    Open,
    /// `}`
    Close,
}

/// The tokens of one physical line that has any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexLine {
    /// 1-based line number.
    pub line: usize,
    /// Tokens, in order.
    pub toks: Vec<Tok>,
}

/// A line that could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The include keywords; their argument is one raw glob pattern.
pub(crate) const INCLUDE_KEYWORDS: &[&str] = &[
    "include", "includer", "includem", "includew", "includeb", "includea", "includet",
];

/// The longest line read. Real lines are short; this bounds what one line
/// can cost (a word, a quoted string, an include pattern) whatever it holds.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;

/// Splits `text` into lines of tokens. Lines without tokens are left out; a
/// line that cannot be split, or is longer than [`MAX_LINE_BYTES`], is
/// reported and left out too.
pub(crate) fn lex(text: &str) -> (Vec<LexLine>, Vec<LexError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.len() > MAX_LINE_BYTES {
            errors.push(LexError {
                line,
                message: format!(
                    "the line is {} bytes long; at most {MAX_LINE_BYTES} are read",
                    raw.len()
                ),
            });
            continue;
        }
        match lex_line(raw) {
            Ok(toks) if toks.is_empty() => {}
            Ok(toks) => lines.push(LexLine { line, toks }),
            Err(message) => errors.push(LexError { line, message }),
        }
    }
    (lines, errors)
}

fn is_comment(c: char) -> bool {
    c == '#' || c == '!'
}

fn lex_line(raw: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut word = String::new();
    // A word has started even if it is empty so far (`""` is an empty word).
    let mut in_word = false;
    let mut chars = raw.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => flush(&mut toks, &mut word, &mut in_word),
            c if is_comment(c) => break,
            '{' | '}' => {
                flush(&mut toks, &mut word, &mut in_word);
                toks.push(if c == '{' { Tok::Open } else { Tok::Close });
            }
            '"' | '\'' => {
                in_word = true;
                quoted(&mut chars, c, &mut word)?;
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
        // After the first word of an include line, the rest is one raw pattern.
        if toks.len() == 1
            && !in_word
            && matches!(&toks[0], Tok::Word(w) if INCLUDE_KEYWORDS.contains(&w.as_str()))
        {
            let rest = raw[at + c.len_utf8()..].trim_start();
            if let Some(arg) = include_argument(rest) {
                toks.push(Tok::Word(arg));
            }
            return Ok(toks);
        }
    }
    flush(&mut toks, &mut word, &mut in_word);
    Ok(toks)
}

fn flush(toks: &mut Vec<Tok>, word: &mut String, in_word: &mut bool) {
    if *in_word {
        toks.push(Tok::Word(std::mem::take(word)));
        *in_word = false;
    }
}

/// The pattern of an include line: up to a comment, trimmed, one pair of
/// surrounding quotes removed.
fn include_argument(rest: &str) -> Option<String> {
    let arg = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or_default(),
        _ => rest.split(is_comment).next().unwrap_or_default().trim_end(),
    };
    (!arg.is_empty()).then(|| arg.to_string())
}

/// The character a one-letter C escape (`\a \b \E \f \n \r \t \v`) stands
/// for; the lexer's quoted parts and a script line's second split both
/// decode them (keepalived's two passes over a script line).
pub(super) fn letter_escape(e: char) -> Option<char> {
    Some(match e {
        'a' => '\x07',
        'b' => '\x08',
        'E' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        _ => return None,
    })
}

/// Reads a quoted part up to the closing `quote`, applying escapes.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    quote: char,
    word: &mut String,
) -> Result<(), String> {
    while let Some((_, c)) = chars.next() {
        if c == quote {
            return Ok(());
        }
        if c != '\\' {
            word.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        if let Some(c) = letter_escape(e) {
            word.push(c);
            continue;
        }
        match e {
            'c' => match chars.next() {
                Some((_, ctl)) => word.push(char::from((ctl as u8) & 0x1f)),
                None => break,
            },
            'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match chars.peek().and_then(|&(_, d)| d.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            n += 1;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    word.push('x');
                } else {
                    word.push(char::from_u32(v).unwrap_or('?'));
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|&(_, d)| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                word.push(char::from_u32(v & 0xff).unwrap_or('?'));
            }
            other => word.push(other),
        }
    }
    Err(format!(
        "unterminated quoted string: missing closing {quote}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Tok> {
        lex_line(line).unwrap()
    }

    fn w(s: &str) -> Tok {
        Tok::Word(s.to_string())
    }

    #[test]
    fn words_braces_comments() {
        assert_eq!(
            words("vrrp_instance VI_1{ # comment {"),
            vec![w("vrrp_instance"), w("VI_1"), Tok::Open]
        );
        assert_eq!(
            words("  auth_pass secret12 }"),
            vec![w("auth_pass"), w("secret12"), Tok::Close]
        );
        assert_eq!(words("priority 100 ! old"), vec![w("priority"), w("100")]);
        assert_eq!(words("   "), vec![]);
    }

    #[test]
    fn quotes_as_the_man_page_says() {
        assert_eq!(
            words(r#"abcd" efg h jkl "mnop"#),
            vec![w("abcd efg h jkl mnop")]
        );
        assert_eq!(
            words(r#"abcd "efg h jkl" mnop"#),
            vec![w("abcd"), w("efg h jkl"), w("mnop")]
        );
        assert_eq!(words(r#"x "a#b{c}" y"#), vec![w("x"), w("a#b{c}"), w("y")]);
        assert_eq!(words(r#""""#), vec![w("")]);
        assert_eq!(words(r#""a\tb\x41\101\"q""#), vec![w("a\tbAA\"q")]);
        assert!(lex_line(r#"auth_pass "open"#).is_err());
    }

    #[test]
    fn include_keeps_its_pattern_raw() {
        assert_eq!(
            words("include /etc/keepalived/{a,b}/*.conf # all"),
            vec![w("include"), w("/etc/keepalived/{a,b}/*.conf")]
        );
        assert_eq!(
            words(r#"include "conf.d/my file.conf""#),
            vec![w("include"), w("conf.d/my file.conf")]
        );
        assert_eq!(words("include"), vec![w("include")]);
    }

    #[test]
    fn overlong_lines_are_refused() {
        let text = format!("a\nb {}\nc\n", "x".repeat(MAX_LINE_BYTES));
        let (lines, errors) = lex(&text);
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("bytes long"), "{:?}", errors[0]);
    }

    #[test]
    fn line_numbers_and_errors() {
        let (lines, errors) = lex("a\n\n# c\nb \"x\n c {\n");
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(errors[0].line, 4);
    }
}
