//! Expands `include` patterns the way glob(3) does for keepalived: `*`, `?`
//! and `[…]` per path component, csh-style `{a,b}` alternatives, results
//! sorted, dot files matched only by a pattern that starts with a dot.

use std::{
    fs,
    path::{Component, Path, PathBuf},
};

/// Whether a pattern contains any glob syntax; a pattern without it names one
/// file that must exist.
pub(crate) fn has_magic(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// All existing paths matching `pattern`, relative patterns taken from `base`.
/// Each brace alternative is expanded in turn and its matches sorted, as
/// glob(3) with GLOB_BRACE does; a path matched twice is listed once.
pub(crate) fn expand(pattern: &str, base: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for alt in braces(pattern) {
        let path = Path::new(&alt);
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        };
        let mut matches = walk(&full);
        matches.sort();
        for m in matches {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Expands the first `{a,b,…}` group (nested groups included) into one
/// pattern per alternative, recursively. Unbalanced braces are literal.
fn braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    bounds
        .windows(2)
        .flat_map(|w| braces(&format!("{head}{}{tail}", &pattern[w[0] + 1..w[1]])))
        .collect()
}

/// Matches a brace-free pattern component by component against the file
/// system.
fn walk(pattern: &Path) -> Vec<PathBuf> {
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
    current
}

/// Shell wildcard match of one name: `*`, `?`, `[set]`, `[!set]`/`[^set]`
/// with ranges, `\x` for a literal x.
fn fnmatch(pat: &[u8], name: &[u8]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some(b'*') => (0..=name.len()).any(|i| fnmatch(&pat[1..], &name[i..])),
        Some(b'?') => !name.is_empty() && fnmatch(&pat[1..], &name[1..]),
        Some(b'[') => match (class(&pat[1..]), name.first()) {
            (Some((set, negate, len)), Some(&c)) => {
                in_class(set, c) != negate && fnmatch(&pat[1 + len..], &name[1..])
            }
            (None, Some(&c)) => c == b'[' && fnmatch(&pat[1..], &name[1..]),
            (_, None) => false,
        },
        Some(b'\\') if pat.len() > 1 => {
            name.first() == Some(&pat[1]) && fnmatch(&pat[2..], &name[1..])
        }
        Some(&p) => name.first() == Some(&p) && fnmatch(&pat[1..], &name[1..]),
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
        assert_eq!(braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            braces("{foo/{,cat,dog},bar}"),
            vec!["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(braces("a{b"), vec!["a{b"]);
    }

    #[test]
    fn expands_against_the_file_system() {
        let dir = std::env::temp_dir().join(format!("ha-glob-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("conf.d")).unwrap();
        for f in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            fs::write(dir.join("conf.d").join(f), "").unwrap();
        }
        let got = expand("conf.d/*.conf", &dir);
        assert_eq!(
            got,
            vec![dir.join("conf.d/a.conf"), dir.join("conf.d/b.conf")]
        );
        let got = expand("conf.d/{c.txt,b.conf}", &dir);
        assert_eq!(
            got,
            vec![dir.join("conf.d/c.txt"), dir.join("conf.d/b.conf")]
        );
        assert!(expand("nothing/*.conf", &dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
