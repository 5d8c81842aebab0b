//! Kinds of indicator values, told from the value alone when no type says.
//!
//! Detection runs in this order, first match wins:
//!
//! | kind | recognised as | pattern |
//! |---|---|---|
//! | URL | a scheme, `://`, then something | `[url:value = '…']` |
//! | e-mail | `local@domain` with a valid domain | `[email-addr:value = '…']` |
//! | IPv4, IPv4 CIDR | dotted quad, optionally `/0`–`/32` | `[ipv4-addr:value = '…']`, CIDR with `ISSUBSET` |
//! | IPv6, IPv6 CIDR | RFC 4291 text, optionally `/0`–`/128` | `[ipv6-addr:value = '…']`, CIDR with `ISSUBSET` |
//! | MD5, SHA-1, SHA-256, SHA-512 | 32, 40, 64, 128 hexadecimal digits | `[file:hashes.'SHA-256' = '…']` |
//! | file name | a known file extension (`.exe`, `.apk`, `.dll` …), or a dotted name with characters no domain has | `[file:name = '…']` |
//! | domain | labels of letters, digits and `-`, alphabetic top-level label | `[domain-name:value = '…']` |
//!
//! A name such as `libsync.so` or `photo.zip` is both a file name and a
//! domain (`.so` and `.zip` are top-level domains); detection says domain,
//! and a `type` column is how to say otherwise.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::pattern;

/// What an indicator value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Url,
    Email,
    Ipv4,
    Ipv6,
    Domain,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    FileName,
}

impl Kind {
    /// The name used in messages and accepted in `type` columns.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Domain => "domain",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
            Kind::Sha512 => "sha512",
            Kind::FileName => "filename",
        }
    }

    /// Reads a `type` cell: these names, STIX object types and the MISP
    /// attribute types that mean the same, case-insensitively. An `ip` type
    /// says IPv4 or IPv6 by the value.
    pub fn from_type_name(name: &str, value: &str) -> Option<Kind> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "url" | "uri" | "link" | "url:value" => Kind::Url,
            "email" | "e-mail" | "email-addr" | "email-src" | "email-dst" | "mail" => Kind::Email,
            "ip" | "ip-src" | "ip-dst" | "ip-address" | "ipaddress" | "cidr" => {
                if value.contains(':') {
                    Kind::Ipv6
                } else {
                    Kind::Ipv4
                }
            }
            "ipv4" | "ipv4-addr" | "ip4" => Kind::Ipv4,
            "ipv6" | "ipv6-addr" | "ip6" => Kind::Ipv6,
            "domain" | "domain-name" | "hostname" | "fqdn" | "host" => Kind::Domain,
            "md5" => Kind::Md5,
            "sha1" | "sha-1" => Kind::Sha1,
            "sha256" | "sha-256" => Kind::Sha256,
            "sha512" | "sha-512" => Kind::Sha512,
            "filename" | "file-name" | "file" | "file:name" => Kind::FileName,
            "hash" => match value.trim().len() {
                32 => Kind::Md5,
                40 => Kind::Sha1,
                64 => Kind::Sha256,
                128 => Kind::Sha512,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The names [`Kind::from_type_name`] accepts, for error messages.
    pub const TYPE_NAMES: &'static str =
        "url, email, ip, ipv4, ipv6, domain, hostname, md5, sha1, sha256, sha512, hash, filename";
}

/// The kind of a value, if it has a recognisable one.
pub fn detect(value: &str) -> Option<Kind> {
    let v = value.trim();
    if is_url(v) {
        return Some(Kind::Url);
    }
    if is_email(v) {
        return Some(Kind::Email);
    }
    if is_ipv4(v) {
        return Some(Kind::Ipv4);
    }
    if is_ipv6(v) {
        return Some(Kind::Ipv6);
    }
    if v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match v.len() {
            32 => Some(Kind::Md5),
            40 => Some(Kind::Sha1),
            64 => Some(Kind::Sha256),
            128 => Some(Kind::Sha512),
            _ => None,
        };
    }
    if is_file_name(v) {
        return Some(Kind::FileName);
    }
    if is_domain(v) {
        return Some(Kind::Domain);
    }
    None
}

/// The value in the form its pattern and SCO use (domains, e-mail
/// addresses and hashes lowercased), or why it is not a value of that kind.
pub fn normalise(kind: Kind, value: &str) -> Result<String, String> {
    let v = value.trim();
    let ok = match kind {
        Kind::Url => is_url(v),
        Kind::Email => is_email(v),
        Kind::Ipv4 => is_ipv4(v),
        Kind::Ipv6 => is_ipv6(v),
        Kind::Domain => is_domain(v),
        Kind::Md5 => is_hex(v, 32),
        Kind::Sha1 => is_hex(v, 40),
        Kind::Sha256 => is_hex(v, 64),
        Kind::Sha512 => is_hex(v, 128),
        Kind::FileName => !v.is_empty() && !v.chars().any(char::is_control),
    };
    if !ok {
        return Err(format!("{v:?} is not {}", describe(kind)));
    }
    Ok(match kind {
        Kind::Email | Kind::Domain | Kind::Md5 | Kind::Sha1 | Kind::Sha256 | Kind::Sha512 => {
            v.to_ascii_lowercase()
        }
        Kind::Ipv6 => canonical_ipv6(v),
        _ => v.to_string(),
    })
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::Url => "a URL (scheme://…)",
        Kind::Email => "an e-mail address",
        Kind::Ipv4 => "an IPv4 address or CIDR block",
        Kind::Ipv6 => "an IPv6 address or CIDR block",
        Kind::Domain => "a domain name",
        Kind::Md5 => "an MD5 hash (32 hexadecimal digits)",
        Kind::Sha1 => "a SHA-1 hash (40 hexadecimal digits)",
        Kind::Sha256 => "a SHA-256 hash (64 hexadecimal digits)",
        Kind::Sha512 => "a SHA-512 hash (128 hexadecimal digits)",
        Kind::FileName => "a file name",
    }
}

/// The STIX pattern for a normalised value of this kind.
pub fn pattern_for(kind: Kind, value: &str) -> String {
    let cmp = match kind {
        Kind::Url => pattern::eq("url:value", value),
        Kind::Email => pattern::eq("email-addr:value", value),
        Kind::Ipv4 | Kind::Ipv6 => {
            let path = if kind == Kind::Ipv4 {
                "ipv4-addr:value"
            } else {
                "ipv6-addr:value"
            };
            // A block is matched by containment: `=` would compare the
            // text of an address with the text of the block.
            if value.contains('/') {
                format!("{path} ISSUBSET {}", pattern::quote(value))
            } else {
                pattern::eq(path, value)
            }
        }
        Kind::Domain => pattern::eq("domain-name:value", value),
        Kind::Md5 => pattern::eq(&pattern::hash_path("file", "MD5"), value),
        Kind::Sha1 => pattern::eq(&pattern::hash_path("file", "SHA-1"), value),
        Kind::Sha256 => pattern::eq(&pattern::hash_path("file", "SHA-256"), value),
        Kind::Sha512 => pattern::eq(&pattern::hash_path("file", "SHA-512"), value),
        Kind::FileName => pattern::eq("file:name", value),
    };
    format!("[{cmp}]")
}

fn is_hex(v: &str, len: usize) -> bool {
    v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn is_url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once("://") else {
        return false;
    };
    let mut s = scheme.bytes();
    matches!(s.next(), Some(c) if c.is_ascii_alphabetic())
        && s.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(crate) fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && !local.chars().any(|c| c.is_whitespace() || c.is_control())
        && is_domain(domain)
}

/// A dotted quad, or one with a prefix length (`/0` to `/32`).
pub(crate) fn is_ipv4(v: &str) -> bool {
    let (addr, prefix) = split_prefix(v);
    addr.parse::<Ipv4Addr>().is_ok() && prefix.is_none_or(|p| p <= 32)
}

pub(crate) fn is_ipv6(v: &str) -> bool {
    let (addr, prefix) = split_prefix(v);
    addr.contains(':') && addr.parse::<Ipv6Addr>().is_ok() && prefix.is_none_or(|p| p <= 128)
}

/// `addr` and the prefix length after `/`; a `/` with no number gives a
/// prefix no address accepts.
fn split_prefix(v: &str) -> (&str, Option<u32>) {
    match v.split_once('/') {
        Some((addr, p))
            if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (addr, p.parse().ok())
        }
        Some((addr, _)) => (addr, Some(u32::MAX)),
        None => (v, None),
    }
}

/// RFC 5952 text (lowercase, longest zero run compressed), so that
/// `2001:DB8:0::1` and `2001:db8::1` are one indicator.
pub(crate) fn canonical_ipv6(v: &str) -> String {
    let (addr, _) = split_prefix(v);
    match addr.parse::<Ipv6Addr>() {
        Ok(a) => match v.split_once('/') {
            Some((_, p)) => format!("{a}/{p}"),
            None => a.to_string(),
        },
        Err(_) => v.to_string(),
    }
}

/// Letters, digits, `-` and `_` in labels of 1 to 63 characters, at least
/// two labels, an alphabetic (or IDNA `xn--`) top-level label; 253
/// characters at most. Internationalised names must be in their `xn--` form.
pub(crate) fn is_domain(v: &str) -> bool {
    let v = v.strip_suffix('.').unwrap_or(v);
    if v.is_empty() || v.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = v.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(|l| label_ok(l))
        && (tld.bytes().all(|b| b.is_ascii_alphabetic())
            || tld.to_ascii_lowercase().starts_with("xn--"))
}

/// File extensions that are not also top-level domains.
const FILE_EXTENSIONS: &[&str] = &[
    "7z",
    "apk",
    "app",
    "asp",
    "aspx",
    "bat",
    "bin",
    "cfg",
    "chm",
    "cmd",
    "cpl",
    "csv",
    "dat",
    "deb",
    "dex",
    "dll",
    "dmg",
    "doc",
    "docm",
    "docx",
    "dotm",
    "drv",
    "dylib",
    "elf",
    "eml",
    "exe",
    "gz",
    "hta",
    "htm",
    "html",
    "img",
    "ini",
    "ipa",
    "iso",
    "jar",
    "js",
    "jse",
    "jsp",
    "ko",
    "lnk",
    "log",
    "mobileconfig",
    "msi",
    "msp",
    "ocx",
    "one",
    "pdf",
    "php",
    "pif",
    "plist",
    "ppt",
    "pptm",
    "pptx",
    "ps1",
    "psm1",
    "rar",
    "rpm",
    "rtf",
    "scr",
    "sys",
    "tar",
    "tgz",
    "tmp",
    "txt",
    "vbe",
    "vbs",
    "wsf",
    "xls",
    "xlsb",
    "xlsm",
    "xlsx",
    "xz",
];

fn is_file_name(v: &str) -> bool {
    if v.is_empty() || v.contains('/') || v.contains('\\') || v.chars().any(char::is_control) {
        return false;
    }
    let Some((stem, ext)) = v.rsplit_once('.') else {
        return false;
    };
    if stem.is_empty()
        || ext.is_empty()
        || ext.len() > 12
        || !ext.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let known = FILE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext));
    // A dotted name with a character no domain or address has
    // (`report (1).xyz`, `a~b.dat`), and an extension with a letter.
    // (Letters of any script are not such characters: `naïve.example` is an
    // internationalised domain, written in the wrong form, not a file.)
    let unlike_a_host = v
        .chars()
        .any(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_')));
    known || (unlike_a_host && ext.bytes().any(|b| b.is_ascii_alphabetic()) && !v.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_kind() {
        let cases = [
            ("https://evil.example/a?b=c", Some(Kind::Url)),
            ("ftp://files.example", Some(Kind::Url)),
            ("user@mail.example.org", Some(Kind::Email)),
            ("198.51.100.7", Some(Kind::Ipv4)),
            ("198.51.100.0/24", Some(Kind::Ipv4)),
            ("2001:db8::1", Some(Kind::Ipv6)),
            ("2001:db8::/32", Some(Kind::Ipv6)),
            ("d41d8cd98f00b204e9800998ecf8427e", Some(Kind::Md5)),
            ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Some(Kind::Sha1)),
            (
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                Some(Kind::Sha256),
            ),
            (&"ab".repeat(64), Some(Kind::Sha512)),
            ("SystemUpdate.apk", Some(Kind::FileName)),
            ("invoice 2026.pdf", Some(Kind::FileName)),
            ("report (1).xyz", Some(Kind::FileName)),
            ("résumé.pdf", Some(Kind::FileName)),
            ("naïve-résumé.example", None),
            ("payload.EXE", Some(Kind::FileName)),
            ("cdn-sync.example.net", Some(Kind::Domain)),
            ("xn--bcher-kva.example", Some(Kind::Domain)),
            ("libsync.so", Some(Kind::Domain)),
            ("198.51.100.0/33", None),
            ("300.1.1.1", None),
            ("hello", None),
            ("abc123", None),
            ("", None),
            ("no spaces.example com", None),
        ];
        for (value, kind) in cases {
            assert_eq!(detect(value), kind, "{value}");
        }
    }

    #[test]
    fn type_names_override_detection() {
        assert_eq!(
            Kind::from_type_name("IP-DST", "2001:db8::1"),
            Some(Kind::Ipv6)
        );
        assert_eq!(Kind::from_type_name("hostname", "x"), Some(Kind::Domain));
        assert_eq!(
            Kind::from_type_name("hash", &"a".repeat(40)),
            Some(Kind::Sha1)
        );
        assert_eq!(Kind::from_type_name("hash", "abc"), None);
        assert_eq!(Kind::from_type_name("mutex", "x"), None);
    }

    #[test]
    fn values_are_checked_and_normalised() {
        assert_eq!(
            normalise(Kind::Domain, " Evil.Example ").unwrap(),
            "evil.example"
        );
        assert_eq!(
            normalise(Kind::Ipv6, "2001:DB8:0:0::1").unwrap(),
            "2001:db8::1"
        );
        assert_eq!(
            normalise(Kind::Ipv6, "2001:DB8::/32").unwrap(),
            "2001:db8::/32"
        );
        assert!(normalise(Kind::Ipv4, "2001:db8::1").is_err());
        assert!(normalise(Kind::Md5, "xyz").unwrap_err().contains("MD5"));
        assert!(normalise(Kind::Url, "/relative/path").is_err());
    }

    #[test]
    fn patterns_quote_and_use_containment_for_blocks() {
        assert_eq!(
            pattern_for(Kind::Ipv4, "198.51.100.0/24"),
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"
        );
        assert_eq!(
            pattern_for(Kind::Url, "http://x/'"),
            r"[url:value = 'http://x/\'']"
        );
        assert_eq!(
            pattern_for(Kind::Sha1, "ab"),
            "[file:hashes.'SHA-1' = 'ab']"
        );
    }
}
