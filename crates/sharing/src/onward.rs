//! Onward sharing: may an object already on the node be shared into another
//! collection by someone other than its source?
//!
//! CLEAR goes anywhere; GREEN stays within the communities its source shared
//! it with; AMBER never reaches an organisation outside its recipients;
//! AMBER+STRICT never leaves the recipient organisations' own collections;
//! RED is never shared onward. The source itself may always share again.

use crate::Tlp;
use crate::audience::{AudienceKey, Refusal};
use crate::model::{CollectionPolicy, OrgId, Owner};

/// One stored copy of the object (any version, any collection).
#[derive(Clone, Debug)]
pub struct StoredCopy<'a> {
    pub collection: &'a CollectionPolicy,
    pub origin_org: Option<OrgId>,
    pub tlp: Option<Tlp>,
    pub keys: &'a [AudienceKey],
    /// Organisations reading that collection as members (its owner, or its community's members).
    pub member_orgs: &'a [OrgId],
}

/// Where the object is being shared.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    pub collection: &'a CollectionPolicy,
    pub member_orgs: &'a [OrgId],
}

/// The organisations a copy's audience names, expanding the default recipients.
fn recipient_orgs(copy: &StoredCopy<'_>, out: &mut Vec<OrgId>) {
    for key in copy.keys {
        match key {
            AudienceKey::Members => out.extend_from_slice(copy.member_orgs),
            AudienceKey::Org(n) => out.push(*n),
            _ => {}
        }
    }
    out.extend(copy.origin_org);
}

fn refuse(why: impl Into<String>) -> Result<(), Refusal> {
    Err(Refusal::Onward(why.into()))
}

/// Checks sharing `copies`' object into `target` by `poster_org`.
/// `copies` are in the order they were added: the first one's source is the
/// object's source.
pub fn check_onward(
    poster_org: Option<OrgId>,
    copies: &[StoredCopy<'_>],
    target: &Target<'_>,
) -> Result<(), Refusal> {
    let Some(first) = copies.first() else {
        return Ok(());
    };
    if copies
        .iter()
        .all(|c| c.collection.id == target.collection.id)
    {
        return Ok(());
    }
    // The source shares again (for node-level tokens without an
    // organisation, the node itself is the source).
    if poster_org == first.origin_org {
        return Ok(());
    }
    // A copy without TLP (no marking, no default) is private to its source.
    let level = copies
        .iter()
        .map(|c| c.tlp.unwrap_or(Tlp::AmberStrict))
        .max()
        .unwrap_or(Tlp::Clear);
    let mut recipients = Vec::new();
    for c in copies {
        recipient_orgs(c, &mut recipients);
    }
    recipients.sort_unstable();
    recipients.dedup();
    match level {
        Tlp::Clear => Ok(()),
        Tlp::Green => {
            let shared_in: Vec<_> = copies
                .iter()
                .filter_map(|c| match c.collection.owner {
                    Owner::Community(k) => Some(k),
                    _ => None,
                })
                .collect();
            let within = match target.collection.owner {
                Owner::Community(k) => shared_in.contains(&k),
                // An organisation's own collection of a community member stays inside the community.
                Owner::Org(o) => copies.iter().any(|c| {
                    matches!(c.collection.owner, Owner::Community(_)) && c.member_orgs.contains(&o)
                }),
                Owner::Node => false,
            };
            if within && !target.collection.public {
                Ok(())
            } else {
                refuse(
                    "TLP:GREEN: this object may only be shared within the communities its source shared it with, and never in a public collection",
                )
            }
        }
        Tlp::Amber => {
            let all_inside = match target.collection.owner {
                Owner::Node => false,
                _ => {
                    !target.member_orgs.is_empty()
                        && target.member_orgs.iter().all(|o| recipients.contains(o))
                }
            };
            if all_inside && !target.collection.public {
                Ok(())
            } else {
                refuse(
                    "TLP:AMBER: this collection reaches organisations that are not recipients of this object",
                )
            }
        }
        Tlp::AmberStrict => match target.collection.owner {
            Owner::Org(o) if recipients.contains(&o) && !target.collection.public => Ok(()),
            _ => refuse(
                "TLP:AMBER+STRICT: this object may only go into a recipient organisation's own collection",
            ),
        },
        Tlp::Red => refuse(
            "TLP:RED: this object is for its named recipients only and is never shared onward",
        ),
    }
}

/// May an object that `reader_org` reads leave the node on its behalf (an
/// export file, a federation peer)? TLP:RED never leaves: it is for named
/// people on this node. An object without TLP (private to its source) leaves
/// only with its source.
pub fn may_leave_node(reader_org: Option<OrgId>, tlp: Option<Tlp>, origin: Option<OrgId>) -> bool {
    match tlp {
        Some(Tlp::Red) => false,
        None => origin == reader_org,
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coll(id: &str, owner: Owner, public: bool) -> CollectionPolicy {
        CollectionPolicy {
            id: id.into(),
            owner,
            default_tlp: None,
            public,
        }
    }

    #[test]
    fn each_level_has_its_onward_rule() {
        let source = coll("src", Owner::Community(1), false);
        let same_community = coll("c1b", Owner::Community(1), false);
        let other_community = coll("c2", Owner::Community(2), false);
        let recipient_org = coll("o3", Owner::Org(3), false);
        let other_org = coll("o4", Owner::Org(4), false);
        let public = coll("pub", Owner::Community(1), true);
        let members = [1, 2, 3];
        let keys_default = [AudienceKey::Members];
        let keys_named = [AudienceKey::Org(3)];
        let check = |tlp: Option<Tlp>,
                     keys: &[AudienceKey],
                     target: &CollectionPolicy,
                     target_members: &[OrgId],
                     poster| {
            let copies = [StoredCopy {
                collection: &source,
                origin_org: Some(1),
                tlp,
                keys,
                member_orgs: &members,
            }];
            check_onward(
                Some(poster),
                &copies,
                &Target {
                    collection: target,
                    member_orgs: target_members,
                },
            )
        };
        assert!(check(Some(Tlp::Clear), &[], &other_community, &[8, 9], 2).is_ok());
        assert!(check(Some(Tlp::Green), &[], &same_community, &[1, 2, 3], 2).is_ok());
        assert!(check(Some(Tlp::Green), &[], &other_community, &[2, 9], 2).is_err());
        assert!(check(Some(Tlp::Green), &[], &public, &[1, 2, 3], 2).is_err());
        assert!(check(Some(Tlp::Amber), &keys_default, &recipient_org, &[3], 2).is_ok());
        assert!(
            check(
                Some(Tlp::Amber),
                &keys_default,
                &other_community,
                &[2, 9],
                2
            )
            .is_err()
        );
        assert!(check(Some(Tlp::Amber), &keys_named, &other_org, &[4], 3).is_err());
        assert!(check(Some(Tlp::AmberStrict), &keys_named, &recipient_org, &[3], 3).is_ok());
        assert!(
            check(
                Some(Tlp::AmberStrict),
                &keys_default,
                &same_community,
                &[1, 2, 3],
                3
            )
            .is_err()
        );
        assert!(check(Some(Tlp::Red), &[], &recipient_org, &[3], 3).is_err());
        assert!(check(None, &[], &recipient_org, &[3], 3).is_err());
        // The source itself may share anywhere.
        assert!(check(Some(Tlp::Red), &[], &other_org, &[4], 1).is_ok());
        let err = check(Some(Tlp::Red), &[], &recipient_org, &[3], 3).unwrap_err();
        assert!(err.to_string().contains("never shared onward"));
    }

    #[test]
    fn red_never_leaves_the_node() {
        assert!(!may_leave_node(Some(1), Some(Tlp::Red), Some(1)));
        assert!(may_leave_node(Some(2), Some(Tlp::AmberStrict), Some(1)));
        assert!(may_leave_node(Some(1), None, Some(1)));
        assert!(!may_leave_node(Some(2), None, Some(1)));
    }
}
