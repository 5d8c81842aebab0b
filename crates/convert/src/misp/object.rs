//! MISP objects: an indicator built from the attributes marked `to_ids`,
//! observed data holding every attribute when some are not, and a
//! `based-on` relationship between the two when there are both.
//!
//! | object | main SCO | relations (others become `x_misp_<relation>` properties) |
//! |---|---|---|
//! | `file` | `file--<object uuid>` | hashes (`md5`, `sha256`, … as `hashes`), `filename` (`name`), `file-encoding`, `mimetype`, `size-in-bytes`, `path` (a `directory`), `creation-time`/`modification-time`/`access-time`, `malware-sample` (`name\|md5`) |
//! | `domain-ip` | `domain-name--<attribute uuid>` per `domain`/`hostname` | `ip` (`resolves_to_refs`) |
//! | `url` | `url--<object uuid>` | `url` |
//! | `email` | `email-message--<object uuid>` | `from`, `to`, `cc`, `bcc` (`email-addr--<attribute uuid>`), their `-display-name`s, `subject`, `message-id`, `reply-to`, `x-mailer`, `send-date`, `email-body`, `attachment` (`file--<attribute uuid>`) |
//! | `ip-port` | `network-traffic--<object uuid>` | `ip`/`ip-dst`, `ip-src`, `dst-port`, `src-port`, `domain`/`hostname`, `protocol`, `first-seen`, `last-seen` |
//! | `network-connection` | `network-traffic--<object uuid>` | `ip-src`, `ip-dst`, `hostname-src`, `hostname-dst`, `src-port`, `dst-port`, `layer3/4/7-protocol`, `first-packet-seen` |
//! | `registry-key` | `windows-registry-key--<object uuid>` | `key`, `name`, `data`, `data-type`, `last-modified` |
//! | `x509` | `x509-certificate--<object uuid>` | `x509-fingerprint-*`, `issuer`, `subject`, `serial-number`, `version`, `signature_algorithm`, `pubkey-info-*`, `validity-not-before`/`-after`, `self_signed` |
//!
//! Any other object is an `x-misp-object` carrying its attributes as they
//! are, as misp-stix writes it.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use stix::Timestamp;

use super::attribute::{self, Attr, Loaded, kill_chain, observed_window};
use super::galaxy::{self, GalaxyRaw};
use super::values::{self, hash_type};
use super::{EventCtx, Record, Tags, epoch, flag, uuid_of};
use crate::json::Obj;
use crate::{StixJson, ids, pattern, time};

#[derive(Deserialize)]
struct ObjectRaw<'a> {
    uuid: Option<String>,
    name: Option<String>,
    #[serde(rename = "meta-category")]
    meta_category: Option<String>,
    comment: Option<String>,
    timestamp: Option<Value>,
    deleted: Option<Value>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    #[serde(rename = "Attribute", borrow)]
    attributes: Option<Vec<&'a RawValue>>,
    #[serde(rename = "ObjectReference")]
    references: Option<Vec<ReferenceRaw>>,
}

#[derive(Deserialize)]
pub(crate) struct ReferenceRaw {
    uuid: Option<String>,
    referenced_uuid: Option<String>,
    relationship_type: Option<String>,
    timestamp: Option<Value>,
    deleted: Option<Value>,
}

/// An object reference waiting for every object of the event to exist.
pub(crate) struct PendingReference {
    object: String,
    source: String,
    reference: ReferenceRaw,
    created: Timestamp,
    markings: Vec<&'static str>,
}

/// A property value of an SCO under construction.
enum Prop {
    Str(String),
    Int(i64),
    Bool(bool),
    Strs(Vec<String>),
    Raw(String),
    Raws(Vec<String>),
}

/// An SCO under construction: properties are added as attributes are read.
struct Sco {
    ty: &'static str,
    id: String,
    props: Vec<(String, Prop)>,
}

impl Sco {
    fn new(ty: &'static str, uuid: &str) -> Sco {
        Sco {
            ty,
            id: format!("{ty}--{uuid}"),
            props: Vec::new(),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.props.iter().any(|(k, _)| k == key)
    }

    /// Sets a property unless it is set already; says whether it was.
    fn set(&mut self, key: &str, value: Prop) -> bool {
        if self.has(key) {
            return false;
        }
        self.props.push((key.to_string(), value));
        true
    }

    fn push_str(&mut self, key: &str, value: String) {
        match self.props.iter_mut().find(|(k, _)| k == key) {
            Some((_, Prop::Strs(list))) => list.push(value),
            Some((_, p @ Prop::Str(_))) => {
                if let Prop::Str(first) = std::mem::replace(p, Prop::Strs(Vec::new())) {
                    *p = Prop::Strs(vec![first, value]);
                }
            }
            Some(_) => {}
            None => self.props.push((key.to_string(), Prop::Str(value))),
        }
    }

    fn push_raw(&mut self, key: &str, value: String) {
        match self.props.iter_mut().find(|(k, _)| k == key) {
            Some((_, Prop::Raws(list))) => list.push(value),
            Some(_) => {}
            None => self.props.push((key.to_string(), Prop::Raws(vec![value]))),
        }
    }

    fn finish(self, markings: &[&str]) -> StixJson {
        let mut obj = Obj::stix(self.ty, &self.id);
        for (k, v) in &self.props {
            obj = match v {
                Prop::Str(s) => obj.str(k, s),
                Prop::Int(i) => obj.int(k, *i),
                Prop::Bool(b) => obj.bool(k, *b),
                Prop::Strs(l) => obj.strs(k, l),
                Prop::Raw(r) => obj.raw(k, r),
                Prop::Raws(l) => obj.raws(k, l),
            };
        }
        StixJson {
            id: self.id,
            json: obj.strs("object_marking_refs", markings).finish(),
        }
    }
}

/// The custom property misp-stix names after a relation: `x_misp_` and the
/// relation lowercased, characters other than letters, digits and `_`
/// replaced by `_`.
fn custom_name(relation: &str) -> String {
    let folded: String = relation
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("x_misp_{folded}")
}

/// The SCOs and pattern of an object being built.
struct Built {
    /// The SCO the custom properties go to.
    main: usize,
    scos: Vec<Sco>,
    /// Comparisons from the `to_ids` attributes.
    pattern: Vec<String>,
    /// The object type the custom comparisons are on (`file`, `url` …).
    prefix: &'static str,
}

impl Built {
    fn new(main: Sco, prefix: &'static str) -> Built {
        Built {
            main: 0,
            scos: vec![main],
            pattern: Vec::new(),
            prefix,
        }
    }

    fn main(&mut self) -> &mut Sco {
        &mut self.scos[self.main]
    }

    fn cmp(&mut self, a: &Attr, comparison: String) {
        if a.to_ids {
            self.pattern.push(comparison);
        }
    }

    /// An attribute no STIX property holds: `x_misp_<relation>` on the main
    /// SCO and in the pattern.
    fn custom(&mut self, a: &Attr, relation: &str) {
        let name = custom_name(relation);
        let cmp = pattern::eq(
            &format!("{}:{}", self.prefix, pattern::segment(&name)),
            &a.value,
        );
        self.cmp(a, cmp);
        self.main().push_str(&name, a.value.clone());
    }

    fn timestamp(&mut self, a: &Attr, key: &str) -> Result<(), String> {
        let t = time::stamp(time::parse_lenient(&a.value)?);
        if self.main().set(key, Prop::Str(t.clone())) {
            let cmp = pattern::eq_time(&format!("{}:{key}", self.prefix), &t);
            self.cmp(a, cmp);
        }
        Ok(())
    }
}

/// Object templates this converter knows.
const TEMPLATES: &[&str] = &[
    "file",
    "domain-ip",
    "url",
    "email",
    "ip-port",
    "network-connection",
    "registry-key",
    "x509",
];

pub(crate) fn convert(cx: &mut EventCtx, raw: &RawValue, references: &mut Vec<PendingReference>) {
    let o: ObjectRaw = match serde_json::from_str(raw.get()) {
        Ok(o) => o,
        Err(err) => {
            return cx.error(
                Record::Object {
                    uuid: uuid_of(raw),
                    name: None,
                },
                format!("the object cannot be read: {err}"),
            );
        }
    };
    if flag(o.deleted.as_ref()) == Some(true) {
        return;
    }
    let record = Record::Object {
        uuid: o.uuid.clone(),
        name: o.name.clone(),
    };
    let uuid = match o.uuid.as_deref().map(ids::misp_uuid) {
        Some(Ok(u)) => u,
        Some(Err(why)) => return cx.error(record, format!("uuid: {why}")),
        None => return cx.error(record, "the object has no uuid"),
    };
    let Some(name) = o.name.clone().filter(|n| !n.trim().is_empty()) else {
        return cx.error(record, "the object has no name");
    };
    let record = Record::Object {
        uuid: Some(uuid.clone()),
        name: Some(name.clone()),
    };
    let created = match &o.timestamp {
        None | Some(Value::Null) => cx.created,
        Some(ts) => match epoch(ts) {
            Ok(t) => t,
            Err(why) => return cx.error(record, why),
        },
    };
    let mut attrs = Vec::new();
    for a in o.attributes.iter().flatten() {
        match attribute::load(a, created) {
            Loaded::Attr(a) if a.relation.is_some() => attrs.push(a),
            Loaded::Attr(a) => cx.error(
                Record::ObjectAttribute {
                    object: uuid.clone(),
                    uuid: Some(a.uuid),
                    relation: None,
                },
                "the attribute has no object_relation",
            ),
            Loaded::Deleted => {}
            Loaded::Failed(f) => cx.error(
                Record::ObjectAttribute {
                    object: uuid.clone(),
                    uuid: f.uuid,
                    relation: f.relation,
                },
                f.why,
            ),
        }
    }
    if attrs.is_empty() {
        return cx.error(record, "the object has no attribute left to convert");
    }

    // Tags and galaxies of an object are those of its attributes.
    let mut galaxies: Vec<GalaxyRaw> = Vec::new();
    for a in &attrs {
        galaxies.extend(a.galaxies.iter().cloned());
    }
    let galaxy_tags = galaxy::mapped_tag_names(&galaxies);
    let tags = Tags::read(
        attrs.iter().flat_map(|a| a.tags.iter().map(String::as_str)),
        &galaxy_tags,
    );
    let markings: Vec<&'static str> = tags.markings_or(&cx.markings).to_vec();
    let first_seen = o
        .first_seen
        .as_deref()
        .and_then(|s| time::parse_lenient(s).ok());
    let last_seen = o
        .last_seen
        .as_deref()
        .and_then(|s| time::parse_lenient(s).ok());

    let mut labels = vec![
        format!("misp:name=\"{}\"", name.replace('|', "-")),
        format!(
            "misp:meta-category=\"{}\"",
            o.meta_category.as_deref().unwrap_or("misc")
        ),
    ];
    labels.extend(tags.labels.iter().cloned());
    let stamp = time::stamp(created);
    let created_by = cx.created_by.clone();
    let comment = o.comment.clone().unwrap_or_default();
    let head = |ty: &str, id: &str| {
        Obj::stix(ty, id)
            .opt_str("created_by_ref", created_by.as_deref())
            .str("created", &stamp)
            .str("modified", &stamp)
    };
    let tail = |obj: Obj| {
        let obj = match tags.confidence {
            Some(c) => obj.int("confidence", c),
            None => obj,
        };
        obj.strs("labels", &labels)
            .strs("object_marking_refs", &markings)
            .finish()
    };

    let built = if TEMPLATES.contains(&name.as_str()) {
        build(cx, &uuid, &name, &attrs)
    } else {
        None
    };
    let main_id = match built {
        Some(mut built) => {
            let mut indicator_id = None;
            if attrs.iter().any(|a| a.to_ids) && !built.pattern.is_empty() {
                let id = format!("indicator--{uuid}");
                let mut obj = head("indicator", &id)
                    .nonempty_str("description", &comment)
                    .str("pattern", &pattern::all(&built.pattern))
                    .str("pattern_type", "stix")
                    .str("pattern_version", "2.1")
                    .str("valid_from", &stamp);
                if let Some(mc) = &o.meta_category {
                    obj = obj.raw("kill_chain_phases", &kill_chain(mc));
                }
                cx.push(
                    &record,
                    StixJson {
                        id: id.clone(),
                        json: tail(obj),
                    },
                );
                indicator_id = Some(id);
            }
            let mut write_observed = |cx: &mut EventCtx| {
                let id = format!("observed-data--{uuid}");
                let (first, last) = observed_window(created, first_seen, last_seen);
                let sco_ids: Vec<String> = built.scos.iter().map(|s| s.id.clone()).collect();
                let obj = head("observed-data", &id)
                    .str("first_observed", &time::stamp(first))
                    .str("last_observed", &time::stamp(last))
                    .int("number_observed", 1)
                    .strs("object_refs", &sco_ids)
                    .nonempty_str("x_misp_comment", &comment);
                cx.push(
                    &record,
                    StixJson {
                        id: id.clone(),
                        json: tail(obj),
                    },
                );
                for s in built.scos.drain(..) {
                    cx.push(&record, s.finish(&markings));
                }
                id
            };
            match indicator_id {
                // Observed data too when some attribute is not in the
                // pattern, so that no attribute of the object is lost.
                Some(i) if attrs.iter().any(|a| !a.to_ids) => {
                    let od = write_observed(cx);
                    cx.relationship(&record, None, &i, "based-on", &od, created, &markings);
                    i
                }
                Some(i) => i,
                None => write_observed(cx),
            }
        }
        None => {
            let id = format!("x-misp-object--{uuid}");
            let attributes: Vec<String> = attrs.iter().map(custom_attribute).collect();
            let obj = head("x-misp-object", &id)
                .str("x_misp_name", &name)
                .opt_str("x_misp_meta_category", o.meta_category.as_deref())
                .nonempty_str("x_misp_comment", &comment)
                .raws("x_misp_attributes", &attributes);
            cx.push(
                &record,
                StixJson {
                    id: id.clone(),
                    json: tail(obj),
                },
            );
            id
        }
    };
    cx.stands_for.insert(uuid.clone(), main_id.clone());
    for a in &attrs {
        cx.stands_for
            .entry(a.uuid.clone())
            .or_insert_with(|| main_id.clone());
    }
    let mut seen_clusters = Vec::new();
    for g in &galaxies {
        for target in galaxy::convert(cx, g, created) {
            if seen_clusters.contains(&target) {
                continue;
            }
            let kind = galaxy::relationship_type(&main_id, &target);
            cx.relationship(&record, None, &main_id, kind, &target, created, &markings);
            seen_clusters.push(target);
        }
    }
    for reference in o.references.into_iter().flatten() {
        if flag(reference.deleted.as_ref()) == Some(true) {
            continue;
        }
        references.push(PendingReference {
            object: uuid.clone(),
            source: main_id.clone(),
            reference,
            created,
            markings: markings.clone(),
        });
    }
}

/// An attribute as misp-stix writes it inside an `x-misp-object`.
fn custom_attribute(a: &Attr) -> String {
    let mut obj = Obj::empty()
        .str("type", &a.ty)
        .str("object_relation", a.relation.as_deref().unwrap_or(""))
        .str("value", &a.value)
        .opt_str("category", a.category.as_deref())
        .nonempty_str("comment", &a.comment);
    if a.to_ids {
        obj = obj.bool("to_ids", true);
    }
    obj.str("uuid", &a.uuid).finish()
}

/// Relationships for the object references of the event, once every object
/// exists (a reference may point to an object later in the event).
pub(crate) fn resolve_references(cx: &mut EventCtx, references: Vec<PendingReference>) {
    for p in references {
        let record = Record::Reference {
            object: p.object.clone(),
            referenced: p.reference.referenced_uuid.clone(),
        };
        let Some(kind) = p
            .reference
            .relationship_type
            .as_deref()
            .map(|k| k.trim().to_ascii_lowercase().replace([' ', '_'], "-"))
            .filter(|k| !k.is_empty())
        else {
            cx.error(record, "the reference has no relationship_type");
            continue;
        };
        let target = p
            .reference
            .referenced_uuid
            .as_deref()
            .and_then(|u| ids::misp_uuid(u).ok())
            .and_then(|u| cx.stands_for.get(&u).cloned());
        let Some(target) = target else {
            cx.error(
                record,
                "the referenced attribute or object is not in the event (or was not converted)",
            );
            continue;
        };
        let created = match &p.reference.timestamp {
            Some(ts) => epoch(ts).unwrap_or(p.created),
            None => p.created,
        };
        let id = p
            .reference
            .uuid
            .as_deref()
            .and_then(|u| ids::misp_uuid(u).ok())
            .map(|u| format!("relationship--{u}"));
        cx.relationship(&record, id, &p.source, &kind, &target, created, &p.markings);
    }
}

/// Builds a known template, or `None` when the object lacks what its
/// template needs (it is then kept as an `x-misp-object`). Attributes whose
/// value does not fit their relation are errors, and left out.
fn build(cx: &mut EventCtx, uuid: &str, name: &str, attrs: &[Attr]) -> Option<Built> {
    let mut built = match name {
        "file" => Built::new(Sco::new("file", uuid), "file"),
        "url" => Built::new(Sco::new("url", uuid), "url"),
        "email" => Built::new(Sco::new("email-message", uuid), "email-message"),
        "ip-port" | "network-connection" => {
            Built::new(Sco::new("network-traffic", uuid), "network-traffic")
        }
        "registry-key" => Built::new(
            Sco::new("windows-registry-key", uuid),
            "windows-registry-key",
        ),
        "x509" => Built::new(Sco::new("x509-certificate", uuid), "x509-certificate"),
        "domain-ip" => return build_domain_ip(cx, uuid, attrs),
        _ => return None,
    };
    let mut registry_value: Vec<(String, Prop)> = Vec::new();
    let mut registry_pattern: Vec<(bool, String)> = Vec::new();
    for a in attrs {
        let relation = a.relation.clone().unwrap_or_default();
        let result = match name {
            "file" => file(&mut built, a, &relation),
            "url" => {
                if relation == "url" && !built.main().has("value") {
                    built.main().set("value", Prop::Str(a.value.clone()));
                    built.cmp(a, pattern::eq("url:value", &a.value));
                } else {
                    built.custom(a, &relation);
                }
                Ok(())
            }
            "email" => email(&mut built, a, &relation),
            "ip-port" | "network-connection" => network(&mut built, a, &relation),
            "registry-key" => registry(
                &mut built,
                a,
                &relation,
                &mut registry_value,
                &mut registry_pattern,
            ),
            _ => x509(&mut built, a, &relation),
        };
        if let Err(why) = result {
            cx.error(
                Record::ObjectAttribute {
                    object: uuid.to_string(),
                    uuid: Some(a.uuid.clone()),
                    relation: Some(relation),
                },
                why,
            );
        }
    }
    match name {
        "url" if !built.scos[0].has("value") => return None,
        "email" => {
            let multipart = built.main().has("body_multipart");
            built
                .main()
                .props
                .insert(0, ("is_multipart".into(), Prop::Bool(multipart)));
        }
        // STIX requires protocols: the address family, as misp-stix writes.
        "ip-port" | "network-connection" if !built.main().has("protocols") => {
            let family = built
                .scos
                .iter()
                .find(|s| s.ty == "ipv4-addr" || s.ty == "ipv6-addr")
                .map(|s| if s.ty == "ipv4-addr" { "ipv4" } else { "ipv6" });
            let protocols = vec![family.unwrap_or("tcp").to_string()];
            built.main().set("protocols", Prop::Strs(protocols));
        }
        "registry-key" => {
            if !registry_value.is_empty() {
                let mut v = Obj::empty();
                for (k, p) in &registry_value {
                    v = match p {
                        Prop::Str(s) => v.str(k, s),
                        _ => v,
                    };
                }
                built.main().set("values", Prop::Raws(vec![v.finish()]));
            }
            for (to_ids, cmp) in registry_pattern {
                if to_ids {
                    built.pattern.push(cmp);
                }
            }
        }
        _ => {}
    }
    if built.scos[0].props.is_empty() {
        return None;
    }
    Some(built)
}

fn file(b: &mut Built, a: &Attr, relation: &str) -> Result<(), String> {
    if let Some(h) = hash_type(relation) {
        let value = h.check(&a.value)?;
        add_hash(b, a, h.stix, value);
        return Ok(());
    }
    match relation {
        "filename" => single(b, a, "name", "file:name"),
        "file-encoding" => single(b, a, "name_enc", "file:name_enc"),
        "mimetype" | "mime-type" => single(b, a, "mime_type", "file:mime_type"),
        "size-in-bytes" => {
            let size = a
                .value
                .parse::<u64>()
                .ok()
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| format!("{:?} is not a size in bytes", a.value))?;
            if b.main().set("size", Prop::Int(size)) {
                b.cmp(a, pattern::eq_int("file:size", size));
            } else {
                b.custom(a, relation);
            }
        }
        "path" if !b.main().has("parent_directory_ref") => {
            let dir = Sco::new("directory", &a.uuid);
            b.main()
                .set("parent_directory_ref", Prop::Str(dir.id.clone()));
            let mut dir = dir;
            dir.set("path", Prop::Str(a.value.clone()));
            b.scos.push(dir);
            b.cmp(a, pattern::eq("file:parent_directory_ref.path", &a.value));
        }
        "creation-time" => b.timestamp(a, "ctime")?,
        "modification-time" => b.timestamp(a, "mtime")?,
        "access-time" => b.timestamp(a, "atime")?,
        "malware-sample" => match a.value.split_once('|') {
            Some((name, md5)) => {
                let md5 = hash_type("md5")
                    .map(|h| h.check(md5))
                    .transpose()?
                    .unwrap_or_default();
                if !b.main().has("name") {
                    b.main().set("name", Prop::Str(name.trim().to_string()));
                    b.cmp(a, pattern::eq("file:name", name.trim()));
                }
                add_hash(b, a, "MD5", md5);
            }
            None => b.custom(a, relation),
        },
        _ => b.custom(a, relation),
    }
    Ok(())
}

fn add_hash(b: &mut Built, a: &Attr, algorithm: &str, value: String) {
    let hashes_at = b.main().props.iter().position(|(k, _)| k == "hashes");
    let entry = Obj::empty().str(algorithm, &value).finish();
    match hashes_at {
        None => {
            b.main().set("hashes", Prop::Raw(entry));
        }
        Some(i) => {
            let Prop::Raw(existing) = &b.main().props[i].1 else {
                return;
            };
            if existing.contains(&format!("\"{algorithm}\":")) {
                // A second value of one algorithm: no dictionary holds both.
                let name = custom_name(&format!("hashes-{algorithm}"));
                b.main().push_str(&name, value);
                return;
            }
            // Splice the new key into the existing dictionary.
            let merged = format!("{},{}", &existing[..existing.len() - 1], &entry[1..]);
            b.main().props[i].1 = Prop::Raw(merged);
        }
    }
    let cmp = pattern::eq(&pattern::hash_path(b.prefix, algorithm), &value);
    b.cmp(a, cmp);
}

/// A property holding one string: the first attribute of the relation sets
/// it, further ones become custom properties.
fn single(b: &mut Built, a: &Attr, key: &str, path: &str) {
    if b.main().set(key, Prop::Str(a.value.clone())) {
        b.cmp(a, pattern::eq(path, &a.value));
    } else {
        b.custom(a, a.relation.as_deref().unwrap_or(key));
    }
}

fn build_domain_ip(cx: &mut EventCtx, uuid: &str, attrs: &[Attr]) -> Option<Built> {
    let mut domains: Vec<(Sco, bool, String)> = Vec::new();
    let mut ips: Vec<Sco> = Vec::new();
    let mut pattern = Vec::new();
    let mut rest: Vec<&Attr> = Vec::new();
    for a in attrs {
        let relation = a.relation.as_deref().unwrap_or("");
        let fail = |cx: &mut EventCtx, why: String| {
            cx.error(
                Record::ObjectAttribute {
                    object: uuid.to_string(),
                    uuid: Some(a.uuid.clone()),
                    relation: Some(relation.to_string()),
                },
                why,
            )
        };
        match relation {
            "domain" | "hostname" => match values::domain(&a.value) {
                Ok(d) => {
                    if a.to_ids {
                        pattern.push(pattern::eq("domain-name:value", &d));
                    }
                    let mut s = Sco::new("domain-name", &a.uuid);
                    s.set("value", Prop::Str(d.clone()));
                    domains.push((s, a.to_ids, d));
                }
                Err(why) => fail(cx, why),
            },
            "ip" => match values::ip(&a.value) {
                Ok((ip, ty)) => {
                    if a.to_ids {
                        pattern.push(pattern::eq("domain-name:resolves_to_refs[*].value", &ip));
                    }
                    let mut s = Sco::new(ty, &a.uuid);
                    s.set("value", Prop::Str(ip));
                    ips.push(s);
                }
                Err(why) => fail(cx, why),
            },
            _ => rest.push(a),
        }
    }
    if domains.is_empty() {
        return None;
    }
    let ip_ids: Vec<String> = ips.iter().map(|s| s.id.clone()).collect();
    let mut scos: Vec<Sco> = Vec::new();
    for (mut d, _, _) in domains {
        if !ip_ids.is_empty() {
            d.set("resolves_to_refs", Prop::Strs(ip_ids.clone()));
        }
        scos.push(d);
    }
    scos.extend(ips);
    let mut built = Built {
        main: 0,
        scos,
        pattern,
        prefix: "domain-name",
    };
    for a in rest {
        built.custom(a, a.relation.as_deref().unwrap_or(""));
    }
    Some(built)
}

fn email(b: &mut Built, a: &Attr, relation: &str) -> Result<(), String> {
    match relation {
        "from" | "to" | "cc" | "bcc" => {
            let address = values::email(&a.value)?;
            let mut addr = Sco::new("email-addr", &a.uuid);
            addr.set("value", Prop::Str(address.clone()));
            let id = addr.id.clone();
            b.scos.push(addr);
            if relation == "from" {
                if !b.main().set("from_ref", Prop::Str(id)) {
                    b.scos.pop();
                    b.custom(a, relation);
                    return Ok(());
                }
                b.cmp(a, pattern::eq("email-message:from_ref.value", &address));
            } else {
                let key = format!("{relation}_refs");
                b.main().push_str(&key, id);
                // A list even when it holds one address.
                if let Some((_, p @ Prop::Str(_))) =
                    b.main().props.iter_mut().find(|(k, _)| *k == key)
                    && let Prop::Str(s) = std::mem::replace(p, Prop::Strs(Vec::new()))
                {
                    *p = Prop::Strs(vec![s]);
                }
                b.cmp(
                    a,
                    pattern::eq(&format!("email-message:{key}[*].value"), &address),
                );
            }
        }
        "from-display-name" | "to-display-name" | "cc-display-name" | "bcc-display-name" => {
            let side = &relation[..relation.len() - "-display-name".len()];
            // The first address of that side without a display name gets it.
            let ids: Vec<String> = match b.main().props.iter().find(|(k, _)| {
                *k == if side == "from" {
                    "from_ref".to_string()
                } else {
                    format!("{side}_refs")
                }
            }) {
                Some((_, Prop::Str(id))) => vec![id.clone()],
                Some((_, Prop::Strs(l))) => l.clone(),
                _ => Vec::new(),
            };
            let target = b
                .scos
                .iter_mut()
                .find(|s| ids.contains(&s.id) && !s.has("display_name"));
            match target {
                Some(addr) => {
                    addr.set("display_name", Prop::Str(a.value.clone()));
                    let path = if side == "from" {
                        "email-message:from_ref.display_name".to_string()
                    } else {
                        format!("email-message:{side}_refs[*].display_name")
                    };
                    b.cmp(a, pattern::eq(&path, &a.value));
                }
                None => b.custom(a, relation),
            }
        }
        "subject" => single(b, a, "subject", "email-message:subject"),
        "message-id" => single(b, a, "message_id", "email-message:message_id"),
        "email-body" => single(b, a, "body", "email-message:body"),
        "send-date" => b.timestamp(a, "date")?,
        "reply-to" | "x-mailer" | "return-path" => {
            let (header, field) = match relation {
                "reply-to" => ("Reply-To", "reply_to"),
                "x-mailer" => ("X-Mailer", "x_mailer"),
                _ => ("Return-Path", "return_path"),
            };
            let at = b
                .main()
                .props
                .iter()
                .position(|(k, _)| k == "additional_header_fields");
            let entry = Obj::empty().str(header, &a.value).finish();
            match at {
                None => {
                    b.main().set("additional_header_fields", Prop::Raw(entry));
                }
                Some(i) => {
                    let Prop::Raw(existing) = &b.main().props[i].1 else {
                        return Ok(());
                    };
                    if existing.contains(&format!("\"{header}\":")) {
                        b.custom(a, relation);
                        return Ok(());
                    }
                    let merged = format!("{},{}", &existing[..existing.len() - 1], &entry[1..]);
                    b.main().props[i].1 = Prop::Raw(merged);
                }
            }
            b.cmp(
                a,
                pattern::eq(
                    &format!("email-message:additional_header_fields.{field}"),
                    &a.value,
                ),
            );
        }
        "attachment" | "screenshot" => {
            let mut file = Sco::new("file", &a.uuid);
            file.set("name", Prop::Str(a.value.clone()));
            let part = Obj::empty()
                .str(
                    "content_disposition",
                    &format!("{relation}; filename='{}'", a.value),
                )
                .str("body_raw_ref", &file.id)
                .finish();
            b.scos.push(file);
            b.main().push_raw("body_multipart", part);
            b.cmp(
                a,
                pattern::eq(
                    "email-message:body_multipart[*].body_raw_ref.name",
                    &a.value,
                ),
            );
        }
        _ => b.custom(a, relation),
    }
    Ok(())
}

fn network(b: &mut Built, a: &Attr, relation: &str) -> Result<(), String> {
    let end = match relation {
        "ip" | "ip-dst" | "hostname-dst" | "domain" | "hostname" => Some("dst"),
        "ip-src" | "hostname-src" => Some("src"),
        _ => None,
    };
    if let Some(dir) = end {
        let key = format!("{dir}_ref");
        if b.main().has(&key) {
            b.custom(a, relation);
            return Ok(());
        }
        let (sco, value, ty) = if relation.starts_with("ip") {
            let (ip, ty) = values::ip(&a.value)?;
            (Sco::new(ty, &a.uuid), ip, ty)
        } else {
            let d = values::domain(&a.value)?;
            (Sco::new("domain-name", &a.uuid), d, "domain-name")
        };
        let mut sco = sco;
        sco.set("value", Prop::Str(value.clone()));
        b.main().set(&key, Prop::Str(sco.id.clone()));
        b.scos.push(sco);
        if ty == "domain-name" {
            b.cmp(
                a,
                pattern::eq(&format!("network-traffic:{dir}_ref.type"), ty),
            );
            b.cmp(
                a,
                pattern::eq(&format!("network-traffic:{dir}_ref.value"), &value),
            );
        } else {
            for cmp in attribute::ip_end(dir, &value, ty) {
                b.cmp(a, cmp);
            }
        }
        return Ok(());
    }
    match relation {
        "dst-port" | "src-port" => {
            let port = values::port(&a.value)?;
            let key = if relation == "dst-port" {
                "dst_port"
            } else {
                "src_port"
            };
            if b.main().set(key, Prop::Int(port)) {
                b.cmp(a, pattern::eq_int(&format!("network-traffic:{key}"), port));
            } else {
                b.custom(a, relation);
            }
        }
        "protocol" | "layer3-protocol" | "layer4-protocol" | "layer7-protocol" => {
            let protocol = a.value.trim().to_ascii_lowercase();
            b.main().push_str("protocols", protocol.clone());
            if let Some((_, p @ Prop::Str(_))) =
                b.main().props.iter_mut().find(|(k, _)| k == "protocols")
                && let Prop::Str(s) = std::mem::replace(p, Prop::Strs(Vec::new()))
            {
                *p = Prop::Strs(vec![s]);
            }
            b.cmp(a, pattern::eq("network-traffic:protocols[*]", &protocol));
        }
        "first-seen" | "first-packet-seen" => b.timestamp(a, "start")?,
        "last-seen" | "last-packet-seen" => b.timestamp(a, "end")?,
        _ => b.custom(a, relation),
    }
    Ok(())
}

/// The registry data types STIX 2.1 names (`windows-registry-datatype-enum`).
const REGISTRY_TYPES: &[&str] = &[
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
];

fn registry(
    b: &mut Built,
    a: &Attr,
    relation: &str,
    value: &mut Vec<(String, Prop)>,
    pattern_out: &mut Vec<(bool, String)>,
) -> Result<(), String> {
    let mut value_field = |b: &mut Built, key: &str, text: String| {
        if value.iter().any(|(k, _)| k == key) {
            b.custom(a, relation);
        } else {
            pattern_out.push((
                a.to_ids,
                pattern::eq(&format!("windows-registry-key:values[*].{key}"), &text),
            ));
            value.push((key.to_string(), Prop::Str(text)));
        }
    };
    match relation {
        "key" => {
            let key = values::registry_key(&a.value)?;
            if b.main().set("key", Prop::Str(key.clone())) {
                b.cmp(a, pattern::eq("windows-registry-key:key", &key));
            } else {
                b.custom(a, relation);
            }
        }
        "name" => value_field(b, "name", a.value.clone()),
        "data" => value_field(b, "data", a.value.clone()),
        "data-type" => {
            let t = a.value.trim().to_ascii_uppercase();
            if REGISTRY_TYPES.contains(&t.as_str()) {
                value_field(b, "data_type", t);
            } else {
                b.custom(a, relation);
            }
        }
        "last-modified" => b.timestamp(a, "modified_time")?,
        _ => b.custom(a, relation),
    }
    Ok(())
}

fn x509(b: &mut Built, a: &Attr, relation: &str) -> Result<(), String> {
    if let Some(algorithm) = relation.strip_prefix("x509-fingerprint-") {
        let h = hash_type(algorithm)
            .ok_or_else(|| format!("{relation} is not a fingerprint MISP defines"))?;
        let digits: String = a
            .value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let value = h.check(&digits)?;
        add_hash(b, a, h.stix, value);
        return Ok(());
    }
    match relation {
        "issuer" => single(b, a, "issuer", "x509-certificate:issuer"),
        "subject" => single(b, a, "subject", "x509-certificate:subject"),
        "serial-number" => single(b, a, "serial_number", "x509-certificate:serial_number"),
        "version" => single(b, a, "version", "x509-certificate:version"),
        "signature_algorithm" => single(
            b,
            a,
            "signature_algorithm",
            "x509-certificate:signature_algorithm",
        ),
        "pubkey-info-algorithm" => single(
            b,
            a,
            "subject_public_key_algorithm",
            "x509-certificate:subject_public_key_algorithm",
        ),
        "pubkey-info-modulus" => single(
            b,
            a,
            "subject_public_key_modulus",
            "x509-certificate:subject_public_key_modulus",
        ),
        "pubkey-info-exponent" => match a.value.trim().parse::<i64>() {
            Ok(e) if b.main().set("subject_public_key_exponent", Prop::Int(e)) => {
                b.cmp(
                    a,
                    pattern::eq_int("x509-certificate:subject_public_key_exponent", e),
                );
            }
            _ => b.custom(a, relation),
        },
        "validity-not-before" => b.timestamp(a, "validity_not_before")?,
        "validity-not-after" => b.timestamp(a, "validity_not_after")?,
        "self_signed" | "is_self_signed" => {
            match super::flag(Some(&Value::String(a.value.clone()))) {
                Some(yes) if b.main().set("is_self_signed", Prop::Bool(yes)) => {
                    b.cmp(a, format!("x509-certificate:is_self_signed = {yes}"));
                }
                _ => b.custom(a, relation),
            }
        }
        _ => b.custom(a, relation),
    }
    Ok(())
}
