//! Pseudonymous posting: recipients see a stable per-community pseudonym
//! identity where the source organisation's identity would be.
//!
//! The pseudonym id is derived from a secret of the node, the organisation
//! and the community, so it is stable (recipients can correlate what one
//! source shares in one community) but unlinkable across communities and
//! not reversible without the node's secret.

use sha2::{Digest, Sha256};

use crate::model::{CommunityId, OrgId};

/// The pseudonym identity id of `org` in `community`.
pub fn pseudonym_id(node_secret: &[u8], org: OrgId, community: CommunityId) -> String {
    let mut h = Sha256::new();
    h.update(b"entente pseudonym v1\0");
    h.update((node_secret.len() as u64).to_le_bytes());
    h.update(node_secret);
    h.update(org.to_le_bytes());
    h.update(community.to_le_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    // Shape it as a version 4, RFC 4122 variant UUID.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "identity--{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The identity object recipients see for a pseudonymous source.
pub fn pseudonym_identity(id: &str, created: &str) -> String {
    let short = id.get(10..16).unwrap_or("source");
    format!(
        r#"{{"type":"identity","spec_version":"2.1","id":"{id}","created":"{created}","modified":"{created}","name":"Pseudonymous source {short}","identity_class":"organization","description":"A member of this community that shares without being named. The same pseudonym always stands for the same source in this community."}}"#
    )
}

/// Replaces every occurrence of the real identity id by the pseudonym.
/// Both are `identity--` plus a UUID, so the replacement keeps lengths and
/// leaves every other byte as the source sent it. Text with `\u` escapes
/// may spell the id in escapes: it is decoded, masked and written again
/// (key order and spacing may then change).
pub fn substitute<'a>(raw: &'a str, real: &str, pseudonym: &str) -> std::borrow::Cow<'a, str> {
    if raw.contains("\\u")
        && let Ok(mut value) = serde_json::from_str::<serde_json::Value>(raw)
    {
        return if mask_value(&mut value, real, pseudonym) {
            std::borrow::Cow::Owned(value.to_string())
        } else {
            std::borrow::Cow::Borrowed(raw)
        };
    }
    if raw.contains(real) {
        std::borrow::Cow::Owned(raw.replace(real, pseudonym))
    } else {
        std::borrow::Cow::Borrowed(raw)
    }
}

/// Masks `real` in every string (keys too) of a decoded JSON value; whether
/// anything changed.
fn mask_value(value: &mut serde_json::Value, real: &str, pseudonym: &str) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains(real) => {
            *s = s.replace(real, pseudonym);
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| mask_value(v, real, pseudonym) | changed),
        Value::Object(map) => {
            let mut changed = false;
            let keys: Vec<String> = map.keys().filter(|k| k.contains(real)).cloned().collect();
            for k in keys {
                if let Some(v) = map.remove(&k) {
                    map.insert(k.replace(real, pseudonym), v);
                    changed = true;
                }
            }
            map.values_mut().fold(changed, |changed, v| {
                mask_value(v, real, pseudonym) | changed
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_community_and_unlinkable_across() {
        let a = pseudonym_id(b"secret", 1, 7);
        assert_eq!(a, pseudonym_id(b"secret", 1, 7));
        assert_ne!(a, pseudonym_id(b"secret", 1, 8));
        assert_ne!(a, pseudonym_id(b"other", 1, 7));
        assert_ne!(a, pseudonym_id(b"secret", 2, 7));
        assert!(stix_like(&a), "{a}");
        let identity = pseudonym_identity(&a, "2026-01-01T00:00:00.000Z");
        assert!(identity.contains(&a) && identity.contains("Pseudonymous source"));
    }

    fn stix_like(id: &str) -> bool {
        let uuid = id.trim_start_matches("identity--");
        uuid.len() == 36 && &uuid[14..15] == "4" && "89ab".contains(&uuid[19..20])
    }

    #[test]
    fn substitution_changes_only_the_identity() {
        let real = "identity--11111111-1111-4111-8111-111111111111";
        let fake = "identity--22222222-2222-4222-8222-222222222222";
        let raw =
            format!(r#"{{"created_by_ref": "{real}", "where_sighted_refs":["{real}"], "x":1}}"#);
        let out = substitute(&raw, real, fake);
        assert_eq!(out.len(), raw.len());
        assert!(!out.contains(real) && out.matches(fake).count() == 2);
        // The same id spelt with an escape is masked as well.
        let escaped = raw.replacen("identity--1", "identity--\\u0031", 1);
        let out = substitute(&escaped, real, fake);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["created_by_ref"], fake);
        assert_eq!(value["where_sighted_refs"][0], fake);
        assert!(matches!(
            substitute(r#"{"x":"\u0041"}"#, real, fake),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
