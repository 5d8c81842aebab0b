//! MISP attributes: one STIX object each (an indicator, observed data and
//! its SCOs, a vulnerability, a campaign, or an `x-misp-attribute`), plus
//! the galaxies attached to it.
//!
//! Patterns and SCOs per attribute type, as misp-stix writes them (`v` is
//! the value, `u` the attribute uuid; `dir` is `src` or `dst`):
//!
//! | type | pattern | SCOs |
//! |---|---|---|
//! | `ip-src`, `ip-dst` | `network-traffic:dir_ref.type = 'ipv4-addr' AND network-traffic:dir_ref.value = v` | `network-traffic--u`, `ipv4-addr--u` (or IPv6) |
//! | `ip-src\|port`, `ip-dst\|port` | the same `AND network-traffic:dir_port = port` | the same, with the port |
//! | `domain`, `hostname` | `domain-name:value` | `domain-name--u` |
//! | `domain\|ip` | `domain-name:value AND domain-name:resolves_to_refs[*].value` | `domain-name--u`, `ipv4-addr--u` |
//! | `hostname\|port` | `domain-name:value AND network-traffic:dst_port` | `domain-name--u`, `network-traffic--u` |
//! | `url`, `uri`, `link` | `url:value` | `url--u` (a `uri` that is not a URL: `x-misp-attribute`) |
//! | `email` | `email-addr:value` | `email-addr--u` |
//! | `email-src`, `email-dst` | `email-message:from_ref.value`, `email-message:to_refs[*].value` | `email-message--u`, `email-addr--u` |
//! | `email-subject`, `email-body`, `email-message-id` | `email-message:subject`, `:body`, `:message_id` | `email-message--u` |
//! | `email-reply-to`, `email-x-mailer` | `email-message:additional_header_fields.reply_to`, `.x_mailer` | `email-message--u` |
//! | `email-header` | `email-message:received_lines[*]` | `email-message--u` |
//! | `email-attachment` | `email-message:body_multipart[*].body_raw_ref.name` | `email-message--u`, `file--u` |
//! | `md5` … `sha3-512`, `ssdeep`, `tlsh`, `imphash` … | `file:hashes.'SHA-256'` … | `file--u` |
//! | `filename\|<hash>`, `malware-sample` | `file:name AND file:hashes.…` | `file--u` |
//! | `filename`, `attachment` | `file:name` | `file--u` |
//! | `mutex` | `mutex:name` | `mutex--u` |
//! | `regkey`, `regkey\|value` | `windows-registry-key:key [AND windows-registry-key:values[*].data]` | `windows-registry-key--u` |
//! | `AS` | `autonomous-system:number` | `autonomous-system--u` |
//! | `mac-address` | `mac-addr:value` | `mac-addr--u` |
//! | `x509-fingerprint-md5`, `-sha1`, `-sha256` | `x509-certificate:hashes.…` | `x509-certificate--u` |
//! | `github-username` | `user-account:account_type = 'github' AND user-account:account_login` | `user-account--u` |
//! | `user-agent`, `http-method` | `network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'`, `.request_method` | (none: `x-misp-attribute` without `to_ids`) |
//! | `port`, `size-in-bytes` | `network-traffic:dst_port`, `file:size` | (none) |

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use stix::Timestamp;

use super::galaxy::{self, GalaxyRaw};
use super::values::{self, hash_type};
use super::{EventCtx, Record, TagRaw, Tags, epoch, flag, tag_names, uuid_of};
use crate::json::Obj;
use crate::{StixJson, detect, ids, pattern, time};

#[derive(Deserialize)]
pub(crate) struct AttributeRaw {
    uuid: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    category: Option<String>,
    value: Option<Value>,
    to_ids: Option<Value>,
    timestamp: Option<Value>,
    comment: Option<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    deleted: Option<Value>,
    object_relation: Option<String>,
    #[serde(rename = "Tag")]
    tags: Option<Vec<TagRaw>>,
    #[serde(rename = "Galaxy")]
    galaxies: Option<Vec<GalaxyRaw>>,
}

/// An attribute read, checked and normalised.
pub(crate) struct Attr {
    pub uuid: String,
    pub ty: String,
    pub category: Option<String>,
    pub value: String,
    pub to_ids: bool,
    pub created: Timestamp,
    pub comment: String,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub tags: Vec<String>,
    pub galaxies: Vec<GalaxyRaw>,
    pub relation: Option<String>,
}

pub(crate) enum Loaded {
    Attr(Attr),
    /// `"deleted": true`: MISP keeps deleted attributes in some exports.
    Deleted,
    /// Not loadable, and why.
    Failed(Unloadable),
}

/// An attribute that could not be read: what is known of it, and why.
pub(crate) struct Unloadable {
    pub uuid: Option<String>,
    pub ty: Option<String>,
    pub relation: Option<String>,
    pub why: String,
}

/// Types MISP refangs when it stores a value (pymisp's refang table).
const REFANGED_TYPES: &[&str] = &[
    "link",
    "url",
    "uri",
    "ip-dst",
    "ip-src",
    "ip-dst|port",
    "ip-src|port",
    "domain|ip",
    "domain",
    "hostname",
    "hostname|port",
    "email",
    "email-src",
    "email-dst",
];

/// `to_ids` when an attribute does not say (MISP's `sane_defaults`).
fn default_to_ids(ty: &str) -> bool {
    matches!(
        ty,
        "ip-src"
            | "ip-dst"
            | "ip-src|port"
            | "ip-dst|port"
            | "domain"
            | "hostname"
            | "domain|ip"
            | "hostname|port"
            | "url"
            | "uri"
            | "email-src"
            | "email-dst"
            | "email"
            | "email-attachment"
            | "filename"
            | "mutex"
            | "regkey"
            | "regkey|value"
            | "malware-sample"
            | "yara"
            | "snort"
            | "sigma"
            | "suricata"
            | "x509-fingerprint-md5"
            | "x509-fingerprint-sha1"
            | "x509-fingerprint-sha256"
            | "btc"
            | "xmr"
            | "iban"
            | "bic"
            | "cc-number"
    ) || ty.starts_with("filename|")
        || (hash_type(ty).is_some())
}

/// Reads one attribute; `default_created` is used when it has no timestamp.
pub(crate) fn load(raw: &RawValue, default_created: Timestamp) -> Loaded {
    let a: AttributeRaw = match serde_json::from_str(raw.get()) {
        Ok(a) => a,
        Err(err) => {
            return Loaded::Failed(Unloadable {
                uuid: uuid_of(raw),
                ty: None,
                relation: None,
                why: format!("the attribute cannot be read: {err}"),
            });
        }
    };
    if flag(a.deleted.as_ref()) == Some(true) {
        return Loaded::Deleted;
    }
    let failed = |why: String| {
        Loaded::Failed(Unloadable {
            uuid: a.uuid.clone(),
            ty: a.ty.clone(),
            relation: a.object_relation.clone(),
            why,
        })
    };
    let uuid = match a.uuid.as_deref().map(ids::misp_uuid) {
        Some(Ok(u)) => u,
        Some(Err(why)) => return failed(format!("uuid: {why}")),
        None => return failed("the attribute has no uuid".into()),
    };
    let Some(ty) = a.ty.clone().filter(|t| !t.trim().is_empty()) else {
        return failed("the attribute has no type".into());
    };
    let value = match &a.value {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return failed(format!("value {other} is not a string")),
        None => return failed("the attribute has no value".into()),
    };
    if value.is_empty() {
        return failed("the value is empty".into());
    }
    let value = if REFANGED_TYPES.contains(&ty.as_str()) {
        crate::refang(&value).into_owned()
    } else {
        value
    };
    let value = values::as_misp_stores(&ty, &value);
    let to_ids = match a.to_ids.as_ref() {
        None | Some(Value::Null) => default_to_ids(&ty),
        Some(v) => match flag(Some(v)) {
            Some(b) => b,
            None => return failed(format!("to_ids {v} is not a boolean")),
        },
    };
    let created = match &a.timestamp {
        Some(Value::Null) | None => default_created,
        Some(ts) => match epoch(ts) {
            Ok(t) => t,
            Err(why) => return failed(why),
        },
    };
    let seen = |s: &Option<String>, what: &str| -> Result<Option<Timestamp>, String> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => time::parse_lenient(s)
                .map(Some)
                .map_err(|e| format!("{what}: {e}")),
        }
    };
    let first_seen = match seen(&a.first_seen, "first_seen") {
        Ok(t) => t,
        Err(why) => return failed(why),
    };
    let last_seen = match seen(&a.last_seen, "last_seen") {
        Ok(t) => t,
        Err(why) => return failed(why),
    };
    Loaded::Attr(Attr {
        uuid,
        tags: tag_names(&a.tags).map(str::to_string).collect(),
        category: a.category.filter(|c| !c.trim().is_empty()),
        value,
        to_ids,
        created,
        comment: a.comment.unwrap_or_default(),
        first_seen,
        last_seen,
        galaxies: a.galaxies.unwrap_or_default(),
        relation: a.object_relation.filter(|r| !r.is_empty()),
        ty,
    })
}

/// What an attribute becomes.
pub(crate) enum Mapped {
    Indicator {
        pattern: String,
        pattern_type: &'static str,
    },
    /// Observed data over these SCOs.
    Observed(Vec<StixJson>),
    Vulnerability,
    Campaign,
    Custom,
}

/// Builds an SCO `<ty>--<uuid>`.
pub(crate) fn sco(ty: &str, uuid: &str) -> (String, Obj) {
    let id = format!("{ty}--{uuid}");
    let obj = Obj::stix(ty, &id);
    (id, obj)
}

/// Finishes an SCO with the markings of the observed data that holds it.
pub(crate) fn finish_sco(id: String, obj: Obj, markings: &[&str]) -> StixJson {
    StixJson {
        id,
        json: obj.strs("object_marking_refs", markings).finish(),
    }
}

/// Comparisons for an address at one end of a connection.
pub(crate) fn ip_end(dir: &str, ip: &str, addr_type: &str) -> Vec<String> {
    let path = format!("network-traffic:{dir}_ref.value");
    let value = if ip.contains('/') {
        // A block is matched by containment, not by its text.
        format!("{path} ISSUBSET {}", pattern::quote(ip))
    } else {
        pattern::eq(&path, ip)
    };
    vec![
        pattern::eq(&format!("network-traffic:{dir}_ref.type"), addr_type),
        value,
    ]
}

/// The pattern or the SCOs of an attribute, or why its value does not fit
/// its type. `markings` are given to the SCOs.
pub(crate) fn map(a: &Attr, markings: &[&str]) -> Result<Mapped, String> {
    let u = a.uuid.as_str();
    let v = a.value.as_str();
    let ty = a.ty.as_str();
    let indicator = |cmps: Vec<String>| {
        Ok(Mapped::Indicator {
            pattern: pattern::all(&cmps),
            pattern_type: "stix",
        })
    };
    let observed = |scos: Vec<(String, Obj)>| {
        Ok(Mapped::Observed(
            scos.into_iter()
                .map(|(id, obj)| finish_sco(id, obj, markings))
                .collect(),
        ))
    };
    let single = |path: &str, value: &str| {
        Ok(Mapped::Indicator {
            pattern: pattern::all(&[pattern::eq(path, value)]),
            pattern_type: "stix",
        })
    };
    match ty {
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => {
            let dir = &ty[3..6];
            let (ip_text, port) = if ty.ends_with("|port") {
                let (ip, port) = values::split_pair(v, ty)?;
                (ip, Some(values::port(port)?))
            } else {
                (v, None)
            };
            let (ip, addr_type) = values::ip(ip_text)?;
            if a.to_ids {
                let mut cmps = ip_end(dir, &ip, addr_type);
                if let Some(p) = port {
                    cmps.push(pattern::eq_int(&format!("network-traffic:{dir}_port"), p));
                }
                return indicator(cmps);
            }
            let (addr_id, addr) = sco(addr_type, u);
            let (_, mut nt) = sco("network-traffic", u);
            nt = nt.str(&format!("{dir}_ref"), &addr_id);
            if let Some(p) = port {
                nt = nt.int(&format!("{dir}_port"), p);
            }
            let nt = (
                format!("network-traffic--{u}"),
                nt.strs("protocols", &["tcp"]),
            );
            observed(vec![nt, (addr_id, addr.str("value", &ip))])
        }
        "domain" | "hostname" => {
            let d = values::domain(v)?;
            if a.to_ids {
                return single("domain-name:value", &d);
            }
            let (id, obj) = sco("domain-name", u);
            observed(vec![(id, obj.str("value", &d))])
        }
        "domain|ip" => {
            let (d, ip) = values::split_pair(v, ty)?;
            let d = values::domain(d)?;
            let (ip, addr_type) = values::ip(ip)?;
            if a.to_ids {
                return indicator(vec![
                    pattern::eq("domain-name:value", &d),
                    pattern::eq("domain-name:resolves_to_refs[*].value", &ip),
                ]);
            }
            let (addr_id, addr) = sco(addr_type, u);
            let (id, dom) = sco("domain-name", u);
            let dom = dom
                .str("value", &d)
                .strs("resolves_to_refs", std::slice::from_ref(&addr_id));
            observed(vec![(id, dom), (addr_id, addr.str("value", &ip))])
        }
        "hostname|port" => {
            let (h, p) = values::split_pair(v, ty)?;
            let h = values::domain(h)?;
            let p = values::port(p)?;
            if a.to_ids {
                return indicator(vec![
                    pattern::eq("domain-name:value", &h),
                    pattern::eq_int("network-traffic:dst_port", p),
                ]);
            }
            let (dom_id, dom) = sco("domain-name", u);
            let (nt_id, nt) = sco("network-traffic", u);
            let nt = nt
                .str("dst_ref", &dom_id)
                .int("dst_port", p)
                .strs("protocols", &["tcp"]);
            observed(vec![(dom_id, dom.str("value", &h)), (nt_id, nt)])
        }
        "url" | "uri" | "link" => {
            if a.to_ids {
                return single("url:value", v);
            }
            // A relative URI is no url SCO (STIX requires a scheme).
            if !detect::is_url(v) {
                return Ok(Mapped::Custom);
            }
            let (id, obj) = sco("url", u);
            observed(vec![(id, obj.str("value", v))])
        }
        "email" => {
            let e = values::email(v)?;
            if a.to_ids {
                return single("email-addr:value", &e);
            }
            let (id, obj) = sco("email-addr", u);
            observed(vec![(id, obj.str("value", &e))])
        }
        "email-src" | "email-dst" => {
            let e = values::email(v)?;
            let src = ty == "email-src";
            if a.to_ids {
                let path = if src {
                    "email-message:from_ref.value"
                } else {
                    "email-message:to_refs[*].value"
                };
                return single(path, &e);
            }
            let (addr_id, addr) = sco("email-addr", u);
            let (msg_id, msg) = sco("email-message", u);
            let msg = msg.bool("is_multipart", false);
            let msg = if src {
                msg.str("from_ref", &addr_id)
            } else {
                msg.strs("to_refs", std::slice::from_ref(&addr_id))
            };
            observed(vec![(msg_id, msg), (addr_id, addr.str("value", &e))])
        }
        "email-subject" | "email-body" | "email-message-id" | "email-reply-to"
        | "email-x-mailer" | "email-header" => {
            let (path, header) = match ty {
                "email-subject" => ("email-message:subject", None),
                "email-body" => ("email-message:body", None),
                "email-message-id" => ("email-message:message_id", None),
                "email-reply-to" => (
                    "email-message:additional_header_fields.reply_to",
                    Some("Reply-To"),
                ),
                "email-x-mailer" => (
                    "email-message:additional_header_fields.x_mailer",
                    Some("X-Mailer"),
                ),
                _ => ("email-message:received_lines[*]", None),
            };
            if a.to_ids {
                return single(path, v);
            }
            let (id, msg) = sco("email-message", u);
            let msg = msg.bool("is_multipart", false);
            let msg = match (ty, header) {
                (_, Some(h)) => {
                    msg.raw("additional_header_fields", &Obj::empty().str(h, v).finish())
                }
                ("email-header", None) => msg.strs("received_lines", &[v]),
                ("email-subject", None) => msg.str("subject", v),
                ("email-body", None) => msg.str("body", v),
                _ => msg.str("message_id", v),
            };
            observed(vec![(id, msg)])
        }
        "email-attachment" => {
            if a.to_ids {
                return single("email-message:body_multipart[*].body_raw_ref.name", v);
            }
            let (file_id, file) = sco("file", u);
            let (msg_id, msg) = sco("email-message", u);
            let part = Obj::empty()
                .str(
                    "content_disposition",
                    &format!("attachment; filename='{v}'"),
                )
                .str("body_raw_ref", &file_id)
                .finish();
            let msg = msg
                .bool("is_multipart", true)
                .raws("body_multipart", &[part]);
            observed(vec![(msg_id, msg), (file_id, file.str("name", v))])
        }
        "filename" | "attachment" => {
            if a.to_ids {
                return single("file:name", v);
            }
            let (id, obj) = sco("file", u);
            observed(vec![(id, obj.str("name", v))])
        }
        "malware-sample" => file_with_hash(a, "md5", markings),
        t if t.starts_with("filename|") => file_with_hash(a, &t["filename|".len()..], markings),
        t if hash_type(t).is_some() => {
            let Some(h) = hash_type(t) else {
                return Ok(Mapped::Custom);
            };
            let value = h.check(v)?;
            if a.to_ids {
                return single(&pattern::hash_path("file", h.stix), &value);
            }
            let (id, obj) = sco("file", u);
            let hashes = Obj::empty().str(h.stix, &value).finish();
            observed(vec![(id, obj.raw("hashes", &hashes))])
        }
        "mutex" => {
            if a.to_ids {
                return single("mutex:name", v);
            }
            let (id, obj) = sco("mutex", u);
            observed(vec![(id, obj.str("name", v))])
        }
        "regkey" | "regkey|value" => {
            let (key, data) = match v.split_once('|') {
                Some((k, d)) if ty == "regkey|value" => (k.trim(), Some(d.trim())),
                _ => (v, None),
            };
            let key = values::registry_key(key)?;
            if a.to_ids {
                let mut cmps = vec![pattern::eq("windows-registry-key:key", &key)];
                if let Some(d) = data {
                    cmps.push(pattern::eq("windows-registry-key:values[*].data", d));
                }
                return indicator(cmps);
            }
            let (id, mut obj) = sco("windows-registry-key", u);
            obj = obj.str("key", &key);
            if let Some(d) = data {
                obj = obj.raws("values", &[Obj::empty().str("data", d).finish()]);
            }
            observed(vec![(id, obj)])
        }
        "AS" => {
            let n = values::autonomous_system(v)?;
            if a.to_ids {
                return indicator(vec![pattern::eq_int("autonomous-system:number", n)]);
            }
            let (id, obj) = sco("autonomous-system", u);
            observed(vec![(id, obj.int("number", n))])
        }
        "mac-address" => {
            let mac = values::mac(v)?;
            if a.to_ids {
                return single("mac-addr:value", &mac);
            }
            let (id, obj) = sco("mac-addr", u);
            observed(vec![(id, obj.str("value", &mac))])
        }
        "x509-fingerprint-md5" | "x509-fingerprint-sha1" | "x509-fingerprint-sha256" => {
            let h = hash_type(&ty["x509-fingerprint-".len()..]).ok_or("unknown fingerprint")?;
            let digits: String = v.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            let value = h.check(&digits)?;
            if a.to_ids {
                return single(&pattern::hash_path("x509-certificate", h.stix), &value);
            }
            let (id, obj) = sco("x509-certificate", u);
            let hashes = Obj::empty().str(h.stix, &value).finish();
            observed(vec![(id, obj.raw("hashes", &hashes))])
        }
        "github-username" => {
            if a.to_ids {
                return indicator(vec![
                    pattern::eq("user-account:account_type", "github"),
                    pattern::eq("user-account:account_login", v),
                ]);
            }
            let (id, obj) = sco("user-account", u);
            observed(vec![(
                id,
                obj.str("account_type", "github").str("account_login", v),
            )])
        }
        "user-agent" | "http-method" | "port" | "size-in-bytes" if a.to_ids => {
            let prefix = "network-traffic:extensions.'http-request-ext'";
            match ty {
                "user-agent" => single(&format!("{prefix}.request_header.'User-Agent'"), v),
                "http-method" => {
                    single(&format!("{prefix}.request_method"), &v.to_ascii_uppercase())
                }
                "port" => indicator(vec![pattern::eq_int(
                    "network-traffic:dst_port",
                    values::port(v)?,
                )]),
                _ => {
                    let size = v
                        .parse::<u64>()
                        .ok()
                        .and_then(|n| i64::try_from(n).ok())
                        .ok_or_else(|| format!("{v:?} is not a size in bytes"))?;
                    indicator(vec![pattern::eq_int("file:size", size)])
                }
            }
        }
        "yara" | "snort" | "suricata" | "sigma" => Ok(Mapped::Indicator {
            pattern: v.to_string(),
            pattern_type: match ty {
                "yara" => "yara",
                "snort" => "snort",
                "suricata" => "suricata",
                _ => "sigma",
            },
        }),
        "vulnerability" => Ok(Mapped::Vulnerability),
        "campaign-name" => Ok(Mapped::Campaign),
        _ => Ok(Mapped::Custom),
    }
}

/// `filename|<hash>` and `malware-sample` (`filename|md5`).
fn file_with_hash(a: &Attr, hash: &str, markings: &[&str]) -> Result<Mapped, String> {
    let Some(h) = hash_type(hash) else {
        // `filename|sha512/224` and the like: no STIX name for the algorithm.
        return Ok(Mapped::Custom);
    };
    let (name, digest) = values::split_pair(&a.value, &a.ty)?;
    let digest = h.check(digest)?;
    if a.to_ids {
        return Ok(Mapped::Indicator {
            pattern: pattern::all(&[
                pattern::eq("file:name", name),
                pattern::eq(&pattern::hash_path("file", h.stix), &digest),
            ]),
            pattern_type: "stix",
        });
    }
    let (id, obj) = sco("file", &a.uuid);
    let hashes = Obj::empty().str(h.stix, &digest).finish();
    Ok(Mapped::Observed(vec![finish_sco(
        id,
        obj.str("name", name).raw("hashes", &hashes),
        markings,
    )]))
}

/// `[{"kill_chain_name":"misp-category","phase_name":…}]`.
pub(crate) fn kill_chain(category: &str) -> String {
    format!(
        "[{}]",
        Obj::empty()
            .str("kill_chain_name", "misp-category")
            .str("phase_name", category)
            .finish()
    )
}

/// `first_observed` and `last_observed`: the record's first and last seen,
/// else its timestamp; never in the wrong order (misp-stix's rule: a last
/// seen before the first wins over the first).
pub(crate) fn observed_window(
    created: Timestamp,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
) -> (Timestamp, Timestamp) {
    let mut first = first_seen.unwrap_or(created);
    let mut last = last_seen.unwrap_or(created);
    if first > last {
        if last_seen.is_some() {
            first = last;
        } else {
            last = first;
        }
    }
    (first, last)
}

/// Converts one attribute of the event.
pub(crate) fn convert(cx: &mut EventCtx, raw: &RawValue) {
    let a = match load(raw, cx.created) {
        Loaded::Attr(a) => a,
        Loaded::Deleted => return,
        Loaded::Failed(f) => {
            return cx.error(
                Record::Attribute {
                    uuid: f.uuid,
                    ty: f.ty,
                },
                f.why,
            );
        }
    };
    let record = Record::Attribute {
        uuid: Some(a.uuid.clone()),
        ty: Some(a.ty.clone()),
    };
    let galaxy_tags = galaxy::mapped_tag_names(&a.galaxies);
    let tags = Tags::read(a.tags.iter().map(String::as_str), &galaxy_tags);
    let markings: Vec<&'static str> = tags.markings_or(&cx.markings).to_vec();
    let mapped = match map(&a, &markings) {
        Ok(m) => m,
        Err(why) => return cx.error(record, why),
    };
    let id = emit(cx, &record, &a, &tags, &markings, mapped);
    if cx.tracks_references {
        cx.stands_for.insert(a.uuid.clone(), id.clone());
    }
    for g in &a.galaxies {
        for target in galaxy::convert(cx, g, a.created) {
            let kind = galaxy::relationship_type(&id, &target);
            cx.relationship(&record, None, &id, kind, &target, a.created, &markings);
        }
    }
}

/// Writes the STIX object of a mapped attribute; returns its id.
fn emit(
    cx: &mut EventCtx,
    record: &Record,
    a: &Attr,
    tags: &Tags,
    markings: &[&str],
    mapped: Mapped,
) -> String {
    let u = &a.uuid;
    let stamp = time::stamp(a.created);
    let mut labels = vec![format!("misp:type=\"{}\"", a.ty)];
    if let Some(c) = &a.category {
        labels.push(format!("misp:category=\"{c}\""));
    }
    labels.extend(tags.labels.iter().cloned());
    let created_by = cx.created_by.clone();
    let common = |ty: &str, id: &str| {
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
            .strs("object_marking_refs", markings)
            .finish()
    };
    let (id, json) = match mapped {
        Mapped::Indicator {
            pattern,
            pattern_type,
        } => {
            let id = format!("indicator--{u}");
            let mut obj = common("indicator", &id)
                .nonempty_str("description", &a.comment)
                .str("pattern", &pattern)
                .str("pattern_type", pattern_type);
            if pattern_type == "stix" {
                obj = obj.str("pattern_version", "2.1");
            }
            obj = obj.str("valid_from", &stamp);
            if let Some(c) = &a.category {
                obj = obj.raw("kill_chain_phases", &kill_chain(c));
            }
            (id.clone(), tail(obj))
        }
        Mapped::Observed(scos) => {
            let id = format!("observed-data--{u}");
            let (first, last) = observed_window(a.created, a.first_seen, a.last_seen);
            let sco_ids: Vec<&str> = scos.iter().map(|s| s.id.as_str()).collect();
            let obj = common("observed-data", &id)
                .str("first_observed", &time::stamp(first))
                .str("last_observed", &time::stamp(last))
                .int("number_observed", 1)
                .strs("object_refs", &sco_ids)
                .nonempty_str("x_misp_comment", &a.comment);
            let json = tail(obj);
            cx.push(
                record,
                StixJson {
                    id: id.clone(),
                    json,
                },
            );
            for s in scos {
                cx.push(record, s);
            }
            return id;
        }
        Mapped::Vulnerability => {
            let id = format!("vulnerability--{u}");
            let mut obj = common("vulnerability", &id)
                .str("name", &a.value)
                .nonempty_str("description", &a.comment);
            if a.value.to_ascii_uppercase().starts_with("CVE-") {
                let reference = Obj::empty()
                    .str("source_name", "cve")
                    .str("external_id", &a.value.to_ascii_uppercase())
                    .finish();
                obj = obj.raws("external_references", &[reference]);
            }
            (id.clone(), tail(obj))
        }
        Mapped::Campaign => {
            let id = format!("campaign--{u}");
            let obj = common("campaign", &id)
                .str("name", &a.value)
                .nonempty_str("description", &a.comment);
            (id.clone(), tail(obj))
        }
        Mapped::Custom => {
            let id = format!("x-misp-attribute--{u}");
            let obj = common("x-misp-attribute", &id)
                .str("x_misp_type", &a.ty)
                .str("x_misp_value", &a.value)
                .opt_str("x_misp_category", a.category.as_deref())
                .nonempty_str("x_misp_comment", &a.comment);
            (id.clone(), tail(obj))
        }
    };
    cx.push(
        record,
        StixJson {
            id: id.clone(),
            json,
        },
    );
    id
}
