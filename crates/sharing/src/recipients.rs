//! Naming recipients from a plain TAXII POST.
//!
//! A source names the organisations (and, for TLP:RED, the users) an object
//! is for with a STIX marking definition carrying the Entente recipients
//! extension, sent in the same envelope or earlier, and referenced from the
//! object's `object_marking_refs` like any other marking:
//!
//! ```json
//! {"type": "marking-definition", "spec_version": "2.1",
//!  "id": "marking-definition--…", "created": "2026-01-01T00:00:00Z",
//!  "name": "Recipients",
//!  "extensions": {"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3": {
//!     "extension_type": "property-extension",
//!     "organizations": ["CERT-EE"], "users": ["cert-ee/alice"]}}}
//! ```
//!
//! Any TAXII 2.1 client can send it; the marking definition itself is
//! policy metadata, visible only to its source organisation.

use serde_json::Value;

/// The id of the Entente recipients extension definition.
pub const RECIPIENTS_EXTENSION: &str = "extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3";

/// Recipients as the source wrote them (organisation names or identity ids;
/// users as `org/user`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamedRecipients {
    pub organizations: Vec<String>,
    pub users: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct RecipientsError {
    pub path: String,
    pub reason: String,
}

/// The recipients a marking definition names, if it carries the extension.
pub fn named_recipients(
    marking_definition: &Value,
) -> Result<Option<NamedRecipients>, RecipientsError> {
    let Some(ext) = marking_definition
        .get("extensions")
        .and_then(|e| e.get(RECIPIENTS_EXTENSION))
    else {
        return Ok(None);
    };
    let base = format!("$.extensions['{RECIPIENTS_EXTENSION}']");
    let list = |name: &str| -> Result<Vec<String>, RecipientsError> {
        match ext.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .filter(|s| !s.trim().is_empty() && s.len() <= 256)
                        .map(str::to_owned)
                        .ok_or_else(|| RecipientsError {
                            path: format!("{base}.{name}[{i}]"),
                            reason: "must be a non-empty string".into(),
                        })
                })
                .collect(),
            Some(_) => Err(RecipientsError {
                path: format!("{base}.{name}"),
                reason: "must be a list of strings".into(),
            }),
        }
    };
    let named = NamedRecipients {
        organizations: list("organizations")?,
        users: list("users")?,
    };
    if named.organizations.is_empty() && named.users.is_empty() {
        return Err(RecipientsError {
            path: base,
            reason: "names no organizations and no users".into(),
        });
    }
    Ok(Some(named))
}

/// The extension-definition object that documents the recipients extension.
pub fn extension_definition() -> &'static str {
    r#"{"type":"extension-definition","spec_version":"2.1","id":"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3","created_by_ref":"identity--5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90","created":"2026-11-26T00:00:00.000Z","modified":"2026-11-26T00:00:00.000Z","name":"Entente recipients","description":"Names the organisations (by name or identity id) and users (org/user) an object marked with this marking definition is shared with. Used by Entente nodes to restrict TLP:AMBER, TLP:AMBER+STRICT and TLP:RED objects to named recipients.","schema":"https://entente.invalid/schemas/recipients-extension.json","version":"1.0.0","extension_types":["property-extension"]}"#
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_rejects_malformed_lists() {
        let md: Value = serde_json::from_str(&format!(
            r#"{{"extensions":{{"{RECIPIENTS_EXTENSION}":{{"extension_type":"property-extension","organizations":["CERT-EE"],"users":["cert-ee/alice"]}}}}}}"#
        ))
        .unwrap();
        let r = named_recipients(&md).unwrap().unwrap();
        assert_eq!(r.organizations, ["CERT-EE"]);
        assert_eq!(r.users, ["cert-ee/alice"]);
        assert_eq!(
            named_recipients(&serde_json::json!({"name": "x"})).unwrap(),
            None
        );
        let bad: Value = serde_json::from_str(&format!(
            r#"{{"extensions":{{"{RECIPIENTS_EXTENSION}":{{"organizations":"CERT-EE"}}}}}}"#
        ))
        .unwrap();
        assert!(
            named_recipients(&bad)
                .unwrap_err()
                .path
                .ends_with(".organizations")
        );
        let empty: Value = serde_json::from_str(&format!(
            r#"{{"extensions":{{"{RECIPIENTS_EXTENSION}":{{}}}}}}"#
        ))
        .unwrap();
        assert!(named_recipients(&empty).is_err());
    }
}
