//! Inputs of `entente scan`: opening (files, standard input, gzip), format
//! detection, and readers that turn each record into an [`Observation`].

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use patterning::{Observation, StixVersion};
use serde_json::{Map, Value, json};

use crate::objects::{ObjectSet, hash_algorithm};
use crate::time;

/// A problem with one input: which one, where, and why.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    pub source_name: String,
    pub line: Option<u64>,
    pub message: String,
}

/// The formats `entente scan` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A STIX bundle (or JSON list) of observed-data and the objects they
    /// refer to; STIX 2.0 observed-data with inline objects too.
    Stix,
    /// JSON lines, each one SCO (with an optional `timestamp`) or
    /// `{"timestamp"|"first_observed"/"last_observed", "objects": [...]}`.
    ScoLines,
    /// Zeek logs (dns, http, conn, files, ssl …) in Zeek's TSV format.
    ZeekTsv,
    /// Zeek logs written as JSON lines.
    ZeekJson,
    /// Suricata EVE JSON.
    Suricata,
    /// One domain, URL, IP address, e-mail address or hash per line.
    List,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "stix" => Format::Stix,
            "sco" | "sco-jsonl" | "jsonl" => Format::ScoLines,
            "zeek" | "zeek-tsv" => Format::ZeekTsv,
            "zeek-json" => Format::ZeekJson,
            "suricata" | "eve" => Format::Suricata,
            "list" | "plain" => Format::List,
            other => {
                return Err(format!(
                    "unknown input format {other:?} (expected stix, sco-jsonl, zeek, zeek-json, suricata or list)"
                ));
            }
        })
    }
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Stix => "STIX observed-data",
            Format::ScoLines => "JSON lines of SCOs",
            Format::ZeekTsv => "Zeek TSV log",
            Format::ZeekJson => "Zeek JSON log",
            Format::Suricata => "Suricata EVE JSON",
            Format::List => "plain list",
        }
    }
}

/// An opened input: decompressed when gzip, with a counter of the bytes read
/// from the underlying file (for progress).
pub struct Input {
    pub name: String,
    pub reader: Box<dyn BufRead + Send>,
    /// Size of the underlying file, when known.
    pub size: Option<u64>,
    pub progress: Arc<AtomicU64>,
}

impl Input {
    /// Reads the next line into `buf` (cleared first) and counts it in
    /// `line`; `Ok(false)` at the end of the input.
    fn next_line(&mut self, buf: &mut String, line: &mut u64) -> Result<bool, InputError> {
        buf.clear();
        match self.reader.read_line(buf) {
            Ok(0) => Ok(false),
            Ok(_) => {
                *line += 1;
                Ok(true)
            }
            Err(e) => Err(InputError {
                source_name: self.name.clone(),
                line: Some(*line + 1),
                message: format!("cannot read: {e}"),
            }),
        }
    }
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` (`-` is standard input); gzip is recognised by its magic
/// bytes, whatever the file is called.
pub fn open(path: &Path) -> Result<Input, InputError> {
    let name = path.display().to_string();
    let fail = |message: String| InputError {
        source_name: name.clone(),
        line: None,
        message,
    };
    let progress = Arc::new(AtomicU64::new(0));
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let mut buffered = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: raw,
            count: progress.clone(),
        },
    );
    let head = buffered
        .fill_buf()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let reader: Box<dyn BufRead + Send> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    Ok(Input {
        name,
        reader,
        size,
        progress,
    })
}

/// Guesses the format from the first bytes of `input` (nothing is consumed).
pub fn detect(input: &mut Input) -> Result<Format, InputError> {
    let head = input.reader.fill_buf().map_err(|e| InputError {
        source_name: input.name.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if first_line.starts_with("#separator") || first_line.starts_with("#fields") {
        return Ok(Format::ZeekTsv);
    }
    if first_line.starts_with('[') {
        return Ok(Format::Stix);
    }
    if first_line.starts_with('{') {
        return Ok(match serde_json::from_str::<Value>(first_line) {
            Ok(Value::Object(m)) => {
                if m.contains_key("event_type") {
                    Format::Suricata
                } else if m.contains_key("ts")
                    && (m.contains_key("uid")
                        || m.contains_key("fuid")
                        || m.contains_key("id.orig_h"))
                {
                    Format::ZeekJson
                } else if m.get("type").and_then(Value::as_str) == Some("bundle")
                    || m.get("type").and_then(Value::as_str) == Some("observed-data")
                {
                    Format::Stix
                } else {
                    Format::ScoLines
                }
            }
            // A pretty-printed document: its first line is not JSON alone.
            _ => Format::Stix,
        });
    }
    Ok(Format::List)
}

/// One observation read from an input.
#[derive(Debug)]
pub struct Record {
    pub observation: Observation,
    /// 1-based line (or object position, for STIX input).
    pub line: u64,
    /// The observed-data this came from, for STIX input (so that sightings
    /// can refer to it rather than to a copy).
    pub observed_data_id: Option<String>,
}

/// Reads every record of `input`. `now` stands for the observation time of
/// inputs without one (plain lists). Errors are per record: reading goes on.
pub fn records(
    input: Input,
    format: Format,
    now: i64,
) -> Box<dyn Iterator<Item = Result<Record, InputError>> + Send> {
    match format {
        Format::Stix => Box::new(stix_records(input).into_iter()),
        Format::ZeekTsv => Box::new(ZeekTsv::new(input)),
        _ => Box::new(LineRecords {
            input,
            line: 0,
            buf: String::new(),
            format,
            now,
        }),
    }
}

fn stix_records(mut input: Input) -> Vec<Result<Record, InputError>> {
    let name = input.name.clone();
    let fail = |message: String| {
        vec![Err(InputError {
            source_name: name.clone(),
            line: None,
            message,
        })]
    };
    let mut bytes = Vec::new();
    if let Err(e) = input.reader.read_to_end(&mut bytes) {
        return fail(format!("cannot read: {e}"));
    }
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(format!("not a STIX bundle or JSON list: {e}")),
    };
    let items: Vec<&Value> = match &value {
        Value::Array(a) => a.iter().collect(),
        Value::Object(m) => match m.get("objects") {
            Some(Value::Array(a)) if m.get("type").and_then(Value::as_str) == Some("bundle") => {
                a.iter().collect()
            }
            _ => vec![&value],
        },
        _ => return fail("not a STIX bundle or JSON list".into()),
    };
    let inline = items.iter().any(|v| {
        v.get("type").and_then(Value::as_str) == Some("observed-data")
            && v.get("objects").is_some_and(Value::is_object)
    });
    let (version, list) = if inline {
        (
            StixVersion::V20,
            Value::Array(items.into_iter().cloned().collect()),
        )
    } else {
        (
            StixVersion::V21,
            json!([{ "type": "bundle", "objects": items }]),
        )
    };
    match patterning::read_observations(&list, version, true) {
        Ok(observations) => observations
            .into_iter()
            .enumerate()
            .map(|(i, observation)| {
                let observed_data_id = match version {
                    StixVersion::V21 => observation.objects.first().map(|(id, _)| id.clone()),
                    StixVersion::V20 => None,
                };
                Ok(Record {
                    observation,
                    line: i as u64 + 1,
                    observed_data_id,
                })
            })
            .collect(),
        Err(e) => fail(e.0),
    }
}

struct LineRecords {
    input: Input,
    line: u64,
    buf: String,
    format: Format,
    now: i64,
}

impl Iterator for LineRecords {
    type Item = Result<Record, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.input.next_line(&mut self.buf, &mut self.line) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let line = self.buf.trim();
            if line.is_empty() || (self.format == Format::List && line.starts_with('#')) {
                continue;
            }
            let result = match self.format {
                Format::List => list_record(line, self.now),
                Format::ScoLines => json_line(line).and_then(|v| sco_record(v, self.now)),
                Format::ZeekJson => json_line(line).and_then(|v| match v {
                    Value::Object(m) => zeek_record(&zeek_kind(&m, &self.input.name), &m),
                    _ => Err("a Zeek JSON record must be an object".into()),
                }),
                Format::Suricata => json_line(line).and_then(|v| suricata_record(&v)),
                Format::Stix | Format::ZeekTsv => Err("internal: wrong reader".into()),
            };
            return Some(match result {
                Ok(Some(observation)) => Ok(Record {
                    observation,
                    line: self.line,
                    observed_data_id: None,
                }),
                Ok(None) => continue,
                Err(message) => Err(InputError {
                    source_name: self.input.name.clone(),
                    line: Some(self.line),
                    message,
                }),
            });
        }
    }
}

fn json_line(line: &str) -> Result<Value, String> {
    serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))
}

fn observation(first: i64, last: i64, objects: ObjectSet) -> Option<Observation> {
    let objects = objects.into_objects();
    (!objects.is_empty()).then(|| Observation::from_objects(first, last.max(first), 1, objects))
}

/// Removes a trailing dot and the common defanging (`[.]`, `hxxp`).
fn refang(s: &str) -> String {
    s.replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[:]", ":")
        .replacen("hxxp", "http", 1)
}

fn list_record(line: &str, now: i64) -> Result<Option<Observation>, String> {
    let value = refang(line.split_whitespace().next().unwrap_or(line));
    let mut set = ObjectSet::default();
    if set.ip(&value).is_some() {
    } else if let Some((addr, prefix)) = value.split_once('/')
        && prefix.parse::<u8>().is_ok()
        && set.ip(addr).is_some()
    {
        // A network: its address stands for it.
    } else if value.contains("://") {
        set.value_object("url", &value);
        if let Some(host) = url_host(&value) {
            set.ip(host).or_else(|| set.domain(host));
        }
    } else if let Some(algorithm) = hash_algorithm(&value) {
        set.file(None, &[(algorithm, &value.to_lowercase())], None, None);
    } else if value.contains('@') && !value.contains(' ') {
        set.value_object("email-addr", &value);
    } else if is_domain(&value) {
        set.domain(&value);
    } else {
        return Err(format!(
            "{:?} is not a domain, URL, IP address, e-mail address or MD5/SHA-1/SHA-256/SHA-512 hash (give the input format with --format if this is not a plain list)",
            line.chars().take(80).collect::<String>()
        ));
    }
    Ok(observation(now, now, set))
}

fn is_domain(s: &str) -> bool {
    s.contains('.')
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

fn sco_record(v: Value, now: i64) -> Result<Option<Observation>, String> {
    let Value::Object(mut map) = v else {
        return Err("each line must be a JSON object".into());
    };
    let time_of = |m: &Map<String, Value>, keys: &[&str]| {
        keys.iter()
            .find_map(|k| m.get(*k).and_then(time::from_json))
    };
    let first = time_of(&map, &["first_observed", "timestamp", "ts", "time"]).unwrap_or(now);
    let last = time_of(&map, &["last_observed", "timestamp", "ts", "time"]).unwrap_or(first);
    // The line is owned: its objects are moved, not copied.
    let objects: Vec<Value> = match map.remove("objects") {
        Some(Value::Array(a)) => a,
        Some(Value::Object(o)) => o
            .into_iter()
            .map(|(k, mut v)| {
                if let Value::Object(m) = &mut v {
                    m.entry("id").or_insert_with(|| json!(k));
                }
                v
            })
            .collect(),
        Some(_) => return Err("\"objects\" must be a list or a dictionary".into()),
        None => {
            for k in ["timestamp", "ts", "time", "first_observed", "last_observed"] {
                map.remove(k);
            }
            vec![Value::Object(map)]
        }
    };
    let mut out = Vec::new();
    for (i, o) in objects.into_iter().enumerate() {
        let Value::Object(m) = &o else {
            return Err(format!("object {i} is not a JSON object"));
        };
        if !m.get("type").is_some_and(Value::is_string) {
            return Err(format!("object {i} has no \"type\""));
        }
        let id = match m.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => format!(
                "{}--{}",
                m["type"].as_str().unwrap_or("x"),
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, o.to_string().as_bytes())
            ),
        };
        out.push((id, o));
    }
    Ok((!out.is_empty()).then(|| Observation::from_objects(first, last.max(first), 1, out)))
}

/// What a Zeek log holds, from `#path`, the file name or the fields.
fn zeek_kind(m: &Map<String, Value>, file_name: &str) -> String {
    if let Some(p) = m.get("_path").and_then(Value::as_str) {
        return p.to_owned();
    }
    let base = Path::new(file_name)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("");
    for kind in ["dns", "http", "conn", "files", "ssl", "x509"] {
        if base.starts_with(kind) {
            return kind.to_owned();
        }
    }
    if m.contains_key("query") {
        "dns"
    } else if m.contains_key("uri") || m.contains_key("user_agent") {
        "http"
    } else if m.contains_key("fuid") {
        "files"
    } else if m.contains_key("server_name") {
        "ssl"
    } else {
        "conn"
    }
    .to_owned()
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && *s != "-" && *s != "(empty)")
}

fn number(m: &Map<String, Value>, key: &str) -> Option<u64> {
    match m.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn strings(m: &Map<String, Value>, key: &str) -> Vec<String> {
    match m.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) if s != "-" && s != "(empty)" => {
            s.split(',').map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

fn zeek_record(kind: &str, m: &Map<String, Value>) -> Result<Option<Observation>, String> {
    let ts = m
        .get("ts")
        .and_then(time::from_json)
        .ok_or("the record has no valid \"ts\"")?;
    let mut set = ObjectSet::default();
    let src = text(m, "id.orig_h");
    let dst = text(m, "id.resp_h");
    let (sp, dp) = (number(m, "id.orig_p"), number(m, "id.resp_p"));
    match kind {
        "dns" => {
            if let Some(q) = text(m, "query") {
                let mut resolved = Vec::new();
                for answer in strings(m, "answers") {
                    if let Some(id) = set.ip(&answer) {
                        resolved.push(id);
                    } else if is_domain(&answer)
                        && let Some(id) = set.domain(&answer)
                    {
                        resolved.push(id);
                    }
                }
                let mut d = Map::new();
                d.insert("type".into(), json!("domain-name"));
                d.insert("value".into(), json!(q.trim_end_matches('.')));
                if !resolved.is_empty() {
                    d.insert("resolves_to_refs".into(), json!(resolved));
                }
                set.add(d, &json!({ "value": q.trim_end_matches('.') }));
            }
            set.traffic(
                src,
                dst,
                sp,
                dp,
                &[text(m, "proto").unwrap_or("udp").to_owned(), "dns".into()],
                None,
            );
        }
        "http" => {
            let host = text(m, "host");
            if let Some(h) = host {
                set.ip(h).or_else(|| set.domain(h));
            }
            if let (Some(h), Some(uri)) = (host, text(m, "uri")) {
                let scheme = if dp == Some(443) { "https" } else { "http" };
                set.value_object("url", &format!("{scheme}://{h}{uri}"));
            }
            let mut header = Map::new();
            if let Some(h) = host {
                header.insert("Host".into(), json!(h));
            }
            if let Some(ua) = text(m, "user_agent") {
                header.insert("User-Agent".into(), json!(ua));
            }
            let mut ext = Map::new();
            ext.insert(
                "request_method".into(),
                json!(text(m, "method").unwrap_or("GET")),
            );
            ext.insert("request_value".into(), json!(text(m, "uri").unwrap_or("/")));
            if let Some(v) = text(m, "version") {
                ext.insert("request_version".into(), json!(format!("HTTP/{v}")));
            }
            if !header.is_empty() {
                ext.insert("request_header".into(), Value::Object(header));
            }
            set.traffic(
                src,
                dst,
                sp,
                dp,
                &["tcp".into(), "http".into()],
                Some(json!({ "http-request-ext": ext })),
            );
        }
        "files" => {
            set.file(
                text(m, "filename"),
                &[
                    ("MD5", text(m, "md5").unwrap_or("")),
                    ("SHA-1", text(m, "sha1").unwrap_or("")),
                    ("SHA-256", text(m, "sha256").unwrap_or("")),
                ],
                text(m, "mime_type"),
                number(m, "total_bytes").or_else(|| number(m, "seen_bytes")),
            );
            for h in strings(m, "tx_hosts")
                .into_iter()
                .chain(strings(m, "rx_hosts"))
            {
                set.ip(&h);
            }
        }
        "ssl" => {
            if let Some(sni) = text(m, "server_name") {
                set.domain(sni);
            }
            set.traffic(src, dst, sp, dp, &["tcp".into(), "ssl".into()], None);
        }
        _ => {
            let proto = text(m, "proto").unwrap_or("").to_owned();
            let service = text(m, "service")
                .map(|s| s.split(',').map(str::to_owned).collect::<Vec<_>>())
                .unwrap_or_default();
            let mut protocols = vec![proto];
            protocols.extend(service);
            set.traffic(src, dst, sp, dp, &protocols, None);
        }
    }
    Ok(observation(ts, ts, set))
}

/// Zeek's TSV format: `#` directives, then tab-separated rows.
struct ZeekTsv {
    input: Input,
    line: u64,
    buf: String,
    separator: String,
    set_separator: String,
    empty: String,
    unset: String,
    fields: Vec<String>,
    kind: Option<String>,
}

impl ZeekTsv {
    fn new(input: Input) -> ZeekTsv {
        ZeekTsv {
            input,
            line: 0,
            buf: String::new(),
            separator: "\t".into(),
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            fields: Vec::new(),
            kind: None,
        }
    }

    fn directive(&mut self, line: &str) {
        let (name, value) = match line.strip_prefix("#separator ") {
            Some(v) => ("separator", v.to_owned()),
            None => {
                let mut parts = line.splitn(2, &*self.separator);
                let name = parts.next().unwrap_or("").trim_start_matches('#');
                (name, parts.next().unwrap_or("").to_owned())
            }
        };
        match name {
            "separator" => self.separator = unescape_zeek(&value),
            "set_separator" => self.set_separator = unescape_zeek(&value),
            "empty_field" => self.empty = value,
            "unset_field" => self.unset = value,
            "path" => self.kind = Some(value),
            "fields" => self.fields = value.split(&*self.separator).map(str::to_owned).collect(),
            _ => {}
        }
    }
}

fn unescape_zeek(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        match rest
            .get(i + 2..i + 4)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Iterator for ZeekTsv {
    type Item = Result<Record, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.input.next_line(&mut self.buf, &mut self.line) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let line = self.buf.trim_end_matches(['\n', '\r']).to_owned();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('#') {
                self.directive(&line);
                continue;
            }
            let fail = |message: String| InputError {
                source_name: self.input.name.clone(),
                line: Some(self.line),
                message,
            };
            if self.fields.is_empty() {
                return Some(Err(fail("a data row before the #fields header".into())));
            }
            let values: Vec<&str> = line.split(&*self.separator).collect();
            if values.len() != self.fields.len() {
                return Some(Err(fail(format!(
                    "{} values for {} fields (is the separator right?)",
                    values.len(),
                    self.fields.len()
                ))));
            }
            let mut m = Map::new();
            for (field, value) in self.fields.iter().zip(values) {
                if value == self.unset {
                    continue;
                }
                let v = if value == self.empty {
                    json!([])
                } else if matches!(
                    field.as_str(),
                    "answers" | "tx_hosts" | "rx_hosts" | "service"
                ) {
                    json!(value.split(&*self.set_separator).collect::<Vec<_>>())
                } else {
                    json!(value)
                };
                m.insert(field.clone(), v);
            }
            let kind = match &self.kind {
                Some(k) => k.clone(),
                None => zeek_kind(&m, &self.input.name),
            };
            return Some(match zeek_record(&kind, &m) {
                Ok(Some(observation)) => Ok(Record {
                    observation,
                    line: self.line,
                    observed_data_id: None,
                }),
                Ok(None) => continue,
                Err(e) => Err(fail(e)),
            });
        }
    }
}

fn suricata_record(v: &Value) -> Result<Option<Observation>, String> {
    let Value::Object(m) = v else {
        return Err("an EVE record must be a JSON object".into());
    };
    let ts = m
        .get("timestamp")
        .and_then(time::from_json)
        .ok_or("the record has no valid \"timestamp\"")?;
    let event = m.get("event_type").and_then(Value::as_str).unwrap_or("");
    let mut set = ObjectSet::default();
    let src = text(m, "src_ip");
    let dst = text(m, "dest_ip");
    let (sp, dp) = (number(m, "src_port"), number(m, "dest_port"));
    let proto = text(m, "proto").unwrap_or("").to_owned();
    let sub = |key: &str| m.get(key).and_then(Value::as_object);
    let mut protocols = vec![proto];
    if let Some(app) = text(m, "app_proto") {
        protocols.push(app.to_owned());
    }
    match event {
        "dns" => {
            if let Some(dns) = sub("dns") {
                // EVE v1 writes one query or answer per record, v2 groups them.
                if let Some(name) = text(dns, "rrname") {
                    set.domain(name);
                }
                for q in dns
                    .get("queries")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = q.get("rrname").and_then(Value::as_str) {
                        set.domain(name);
                    }
                }
                if let Some(rdata) = text(dns, "rdata") {
                    set.ip(rdata).or_else(|| set.domain(rdata));
                }
                for a in dns
                    .get("answers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(rdata) = a.get("rdata").and_then(Value::as_str) {
                        set.ip(rdata).or_else(|| {
                            if is_domain(rdata) {
                                set.domain(rdata)
                            } else {
                                None
                            }
                        });
                    }
                    if let Some(name) = a.get("rrname").and_then(Value::as_str) {
                        set.domain(name);
                    }
                }
                if let Some(grouped) = dns.get("grouped").and_then(Value::as_object) {
                    for (rtype, values) in grouped {
                        for v in values
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                        {
                            if matches!(rtype.as_str(), "A" | "AAAA") {
                                set.ip(v);
                            } else if is_domain(v) {
                                set.domain(v);
                            }
                        }
                    }
                }
            }
        }
        "http" => {
            if let Some(http) = sub("http") {
                let host = text(http, "hostname");
                if let Some(h) = host {
                    set.ip(h).or_else(|| set.domain(h));
                }
                if let (Some(h), Some(url)) = (host, text(http, "url")) {
                    let full = if url.contains("://") {
                        url.to_owned()
                    } else {
                        format!("http://{h}{url}")
                    };
                    set.value_object("url", &full);
                }
            }
        }
        "tls" => {
            if let Some(tls) = sub("tls") {
                if let Some(sni) = text(tls, "sni") {
                    set.domain(sni);
                }
                if let Some(fp) = text(tls, "fingerprint") {
                    let hex: String = fp.chars().filter(|c| *c != ':').collect();
                    let mut c = Map::new();
                    c.insert("type".into(), json!("x509-certificate"));
                    c.insert("hashes".into(), json!({ "SHA-1": hex }));
                    for (key, prop) in [
                        ("subject", "subject"),
                        ("issuerdn", "issuer"),
                        ("serial", "serial_number"),
                    ] {
                        if let Some(v) = text(tls, key) {
                            c.insert(prop.into(), json!(v));
                        }
                    }
                    set.add(c, &json!({ "hashes": { "SHA-1": hex } }));
                }
            }
        }
        "fileinfo" => {
            if let Some(f) = sub("fileinfo") {
                set.file(
                    text(f, "filename"),
                    &[
                        ("MD5", text(f, "md5").unwrap_or("")),
                        ("SHA-1", text(f, "sha1").unwrap_or("")),
                        ("SHA-256", text(f, "sha256").unwrap_or("")),
                    ],
                    text(f, "magic"),
                    number(f, "size"),
                );
            }
            if let Some(h) = sub("http").and_then(|h| text(h, "hostname")) {
                set.ip(h).or_else(|| set.domain(h));
            }
        }
        _ => {}
    }
    if src.is_some() || dst.is_some() {
        set.traffic(src, dst, sp, dp, &protocols, None);
    }
    Ok(observation(ts, ts, set))
}

/// Counts of what a scan read, per input.
#[derive(Debug, Default, Clone)]
pub struct ReadStats {
    pub records: u64,
    pub errors: u64,
    pub by_format: HashMap<&'static str, u64>,
}
