//! The party behind a request.

use std::collections::HashMap;

use crate::Tlp;
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
    /// A user token narrowed to these collections and rights (least
    /// privilege for automation); `None`: all of the user's rights.
    scope: Option<HashMap<String, Access>>,
    /// The most restrictive TLP the token may read (a federation peer's
    /// relationship can be narrower than its organisation's rights).
    ceiling: Option<Tlp>,
    /// Set when the principal stands for another node: the organisations
    /// standing for other nodes, whose content above TLP:GREEN it may not
    /// receive (see [`Principal::with_relay_guard`]).
    relay_guard: Vec<OrgId>,
    /// Whether it stands for another node (see [`Principal::stands_for_node`]).
    node: bool,
}

impl Principal {
    pub fn anonymous() -> Self {
        Principal {
            token_id: None,
            node_admin: false,
            member: None,
            grants: HashMap::new(),
            scope: None,
            ceiling: None,
            relay_guard: Vec::new(),
            node: false,
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
            scope: None,
            ceiling: None,
            relay_guard: Vec::new(),
            node: false,
        }
    }

    pub fn node_admin(token_id: i64) -> Self {
        Principal {
            token_id: Some(token_id),
            node_admin: true,
            member: None,
            grants: HashMap::new(),
            scope: None,
            ceiling: None,
            relay_guard: Vec::new(),
            node: false,
        }
    }

    /// A node-level (service) token with per-collection rights.
    pub fn service(token_id: i64, grants: impl IntoIterator<Item = (String, Access)>) -> Self {
        let mut p = Principal::anonymous();
        p.token_id = Some(token_id);
        p.add_grants(grants);
        p
    }

    /// A user's token: the rights of the user's organisation and role.
    pub fn user(token_id: i64, member: Member) -> Self {
        let mut p = Principal::service(token_id, []);
        p.member = Some(member);
        p
    }

    /// Narrows the principal to `scope`: on each collection at most the
    /// rights named there, and no right on any other collection. A scope
    /// never adds a right the principal lacks.
    pub fn scoped_to(mut self, scope: impl IntoIterator<Item = (String, Access)>) -> Self {
        let mut narrowed: HashMap<String, Access> = HashMap::new();
        for (collection, access) in scope {
            let entry = narrowed.entry(collection).or_default();
            entry.read |= access.read;
            entry.write |= access.write;
        }
        self.scope = Some(narrowed);
        self
    }

    /// Reads at most `tlp`: objects handled at a more restrictive TLP (or
    /// without one) are not served to this principal.
    pub fn with_ceiling(mut self, tlp: Tlp) -> Self {
        self.ceiling = Some(tlp);
        self
    }

    /// See [`Principal::with_ceiling`].
    pub fn ceiling(&self) -> Option<Tlp> {
        self.ceiling
    }

    /// Marks the principal as standing for another node (its organisation
    /// is a peer's): content that this node received from the nodes
    /// `others` stand for (posted or pulled as those organisations) above
    /// TLP:GREEN is not for it. TLP:AMBER and AMBER+STRICT reach their
    /// recipient organisation and, for AMBER, its clients, never a third
    /// node, so no pull or push relays them onward.
    pub fn with_relay_guard(mut self, others: Vec<OrgId>) -> Self {
        self.node = true;
        self.relay_guard = others
            .into_iter()
            .filter(|o| Some(*o) != self.org())
            .collect();
        self
    }

    /// See [`Principal::with_relay_guard`].
    pub fn relay_guard(&self) -> &[OrgId] {
        &self.relay_guard
    }

    /// Whether the principal stands for another node (its organisation is
    /// a peer's; set by [`Principal::with_relay_guard`], even when no other
    /// node is guarded against). What such a principal receives leaves this
    /// node and is stored under the receiver's own collection defaults, so
    /// the TLP this node handles an object at must travel in the object.
    pub fn stands_for_node(&self) -> bool {
        self.node
    }

    /// Whether objects are served to this principal with the TLP they are
    /// handled at made explicit in them (an object without a TLP marking
    /// takes its collection's default here, which a receiver cannot know):
    /// it stands for another node, or it reads under a TLP ceiling, as the
    /// tokens made for peers and for automation feeding other systems do.
    pub fn takes_tlp_explicit(&self) -> bool {
        self.node || self.ceiling.is_some()
    }

    /// Whether this principal may see a copy marked `tlp` that `origin`
    /// posted, as far as its ceiling and relay guard go (audiences are
    /// decided apart). A copy it may not see is hidden like one outside its
    /// audience: on reads, in the pointer gate and on writes alike. Under a
    /// ceiling, a copy without a TLP is hidden too (the store's `max_tlp`
    /// reads the same).
    pub fn sees_copy(&self, tlp: Option<Tlp>, origin: Option<OrgId>) -> bool {
        let within = match self.ceiling {
            None => true,
            Some(cap) => tlp.is_some_and(|t| t <= cap),
        };
        let relayed = origin.is_some_and(|o| self.relay_guard.contains(&o))
            && tlp.is_none_or(|t| t > Tlp::Green);
        within && !relayed
    }

    /// Whether the token is narrowed to some collections (see
    /// [`Principal::scoped_to`]): such a token reaches nothing else, such as
    /// its organisation's incidents.
    pub fn is_scoped(&self) -> bool {
        self.scope.is_some() || self.ceiling.is_some()
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
        let access = self.unscoped_access(collection)?;
        let access = match &self.scope {
            None => access,
            Some(scope) => {
                let allowed = scope.get(&collection.id).copied().unwrap_or_default();
                Access {
                    read: access.read && allowed.read,
                    write: access.write && allowed.write,
                }
            }
        };
        (access.read || access.write).then_some(access)
    }

    fn unscoped_access(&self, collection: &CollectionPolicy) -> Option<Access> {
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
        if !self.can_read(collection) {
            return None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn collection(id: &str, owner: Owner) -> CollectionPolicy {
        CollectionPolicy {
            id: id.into(),
            owner,
            default_tlp: None,
            public: false,
        }
    }

    #[test]
    fn a_scope_narrows_and_never_widens() {
        let member = Member {
            user: 10,
            org: 1,
            role: Role::Analyst,
            communities: vec![7],
        };
        let c1 = collection("c1", Owner::Community(7));
        let c2 = collection("c2", Owner::Community(7));
        let foreign = collection("c3", Owner::Org(2));
        let full = Principal::user(1, member.clone());
        assert!(full.can_write(&c1) && full.can_write(&c2) && !full.is_scoped());
        let read_c1_write_c2 = Principal::user(2, member.clone()).scoped_to([
            (
                "c1".to_string(),
                Access {
                    read: true,
                    write: false,
                },
            ),
            (
                "c2".to_string(),
                Access {
                    read: false,
                    write: true,
                },
            ),
            (
                "c3".to_string(),
                Access {
                    read: true,
                    write: true,
                },
            ),
        ]);
        assert!(read_c1_write_c2.can_read(&c1) && !read_c1_write_c2.can_write(&c1));
        assert!(!read_c1_write_c2.can_read(&c2) && read_c1_write_c2.can_write(&c2));
        assert_eq!(read_c1_write_c2.reader_kind(&c2), None);
        // Naming a collection the user has no right on grants nothing.
        assert_eq!(read_c1_write_c2.access(&foreign), None);
        let mut public = collection("c4", Owner::Org(2));
        public.public = true;
        assert!(full.can_read(&public) && !read_c1_write_c2.can_read(&public));
    }

    #[test]
    fn ceilings_and_the_relay_guard_decide_which_copies_a_principal_sees() {
        let member = |org| Member {
            user: 10,
            org,
            role: Role::Analyst,
            communities: vec![7],
        };
        let plain = Principal::user(1, member(1));
        assert!(plain.sees_copy(Some(Tlp::Red), Some(5)) && plain.sees_copy(None, None));

        let capped = Principal::user(1, member(1)).with_ceiling(Tlp::Green);
        assert!(capped.sees_copy(Some(Tlp::Green), None));
        assert!(!capped.sees_copy(Some(Tlp::Amber), None));
        assert!(!capped.sees_copy(None, None), "no TLP is above any ceiling");

        // Org 3 stands for a node; orgs 3 and 4 are peers' organisations.
        let node = Principal::user(1, member(3)).with_relay_guard(vec![3, 4]);
        assert_eq!(
            node.relay_guard(),
            &[4],
            "its own organisation is not guarded"
        );
        assert!(node.sees_copy(Some(Tlp::Green), Some(4)));
        assert!(!node.sees_copy(Some(Tlp::Amber), Some(4)));
        assert!(!node.sees_copy(Some(Tlp::AmberStrict), Some(4)));
        assert!(!node.sees_copy(None, Some(4)));
        assert!(
            node.sees_copy(Some(Tlp::Amber), Some(1)),
            "local content is not relayed"
        );
        assert!(
            node.sees_copy(Some(Tlp::Amber), Some(3)),
            "what it sent itself"
        );
        assert!(node.stands_for_node() && !plain.stands_for_node() && !capped.stands_for_node());
        assert!(node.takes_tlp_explicit() && capped.takes_tlp_explicit());
        assert!(!plain.takes_tlp_explicit());
        let only_peer = Principal::user(1, member(3)).with_relay_guard(vec![3]);
        assert!(
            only_peer.relay_guard().is_empty() && only_peer.stands_for_node(),
            "the only peer guards against no other node, and still stands for one"
        );
    }
}
