//! The party behind a request.

use std::collections::HashMap;

use crate::model::{Access, CollectionPolicy, CommunityId, OrgId, Owner, ReaderKind, Role, UserId};

/// A user of an organisation, as far as the policy is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub org: OrgId,
    pub role: Role,
    /// Communities the user's organisation belongs to.
    pub communities: Vec<CommunityId>,
}

/// Who a request acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The API token used (`None`: an unauthenticated request).
    pub token_id: Option<i64>,
    pub node_admin: bool,
    pub member: Option<Member>,
    /// Per-collection rights granted to the token itself (node-level tokens).
    grants: HashMap<String, Access>,
}

impl Principal {
    pub fn anonymous() -> Self {
        Principal {
            token_id: None,
            node_admin: false,
            member: None,
            grants: HashMap::new(),
        }
    }

    /// The node's operator at its console (CLI): a node administrator
    /// without a token.
    pub fn operator() -> Self {
        Principal {
            token_id: None,
            node_admin: true,
            member: None,
            grants: HashMap::new(),
        }
    }

    pub fn node_admin(token_id: i64) -> Self {
        Principal {
            token_id: Some(token_id),
            node_admin: true,
            member: None,
            grants: HashMap::new(),
        }
    }

    /// A node-level (service) token with per-collection rights.
    pub fn service(token_id: i64, grants: impl IntoIterator<Item = (String, Access)>) -> Self {
        let mut p = Principal::anonymous();
        p.token_id = Some(token_id);
        p.add_grants(grants);
        p
    }

    pub fn user(
        token_id: i64,
        member: Member,
        grants: impl IntoIterator<Item = (String, Access)>,
    ) -> Self {
        let mut p = Principal::service(token_id, grants);
        p.member = Some(member);
        p
    }

    fn add_grants(&mut self, grants: impl IntoIterator<Item = (String, Access)>) {
        for (collection, access) in grants {
            let entry = self.grants.entry(collection).or_default();
            entry.read |= access.read;
            entry.write |= access.write;
        }
    }

    pub fn org(&self) -> Option<OrgId> {
        self.member.as_ref().map(|m| m.org)
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.member.as_ref().map(|m| m.user)
    }

    pub fn is_authenticated(&self) -> bool {
        self.token_id.is_some()
    }

    /// Is the principal's organisation part of the collection's audience?
    fn membership(&self, collection: &CollectionPolicy) -> Option<&Member> {
        let m = self.member.as_ref()?;
        match collection.owner {
            Owner::Org(o) if o == m.org => Some(m),
            Owner::Community(c) if m.communities.contains(&c) => Some(m),
            _ => None,
        }
    }

    /// Rights on a collection; `None` when the principal has none, in which
    /// case the collection's existence is not disclosed either.
    pub fn access(&self, collection: &CollectionPolicy) -> Option<Access> {
        if self.node_admin {
            return Some(Access {
                read: true,
                write: true,
            });
        }
        let mut access = self.grants.get(&collection.id).copied().unwrap_or_default();
        if let Some(m) = self.membership(collection) {
            access.read = true;
            access.write |= m.role.can_write();
        }
        if collection.public {
            access.read = true;
        }
        (access.read || access.write).then_some(access)
    }

    pub fn can_read(&self, collection: &CollectionPolicy) -> bool {
        self.access(collection).is_some_and(|a| a.read)
    }

    pub fn can_write(&self, collection: &CollectionPolicy) -> bool {
        self.access(collection).is_some_and(|a| a.write)
    }

    /// How the principal reads the collection, if at all.
    pub fn reader_kind(&self, collection: &CollectionPolicy) -> Option<ReaderKind> {
        if self.node_admin {
            return Some(ReaderKind::Admin);
        }
        if self.membership(collection).is_some() {
            return Some(ReaderKind::Member);
        }
        if self.grants.get(&collection.id).is_some_and(|a| a.read) {
            return Some(ReaderKind::Service);
        }
        collection.public.then_some(ReaderKind::Public)
    }
}
