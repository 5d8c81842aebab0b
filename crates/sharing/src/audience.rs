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

use std::fmt;
use std::str::FromStr;

use crate::Tlp;
use crate::model::{CollectionPolicy, OrgId, ReaderKind, UserId};
use crate::principal::Principal;

/// One audience key (see the table above). Stored as its text form
/// (`org:7`), which [`fmt::Display`] writes and [`FromStr`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AudienceKey {
    Clear,
    Green,
    /// The default recipients of AMBER: the organisations reading the
    /// collection as members.
    Members,
    Org(OrgId),
    User(UserId),
}

impl fmt::Display for AudienceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudienceKey::Clear => f.write_str("clear"),
            AudienceKey::Green => f.write_str("green"),
            AudienceKey::Members => f.write_str("members"),
            AudienceKey::Org(o) => write!(f, "org:{o}"),
            AudienceKey::User(u) => write!(f, "user:{u}"),
        }
    }
}

/// Text that is not an audience key (a damaged database row).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an audience key")]
pub struct UnknownAudienceKey(pub String);

impl FromStr for AudienceKey {
    type Err = UnknownAudienceKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UnknownAudienceKey(s.to_string());
        Ok(match s {
            "clear" => AudienceKey::Clear,
            "green" => AudienceKey::Green,
            "members" => AudienceKey::Members,
            _ => match s.split_once(':') {
                Some(("org", n)) => AudienceKey::Org(n.parse().map_err(|_| bad())?),
                Some(("user", n)) => AudienceKey::User(n.parse().map_err(|_| bad())?),
                _ => return Err(bad()),
            },
        })
    }
}

impl AudienceKey {
    /// Parses a space-separated key set as the store keeps it; unreadable
    /// keys are dropped (they admit no reader).
    pub fn parse_set(text: &str) -> Vec<AudienceKey> {
        text.split(' ').filter_map(|k| k.parse().ok()).collect()
    }
}

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
    #[error(
        "only the organisation that first shared this object may create new versions of it (STIX 2.1, section 3.6); post your changes as a new object and link it with a derived-from relationship"
    )]
    NotTheCreator,
    #[error(
        "recipients: {0:?} is not an organisation or user you can address in this collection; name your own organisation, or member organisations of the collection's community and their users (a pseudonymous member by its pseudonym identity id)"
    )]
    NotAddressable(String),
    #[error(
        "created_by_ref names another organisation of this node; an object may name only your own organisation as its creator, unless it is an unchanged copy of that organisation's version"
    )]
    ForeignCreator,
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
) -> Result<Vec<AudienceKey>, Refusal> {
    let mut keys: Vec<AudienceKey> = Vec::new();
    let org_key = AudienceKey::Org;
    let user_key = AudienceKey::User;
    match tlp {
        // Unmarked without a default: the source organisation only.
        None => keys.extend(origin.org.map(org_key)),
        Some(Tlp::Clear) => {
            keys.push(AudienceKey::Clear);
            keys.extend(origin.org.map(org_key));
        }
        Some(Tlp::Green) => {
            keys.push(AudienceKey::Green);
            keys.extend(origin.org.map(org_key));
        }
        Some(Tlp::Amber | Tlp::AmberStrict) => {
            if named.orgs.is_empty() && named.users.is_empty() {
                keys.push(AudienceKey::Members);
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

/// The audience keys of an object that another node sent: pulled from a
/// peer, or posted by an organisation that stands for one (`origin`).
/// TLP:AMBER+STRICT is for the recipient organisation only, never its
/// clients; so when the sender named no recipients here, it does not take
/// the default recipients of AMBER (every member organisation of the
/// collection), but `recipients`: the local organisations this node
/// designated to receive what that peer sends at AMBER+STRICT (the
/// organisation that runs the node, typically). With none designated it is
/// read by node administrators only (and listed for `origin`, the
/// organisation standing for the sender, like anything it posted). Every
/// other case is [`object_keys`].
pub fn object_keys_from_node(
    tlp: Option<Tlp>,
    origin: Origin,
    named: &Recipients,
    recipients: &[OrgId],
) -> Result<Vec<AudienceKey>, Refusal> {
    if tlp == Some(Tlp::AmberStrict) && named.orgs.is_empty() && named.users.is_empty() {
        let mut keys: Vec<AudienceKey> = recipients.iter().copied().map(AudienceKey::Org).collect();
        keys.extend(origin.org.map(AudienceKey::Org));
        keys.sort();
        keys.dedup();
        return Ok(keys);
    }
    object_keys(tlp, origin, named)
}

/// What a reader may see of one collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadKeys {
    /// Everything (node administrators).
    All,
    /// Objects carrying at least one of these keys.
    Keys(Vec<AudienceKey>),
}

impl ReadKeys {
    pub fn admits(&self, object_keys: &[AudienceKey]) -> bool {
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
    let mut keys = vec![AudienceKey::Clear];
    match kind {
        ReaderKind::Admin => return Some(ReadKeys::All),
        ReaderKind::Member => keys.extend([AudienceKey::Green, AudienceKey::Members]),
        ReaderKind::Service => keys.push(AudienceKey::Green),
        ReaderKind::Public => {}
    }
    keys.extend(principal.org().map(AudienceKey::Org));
    keys.extend(principal.user_id().map(AudienceKey::User));
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

/// What decides who reads one stored copy of an observable: its audience
/// keys, TLP, source organisation and gating references.
#[derive(Clone, Copy, Debug)]
pub struct CopyReach<'a> {
    pub audience: &'a [AudienceKey],
    pub tlp: Option<Tlp>,
    pub origin: Option<OrgId>,
    pub refs: &'a [String],
}

/// Whether every reader who may read `later`, another source's copy of an
/// observable stored after `earlier` in the same collection, may read
/// `earlier` too, and so is served it (or a copy earlier still) instead:
/// then no reader is served `later`, and whatever is done with it (how it
/// is signed) tells no reader anything. When this does not hold, some
/// reader of `later` cannot see `earlier`, and nothing that reader receives
/// may depend on `earlier` existing.
///
/// Decided on keys: a reader holding one of `later`'s keys holds `clear`
/// (every reader of the collection does), `green` and `members` when it
/// holds `members` or stands for one of the collection's `members`
/// (organisations reading it as members), and `green` when it holds
/// `green`; one of those must be among `earlier`'s. Then under any TLP
/// ceiling that admits `later`, and past the relay guard of every
/// organisation standing for a peer (`peer_orgs`: copies another node sent
/// above TLP:GREEN are not for the others). A copy with references is never
/// counted: the pointer gate may hide it from a reader that is still served
/// its own copy. Members and peers are taken as they are now: a reader of
/// `later` then was served `earlier`.
pub fn earlier_copy_reaches_every_reader(
    earlier: CopyReach<'_>,
    later: CopyReach<'_>,
    members: &[OrgId],
    peer_orgs: &[OrgId],
) -> bool {
    use AudienceKey::{Clear, Green, Members, Org, User};
    let held_with = |k: AudienceKey| -> Vec<AudienceKey> {
        match k {
            Clear => vec![Clear],
            Green => vec![Green, Clear],
            Members => vec![Members, Green, Clear],
            Org(o) if members.contains(&o) => vec![Org(o), Members, Green, Clear],
            Org(_) | User(_) => vec![k, Clear],
        }
    };
    let audience = later
        .audience
        .iter()
        .all(|k| held_with(*k).iter().any(|h| earlier.audience.contains(h)));
    let ceiling = match (later.tlp, earlier.tlp) {
        (None, _) => true,
        (Some(l), Some(e)) => e <= l,
        (Some(_), None) => false,
    };
    let relayed = earlier.origin.is_some_and(|o| peer_orgs.contains(&o))
        && earlier.tlp.is_none_or(|t| t > Tlp::Green);
    audience && ceiling && !relayed && earlier.refs.is_empty()
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
        )
    }

    fn sees(p: &Principal, c: &CollectionPolicy, keys: &[AudienceKey]) -> bool {
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
    fn amber_strict_from_another_node_reaches_the_designated_organisation_only() {
        let c = community_collection(Some(Tlp::AmberStrict), false);
        // Org 1 stands for the sending node; orgs 2 and 3 are members here.
        let from_node = Origin {
            org: Some(1),
            user: Some(10),
        };
        let cert = user(20, 2, vec![7]);
        let client = user(30, 3, vec![7]);
        let none = Recipients::default();
        let nobody = object_keys_from_node(Some(Tlp::AmberStrict), from_node, &none, &[]).unwrap();
        assert_eq!(nobody, vec![AudienceKey::Org(1)]);
        assert!(!sees(&cert, &c, &nobody) && !sees(&client, &c, &nobody));
        assert!(sees(&Principal::node_admin(9), &c, &nobody));
        // No TLP marking of its own: the collection's AMBER+STRICT default is
        // the caller's `effective_tlp`, handled the same.
        let designated =
            object_keys_from_node(effective_tlp([], &c), from_node, &none, &[2]).unwrap();
        assert!(sees(&cert, &c, &designated) && !sees(&client, &c, &designated));
        // Recipients the sender named here are kept as named.
        let named = Recipients {
            orgs: vec![3],
            users: vec![],
        };
        let addressed =
            object_keys_from_node(Some(Tlp::AmberStrict), from_node, &named, &[2]).unwrap();
        assert!(!sees(&cert, &c, &addressed) && sees(&client, &c, &addressed));
        // AMBER reaches the recipient's clients: the default recipients stand.
        for tlp in [Some(Tlp::Amber), Some(Tlp::Green), None] {
            assert_eq!(
                object_keys_from_node(tlp, from_node, &none, &[2]),
                object_keys(tlp, from_node, &none)
            );
        }
    }

    #[test]
    fn the_most_restrictive_marking_wins_and_defaults_apply() {
        let c = community_collection(Some(Tlp::Green), false);
        assert_eq!(
            effective_tlp([Tlp::Clear.marking_id(), stix::tlp::TLP_1[3].id], &c),
            Some(Tlp::Red)
        );
        assert_eq!(
            effective_tlp(["marking-definition--statement"], &c),
            Some(Tlp::Green)
        );
        assert_eq!(effective_tlp([], &community_collection(None, false)), None);
    }

    #[test]
    fn an_earlier_copy_reaches_every_reader_of_a_later_one_only_when_its_keys_do() {
        let source = |org| Origin {
            org: Some(org),
            user: None,
        };
        let none = Recipients::default();
        let green_by = |org| object_keys(Some(Tlp::Green), source(org), &none).unwrap();
        let amber_by = |org| object_keys(Some(Tlp::Amber), source(org), &none).unwrap();
        let only_vendor = object_keys(
            Some(Tlp::Amber),
            source(2),
            &Recipients {
                orgs: vec![2],
                users: vec![],
            },
        )
        .unwrap();
        fn reach(audience: &[AudienceKey], tlp: Option<Tlp>, origin: OrgId) -> CopyReach<'_> {
            CopyReach {
                audience,
                tlp,
                origin: Some(origin),
                refs: &[],
            }
        }
        let (vendor_green, cert_green) = (&green_by(2), &green_by(1));
        let members = [1, 2];
        // Two members' GREEN copies: every reader of the second reads the first.
        assert!(earlier_copy_reaches_every_reader(
            reach(vendor_green, Some(Tlp::Green), 2),
            reach(cert_green, Some(Tlp::Green), 1),
            &members,
            &[],
        ));
        // Not when the poster is no member (its users may read as the public).
        assert!(!earlier_copy_reaches_every_reader(
            reach(vendor_green, Some(Tlp::Green), 2),
            reach(cert_green, Some(Tlp::Green), 1),
            &[2],
            &[],
        ));
        // An AMBER copy for its source only is not read by the poster.
        assert!(!earlier_copy_reaches_every_reader(
            reach(&only_vendor, Some(Tlp::Amber), 2),
            reach(cert_green, Some(Tlp::Green), 1),
            &members,
            &[],
        ));
        // AMBER for the members is not read under a GREEN ceiling.
        let (vendor_amber, cert_amber) = (&amber_by(2), &amber_by(1));
        assert!(!earlier_copy_reaches_every_reader(
            reach(vendor_amber, Some(Tlp::Amber), 2),
            reach(cert_green, Some(Tlp::Green), 1),
            &members,
            &[],
        ));
        assert!(earlier_copy_reaches_every_reader(
            reach(vendor_amber, Some(Tlp::Amber), 2),
            reach(cert_amber, Some(Tlp::Amber), 1),
            &members,
            &[],
        ));
        // Nor past the relay guard when another node sent it.
        assert!(!earlier_copy_reaches_every_reader(
            reach(vendor_amber, Some(Tlp::Amber), 2),
            reach(cert_amber, Some(Tlp::Amber), 1),
            &members,
            &[2],
        ));
        // A copy with references may be gated.
        let refs = ["ipv4-addr--x".to_string()];
        assert!(!earlier_copy_reaches_every_reader(
            CopyReach {
                refs: &refs,
                ..reach(vendor_green, Some(Tlp::Green), 2)
            },
            reach(cert_green, Some(Tlp::Green), 1),
            &members,
            &[],
        ));
    }
}
