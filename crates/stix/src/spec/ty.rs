//! What a property's value must be, and the one function that checks a value
//! against it.

use crate::json::{Map, Value};

use super::formats;
use super::path::Path;
use super::{Category, category, check_custom_property};
use crate::id::split_identifier;
use crate::timestamp::Timestamp;
use crate::validate::Checker;

/// STIX 2.1 section 2.10: integers fit in a signed 54-bit value.
pub(crate) const INT_MIN: i64 = -(1 << 53) + 1;
pub(crate) const INT_MAX: i64 = (1 << 53) - 1;

/// What a property's value must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ty {
    String,
    Boolean,
    /// A whole number in an inclusive range.
    Integer(i64, i64),
    /// Any number in an inclusive range.
    Float(f64, f64),
    Timestamp,
    /// A timestamp "precise to the second": no fractional part.
    TimestampToSecond,
    Ref(Refs),
    /// A list of values of the inner type; never empty (STIX 2.1 section 2.12).
    List(&'static Ty),
    /// A closed vocabulary: the name of the enumeration and its values.
    Enum(&'static str, &'static [&'static str]),
    Dict(DictValue),
    Hashes(HashKeys),
    Hex,
    Binary,
    /// Any JSON object (its content is checked by a type rule if at all).
    Object,
    Struct(&'static StructSpec),
    LangTag,
    /// A string with a syntax.
    Text(Syntax),
    /// The deprecated observable container of `observed-data`.
    ObservableContainer,
}

/// Which objects an identifier may point at.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Refs {
    /// Any STIX object (a bundle is not one).
    Any,
    Types(&'static [&'static str]),
    SdoOrSco,
    Sdo,
    Sco,
    ScoOrSro,
}

/// What the values of a dictionary must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DictValue {
    String,
    Integer,
    IntegerOrString,
    ListOfStrings,
    /// The spec says list of strings, but its own example (and both OASIS
    /// reference implementations) also use a plain string.
    StringOrListOfStrings,
    /// `startup_info`: a Windows struct whose reserved members are null.
    AnyOrNull,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashKeys {
    /// `hash-algorithm-ov` names or custom names (files, artifacts, ...).
    Open,
    /// Only `hash-algorithm-ov` names (external references, STIX 2.1 section 2.5).
    Closed,
}

pub(crate) const HASH_ALGORITHMS: &[&str] = &[
    "MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    Ipv4,
    Ipv6,
    Mac,
    DomainName,
    EmailAddr,
    Url,
    Cpe,
    Charset,
    RelationshipType,
    RegistryKey,
    PropertyName,
}

impl Syntax {
    /// Values a producer may have defanged (`hxxp://`, `example[.]com`):
    /// their syntax is not checked on objects with `"defanged": true`.
    fn defangable(self) -> bool {
        matches!(
            self,
            Syntax::Ipv4
                | Syntax::Ipv6
                | Syntax::Mac
                | Syntax::DomainName
                | Syntax::EmailAddr
                | Syntax::Url
        )
    }

    fn problem(self, s: &str) -> Option<String> {
        let ok = match self {
            Syntax::Ipv4 => formats::is_ipv4_cidr(s),
            Syntax::Ipv6 => formats::is_ipv6_cidr(s),
            Syntax::Mac => formats::is_mac48(s),
            Syntax::DomainName => formats::is_domain_name(s),
            Syntax::EmailAddr => formats::is_email_addr_spec(s),
            Syntax::Url => formats::is_url(s),
            Syntax::Cpe => formats::is_cpe23(s),
            Syntax::Charset => formats::is_charset_name(s),
            Syntax::RelationshipType => formats::is_relationship_type(s),
            Syntax::PropertyName => formats::is_property_name(s),
            Syntax::RegistryKey => {
                return formats::abbreviated_hive(s).map(|hive| {
                    format!(
                        "starts with the abbreviated hive {hive:?}; the hive must be written out in full (e.g. HKEY_LOCAL_MACHINE instead of HKLM)"
                    )
                });
            }
        };
        if ok {
            return None;
        }
        let shown = shown(s);
        Some(match self {
            Syntax::Ipv4 => format!(
                "{shown} is not an IPv4 address or CIDR block (e.g. 198.51.100.3 or 198.51.100.0/24)"
            ),
            Syntax::Ipv6 => format!(
                "{shown} is not an IPv6 address or CIDR block (e.g. 2001:db8::1 or 2001:db8::/32)"
            ),
            Syntax::Mac => format!(
                "{shown} is not a MAC address in the required form: six lowercase hex pairs separated by colons, e.g. d2:fb:49:24:37:18"
            ),
            Syntax::DomainName => format!(
                "{shown} is not a domain name (RFC 1034/5890: dot-separated labels of letters, digits and inner hyphens, at most 63 characters each)"
            ),
            Syntax::EmailAddr => format!(
                "{shown} is not an email address (RFC 5322 addr-spec such as jane@example.com, without a display name)"
            ),
            Syntax::Url => format!(
                "{shown} is not a URL (RFC 3986: a scheme such as https: followed by the address, with no spaces)"
            ),
            Syntax::Cpe => format!(
                "{shown} is not a CPE 2.3 name (cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other)"
            ),
            Syntax::Charset => {
                format!("{shown} is not an IANA character set name (e.g. UTF-8, windows-1252)")
            }
            Syntax::RelationshipType => format!(
                "{shown} is not a valid relationship type: only lowercase a-z, 0-9 and '-' are allowed (e.g. indicates, related-to)"
            ),
            Syntax::PropertyName => format!(
                "{shown} is not a valid property name: 3-250 characters of lowercase a-z, 0-9 and '_', starting with a letter"
            ),
            Syntax::RegistryKey => return None,
        })
    }
}

/// A property of an object or of a structured type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prop {
    pub name: &'static str,
    pub required: bool,
    pub ty: Ty,
}

pub(crate) const fn req(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        required: true,
        ty,
    }
}

pub(crate) const fn opt(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        required: false,
        ty,
    }
}

/// Rules a table cannot express, for one object or nested structure.
pub(crate) type Rule = fn(&Map<'_>, &Path<'_>, &mut Checker<'_>);

/// A structured type nested in objects (kill chain phase, external
/// reference, ...) or a predefined extension.
#[derive(Debug)]
pub(crate) struct StructSpec {
    /// How an analyst calls it, for messages ("kill chain phase").
    pub what: &'static str,
    pub props: &'static [Prop],
    /// "At least one property from this type MUST be present".
    pub at_least_one: bool,
    /// Predefined extensions may carry custom properties, whose names must
    /// follow the custom property rules; other nested types are left alone.
    pub custom_properties_checked: bool,
    pub rule: Option<Rule>,
}

impl StructSpec {
    pub fn prop(&self, name: &str) -> Option<&'static Prop> {
        self.props.iter().find(|p| p.name == name)
    }
}

/// "a" or "an", as English readers expect before `word` ("an external
/// reference", "an x509-certificate", "a user-account").
pub(crate) fn article(word: &str) -> &'static str {
    let mut chars = word.chars();
    match (chars.next(), chars.next()) {
        (Some('a' | 'e' | 'i' | 'o' | 'A' | 'E' | 'I' | 'O'), _) => "an",
        (Some('x' | 'X'), Some(c)) if !c.is_ascii_alphabetic() => "an",
        _ => "a",
    }
}

/// A short, safe rendering of a string value for messages.
pub(crate) fn shown(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{:?}…", s.chars().take(80).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// How a value looks, for "must be X, but is Y" messages.
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn expected(cx: &mut Checker<'_>, at: &Path<'_>, what: &str, v: &Value) {
    if v.is_null() {
        cx.report(
            at,
            format!("is null; STIX has no null values: give {what} or leave the property out"),
        );
    } else {
        cx.report(at, format!("must be {what}, but is {}", describe(v)));
    }
}

/// Checks `v` against `ty`, reporting at `at`.
pub(crate) fn check(v: &Value, ty: &Ty, at: &Path<'_>, cx: &mut Checker<'_>) {
    match ty {
        Ty::String => {
            if !v.is_string() {
                expected(cx, at, "a string", v);
            }
        }
        Ty::Boolean => {
            if !v.is_boolean() {
                expected(cx, at, "true or false", v);
            }
        }
        Ty::Integer(lo, hi) => check_integer(v, *lo, *hi, at, cx),
        Ty::Float(lo, hi) => match v.as_f64() {
            Some(n) if n >= *lo && n <= *hi => {}
            Some(n) => cx.report(at, format!("must be between {lo} and {hi}, but is {n}")),
            None => expected(cx, at, "a number", v),
        },
        Ty::Timestamp | Ty::TimestampToSecond => match v.as_str() {
            Some(s) => match Timestamp::parse(s) {
                Ok(_) if matches!(ty, Ty::TimestampToSecond) && s.as_bytes()[19] != b'Z' => {
                    cx.report(
                        at,
                        format!(
                            "must be precise to the second, with no fractional part (e.g. 2016-01-22T12:31:12Z), but is {}",
                            shown(s)
                        ),
                    )
                }
                Ok(_) => {}
                Err(e) => cx.report(at, e.to_string()),
            },
            None => expected(cx, at, "a timestamp string", v),
        },
        Ty::Ref(refs) => check_ref(v, *refs, at, cx),
        Ty::List(inner) => match v {
            Value::Array(items) if items.is_empty() => cx.report(
                at,
                "is an empty list; STIX forbids empty lists: give at least one value or leave the property out",
            ),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(item, inner, &at.index(i), cx);
                }
            }
            _ => expected(cx, at, "a list", v),
        },
        Ty::Enum(name, values) => match v.as_str() {
            Some(s) if values.contains(&s) => {}
            Some(s) => cx.report(
                at,
                format!(
                    "{} is not allowed: {name} is a closed vocabulary, use one of {}",
                    shown(s),
                    values.join(", ")
                ),
            ),
            None => expected(cx, at, "a string", v),
        },
        Ty::Dict(values) => check_dictionary(v, *values, at, cx),
        Ty::Hashes(keys) => check_hashes(v, *keys, at, cx),
        Ty::Hex => match v.as_str() {
            Some(s) if formats::is_hex(s) => {}
            Some(s) => cx.report(
                at,
                format!(
                    "{} is not hexadecimal: it must be an even number of characters 0-9 and a-f",
                    shown(s)
                ),
            ),
            None => expected(cx, at, "a hexadecimal string", v),
        },
        Ty::Binary => match v.as_str() {
            Some(s) if formats::is_base64(s) => {}
            Some(_) => cx.report(at, "is not base64 (RFC 4648, standard alphabet with = padding)"),
            None => expected(cx, at, "a base64 string", v),
        },
        Ty::Object => {
            if !v.is_object() {
                expected(cx, at, "an object", v);
            }
        }
        Ty::Struct(spec) => match v {
            Value::Object(map) => check_struct(map, spec, at, cx),
            _ => expected(
                cx,
                at,
                &format!("an object ({} {})", article(spec.what), spec.what),
                v,
            ),
        },
        Ty::LangTag => match v.as_str() {
            Some(s) if formats::is_language_tag(s) => {}
            Some(s) => cx.report(
                at,
                format!(
                    "{} is not an RFC 5646 language tag (e.g. en, de, pt-BR, zh-Hans)",
                    shown(s)
                ),
            ),
            None => expected(cx, at, "a language tag string", v),
        },
        Ty::Text(syntax) => match v.as_str() {
            Some(_) if cx.defanged && syntax.defangable() => {}
            Some(s) => {
                if let Some(reason) = syntax.problem(s) {
                    cx.report(at, reason);
                }
            }
            None => expected(cx, at, "a string", v),
        },
        Ty::ObservableContainer => super::check_observable_container(v, at, cx),
    }
}

fn check_integer(v: &Value, lo: i64, hi: i64, at: &Path<'_>, cx: &mut Checker<'_>) {
    let n = match v {
        Value::Number(n) => n,
        _ => return expected(cx, at, "a whole number", v),
    };
    let value = match n.as_i64() {
        Some(value) => value,
        None if n.is_u64() => i64::MAX,
        None => return cx.report(at, format!("must be a whole number, but is {n}")),
    };
    if (lo..=hi).contains(&value) {
        return;
    }
    let reason = if lo == INT_MIN && hi == INT_MAX {
        format!(
            "{n} is too large: STIX integers must fit in 54 bits (-9007199254740991 to 9007199254740991)"
        )
    } else if lo == 0 && hi == INT_MAX {
        format!("must not be negative, but is {n}")
    } else {
        format!("must be between {lo} and {hi}, but is {n}")
    };
    cx.report(at, reason);
}

/// Checks the properties of a nested structure or predefined extension.
pub(crate) fn check_struct(map: &Map<'_>, spec: &StructSpec, at: &Path<'_>, cx: &mut Checker<'_>) {
    let mut known = 0;
    for (key, value) in map {
        match spec.prop(key) {
            Some(prop) => {
                known += 1;
                check(value, &prop.ty, &at.key(key), cx);
            }
            None if spec.custom_properties_checked && key != "extension_type" => {
                check_custom_property(key, value, &at.key(key), cx);
            }
            None => {}
        }
    }
    for prop in spec.props {
        if prop.required && !map.contains_key(prop.name) {
            cx.report(
                &at.key(prop.name),
                format!(
                    "is required in {} {} but missing",
                    article(spec.what),
                    spec.what
                ),
            );
        }
    }
    if spec.at_least_one && known == 0 {
        let names: Vec<&str> = spec.props.iter().map(|p| p.name).collect();
        cx.report(
            at,
            format!(
                "{} {} must contain at least one of its properties: {}",
                article(spec.what),
                spec.what,
                names.join(", ")
            ),
        );
    }
    if let Some(rule) = spec.rule {
        rule(map, at, cx);
    }
}

fn check_ref(v: &Value, refs: Refs, at: &Path<'_>, cx: &mut Checker<'_>) {
    let Some(s) = v.as_str() else {
        return expected(cx, at, "an identifier string (type--UUID)", v);
    };
    let local_type;
    let target_type: &str = if let Some(container) = &cx.container {
        // Inside the deprecated observable container references are local
        // keys, and they must resolve to an object of that container.
        match container.get(s) {
            Some(Some(t)) => {
                local_type = t.clone();
                &local_type
            }
            Some(None) => return,
            None => {
                return cx.report(
                    at,
                    format!(
                        "refers to {}, which is not a key of this observed-data's objects; references inside objects must stay inside it",
                        shown(s)
                    ),
                );
            }
        }
    } else {
        match split_identifier(s) {
            Ok((t, _)) => t,
            Err(e) => return cx.report(at, e.to_string()),
        }
    };
    let fits = match refs {
        Refs::Any => category(target_type) != Category::Bundle,
        Refs::Types(types) => types.contains(&target_type),
        Refs::SdoOrSco => matches!(
            category(target_type),
            Category::Sdo | Category::Sco | Category::Custom
        ),
        Refs::Sdo => matches!(category(target_type), Category::Sdo | Category::Custom),
        Refs::Sco => matches!(category(target_type), Category::Sco | Category::Custom),
        Refs::ScoOrSro => matches!(
            category(target_type),
            Category::Sco | Category::Sro | Category::Custom
        ),
    };
    if fits {
        return;
    }
    let wanted = match refs {
        Refs::Any => "a STIX object (bundles cannot be referenced)".to_owned(),
        Refs::Types(types) => types.join(" or "),
        Refs::SdoOrSco => "a domain object (SDO) or cyber-observable object (SCO)".to_owned(),
        Refs::Sdo => "a domain object (SDO) such as an indicator, malware or campaign".to_owned(),
        Refs::Sco => "a cyber-observable object (SCO)".to_owned(),
        Refs::ScoOrSro => {
            "a cyber-observable object (SCO) or a relationship/sighting (SRO)".to_owned()
        }
    };
    cx.report(
        at,
        format!(
            "must refer to {wanted}, but refers to {} {target_type} ({})",
            article(target_type),
            category(target_type).describe()
        ),
    );
}

fn check_dictionary(v: &Value, values: DictValue, at: &Path<'_>, cx: &mut Checker<'_>) {
    let Value::Object(map) = v else {
        return expected(cx, at, "a dictionary (a JSON object)", v);
    };
    if map.is_empty() {
        return cx.report(
            at,
            "is an empty dictionary; STIX forbids empty dictionaries: give at least one entry or leave the property out",
        );
    }
    for (key, value) in map {
        let here = at.key(key);
        if !formats::is_dictionary_key(key) {
            cx.report(
                &here,
                "is not a valid dictionary key: at most 250 characters of a-z, A-Z, 0-9, '-' and '_'",
            );
        }
        match values {
            DictValue::AnyOrNull => {
                if !value.is_null() {
                    check_plain_value(value, &here, cx);
                }
            }
            DictValue::String => check(value, &Ty::String, &here, cx),
            DictValue::Integer => check(value, &Ty::Integer(INT_MIN, INT_MAX), &here, cx),
            DictValue::IntegerOrString => {
                if !value.is_string() {
                    if value.is_number() {
                        check(value, &Ty::Integer(INT_MIN, INT_MAX), &here, cx);
                    } else {
                        expected(cx, &here, "a string or a whole number", value);
                    }
                }
            }
            DictValue::ListOfStrings => check(value, &Ty::List(&Ty::String), &here, cx),
            DictValue::StringOrListOfStrings => {
                if !value.is_string() {
                    check(value, &Ty::List(&Ty::String), &here, cx);
                }
            }
        }
    }
}

/// A value of a custom property or an open dictionary: any JSON value STIX
/// can hold (not null, no empty list).
pub(crate) fn check_plain_value(v: &Value, at: &Path<'_>, cx: &mut Checker<'_>) {
    match v {
        Value::Null => cx.report(
            at,
            "is null; STIX has no null values: leave the property out instead",
        ),
        Value::Array(items) if items.is_empty() => cx.report(
            at,
            "is an empty list; STIX forbids empty lists: give at least one value or leave the property out",
        ),
        _ => {}
    }
}

fn check_hashes(v: &Value, keys: HashKeys, at: &Path<'_>, cx: &mut Checker<'_>) {
    let Value::Object(map) = v else {
        return expected(cx, at, "a dictionary of hashes (a JSON object)", v);
    };
    if map.is_empty() {
        return cx.report(
            at,
            "is empty; hashes must contain at least one algorithm and value, or be left out",
        );
    }
    for (key, value) in map {
        let here = at.key(key);
        if keys == HashKeys::Closed && !HASH_ALGORITHMS.contains(&key) {
            cx.report(
                &here,
                format!(
                    "is not an allowed hash algorithm here: use one of {}",
                    HASH_ALGORITHMS.join(", ")
                ),
            );
        } else if !formats::is_hash_key(key) {
            cx.report(
                &here,
                "is not a valid hash algorithm name: 3-250 characters of a-z, A-Z, 0-9, '-' and '_'",
            );
        }
        match value.as_str() {
            Some(s) => {
                if let Some(reason) = formats::hash_value_problem(key, s) {
                    cx.report(&here, reason);
                }
            }
            None => expected(cx, &here, "a string", value),
        }
    }
}
