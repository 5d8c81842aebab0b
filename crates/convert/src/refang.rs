//! Refanging: undoing what analysts do to indicators so that nobody clicks
//! them by accident (`hxxps://evil[.]example`, `user[at]mail(dot)example`).
//!
//! | defanged | refanged |
//! |---|---|
//! | `hxxp`, `hxxps`, `hxtp`, `htxp`, `h[tt]p`, `meow` (scheme, any case) | `http`, `https` |
//! | `fxp` (scheme) | `ftp` |
//! | `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`, `{dot}`, `\.` | `.` |
//! | `[:]`, `(:)`, `[://]` | `:`, `://` |
//! | `[@]`, `(@)`, `{@}`, `[at]`, `(at)`, `{at}` | `@` |
//! | `[/]` | `/` |
//!
//! Brackets and words are matched case-insensitively (`[DOT]`). The rules
//! are MISP's (pymisp's `REFANG_REGEX_TABLE`) plus the bracket variants seen
//! in vendor reports; a value with none of them comes back unchanged.

use std::borrow::Cow;

const REPLACEMENTS: &[(&str, &str)] = &[
    ("[://]", "://"),
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("\\.", "."),
    ("[:]", ":"),
    ("(:)", ":"),
    ("[@]", "@"),
    ("(@)", "@"),
    ("{@}", "@"),
    ("[at]", "@"),
    ("(at)", "@"),
    ("{at}", "@"),
    ("[/]", "/"),
];

const SCHEMES: &[(&str, &str)] = &[
    ("hxxps", "https"),
    ("hxxp", "http"),
    ("hxtps", "https"),
    ("hxtp", "http"),
    ("htxps", "https"),
    ("htxp", "http"),
    ("h[tt]ps", "https"),
    ("h[tt]p", "http"),
    ("meows", "https"),
    ("meow", "http"),
    ("fxp", "ftp"),
];

/// The value with defanging undone.
pub fn refang(value: &str) -> Cow<'_, str> {
    // Every replacement starts with a bracket or a backslash, and every
    // defanged scheme is followed by one of `:[(`: most values (a CSV of a
    // million) have neither and are returned without a copy.
    let head: String = value
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme = SCHEMES.iter().find(|(from, _)| {
        head.starts_with(from)
            && matches!(value.as_bytes().get(from.len()), Some(b':' | b'[' | b'('))
    });
    if scheme.is_none()
        && !value
            .bytes()
            .any(|b| matches!(b, b'[' | b'(' | b'{' | b'\\'))
    {
        return Cow::Borrowed(value);
    }
    let lower = value.to_ascii_lowercase();
    let mut out = String::with_capacity(value.len());
    let mut at = 0;
    if let Some((from, to)) = scheme {
        out.push_str(to);
        at = from.len();
    }
    // `lower` has the byte offsets of `value`: ASCII lowercasing keeps lengths.
    'scan: while at < value.len() {
        for (from, to) in REPLACEMENTS {
            if lower[at..].starts_with(from) {
                out.push_str(to);
                at += from.len();
                continue 'scan;
            }
        }
        let Some(c) = value[at..].chars().next() else {
            break;
        };
        out.push(c);
        at += c.len_utf8();
    }
    if out == value {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_common_defanging() {
        for (defanged, plain) in [
            ("hxxp://evil[.]example/a", "http://evil.example/a"),
            ("hXXps[:]//evil(.)example[/]x", "https://evil.example/x"),
            ("HXXPS[://]evil{.}example", "https://evil.example"),
            ("h[tt]p://a[dot]b(DOT)c", "http://a.b.c"),
            ("meow://a.b", "http://a.b"),
            ("fxp://files[.]example", "ftp://files.example"),
            ("user[at]mail(dot)example", "user@mail.example"),
            ("user[@]mail[.]example", "user@mail.example"),
            ("user(@)mail\\.example", "user@mail.example"),
            ("198[.]51[.]100[.]7", "198.51.100.7"),
            ("2001:db8[:]:1", "2001:db8::1"),
            ("évil[.]example", "évil.example"),
        ] {
            assert_eq!(refang(defanged), plain, "{defanged}");
        }
    }

    #[test]
    fn leaves_plain_values_alone() {
        for plain in [
            "https://example.org/a?b=c",
            "hxxpd.example",
            "a@b.c",
            "C:\\Windows",
            "hxx",
        ] {
            assert!(matches!(refang(plain), Cow::Borrowed(_)), "{plain}");
        }
    }
}
