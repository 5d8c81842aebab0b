//! The MUST rules of STIX 2.1 that relate properties to each other, one
//! function per type or nested structure. Each reports at the property an
//! analyst would have to change.

use crate::json::{Map, Value};

use super::formats;
use super::path::Path;
use super::ty::{self, StructSpec, Ty, req, shown};
use super::types::lookup;
use super::{Category, category};
use crate::timestamp::Timestamp;
use crate::tlp;
use crate::validate::Checker;

fn timestamp(map: &Map<'_>, key: &str) -> Option<Timestamp> {
    map.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse(s).ok())
}

fn text<'m>(map: &'m Map<'_>, key: &str) -> Option<&'m str> {
    map.get(key).and_then(Value::as_str)
}

/// `later` must not be earlier than `earlier` (or, when `strictly`, must be
/// later than it).
fn ordered(
    map: &Map<'_>,
    earlier: &str,
    later: &str,
    strictly: bool,
    at: &Path<'_>,
    cx: &mut Checker<'_>,
) {
    if let (Some(a), Some(b)) = (timestamp(map, earlier), timestamp(map, later)) {
        // Echo the values as sent: that is what the sender has to find.
        let shown_a = text(map, earlier).unwrap_or_default();
        let shown_b = text(map, later).unwrap_or_default();
        if strictly && b <= a {
            cx.report(
                &at.key(later),
                format!("must be later than {earlier} ({shown_a}), but is {shown_b}"),
            );
        } else if !strictly && b < a {
            cx.report(
                &at.key(later),
                format!("must not be earlier than {earlier} ({shown_a}), but is {shown_b}"),
            );
        }
    }
}

pub(crate) fn first_last_seen(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    ordered(map, "first_seen", "last_seen", false, at, cx);
}

pub(crate) fn indicator(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    ordered(map, "valid_from", "valid_until", true, at, cx);
    if let (Some(check), Some(pattern), Some(pattern_type)) = (
        cx.pattern_check,
        text(map, "pattern"),
        text(map, "pattern_type"),
    ) {
        let version = text(map, "pattern_version");
        if let Err(message) = check.check(pattern, pattern_type, version) {
            cx.report(&at.key("pattern"), message);
        }
    }
}

pub(crate) fn relationship(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    ordered(map, "start_time", "stop_time", true, at, cx);
}

pub(crate) fn malware(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    first_last_seen(map, at, cx);
    if map.get("is_family").is_some_and(Value::is_true) && !map.contains_key("name") {
        cx.report(
            &at.key("name"),
            "is required when is_family is true: a malware family must be named",
        );
    }
}

pub(crate) fn malware_analysis(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    if !map.contains_key("result") && !map.contains_key("analysis_sco_refs") {
        cx.report(
            at,
            "a malware-analysis must give its result or analysis_sco_refs (or both)",
        );
    }
}

pub(crate) fn location(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    let latitude = map.contains_key("latitude");
    let longitude = map.contains_key("longitude");
    let placed =
        map.contains_key("region") || map.contains_key("country") || (latitude && longitude);
    if !placed {
        cx.report(
            at,
            "a location must give at least a region, a country, or a latitude together with a longitude",
        );
    }
    if latitude && !longitude {
        cx.report(&at.key("longitude"), "is required when latitude is given");
    }
    if longitude && !latitude {
        cx.report(&at.key("latitude"), "is required when longitude is given");
    }
    if map.contains_key("precision") && !(latitude && longitude) {
        cx.report(
            &at.key("precision"),
            "may only be given together with latitude and longitude",
        );
    }
}

pub(crate) fn observed_data(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    ordered(map, "first_observed", "last_observed", false, at, cx);
    match (map.get("objects"), map.get("object_refs")) {
        (Some(_), Some(_)) => cx.report(
            &at.key("objects"),
            "must not be present together with object_refs (objects is deprecated: use object_refs alone)",
        ),
        (None, None) => cx.report(
            at,
            "an observed-data must reference what was observed in object_refs (or, deprecated, embed it in objects)",
        ),
        (None, Some(Value::Array(refs))) => {
            let only_relationships = !refs.is_empty()
                && refs.iter().all(|r| {
                    r.as_str()
                        .and_then(|s| s.split_once("--"))
                        .is_some_and(|(t, _)| category(t) == Category::Sro)
                });
            if only_relationships {
                cx.report(
                    &at.key("object_refs"),
                    "must reference at least one cyber-observable object (SCO), not only relationships or sightings",
                );
            }
        }
        _ => {}
    }
}

pub(crate) fn language_content(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    let Some(Value::Object(contents)) = map.get("contents") else {
        return;
    };
    let at = at.key("contents");
    if contents.is_empty() {
        cx.report(
            &at,
            "is empty; give the translations keyed by language tag (e.g. {\"de\": {\"name\": ...}})",
        );
    }
    for (language, translation) in contents.into_iter() {
        let here = at.key(language);
        if !formats::is_language_tag(language) {
            cx.report(
                &here,
                "is not an RFC 5646 language tag: contents must be keyed by language (e.g. de, fr, pt-BR)",
            );
        }
        match translation {
            Value::Object(properties) if properties.is_empty() => cx.report(
                &here,
                "is empty; give at least one translated property or leave the language out",
            ),
            Value::Object(properties) => {
                for (property, value) in properties.into_iter() {
                    let inner = here.key(property);
                    if !formats::is_property_name(property) {
                        cx.report(
                            &inner,
                            "is not a property name: translations mirror the properties of the translated object",
                        );
                    }
                    ty::check_plain_value(value, &inner, cx);
                }
            }
            other => cx.report(
                &here,
                format!(
                    "must be an object mapping property names to translated text, but is {}",
                    ty::describe(other)
                ),
            ),
        }
    }
}

static STATEMENT_MARKING: StructSpec = StructSpec {
    what: "statement marking",
    props: &[req("statement", Ty::String)],
    at_least_one: false,
    custom_properties_checked: false,
    rule: None,
};

static TLP_MARKING: StructSpec = StructSpec {
    what: "TLP marking",
    props: &[req("tlp", Ty::String)],
    at_least_one: false,
    custom_properties_checked: false,
    rule: None,
};

pub(crate) fn marking_definition(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    let id = text(map, "id").unwrap_or("");
    let definition_type = text(map, "definition_type");
    let definition = map.get("definition").and_then(Value::as_object);
    if !map.contains_key("extensions") {
        for key in ["definition_type", "definition"] {
            if !map.contains_key(key) {
                cx.report(
                    &at.key(key),
                    "is required when the marking definition has no extensions (give definition_type and definition, e.g. a statement, or use an extension such as TLP 2.0)",
                );
            }
        }
    }
    match (definition_type, definition) {
        (Some("statement"), Some(d)) => {
            ty::check_struct(d, &STATEMENT_MARKING, &at.key("definition"), cx)
        }
        (Some("tlp"), Some(d)) => ty::check_struct(d, &TLP_MARKING, &at.key("definition"), cx),
        _ => {}
    }

    if let Some(published) = tlp::tlp_1(id) {
        if definition_type != Some("tlp") {
            cx.report(
                &at.key("definition_type"),
                format!(
                    "must be \"tlp\": {id} is the predefined {} marking definition of STIX 2.1",
                    published.name
                ),
            );
        }
        if let Some(level) = definition
            .and_then(|d| d.get("tlp"))
            .and_then(Value::as_str)
            && level != published.level
        {
            cx.report(
                &at.key("definition").key("tlp"),
                format!(
                    "must be {:?}: {id} is the predefined {} marking definition",
                    published.level, published.name
                ),
            );
        }
        published_fields(map, published.name, tlp::TLP_1_CREATED, at, cx);
    } else if definition_type == Some("tlp") {
        cx.report(
            &at.key("id"),
            "is not one of the four predefined TLP marking definitions: STIX 2.1 forbids creating other TLP markings; reference the published ones (e.g. marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da for TLP:GREEN) or use TLP 2.0",
        );
    }

    if let Some(published) = tlp::tlp_2(id) {
        let level = map
            .get("extensions")
            .and_then(|e| e.get(tlp::TLP_2_EXTENSION_ID))
            .and_then(|e| e.get(tlp::TLP_2_PROPERTY))
            .and_then(Value::as_str);
        match level {
            Some(level) if level == published.level => {}
            Some(level) => cx.report(
                &at.key("extensions")
                    .key(tlp::TLP_2_EXTENSION_ID)
                    .key(tlp::TLP_2_PROPERTY),
                format!(
                    "is {level:?}, but {id} is the published {} marking definition (level {:?})",
                    published.name, published.level
                ),
            ),
            None => cx.report(
                &at.key("extensions"),
                format!(
                    "must carry the TLP 2.0 extension {} with {}: {:?}, because {id} is the published {} marking definition",
                    tlp::TLP_2_EXTENSION_ID,
                    tlp::TLP_2_PROPERTY,
                    published.level,
                    published.name
                ),
            ),
        }
        published_fields(map, published.name, tlp::TLP_2_CREATED, at, cx);
    }
}

/// A published marking definition may not be re-created with other content
/// under its id: marking definitions cannot be versioned.
fn published_fields(map: &Map<'_>, name: &str, created: &str, at: &Path<'_>, cx: &mut Checker<'_>) {
    if let Some(c) = text(map, "created")
        && c != created
    {
        cx.report(
            &at.key("created"),
            format!("must be {created:?}, as in the published {name} marking definition"),
        );
    }
    match text(map, "name") {
        Some(n) if n == name => {}
        Some(_) => cx.report(
            &at.key("name"),
            format!("must be {name:?}, as in the published marking definition with this id"),
        ),
        None if !map.contains_key("name") => cx.report(
            &at.key("name"),
            format!("is required: the published marking definition with this id is named {name:?}"),
        ),
        None => {}
    }
}

pub(crate) const TLP_2_LEVELS: &[&str] = &["clear", "green", "amber", "amber+strict", "red"];

pub(crate) fn extension_definition(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    let top_level = map
        .get("extension_types")
        .and_then(Value::as_array)
        .is_some_and(|types| {
            types
                .iter()
                .any(|t| t.as_str() == Some("toplevel-property-extension"))
        });
    if map.contains_key("extension_properties") && !top_level {
        cx.report(
            &at.key("extension_properties"),
            "may only be used when extension_types includes toplevel-property-extension",
        );
    }
}

pub(crate) fn artifact(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    match (map.contains_key("payload_bin"), map.contains_key("url")) {
        (true, true) => cx.report(
            &at.key("url"),
            "must not be present together with payload_bin: give the content inline or by URL, not both",
        ),
        (false, false) => cx.report(at, "an artifact must have payload_bin or url"),
        (false, true) if !map.contains_key("hashes") => cx.report(
            &at.key("hashes"),
            "is required when url is given, so that the downloaded content can be verified",
        ),
        _ => {}
    }
    if map.contains_key("decryption_key") && !map.contains_key("encryption_algorithm") {
        cx.report(
            &at.key("decryption_key"),
            "must not be present without encryption_algorithm",
        );
    }
}

pub(crate) fn email_message(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    match map.get("is_multipart") {
        Some(Value::Bool(true)) if map.contains_key("body") => cx.report(
            &at.key("body"),
            "must not be used when is_multipart is true: put the parts in body_multipart",
        ),
        Some(Value::Bool(false)) if map.contains_key("body_multipart") => cx.report(
            &at.key("body_multipart"),
            "must not be used when is_multipart is false: put the text in body",
        ),
        _ => {}
    }
}

pub(crate) fn mime_part(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    if !map.contains_key("body") && !map.contains_key("body_raw_ref") {
        cx.report(at, "a MIME part must have body or body_raw_ref");
    }
}

pub(crate) fn file(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    if !map.contains_key("hashes") && !map.contains_key("name") {
        cx.report(at, "a file must have hashes or name (or both)");
    }
    if map.contains_key("name_enc") && !map.contains_key("name") {
        cx.report(&at.key("name_enc"), "must not be present without name");
    }
}

pub(crate) fn windows_pebinary_ext(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    let spec = lookup("file").and_then(|f| f.extension("windows-pebinary-ext"));
    let others = map
        .keys()
        .filter(|k| *k != "pe_type" && spec.is_some_and(|s| s.prop(k).is_some()))
        .count();
    if others == 0 {
        cx.report(
            at,
            "a windows-pebinary-ext extension must contain at least one property besides pe_type",
        );
    }
}

pub(crate) fn network_traffic(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    if !map.contains_key("src_ref") && !map.contains_key("dst_ref") {
        cx.report(
            at,
            "a network-traffic must have src_ref or dst_ref (or both)",
        );
    }
    if map.get("is_active").is_some_and(Value::is_true) && map.contains_key("end") {
        cx.report(
            &at.key("end"),
            "must not be present when is_active is true (traffic that is still going on has no end)",
        );
    }
    ordered(map, "start", "end", false, at, cx);
}

/// Process, user-account, windows-registry-key and x509-certificate have only
/// optional properties, of which at least one MUST be present.
pub(crate) fn at_least_one_specific_property(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    let Some(spec) = text(map, "type").and_then(lookup) else {
        return;
    };
    let extensions_count = matches!(spec.name, "process" | "user-account");
    let present = map
        .keys()
        .any(|k| spec.prop(k).is_some() || (extensions_count && k == "extensions"));
    if !present {
        let names: Vec<&str> = spec.props.iter().map(|p| p.name).collect();
        let extra = if extensions_count {
            " (or an extension)"
        } else {
            ""
        };
        cx.report(
            at,
            format!(
                "{} {} must contain at least one of its own properties{extra}: {}",
                ty::article(spec.name),
                spec.name,
                names.join(", ")
            ),
        );
    }
}

pub(crate) fn external_reference(map: &Map<'_>, at: &Path<'_>, cx: &mut Checker<'_>) {
    if !["description", "url", "external_id"]
        .iter()
        .any(|k| map.contains_key(k))
    {
        cx.report(
            at,
            "an external reference needs description, url or external_id besides source_name",
        );
    }
    let Some(external_id) = text(map, "external_id") else {
        return;
    };
    let (prefix, example) = match text(map, "source_name") {
        Some("cve") => ("CVE-", "CVE-2016-1234"),
        Some("capec") => ("CAPEC-", "CAPEC-163"),
        _ => return,
    };
    let ok = match external_id.strip_prefix(prefix) {
        Some(rest) if prefix == "CVE-" => rest.split_once('-').is_some_and(|(year, number)| {
            year.len() == 4
                && year.bytes().all(|c| c.is_ascii_digit())
                && number.len() >= 4
                && number.bytes().all(|c| c.is_ascii_digit())
        }),
        Some(rest) => !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit()),
        None => false,
    };
    if !ok {
        cx.report(
            &at.key("external_id"),
            format!(
                "{} is not a {prefix}identifier: when source_name is {:?} the external_id must be the exact identifier, e.g. {example}",
                shown(external_id),
                prefix.trim_end_matches('-').to_lowercase()
            ),
        );
    }
}
