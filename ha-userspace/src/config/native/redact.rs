//! Keeps passwords out of toml's error messages. serde quotes the value it
//! could not take (``invalid type: integer `12345678`, expected a string``),
//! and a value under a `password` key is a secret even when it is the wrong
//! type: such errors reach the terminal and the logs.

/// `message` with every quoted value of a `password` key in `text` replaced
/// by `<redacted>`. `text` is read again without types to find them; if it
/// cannot be (a syntax error), toml's message quotes no value either.
pub(crate) fn redact(message: &str, text: &str) -> String {
    let Ok(table) = text.parse::<toml::Table>() else {
        return message.to_string();
    };
    let mut secrets = Vec::new();
    collect(&toml::Value::Table(table), &mut secrets);
    let mut out = message.to_string();
    for secret in secrets {
        for quoted in [format!("`{secret}`"), format!("\"{secret}\"")] {
            out = out.replace(&quoted, "`<redacted>`");
        }
    }
    out
}

/// The text form of every value under a `password` key, at any depth (toml
/// bounds the depth of a document it parsed).
fn collect(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::Table(t) => {
            for (key, v) in t {
                if key == "password" {
                    match v {
                        toml::Value::String(s) => out.push(s.clone()),
                        other => out.push(other.to_string()),
                    }
                }
                collect(v, out);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_passwords_are_replaced() {
        let text = "[[instances]]\n[instances.auth]\ntype = \"pass\"\npassword = 12345678\n";
        assert_eq!(
            redact("invalid type: integer `12345678`, expected a string", text),
            "invalid type: integer `<redacted>`, expected a string"
        );
        let text = "x = { password = \"s3cret\" }";
        assert_eq!(
            redact("invalid type: string \"s3cret\"", text),
            "invalid type: string `<redacted>`"
        );
        assert_eq!(redact("bad", "not = toml = at all"), "bad");
    }
}
