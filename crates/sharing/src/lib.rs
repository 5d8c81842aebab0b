//! Who may see what.
//!
//! Organisations, users and communities ([`model`]), the party behind a
//! request ([`Principal`]), TLP 2.0 ([`Tlp`]), the audience of every object
//! ([`audience`]), onward sharing ([`onward`]), pseudonymous sources
//! ([`pseudonym`]), recipients named from a plain TAXII POST
//! ([`recipients`]) and API tokens ([`token`]).
//!
//! Every path that accepts or returns objects decides through this crate;
//! the store only intersects the key sets computed here. No I/O.

pub mod administration;
pub mod audience;
pub mod authorship;
pub mod console;
pub mod model;
pub mod onward;
pub mod principal;
pub mod pseudonym;
pub mod recipients;
pub mod token;

pub use audience::{
    AudienceKey, CopyReach, Origin, ReadKeys, Recipients, Refusal,
    earlier_copy_reaches_every_reader, effective_tlp, object_keys, read_keys,
};
pub use model::{Access, CollectionPolicy, CommunityId, OrgId, Owner, ReaderKind, Role, UserId};
pub use principal::{Member, Principal};
/// TLP levels are STIX's: one type across the workspace.
pub use stix::Tlp;
