//! MISP values checked and normalised the way MISP itself stores them
//! (pymisp's `AttributeValidationTool` mirrors the server): hashes,
//! hostnames and e-mail addresses lowercased, fingerprints without colons,
//! MAC addresses as six lowercase pairs, `AS64500` as 64500. A real MISP
//! export is already in this form; hand-written files and other tools'
//! exports often are not, and two spellings of one value would be two
//! indicators.

use crate::detect;

/// A value as MISP stores it, for the types MISP rewrites on save (pymisp's
/// `modifyBeforeValidation`): case, separators, phone and card numbers.
/// Checks come later, per type; this only normalises.
pub(crate) fn as_misp_stores(ty: &str, value: &str) -> String {
    let lower = || value.to_ascii_lowercase();
    match ty {
        "md5"
        | "sha1"
        | "sha224"
        | "sha256"
        | "sha384"
        | "sha512"
        | "sha512/224"
        | "sha512/256"
        | "sha3-224"
        | "sha3-256"
        | "sha3-384"
        | "sha3-512"
        | "ja3-fingerprint-md5"
        | "jarm-fingerprint"
        | "hassh-md5"
        | "hasshserver-md5"
        | "hostname"
        | "pehash"
        | "authentihash"
        | "vhash"
        | "imphash"
        | "telfhash"
        | "tlsh"
        | "anonymised"
        | "cdhash"
        | "email"
        | "email-src"
        | "email-dst"
        | "target-email"
        | "whois-registrant-email"
        | "dom-hash"
        | "onion-address" => lower(),
        "domain" => lower().trim_end_matches('.').to_string(),
        "domain|ip" | "hostname|port" => {
            lower().replacen(':', "|", usize::from(ty == "hostname|port"))
        }
        "http-method" | "hex" | "weakness" => value.to_ascii_uppercase(),
        "vulnerability" => {
            let v = value.replace('\u{2013}', "-");
            let source = v.split('-').next().unwrap_or("").to_ascii_lowercase();
            if source == "cve" || source == "gcve" {
                v.to_ascii_uppercase()
            } else {
                v
            }
        }
        "cc-number" | "bin" => value.chars().filter(char::is_ascii_digit).collect(),
        "iban" | "bic" => value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect(),
        "phone-number" | "prtn" | "whois-registrant-phone" => {
            let v = match value.strip_prefix("00") {
                Some(rest) => format!("+{rest}"),
                None => value.to_string(),
            };
            v.replace("(0)", "")
                .chars()
                .filter(|c| *c == '+' || c.is_ascii_digit())
                .collect()
        }
        "ip-src|port" | "ip-dst|port" if !value.contains('|') => {
            // `203.0.113.5:443` and `[2001:db8::1]:443`, as MISP accepts them.
            if let Some(rest) = value.strip_prefix('[')
                && let Some((ip, port)) = rest.split_once(']')
            {
                format!("{ip}|{}", port.trim_start_matches(':'))
            } else if value.matches(':').count() == 1 {
                value.replacen(':', "|", 1)
            } else {
                value.to_string()
            }
        }
        t if t.starts_with("filename|") => match value.split_once('|') {
            Some((name, hash)) => format!("{name}|{}", hash.to_ascii_lowercase()),
            None => value.to_string(),
        },
        _ => value.to_string(),
    }
}

/// A hash algorithm as MISP names it, STIX names it, and what its values are.
pub(crate) struct HashType {
    pub misp: &'static str,
    /// The key in `hashes` dictionaries and patterns (misp-stix's names).
    pub stix: &'static str,
    pub form: HashForm,
}

#[derive(Clone, Copy)]
pub(crate) enum HashForm {
    /// Exactly this many hexadecimal digits.
    Hex(usize),
    /// At least this many hexadecimal digits.
    HexAtLeast(usize),
    /// `blocksize:hash:hash` (ssdeep, impfuzzy).
    Fuzzy,
    /// 70 hexadecimal digits, optionally after `T1`.
    Tlsh,
    /// Anything without spaces (VirusTotal's vhash).
    Opaque,
}

pub(crate) const HASHES: &[HashType] = &[
    HashType {
        misp: "md5",
        stix: "MD5",
        form: HashForm::Hex(32),
    },
    HashType {
        misp: "sha1",
        stix: "SHA-1",
        form: HashForm::Hex(40),
    },
    HashType {
        misp: "sha224",
        stix: "SHA-224",
        form: HashForm::Hex(56),
    },
    HashType {
        misp: "sha256",
        stix: "SHA-256",
        form: HashForm::Hex(64),
    },
    HashType {
        misp: "sha384",
        stix: "SHA-384",
        form: HashForm::Hex(96),
    },
    HashType {
        misp: "sha512",
        stix: "SHA-512",
        form: HashForm::Hex(128),
    },
    HashType {
        misp: "sha3-224",
        stix: "SHA3-224",
        form: HashForm::Hex(56),
    },
    HashType {
        misp: "sha3-256",
        stix: "SHA3-256",
        form: HashForm::Hex(64),
    },
    HashType {
        misp: "sha3-384",
        stix: "SHA3-384",
        form: HashForm::Hex(96),
    },
    HashType {
        misp: "sha3-512",
        stix: "SHA3-512",
        form: HashForm::Hex(128),
    },
    HashType {
        misp: "ssdeep",
        stix: "SSDEEP",
        form: HashForm::Fuzzy,
    },
    HashType {
        misp: "tlsh",
        stix: "TLSH",
        form: HashForm::Tlsh,
    },
    HashType {
        misp: "imphash",
        stix: "IMPHASH",
        form: HashForm::Hex(32),
    },
    HashType {
        misp: "authentihash",
        stix: "AUTHENTIHASH",
        form: HashForm::Hex(64),
    },
    HashType {
        misp: "pehash",
        stix: "PEHASH",
        form: HashForm::Hex(40),
    },
    HashType {
        misp: "cdhash",
        stix: "CDHASH",
        form: HashForm::HexAtLeast(40),
    },
    HashType {
        misp: "telfhash",
        stix: "TELFHASH",
        form: HashForm::HexAtLeast(70),
    },
    HashType {
        misp: "impfuzzy",
        stix: "IMPFUZZY",
        form: HashForm::Fuzzy,
    },
    HashType {
        misp: "vhash",
        stix: "VHASH",
        form: HashForm::Opaque,
    },
];

pub(crate) fn hash_type(misp: &str) -> Option<&'static HashType> {
    HASHES.iter().find(|h| h.misp == misp)
}

impl HashType {
    /// The value as stored (hex lowercased), or why it is not one.
    pub fn check(&self, value: &str) -> Result<String, String> {
        let v = value.trim();
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        let ok = match self.form {
            HashForm::Hex(n) => v.len() == n && hex(v),
            HashForm::HexAtLeast(n) => v.len() >= n && hex(v),
            HashForm::Fuzzy => {
                let mut parts = v.splitn(3, ':');
                matches!(
                    (parts.next(), parts.next(), parts.next()),
                    (Some(size), Some(a), Some(b))
                        if !size.is_empty() && size.bytes().all(|c| c.is_ascii_digit())
                            && [a, b].iter().all(|p| p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+'))
                )
            }
            HashForm::Tlsh => {
                let digest = v
                    .strip_prefix("T1")
                    .or_else(|| v.strip_prefix("t1"))
                    .unwrap_or(v);
                digest.len() == 70 && hex(digest)
            }
            HashForm::Opaque => !v.is_empty() && !v.chars().any(char::is_whitespace),
        };
        if !ok {
            let expected = match self.form {
                HashForm::Hex(n) => format!("{n} hexadecimal digits"),
                HashForm::HexAtLeast(n) => format!("at least {n} hexadecimal digits"),
                HashForm::Fuzzy => "blocksize:hash:hash".into(),
                HashForm::Tlsh => "70 hexadecimal digits, optionally after T1".into(),
                HashForm::Opaque => "a value without spaces".into(),
            };
            return Err(format!("{v:?} is not a {} hash ({expected})", self.misp));
        }
        Ok(match self.form {
            HashForm::Fuzzy | HashForm::Opaque => v.to_string(),
            _ => v.to_ascii_lowercase(),
        })
    }
}

/// An IPv4 or IPv6 address or block, and the SCO type that holds it.
pub(crate) fn ip(value: &str) -> Result<(String, &'static str), String> {
    let v = value.trim();
    if detect::is_ipv4(v) {
        Ok((v.to_string(), "ipv4-addr"))
    } else if detect::is_ipv6(v) {
        Ok((detect::canonical_ipv6(v), "ipv6-addr"))
    } else {
        Err(format!("{v:?} is not an IP address or CIDR block"))
    }
}

/// A domain or host name, lowercased, without a trailing dot.
pub(crate) fn domain(value: &str) -> Result<String, String> {
    let v = value.trim().trim_end_matches('.');
    if detect::is_domain(v) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!("{v:?} is not a domain name"))
    }
}

pub(crate) fn email(value: &str) -> Result<String, String> {
    let v = value.trim();
    if detect::is_email(v) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!("{v:?} is not an e-mail address"))
    }
}

pub(crate) fn port(value: &str) -> Result<i64, String> {
    match value.trim().parse::<u16>() {
        Ok(p) => Ok(i64::from(p)),
        Err(_) => Err(format!("{:?} is not a port (0 to 65535)", value.trim())),
    }
}

/// `AS64500`, `64500` or asdot `1.10` (= 65546).
pub(crate) fn autonomous_system(value: &str) -> Result<i64, String> {
    let v = value.trim();
    let digits = v
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("as"))
        .map_or(v, |_| &v[2..])
        .trim();
    let fail = || format!("{v:?} is not an AS number (AS64500, 64500 or 1.10)");
    let number = match digits.split_once('.') {
        Some((high, low)) => {
            let high: u32 = high.parse().map_err(|_| fail())?;
            let low: u32 = low.parse().map_err(|_| fail())?;
            if high > 65535 || low > 65535 {
                return Err(fail());
            }
            u64::from(high) * 65536 + u64::from(low)
        }
        None => digits.parse::<u32>().map_err(|_| fail())?.into(),
    };
    i64::try_from(number).map_err(|_| fail())
}

/// Six lowercase pairs separated by colons (STIX's only form).
pub(crate) fn mac(value: &str) -> Result<String, String> {
    let hex: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{:?} is not a MAC address", value.trim()));
    }
    let hex = hex.to_ascii_lowercase();
    Ok((0..6)
        .map(|i| &hex[2 * i..2 * i + 2])
        .collect::<Vec<_>>()
        .join(":"))
}

/// A registry key with its hive written out, as STIX 2.1 requires
/// (section 6.17): `HKLM\Software` is `HKEY_LOCAL_MACHINE\Software`.
pub(crate) fn registry_key(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("the registry key is empty".into());
    }
    let (hive, rest) = v.split_once('\\').unwrap_or((v, ""));
    let full = match hive.to_ascii_uppercase().as_str() {
        "HKLM" => "HKEY_LOCAL_MACHINE",
        "HKCU" => "HKEY_CURRENT_USER",
        "HKCR" => "HKEY_CLASSES_ROOT",
        "HKU" => "HKEY_USERS",
        "HKCC" => "HKEY_CURRENT_CONFIG",
        _ => return Ok(v.to_string()),
    };
    Ok(if rest.is_empty() && !v.contains('\\') {
        full.to_string()
    } else {
        format!("{full}\\{rest}")
    })
}

/// The two halves of a composite value (`domain|ip`, `filename|md5` …).
pub(crate) fn split_pair<'v>(value: &'v str, ty: &str) -> Result<(&'v str, &'v str), String> {
    let (a, b) = value
        .split_once('|')
        .ok_or_else(|| format!("{value:?} is not a {ty} value (two parts separated by |)"))?;
    if a.trim().is_empty() || b.trim().is_empty() || b.contains('|') {
        return Err(format!(
            "{value:?} is not a {ty} value (two parts separated by |)"
        ));
    }
    Ok((a.trim(), b.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_rewritten_as_misp_stores_them() {
        assert_eq!(
            as_misp_stores("phone-number", "0044 (0)7700 900-123"),
            "+447700900123"
        );
        assert_eq!(as_misp_stores("domain", "Evil.Example."), "evil.example");
        assert_eq!(
            as_misp_stores("hostname|port", "Relay.Example:443"),
            "relay.example|443"
        );
        assert_eq!(
            as_misp_stores("domain|ip", "A.Example|198.51.100.1"),
            "a.example|198.51.100.1"
        );
        assert_eq!(
            as_misp_stores("ip-dst|port", "203.0.113.5:443"),
            "203.0.113.5|443"
        );
        assert_eq!(
            as_misp_stores("ip-dst|port", "[2001:db8::1]:443"),
            "2001:db8::1|443"
        );
        assert_eq!(
            as_misp_stores("vulnerability", "cve\u{2013}2023-41064"),
            "CVE-2023-41064"
        );
        assert_eq!(
            as_misp_stores("iban", "de89 3704 0044 0532 0130 00"),
            "DE89370400440532013000"
        );
        assert_eq!(
            as_misp_stores("filename|sha1", "A.EXE|ABCDEF"),
            "A.EXE|abcdef"
        );
        assert_eq!(as_misp_stores("ssdeep", "3:AbC:dEf"), "3:AbC:dEf");
    }

    #[test]
    fn values_take_the_form_misp_stores() {
        assert_eq!(
            hash_type("md5")
                .unwrap()
                .check(" D41D8CD98F00B204E9800998ECF8427E ")
                .unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert!(
            hash_type("sha256")
                .unwrap()
                .check("abc")
                .unwrap_err()
                .contains("64 hexadecimal")
        );
        assert!(
            hash_type("ssdeep")
                .unwrap()
                .check("3072:Ab3kZ9q:zQ81mP")
                .is_ok()
        );
        assert!(hash_type("ssdeep").unwrap().check("Ab3kZ9q").is_err());
        assert!(
            hash_type("tlsh")
                .unwrap()
                .check(&format!("T1{}", "A".repeat(70)))
                .is_ok()
        );
        assert_eq!(
            ip("2001:DB8:0::1").unwrap(),
            ("2001:db8::1".to_string(), "ipv6-addr")
        );
        assert_eq!(ip("198.51.100.0/24").unwrap().1, "ipv4-addr");
        assert!(ip("999.1.1.1").is_err());
        assert_eq!(domain("Evil.Example.").unwrap(), "evil.example");
        assert_eq!(autonomous_system("AS64500").unwrap(), 64500);
        assert_eq!(autonomous_system("as1.10").unwrap(), 65546);
        assert!(autonomous_system("AS-X").is_err());
        assert_eq!(mac("00-1A-2B-3C-4D-5E").unwrap(), "00:1a:2b:3c:4d:5e");
        assert!(mac("00:1A").is_err());
        assert_eq!(
            registry_key("hklm\\Software\\Run").unwrap(),
            "HKEY_LOCAL_MACHINE\\Software\\Run"
        );
        assert_eq!(registry_key("HKEY_USERS\\S-1").unwrap(), "HKEY_USERS\\S-1");
        assert_eq!(port("443").unwrap(), 443);
        assert!(port("70000").is_err());
        assert_eq!(
            split_pair("a.example|198.51.100.1", "domain|ip").unwrap(),
            ("a.example", "198.51.100.1")
        );
        assert!(split_pair("a.example", "domain|ip").is_err());
        assert!(split_pair("a|b|c", "domain|ip").is_err());
    }
}
