//! Syntax of the string values STIX 2.1 gives a format to: names, hex and
//! base64, language tags, CPE names, addresses. Each check answers only what
//! the specification makes mandatory; none consults an external registry.

/// STIX 2.1 section 3.1: property names are 3 to 250 characters of a-z, 0-9
/// and `_`, and begin with a letter.
pub(crate) fn is_property_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=250).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// STIX 2.1 section 2.3: dictionary keys are ASCII letters, digits, `-` and
/// `_`, at most 250 characters.
pub(crate) fn is_dictionary_key(key: &str) -> bool {
    key.len() <= 250
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// STIX 2.1 section 2.7: hash algorithm names are dictionary keys of at least
/// three characters.
pub(crate) fn is_hash_key(key: &str) -> bool {
    key.len() >= 3 && is_dictionary_key(key)
}

/// STIX 2.1 section 11.3: custom extension names are 3 to 250 characters of
/// a-z, 0-9 and `-`, ending in `-ext`.
pub(crate) fn is_custom_extension_name(name: &str) -> bool {
    (3..=250).contains(&name.len())
        && name.ends_with("-ext")
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// STIX 2.1 section 2.8: an even number of hex digits. The text says
/// lowercase, but the specification's own examples (`"504B0304"`) and both
/// OASIS reference implementations accept uppercase, so this does too.
pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// RFC 4648 base64 with the standard alphabet and padding.
pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(4) {
        return false;
    }
    let padding = b.iter().rev().take_while(|c| **c == b'=').count();
    padding <= 2
        && b[..b.len() - padding]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// RFC 5646 well-formedness (the ABNF of section 2.1, including the
/// grandfathered tags); whether a subtag is registered is not checked.
pub(crate) fn is_language_tag(tag: &str) -> bool {
    if tag.is_empty() || tag.len() > 100 || !tag.is_ascii() {
        return false;
    }
    if GRANDFATHERED.iter().any(|g| g.eq_ignore_ascii_case(tag)) {
        return true;
    }
    let mut parts = [""; 32];
    let mut count = 0;
    for part in tag.split('-') {
        if count == parts.len() {
            return false;
        }
        parts[count] = part;
        count += 1;
    }
    let parts = &parts[..count];
    let alpha = |s: &str| s.bytes().all(|c| c.is_ascii_alphabetic());
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let alnum = |s: &str| s.bytes().all(|c| c.is_ascii_alphanumeric());
    let is_x = |s: &str| s.eq_ignore_ascii_case("x");
    let private_use = |rest: &[&str]| {
        !rest.is_empty() && rest.iter().all(|p| (1..=8).contains(&p.len()) && alnum(p))
    };

    if is_x(parts[0]) {
        return private_use(&parts[1..]);
    }
    let language = parts[0];
    if !((2..=8).contains(&language.len()) && alpha(language)) {
        return false;
    }
    let mut i = 1;
    if language.len() <= 3 {
        let mut extlangs = 0;
        while i < parts.len() && extlangs < 3 && parts[i].len() == 3 && alpha(parts[i]) {
            i += 1;
            extlangs += 1;
        }
    }
    if i < parts.len() && parts[i].len() == 4 && alpha(parts[i]) {
        i += 1;
    }
    if i < parts.len()
        && ((parts[i].len() == 2 && alpha(parts[i])) || (parts[i].len() == 3 && digits(parts[i])))
    {
        i += 1;
    }
    let is_variant = |s: &str| {
        ((5..=8).contains(&s.len()) && alnum(s))
            || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit() && alnum(s))
    };
    while i < parts.len() && is_variant(parts[i]) {
        i += 1;
    }
    while i < parts.len() && parts[i].len() == 1 && alnum(parts[i]) && !is_x(parts[i]) {
        i += 1;
        let start = i;
        while i < parts.len() && (2..=8).contains(&parts[i].len()) && alnum(parts[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < parts.len() && is_x(parts[i]) {
        return private_use(&parts[i + 1..]);
    }
    i == parts.len()
}

/// RFC 5646 section 2.2.8, the irregular grandfathered tags (the regular ones
/// are well-formed by the general rule).
const GRANDFATHERED: &[&str] = &[
    "en-GB-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-BE-FR",
    "sgn-BE-NL",
    "sgn-CH-DE",
];

/// A CPE 2.3 formatted string (NISTIR 7695 section 6.2): `cpe:2.3:` and eleven
/// attribute values separated by unescaped colons.
pub(crate) fn is_cpe23(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("cpe:2.3:") else {
        return false;
    };
    let mut fields = [""; 11];
    let mut count = 0;
    let bytes = rest.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b':' {
            if count == fields.len() {
                return false;
            }
            fields[count] = &rest[start..i];
            count += 1;
            start = i + 1;
        } else if bytes[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    count == fields.len()
        && matches!(fields[0], "a" | "o" | "h" | "*" | "-")
        && fields[1..].iter().all(|f| is_cpe_value(f))
}

fn is_cpe_value(value: &str) -> bool {
    if value == "*" || value == "-" {
        return true;
    }
    let b = value.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'*') {
        i = 1;
    } else {
        while i < b.len() && b[i] == b'?' {
            i += 1;
        }
    }
    let body_start = i;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') {
            i += 1;
        } else if c == b'\\' {
            match b.get(i + 1) {
                Some(q) if q.is_ascii_graphic() && !q.is_ascii_alphanumeric() => i += 2,
                _ => return false,
            }
        } else {
            break;
        }
    }
    if i == body_start {
        return false;
    }
    if i < b.len() && b[i] == b'*' {
        i += 1;
    } else {
        while i < b.len() && b[i] == b'?' {
            i += 1;
        }
    }
    i == b.len()
}

/// Dotted-quad IPv4 with an optional CIDR suffix; no leading zeros, which
/// some parsers read as octal.
pub(crate) fn is_ipv4_cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let decimal = |p: &str, max: u32| {
        !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|c| c.is_ascii_digit())
            && (p == "0" || !p.starts_with('0'))
            && p.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let mut octets = 0;
    for part in addr.split('.') {
        if !decimal(part, 255) {
            return false;
        }
        octets += 1;
    }
    octets == 4 && prefix.is_none_or(|p| decimal(p, 32))
}

/// RFC 4291 text form with an optional CIDR suffix and an optional zone.
pub(crate) fn is_ipv6_cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = match addr.split_once('%') {
        Some((a, zone)) if !zone.is_empty() && zone.bytes().all(|c| c.is_ascii_graphic()) => a,
        Some(_) => return false,
        None => addr,
    };
    addr.parse::<std::net::Ipv6Addr>().is_ok()
        && prefix.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|c| c.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'))
                && p.parse::<u32>().is_ok_and(|n| n <= 128)
        })
}

/// STIX 2.1 section 6.10: colon-delimited, lowercase MAC-48 with leading zeros.
pub(crate) fn is_mac48(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                *c == b':'
            } else {
                c.is_ascii_digit() || (b'a'..=b'f').contains(c)
            }
        })
}

/// RFC 1034 structure (labels of 1 to 63 octets, at most 253 in all) with
/// RFC 5890 label characters: letters, digits and inner hyphens, or non-ASCII
/// U-label characters. Underscores are tolerated because service labels such
/// as `_dmarc` are real DNS names.
pub(crate) fn is_domain_name(s: &str) -> bool {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || (name.is_ascii() && name.len() > 253) {
        return false;
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && if label.is_ascii() {
                label.len() <= 63
                    && label
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            } else {
                label.chars().all(|c| {
                    if c.is_ascii() {
                        c.is_ascii_alphanumeric() || c == '-'
                    } else {
                        !c.is_whitespace() && !c.is_control()
                    }
                })
            }
    })
}

/// RFC 5322 addr-spec (with RFC 6532 UTF-8): `local@domain`, no display name,
/// no angle brackets, no surrounding whitespace.
pub(crate) fn is_email_addr_spec(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| {
        !c.is_ascii() && !c.is_whitespace() && !c.is_control()
            || c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
    };
    let dot_atom =
        |s: &str| !s.is_empty() && s.split('.').all(|a| !a.is_empty() && a.chars().all(atext));
    let local_ok = if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        !local[1..local.len() - 1].chars().any(|c| c.is_control())
    } else {
        dot_atom(local)
    };
    let domain_ok = if domain.starts_with('[') && domain.ends_with(']') {
        domain.len() > 2 && !domain.chars().any(|c| c.is_whitespace() || c.is_control())
    } else {
        dot_atom(domain)
    };
    local_ok && domain_ok
}

/// RFC 3986 in the part every URL shares: a scheme, a colon, something after
/// it, and no whitespace or control characters anywhere.
pub(crate) fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut scheme_bytes = scheme.bytes();
    matches!(scheme_bytes.next(), Some(c) if c.is_ascii_alphabetic())
        && scheme_bytes.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// IANA character set names: printable US-ASCII, at most 40 characters
/// (RFC 2978 section 2.3). Whether the name is registered is not checked.
pub(crate) fn is_charset_name(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_graphic())
}

/// STIX 2.1 section 5.1: `relationship_type` is ASCII a-z, 0-9 and `-`.
pub(crate) fn is_relationship_type(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// STIX 2.1 section 6.17: the hive of a registry key must be written out in
/// full (`HKEY_LOCAL_MACHINE`, not `HKLM`). Returns the abbreviation found.
pub(crate) fn abbreviated_hive(key: &str) -> Option<&str> {
    let hive = key.split('\\').next().unwrap_or(key);
    ["HKLM", "HKCU", "HKCR", "HKCC", "HKU"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(hive))
        .then_some(hive)
}

/// Why a value is not a hash of the named algorithm, for the algorithms whose
/// text form STIX 2.1 section 10.7 pins down; `None` when it is (or when the
/// algorithm is a custom one).
pub(crate) fn hash_value_problem(algorithm: &str, value: &str) -> Option<String> {
    let hex_len = match algorithm {
        "MD5" => 32,
        "SHA-1" => 40,
        "SHA-256" | "SHA3-256" => 64,
        "SHA-512" | "SHA3-512" => 128,
        "SSDEEP" => {
            return (!is_ssdeep(value)).then(|| {
                "is not an ssdeep hash (blocksize:hash:hash, e.g. 3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C)"
                    .to_owned()
            });
        }
        "TLSH" => {
            let digest = value
                .strip_prefix("T1")
                .or_else(|| value.strip_prefix("t1"))
                .unwrap_or(value);
            return (!(digest.len() == 70 && digest.bytes().all(|c| c.is_ascii_hexdigit()))).then(
                || {
                    "is not a TLSH digest (70 hexadecimal characters, optionally preceded by T1)"
                        .to_owned()
                },
            );
        }
        _ => return None,
    };
    if value.len() == hex_len && value.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(if value.bytes().all(|c| c.is_ascii_hexdigit()) {
        format!(
            "is not a valid {algorithm} hash: it must be {hex_len} hexadecimal characters, but has {}",
            value.chars().count()
        )
    } else {
        format!(
            "is not a valid {algorithm} hash: it must be {hex_len} hexadecimal characters (0-9, a-f)"
        )
    })
}

fn is_ssdeep(value: &str) -> bool {
    let mut parts = value.splitn(3, ':');
    let (Some(size), Some(first), Some(second)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let base64ish = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
    };
    !size.is_empty()
        && size.bytes().all(|c| c.is_ascii_digit())
        && base64ish(first)
        && base64ish(second.split_once(',').map_or(second, |(h, _)| h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_and_key_names() {
        assert!(is_property_name("x_acme_score"));
        assert!(!is_property_name("id"));
        assert!(!is_property_name("_private"));
        assert!(!is_property_name("1st_seen"));
        assert!(!is_property_name("X_acme"));
        assert!(!is_property_name("x-acme"));
        assert!(is_dictionary_key("User-Agent"));
        assert!(is_dictionary_key("0"));
        assert!(!is_dictionary_key("ProgramFiles(x86)"));
        assert!(is_hash_key("SHA-256"));
        assert!(!is_hash_key("md"));
        assert!(is_custom_extension_name("x-acme-ext"));
        assert!(!is_custom_extension_name("x-acme"));
    }

    #[test]
    fn hex_and_base64() {
        assert!(is_hex("00ff"));
        assert!(is_hex("504B0304"));
        assert!(!is_hex("0ff"));
        assert!(!is_hex(""));
        assert!(!is_hex("zz"));
        assert!(is_base64("aGVsbG8="));
        assert!(is_base64("aGVsbG8h"));
        assert!(!is_base64("aGVsbG8"));
        assert!(!is_base64("aGVs=G8="));
        assert!(!is_base64(""));
    }

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "de-CH",
            "zh-Hans-CN",
            "sr-Latn-RS",
            "es-419",
            "de-CH-1901",
            "en-US-x-twain",
            "x-whatever",
            "i-klingon",
            "zh-cmn-Hans-CN",
            "en-a-bbb-x-a-ccc",
            "EN-gb",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "en_US",
            "toolonglanguage",
            "en-",
            "de-419-",
            "a-DE",
            "en-x",
            "en-a",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn cpe_names() {
        assert!(is_cpe23("cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*"));
        assert!(is_cpe23(
            "cpe:2.3:o:linux:linux_kernel:5.10.0-8:*:*:*:*:*:*:*"
        ));
        assert!(is_cpe23(
            r"cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*"
        ));
        assert!(is_cpe23(r"cpe:2.3:a:foo\:bar:baz:1.0:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:/a:microsoft:word:2000"));
        assert!(!is_cpe23("cpe:2.3:x:microsoft:word:2000:*:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*"));
        assert!(!is_cpe23("cpe:2.3:a:micro soft:word:2000:*:*:*:*:*:*:*"));
    }

    #[test]
    fn addresses() {
        assert!(is_ipv4_cidr("198.51.100.3"));
        assert!(is_ipv4_cidr("10.2.4.5/24"));
        assert!(is_ipv4_cidr("0.0.0.0/0"));
        assert!(!is_ipv4_cidr("198.51.100"));
        assert!(!is_ipv4_cidr("198.51.100.256"));
        assert!(!is_ipv4_cidr("198.051.100.3"));
        assert!(!is_ipv4_cidr("10.2.4.5/33"));
        assert!(is_ipv6_cidr("2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
        assert!(is_ipv6_cidr("2001:0db8::/96"));
        assert!(is_ipv6_cidr("fe80::1%eth0"));
        assert!(is_ipv6_cidr("::ffff:198.51.100.3"));
        assert!(!is_ipv6_cidr("2001:db8::g"));
        assert!(!is_ipv6_cidr("2001:db8::/129"));
        assert!(!is_ipv6_cidr("198.51.100.3"));
        assert!(is_mac48("d2:fb:49:24:37:18"));
        assert!(!is_mac48("D2:FB:49:24:37:18"));
        assert!(!is_mac48("d2-fb-49-24-37-18"));
        assert!(!is_mac48("d2:fb:49:24:37"));
    }

    #[test]
    fn names_and_urls() {
        assert!(is_domain_name("example.com"));
        assert!(is_domain_name("xn--bcher-kva.example"));
        assert!(is_domain_name("bücher.example."));
        assert!(is_domain_name("_dmarc.example.com"));
        assert!(!is_domain_name("exa mple.com"));
        assert!(!is_domain_name("example..com"));
        assert!(!is_domain_name("-example.com"));
        assert!(!is_domain_name("http://example.com"));
        assert!(!is_domain_name(&"a".repeat(64)));
        assert!(is_email_addr_spec("jane.smith@example.com"));
        assert!(is_email_addr_spec("\"jane smith\"@example.com"));
        assert!(!is_email_addr_spec("Jane Smith <jane@example.com>"));
        assert!(!is_email_addr_spec("jane@"));
        assert!(!is_email_addr_spec("jane.example.com"));
        assert!(is_url("https://example.com/research/index.html"));
        assert!(is_url("hxxp://example[.]com/a"));
        assert!(!is_url("example.com/a"));
        assert!(!is_url("https://example.com/a b"));
    }

    #[test]
    fn hashes() {
        assert_eq!(
            hash_value_problem("MD5", "3773a88f65a5e780c8dff9cdc3a056f3"),
            None
        );
        assert!(hash_value_problem("MD5", "3773a88f65a5e780c8dff9cdc3a056f").is_some());
        assert!(hash_value_problem("SHA-256", "not-a-hash").is_some());
        assert_eq!(hash_value_problem("x_custom", "anything"), None);
        assert_eq!(
            hash_value_problem("SSDEEP", "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"),
            None
        );
        assert!(hash_value_problem("SSDEEP", "not ssdeep").is_some());
        let tlsh = "T1".to_owned() + &"a".repeat(70);
        assert_eq!(hash_value_problem("TLSH", &tlsh), None);
        assert!(hash_value_problem("TLSH", "abc").is_some());
    }

    #[test]
    fn registry_hives_and_relationship_types() {
        assert_eq!(abbreviated_hive("HKLM\\Software"), Some("HKLM"));
        assert_eq!(abbreviated_hive("hkcu"), Some("hkcu"));
        assert_eq!(abbreviated_hive("HKEY_LOCAL_MACHINE\\Software"), None);
        assert!(is_relationship_type("indicates"));
        assert!(!is_relationship_type("Indicates"));
        assert!(!is_relationship_type("related_to"));
    }
}
