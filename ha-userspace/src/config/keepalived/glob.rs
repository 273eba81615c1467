//! Expands `include` patterns the way glob(3) does for keepalived: `*`, `?`
//! and `[…]` per path component, csh-style `{a,b}` alternatives, results
//! sorted, dot files matched only by a pattern that starts with a dot.
//!
//! Patterns come from files ha is asked to check, so every step is bounded:
//! brace expansion, directory entries looked at and files matched each have a
//! limit, and matching a name takes time linear in pattern times name.

use std::{
    collections::HashSet,
    fs,
    path::{Component, Path, PathBuf},
};

/// At most this many patterns after brace expansion: `{a,b}{a,b}…` doubles
/// with each group.
const MAX_ALTERNATIVES: usize = 256;
/// At most this many directory entries looked at for one pattern: `/*/*/*`
/// would walk the whole file system.
const MAX_ENTRIES: usize = 65_536;
/// At most this many files matched by one pattern.
pub(crate) const MAX_MATCHES: usize = 1024;

/// Whether a pattern contains any glob syntax; a pattern without it names one
/// file that must exist.
pub(crate) fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// All existing paths matching `pattern`, relative patterns taken from `base`.
/// Each brace alternative is expanded in turn and its matches sorted, as
/// glob(3) with GLOB_BRACE does; a path matched twice is listed once. A
/// pattern that expands, walks or matches beyond the limits above is refused
/// with the reason.
pub(crate) fn expand(pattern: &str, base: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = HashSet::new();
    let mut budget = MAX_ENTRIES;
    for alt in braces(pattern)? {
        let path = Path::new(&alt);
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        };
        let mut matches = walk(&full, &mut budget)?;
        matches.sort();
        for m in matches {
            if seen.insert(m.clone()) {
                out.push(m);
            }
        }
        if out.len() > MAX_MATCHES {
            return Err(format!(
                "the pattern matches more than {MAX_MATCHES} files (include fewer at a time)"
            ));
        }
    }
    Ok(out)
}

/// Expands `{a,b,…}` groups (nested ones included), first group first, into
/// one pattern per alternative, in order. Unbalanced braces are literal.
/// Works through a stack rather than recursion so that no pattern can
/// exhaust the call stack.
fn braces(pattern: &str) -> Result<Vec<String>, String> {
    let too_many = || {
        format!("the pattern's brace alternatives expand to more than {MAX_ALTERNATIVES} patterns")
    };
    let mut out = Vec::new();
    let mut todo = vec![pattern.to_string()];
    let mut steps = 0;
    while let Some(p) = todo.pop() {
        steps += 1;
        if steps > 4 * MAX_ALTERNATIVES {
            return Err(too_many());
        }
        let Some((open, commas, close)) = first_group(&p) else {
            out.push(p);
            if out.len() > MAX_ALTERNATIVES {
                return Err(too_many());
            }
            continue;
        };
        let (head, tail) = (&p[..open], &p[close + 1..]);
        let mut bounds = vec![open];
        bounds.extend(commas);
        bounds.push(close);
        // Reversed onto the stack, so the first alternative comes out first.
        for w in bounds.windows(2).rev() {
            todo.push(format!("{head}{}{tail}", &p[w[0] + 1..w[1]]));
        }
        if todo.len() > MAX_ALTERNATIVES {
            return Err(too_many());
        }
    }
    Ok(out)
}

/// The first `{` of a pattern, the top-level commas of its group and its
/// closing `}`; `None` without a balanced first group.
fn first_group(pattern: &str) -> Option<(usize, Vec<usize>, usize)> {
    let open = pattern.find('{')?;
    let mut depth = 0usize;
    let mut commas = Vec::new();
    for (i, &b) in pattern.as_bytes().iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((open, commas, i));
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    None
}

/// Matches a brace-free pattern component by component against the file
/// system, looking at no more than `budget` directory entries in all.
fn walk(pattern: &Path, budget: &mut usize) -> Result<Vec<PathBuf>, String> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = match comp {
            Component::Normal(p) => p.to_string_lossy().into_owned(),
            other => {
                for c in &mut current {
                    c.push(other.as_os_str());
                }
                continue;
            }
        };
        if !has_magic(&part) {
            for c in &mut current {
                c.push(&part);
            }
            continue;
        }
        let mut next = Vec::new();
        for dir in &current {
            let read_from = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(entries) = fs::read_dir(read_from) else {
                continue;
            };
            for entry in entries.flatten() {
                *budget = budget.checked_sub(1).ok_or_else(|| {
                    format!(
                        "the pattern looks at more than {MAX_ENTRIES} directory entries \
                         (use a narrower one)"
                    )
                })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && !part.starts_with('.') {
                    continue;
                }
                if fnmatch(part.as_bytes(), name.as_bytes()) {
                    next.push(dir.join(&name));
                }
            }
        }
        current = next;
    }
    current.retain(|p| p.exists());
    Ok(current)
}

/// Shell wildcard match of one name: `*`, `?`, `[set]`, `[!set]`/`[^set]`
/// with ranges, `\x` for a literal x. Time O(pattern × name): on a mismatch
/// only the latest `*` takes one more byte (every other element matches
/// exactly one byte, so no earlier choice needs revisiting).
fn fnmatch(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if pat.get(p) == Some(&b'*') {
            star = Some((p, n));
            p += 1;
            continue;
        }
        if let Some(len) = one(&pat[p..], name[n]) {
            p += len;
            n += 1;
            continue;
        }
        match star {
            Some((sp, sn)) => {
                star = Some((sp, sn + 1));
                p = sp + 1;
                n = sn + 1;
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

/// Whether the element at the start of `pat` (not a `*`) matches byte `c`,
/// and if so its length in the pattern.
fn one(pat: &[u8], c: u8) -> Option<usize> {
    match pat {
        [] => None,
        [b'?', ..] => Some(1),
        [b'[', rest @ ..] => match class(rest) {
            Some((set, negate, len)) => (in_class(set, c) != negate).then_some(1 + len),
            None => (c == b'[').then_some(1),
        },
        [b'\\', e, ..] => (*e == c).then_some(2),
        [p, ..] => (*p == c).then_some(1),
    }
}

/// A bracket set after its `[`: its members, whether it is negated (`[!…]`
/// or `[^…]`), and its length through the closing `]`. A `]` right after the
/// opening is a member, not the end.
fn class(pat: &[u8]) -> Option<(&[u8], bool, usize)> {
    let negate = matches!(pat.first(), Some(b'!' | b'^'));
    let start = usize::from(negate);
    let end = pat
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|&(_, &b)| b == b']')
        .map(|(i, _)| i)?;
    Some((&pat[start..end], negate, end + 1))
}

/// Whether `c` is in a bracket set's members (`a-z` ranges included).
fn in_class(set: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if set[i] <= c && c <= set[i + 2] {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(fnmatch(b"*.conf", b"a.conf"));
        assert!(!fnmatch(b"*.conf", b"a.conf.bak"));
        assert!(fnmatch(b"v?.conf", b"v1.conf"));
        assert!(fnmatch(b"[ab]*", b"beta"));
        assert!(!fnmatch(b"[!ab]*", b"beta"));
        assert!(fnmatch(b"[a-c]x", b"bx"));
        assert!(fnmatch(b"[]]", b"]"));
        assert!(fnmatch(b"a\\*", b"a*"));
        assert!(!fnmatch(b"a\\*", b"ab"));
    }

    #[test]
    fn brace_alternatives() {
        assert_eq!(braces("a{b,c}d").unwrap(), vec!["abd", "acd"]);
        assert_eq!(
            braces("{foo/{,cat,dog},bar}").unwrap(),
            vec!["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(braces("a{b").unwrap(), vec!["a{b"]);
        assert_eq!(braces("{a}{b,c}").unwrap(), vec!["ab", "ac"]);
    }

    #[test]
    fn brace_explosions_are_refused() {
        // 2^20 alternatives.
        let e = braces(&"{a,b}".repeat(20)).unwrap_err();
        assert!(e.contains("more than 256"), "{e}");
        // Deep nesting with one alternative each: no recursion, a bound.
        let deep = format!("{}x{}", "{".repeat(5000), "}".repeat(5000));
        assert!(braces(&deep).is_err());
        // Unbalanced: literal, at once.
        assert_eq!(braces(&"{".repeat(5000)).unwrap().len(), 1);
    }

    #[test]
    fn stars_do_not_backtrack_exponentially() {
        let name = "a".repeat(200);
        let pat = format!("{}b", "*a".repeat(60));
        let t = std::time::Instant::now();
        assert!(!fnmatch(pat.as_bytes(), name.as_bytes()));
        assert!(fnmatch("*a".repeat(60).as_bytes(), name.as_bytes()));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(fnmatch(b"*", b""));
        assert!(fnmatch(b"a*b*c", b"axxbyyc"));
        assert!(!fnmatch(b"a*b*c", b"axxbyy"));
        assert!(fnmatch(b"*[", b"x["));
        assert!(fnmatch(b"x\\", b"x\\"));
    }

    #[test]
    fn expands_against_the_file_system() {
        let dir = std::env::temp_dir().join(format!("ha-glob-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        for f in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            fs::write(dir.join("conf.d").join(f), "").unwrap();
        }
        let got = expand("conf.d/*.conf", &dir).unwrap();
        assert_eq!(
            got,
            vec![dir.join("conf.d/a.conf"), dir.join("conf.d/b.conf")]
        );
        let got = expand("conf.d/{c.txt,b.conf}", &dir).unwrap();
        assert_eq!(
            got,
            vec![dir.join("conf.d/c.txt"), dir.join("conf.d/b.conf")]
        );
        assert!(expand("nothing/*.conf", &dir).unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
