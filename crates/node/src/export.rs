//! Exports: what leaves the node as a file (and, through the same rule, to
//! a federation peer).

use sharing::Principal;
use sharing::onward::may_leave_node;
use stix::Timestamp;
use store::{Collection, ObjectQuery, StoredObject};

use crate::{Expired, Node, Result};

/// One page of an export.
#[derive(Clone, Debug, Default)]
pub struct ExportPage {
    pub items: Vec<StoredObject>,
    /// Objects the principal reads but that may not leave the node on its
    /// behalf (TLP:RED; another organisation's objects without TLP).
    pub withheld: usize,
    pub more: bool,
    /// Where the next page starts.
    pub resume_after: Option<Timestamp>,
}

impl Node {
    /// A page of `collection` as `principal` may take it off the node. The
    /// operator (a node administrator without an organisation) exports
    /// everything: a backup; anyone else exports what it reads, less what
    /// may not leave the node (`sharing::onward::may_leave_node`).
    pub fn export_page(
        &self,
        principal: &Principal,
        collection: &Collection,
        query: &ObjectQuery,
    ) -> Result<ExportPage> {
        let backup = principal.node_admin && principal.org().is_none();
        // A backup holds everything; an export as a user is what it reads.
        let expired = if backup {
            Expired::Include
        } else {
            Expired::AsCollection
        };
        let page = self.read_with(principal, collection, query, expired)?;
        let mut out = ExportPage {
            more: page.more,
            resume_after: page.resume_after,
            ..Default::default()
        };
        for o in page.items {
            if backup || may_leave_node(principal.org(), o.tlp, o.origin_org) {
                out.items.push(o);
            } else {
                out.withheld += 1;
            }
        }
        Ok(out)
    }
}
