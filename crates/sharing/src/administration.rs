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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Member;

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
