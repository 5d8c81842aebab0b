//! The STIX 2.1 rules, as tables: which properties each type has, which are
//! required, and what each must hold.

use serde_json::{Map, Value};

use crate::id::{Identifier, is_valid_type_name};
use crate::object::ObjectKind;
use crate::timestamp::Timestamp;
use crate::validate::{Checker, Facts};

/// What a property's value must be.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ty {
    String,
    Boolean,
    /// An integer in an inclusive range.
    Integer(i64, i64),
    Float,
    Timestamp,
    /// An identifier of one of these types (empty: any type).
    Ref(&'static [&'static str]),
    /// A list of values of the inner type, not empty.
    List(&'static Ty),
    /// A closed vocabulary / enumeration.
    Enum(&'static [&'static str]),
    /// Any JSON object.
    Dictionary,
    /// Any value at all (checked by a type-specific rule if at all).
    Any,
}

/// One property of a type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prop {
    pub name: &'static str,
    pub required: bool,
    pub ty: Ty,
}

const fn req(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        required: true,
        ty,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Prop {
    Prop {
        name,
        required: false,
        ty,
    }
}

pub(crate) struct TypeSpec {
    pub name: &'static str,
    pub kind: ObjectKind,
    pub props: &'static [Prop],
}

const STRINGS: Ty = Ty::List(&Ty::String);
const ANY_REFS: Ty = Ty::List(&Ty::Ref(&[]));

static TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "indicator",
        kind: ObjectKind::Domain,
        props: &[
            opt("name", Ty::String),
            opt("description", Ty::String),
            opt("indicator_types", STRINGS),
            req("pattern", Ty::String),
            req("pattern_type", Ty::String),
            opt("pattern_version", Ty::String),
            req("valid_from", Ty::Timestamp),
            opt("valid_until", Ty::Timestamp),
            opt("kill_chain_phases", Ty::Any),
        ],
    },
    TypeSpec {
        name: "malware",
        kind: ObjectKind::Domain,
        props: &[
            opt("name", Ty::String),
            opt("description", Ty::String),
            opt("malware_types", STRINGS),
            req("is_family", Ty::Boolean),
            opt("aliases", STRINGS),
            opt("first_seen", Ty::Timestamp),
            opt("last_seen", Ty::Timestamp),
            opt("operating_system_refs", Ty::List(&Ty::Ref(&["software"]))),
            opt("sample_refs", Ty::List(&Ty::Ref(&["file", "artifact"]))),
        ],
    },
    TypeSpec {
        name: "identity",
        kind: ObjectKind::Domain,
        props: &[
            req("name", Ty::String),
            opt("description", Ty::String),
            opt("roles", STRINGS),
            opt("identity_class", Ty::String),
            opt("sectors", STRINGS),
            opt("contact_information", Ty::String),
        ],
    },
    TypeSpec {
        name: "report",
        kind: ObjectKind::Domain,
        props: &[
            req("name", Ty::String),
            opt("description", Ty::String),
            opt("report_types", STRINGS),
            req("published", Ty::Timestamp),
            req("object_refs", ANY_REFS),
        ],
    },
    TypeSpec {
        name: "relationship",
        kind: ObjectKind::Relationship,
        props: &[
            req("relationship_type", Ty::String),
            opt("description", Ty::String),
            req("source_ref", Ty::Ref(&[])),
            req("target_ref", Ty::Ref(&[])),
            opt("start_time", Ty::Timestamp),
            opt("stop_time", Ty::Timestamp),
        ],
    },
    TypeSpec {
        name: "sighting",
        kind: ObjectKind::Relationship,
        props: &[
            opt("description", Ty::String),
            opt("first_seen", Ty::Timestamp),
            opt("last_seen", Ty::Timestamp),
            opt("count", Ty::Integer(0, 999_999_999)),
            req("sighting_of_ref", Ty::Ref(&[])),
            opt("observed_data_refs", Ty::List(&Ty::Ref(&["observed-data"]))),
            opt(
                "where_sighted_refs",
                Ty::List(&Ty::Ref(&["identity", "location"])),
            ),
            opt("summary", Ty::Boolean),
        ],
    },
    TypeSpec {
        name: "marking-definition",
        kind: ObjectKind::MarkingDefinition,
        props: &[
            opt("name", Ty::String),
            opt("definition_type", Ty::String),
            opt("definition", Ty::Dictionary),
        ],
    },
];

pub(crate) fn type_spec(name: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|t| t.name == name)
}

fn path(prop: &str) -> String {
    format!("$.{prop}")
}

/// Checks one object; returns the facts when the identity properties could be
/// read (problems elsewhere are still recorded in `cx`).
pub(crate) fn check_object(map: &Map<String, Value>, cx: &mut Checker<'_>) -> Option<Facts> {
    let object_type = match map.get("type") {
        Some(Value::String(t)) if is_valid_type_name(t) => t.clone(),
        Some(Value::String(t)) => {
            cx.problem(
                "$.type",
                format!(
                    "{t:?} is not a valid STIX type name (3-250 characters of a-z, 0-9 and '-')"
                ),
            );
            return None;
        }
        Some(_) => {
            cx.problem("$.type", "must be a string");
            return None;
        }
        None => {
            cx.problem("$.type", "required property is missing");
            return None;
        }
    };
    if object_type == "bundle" {
        cx.problem(
            "$.type",
            "a bundle cannot be stored as an object; send its objects",
        );
        return None;
    }
    let id = match map.get("id") {
        Some(Value::String(s)) => match Identifier::parse(s) {
            Ok(parsed) if parsed.object_type() == object_type => s.clone(),
            Ok(parsed) => {
                cx.problem(
                    "$.id",
                    format!(
                        "identifier type {:?} does not match the object type {object_type:?}",
                        parsed.object_type()
                    ),
                );
                return None;
            }
            Err(e) => {
                cx.problem("$.id", e.to_string());
                return None;
            }
        },
        Some(_) => {
            cx.problem("$.id", "must be a string");
            return None;
        }
        None => {
            cx.problem("$.id", "required property is missing");
            return None;
        }
    };

    let spec = type_spec(&object_type);
    let kind = spec.map_or(ObjectKind::Custom, |s| s.kind);
    let spec_version = match map.get("spec_version") {
        Some(Value::String(v)) if v == "2.1" => Some(v.clone()),
        Some(Value::String(v)) => {
            cx.problem(
                "$.spec_version",
                format!("{v:?} is not supported; this node accepts STIX 2.1 (\"2.1\")"),
            );
            None
        }
        Some(_) => {
            cx.problem("$.spec_version", "must be the string \"2.1\"");
            None
        }
        None if kind == ObjectKind::Observable => None,
        None => {
            cx.problem("$.spec_version", "required property is missing (\"2.1\")");
            None
        }
    };

    let versioned = !matches!(kind, ObjectKind::Observable);
    let created = timestamp_prop(map, "created", versioned, cx);
    let needs_modified = versioned && kind != ObjectKind::MarkingDefinition;
    let modified = if kind == ObjectKind::MarkingDefinition {
        None
    } else {
        timestamp_prop(map, "modified", needs_modified, cx)
    };
    if let (Some(c), Some(m)) = (created, modified)
        && m < c
    {
        cx.problem("$.modified", "must not be earlier than created");
    }

    let created_by_ref = match map.get("created_by_ref") {
        Some(v) => check_value("created_by_ref", v, &Ty::Ref(&["identity"]), cx)
            .then(|| v.as_str().map(str::to_owned))
            .flatten(),
        None => None,
    };
    let object_marking_refs = match map.get("object_marking_refs") {
        Some(v) => {
            check_value(
                "object_marking_refs",
                v,
                &Ty::List(&Ty::Ref(&["marking-definition"])),
                cx,
            );
            string_list(v)
        }
        None => Vec::new(),
    };
    let granular_marking_refs = match map.get("granular_markings") {
        Some(v) => check_granular_markings(v, cx),
        None => Vec::new(),
    };
    for (name, ty) in [
        ("revoked", Ty::Boolean),
        ("labels", STRINGS),
        ("confidence", Ty::Integer(0, 100)),
        ("lang", Ty::String),
        ("external_references", Ty::Any),
        ("extensions", Ty::Dictionary),
        ("defanged", Ty::Boolean),
    ] {
        if let Some(v) = map.get(name) {
            check_value(name, v, &ty, cx);
        }
    }

    if let Some(spec) = spec {
        for prop in spec.props {
            match map.get(prop.name) {
                Some(v) => {
                    check_value(prop.name, v, &prop.ty, cx);
                }
                None if prop.required => {
                    cx.problem(path(prop.name), "required property is missing");
                }
                None => {}
            }
        }
        type_rules(&object_type, map, cx);
    }
    for key in map.keys() {
        let known = spec.is_some_and(|s| s.props.iter().any(|p| p.name == key)) || is_common(key);
        if !known && !is_valid_property_name(key) {
            cx.problem(
                path(key),
                "custom property names must be 3-250 characters of a-z, 0-9 and '_'",
            );
        }
    }

    Some(Facts {
        id,
        object_type,
        kind,
        spec_version,
        created,
        modified,
        created_by_ref,
        object_marking_refs,
        granular_marking_refs,
    })
}

fn is_common(key: &str) -> bool {
    matches!(
        key,
        "type"
            | "spec_version"
            | "id"
            | "created_by_ref"
            | "created"
            | "modified"
            | "revoked"
            | "labels"
            | "confidence"
            | "lang"
            | "external_references"
            | "object_marking_refs"
            | "granular_markings"
            | "extensions"
            | "defanged"
    )
}

fn is_valid_property_name(key: &str) -> bool {
    (3..=250).contains(&key.len())
        && key
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// Rules that tables cannot express.
fn type_rules(object_type: &str, map: &Map<String, Value>, cx: &mut Checker<'_>) {
    if object_type == "indicator" {
        let from = map
            .get("valid_from")
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok());
        let until = map
            .get("valid_until")
            .and_then(Value::as_str)
            .and_then(|s| Timestamp::parse(s).ok());
        if let (Some(f), Some(u)) = (from, until)
            && u <= f
        {
            cx.problem("$.valid_until", "must be later than valid_from");
        }
        if let (Some(check), Some(Value::String(pattern)), Some(Value::String(pattern_type))) = (
            cx.pattern_check,
            map.get("pattern"),
            map.get("pattern_type"),
        ) {
            let version = map.get("pattern_version").and_then(Value::as_str);
            if let Err(message) = check.check(pattern, pattern_type, version) {
                cx.problem("$.pattern", message);
            }
        }
    }
}

fn timestamp_prop(
    map: &Map<String, Value>,
    name: &str,
    required: bool,
    cx: &mut Checker<'_>,
) -> Option<Timestamp> {
    match map.get(name) {
        Some(Value::String(s)) => match Timestamp::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                cx.problem(path(name), e.to_string());
                None
            }
        },
        Some(_) => {
            cx.problem(path(name), "must be a timestamp string");
            None
        }
        None if required => {
            cx.problem(path(name), "required property is missing");
            None
        }
        None => None,
    }
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn check_granular_markings(v: &Value, cx: &mut Checker<'_>) -> Vec<String> {
    let mut refs = Vec::new();
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        cx.problem("$.granular_markings", "must be a non-empty list");
        return refs;
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("$.granular_markings[{i}]");
        let Some(m) = item.as_object() else {
            cx.problem(at, "must be an object");
            continue;
        };
        match m.get("selectors") {
            Some(Value::Array(s)) if !s.is_empty() && s.iter().all(Value::is_string) => {}
            _ => cx.problem(
                format!("{at}.selectors"),
                "must be a non-empty list of strings",
            ),
        }
        match (m.get("marking_ref"), m.get("lang")) {
            (Some(Value::String(r)), None) => match Identifier::parse(r) {
                Ok(id) if id.object_type() == "marking-definition" => refs.push(r.clone()),
                _ => cx.problem(
                    format!("{at}.marking_ref"),
                    "must be a marking-definition identifier",
                ),
            },
            (None, Some(Value::String(_))) => {}
            (Some(_), Some(_)) => cx.problem(at, "must have marking_ref or lang, not both"),
            _ => cx.problem(
                at,
                "must have a marking_ref (identifier) or a lang (string)",
            ),
        }
    }
    refs
}

/// Checks one property value; returns whether it passed.
pub(crate) fn check_value(name: &str, v: &Value, ty: &Ty, cx: &mut Checker<'_>) -> bool {
    let before = cx.problems.len();
    check_at(&path(name), v, ty, cx);
    cx.problems.len() == before
}

fn check_at(at: &str, v: &Value, ty: &Ty, cx: &mut Checker<'_>) {
    match ty {
        Ty::String => {
            if !v.is_string() {
                cx.problem(at, "must be a string");
            }
        }
        Ty::Boolean => {
            if !v.is_boolean() {
                cx.problem(at, "must be true or false");
            }
        }
        Ty::Integer(lo, hi) => match v.as_i64() {
            Some(n) if (*lo..=*hi).contains(&n) => {}
            Some(_) => cx.problem(at, format!("must be between {lo} and {hi}")),
            None => cx.problem(at, "must be an integer"),
        },
        Ty::Float => {
            if !v.is_number() {
                cx.problem(at, "must be a number");
            }
        }
        Ty::Timestamp => match v.as_str() {
            Some(s) => {
                if let Err(e) = Timestamp::parse(s) {
                    cx.problem(at, e.to_string());
                }
            }
            None => cx.problem(at, "must be a timestamp string"),
        },
        Ty::Ref(allowed) => match v.as_str() {
            Some(s) => match Identifier::parse(s) {
                Ok(id) if allowed.is_empty() || allowed.contains(&id.object_type()) => {}
                Ok(id) => cx.problem(
                    at,
                    format!(
                        "must reference one of [{}], not {:?}",
                        allowed.join(", "),
                        id.object_type()
                    ),
                ),
                Err(e) => cx.problem(at, e.to_string()),
            },
            None => cx.problem(at, "must be an identifier string"),
        },
        Ty::List(inner) => match v.as_array() {
            Some(items) if items.is_empty() => cx.problem(at, "must not be an empty list"),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_at(&format!("{at}[{i}]"), item, inner, cx);
                }
            }
            None => cx.problem(at, "must be a list"),
        },
        Ty::Enum(values) => match v.as_str() {
            Some(s) if values.contains(&s) => {}
            Some(s) => cx.problem(at, format!("{s:?} is not one of [{}]", values.join(", "))),
            None => cx.problem(at, "must be a string"),
        },
        Ty::Dictionary => {
            if !v.is_object() {
                cx.problem(at, "must be an object");
            }
        }
        Ty::Any => {}
    }
}
