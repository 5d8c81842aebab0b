//! Finding collections: the one resolver of a collection by id or alias,
//! what a principal may list, and communities as a member sees them.

use sharing::{Access, Owner, Principal};
use store::Collection;

use crate::{Need, Node, NodeError, Result};

/// A community as one of its members sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommunityView {
    pub name: String,
    /// Member organisations, when the community shows them.
    pub members: Option<Vec<String>>,
    /// Ids of its collections the principal may use.
    pub collections: Vec<String>,
}

/// The one answer for a collection that is absent or hidden from the
/// principal, whichever use case looked for it.
pub(crate) fn collection_missing(id_or_alias: &str) -> String {
    format!("collection {id_or_alias} does not exist or is not shared with this token")
}

impl Node {
    /// A collection the principal may use as `need` says, by id or alias,
    /// in `api_root` (any API root when `None`). A collection it has no
    /// right on is reported like an absent one (404); lacking the needed
    /// right on a visible one is 403. An alias names a collection only among
    /// those the principal may see, so a hidden collection never shadows a
    /// visible one, and an alias that two visible collections share names
    /// neither.
    pub fn collection_for(
        &self,
        principal: &Principal,
        api_root: Option<&str>,
        id_or_alias: &str,
        need: Need,
    ) -> Result<(Collection, Access)> {
        let missing = || NodeError::NotFound(collection_missing(id_or_alias));
        if let Some(root) = api_root {
            self.api_root(root)?;
        }
        let in_root = |c: &Collection| api_root.is_none_or(|r| c.api_root == r);
        let found = match self.store.collection(id_or_alias)? {
            Some(c) if in_root(&c) && principal.access(&c.policy()).is_some() => Some(c),
            _ => {
                let candidates = match api_root {
                    Some(r) => self.store.collections(r)?,
                    None => self.store.all_collections()?,
                };
                let mut named: Vec<Collection> = candidates
                    .into_iter()
                    .filter(|c| {
                        c.alias.as_deref() == Some(id_or_alias)
                            && principal.access(&c.policy()).is_some()
                    })
                    .collect();
                if named.len() == 1 { named.pop() } else { None }
            }
        };
        let collection = found.ok_or_else(missing)?;
        let access = principal.access(&collection.policy()).ok_or_else(missing)?;
        let allowed = match need {
            Need::Any => true,
            Need::Read => access.read,
            Need::Write => access.write,
            Need::ReadWrite => access.read && access.write,
        };
        if !allowed {
            let what = match need {
                Need::Read => "read this collection",
                Need::Write => "write to this collection",
                _ => "both read and write this collection (needed to delete)",
            };
            return Err(NodeError::Forbidden(format!("this token may not {what}")));
        }
        Ok((collection, access))
    }

    /// The collections of `api_root` the principal has any right on, by id.
    pub fn visible_collections(
        &self,
        principal: &Principal,
        api_root: &str,
    ) -> Result<Vec<(Collection, Access)>> {
        self.api_root(api_root)?;
        let mut out: Vec<_> = self
            .store
            .collections(api_root)?
            .into_iter()
            .filter_map(|c| principal.access(&c.policy()).map(|a| (c, a)))
            .collect();
        out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        Ok(out)
    }

    /// The communities the principal's organisation belongs to (all of them
    /// for node administrators), with the collections it can use there, and
    /// the member organisations where the community shows them.
    pub fn communities_of(&self, principal: &Principal) -> Result<Vec<CommunityView>> {
        let mine: Vec<i64> = match principal.org() {
            Some(org) => self
                .store
                .memberships(org)?
                .into_iter()
                .map(|m| m.community)
                .collect(),
            None if principal.node_admin => self
                .store
                .communities()?
                .into_iter()
                .map(|c| c.id)
                .collect(),
            None => Vec::new(),
        };
        let all = self.store.communities()?;
        let collections = self.store.all_collections()?;
        let mut out = Vec::new();
        for c in all.into_iter().filter(|c| mine.contains(&c.id)) {
            let members = if c.show_members || principal.node_admin {
                let mut names = Vec::new();
                for m in self.store.members(c.id)? {
                    // A pseudonymous member is never named to others.
                    if m.pseudonymous && principal.org() != Some(m.org) && !principal.node_admin {
                        continue;
                    }
                    if let Some(o) = self.store.org_by_id(m.org)? {
                        names.push(o.name);
                    }
                }
                Some(names)
            } else {
                None
            };
            let ids = collections
                .iter()
                .filter(|x| {
                    x.owner == Owner::Community(c.id) && principal.access(&x.policy()).is_some()
                })
                .map(|x| x.id.clone())
                .collect();
            out.push(CommunityView {
                name: c.name,
                members,
                collections: ids,
            });
        }
        Ok(out)
    }
}
