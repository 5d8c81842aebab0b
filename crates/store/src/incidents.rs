//! Incidents recorded on the node: the record as its organisation wrote it,
//! every earlier version, and the log of reports made to authorities.
//!
//! The store keeps text and numbers; it does not read the record (that is
//! `reporting`'s job) and it does not decide who may see an incident (that
//! is `node`'s). Every query is served by an index: listing one
//! organisation's incidents never reads another organisation's rows.
//!
//! Times are kept to whole milliseconds and a new version's `updated` is
//! always at least a millisecond after the previous one, so that each
//! version exports as a distinct STIX `modified`.

use sharing::{OrgId, UserId};
use stix::Timestamp;

use crate::{AuditEntry, Result};

/// An incident as stored: the current version of its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredIncident {
    /// A UUID, assigned by the node.
    pub id: String,
    /// The organisation the incident belongs to.
    pub org: OrgId,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
    pub updated: Timestamp,
    pub updated_by: Option<UserId>,
    /// 1 for the record as first submitted, +1 for every change.
    pub version: i64,
    /// The record's JSON text.
    pub record: String,
}

#[derive(Clone, Debug)]
pub struct NewIncident {
    pub id: String,
    pub org: OrgId,
    pub created_by: Option<UserId>,
    pub record: String,
}

/// One version of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentVersion {
    pub version: i64,
    pub recorded_at: Timestamp,
    pub recorded_by: Option<UserId>,
    /// `ORG/USER` of `recorded_by`, for display.
    pub recorded_by_name: Option<String>,
    pub record: String,
}

/// A report made to an authority, as the node is told of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubmission {
    pub regime: String,
    pub stage: String,
    pub submitted_at: Timestamp,
    /// The authority's reference (case number, receipt id), if any.
    pub reference: Option<String>,
    pub recorded_by: Option<UserId>,
}

/// A recorded submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmissionRecord {
    pub incident: String,
    pub regime: String,
    pub stage: String,
    pub submitted_at: Timestamp,
    pub reference: Option<String>,
    pub recorded_by: Option<UserId>,
    /// `ORG/USER` of `recorded_by`, for display.
    pub recorded_by_name: Option<String>,
    pub recorded_at: Timestamp,
    /// The record version this submission produced.
    pub version: i64,
}

/// A change to an incident's record, applied only if the stored version is
/// still `expected_version` (so that two writers never lose each other's
/// changes).
#[derive(Clone, Debug)]
pub struct RecordChange<'a> {
    pub id: &'a str,
    pub expected_version: i64,
    pub record: &'a str,
    pub by: Option<UserId>,
}

/// Persistence of incidents.
pub trait IncidentStore: Send + Sync + 'static {
    /// Stores a new incident as version 1, with its audit entry.
    fn create_incident(&self, new: &NewIncident, audit: &AuditEntry) -> Result<StoredIncident>;
    fn incident(&self, id: &str) -> Result<Option<StoredIncident>>;
    /// One organisation's incidents (`None`: every organisation's), most
    /// recently updated first.
    fn incidents(&self, org: Option<OrgId>) -> Result<Vec<StoredIncident>>;
    /// Replaces the record, with its audit entry.
    /// [`crate::StoreError::Conflict`] when the stored version is no longer
    /// `change.expected_version`; [`crate::StoreError::NotFound`] when there
    /// is no such incident.
    fn update_incident(
        &self,
        change: &RecordChange<'_>,
        audit: &AuditEntry,
    ) -> Result<StoredIncident>;
    /// Replaces the record and logs the submission (and the audit entry), in
    /// one transaction.
    fn record_submission(
        &self,
        change: &RecordChange<'_>,
        submission: &NewSubmission,
        audit: &AuditEntry,
    ) -> Result<(StoredIncident, SubmissionRecord)>;
    /// An incident's submissions, in the order they were recorded.
    fn submissions(&self, incident: &str) -> Result<Vec<SubmissionRecord>>;
    /// Every version of an incident's record, oldest first.
    fn incident_versions(&self, incident: &str) -> Result<Vec<IncidentVersion>>;
}
