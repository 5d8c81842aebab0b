//! Building cyber-observable objects from log fields.
//!
//! Identifiers are deterministic (UUIDv5 in the STIX namespace over the
//! object's identifying properties, as STIX 2.1 section 2.9 describes), so
//! the same address or domain seen twice gets the same identifier and
//! references between objects of one observation resolve.

use serde_json::{Map, Value, json};

const STIX_NAMESPACE: uuid::Uuid = uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7");

/// Objects of one observation, in order; references use their `id`.
#[derive(Default, Debug)]
pub struct ObjectSet {
    pub objects: Vec<(String, Value)>,
}

impl ObjectSet {
    /// Adds `object` (a JSON object with `type`), giving it an identifier
    /// from `identity` (its identifying properties). Returns the identifier.
    pub fn add(&mut self, mut object: Map<String, Value>, identity: &Value) -> String {
        let ty = object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("x-unknown")
            .to_owned();
        let name = identity.to_string();
        let id = format!(
            "{ty}--{}",
            uuid::Uuid::new_v5(&STIX_NAMESPACE, name.as_bytes())
        );
        if !self.objects.iter().any(|(existing, _)| *existing == id) {
            object.insert("id".into(), Value::String(id.clone()));
            object.insert("spec_version".into(), Value::String("2.1".into()));
            self.objects.push((id.clone(), Value::Object(object)));
        }
        id
    }

    /// An `ipv4-addr` or `ipv6-addr` for `address`, or `None` when it is
    /// neither.
    pub fn ip(&mut self, address: &str) -> Option<String> {
        let address = address.trim();
        let ty = if address.parse::<std::net::Ipv4Addr>().is_ok() {
            "ipv4-addr"
        } else if address.parse::<std::net::Ipv6Addr>().is_ok() {
            "ipv6-addr"
        } else {
            return None;
        };
        Some(self.value_object(ty, address))
    }

    /// An object whose identity is its `value` (domain-name, url, email-addr,
    /// ipv4-addr, ipv6-addr, mac-addr).
    pub fn value_object(&mut self, ty: &str, value: &str) -> String {
        let mut m = Map::new();
        m.insert("type".into(), json!(ty));
        m.insert("value".into(), json!(value));
        self.add(m, &json!({ "value": value }))
    }

    pub fn domain(&mut self, name: &str) -> Option<String> {
        let name = name.trim().trim_end_matches('.');
        (!name.is_empty() && name != "-").then(|| self.value_object("domain-name", name))
    }

    /// A `network-traffic` between two addresses.
    pub fn traffic(
        &mut self,
        src: Option<&str>,
        dst: Option<&str>,
        src_port: Option<u64>,
        dst_port: Option<u64>,
        protocols: &[String],
        extensions: Option<Value>,
    ) -> String {
        let mut m = Map::new();
        m.insert("type".into(), json!("network-traffic"));
        if let Some(id) = src.and_then(|a| self.ip(a)) {
            m.insert("src_ref".into(), json!(id));
        }
        if let Some(id) = dst.and_then(|a| self.ip(a)) {
            m.insert("dst_ref".into(), json!(id));
        }
        if let Some(p) = src_port {
            m.insert("src_port".into(), json!(p));
        }
        if let Some(p) = dst_port {
            m.insert("dst_port".into(), json!(p));
        }
        let protocols: Vec<String> = protocols
            .iter()
            .filter(|p| !p.is_empty() && *p != "-")
            .map(|p| p.to_lowercase())
            .collect();
        m.insert(
            "protocols".into(),
            json!(if protocols.is_empty() {
                vec!["ipv4".to_owned()]
            } else {
                protocols
            }),
        );
        if let Some(ext) = extensions {
            m.insert("extensions".into(), ext);
        }
        let identity = Value::Object(m.clone());
        self.add(m, &identity)
    }

    /// A `file` with whatever of its name, hashes and MIME type is known.
    pub fn file(
        &mut self,
        name: Option<&str>,
        hashes: &[(&str, &str)],
        mime_type: Option<&str>,
        size: Option<u64>,
    ) -> Option<String> {
        let mut m = Map::new();
        m.insert("type".into(), json!("file"));
        let mut h = Map::new();
        for (algorithm, value) in hashes {
            let value = value.trim();
            if !value.is_empty() && value != "-" {
                h.insert((*algorithm).to_owned(), json!(value));
            }
        }
        let name = name.map(str::trim).filter(|n| !n.is_empty() && *n != "-");
        if h.is_empty() && name.is_none() {
            return None;
        }
        if let Some(n) = name {
            m.insert("name".into(), json!(n));
        }
        if let Some(t) = mime_type.filter(|t| !t.is_empty() && *t != "-") {
            m.insert("mime_type".into(), json!(t));
        }
        if let Some(s) = size {
            m.insert("size".into(), json!(s));
        }
        let identity = if h.is_empty() {
            json!({ "name": name })
        } else {
            json!({ "hashes": h })
        };
        if !h.is_empty() {
            m.insert("hashes".into(), Value::Object(h));
        }
        Some(self.add(m, &identity))
    }

    pub fn into_objects(self) -> Vec<(String, Value)> {
        self.objects
    }
}

/// The STIX hash algorithm name for a hex digest, by its length.
pub fn hash_algorithm(hex: &str) -> Option<&'static str> {
    if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        32 => Some("MD5"),
        40 => Some("SHA-1"),
        64 => Some("SHA-256"),
        128 => Some("SHA-512"),
        _ => None,
    }
}
