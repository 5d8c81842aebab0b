//! Who may administer what.
//!
//! The node's organisations, users, communities, collections and tokens are
//! its operator's to change: node administrators (the operator at the CLI,
//! or an admin token). An organisation's administrators manage their own
//! organisation's users.

use crate::model::{OrgId, Role};
use crate::principal::Principal;

/// May `principal` change the node's directory and read its audit log?
pub fn may_administer_node(principal: &Principal) -> bool {
    principal.node_admin && !principal.is_scoped()
}

/// May `principal` manage the users of `org`?
pub fn may_manage_users_of(principal: &Principal, org: OrgId) -> bool {
    may_administer_node(principal)
        || (!principal.is_scoped()
            && principal
                .member
                .as_ref()
                .is_some_and(|m| m.org == org && m.role == Role::Admin))
}

/// What adding an organisation to a community does, given whether it is a
/// member already (`Some(pseudonymous)`) and how it is to be a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    /// It joins, pseudonymous or not.
    Join,
    /// It is a member already, on the same terms: nothing changes.
    Unchanged,
}

/// Why a membership may not change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    /// Naming a pseudonymous member would show every member that read its
    /// objects under the pseudonym who it is (the pseudonym is replaced at
    /// read time, so the past would be unmasked too).
    #[error(
        "is a pseudonymous member of this community; it cannot become a named member: every member that read its objects under the pseudonym would then see who it is, on what it shared before too"
    )]
    WouldUnmask,
    /// A named member's objects were read under its real identity: the
    /// same objects served under a pseudonym from now on would tie the
    /// pseudonym to it.
    #[error(
        "is a named member of this community; it cannot become pseudonymous: members read its objects under its real identity, and the same objects under a pseudonym would tell them whose pseudonym it is (give its pseudonymous sharing an organisation of its own)"
    )]
    WouldNotHide,
}

/// How a membership may change: joining on either terms, or the same terms
/// again; never from pseudonymous to named or back (a pseudonym works only
/// if it has never been shown beside the real identity).
pub fn membership_change(
    current: Option<bool>,
    pseudonymous: bool,
) -> Result<MembershipChange, MembershipRefusal> {
    match current {
        None => Ok(MembershipChange::Join),
        Some(now) if now == pseudonymous => Ok(MembershipChange::Unchanged),
        Some(true) => Err(MembershipRefusal::WouldUnmask),
        Some(false) => Err(MembershipRefusal::WouldNotHide),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Member;

    #[test]
    fn membership_terms_are_fixed_when_an_organisation_joins() {
        assert_eq!(membership_change(None, true), Ok(MembershipChange::Join));
        assert_eq!(membership_change(None, false), Ok(MembershipChange::Join));
        assert_eq!(
            membership_change(Some(true), true),
            Ok(MembershipChange::Unchanged)
        );
        assert_eq!(
            membership_change(Some(false), false),
            Ok(MembershipChange::Unchanged)
        );
        assert_eq!(
            membership_change(Some(true), false),
            Err(MembershipRefusal::WouldUnmask)
        );
        assert_eq!(
            membership_change(Some(false), true),
            Err(MembershipRefusal::WouldNotHide)
        );
    }

    #[test]
    fn node_and_organisation_administrators() {
        let admin_of = |org, role| {
            Principal::user(
                1,
                Member {
                    user: 1,
                    org,
                    role,
                    communities: vec![],
                },
            )
        };
        assert!(may_administer_node(&Principal::operator()));
        assert!(!may_administer_node(&admin_of(1, Role::Admin)));
        assert!(may_manage_users_of(&admin_of(1, Role::Admin), 1));
        assert!(!may_manage_users_of(&admin_of(1, Role::Admin), 2));
        assert!(!may_manage_users_of(&admin_of(1, Role::Analyst), 1));
        assert!(!may_manage_users_of(&Principal::anonymous(), 1));
    }
}
