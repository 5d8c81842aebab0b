//! A validated STIX object: its exact bytes plus the facts the layers above
//! index and decide on.

use crate::Timestamp;
use crate::validate::Problem;

/// The broad category of a STIX type, which decides how it is versioned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// STIX Domain Object: versioned by `modified`.
    Domain,
    /// STIX Relationship Object (`relationship`, `sighting`): versioned by `modified`.
    Relationship,
    /// STIX Cyber-observable Object: not versioned.
    Observable,
    /// `marking-definition`: versioned by `created` (it has no `modified`).
    MarkingDefinition,
    /// `language-content` and `extension-definition`: versioned by `modified`.
    Meta,
    /// A type this node has no definition for (custom object).
    Custom,
}

/// One accepted STIX object.
#[derive(Clone, Debug)]
pub struct StixObject {
    /// The object exactly as received.
    pub raw: Box<str>,
    pub id: String,
    pub object_type: String,
    pub kind: ObjectKind,
    /// `spec_version` as sent; SCOs may omit it (it then means 2.1).
    pub spec_version: Option<String>,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    pub created_by_ref: Option<String>,
    /// `object_marking_refs`.
    pub object_marking_refs: Vec<String>,
    /// Every `marking_ref` of `granular_markings`.
    pub granular_marking_refs: Vec<String>,
    /// Every identifier the object points at through a `*_ref` or `*_refs`
    /// property, at any depth (markings excluded), deduplicated, in first-seen order.
    pub references: Vec<String>,
    /// What is allowed but deprecated (such as the observable container of
    /// observed-data), for tools that want to tell the sender; usually empty.
    pub warnings: Vec<Problem>,
}

impl StixObject {
    /// The version a TAXII server reports: `modified`, else `created`.
    /// `None` means unversioned: the store uses the `date_added` instead.
    pub fn version(&self) -> Option<Timestamp> {
        self.modified.or(self.created)
    }

    /// The `spec_version` the object follows (`2.1` when an SCO leaves it out).
    pub fn effective_spec_version(&self) -> &str {
        self.spec_version.as_deref().unwrap_or("2.1")
    }
}
