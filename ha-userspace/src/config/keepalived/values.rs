//! Value syntax of keepalived.conf: integers, decimal seconds, booleans.
//!
//! keepalived.conf(5) "PARAMETER SYNTAX": `<BOOL>` is on|off|true|false|yes|no
//! and a timer is seconds with a fraction (`2.71828`), microsecond resolution.

/// Microseconds per second, keepalived's TIMER_HZ.
pub(crate) const MICROS: u64 = 1_000_000;

/// An integer; `None` when the word is not one.
pub(crate) fn integer(word: &str) -> Option<i64> {
    if word.starts_with('+') {
        return None;
    }
    word.parse().ok()
}

/// Non-negative decimal seconds to microseconds, rounded half up past the
/// sixth decimal; `None` for anything else (signs, exponents, `inf`).
pub(crate) fn decimal_micros(word: &str) -> Option<u64> {
    let (int, frac) = word.split_once('.').unwrap_or((word, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u64 = 0;
    let mut digits = frac.bytes().map(|b| u64::from(b - b'0'));
    for _ in 0..6 {
        micros = micros * 10 + digits.next().unwrap_or(0);
    }
    if digits.next().is_some_and(|d| d >= 5) {
        micros += 1;
    }
    whole.checked_mul(MICROS)?.checked_add(micros)
}

/// A keepalived `<BOOL>`; `None` when the word is not one.
pub(crate) fn boolean(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Microseconds as seconds text without trailing zeros: 500000 → "0.5".
pub(crate) fn micros_text(us: u64) -> String {
    let (s, frac) = (us / MICROS, us % MICROS);
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:06}").trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal_micros("1"), Some(1_000_000));
        assert_eq!(decimal_micros("0.5"), Some(500_000));
        assert_eq!(decimal_micros(".25"), Some(250_000));
        assert_eq!(decimal_micros("2."), Some(2_000_000));
        assert_eq!(decimal_micros("0.0000005"), Some(1));
        assert_eq!(decimal_micros("40.95"), Some(40_950_000));
        assert_eq!(decimal_micros("-1"), None);
        assert_eq!(decimal_micros("1e3"), None);
        assert_eq!(decimal_micros("."), None);
        assert_eq!(decimal_micros(""), None);
    }

    #[test]
    fn booleans_and_integers() {
        assert_eq!(boolean("Yes"), Some(true));
        assert_eq!(boolean("off"), Some(false));
        assert_eq!(boolean("maybe"), None);
        assert_eq!(integer("255"), Some(255));
        assert_eq!(integer("+1"), None);
        assert_eq!(integer("1.0"), None);
    }

    #[test]
    fn seconds_text() {
        assert_eq!(micros_text(500_000), "0.5");
        assert_eq!(micros_text(3_000_000), "3");
        assert_eq!(micros_text(15_000), "0.015");
    }
}
