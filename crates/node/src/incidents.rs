//! Incidents recorded on the node: an organisation records an incident
//! once, keeps the record up to date, records each report it makes to an
//! authority, and shares the shareable facts as STIX into a collection.
//!
//! Who sees what: an incident is visible only to the users of the
//! organisation it belongs to (readers read; analysts and administrators
//! change it) and to node administrators. Anyone else is told that it does
//! not exist, never that it is forbidden, so that its existence is not
//! disclosed. Sharing publishes the STIX export through [`Node::ingest`] as
//! the sharing user, so TLP, recipients, onward rules and the audit apply to
//! it exactly as to any other object; only the reporting organisation's own
//! users may share, since the export goes out as that organisation's.

use jiff::Timestamp;
use reporting::stix_export::{ENTENTE_IDENTITY_ID, ExportOptions, export_bundle};
use reporting::{Assessment, DeadlineStatus, FieldError, Incident, InvalidRecord, Moment, Tlp};
use serde::Serialize;
use serde_json::Value;
use sharing::Principal;
use sharing::recipients::NamedRecipients;
use store::{
    Collection, NewIncident, NewSubmission, RecordChange, StoreError, StoredIncident,
    SubmissionRecord,
};

use crate::{Need, Node, NodeError, Outcome};

/// Why an incident use case failed.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    /// Absent, or not visible to this principal (the two read alike).
    #[error("{0}")]
    NotFound(String),
    /// Visible, but this principal may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The record does not parse or is inconsistent: every problem, with
    /// its field path in the record.
    #[error("{0}")]
    InvalidRecord(InvalidRecord),
    /// A field of the request (not of the record) is wrong: `regime`,
    /// `submitted_at`, `recipient_orgs[1]`, …
    #[error("{}", problem_list(.0))]
    InvalidRequest(Vec<FieldError>),
    /// The caller changed an older version than the stored one.
    #[error(
        "incident {id} is at version {current}, not {expected}: read it again and reapply the change"
    )]
    Stale {
        id: String,
        expected: i64,
        current: i64,
    },
    /// The request contradicts what is recorded, or raced another change.
    #[error("{0}")]
    Conflict(String),
    /// The sharing policy refused the export.
    #[error("{0}")]
    Refused(String),
    #[error(
        "this node keeps no incidents (it was started without an incident store); this is a configuration error of the node"
    )]
    Unavailable,
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn problem_list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn invalid(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// An incident as its organisation sees it.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentView {
    pub id: String,
    pub organisation: String,
    pub version: i64,
    pub created: Moment,
    pub updated: Moment,
    /// The id of the STIX `incident` the record is shared as: the record's
    /// own `id`, else `incident--` and this incident's id.
    pub stix_id: String,
    pub record: Value,
    pub assessment: Assessment,
    /// Reports recorded through the node, oldest first.
    pub submissions: Vec<SubmissionView>,
    /// Every version of the record: when, and by whom.
    pub history: Vec<VersionSummary>,
    /// What the caller should know about the change just made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SubmissionView {
    pub regime: String,
    pub stage: String,
    pub submitted_at: Moment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `ORG/USER`; absent when the node operator recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
    pub recorded_at: Moment,
    /// The record version the submission produced.
    pub version: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionSummary {
    pub version: i64,
    pub recorded_at: Moment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
}

/// One version of a record, in full.
#[derive(Clone, Debug, Serialize)]
pub struct VersionView {
    pub version: i64,
    pub recorded_at: Moment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
    pub record: Value,
}

/// A stage's deadline, as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeadlineItem {
    pub regime: String,
    pub stage: String,
    pub name: String,
    pub due: Moment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_local: Option<String>,
    pub deadline_status: DeadlineStatus,
    pub recipient: String,
    /// Required fields the report still lacks.
    pub missing: Vec<String>,
}

/// An incident in a list: what is due next and what is overdue.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentSummary {
    pub id: String,
    pub organisation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub version: i64,
    pub updated: Moment,
    pub applicable_regimes: Vec<String>,
    /// The earliest deadline not yet met (overdue or upcoming).
    pub next_deadline: Option<DeadlineItem>,
    /// Unsubmitted stages past their deadline, earliest first.
    pub overdue: Vec<DeadlineItem>,
    /// Unsubmitted stages still within their deadline, earliest first.
    pub upcoming: Vec<DeadlineItem>,
    /// Why the record could not be assessed (the rules changed since it
    /// was stored); the other fields are then empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IncidentList {
    pub assessed_at: Moment,
    pub incidents: Vec<IncidentSummary>,
}

/// A report made to an authority.
#[derive(Clone, Debug)]
pub struct SubmissionRequest {
    pub regime: String,
    pub stage: String,
    pub submitted_at: Moment,
    pub reference: Option<String>,
}

/// A deadline that was provisional (counted from a report not yet made)
/// and no longer is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FirmedDeadline {
    pub regime: String,
    pub stage: String,
    pub provisional_due: Option<Moment>,
    pub due: Option<Moment>,
    pub deadline_status: DeadlineStatus,
}

#[derive(Clone, Debug, Serialize)]
pub struct SubmissionOutcome {
    pub submission: SubmissionView,
    /// Deadlines this submission turned from provisional into firm ones.
    pub firmed: Vec<FirmedDeadline>,
    pub incident: IncidentView,
}

/// Where and how to share an incident.
#[derive(Clone, Debug, Default)]
pub struct ShareRequest {
    /// Collection id (or alias).
    pub collection: String,
    /// Default: the record's `tlp`, else TLP:AMBER+STRICT.
    pub tlp: Option<Tlp>,
    /// Organisations (names or identity ids) the AMBER or RED export is for;
    /// none: the collection's members.
    pub recipient_orgs: Vec<String>,
    /// Users (`ORG/USER`) a RED export is for.
    pub recipient_users: Vec<String>,
    /// Name the reporting entity in the export.
    pub identify_entity: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct SharedObject {
    pub id: String,
    /// `stored`, `duplicate` or `refused`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShareOutcome {
    pub incident: String,
    pub version: i64,
    pub stix_id: String,
    pub collection: String,
    pub tlp: String,
    /// False when this version was already in the collection.
    pub shared: bool,
    pub objects: Vec<SharedObject>,
}

/// What a use case needs to do with an incident.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Intent {
    Read,
    Change,
}

/// How far in the future a submission may be dated (clock skew between the
/// reporter's machine and the node).
const SUBMISSION_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

fn moment(t: stix::Timestamp) -> Moment {
    Moment(Timestamp::from_microsecond(t.as_micros()).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn stix_timestamp(m: Moment) -> stix::Timestamp {
    stix::Timestamp::from_micros(m.0.as_microsecond())
}

fn record_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The STIX id an incident is shared as.
fn stix_id_of(incident: &Incident, stored: &StoredIncident) -> String {
    incident
        .id
        .clone()
        .unwrap_or_else(|| format!("incident--{}", stored.id))
}

fn deadline_item(
    regime: &reporting::RegimeAssessment,
    stage: &reporting::StageAssessment,
) -> Option<DeadlineItem> {
    Some(DeadlineItem {
        regime: regime.id.clone(),
        stage: stage.id.clone(),
        name: stage.name.clone(),
        due: stage.due?,
        due_local: stage.due_local.clone(),
        deadline_status: stage.deadline_status,
        recipient: stage.recipient.clone(),
        missing: stage.missing.clone(),
    })
}

/// Stages whose deadline was provisional in `before` and is not in `after`.
fn firmed(before: &Assessment, after: &Assessment) -> Vec<FirmedDeadline> {
    let mut out = Vec::new();
    for regime in &after.regimes {
        for stage in &regime.stages {
            let was = before.regime(&regime.id).and_then(|r| r.stage(&stage.id));
            if let Some(was) = was
                && was.deadline_status == DeadlineStatus::Provisional
                && stage.deadline_status != DeadlineStatus::Provisional
            {
                out.push(FirmedDeadline {
                    regime: regime.id.clone(),
                    stage: stage.id.clone(),
                    provisional_due: was.due,
                    due: stage.due,
                    deadline_status: stage.deadline_status,
                });
            }
        }
    }
    out
}

impl Node {
    /// Incidents are kept only for users of an organisation and node
    /// administrators acting with their whole rights: a token narrowed to
    /// some collections reaches no incident.
    fn incident_desk(&self, principal: &Principal) -> Result<(), IncidentError> {
        if principal.is_scoped() {
            return Err(IncidentError::Forbidden(
                "this token is narrowed to some collections and reaches no incidents; use a token of the user without --read/--write".into(),
            ));
        }
        Ok(())
    }

    /// Loads an incident if the principal may see it (and change it, for
    /// [`Intent::Change`]); one that it may not see reads as absent.
    fn incident_for(
        &self,
        principal: &Principal,
        id: &str,
        intent: Intent,
    ) -> Result<StoredIncident, IncidentError> {
        let hidden = || {
            IncidentError::NotFound(format!(
                "incident {id} does not exist or is not visible to you"
            ))
        };
        self.incident_desk(principal)?;
        let stored = self.store.incident(id)?.ok_or_else(hidden)?;
        if principal.node_admin {
            return Ok(stored);
        }
        match &principal.member {
            Some(member) if member.org == stored.org => {
                if intent == Intent::Change && !member.role.can_write() {
                    return Err(IncidentError::Forbidden(format!(
                        "readers may read incident {id} but not change or share it; ask an analyst or administrator of your organisation"
                    )));
                }
                Ok(stored)
            }
            _ => Err(hidden()),
        }
    }

    /// Parses, checks and assesses a record.
    fn checked(&self, text: &str, at: Timestamp) -> Result<(Incident, Assessment), IncidentError> {
        let rules = &self.rules;
        let incident =
            reporting::parse_record(rules, text).map_err(IncidentError::InvalidRecord)?;
        let assessment =
            reporting::assess(rules, &incident, at).map_err(IncidentError::InvalidRecord)?;
        Ok((incident, assessment))
    }

    fn org_name(&self, org: sharing::OrgId) -> Result<String, IncidentError> {
        Ok(self
            .store
            .org_by_id(org)?
            .map_or_else(|| format!("organisation {org}"), |o| o.name))
    }

    fn view(
        &self,
        stored: StoredIncident,
        incident: &Incident,
        assessment: Assessment,
        notes: Vec<String>,
    ) -> Result<IncidentView, IncidentError> {
        let submissions = self
            .store
            .submissions(&stored.id)?
            .into_iter()
            .map(submission_view)
            .collect();
        let history = self
            .store
            .incident_versions(&stored.id)?
            .into_iter()
            .map(|v| VersionSummary {
                version: v.version,
                recorded_at: moment(v.recorded_at),
                recorded_by: v.recorded_by_name,
            })
            .collect();
        Ok(IncidentView {
            organisation: self.org_name(stored.org)?,
            version: stored.version,
            created: moment(stored.created),
            updated: moment(stored.updated),
            stix_id: stix_id_of(incident, &stored),
            record: record_json(&stored.record),
            assessment,
            submissions,
            history,
            notes,
            id: stored.id,
        })
    }

    /// Records a new incident for the principal's organisation.
    pub fn create_incident(
        &self,
        principal: &Principal,
        record: &str,
        at: Timestamp,
    ) -> Result<IncidentView, IncidentError> {
        self.incident_desk(principal)?;
        let Some(member) = &principal.member else {
            return Err(IncidentError::Forbidden(
                "an incident belongs to an organisation: record it as one of its users (a user's API token, or entente incident create --as ORG/USER)".into(),
            ));
        };
        if !member.role.can_write() {
            return Err(IncidentError::Forbidden(
                "readers may not record incidents; ask an analyst or administrator of your organisation".into(),
            ));
        }
        let (incident, assessment) = self.checked(record, at)?;
        let id = uuid::Uuid::new_v4().to_string();
        let entry = Node::entry(
            principal,
            "incident-create",
            None,
            vec![id.clone()],
            "version 1".into(),
        );
        let stored = self.store.create_incident(
            &NewIncident {
                id,
                org: member.org,
                created_by: Some(member.user),
                record: record.to_string(),
            },
            &entry,
        )?;
        self.view(stored, &incident, assessment, Vec::new())
    }

    /// Replaces an incident's record. With `expected_version`, only if that
    /// is still the stored version. An identical record changes nothing.
    pub fn update_incident(
        &self,
        principal: &Principal,
        id: &str,
        record: &str,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<IncidentView, IncidentError> {
        let stored = self.incident_for(principal, id, Intent::Change)?;
        if let Some(expected) = expected_version
            && expected != stored.version
        {
            return Err(IncidentError::Stale {
                id: id.to_string(),
                expected,
                current: stored.version,
            });
        }
        let (incident, assessment) = self.checked(record, at)?;
        if serde_json::from_str::<Value>(record).ok() == serde_json::from_str(&stored.record).ok() {
            let note = format!(
                "the record is the same as version {}; nothing changed",
                stored.version
            );
            return self.view(stored, &incident, assessment, vec![note]);
        }
        let mut notes = Vec::new();
        if let Ok(previous) = Incident::parse(&stored.record) {
            for (regime, stages) in &previous.submissions {
                for (stage, at) in stages {
                    if incident
                        .submissions
                        .get(regime)
                        .and_then(|s| s.get(stage))
                        .is_none()
                    {
                        notes.push(format!(
                            "submissions.{regime}.{stage} ({at}) is not in the new record: that report now counts as not made. Put it back in the record if it was made."
                        ));
                    }
                }
            }
        }
        let entry = Node::entry(
            principal,
            "incident-update",
            None,
            vec![stored.id.clone()],
            format!("version {}", stored.version + 1),
        );
        let updated = self
            .store
            .update_incident(
                &RecordChange {
                    id,
                    expected_version: stored.version,
                    record,
                    by: principal.user_id(),
                },
                &entry,
            )
            .map_err(raced)?;
        self.view(updated, &incident, assessment, notes)
    }

    /// The incidents the principal may see, each with what is overdue and
    /// what is due next at `at`, the most pressing first.
    pub fn list_incidents(
        &self,
        principal: &Principal,
        at: Timestamp,
    ) -> Result<IncidentList, IncidentError> {
        self.incident_desk(principal)?;
        let rows = if principal.node_admin {
            self.store.incidents(None)?
        } else if let Some(org) = principal.org() {
            self.store.incidents(Some(org))?
        } else {
            Vec::new()
        };
        let mut names = std::collections::HashMap::new();
        let mut incidents = Vec::with_capacity(rows.len());
        for stored in rows {
            let organisation = match names.get(&stored.org) {
                Some(name) => String::clone(name),
                None => {
                    let name = self.org_name(stored.org)?;
                    names.insert(stored.org, name.clone());
                    name
                }
            };
            incidents.push(self.summary(stored, organisation, at));
        }
        incidents.sort_by(|a, b| {
            let due = |s: &IncidentSummary| s.next_deadline.as_ref().map(|d| d.due);
            match (due(a), due(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| b.updated.cmp(&a.updated))
        });
        Ok(IncidentList {
            assessed_at: Moment(at),
            incidents,
        })
    }

    fn summary(
        &self,
        stored: StoredIncident,
        organisation: String,
        at: Timestamp,
    ) -> IncidentSummary {
        let mut summary = IncidentSummary {
            id: stored.id.clone(),
            organisation,
            title: None,
            version: stored.version,
            updated: moment(stored.updated),
            applicable_regimes: Vec::new(),
            next_deadline: None,
            overdue: Vec::new(),
            upcoming: Vec::new(),
            problem: None,
        };
        let (incident, assessment) = match self.checked(&stored.record, at) {
            Ok(assessed) => assessed,
            Err(e) => {
                summary.problem = Some(e.to_string());
                return summary;
            }
        };
        summary.title = incident.title.clone();
        for regime in assessment.regimes.iter().filter(|r| r.applies) {
            summary.applicable_regimes.push(regime.id.clone());
            for stage in &regime.stages {
                if stage.submitted_at.is_some() {
                    continue;
                }
                let Some(item) = deadline_item(regime, stage) else {
                    continue;
                };
                if stage.overdue {
                    summary.overdue.push(item);
                } else if matches!(
                    stage.deadline_status,
                    DeadlineStatus::Binding
                        | DeadlineStatus::Proposed
                        | DeadlineStatus::Provisional
                ) {
                    summary.upcoming.push(item);
                }
            }
        }
        summary.overdue.sort_by_key(|d| d.due);
        summary.upcoming.sort_by_key(|d| d.due);
        summary.next_deadline = summary
            .overdue
            .first()
            .or(summary.upcoming.first())
            .cloned();
        summary
    }

    /// An incident with its full assessment at `at`.
    pub fn show_incident(
        &self,
        principal: &Principal,
        id: &str,
        at: Timestamp,
    ) -> Result<IncidentView, IncidentError> {
        let stored = self.incident_for(principal, id, Intent::Read)?;
        let (incident, assessment) = self.checked(&stored.record, at)?;
        self.view(stored, &incident, assessment, Vec::new())
    }

    /// Every version of an incident's record, oldest first.
    pub fn incident_versions(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Vec<VersionView>, IncidentError> {
        let stored = self.incident_for(principal, id, Intent::Read)?;
        Ok(self
            .store
            .incident_versions(&stored.id)?
            .into_iter()
            .map(|v| VersionView {
                version: v.version,
                recorded_at: moment(v.recorded_at),
                recorded_by: v.recorded_by_name,
                record: record_json(&v.record),
            })
            .collect())
    }

    /// Records that the report for (`regime`, `stage`) was made: the
    /// record's `submissions.<regime>.<stage>` is set (a new version), the
    /// submission is logged, and deadlines counted from this report stop
    /// being provisional.
    pub fn record_submission(
        &self,
        principal: &Principal,
        id: &str,
        request: &SubmissionRequest,
        at: Timestamp,
    ) -> Result<SubmissionOutcome, IncidentError> {
        let stored = self.incident_for(principal, id, Intent::Change)?;
        let rules = &self.rules;
        let (regime, stage) = (request.regime.as_str(), request.stage.as_str());
        let mut problems = Vec::new();
        match rules.regime(regime) {
            None => problems.push(invalid(
                "regime",
                format!(
                    "`{regime}` is not a regime; known regimes: {}",
                    rules
                        .regimes()
                        .iter()
                        .map(|r| r.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(known) if known.stage(stage).is_none() => problems.push(invalid(
                "stage",
                format!(
                    "`{stage}` is not a stage of {regime}; its stages are: {}",
                    known
                        .stages
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(_) => {}
        }
        if let Some(reference) = &request.reference
            && (reference.trim().is_empty()
                || reference.chars().count() > 256
                || reference.chars().any(char::is_control))
        {
            problems.push(invalid(
                "reference",
                "a reference is 1-256 characters without control characters (or leave it out)",
            ));
        }
        let submitted_at = moment(stix_timestamp(request.submitted_at));
        let latest_allowed = Timestamp::now()
            .checked_add(SUBMISSION_SKEW)
            .unwrap_or(Timestamp::MAX);
        if submitted_at.0 > latest_allowed {
            problems.push(invalid(
                "submitted_at",
                format!("{submitted_at} is in the future; record a report once it has been made"),
            ));
        }
        if !problems.is_empty() {
            return Err(IncidentError::InvalidRequest(problems));
        }

        let (before_incident, before) = self.checked(&stored.record, at)?;
        if let Some(earlier) = before_incident
            .submissions
            .get(regime)
            .and_then(|s| s.get(stage))
        {
            return Err(IncidentError::Conflict(format!(
                "the {regime} {stage} report is already recorded as submitted at {earlier}; to correct that time, update the record's submissions.{regime}.{stage}"
            )));
        }
        let mut value: Value = serde_json::from_str(&stored.record).map_err(|e| {
            StoreError::Database(format!("incident {id}: the stored record is not JSON: {e}"))
        })?;
        set_submission(&mut value, regime, stage, submitted_at);
        let text = serde_json::to_string_pretty(&value).map_err(|e| {
            StoreError::Database(format!("incident {id}: cannot write the record: {e}"))
        })?;
        let submission_path = format!("submissions.{regime}.{stage}");
        let (after_incident, after) = self.checked(&text, at).map_err(|e| match e {
            // The submission's own problems are the request's.
            IncidentError::InvalidRecord(record) => IncidentError::InvalidRequest(
                record
                    .errors
                    .into_iter()
                    .map(|mut error| {
                        if error.path == submission_path {
                            error.path = "submitted_at".into();
                        }
                        error
                    })
                    .collect(),
            ),
            other => other,
        })?;
        let entry = Node::entry(
            principal,
            "incident-submission",
            None,
            vec![stored.id.clone()],
            format!(
                "{regime} {stage} submitted at {submitted_at}{}; version {}",
                request
                    .reference
                    .as_deref()
                    .map(|r| format!(" (reference {r})"))
                    .unwrap_or_default(),
                stored.version + 1
            ),
        );
        let (updated, logged) = self
            .store
            .record_submission(
                &RecordChange {
                    id,
                    expected_version: stored.version,
                    record: &text,
                    by: principal.user_id(),
                },
                &NewSubmission {
                    regime: regime.to_string(),
                    stage: stage.to_string(),
                    submitted_at: stix_timestamp(submitted_at),
                    reference: request.reference.clone(),
                    recorded_by: principal.user_id(),
                },
                &entry,
            )
            .map_err(raced)?;
        Ok(SubmissionOutcome {
            submission: submission_view(logged),
            firmed: firmed(&before, &after),
            incident: self.view(updated, &after_incident, after, Vec::new())?,
        })
    }

    /// Shares the incident's current version as a STIX 2.1 bundle into a
    /// collection, as the principal (who must belong to the incident's
    /// organisation). Sharing the same version again changes nothing.
    pub fn share_incident(
        &self,
        principal: &Principal,
        id: &str,
        request: &ShareRequest,
        at: Timestamp,
    ) -> Result<ShareOutcome, IncidentError> {
        let stored = self.incident_for(principal, id, Intent::Change)?;
        if principal.org() != Some(stored.org) {
            return Err(IncidentError::Forbidden(
                "only a user of the organisation the incident belongs to may share it: the export goes out as that organisation's, so the sharing policy can hold it to its rules".into(),
            ));
        }
        let (incident, assessment) = self.checked(&stored.record, at)?;
        let tlp = request.tlp.or(incident.tlp).unwrap_or(Tlp::AmberStrict);
        self.check_share_request(request, tlp)?;
        let collection = self.collection_to_share_into(principal, &request.collection)?;
        self.check_recipients_addressable(principal, &collection, request)?;

        let stix_id = stix_id_of(&incident, &stored);
        let mut exported = incident.clone();
        exported.id = Some(stix_id.clone());
        let options = ExportOptions {
            tlp,
            identify_entity: request.identify_entity,
            now: moment(stored.updated).0,
            created: Some(moment(stored.created).0),
        };
        let bundle = export_bundle(&exported, &assessment, &options);
        let objects = bundle_objects(bundle, &stored.created.truncated_to_millis().to_stix());
        let mut valid = Vec::new();
        let mut rejected = Vec::new();
        for (index, object) in objects.iter().enumerate() {
            match self.validator.validate_str(index, &object.to_string()) {
                Ok(o) => valid.push((index, o)),
                Err(r) => rejected.push(r),
            }
        }
        let recipients = NamedRecipients {
            organizations: request.recipient_orgs.clone(),
            users: request.recipient_users.clone(),
        };
        let report = self.ingest(principal, &collection, valid, rejected, &recipients)?;

        let mut shared = None;
        let mut listed = Vec::new();
        for o in &report.outcomes {
            let object_id = o.id.clone().unwrap_or_default();
            let (outcome, message) = match &o.outcome {
                Outcome::Stored(_) => ("stored", None),
                Outcome::Duplicate => ("duplicate", None),
                Outcome::Refused { message: why, .. } => ("refused", Some(why.clone())),
            };
            if object_id == stix_id {
                shared = Some(o.outcome.clone());
            }
            listed.push(SharedObject {
                id: object_id,
                outcome,
                message,
            });
        }
        let shared = match shared {
            Some(Outcome::Stored(_)) => true,
            Some(Outcome::Duplicate) => false,
            Some(Outcome::Refused { message: why, .. }) => {
                return Err(IncidentError::Refused(self.refusal_text(
                    &collection,
                    &stix_id,
                    &stored,
                    &why,
                )?));
            }
            None => {
                return Err(IncidentError::Refused(format!(
                    "the export of incident {id} produced no {stix_id} object; nothing was shared"
                )));
            }
        };
        let recipients_text =
            if request.recipient_orgs.is_empty() && request.recipient_users.is_empty() {
                String::new()
            } else {
                format!(
                    " for {}",
                    request
                        .recipient_orgs
                        .iter()
                        .chain(&request.recipient_users)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
        // The objects were written with their own `write` entry; this one
        // says which incident version they share.
        self.audit_event(Node::entry(
            principal,
            "incident-share",
            Some(&collection.id),
            vec![stored.id.clone(), stix_id.clone()],
            format!(
                "version {} at {}{recipients_text}{}",
                stored.version,
                tlp.marking_name(),
                if shared { "" } else { " (already shared)" }
            ),
        ))?;
        Ok(ShareOutcome {
            incident: stored.id,
            version: stored.version,
            stix_id,
            collection: collection.id,
            tlp: tlp.marking_name().to_string(),
            shared,
            objects: listed,
        })
    }

    /// The request's TLP and recipients fit together (`sharing`'s rule);
    /// whether each recipient may be named is decided at ingest, with the
    /// same answer for names that exist and names that do not.
    fn check_share_request(&self, request: &ShareRequest, tlp: Tlp) -> Result<(), IncidentError> {
        use sharing::recipients::{RecipientsMismatch, recipients_fit};
        let named_orgs = !request.recipient_orgs.is_empty();
        let named_users = !request.recipient_users.is_empty();
        match recipients_fit(tlp, named_orgs, named_users) {
            Ok(()) => Ok(()),
            Err(m @ RecipientsMismatch::NamedBelowAmber(_)) => Err(IncidentError::InvalidRequest(
                vec![invalid("tlp", m.to_string())],
            )),
            Err(m @ RecipientsMismatch::RedWithoutUsers) => Err(IncidentError::InvalidRequest(
                vec![invalid("recipient_users", m.to_string())],
            )),
        }
    }

    /// Every recipient named must be one the principal may address in
    /// `collection`: the same refusal, under the field that names it, for a
    /// name that exists elsewhere on the node and for one that does not.
    fn check_recipients_addressable(
        &self,
        principal: &Principal,
        collection: &Collection,
        request: &ShareRequest,
    ) -> Result<(), IncidentError> {
        let named = NamedRecipients {
            organizations: request.recipient_orgs.clone(),
            users: request.recipient_users.clone(),
        };
        match self.resolve_for(principal, collection, &named)? {
            Ok(_) => Ok(()),
            Err((field, index, refusal)) => Err(IncidentError::InvalidRequest(vec![invalid(
                &format!("{field}[{index}]"),
                refusal.to_string(),
            )])),
        }
    }

    /// A collection, by id or alias, the principal may write to.
    fn collection_to_share_into(
        &self,
        principal: &Principal,
        id_or_alias: &str,
    ) -> Result<Collection, IncidentError> {
        let (collection, _) = self.collection_for(principal, None, id_or_alias, Need::Write)?;
        Ok(collection)
    }

    /// Why the incident object was refused, in this use case's words.
    fn refusal_text(
        &self,
        collection: &Collection,
        stix_id: &str,
        stored: &StoredIncident,
        why: &str,
    ) -> Result<String, IncidentError> {
        let already_here = self
            .store
            .copies(&[stix_id.to_string()])?
            .iter()
            .any(|c| c.collection == collection.key);
        if already_here && why.contains("already stored") {
            return Ok(format!(
                "version {} of this incident is already in collection {} with other sharing choices (TLP, recipients or naming); update the incident to share a new version",
                stored.version, collection.id
            ));
        }
        Ok(format!(
            "the incident was not shared into collection {}: {why}",
            collection.id
        ))
    }
}

/// A store conflict on write means another change won the race.
fn raced(e: StoreError) -> IncidentError {
    match e {
        StoreError::Conflict(message) => IncidentError::Conflict(message),
        other => other.into(),
    }
}

fn submission_view(s: SubmissionRecord) -> SubmissionView {
    SubmissionView {
        regime: s.regime,
        stage: s.stage,
        submitted_at: moment(s.submitted_at),
        reference: s.reference,
        recorded_by: s.recorded_by_name,
        recorded_at: moment(s.recorded_at),
        version: s.version,
    }
}

/// Sets `submissions.<regime>.<stage>` in a record's JSON, creating the
/// maps it needs and leaving everything else as it was.
fn set_submission(record: &mut Value, regime: &str, stage: &str, at: Moment) {
    let Value::Object(fields) = record else {
        return;
    };
    let submissions = fields
        .entry("submissions")
        .or_insert_with(|| Value::Object(Default::default()));
    if !submissions.is_object() {
        *submissions = Value::Object(Default::default());
    }
    if let Value::Object(regimes) = submissions {
        let stages = regimes
            .entry(regime)
            .or_insert_with(|| Value::Object(Default::default()));
        if !stages.is_object() {
            *stages = Value::Object(Default::default());
        }
        if let Value::Object(stages) = stages {
            stages.insert(stage.to_string(), Value::String(at.to_string()));
        }
    }
}

/// The objects of an export to store: TLP marking definitions are left
/// out (every node and consumer knows them by id, and a copy stored by one
/// organisation would count as that organisation's). The incident and the
/// reporting entity's identity keep the incident's first `created` in
/// every version, as STIX requires.
fn bundle_objects(bundle: Value, created: &str) -> Vec<Value> {
    let Value::Object(mut bundle) = bundle else {
        return Vec::new();
    };
    let Some(Value::Array(objects)) = bundle.remove("objects") else {
        return Vec::new();
    };
    objects
        .into_iter()
        .filter(|o| {
            !(o["type"] == "marking-definition"
                && o["id"]
                    .as_str()
                    .is_some_and(|id| sharing::Tlp::from_marking(id).is_some()))
        })
        .map(|mut o| {
            let own = o["type"] == "incident"
                || (o["type"] == "identity" && o["id"] != ENTENTE_IDENTITY_ID);
            if own && let Value::Object(fields) = &mut o {
                fields.insert("created".into(), Value::String(created.to_string()));
            }
            o
        })
        .collect()
}
