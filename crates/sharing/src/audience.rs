//! Audiences: which readers an object reaches, as keys the store can index.
//!
//! Each stored object carries a small set of *audience keys*, computed once
//! at ingest from its TLP, its source and the recipients the source named.
//! Each read carries the reader's keys for that collection. An object is
//! visible when the two sets meet. The store only intersects sets; every
//! rule that produces the keys lives here.
//!
//! | key         | on an object when                        | a reader holds it when                  |
//! |-------------|------------------------------------------|-----------------------------------------|
//! | `clear`     | TLP:CLEAR                                | it may read the collection at all       |
//! | `green`     | TLP:GREEN                                | it reads as a member or a granted token |
//! | `members`   | AMBER(+STRICT) for the default recipients| it reads as a member organisation's user|
//! | `org:N`     | org N is the source or a named recipient | it is a user of org N                   |
//! | `user:N`    | user N is a named RED recipient or poster| it is user N                            |

use crate::Tlp;
use crate::model::{CollectionPolicy, OrgId, ReaderKind, UserId};
use crate::principal::Principal;

/// Who posted an object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub org: Option<OrgId>,
    pub user: Option<UserId>,
}

/// Recipients a source named for an object (empty: the defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    pub orgs: Vec<OrgId>,
    pub users: Vec<UserId>,
}

/// Why the policy refuses an object or a share.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "TLP:RED objects need named recipients: reference a marking definition with the Entente recipients extension listing the users (or use entente import --recipient-user)"
    )]
    RedWithoutRecipients,
    #[error("{0}")]
    Onward(String),
}

/// The TLP an object is handled at: the most restrictive TLP among its
/// object and granular markings, else the collection's default.
pub fn effective_tlp<'a>(
    markings: impl IntoIterator<Item = &'a str>,
    collection: &CollectionPolicy,
) -> Option<Tlp> {
    Tlp::most_restrictive(markings).or(collection.default_tlp)
}

/// The audience keys of an object handled at `tlp`.
pub fn object_keys(
    tlp: Option<Tlp>,
    origin: Origin,
    named: &Recipients,
) -> Result<Vec<String>, Refusal> {
    let mut keys: Vec<String> = Vec::new();
    let org_key = |o: OrgId| format!("org:{o}");
    let user_key = |u: UserId| format!("user:{u}");
    match tlp {
        // Unmarked without a default: the source organisation only.
        None => keys.extend(origin.org.map(org_key)),
        Some(Tlp::Clear) => {
            keys.push("clear".into());
            keys.extend(origin.org.map(org_key));
        }
        Some(Tlp::Green) => {
            keys.push("green".into());
            keys.extend(origin.org.map(org_key));
        }
        Some(Tlp::Amber | Tlp::AmberStrict) => {
            if named.orgs.is_empty() && named.users.is_empty() {
                keys.push("members".into());
            }
            keys.extend(named.orgs.iter().copied().map(org_key));
            keys.extend(named.users.iter().copied().map(user_key));
            keys.extend(origin.org.map(org_key));
        }
        Some(Tlp::Red) => {
            if named.users.is_empty() {
                return Err(Refusal::RedWithoutRecipients);
            }
            keys.extend(named.users.iter().copied().map(user_key));
            keys.extend(origin.user.map(user_key));
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// What a reader may see of one collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadKeys {
    /// Everything (node administrators).
    All,
    /// Objects carrying at least one of these keys.
    Keys(Vec<String>),
}

impl ReadKeys {
    pub fn admits(&self, object_keys: &[String]) -> bool {
        match self {
            ReadKeys::All => true,
            ReadKeys::Keys(mine) => object_keys.iter().any(|k| mine.contains(k)),
        }
    }
}

/// The principal's keys for a collection; `None` when it may not read it.
pub fn read_keys(principal: &Principal, collection: &CollectionPolicy) -> Option<ReadKeys> {
    if !principal.can_read(collection) {
        return None;
    }
    let kind = principal.reader_kind(collection)?;
    let mut keys: Vec<String> = vec!["clear".into()];
    match kind {
        ReaderKind::Admin => return Some(ReadKeys::All),
        ReaderKind::Member => keys.extend(["green".to_string(), "members".to_string()]),
        ReaderKind::Service => keys.push("green".into()),
        ReaderKind::Public => {}
    }
    if let Some(o) = principal.org() {
        keys.push(format!("org:{o}"));
    }
    if let Some(u) = principal.user_id() {
        keys.push(format!("user:{u}"));
    }
    Some(ReadKeys::Keys(keys))
}

/// The references that gate an object's visibility: everything it
/// references (at any depth, custom `*_ref` properties included) except its
/// author (`created_by_ref`, which pseudonymity handles). An object is shown
/// to a reader only when every object it references that this node holds is
/// visible to that reader, whatever its type: a relationship's `target_ref`
/// and a malware's `sample_refs` alike tell that the object they name exists.
pub fn gating_refs(references: &[String], created_by_ref: Option<&str>) -> Vec<String> {
    references
        .iter()
        .filter(|r| Some(r.as_str()) != created_by_ref)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Owner, Role};
    use crate::principal::Member;

    fn community_collection(default_tlp: Option<Tlp>, public: bool) -> CollectionPolicy {
        CollectionPolicy {
            id: "c".into(),
            owner: Owner::Community(7),
            default_tlp,
            public,
        }
    }

    fn user(user: UserId, org: OrgId, communities: Vec<i64>) -> Principal {
        Principal::user(
            1,
            Member {
                user,
                org,
                role: Role::Analyst,
                communities,
            },
            [],
        )
    }

    fn sees(p: &Principal, c: &CollectionPolicy, keys: &[String]) -> bool {
        read_keys(p, c).is_some_and(|k| k.admits(keys))
    }

    #[test]
    fn tlp_levels_reach_the_right_readers() {
        let c = community_collection(None, true);
        let source = Origin {
            org: Some(1),
            user: Some(10),
        };
        let member = user(20, 2, vec![7]);
        let outsider = user(30, 3, vec![]);
        let anonymous = Principal::anonymous();
        let clear = object_keys(Some(Tlp::Clear), source, &Recipients::default()).unwrap();
        let green = object_keys(Some(Tlp::Green), source, &Recipients::default()).unwrap();
        let amber = object_keys(Some(Tlp::Amber), source, &Recipients::default()).unwrap();
        let amber_named = object_keys(
            Some(Tlp::AmberStrict),
            source,
            &Recipients {
                orgs: vec![3],
                users: vec![],
            },
        )
        .unwrap();
        let red = object_keys(
            Some(Tlp::Red),
            source,
            &Recipients {
                orgs: vec![],
                users: vec![20],
            },
        )
        .unwrap();
        let unmarked = object_keys(None, source, &Recipients::default()).unwrap();

        assert!(sees(&anonymous, &c, &clear) && sees(&outsider, &c, &clear));
        assert!(
            !sees(&anonymous, &c, &green)
                && !sees(&outsider, &c, &green)
                && sees(&member, &c, &green)
        );
        assert!(sees(&member, &c, &amber) && !sees(&outsider, &c, &amber));
        assert!(!sees(&member, &c, &amber_named) && sees(&outsider, &c, &amber_named));
        assert!(sees(&member, &c, &red) && !sees(&user(21, 2, vec![7]), &c, &red));
        assert!(!sees(&member, &c, &unmarked) && sees(&user(11, 1, vec![7]), &c, &unmarked));
        assert!(sees(&Principal::node_admin(9), &c, &red));
        assert_eq!(
            object_keys(Some(Tlp::Red), source, &Recipients::default()),
            Err(Refusal::RedWithoutRecipients)
        );
    }

    #[test]
    fn the_most_restrictive_marking_wins_and_defaults_apply() {
        let c = community_collection(Some(Tlp::Green), false);
        assert_eq!(
            effective_tlp([crate::tlp::TLP2_CLEAR, crate::tlp::TLP1_RED], &c),
            Some(Tlp::Red)
        );
        assert_eq!(
            effective_tlp(["marking-definition--statement"], &c),
            Some(Tlp::Green)
        );
        assert_eq!(effective_tlp([], &community_collection(None, false)), None);
    }
}
