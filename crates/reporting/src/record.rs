//! The unified incident record: one JSON document per incident, from which
//! every regime's deadlines and notifications are derived.
//!
//! Field names follow the unified model of `research/regimes.md`; the
//! published JSON Schema is `schema/incident.schema.json`. Every field is
//! optional at parse time: an incomplete record is normal while an incident
//! unfolds, and what each report still lacks is part of the assessment.
//! Unknown fields are rejected so that a misspelt field is not silently
//! ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::{Day, Moment};
use crate::validate::{FieldError, InvalidRecord};
use crate::vocab::{
    CraEvent, DoraCriterion, DoraType, GdprRisk, GdprRole, HipaaRole, IncidentType, Nis2Class,
    SecFiler, Severity, Tlp, TriState, UsCiSector,
};

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Incident {
    /// Optional pointer to the JSON Schema, for editors.
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The STIX id (`incident--<uuid>`) used when the incident is exported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub entity: Entity,

    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurred: Option<Occurred>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aware_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_data_aware_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classified_major_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasonable_belief_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ransom_paid_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub materiality_determined_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovered_at: Option<Day>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_available_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Moment>,

    /// When each report was submitted: regime id → stage id → instant.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub submissions: BTreeMap<String, BTreeMap<String, Moment>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authority_requests: Vec<AuthorityRequest>,

    #[serde(skip_serializing_if = "Option::is_none")]
    pub significant: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substantial: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub material: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cra_event: Option<CraEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gdpr_risk: Option<GdprRisk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsecured_phi: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phi_low_probability: Option<bool>,

    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::vocab::tri_state_from_any"
    )]
    pub suspected_malicious: Option<TriState>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::vocab::tri_state_from_any"
    )]
    pub cross_border: Option<TriState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub member_states_affected: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub member_states_available: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_assessment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nature_scope_timing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub material_impact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_type: Option<IncidentType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub iocs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttps: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_defenses: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threat_actors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affected_systems: Vec<AffectedSystem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operational_impact: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub info_categories_accessed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_subjects: Option<Population>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Population>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likely_consequences: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub measures_taken: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_measures: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_update: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Tlp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_reasons: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dora_classification: Option<DoraClassification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dora_ref_entity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dora_ref_authority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub third_party_origin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bcp_activated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_financial_impact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs_losses: Option<CostsLosses>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ransom: Option<Ransom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_undetermined_statement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ag_delay_until: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub individuals_affected: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub residents_by_state: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phi_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ongoing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tlp: Option<Tlp>,
    /// Further facts a rule file may ask for (a national variant's extra
    /// field), so that a new rule needs no change to this model.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Entity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lei: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_of_incorporation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trade_names: Vec<String>,
    /// EU Member States (ISO 3166-1 alpha-2) where the entity is established,
    /// main establishment first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub eu_establishments: Vec<String>,
    /// IANA time zone for showing deadlines on the entity's wall clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nis2_class: Option<Nis2Class>,
    #[serde(skip_serializing_if = "is_false")]
    pub trust_service_provider: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dora_type: Option<DoraType>,
    /// The competent authority withdrew the weekend relief (RTS 2025/301 Art. 5(6)).
    #[serde(skip_serializing_if = "is_false")]
    pub dora_relief_withdrawn: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub pde_manufacturer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gdpr_role: Option<GdprRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub us_ci_sector: Option<UsCiSector>,
    #[serde(skip_serializing_if = "is_false")]
    pub circia_covered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_filer: Option<SecFiler>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hipaa_role: Option<HipaaRole>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Occurred {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Moment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRequest {
    pub regime: String,
    pub stage: String,
    pub requested_at: Moment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Moment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedSystem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Population {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approx: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount: f64,
    /// ISO 4217 code, or a crypto-asset ticker for ransom amounts.
    pub currency: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoraClassification {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub criteria_met: Vec<DoraCriterion>,
    /// Number of clients affected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<u64>,
    /// Number of financial counterparts affected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterparts: Option<u64>,
    /// Share of transactions affected, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions_pct: Option<f64>,
    /// Duration of the incident, in hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Service downtime, in hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downtime: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub economic: Option<Money>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostsLosses {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indirect: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recoveries: Option<Money>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ransom {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demand: Option<Money>,
    /// Currency or commodity of the payment (`bitcoin`, `monero`, `USD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<String>,
    /// Payment instructions, e.g. the wallet address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

impl Incident {
    /// Parses a record and checks what can be checked without the rule set.
    ///
    /// A JSON or type error stops at the first problem (with its field path
    /// and position); consistency problems are all collected.
    pub fn from_json(text: &str) -> Result<Incident, InvalidRecord> {
        let incident = Incident::parse(text)?;
        let errors = crate::validate::consistency_errors(&incident);
        if errors.is_empty() {
            Ok(incident)
        } else {
            Err(InvalidRecord { errors })
        }
    }

    /// Parses a record without the consistency checks of [`Incident::from_json`].
    pub fn parse(text: &str) -> Result<Incident, InvalidRecord> {
        // Some editors start UTF-8 files with a byte-order mark; RFC 8259
        // lets a parser ignore it, and serde_json would stop at column 1.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // serde would read an array as the struct's fields in order and
        // complain about `[0]`; name the real problem instead.
        let found = match text.trim_start().bytes().next() {
            Some(b'[') => Some("an array"),
            Some(b'"') => Some("a string"),
            Some(b'-' | b'0'..=b'9') => Some("a number"),
            Some(b't' | b'f') if text.trim() == "true" || text.trim() == "false" => {
                Some("a boolean")
            }
            Some(b'n') if text.trim() == "null" => Some("null"),
            _ => None,
        };
        if let Some(found) = found {
            return Err(InvalidRecord {
                errors: vec![FieldError {
                    path: String::new(),
                    message: format!("the record must be a JSON object ({{ ... }}), not {found}"),
                }],
            });
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let incident: Incident =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let segments: Vec<serde_path_to_error::Segment> =
                    error.path().iter().cloned().collect();
                let path = field_path(error.path());
                let inner = error.into_inner();
                let first = FieldError {
                    path,
                    message: format!(
                        "{} (line {}, column {})",
                        strip_position(&inner.to_string()),
                        inner.line(),
                        inner.column()
                    ),
                };
                InvalidRecord {
                    errors: further_errors(text, first, segments),
                }
            })?;
        deserializer.end().map_err(|error| InvalidRecord {
            errors: vec![FieldError {
                path: String::new(),
                message: format!("trailing content after the record: {error}"),
            }],
        })?;
        Ok(incident)
    }

    /// The record as a JSON value, the form rule conditions read.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// "." is the document itself; "?" is a position serde could not attribute
/// to a field (truncated input).
fn field_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." || text == "?" {
        String::new()
    } else {
        text
    }
}

/// serde stops at the first wrong value. So that a user can fix every
/// problem in one pass, set aside what was wrong and try again, up to a
/// bound: a field with a wrong value is removed, an unknown field too; a
/// wrong element takes its whole list with it, so that later indices in the
/// messages stay true. Syntax errors leave nothing to retry.
fn further_errors(
    text: &str,
    first: FieldError,
    mut segments: Vec<serde_path_to_error::Segment>,
) -> Vec<FieldError> {
    let mut errors = vec![first];
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return errors;
    };
    for _ in 0..64 {
        let unknown_field = errors
            .last()
            .and_then(|e| e.message.strip_prefix("unknown field `"))
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string);
        if !set_aside(&mut value, &segments, unknown_field.as_deref()) {
            break;
        }
        match serde_path_to_error::deserialize::<_, Incident>(&value) {
            Ok(_) => break,
            Err(error) => {
                segments = error.path().iter().cloned().collect();
                let path = field_path(error.path());
                let message = strip_position(&error.into_inner().to_string()).to_string();
                if errors
                    .iter()
                    .any(|e| e.path == path && e.message == message)
                {
                    break;
                }
                errors.push(FieldError { path, message });
            }
        }
    }
    errors
}

/// Removes what the error at `segments` is about from `value`; false when
/// there is nothing to remove (the document itself was wrong).
fn set_aside(
    value: &mut serde_json::Value,
    segments: &[serde_path_to_error::Segment],
    unknown_field: Option<&str>,
) -> bool {
    use serde_path_to_error::Segment;
    let mut node = value;
    // With a `Value`, serde names the unknown key in the path itself.
    let named_in_path = matches!(
        (segments.last(), unknown_field),
        (Some(Segment::Map { key }), Some(field)) if key == field
    );
    if let Some(field) = unknown_field.filter(|_| !named_in_path) {
        for segment in segments {
            node = match (segment, node) {
                (Segment::Map { key }, serde_json::Value::Object(map)) => match map.get_mut(key) {
                    Some(next) => next,
                    None => return false,
                },
                (Segment::Seq { index }, serde_json::Value::Array(items)) => {
                    match items.get_mut(*index) {
                        Some(next) => next,
                        None => return false,
                    }
                }
                _ => return false,
            };
        }
        return node
            .as_object_mut()
            .is_some_and(|map| map.remove(field).is_some());
    }
    // The wrong value, or the list holding it.
    let cut = segments
        .iter()
        .position(|s| matches!(s, Segment::Seq { .. }))
        .unwrap_or(segments.len());
    let Some((last, parents)) = segments[..cut].split_last() else {
        return false;
    };
    for segment in parents {
        node = match (segment, node) {
            (Segment::Map { key }, serde_json::Value::Object(map)) => match map.get_mut(key) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Map { key }, serde_json::Value::Object(map)) => map.remove(key).is_some(),
        _ => false,
    }
}

/// serde_json appends " at line L column C" itself; the caller adds the
/// position once, in its own words.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}
