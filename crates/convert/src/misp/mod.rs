//! MISP events to STIX 2.1, mapped the way MISP's own converter does.
//!
//! The reference is `misp-stix` (PyPI), `MISPtoSTIX21Parser`: same STIX
//! objects for the same records, same identifiers where misp-stix keeps the
//! MISP uuid (`indicator--<attribute uuid>`, `observed-data--<attribute
//! uuid>`, `<sco type>--<attribute uuid>`, `report--<event uuid>`,
//! `identity--<Orgc uuid>`, `malware--<cluster uuid>` …), and relationship
//! ids derived the way misp-stix derives them. `tests/convert/` (pytest)
//! converts the same events with both and compares what they mean.
//!
//! # Input
//!
//! [`read`] takes what MISP exports and its feeds publish: one event
//! (`{"Event": {…}}`, or the event object alone), a JSON list of them, or the
//! `{"response": […]}` answer of MISP's REST API (`/events/restSearch`).
//!
//! # Mapping
//!
//! | MISP | STIX 2.1 |
//! |---|---|
//! | event, published | `report` (`published` = `publish_timestamp`) referencing every object below |
//! | event, not published | `grouping` (context `suspicious-activity`), as misp-stix |
//! | event `Orgc` | `identity` (organization), the `created_by_ref` of what the event holds |
//! | attribute with `to_ids` | `indicator` with a STIX pattern (kill chain `misp-category`, labels `misp:type`, `misp:category`) |
//! | attribute without `to_ids` | `observed-data` and its SCOs |
//! | `vulnerability`, `campaign-name` | `vulnerability`, `campaign` |
//! | `yara`, `snort`, `suricata`, `sigma` | `indicator` with that `pattern_type` |
//! | `user-agent`, `http-method`, `port`, `size-in-bytes` | `indicator` with `to_ids`, otherwise `x-misp-attribute` (no SCO holds them alone) |
//! | any other type (`btc`, `phone-number`, `text`, `comment`, `target-*` …) | `x-misp-attribute` (`x_misp_type`, `x_misp_value`, `x_misp_category`) |
//! | object `file`, `domain-ip`, `url`, `email`, `ip-port`, `network-connection`, `registry-key`, `x509` | `indicator` from its `to_ids` attributes when it has any; `observed-data` with every attribute when some are not `to_ids` |
//! | any other object | `x-misp-object` (`x_misp_name`, `x_misp_attributes`) |
//! | object reference | `relationship` (`relationship--<reference uuid>`) |
//! | galaxy cluster | `attack-pattern`, `course-of-action`, `intrusion-set`, `malware`, `threat-actor`, `tool`, `vulnerability`, `identity` (sector); from an attribute, also a relationship (`indicates` from an indicator, else `related-to`) |
//! | tag `tlp:clear`, `tlp:white`, `tlp:green`, `tlp:amber`, `tlp:amber+strict`, `tlp:red` | `object_marking_refs` to the TLP 2.0 marking definition |
//! | tag `misp:confidence-level="…"` | `confidence` |
//! | any other tag | a label |
//!
//! # Deliberate differences from misp-stix
//!
//! - **Indicator or observed data, not both.** Since 2025.10 misp-stix writes
//!   every attribute as observed data and adds an indicator (and a `based-on`
//!   relationship) when `to_ids` is set. Here a `to_ids` attribute is an
//!   indicator alone: its pattern holds the value, and four objects per
//!   indicator would quadruple what a node stores and shares. An object
//!   whose attributes are not all `to_ids` keeps both, so that no attribute
//!   is dropped.
//! - **Markings are inherited.** misp-stix marks only what carries a TLP tag
//!   itself; untagged attributes of a TLP:AMBER event come out unmarked, and
//!   a node would give them its collection's default TLP. Here every object
//!   of an event (SCOs, galaxies and relationships included) carries the
//!   event's TLP unless its record has a TLP tag of its own.
//! - **TLP 2.0 always.** misp-stix writes `tlp:white/green/amber/red` as the
//!   TLP 1.0 definitions; here every TLP tag is the TLP 2.0 definition
//!   (`white` is `clear`).
//! - **Patterns that validate.** Integer properties compare with numbers
//!   (`network-traffic:dst_port = 443`, misp-stix writes `'443'`), list
//!   properties are indexed (`values[*].data`, `received_lines[*]`,
//!   `to_refs[*]`), a CIDR block is matched with `ISSUBSET`, abbreviated
//!   registry hives are written out (`HKEY_LOCAL_MACHINE`), TLSH digests
//!   with the current `T1` prefix are accepted.
//! - **Galaxies of a `to_ids` attribute** are what its indicator `indicates`
//!   (misp-stix, having observed data for every attribute, relates them to
//!   the observed data with `related-to`); object references start from the
//!   object's indicator when it has one.
//! - **A file object's `mimetype`** (the relation MISP's template defines)
//!   is the file's `mime_type`; misp-stix's table says `mime-type` and writes
//!   `x_misp_mimetype`.
//! - **Not converted**: sightings, event reports, analyst notes and opinions,
//!   attachment payloads (a sample is its hash), unmapped galaxies (their tag
//!   stays a label instead of an `x-misp-galaxy-cluster`), country and region
//!   galaxies (labels), deleted records (skipped), `sha512/224` and
//!   `sha512/256` (no STIX hash name: `x-misp-attribute`).
//!
//! Values are first rewritten the way MISP stores them (pymisp's
//! `modifyBeforeValidation`: case, separators, refanging), so that a
//! hand-written event converts like the same event exported by MISP.
//!
//! # Errors
//!
//! A record that cannot be converted (a value that is not what its type says,
//! a missing uuid …) is a [`RecordError`] naming the event, the record and
//! why; everything else of the event is converted. An event whose own fields
//! cannot be read is one error and no objects.

mod attribute;
mod galaxy;
mod object;
mod values;

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use stix::Timestamp;

use crate::ids;
use crate::json::Obj;
use crate::{StixJson, time};

/// Input that is not MISP events at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not MISP events: {0}")]
    NotMisp(String),
}

/// The events of one MISP document, not yet converted.
pub struct Events<'a> {
    events: Vec<&'a RawValue>,
}

/// Reads a MISP document into its events (see the module documentation for
/// the shapes accepted). Converting them is [`Events::convert`].
pub fn read(input: &[u8]) -> Result<Events<'_>, InputError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let top: &RawValue = serde_json::from_slice(input)?;
    let text = top.get().trim_start();
    let events = if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(top.get())?;
        items
            .into_iter()
            .map(unwrap_event)
            .collect::<Result<_, _>>()?
    } else if text.starts_with('{') {
        #[derive(Deserialize)]
        struct Top<'a> {
            #[serde(rename = "Event", borrow)]
            event: Option<&'a RawValue>,
            #[serde(borrow)]
            response: Option<&'a RawValue>,
            info: Option<&'a RawValue>,
            #[serde(rename = "Attribute")]
            attributes: Option<&'a RawValue>,
        }
        let t: Top = serde_json::from_str(top.get())?;
        match (t.event, t.response) {
            (Some(event), _) => vec![event],
            (None, Some(response)) => {
                let items: Vec<&RawValue> = serde_json::from_str(response.get()).map_err(|_| {
                    InputError::NotMisp(
                        "\"response\" is not a list of events (a restSearch of attributes is not supported: export events)"
                            .into(),
                    )
                })?;
                items
                    .into_iter()
                    .map(unwrap_event)
                    .collect::<Result<_, _>>()?
            }
            (None, None) if t.info.is_some() || t.attributes.is_some() => vec![top],
            (None, None) => {
                return Err(InputError::NotMisp(
                    "expected {\"Event\": …}, {\"response\": […]}, a list of events or an event"
                        .into(),
                ));
            }
        }
    } else {
        return Err(InputError::NotMisp("expected a JSON object or list".into()));
    };
    Ok(Events { events })
}

/// `{"Event": {…}}` or a bare event.
fn unwrap_event(item: &RawValue) -> Result<&RawValue, InputError> {
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(rename = "Event", borrow)]
        event: Option<&'a RawValue>,
    }
    if !item.get().trim_start().starts_with('{') {
        return Err(InputError::NotMisp(format!(
            "a list item is not an event: {}",
            shorten(item.get())
        )));
    }
    let w: Wrapped = serde_json::from_str(item.get())?;
    Ok(w.event.unwrap_or(item))
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl<'a> Events<'a> {
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Converts event `index` (0-based).
    pub fn convert(&self, index: usize) -> Converted {
        let mut out = Converted::default();
        if let Some(raw) = self.events.get(index) {
            convert_event(raw, &mut out);
        }
        out
    }

    /// Converts every event, in order.
    pub fn iter(&self) -> impl Iterator<Item = Converted> + '_ {
        (0..self.events.len()).map(|i| self.convert(i))
    }
}

/// What one event gave.
#[derive(Debug, Default)]
pub struct Converted {
    /// The event's uuid, when it has one.
    pub event: Option<String>,
    pub objects: Vec<Object>,
    pub errors: Vec<RecordError>,
}

/// A STIX object and the MISP record it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub stix: StixJson,
    pub origin: Origin,
}

/// A MISP record, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub event: Option<String>,
    pub record: Record,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Event,
    Attribute {
        uuid: Option<String>,
        ty: Option<String>,
    },
    Object {
        uuid: Option<String>,
        name: Option<String>,
    },
    ObjectAttribute {
        object: String,
        uuid: Option<String>,
        relation: Option<String>,
    },
    Cluster {
        uuid: Option<String>,
        value: Option<String>,
    },
    Reference {
        object: String,
        referenced: Option<String>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event {
            Some(e) => write!(f, "event {e}")?,
            None => write!(f, "event without uuid")?,
        }
        let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "?".into());
        match &self.record {
            Record::Event => Ok(()),
            Record::Attribute { uuid, ty } => write!(f, ", attribute {} ({})", opt(uuid), opt(ty)),
            Record::Object { uuid, name } => write!(f, ", object {} ({})", opt(uuid), opt(name)),
            Record::ObjectAttribute {
                object,
                uuid,
                relation,
            } => write!(
                f,
                ", object {object}, attribute {} ({})",
                opt(uuid),
                opt(relation)
            ),
            Record::Cluster { uuid, value } => {
                write!(f, ", galaxy cluster {} ({})", opt(uuid), opt(value))
            }
            Record::Reference { object, referenced } => {
                write!(f, ", object {object}, reference to {}", opt(referenced))
            }
        }
    }
}

/// A record that was not converted, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct RecordError {
    pub origin: Origin,
    pub reason: String,
}

// --- Raw MISP records ------------------------------------------------------
//
// Scalars MISP writes now as strings, now as numbers or booleans (`to_ids`,
// `timestamp`, `value`) are read as `Value` and interpreted; a record whose
// shape is wrong fails alone, with its uuid when it has one.

#[derive(Deserialize)]
struct EventRaw<'a> {
    uuid: Option<String>,
    info: Option<String>,
    timestamp: Option<Value>,
    date: Option<String>,
    published: Option<Value>,
    publish_timestamp: Option<Value>,
    #[serde(rename = "Orgc")]
    orgc: Option<OrgRaw>,
    #[serde(rename = "Attribute", borrow)]
    attributes: Option<Vec<&'a RawValue>>,
    #[serde(rename = "Object", borrow)]
    objects: Option<Vec<&'a RawValue>>,
    #[serde(rename = "Tag")]
    tags: Option<Vec<TagRaw>>,
    #[serde(rename = "Galaxy", borrow)]
    galaxies: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct OrgRaw {
    uuid: Option<String>,
    name: Option<String>,
}

#[derive(Clone, Deserialize)]
pub(crate) struct TagRaw {
    name: Option<String>,
}

/// Just the uuid of a record, to name one whose other fields do not load.
#[derive(Deserialize)]
struct UuidOnly {
    uuid: Option<Value>,
}

fn uuid_of(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<UuidOnly>(raw.get())
        .ok()
        .and_then(|u| u.uuid)
        .and_then(|v| v.as_str().map(str::to_string))
}

/// MISP booleans: `true`, `1`, `"1"`, `"true"` (any case).
pub(crate) fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A MISP `timestamp` (epoch seconds, string or number).
pub(crate) fn epoch(v: &Value) -> Result<Timestamp, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("timestamp {n} is not whole seconds"))
            .and_then(time::from_epoch),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("timestamp {s:?} is not epoch seconds"))
            .and_then(time::from_epoch),
        other => Err(format!("timestamp {other} is not epoch seconds")),
    }
}

// --- Conversion state of one event ------------------------------------------

/// What every object of an event shares, and what it has produced so far.
pub(crate) struct EventCtx {
    pub event: String,
    pub created: Timestamp,
    pub created_by: Option<String>,
    /// TLP marking ids of the event itself, inherited by untagged records.
    pub markings: Vec<&'static str>,
    pub objects: Vec<Object>,
    pub errors: Vec<RecordError>,
    /// Every id the report references, in order.
    pub refs: Vec<String>,
    /// Galaxy clusters already converted: cluster uuid → STIX id.
    pub clusters: HashMap<String, String>,
    /// MISP attribute and object uuids → the STIX object standing for them
    /// (indicator first), for object references; kept only when the event
    /// has objects (only objects refer to other records).
    pub stands_for: HashMap<String, String>,
    pub tracks_references: bool,
}

impl EventCtx {
    pub fn origin(&self, record: Record) -> Origin {
        Origin {
            event: Some(self.event.clone()),
            record,
        }
    }

    /// Adds an object the report references.
    pub fn push(&mut self, record: &Record, stix: StixJson) {
        self.refs.push(stix.id.clone());
        self.push_unreferenced(record, stix);
    }

    pub fn push_unreferenced(&mut self, record: &Record, stix: StixJson) {
        let origin = self.origin(record.clone());
        self.objects.push(Object { stix, origin });
    }

    pub fn error(&mut self, record: Record, reason: impl Into<String>) {
        let origin = self.origin(record);
        self.errors.push(RecordError {
            origin,
            reason: reason.into(),
        });
    }

    /// A relationship, marked like its source.
    #[allow(clippy::too_many_arguments)]
    pub fn relationship(
        &mut self,
        record: &Record,
        id: Option<String>,
        source: &str,
        relationship_type: &str,
        target: &str,
        created: Timestamp,
        markings: &[&str],
    ) {
        let id = id.unwrap_or_else(|| ids::relationship_id(source, relationship_type, target));
        let stamp = time::stamp(created);
        let json = Obj::stix("relationship", &id)
            .opt_str("created_by_ref", self.created_by.as_deref())
            .str("created", &stamp)
            .str("modified", &stamp)
            .str("relationship_type", relationship_type)
            .str("source_ref", source)
            .str("target_ref", target)
            .strs("object_marking_refs", markings)
            .finish();
        self.push(record, StixJson { id, json });
    }
}

/// What a record's tags say: TLP markings, confidence, and other labels.
#[derive(Debug, Default)]
pub(crate) struct Tags {
    pub markings: Vec<&'static str>,
    pub confidence: Option<i64>,
    pub labels: Vec<String>,
}

impl Tags {
    /// Reads tag names, leaving out those in `skip` (tags of galaxies that
    /// became objects).
    pub fn read<'t>(names: impl IntoIterator<Item = &'t str>, skip: &[String]) -> Tags {
        let mut tags = Tags::default();
        for name in names {
            if skip.iter().any(|s| s == name) {
                continue;
            }
            if name
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("tlp:"))
                && let Some(id) = crate::tlp_marking(name)
            {
                if !tags.markings.contains(&id) {
                    tags.markings.push(id);
                }
                continue;
            }
            if let Some(score) = confidence_tag(name) {
                // The least confident tag wins, as in misp-stix.
                tags.confidence = Some(tags.confidence.map_or(score, |c| c.min(score)));
                continue;
            }
            if !tags.labels.iter().any(|l| l == name) {
                tags.labels.push(name.to_string());
            }
        }
        tags
    }

    /// The record's own TLP, or the event's when it has none.
    pub fn markings_or<'m>(&'m self, event: &'m [&'static str]) -> &'m [&'static str] {
        if self.markings.is_empty() {
            event
        } else {
            &self.markings
        }
    }
}

/// The MISP taxonomy `misp:confidence-level`, as a STIX confidence.
fn confidence_tag(name: &str) -> Option<i64> {
    let level = name
        .strip_prefix("misp:confidence-level=")?
        .trim_matches('"');
    Some(match level {
        "completely-confident" => 100,
        "usually-confident" => 75,
        "fairly-confident" => 50,
        "rarely-confident" => 25,
        "unconfident" => 0,
        _ => return None,
    })
}

pub(crate) fn tag_names(tags: &Option<Vec<TagRaw>>) -> impl Iterator<Item = &str> {
    tags.iter().flatten().filter_map(|t| t.name.as_deref())
}

fn convert_event(raw: &RawValue, out: &mut Converted) {
    let event_uuid = uuid_of(raw);
    let fail = |out: &mut Converted, event: Option<String>, reason: String| {
        out.errors.push(RecordError {
            origin: Origin {
                event,
                record: Record::Event,
            },
            reason,
        });
    };
    let e: EventRaw = match serde_json::from_str(raw.get()) {
        Ok(e) => e,
        Err(err) => {
            out.event = event_uuid.clone();
            return fail(out, event_uuid, format!("the event cannot be read: {err}"));
        }
    };
    let uuid = match e.uuid.as_deref().map(ids::misp_uuid) {
        Some(Ok(u)) => u,
        Some(Err(why)) => return fail(out, e.uuid.clone(), format!("uuid: {why}")),
        None => return fail(out, None, "the event has no uuid".into()),
    };
    out.event = Some(uuid.clone());
    let created = match (&e.timestamp, &e.date) {
        (Some(ts), _) => epoch(ts),
        (None, Some(date)) => time::parse_lenient(date),
        (None, None) => Err("the event has neither timestamp nor date".into()),
    };
    let created = match created {
        Ok(t) => t,
        Err(why) => return fail(out, Some(uuid), why),
    };
    let mut cx = EventCtx {
        event: uuid.clone(),
        created,
        created_by: None,
        markings: Vec::new(),
        objects: Vec::new(),
        errors: Vec::new(),
        refs: Vec::new(),
        clusters: HashMap::new(),
        stands_for: HashMap::new(),
        tracks_references: e.objects.as_ref().is_some_and(|o| !o.is_empty()),
    };

    // The event's galaxies are read first: their tags are not labels.
    let mut event_galaxies = Vec::new();
    for g in e.galaxies.iter().flatten() {
        match serde_json::from_str::<galaxy::GalaxyRaw>(g.get()) {
            Ok(g) => event_galaxies.push(g),
            Err(err) => cx.error(
                Record::Cluster {
                    uuid: uuid_of(g),
                    value: None,
                },
                format!("the galaxy cannot be read: {err}"),
            ),
        }
    }
    let galaxy_tags = galaxy::mapped_tag_names(&event_galaxies);
    let tags = Tags::read(tag_names(&e.tags), &galaxy_tags);
    cx.markings = tags.markings.clone();

    if let Some(org) = &e.orgc {
        match (&org.uuid, &org.name) {
            (Some(u), Some(name)) => match ids::misp_uuid(u) {
                Ok(u) => {
                    let id = format!("identity--{u}");
                    let stamp = time::stamp(created);
                    let json = Obj::stix("identity", &id)
                        .str("created", &stamp)
                        .str("modified", &stamp)
                        .str("name", name)
                        .str("identity_class", "organization")
                        .strs("object_marking_refs", &cx.markings)
                        .finish();
                    cx.created_by = Some(id.clone());
                    cx.push_unreferenced(&Record::Event, StixJson { id, json });
                }
                Err(why) => cx.error(Record::Event, format!("Orgc uuid: {why}")),
            },
            _ => cx.error(
                Record::Event,
                "Orgc has no uuid or no name: the objects have no author",
            ),
        }
    }

    for a in e.attributes.iter().flatten() {
        attribute::convert(&mut cx, a);
    }
    let mut references = Vec::new();
    for o in e.objects.iter().flatten() {
        object::convert(&mut cx, o, &mut references);
    }
    object::resolve_references(&mut cx, references);
    for g in &event_galaxies {
        let ids = galaxy::convert(&mut cx, g, created);
        for id in ids {
            if !cx.refs.contains(&id) {
                cx.refs.push(id);
            }
        }
    }

    if cx.refs.is_empty() {
        cx.error(
            Record::Event,
            "the event has nothing to convert (no attribute, object or galaxy left)",
        );
    } else {
        let published = flag(e.published.as_ref()).unwrap_or(false);
        let publish_time = e.publish_timestamp.as_ref().map(epoch);
        let stamp = time::stamp(created);
        let mut labels = vec![
            "Threat-Report".to_string(),
            "misp:tool=\"Entente\"".to_string(),
        ];
        labels.extend(tags.labels.iter().cloned());
        let name = e
            .info
            .clone()
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| format!("MISP event {uuid}"));
        let (ty, extra) = match publish_time {
            Some(Ok(at)) if published && at.as_micros() > 0 => ("report", Some(time::stamp(at))),
            _ => ("grouping", None),
        };
        let id = format!("{ty}--{uuid}");
        let mut obj = Obj::stix(ty, &id)
            .opt_str("created_by_ref", cx.created_by.as_deref())
            .str("created", &stamp)
            .str("modified", &stamp)
            .str("name", &name);
        obj = match &extra {
            Some(published) => obj.str("published", published),
            None => obj.str("context", "suspicious-activity"),
        };
        if let Some(c) = tags.confidence {
            obj = obj.int("confidence", c);
        }
        let json = obj
            .strs("labels", &labels)
            .strs("object_refs", &cx.refs)
            .strs("object_marking_refs", &cx.markings)
            .finish();
        cx.push_unreferenced(&Record::Event, StixJson { id, json });
    }
    out.objects = cx.objects;
    out.errors = cx.errors;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_shape_misp_writes() {
        let event = r#"{"uuid":"5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90","info":"x","timestamp":"1789459200","Attribute":[]}"#;
        for doc in [
            format!(r#"{{"Event":{event}}}"#),
            event.to_string(),
            format!(r#"[{{"Event":{event}}},{event}]"#),
            format!(r#"{{"response":[{{"Event":{event}}}]}}"#),
        ] {
            let events = read(doc.as_bytes()).unwrap();
            assert!(!events.is_empty(), "{doc}");
        }
        assert!(matches!(
            read(b"{\"type\":\"bundle\"}"),
            Err(InputError::NotMisp(_))
        ));
        assert!(matches!(read(b"[1,2]"), Err(InputError::NotMisp(_))));
        assert!(matches!(
            read(b"{\"response\":{\"Attribute\":[]}}"),
            Err(InputError::NotMisp(_))
        ));
        assert!(matches!(read(b"{nope"), Err(InputError::Json(_))));
    }

    #[test]
    fn tags_split_into_markings_confidence_and_labels() {
        let tags = Tags::read(
            [
                "tlp:AMBER",
                "TLP:clear",
                "tlp:ex:chr",
                "misp:confidence-level=\"usually-confident\"",
                "misp:confidence-level=\"rarely-confident\"",
                "type:OSINT",
                "misp-galaxy:tool=\"x\"",
            ],
            &["misp-galaxy:tool=\"x\"".to_string()],
        );
        assert_eq!(
            tags.markings,
            vec![stix::tlp::TLP_2[2].id, stix::tlp::TLP_2[0].id]
        );
        assert_eq!(tags.confidence, Some(25));
        assert_eq!(tags.labels, vec!["tlp:ex:chr", "type:OSINT"]);
    }

    #[test]
    fn an_event_that_cannot_be_read_is_one_error() {
        let events = read(br#"[{"uuid":"5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90","Attribute":"nope"},{"uuid":"bad","timestamp":"1"}]"#).unwrap();
        let a = events.convert(0);
        assert!(a.objects.is_empty());
        assert!(
            a.errors[0]
                .to_string()
                .contains("event 5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90: the event cannot be read"),
            "{}",
            a.errors[0]
        );
        let b = events.convert(1);
        assert!(b.errors[0].reason.contains("not a UUID"), "{}", b.errors[0]);
    }
}
