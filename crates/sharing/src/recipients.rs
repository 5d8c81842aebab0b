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

use crate::audience::Refusal;
use crate::model::OrgId;
use crate::principal::Principal;

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

/// A member organisation of the collection an object is posted into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberOrg {
    pub org: OrgId,
    /// It is a pseudonymous member of the collection's community.
    pub pseudonymous: bool,
}

/// Whom a poster may name as recipients in one collection.
///
/// A poster may address its own organisation and the organisations that
/// read the collection as members (and their users); a pseudonymous member
/// only through its pseudonym identity, since accepting its real name would
/// confirm who hides behind the pseudonym. Every other name, whether it
/// exists on the node or not, gets one identical refusal
/// ([`Refusal::NotAddressable`]): the answer must not tell a member which
/// organisations and users exist elsewhere on the node. Node administrators
/// may address any organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addressable {
    /// Any organisation of the node (node administrators).
    pub any: bool,
    /// Organisations that may be named by name or identity id (and their users).
    pub by_name: Vec<OrgId>,
    /// Organisations that may be named by their pseudonym identity only.
    pub by_pseudonym: Vec<OrgId>,
}

impl Addressable {
    /// Whether an organisation found under a name may be named that way.
    pub fn by_name(&self, org: OrgId) -> bool {
        self.any || self.by_name.contains(&org)
    }

    /// Whether an organisation found as a pseudonym identity may be named so.
    pub fn by_pseudonym(&self, org: OrgId) -> bool {
        self.any || self.by_pseudonym.contains(&org) || self.by_name.contains(&org)
    }
}

/// Whom `principal` may name as recipients in a collection read by `members`.
pub fn addressable(principal: &Principal, members: &[MemberOrg]) -> Addressable {
    let mut out = Addressable {
        any: principal.node_admin,
        ..Addressable::default()
    };
    out.by_name.extend(principal.org());
    for m in members {
        if Some(m.org) == principal.org() {
            continue;
        }
        if m.pseudonymous {
            out.by_pseudonym.push(m.org);
        } else {
            out.by_name.push(m.org);
        }
    }
    out
}

/// The one refusal of a recipient name the poster may not address.
pub fn not_addressable(name: &str) -> Refusal {
    Refusal::NotAddressable(name.chars().take(256).collect())
}

/// Why named recipients do not fit an object's TLP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecipientsMismatch {
    #[error(
        "recipients are named for TLP:AMBER, TLP:AMBER+STRICT or TLP:RED; at {0} every reader of the collection allowed that level sees the object"
    )]
    NamedBelowAmber(crate::Tlp),
    #[error("TLP:RED is for named people only: list the recipient users (ORG/USER)")]
    RedWithoutUsers,
}

/// Whether recipients named for an object fit its TLP: they restrict AMBER
/// and AMBER+STRICT, and RED needs named users (the same rule
/// [`crate::object_keys`] applies to each stored object).
pub fn recipients_fit(
    tlp: crate::Tlp,
    named_orgs: bool,
    named_users: bool,
) -> Result<(), RecipientsMismatch> {
    use crate::Tlp;
    if (named_orgs || named_users) && tlp < Tlp::Amber {
        return Err(RecipientsMismatch::NamedBelowAmber(tlp));
    }
    if tlp == Tlp::Red && !named_users {
        return Err(RecipientsMismatch::RedWithoutUsers);
    }
    Ok(())
}

/// The extension-definition object that documents the recipients extension.
pub fn extension_definition() -> &'static str {
    r#"{"type":"extension-definition","spec_version":"2.1","id":"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3","created_by_ref":"identity--5b0b4a2f-1c8e-4a53-9a8e-6f0d3c2b1a90","created":"2026-11-26T00:00:00.000Z","modified":"2026-11-26T00:00:00.000Z","name":"Entente recipients","description":"Names the organisations (by name or identity id) and users (org/user) an object marked with this marking definition is shared with. Used by Entente nodes to restrict TLP:AMBER, TLP:AMBER+STRICT and TLP:RED objects to named recipients.","schema":"https://entente.invalid/schemas/recipients-extension.json","version":"1.0.0","extension_types":["property-extension"]}"#
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::principal::Member;

    #[test]
    fn posters_address_their_own_and_fellow_members_only() {
        let member = Principal::user(
            1,
            Member {
                user: 10,
                org: 1,
                role: Role::Analyst,
                communities: vec![7],
            },
        );
        let members = [
            MemberOrg {
                org: 1,
                pseudonymous: false,
            },
            MemberOrg {
                org: 2,
                pseudonymous: false,
            },
            MemberOrg {
                org: 3,
                pseudonymous: true,
            },
        ];
        let a = addressable(&member, &members);
        assert!(a.by_name(1) && a.by_name(2) && !a.by_name(3) && !a.by_name(4));
        assert!(a.by_pseudonym(3) && !a.by_pseudonym(4));
        let outsider_collection = addressable(&member, &[]);
        assert!(outsider_collection.by_name(1) && !outsider_collection.by_name(2));
        assert!(addressable(&Principal::node_admin(1), &[]).by_name(4));
        assert_eq!(
            not_addressable("Delta").to_string(),
            not_addressable("Delta").to_string()
        );
    }

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
