//! Writes one stage's notification from the record: as structured JSON and
//! as a Markdown document with the regime's headings, marking every
//! required field that is still missing.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::assess::{Assessment, DeadlineStatus, StageAssessment, lookup};
use crate::record::Incident;
use crate::rules::{LegalStatus, Regime, RuleSet, Section};
use crate::schema;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("`{0}` is not a regime; known regimes: {1}")]
    UnknownRegime(String, String),
    #[error("`{stage}` is not a stage of {regime}; its stages are: {known}")]
    UnknownStage {
        regime: String,
        stage: String,
        known: String,
    },
    #[error("{regime} does not apply to this incident: {reason}")]
    NotApplicable { regime: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub regime: String,
    pub regime_name: String,
    pub stage: String,
    pub stage_name: String,
    pub article: String,
    pub legal_basis: String,
    pub legal_status: LegalStatus,
    pub recipient: String,
    pub due: Option<String>,
    pub due_local: Option<String>,
    pub deadline_status: DeadlineStatus,
    pub submitted_at: Option<String>,
    pub overdue: bool,
    /// False while a required field is missing.
    pub ready: bool,
    pub missing: Vec<String>,
    pub sections: Vec<RenderedSection>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedSection {
    pub heading: String,
    pub fields: Vec<RenderedField>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedField {
    pub path: String,
    pub label: String,
    pub required: bool,
    pub missing: bool,
    /// The required paths at or under `path` that are missing (a section
    /// may show `entity.contact` while `entity.contact.email` is required).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_paths: Vec<String>,
    pub value: Option<Value>,
}

/// `inner` is `path` itself or a field inside it.
fn at_or_under(inner: &str, path: &str) -> bool {
    inner
        .strip_prefix(path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Builds the notification for `regime_id`/`stage_id` from an assessment of
/// `incident` (so the deadline and gaps are the assessment's own).
pub fn notification(
    rules: &RuleSet,
    incident: &Incident,
    assessment: &Assessment,
    regime_id: &str,
    stage_id: &str,
) -> Result<Notification, RenderError> {
    let regime = rules.regime(regime_id).ok_or_else(|| {
        RenderError::UnknownRegime(
            regime_id.to_string(),
            rules
                .regimes()
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
    })?;
    let stage = regime
        .stage(stage_id)
        .ok_or_else(|| RenderError::UnknownStage {
            regime: regime_id.to_string(),
            stage: stage_id.to_string(),
            known: regime
                .stages
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let regime_assessment = assessment.regime(regime_id);
    let stage_assessment = regime_assessment
        .filter(|r| r.applies)
        .and_then(|r| r.stage(stage_id))
        .ok_or_else(|| RenderError::NotApplicable {
            regime: regime_id.to_string(),
            reason: regime_assessment
                .map(|r| r.reason.clone())
                .unwrap_or_default(),
        })?;
    let record = incident.to_value();
    let required: Vec<&str> = stage
        .required
        .iter()
        .map(String::as_str)
        .chain(stage_assessment.missing.iter().map(String::as_str))
        .collect();
    let sections = sections_with_leftovers(regime, stage_id)
        .into_iter()
        .map(|section| RenderedSection {
            heading: section.heading.clone(),
            fields: section
                .fields
                .iter()
                .map(|path| {
                    let value = lookup(&record, path).cloned();
                    let missing_paths: Vec<String> = stage_assessment
                        .missing
                        .iter()
                        .filter(|m| at_or_under(m, path))
                        .cloned()
                        .collect();
                    RenderedField {
                        path: path.clone(),
                        label: schema::label(path),
                        required: required.iter().any(|r| at_or_under(r, path)),
                        missing: !missing_paths.is_empty(),
                        missing_paths,
                        value,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Notification {
        regime: regime.id.clone(),
        regime_name: regime.name.clone(),
        stage: stage.id.clone(),
        stage_name: stage.name.clone(),
        article: stage.article.clone(),
        legal_basis: regime.legal_basis.clone(),
        legal_status: regime.legal_status,
        recipient: stage_assessment.recipient.clone(),
        due: stage_assessment.due.map(|d| d.to_string()),
        due_local: stage_assessment.due_local.clone(),
        deadline_status: stage_assessment.deadline_status,
        submitted_at: stage_assessment.submitted_at.map(|d| d.to_string()),
        overdue: stage_assessment.overdue,
        ready: stage_assessment.missing.is_empty(),
        missing: stage_assessment.missing.clone(),
        sections,
        notes: notes_for(stage_assessment),
    })
}

fn notes_for(stage: &StageAssessment) -> Vec<String> {
    let mut notes = stage.notes.clone();
    if let Some(relief) = &stage.relief {
        notes.push(relief.clone());
    }
    notes
}

/// The stage's sections, plus one for required or optional fields that no
/// section lists, so nothing the rules ask for is left out of the document.
fn sections_with_leftovers(regime: &Regime, stage_id: &str) -> Vec<Section> {
    let Some(stage) = regime.stage(stage_id) else {
        return Vec::new();
    };
    let mut sections = stage.sections.clone();
    let covered = |path: &str| {
        stage
            .sections
            .iter()
            .flat_map(|s| s.fields.iter())
            .any(|f| f == path || path.starts_with(&format!("{f}.")))
    };
    let leftovers: Vec<String> = stage
        .required
        .iter()
        .chain(stage.required_if.iter().map(|r| &r.field))
        .chain(stage.optional.iter())
        .filter(|p| !covered(p))
        .cloned()
        .fold(Vec::new(), |mut acc, p| {
            if !acc.contains(&p) {
                acc.push(p);
            }
            acc
        });
    if !leftovers.is_empty() {
        sections.push(Section {
            heading: "Further information".into(),
            fields: leftovers,
        });
    }
    sections
}

fn status_text(status: DeadlineStatus) -> &'static str {
    match status {
        DeadlineStatus::Binding => "binding",
        DeadlineStatus::Proposed => "proposed rule, advisory",
        DeadlineStatus::Provisional => "provisional: counted from a report not yet submitted",
        DeadlineStatus::OnRequest => "on request only",
        DeadlineStatus::NotTriggered => "not yet triggered",
        DeadlineStatus::NotApplicable => "not applicable",
    }
}

fn markdown_value(out: &mut String, value: &Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) => {
                        let _ = write!(out, "\n{pad}- ");
                        markdown_inline_object(out, item);
                    }
                    other => {
                        let _ = write!(out, "\n{pad}- {}", scalar(other));
                    }
                }
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let _ = write!(out, "\n{pad}- {key}:");
                match item {
                    Value::Array(_) | Value::Object(_) => markdown_value(out, item, indent + 1),
                    other => {
                        let _ = write!(out, " {}", scalar(other));
                    }
                }
            }
        }
        other => {
            let _ = write!(out, " {}", scalar(other));
        }
    }
}

fn markdown_inline_object(out: &mut String, value: &Value) {
    if let Value::Object(map) = value {
        let parts: Vec<String> = map
            .iter()
            .map(|(k, v)| match v {
                Value::Array(items) => format!(
                    "{k}: {}",
                    items.iter().map(scalar).collect::<Vec<_>>().join(", ")
                ),
                other => format!("{k}: {}", scalar(other)),
            })
            .collect();
        out.push_str(&parts.join("; "));
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Null => String::new(),
        Value::Object(_) => {
            let mut out = String::new();
            markdown_inline_object(&mut out, value);
            out
        }
        other => other.to_string(),
    }
}

/// The notification as a Markdown document.
pub fn markdown(n: &Notification) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} — {}", n.regime_name, n.stage_name);
    let _ = writeln!(out);
    let _ = writeln!(out, "- **Legal basis:** {} ({})", n.legal_basis, n.article);
    let _ = writeln!(
        out,
        "- **Legal status:** {}",
        match n.legal_status {
            LegalStatus::Binding => "binding",
            LegalStatus::Proposed => "PROPOSED — not in force",
        }
    );
    let _ = writeln!(out, "- **To:** {}", n.recipient);
    match (&n.due, &n.due_local) {
        (Some(due), Some(local)) => {
            let _ = writeln!(
                out,
                "- **Due:** {due} (local: {local}) — {}{}",
                status_text(n.deadline_status),
                if n.overdue { " — **OVERDUE**" } else { "" }
            );
        }
        _ => {
            let _ = writeln!(out, "- **Due:** — ({})", status_text(n.deadline_status));
        }
    }
    if let Some(sent) = &n.submitted_at {
        let _ = writeln!(out, "- **Submitted:** {sent}");
    }
    if n.ready {
        let _ = writeln!(
            out,
            "- **Completeness:** all required information is present"
        );
    } else {
        let _ = writeln!(
            out,
            "- **Completeness:** {} required item{} MISSING: {}",
            n.missing.len(),
            if n.missing.len() == 1 { "" } else { "s" },
            n.missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for section in &n.sections {
        let _ = writeln!(out);
        let _ = writeln!(out, "## {}", section.heading);
        let _ = writeln!(out);
        for field in &section.fields {
            let _ = write!(out, "**{}:**", field.label);
            // Name the missing parts when they are not the field itself.
            let parts = if field.missing_paths.iter().all(|m| *m == field.path) {
                String::new()
            } else {
                format!(
                    ": {}",
                    field
                        .missing_paths
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            match &field.value {
                Some(value) => {
                    markdown_value(&mut out, value, 0);
                    if field.missing {
                        let _ = write!(out, "\n\n**[MISSING — required{parts}]**");
                    }
                }
                None if field.missing || field.required => {
                    let _ = write!(out, " **[MISSING — required{parts}]**");
                }
                None => out.push_str(" _not provided_"),
            }
            out.push_str("\n\n");
        }
    }
    if !n.notes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "## Notes");
        let _ = writeln!(out);
        for note in &n.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}
