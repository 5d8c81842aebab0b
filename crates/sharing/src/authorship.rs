//! Who may change what is already on the node: new versions of an object,
//! deletions, the creator an object claims, and the resources a request
//! leaves behind (status resources).
//!
//! STIX 2.1 (section 3.6) lets only an object's creator make new versions of
//! it; anyone else makes a new object and may link it with `derived-from`.
//! On a node the creator is the *source*: the organisation whose copy of the
//! id the node stored first (`None` for the node itself: operator imports
//! and node-level tokens). Observables (SCOs) have no versions: their ids
//! follow from their values, so each source organisation keeps its own copy
//! (see the store) and none of these rules has to compare two sources' SCOs.
//!
//! | act                                   | allowed to                                            |
//! |---------------------------------------|-------------------------------------------------------|
//! | post a version the node does not hold | the source organisation only                          |
//! | post a version the node holds         | anyone who may see it, unchanged (onward sharing)     |
//! | name an organisation as creator       | that organisation, or an unchanged copy of its version|
//! | delete a version                      | the organisation that posted it; node administrators  |
//! | read a status resource                | the token that made the request; node administrators  |

use crate::audience::Refusal;
use crate::model::OrgId;
use crate::principal::Principal;

/// May `poster` add a version of an object whose source is `source` that
/// the node does not hold yet?
pub fn may_version(poster: Option<OrgId>, source: Option<OrgId>) -> Result<(), Refusal> {
    if poster == source {
        Ok(())
    } else {
        Err(Refusal::NotTheCreator)
    }
}

/// May `poster` post an object whose `created_by_ref` is the identity (real,
/// or a pseudonym) of `claimed`? Only as `claimed` itself, or as an
/// unchanged copy of a version that `claimed` posted (onward sharing).
pub fn may_claim_creator(
    poster: Option<OrgId>,
    claimed: OrgId,
    unchanged_copy_of_claimed: bool,
) -> Result<(), Refusal> {
    if poster == Some(claimed) || unchanged_copy_of_claimed {
        Ok(())
    } else {
        Err(Refusal::ForeignCreator)
    }
}

/// May `principal` delete a version that `origin` posted?
pub fn may_delete(principal: &Principal, origin: Option<OrgId>) -> bool {
    principal.node_admin || origin == principal.org()
}

/// May `principal` read a status resource made by the token `owner_token`?
pub fn may_read_status(principal: &Principal, owner_token: Option<i64>) -> bool {
    principal.is_authenticated() && (principal.node_admin || owner_token == principal.token_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::principal::Member;

    fn user_of(org: OrgId, token: i64) -> Principal {
        Principal::user(
            token,
            Member {
                user: org * 10,
                org,
                role: Role::Analyst,
                communities: vec![],
            },
        )
    }

    #[test]
    fn only_the_source_versions_and_deletes() {
        assert!(may_version(Some(1), Some(1)).is_ok());
        assert_eq!(may_version(Some(2), Some(1)), Err(Refusal::NotTheCreator));
        // The node's own objects are versioned by the node's tools only.
        assert!(may_version(None, None).is_ok());
        assert!(may_version(Some(2), None).is_err());
        assert!(may_version(None, Some(1)).is_err());

        assert!(may_delete(&user_of(1, 5), Some(1)));
        assert!(!may_delete(&user_of(2, 5), Some(1)));
        assert!(!may_delete(&user_of(2, 5), None));
        assert!(may_delete(&Principal::node_admin(9), Some(1)));
    }

    #[test]
    fn creators_are_claimed_by_themselves_or_copied_unchanged() {
        assert!(may_claim_creator(Some(1), 1, false).is_ok());
        assert_eq!(
            may_claim_creator(Some(2), 1, false),
            Err(Refusal::ForeignCreator)
        );
        assert!(may_claim_creator(Some(2), 1, true).is_ok());
        assert!(may_claim_creator(None, 1, false).is_err());
    }

    #[test]
    fn statuses_belong_to_their_token() {
        assert!(may_read_status(&user_of(1, 5), Some(5)));
        assert!(!may_read_status(&user_of(1, 6), Some(5)));
        assert!(!may_read_status(&Principal::anonymous(), None));
        assert!(may_read_status(&Principal::node_admin(9), Some(5)));
    }
}
