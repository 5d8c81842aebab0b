//! From an API token to a principal.

use sharing::{Access, Member, Principal};
use stix::Timestamp;
use store::{TokenRecord, User};

use crate::{Node, Result};

/// Why a presented token does not authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Unknown,
    Revoked,
    Expired,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Unknown => "the API token is not valid",
            AuthFailure::Revoked => "the API token has been revoked",
            AuthFailure::Expired => "the API token has expired",
        }
    }
}

impl Node {
    /// Resolves a presented token secret at time `now`.
    pub fn authenticate(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Result<(Principal, TokenRecord), AuthFailure>> {
        let digest = sharing::token::digest(secret);
        let Some(record) = self.store.token_by_hash(&digest)? else {
            return Ok(Err(AuthFailure::Unknown));
        };
        if record.revoked.is_some() {
            return Ok(Err(AuthFailure::Revoked));
        }
        if record.expires.is_some_and(|e| e <= now) {
            return Ok(Err(AuthFailure::Expired));
        }
        let principal = self.principal_of(&record)?;
        Ok(Ok((principal, record)))
    }

    /// The principal a stored token stands for.
    pub fn principal_of(&self, record: &TokenRecord) -> Result<Principal> {
        let principal = self.unbounded_principal_of(record)?;
        let principal = match record.max_tlp {
            Some(ceiling) => principal.with_ceiling(ceiling),
            None => principal,
        };
        self.guard_relays(principal)
    }

    /// A principal of an organisation that stands for a peer node gets the
    /// relay guard (see [`Principal::with_relay_guard`]): what other nodes
    /// sent here above TLP:GREEN never goes on to it.
    pub(crate) fn guard_relays(&self, principal: Principal) -> Result<Principal> {
        let Some(org) = principal.org() else {
            return Ok(principal);
        };
        let nodes: Vec<sharing::OrgId> = self.store.peers()?.iter().map(|p| p.org).collect();
        Ok(if nodes.contains(&org) {
            principal.with_relay_guard(nodes)
        } else {
            principal
        })
    }

    fn unbounded_principal_of(&self, record: &TokenRecord) -> Result<Principal> {
        if record.admin {
            return Ok(Principal::node_admin(record.id));
        }
        let grants = record.grants.iter().map(|g| {
            (
                g.collection_id.clone(),
                Access {
                    read: g.can_read,
                    write: g.can_write,
                },
            )
        });
        Ok(match &record.user {
            // A user's token with collections named is narrowed to them.
            Some(user) if !record.grants.is_empty() => {
                Principal::user(record.id, self.member(user)?).scoped_to(grants)
            }
            Some(user) => Principal::user(record.id, self.member(user)?),
            None => Principal::service(record.id, grants),
        })
    }

    /// A user as the policy sees them.
    pub fn member(&self, user: &User) -> Result<Member> {
        let communities = self
            .store
            .memberships(user.org)?
            .into_iter()
            .map(|m| m.community)
            .collect();
        Ok(Member {
            user: user.id,
            org: user.org,
            role: user.role,
            communities,
        })
    }

    /// The principal of a user acting at the node's console (CLI import and
    /// export `--as`), without a token.
    pub fn principal_named(&self, path: &str) -> Result<Principal> {
        let user = self.user_named(path)?;
        self.user_principal(&user)
    }

    /// The principal of a user acting at the node's console, without a token.
    pub fn user_principal(&self, user: &User) -> Result<Principal> {
        let mut p = Principal::user(0, self.member(user)?);
        p.token_id = None;
        Ok(p)
    }
}
