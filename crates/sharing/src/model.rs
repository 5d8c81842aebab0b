//! Who is who: organisations, users, roles, communities, collection owners.

use std::str::FromStr;

use crate::Tlp;

pub type OrgId = i64;
pub type UserId = i64;
pub type CommunityId = i64;

/// What a user may do inside their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages the organisation's users; reads and writes.
    Admin,
    /// Reads and writes.
    Analyst,
    /// Reads only.
    Reader,
}

impl Role {
    pub fn can_write(self) -> bool {
        !matches!(self, Role::Reader)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Reader => "reader",
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role; use admin, analyst or reader")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        match s {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "reader" => Ok(Role::Reader),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

/// Who a collection belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A node-level collection: reached only through tokens granted on it
    /// (the TAXII-core model) and by node administrators.
    Node,
    Org(OrgId),
    Community(CommunityId),
}

/// What the policy needs to know about a collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionPolicy {
    /// The TAXII collection id.
    pub id: String,
    pub owner: Owner,
    /// TLP of objects that carry no TLP marking; `None`: only the
    /// originating organisation sees them.
    pub default_tlp: Option<Tlp>,
    /// Unauthenticated readers see its TLP:CLEAR objects.
    pub public: bool,
}

/// Rights on one collection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

/// How a principal reads a collection, which decides which TLP levels reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReaderKind {
    /// Node administrator: sees everything.
    Admin,
    /// A user of an organisation that owns the collection or belongs to its community.
    Member,
    /// A node-level token granted read on the collection.
    Service,
    /// Anyone reading a public collection from outside its audience.
    Public,
}

/// The TLP of objects posted without a TLP marking into a collection of
/// `owner`: the one asked for; else GREEN for node-level collections (the
/// TAXII-core behaviour: every token granted read sees unmarked objects);
/// else none, so that unmarked objects reach only their source.
pub fn default_tlp_for(owner: Owner, asked: Option<Tlp>) -> Option<Tlp> {
    match (asked, owner) {
        (Some(t), _) => Some(t),
        (None, Owner::Node) => Some(Tlp::Green),
        (None, _) => None,
    }
}
