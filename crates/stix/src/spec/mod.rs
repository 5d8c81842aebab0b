//! The STIX 2.1 rules: which properties each type has, which are required,
//! what each must hold (tables in `types.rs`), and how properties relate
//! (`rules.rs`). This module walks one object through them.
//!
//! Decisions where the specification leaves room, and why:
//! - STIX 2.0 content (an SDO, SRO or marking without `spec_version`) is
//!   refused with a message saying so: this node speaks 2.1, and 2.0 objects
//!   follow different rules (no `spec_version`, different vocabularies).
//! - Unknown types are custom objects (deprecated in 2.1 but legal). Their
//!   common properties follow the kind of object they declare through an
//!   extension definition (`new-sdo`, `new-sco`, `new-sro`), or, without one,
//!   the kind they look like: `created`/`modified` make an SDO-like object,
//!   their absence an SCO-like one.
//! - Only MUST rules are enforced; SHOULDs and open vocabularies are not.

mod formats;
mod path;
mod rules;
mod ty;
mod types;

use std::collections::BTreeMap;

use crate::json::{Map, Value};

use crate::id::{Identifier, is_valid_type_name};
use crate::object::ObjectKind;
use crate::timestamp::Timestamp;
use crate::tlp;
use crate::validate::{Checker, Facts};
pub(crate) use path::Path;
use ty::{Refs, Ty, check, check_plain_value, describe, shown};
use types::TypeSpec;

/// The broad class of a type, as far as reference rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    Sdo,
    Sco,
    Sro,
    Meta,
    Bundle,
    Custom,
}

impl Category {
    fn describe(self) -> &'static str {
        match self {
            Category::Sdo => "a domain object",
            Category::Sco => "a cyber-observable object",
            Category::Sro => "a relationship object",
            Category::Meta => "a meta object",
            Category::Bundle => "a bundle is a container, not a STIX object",
            Category::Custom => "a custom object",
        }
    }
}

pub(crate) fn category(object_type: &str) -> Category {
    match types::lookup(object_type) {
        Some(spec) => match spec.kind {
            ObjectKind::Domain => Category::Sdo,
            ObjectKind::Observable => Category::Sco,
            ObjectKind::Relationship => Category::Sro,
            ObjectKind::MarkingDefinition | ObjectKind::Meta => Category::Meta,
            ObjectKind::Custom => Category::Custom,
        },
        None if object_type == "bundle" => Category::Bundle,
        None => Category::Custom,
    }
}

/// Which common properties an object must have (STIX 2.1 section 3.2).
struct Profile {
    /// How to call such objects in messages.
    noun: &'static str,
    spec_version_required: bool,
    created_required: bool,
    modified_required: bool,
    /// Marking definitions are versioned by `created` only.
    modified_is_version: bool,
    created_by_ref_required: bool,
    defanged_allowed: bool,
}

const fn versioned(noun: &'static str) -> Profile {
    Profile {
        noun,
        spec_version_required: true,
        created_required: true,
        modified_required: true,
        modified_is_version: true,
        created_by_ref_required: false,
        defanged_allowed: false,
    }
}

const fn observable(noun: &'static str) -> Profile {
    Profile {
        noun,
        spec_version_required: false,
        created_required: false,
        modified_required: false,
        modified_is_version: true,
        created_by_ref_required: false,
        defanged_allowed: true,
    }
}

fn profile(spec: Option<&TypeSpec>, map: &Map<'_>) -> Profile {
    let Some(spec) = spec else {
        return if custom_looks_observable(map) {
            observable("custom cyber-observable object")
        } else {
            versioned("custom object")
        };
    };
    match spec.name {
        "marking-definition" => Profile {
            modified_required: false,
            modified_is_version: false,
            ..versioned("marking definition")
        },
        "extension-definition" => Profile {
            created_by_ref_required: true,
            ..versioned("extension definition")
        },
        "language-content" => versioned("language content object"),
        _ => match spec.kind {
            ObjectKind::Observable => observable("cyber-observable object"),
            ObjectKind::Relationship => versioned("relationship object"),
            _ => versioned("domain object"),
        },
    }
}

/// A custom object declares its kind through its extension definition, or
/// shows it by having the versioning timestamps of SDOs and SROs.
fn custom_looks_observable(map: &Map<'_>) -> bool {
    if let Some(Value::Object(extensions)) = map.get("extensions") {
        for extension in extensions.values() {
            match extension.get("extension_type").and_then(Value::as_str) {
                Some("new-sco") => return true,
                Some("new-sdo" | "new-sro") => return false,
                _ => {}
            }
        }
    }
    !map.contains_key("created") && !map.contains_key("modified")
}

/// Names STIX 2.1 section 3.8 reserves: no object may use them.
const RESERVED_PROPERTIES: &[&str] = &["severity", "username", "phone_numbers", "action"];

/// Common properties, checked by [`check_object`] itself.
fn is_common(key: &str) -> bool {
    matches!(
        key,
        "type"
            | "spec_version"
            | "id"
            | "created"
            | "modified"
            | "created_by_ref"
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

const EXTERNAL_REFERENCES: Ty = Ty::List(&Ty::Struct(&types::EXTERNAL_REFERENCE));
const MARKING_REFS: Ty = Ty::List(&Ty::Ref(Refs::Types(&["marking-definition"])));

/// Checks one object; returns the facts when its type and id could be read
/// (problems elsewhere are still recorded in `cx`).
pub(crate) fn check_object(map: &Map<'_>, cx: &mut Checker<'_>) -> Option<Facts> {
    let root = Path::Root;
    let object_type = match map.get("type") {
        Some(Value::String(t)) if is_valid_type_name(t) => t.as_ref(),
        Some(Value::String(t)) => {
            cx.report(
                &root.key("type"),
                format!(
                    "{} is not a valid STIX type name: 3-250 characters of lowercase a-z, 0-9 and single hyphens, starting with a letter",
                    shown(t)
                ),
            );
            return None;
        }
        Some(v) => {
            cx.report(
                &root.key("type"),
                format!(
                    "must be a string naming the object type, but is {}",
                    describe(v)
                ),
            );
            return None;
        }
        None => {
            cx.report(
                &root.key("type"),
                "is required but missing: every STIX object names its type",
            );
            return None;
        }
    };
    if object_type == "bundle" {
        cx.report(
            &root.key("type"),
            "a bundle is a container, not an object to store: send the objects it holds (a bundle, envelope or list is split automatically)",
        );
        return None;
    }
    let id = match map.get("id") {
        Some(Value::String(s)) => match Identifier::parse(s) {
            Ok(parsed) if parsed.object_type() == object_type => parsed,
            Ok(parsed) => {
                cx.report(
                    &root.key("id"),
                    format!(
                        "starts with {:?}, but the object's type is {object_type:?}: an identifier must begin with its object's type",
                        parsed.object_type()
                    ),
                );
                return None;
            }
            Err(e) => {
                cx.report(&root.key("id"), e.to_string());
                return None;
            }
        },
        Some(v) => {
            cx.report(
                &root.key("id"),
                format!(
                    "must be a string of the form type--UUID, but is {}",
                    describe(v)
                ),
            );
            return None;
        }
        None => {
            cx.report(
                &root.key("id"),
                "is required but missing: every STIX object has an identifier (type--UUID)",
            );
            return None;
        }
    };

    let spec = types::lookup(object_type);
    let kind = spec.map_or(ObjectKind::Custom, |s| s.kind);
    let profile = profile(spec, map);
    cx.defanged = map.get("defanged").is_some_and(Value::is_true);

    let spec_version = check_spec_version(map, &profile, cx);
    let created = versioning_timestamp(map, "created", profile.created_required, &profile, cx);
    let modified = versioning_timestamp(map, "modified", profile.modified_required, &profile, cx);
    if let (Some(c), Some(m)) = (created, modified)
        && m < c
    {
        let text = |k| map.get(k).and_then(Value::as_str).unwrap_or_default();
        cx.report(
            &root.key("modified"),
            format!(
                "must not be earlier than created ({}), but is {}",
                text("created"),
                text("modified")
            ),
        );
    }

    let created_by_ref = match map.get("created_by_ref") {
        Some(v) => {
            check(
                v,
                &Ty::Ref(Refs::Types(&["identity"])),
                &root.key("created_by_ref"),
                cx,
            );
            v.as_str().map(str::to_owned)
        }
        None => {
            if profile.created_by_ref_required {
                cx.report(
                    &root.key("created_by_ref"),
                    format!(
                        "is required but missing: an {} must name the identity that created it",
                        profile.noun
                    ),
                );
            }
            None
        }
    };
    for (name, ty) in [
        ("revoked", Ty::Boolean),
        ("labels", Ty::List(&Ty::String)),
        ("confidence", Ty::Integer(0, 100)),
        ("lang", Ty::LangTag),
        ("external_references", EXTERNAL_REFERENCES),
        ("defanged", Ty::Boolean),
    ] {
        if let Some(v) = map.get(name) {
            check(v, &ty, &root.key(name), cx);
        }
    }
    if map.contains_key("defanged") && !profile.defanged_allowed {
        cx.report(
            &root.key("defanged"),
            format!(
                "may only be used on cyber-observable objects (SCOs), not on a {}",
                profile.noun
            ),
        );
    }
    let object_marking_refs = match map.get("object_marking_refs") {
        Some(v) => {
            let at = root.key("object_marking_refs");
            check(v, &MARKING_REFS, &at, cx);
            let refs = string_list(v);
            if object_type == "marking-definition" {
                for (i, r) in refs.iter().enumerate() {
                    if r == id.as_str() {
                        cx.report(
                            &at.index(i),
                            "must not refer to this marking definition itself (no circular markings)",
                        );
                    }
                }
            }
            refs
        }
        None => Vec::new(),
    };
    let granular_marking_refs = match map.get("granular_markings") {
        Some(v) => check_granular_markings(map, v, object_type, id.as_str(), cx),
        None => Vec::new(),
    };
    check_extensions(map, spec, kind, &root, cx);
    check_body(map, spec, &root, cx);

    if let Some(contributing) = spec.and_then(|s| s.uuid_v4_unless)
        && !contributing.iter().any(|p| map.contains_key(p))
        && id.uuid_version() != 4
    {
        let because = if contributing.is_empty() {
            format!(
                "{} {object_type} has no ID contributing properties",
                ty::article(object_type)
            )
        } else {
            format!(
                "none of its ID contributing properties ({}) is present",
                contributing.join(", ")
            )
        };
        cx.report(
            &root.key("id"),
            format!(
                "must use a random UUID (version 4), because {because}; this one is version {}",
                id.uuid_version()
            ),
        );
    }

    Some(Facts {
        id: id.into_string(),
        object_type: object_type.to_owned(),
        kind,
        spec_version,
        created,
        modified: if profile.modified_is_version {
            modified
        } else {
            None
        },
        created_by_ref,
        object_marking_refs,
        granular_marking_refs,
    })
}

fn check_spec_version(map: &Map<'_>, profile: &Profile, cx: &mut Checker<'_>) -> Option<String> {
    let at = Path::Root;
    let at = at.key("spec_version");
    match map.get("spec_version") {
        Some(Value::String(v)) if v == "2.1" => Some(v.to_string()),
        Some(Value::String(v)) if v == "2.0" => {
            cx.report(
                &at,
                "\"2.0\" is not accepted: this node stores STIX 2.1 only; convert the object to STIX 2.1 and set \"spec_version\": \"2.1\"",
            );
            None
        }
        Some(Value::String(v)) => {
            cx.report(
                &at,
                format!(
                    "{} is not a STIX version this node accepts: it must be \"2.1\"",
                    shown(v)
                ),
            );
            None
        }
        Some(v) => {
            cx.report(
                &at,
                format!("must be the string \"2.1\", but is {}", describe(v)),
            );
            None
        }
        None if profile.spec_version_required => {
            cx.report(
                &at,
                format!(
                    "is required but missing: every STIX 2.1 {} must say \"spec_version\": \"2.1\". Without it the object is STIX 2.0 content, which this node does not accept; convert it to STIX 2.1 first",
                    profile.noun
                ),
            );
            None
        }
        None => None,
    }
}

/// `created` and `modified`: strict timestamps with at least millisecond
/// precision (STIX 2.1 section 3.2).
fn versioning_timestamp(
    map: &Map<'_>,
    name: &str,
    required: bool,
    profile: &Profile,
    cx: &mut Checker<'_>,
) -> Option<Timestamp> {
    let root = Path::Root;
    let at = root.key(name);
    match map.get(name) {
        Some(Value::String(s)) => match Timestamp::parse(s) {
            Ok(t) => {
                let fraction_digits = if s.as_bytes()[19] == b'.' {
                    s.len() - 21
                } else {
                    0
                };
                if fraction_digits < 3 {
                    cx.report(
                        &at,
                        format!(
                            "must be precise to at least the millisecond (three digits after the decimal point, e.g. 2016-05-12T08:17:27.000Z), but is {}",
                            shown(s)
                        ),
                    );
                }
                Some(t)
            }
            Err(e) => {
                cx.report(&at, e.to_string());
                None
            }
        },
        Some(v) => {
            cx.report(
                &at,
                format!("must be a timestamp string, but is {}", describe(v)),
            );
            None
        }
        None if required => {
            cx.report(
                &at,
                format!(
                    "is required but missing: every {} records when it was {name}",
                    profile.noun
                ),
            );
            None
        }
        None => None,
    }
}

/// The type's own properties, custom properties, required properties and
/// cross-property rules of one object (top-level or inside an observable
/// container).
fn check_body(map: &Map<'_>, spec: Option<&TypeSpec>, at: &Path<'_>, cx: &mut Checker<'_>) {
    for (key, value) in map {
        if is_common(key) {
            continue;
        }
        match spec.and_then(|s| s.prop(key)) {
            Some(prop) => check(value, &prop.ty, &at.key(key), cx),
            None => check_custom_property(key, value, &at.key(key), cx),
        }
    }
    let Some(spec) = spec else {
        return;
    };
    for prop in spec.props {
        if prop.required && !map.contains_key(prop.name) {
            cx.report(
                &at.key(prop.name),
                format!(
                    "is required for {} {} but missing",
                    ty::article(spec.name),
                    spec.name
                ),
            );
        }
    }
    if let Some(rule) = spec.rule {
        rule(map, at, cx);
    }
}

/// A property STIX does not define for this object: a custom property
/// (STIX 2.1 section 11.1) or a top-level extension property (section 7.3).
pub(crate) fn check_custom_property(key: &str, value: &Value, at: &Path<'_>, cx: &mut Checker<'_>) {
    if RESERVED_PROPERTIES.contains(&key) {
        cx.report(
            at,
            format!("{key:?} is a reserved property name in STIX 2.1 and must not be used"),
        );
        return;
    }
    if !formats::is_property_name(key) {
        cx.report(
            at,
            "is not a valid property name: custom property names must be 3-250 characters of lowercase a-z, 0-9 and '_', starting with a letter (e.g. x_acme_risk_score)",
        );
    }
    check_plain_value(value, at, cx);
    if key.ends_with("_hex") {
        check(value, &Ty::Hex, at, cx);
    } else if key.ends_with("_bin") {
        check(value, &Ty::Binary, at, cx);
    }
}

fn check_extensions(
    map: &Map<'_>,
    spec: Option<&TypeSpec>,
    kind: ObjectKind,
    object: &Path<'_>,
    cx: &mut Checker<'_>,
) {
    let Some(v) = map.get("extensions") else {
        return;
    };
    let at = object.key("extensions");
    let Value::Object(extensions) = v else {
        cx.report(
            &at,
            format!(
                "must be a dictionary of extensions (a JSON object), but is {}",
                describe(v)
            ),
        );
        return;
    };
    if extensions.is_empty() {
        cx.report(
            &at,
            "is an empty dictionary; STIX forbids empty dictionaries: leave the property out",
        );
    }
    for (key, body) in extensions {
        let here = at.key(key);
        let Value::Object(body) = body else {
            cx.report(
                &here,
                format!(
                    "must be an object holding the extension's properties, but is {}",
                    describe(body)
                ),
            );
            continue;
        };
        if let Some(t) = body.get("extension_type") {
            check(
                t,
                &Ty::Enum("extension-type-enum", types::EXTENSION_TYPE_ENUM),
                &here.key("extension_type"),
                cx,
            );
        }
        if key.starts_with("extension-definition--") {
            if !Identifier::parse(key).is_ok_and(|id| id.object_type() == "extension-definition") {
                cx.report(&here, "is not a valid extension-definition identifier");
                continue;
            }
            if !body.contains_key("extension_type") {
                cx.report(
                    &here.key("extension_type"),
                    format!(
                        "is required in an extension defined by an extension-definition; use one of {}",
                        types::EXTENSION_TYPE_ENUM.join(", ")
                    ),
                );
            }
            for (k, value) in body {
                if k != "extension_type" {
                    check_custom_property(k, value, &here.key(k), cx);
                }
            }
            if key == tlp::TLP_2_EXTENSION_ID {
                let level_at = here.key(tlp::TLP_2_PROPERTY);
                match body.get(tlp::TLP_2_PROPERTY) {
                    Some(level) => check(
                        level,
                        &Ty::Enum("the TLP 2.0 level", rules::TLP_2_LEVELS),
                        &level_at,
                        cx,
                    ),
                    None => cx.report(
                        &level_at,
                        "is required by the TLP 2.0 extension (clear, green, amber, amber+strict or red)",
                    ),
                }
            }
        } else if let Some(extension) = spec.and_then(|s| s.extension(key)) {
            ty::check_struct(body, extension, &here, cx);
        } else if kind == ObjectKind::MarkingDefinition {
            cx.report(
                &here,
                "marking definitions can only carry extensions defined by an extension-definition (keys of the form extension-definition--UUID)",
            );
        } else if formats::is_custom_extension_name(key) {
            if body.is_empty() {
                cx.report(&here, "a custom extension must have at least one property");
            }
            for (k, value) in body {
                if k != "extension_type" {
                    check_custom_property(k, value, &here.key(k), cx);
                }
            }
        } else {
            let predefined = spec
                .map(|s| {
                    s.extensions
                        .iter()
                        .map(|(name, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let hint = if predefined.is_empty() {
                String::new()
            } else {
                format!(" (predefined here: {predefined})")
            };
            cx.report(
                &here,
                format!(
                    "is not a valid extension key: use the id of an extension-definition (extension-definition--UUID) or an extension name of a-z, 0-9 and '-' ending in -ext{hint}"
                ),
            );
        }
    }
}

fn check_granular_markings(
    object: &Map<'_>,
    v: &Value,
    object_type: &str,
    id: &str,
    cx: &mut Checker<'_>,
) -> Vec<String> {
    let root = Path::Root;
    let at = root.key("granular_markings");
    let mut refs = Vec::new();
    let items = match v {
        Value::Array(items) if !items.is_empty() => items,
        Value::Array(_) => {
            cx.report(
                &at,
                "is an empty list; STIX forbids empty lists: leave the property out",
            );
            return refs;
        }
        other => {
            cx.report(
                &at,
                format!(
                    "must be a list of granular markings, but is {}",
                    describe(other)
                ),
            );
            return refs;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let here = at.index(i);
        let Value::Object(marking) = item else {
            cx.report(
                &here,
                format!(
                    "must be an object with selectors and a marking_ref or lang, but is {}",
                    describe(item)
                ),
            );
            continue;
        };
        match marking.get("selectors") {
            Some(selectors) => {
                let selectors_at = here.key("selectors");
                check(selectors, &Ty::List(&Ty::String), &selectors_at, cx);
                if let Value::Array(list) = selectors {
                    for (j, selector) in list.iter().enumerate() {
                        if let Some(s) = selector.as_str()
                            && let Err(reason) = resolve_selector(object, s)
                        {
                            cx.report(&selectors_at.index(j), reason);
                        }
                    }
                }
            }
            None => cx.report(
                &here.key("selectors"),
                "is required: a granular marking must say which properties it applies to",
            ),
        }
        match (marking.get("marking_ref"), marking.get("lang")) {
            (Some(r), None) => {
                let ref_at = here.key("marking_ref");
                check(r, &Ty::Ref(Refs::Types(&["marking-definition"])), &ref_at, cx);
                if let Some(s) = r.as_str() {
                    if object_type == "marking-definition" && s == id {
                        cx.report(
                            &ref_at,
                            "must not refer to this marking definition itself (no circular markings)",
                        );
                    }
                    refs.push(s.to_owned());
                }
            }
            (None, Some(lang)) => check(lang, &Ty::LangTag, &here.key("lang"), cx),
            (Some(_), Some(_)) => cx.report(
                &here,
                "must have either marking_ref or lang, not both: one granular marking applies one marking or one language",
            ),
            (None, None) => cx.report(
                &here,
                "needs a marking_ref (a marking-definition id) or a lang (a language tag)",
            ),
        }
    }
    refs
}

/// Follows a granular-marking selector (STIX 2.1 section 7.2.3) through the
/// object; selectors must select content that is present.
fn resolve_selector(object: &Map<'_>, selector: &str) -> Result<(), String> {
    let invalid = |why: String| Err(format!("selector {} is invalid: {why}", shown(selector)));
    let mut current: Option<&Value> = None;
    let mut walked = String::new();
    for component in selector.split('.') {
        if component.is_empty() {
            return invalid(
                "it has an empty component (selectors are components joined by single dots)".into(),
            );
        }
        let at_text = if walked.is_empty() {
            "the object".to_owned()
        } else {
            walked.clone()
        };
        if let Some(index) = component
            .strip_prefix('[')
            .and_then(|c| c.strip_suffix(']'))
        {
            if index.is_empty() || !index.bytes().all(|c| c.is_ascii_digit()) {
                return invalid(format!(
                    "[{index}] is not a list index (a non-negative number)"
                ));
            }
            let Some(Value::Array(items)) = current else {
                return invalid(format!("{at_text} is not a list, so it has no [{index}]"));
            };
            let i: usize = index.parse().unwrap_or(usize::MAX);
            match items.get(i) {
                Some(item) => current = Some(item),
                None => {
                    return invalid(format!(
                        "{at_text} has {} item(s), so there is no [{index}]",
                        items.len()
                    ));
                }
            }
        } else {
            let map = match current {
                None => object,
                Some(Value::Object(map)) => map,
                Some(_) => {
                    return invalid(format!(
                        "{at_text} is not an object, so it has no property {component:?}"
                    ));
                }
            };
            match map.get(component) {
                Some(v) => current = Some(v),
                None => {
                    return invalid(format!("{at_text} has no property {component:?}"));
                }
            }
        }
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(component);
    }
    Ok(())
}

/// The deprecated `objects` of observed-data: SCOs keyed by local names,
/// whose references point at other keys of the same container.
pub(crate) fn check_observable_container(v: &Value, at: &Path<'_>, cx: &mut Checker<'_>) {
    let Value::Object(container) = v else {
        cx.report(
            at,
            format!(
                "must be a dictionary of cyber-observable objects keyed by local names, but is {}",
                describe(v)
            ),
        );
        return;
    };
    cx.warn(
        at,
        "objects is deprecated in STIX 2.1: share the observed SCOs as top-level objects and list them in object_refs",
    );
    if container.is_empty() {
        cx.report(at, "must contain at least one cyber-observable object");
        return;
    }
    let local_types: BTreeMap<String, Option<String>> = container
        .into_iter()
        .map(|(k, o)| {
            (
                k.to_owned(),
                o.get("type").and_then(Value::as_str).map(str::to_owned),
            )
        })
        .collect();
    let saved_container = cx.container.replace(local_types);
    let saved_defanged = cx.defanged;
    for (key, object) in container {
        let here = at.key(key);
        if !formats::is_dictionary_key(key) {
            cx.report(
                &here,
                "is not a valid dictionary key: at most 250 characters of a-z, A-Z, 0-9, '-' and '_'",
            );
        }
        let Value::Object(object) = object else {
            cx.report(
                &here,
                format!(
                    "must be a cyber-observable object, but is {}",
                    describe(object)
                ),
            );
            continue;
        };
        let object_type = match object.get("type") {
            Some(Value::String(t)) if is_valid_type_name(t) => t.as_ref(),
            Some(Value::String(t)) => {
                cx.report(
                    &here.key("type"),
                    format!("{} is not a valid STIX type name", shown(t)),
                );
                continue;
            }
            _ => {
                cx.report(
                    &here.key("type"),
                    "is required: every object in the container names its type",
                );
                continue;
            }
        };
        match category(object_type) {
            Category::Sco | Category::Custom => {
                let spec = types::lookup(object_type);
                cx.defanged = object.get("defanged").is_some_and(Value::is_true);
                check_extensions(object, spec, ObjectKind::Observable, &here, cx);
                check_body(object, spec, &here, cx);
            }
            other => cx.report(
                &here.key("type"),
                format!(
                    "{object_type} objects cannot be in an observable container ({}); only cyber-observable objects can",
                    other.describe()
                ),
            ),
        }
    }
    cx.container = saved_container;
    cx.defanged = saved_defanged;
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
