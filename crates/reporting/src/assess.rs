//! Assessment: which regimes apply to a record and why, every stage's
//! deadline and its status, what each report still lacks, and what is
//! overdue at a given instant. Deterministic: the same record, rules and
//! instant always give the same assessment.

use std::cell::RefCell;
use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::Value;

use crate::calendar::Calendar;
use crate::clock::{self, Anchor};
use crate::record::Incident;
use crate::rules::{
    Amount, AnchorRef, Candidate, CompareOp, Condition, LegalStatus, Operand, Regime, RuleSet,
    Stage,
};
use crate::schema::{self, Step};
use crate::time::{self, Day, Moment};
use crate::validate::{FieldError, InvalidRecord};

/// How firm a stage's deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Law in force, computed from recorded facts.
    Binding,
    /// From a proposed rule (CIRCIA): advisory.
    Proposed,
    /// Counted from a report that has not been submitted yet, as if it were
    /// submitted at its own deadline: the latest possible value.
    Provisional,
    /// Due only when an authority asks, and none has.
    OnRequest,
    /// The event that starts the clock is not recorded yet.
    NotTriggered,
    /// The stage does not arise for this incident.
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub assessed_at: Moment,
    /// The zone in which `due_local` values are shown.
    pub time_zone: String,
    pub regimes: Vec<RegimeAssessment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeAssessment {
    pub id: String,
    pub name: String,
    pub rules_version: String,
    pub applies: bool,
    pub reason: String,
    pub legal_status: LegalStatus,
    pub legal_basis: String,
    pub recipient: String,
    pub stages: Vec<StageAssessment>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageAssessment {
    pub id: String,
    pub name: String,
    pub article: String,
    pub recipient: String,
    pub due: Option<Moment>,
    pub due_local: Option<String>,
    pub deadline_status: DeadlineStatus,
    /// How the deadline was computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// The deadline before weekend/holiday relief moved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_before_relief: Option<Moment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relief: Option<String>,
    pub submitted_at: Option<Moment>,
    pub overdue: bool,
    pub late: bool,
    pub missing: Vec<String>,
    pub missing_optional: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Assessment {
    pub fn regime(&self, id: &str) -> Option<&RegimeAssessment> {
        self.regimes.iter().find(|r| r.id == id)
    }
}

impl RegimeAssessment {
    pub fn stage(&self, id: &str) -> Option<&StageAssessment> {
        self.stages.iter().find(|s| s.id == id)
    }
}

// ------------------------------------------------------------ record access

/// Reads a field path in the record's JSON form. Null, empty strings, lists
/// and objects count as absent.
pub fn lookup<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = record;
    for step in schema::steps(path).ok()? {
        node = match step {
            Step::Name(name) => node.get(name)?,
            Step::Index(i) => node.get(i)?,
        };
    }
    match node {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(other),
    }
}

fn as_anchor(value: &Value) -> Option<Anchor> {
    let text = value.as_str()?;
    if let Ok(m) = text.parse::<Moment>() {
        return Some(Anchor::At(m.timestamp()));
    }
    text.parse::<Day>().ok().map(|d| Anchor::On(d.0))
}

// ----------------------------------------------------------------- context

struct Context<'a> {
    rules: &'a RuleSet,
    incident: &'a Incident,
    record: Value,
    tz: TimeZone,
    at: Timestamp,
}

#[derive(Debug, Clone)]
struct Deadline {
    due: Timestamp,
    provisional: bool,
    basis: String,
    due_before_relief: Option<Timestamp>,
    relief: Option<String>,
}

#[derive(Debug, Clone)]
enum StageOutcome {
    NotApplicable(Option<String>),
    Due(Deadline),
    OnRequest(Option<String>),
    NotTriggered(Vec<String>),
}

struct RegimeEval<'a, 'c> {
    ctx: &'c Context<'a>,
    regime: &'a Regime,
    memo: RefCell<BTreeMap<String, StageOutcome>>,
}

fn hours_text(n: u32) -> String {
    format!("{n} h")
}

impl<'a> Context<'a> {
    fn submission(&self, regime: &str, stage: &str) -> Option<Timestamp> {
        self.incident
            .submissions
            .get(regime)
            .and_then(|s| s.get(stage))
            .map(|m| m.timestamp())
    }

    fn calendar_for_member_state(&self) -> Result<Calendar, String> {
        let Some(code) = self.incident.entity.eu_establishments.first() else {
            return Err(
                "entity.eu_establishments is empty, so the Member State whose holidays count is unknown"
                    .into(),
            );
        };
        match self.rules.calendar(code) {
            Some(calendar) => Ok(calendar.clone()),
            None => {
                let (name, tz) = member_state_zone(code)
                    .and_then(|name| time::time_zone(name).map(|tz| (name, tz)))
                    .unwrap_or(("UTC", TimeZone::UTC));
                Ok(Calendar::weekends_only(code, name, tz))
            }
        }
    }
}

impl<'a, 'c> RegimeEval<'a, 'c> {
    fn value(&self, path: &str) -> Option<&Value> {
        lookup(&self.ctx.record, path)
    }

    fn stage_due(&self, id: &str) -> Option<(Timestamp, bool)> {
        match self.outcome(id) {
            StageOutcome::Due(d) => Some((d.due, d.provisional)),
            _ => None,
        }
    }

    fn instant_operand(&self, operand: &Operand) -> Option<Timestamp> {
        match operand {
            Operand::Literal(v) => v
                .as_str()
                .and_then(|s| s.parse::<Moment>().ok())
                .map(|m| m.timestamp()),
            Operand::Field { path, plus_hours } => {
                let base = as_anchor(self.value(path)?)?.instant()?;
                base.checked_add(jiff::SignedDuration::from_hours(*plus_hours))
                    .ok()
            }
            Operand::DeadlineOf(stage) => self.stage_due(stage).map(|(t, _)| t),
            Operand::Submission(stage) => self.ctx.submission(&self.regime.id, stage),
        }
    }

    fn ordered(&self, field: &str, op: CompareOp, operand: &Operand) -> bool {
        let Some(value) = self.value(field) else {
            return false;
        };
        let test = |ord: std::cmp::Ordering| match op {
            CompareOp::Gt => ord.is_gt(),
            CompareOp::Gte => ord.is_ge(),
            CompareOp::Lt => ord.is_lt(),
            CompareOp::Lte => ord.is_le(),
            _ => false,
        };
        if let (Some(a), Operand::Literal(Value::Number(b))) = (value.as_f64(), operand)
            && let Some(b) = b.as_f64()
        {
            return a.partial_cmp(&b).is_some_and(test);
        }
        let Some(anchor) = as_anchor(value) else {
            return false;
        };
        // A date literal compares dates on the entity's wall clock.
        if let Operand::Literal(Value::String(s)) = operand
            && let Ok(day) = s.parse::<Day>()
        {
            return test(anchor.date_in(&self.ctx.tz).cmp(&day.0));
        }
        match (anchor.instant(), self.instant_operand(operand)) {
            (Some(a), Some(b)) => test(a.cmp(&b)),
            _ => false,
        }
    }

    fn condition(&self, condition: &Condition, late: Option<bool>) -> bool {
        match condition {
            Condition::All(items) => items.iter().all(|c| self.condition(c, late)),
            Condition::Any(items) => items.iter().any(|c| self.condition(c, late)),
            Condition::Not(inner) => !self.condition(inner, late),
            Condition::Late => late == Some(true),
            Condition::Present { field, present } => self.value(field).is_some() == *present,
            Condition::Contains { field, value } => self
                .value(field)
                .and_then(Value::as_array)
                .is_some_and(|items| items.contains(value)),
            Condition::AnyValueGreaterThan { field, limit } => {
                let greater = |v: &Value| v.as_f64().is_some_and(|n| n > *limit);
                match self.value(field) {
                    Some(Value::Object(map)) => map.values().any(greater),
                    Some(Value::Array(items)) => items.iter().any(greater),
                    _ => false,
                }
            }
            Condition::Compare { field, op, operand } => match op {
                CompareOp::Eq => self.equals(field, operand),
                CompareOp::Ne => !self.equals(field, operand),
                CompareOp::In => self.is_in(field, operand),
                CompareOp::NotIn => !self.is_in(field, operand),
                _ => self.ordered(field, *op, operand),
            },
        }
    }

    fn equals(&self, field: &str, operand: &Operand) -> bool {
        match (self.value(field), operand) {
            (Some(v), Operand::Literal(lit)) => json_equal(v, lit),
            _ => false,
        }
    }

    fn is_in(&self, field: &str, operand: &Operand) -> bool {
        match (self.value(field), operand) {
            (Some(v), Operand::Literal(Value::Array(items))) => {
                items.iter().any(|item| json_equal(v, item))
            }
            _ => false,
        }
    }

    fn describe(&self, condition: &Condition) -> String {
        condition
            .fields()
            .iter()
            .map(|f| match self.value(f) {
                Some(Value::String(s)) => format!("{f} = {s}"),
                Some(v) => format!("{f} = {v}"),
                None => format!("{f} is not recorded"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Resolves a candidate's anchor: the instant (or date) it counts
    /// from, whether that is provisional, and how to say so.
    fn anchor(&self, candidate: &Candidate) -> Option<(Anchor, bool, String)> {
        match &candidate.anchor {
            AnchorRef::Field(path) => {
                let anchor = as_anchor(self.value(path)?)?;
                Some((anchor, false, path.clone()))
            }
            AnchorRef::Submission(stage) => match self.ctx.submission(&self.regime.id, stage) {
                Some(t) => Some((Anchor::At(t), false, format!("submission of {stage}"))),
                None => {
                    let (due, _) = self.stage_due(stage)?;
                    Some((
                        Anchor::At(due),
                        true,
                        format!("the deadline of {stage} (not yet submitted)"),
                    ))
                }
            },
            AnchorRef::DeadlineOf(stage) => {
                let (due, provisional) = self.stage_due(stage)?;
                Some((
                    Anchor::At(due),
                    provisional,
                    format!("the deadline of {stage}"),
                ))
            }
            AnchorRef::Request => None,
        }
    }

    fn apply(&self, anchor: Anchor, amount: &Amount) -> Option<(Timestamp, String)> {
        Some(match amount {
            Amount::Zero => (anchor.instant()?, String::new()),
            Amount::Hours(n) => (
                clock::add_hours(anchor.instant()?, *n)?,
                format!(" + {}", hours_text(*n)),
            ),
            Amount::Days(n) => (
                clock::add_hours(anchor.instant()?, n.checked_mul(24)?)?,
                format!(" + {n} days (× 24 h)"),
            ),
            Amount::Months(n) => (
                clock::add_months_clamped_within_local_day(anchor.instant()?, *n, &self.ctx.tz)?,
                format!(
                    " + {n} month{} (Reg. 1182/71, clamped to month end)",
                    if *n == 1 { "" } else { "s" }
                ),
            ),
            Amount::CalendarDays(n) => (
                clock::add_calendar_days_in(anchor.date_in(&TimeZone::UTC), *n, &self.ctx.tz)?,
                format!(" + {n} calendar days (end of day, UTC or local if earlier)"),
            ),
            Amount::DaysAfterYearEnd(n) => (
                clock::add_days_after_year_end_in(
                    anchor.date_in(&TimeZone::UTC),
                    *n,
                    &self.ctx.tz,
                )?,
                format!(
                    ", {n} days after the end of that calendar year (end of day, UTC or local if earlier)"
                ),
            ),
            Amount::BusinessDays {
                count,
                calendar,
                cutoff,
            } => {
                let calendar = self.ctx.rules.calendar(calendar)?;
                let due = clock::add_business_days(
                    anchor,
                    *count,
                    calendar,
                    &calendar.time_zone,
                    *cutoff,
                )?;
                let at = cutoff.map_or_else(
                    || "end of day".to_string(),
                    |t| format!("{}", t.strftime("%H:%M")),
                );
                (
                    due,
                    format!(
                        ": business day {count} after that date in {} ({}), {at} {}",
                        calendar.id, calendar.name, calendar.time_zone_name
                    ),
                )
            }
        })
    }

    fn outcome(&self, stage_id: &str) -> StageOutcome {
        if let Some(done) = self.memo.borrow().get(stage_id) {
            return done.clone();
        }
        let outcome = match self.regime.stage(stage_id) {
            Some(stage) => self.compute(stage),
            None => StageOutcome::NotTriggered(Vec::new()),
        };
        self.memo
            .borrow_mut()
            .insert(stage_id.to_string(), outcome.clone());
        outcome
    }

    fn compute(&self, stage: &Stage) -> StageOutcome {
        if let Some(when) = &stage.when
            && !self.condition(when, None)
        {
            return StageOutcome::NotApplicable(stage.not_applicable.clone());
        }
        let trigger_at = stage
            .trigger
            .as_deref()
            .and_then(|t| self.value(t))
            .and_then(as_anchor)
            .and_then(Anchor::instant);
        let mut best: Option<Deadline> = None;
        let mut discarded_before_trigger: Option<Deadline> = None;
        let mut wants_request = false;
        let mut absent_anchors = Vec::new();
        for candidate in &stage.due {
            if let Some(when) = &candidate.when
                && !self.condition(when, None)
            {
                continue;
            }
            let deadline = if matches!(candidate.anchor, AnchorRef::Request) {
                wants_request = true;
                let latest = self
                    .ctx
                    .incident
                    .authority_requests
                    .iter()
                    .filter(|r| r.regime == self.regime.id && r.stage == stage.id)
                    .max_by_key(|r| r.requested_at);
                match latest.and_then(|r| r.due_at.map(|due| (r, due))) {
                    Some((request, due)) => Deadline {
                        due: due.timestamp(),
                        provisional: false,
                        basis: format!("requested at {}, due as requested", request.requested_at),
                        due_before_relief: None,
                        relief: None,
                    },
                    None => continue,
                }
            } else {
                let Some((anchor, provisional, anchor_text)) = self.anchor(candidate) else {
                    if let AnchorRef::Field(path) = &candidate.anchor {
                        absent_anchors.push(path.clone());
                    }
                    continue;
                };
                let Some((due, amount_text)) = self.apply(anchor, &candidate.amount) else {
                    continue;
                };
                Deadline {
                    due,
                    provisional,
                    basis: format!("{anchor_text}{amount_text}"),
                    due_before_relief: None,
                    relief: None,
                }
            };
            // A deadline cannot precede the event that starts the stage; a
            // cap such as "no later than 24 h after awareness" no longer
            // binds once the trigger itself comes later (DORA Art. 5(2)).
            if let Some(trigger) = trigger_at
                && deadline.due < trigger
            {
                if discarded_before_trigger
                    .as_ref()
                    .is_none_or(|d| deadline.due > d.due)
                {
                    discarded_before_trigger = Some(deadline);
                }
                continue;
            }
            if best.as_ref().is_none_or(|b| deadline.due < b.due) {
                best = Some(deadline);
            }
        }
        if best.is_none()
            && let (Some(trigger), Some(mut late)) = (trigger_at, discarded_before_trigger)
        {
            late.basis = format!(
                "{} had passed when {} occurred: due at once",
                late.basis,
                stage.trigger.as_deref().unwrap_or("the trigger")
            );
            late.due = trigger;
            best = Some(late);
        }
        let Some(mut deadline) = best else {
            if wants_request {
                let requested_without_due = self.ctx.incident.authority_requests.iter().any(|r| {
                    r.regime == self.regime.id && r.stage == stage.id && r.due_at.is_none()
                });
                return StageOutcome::OnRequest(if requested_without_due {
                    Some("Requested without a due date: record due_at on the request.".into())
                } else {
                    stage.pending.clone()
                });
            }
            let mut absent = absent_anchors;
            if let Some(trigger) = &stage.trigger
                && self.value(trigger).is_none()
                && !absent.contains(trigger)
            {
                absent.insert(0, trigger.clone());
            }
            return StageOutcome::NotTriggered(absent);
        };
        if let Some(relief) = &stage.relief
            && relief.when.as_ref().is_none_or(|c| self.condition(c, None))
        {
            let calendar = match &relief.calendar {
                Some(id) => self
                    .ctx
                    .rules
                    .calendar(id)
                    .cloned()
                    .ok_or_else(|| id.clone()),
                None => self.ctx.calendar_for_member_state(),
            };
            match calendar {
                Ok(calendar) => {
                    if let Some((relieved, why)) =
                        clock::next_working_day_relief(deadline.due, &calendar, relief.at)
                    {
                        deadline.due_before_relief = Some(deadline.due);
                        deadline.due = relieved;
                        deadline.relief = Some(format!("{why}; {}", relief.basis));
                    } else if !calendar.knows_holidays() {
                        // The stricter deadline stands, but the user must
                        // know that a holiday there may still move it.
                        let local = deadline.due.to_zoned_datetime(calendar.time_zone.clone());
                        deadline.relief = Some(format!(
                            "not fully checked: no public-holiday calendar for {} is on file: only weekends were checked; if {} is a public holiday there, {}",
                            calendar.id,
                            local.date(),
                            relief.basis
                        ));
                    }
                }
                Err(why) => {
                    deadline.relief = Some(format!("relief not applied: {why}"));
                }
            }
        }
        StageOutcome::Due(deadline)
    }

    fn assess_stage(&self, stage: &Stage) -> StageAssessment {
        let outcome = self.outcome(&stage.id);
        let submitted_at = self.ctx.submission(&self.regime.id, &stage.id);
        let mut notes = stage.notes.clone();
        let (due, status, basis, due_before_relief, relief, absent_triggers) = match &outcome {
            StageOutcome::NotApplicable(why) => {
                notes.extend(why.clone());
                (
                    None,
                    DeadlineStatus::NotApplicable,
                    None,
                    None,
                    None,
                    Vec::new(),
                )
            }
            StageOutcome::OnRequest(why) => {
                notes.extend(why.clone());
                (
                    None,
                    DeadlineStatus::OnRequest,
                    None,
                    None,
                    None,
                    Vec::new(),
                )
            }
            StageOutcome::NotTriggered(absent) => {
                notes.extend(stage.pending.clone());
                (
                    None,
                    DeadlineStatus::NotTriggered,
                    None,
                    None,
                    None,
                    absent.clone(),
                )
            }
            StageOutcome::Due(d) => {
                let status = if d.provisional {
                    DeadlineStatus::Provisional
                } else if self.regime.legal_status == LegalStatus::Proposed {
                    DeadlineStatus::Proposed
                } else {
                    DeadlineStatus::Binding
                };
                (
                    Some(d.due),
                    status,
                    Some(d.basis.clone()),
                    d.due_before_relief,
                    d.relief.clone(),
                    Vec::new(),
                )
            }
        };
        let late = match (due, submitted_at) {
            (Some(due), Some(sent)) => sent > due,
            (Some(due), None) => self.ctx.at > due,
            _ => false,
        };
        let overdue = submitted_at.is_none() && due.is_some_and(|d| self.ctx.at > d);
        let applicable = status != DeadlineStatus::NotApplicable;
        let mut missing = Vec::new();
        let mut missing_optional = Vec::new();
        if applicable {
            for path in absent_triggers {
                push_unique(&mut missing, path);
            }
            for path in &stage.required {
                if self.value(path).is_none() {
                    push_unique(&mut missing, path.clone());
                }
            }
            for conditional in &stage.required_if {
                if self.condition(&conditional.when, Some(late))
                    && self.value(&conditional.field).is_none()
                {
                    push_unique(&mut missing, conditional.field.clone());
                }
            }
            for path in &stage.optional {
                if self.value(path).is_none() {
                    push_unique(&mut missing_optional, path.clone());
                }
            }
        }
        StageAssessment {
            id: stage.id.clone(),
            name: stage.name.clone(),
            article: stage.article.clone(),
            recipient: stage
                .recipient
                .clone()
                .unwrap_or_else(|| self.regime.recipient.clone()),
            due: due.map(Moment),
            due_local: due
                .map(|d| time::local_display(Moment(d), &self.ctx.tz, &tz_label(self.ctx))),
            deadline_status: status,
            basis,
            due_before_relief: due_before_relief.map(Moment),
            relief,
            submitted_at: submitted_at.map(Moment),
            overdue,
            late,
            missing,
            missing_optional,
            notes,
        }
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The IANA zone of a Member State's capital, for showing times when the
/// record names no zone.
pub fn member_state_zone(code: &str) -> Option<&'static str> {
    Some(match code {
        "AT" => "Europe/Vienna",
        "BE" => "Europe/Brussels",
        "BG" => "Europe/Sofia",
        "CY" => "Asia/Nicosia",
        "CZ" => "Europe/Prague",
        "DE" => "Europe/Berlin",
        "DK" => "Europe/Copenhagen",
        "EE" => "Europe/Tallinn",
        "ES" => "Europe/Madrid",
        "FI" => "Europe/Helsinki",
        "FR" => "Europe/Paris",
        "GR" => "Europe/Athens",
        "HR" => "Europe/Zagreb",
        "HU" => "Europe/Budapest",
        "IE" => "Europe/Dublin",
        "IT" => "Europe/Rome",
        "LT" => "Europe/Vilnius",
        "LU" => "Europe/Luxembourg",
        "LV" => "Europe/Riga",
        "MT" => "Europe/Malta",
        "NL" => "Europe/Amsterdam",
        "PL" => "Europe/Warsaw",
        "PT" => "Europe/Lisbon",
        "RO" => "Europe/Bucharest",
        "SE" => "Europe/Stockholm",
        "SI" => "Europe/Ljubljana",
        "SK" => "Europe/Bratislava",
        _ => return None,
    })
}

/// The entity's display zone: its own, else its main establishment's, else UTC.
pub fn display_zone(incident: &Incident) -> (String, TimeZone) {
    if let Some(name) = &incident.entity.time_zone
        && let Some(tz) = time::time_zone(name)
    {
        return (name.clone(), tz);
    }
    if let Some(code) = incident.entity.eu_establishments.first()
        && let Some(name) = member_state_zone(code)
        && let Some(tz) = time::time_zone(name)
    {
        return (name.to_string(), tz);
    }
    ("UTC".to_string(), TimeZone::UTC)
}

fn tz_label(ctx: &Context<'_>) -> String {
    display_zone(ctx.incident).0
}

/// Problems that only the rule set can see: submissions and requests that
/// name unknown regimes or stages, and submissions before their trigger.
pub fn record_errors(rules: &RuleSet, incident: &Incident) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let known = |regime: &str| -> Result<&Regime, String> {
        rules.regime(regime).ok_or_else(|| {
            format!(
                "`{regime}` is not a regime; known regimes: {}",
                rules
                    .regimes()
                    .iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    let stage_list = |r: &Regime| {
        r.stages
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let record = incident.to_value();
    for (regime_id, stages) in &incident.submissions {
        let regime = match known(regime_id) {
            Ok(r) => r,
            Err(message) => {
                errors.push(FieldError {
                    path: format!("submissions.{regime_id}"),
                    message,
                });
                continue;
            }
        };
        for (stage_id, sent) in stages {
            let path = format!("submissions.{regime_id}.{stage_id}");
            match regime.stage(stage_id) {
                None => errors.push(FieldError {
                    path,
                    message: format!(
                        "`{stage_id}` is not a stage of {regime_id}; its stages are: {}",
                        stage_list(regime)
                    ),
                }),
                Some(stage) => {
                    let instant_of = |trigger: &String| {
                        lookup(&record, trigger)
                            .and_then(as_anchor)
                            .and_then(Anchor::instant)
                            .map(|at| (trigger.clone(), at))
                    };
                    // A stage counted from another report (a final report,
                    // an intermediate one) has no trigger of its own; it
                    // still cannot precede the earliest event of its regime.
                    let bound = match &stage.trigger {
                        Some(trigger) => instant_of(trigger),
                        None => regime
                            .stages
                            .iter()
                            .filter_map(|s| s.trigger.as_ref().and_then(instant_of))
                            .min_by_key(|(_, at)| *at),
                    };
                    if let Some((trigger, start)) = bound
                        && sent.timestamp() < start
                    {
                        errors.push(FieldError {
                            path,
                            message: format!(
                                "submitted at {sent}, before {trigger} ({}): a report cannot precede the event it reports",
                                Moment(start)
                            ),
                        });
                    }
                }
            }
        }
    }
    for (index, request) in incident.authority_requests.iter().enumerate() {
        match known(&request.regime) {
            Err(message) => errors.push(FieldError {
                path: format!("authority_requests[{index}].regime"),
                message,
            }),
            Ok(regime) => {
                if regime.stage(&request.stage).is_none() {
                    errors.push(FieldError {
                        path: format!("authority_requests[{index}].stage"),
                        message: format!(
                            "`{}` is not a stage of {}; its stages are: {}",
                            request.stage,
                            regime.id,
                            stage_list(regime)
                        ),
                    });
                }
            }
        }
    }
    errors
}

/// Parses a record and checks it against the rule set, reporting every
/// consistency and rule-level problem at once.
pub fn parse_record(rules: &RuleSet, text: &str) -> Result<Incident, InvalidRecord> {
    let incident = Incident::parse(text)?;
    let mut errors = crate::validate::consistency_errors(&incident);
    errors.extend(record_errors(rules, &incident));
    if errors.is_empty() {
        Ok(incident)
    } else {
        Err(InvalidRecord { errors })
    }
}

/// Assesses a record against every regime of the rule set at instant `at`.
pub fn assess(
    rules: &RuleSet,
    incident: &Incident,
    at: Timestamp,
) -> Result<Assessment, InvalidRecord> {
    let mut errors = crate::validate::consistency_errors(incident);
    errors.extend(record_errors(rules, incident));
    if !errors.is_empty() {
        return Err(InvalidRecord { errors });
    }
    let (tz_name, tz) = display_zone(incident);
    let ctx = Context {
        rules,
        incident,
        record: incident.to_value(),
        tz,
        at,
    };

    let mut verdicts: Vec<(bool, String)> = Vec::new();
    for regime in rules.regimes() {
        let eval = RegimeEval {
            ctx: &ctx,
            regime,
            memo: RefCell::new(BTreeMap::new()),
        };
        let mut reasons = Vec::new();
        let mut verdict = (true, String::new());
        for rule in &regime.applies_if {
            if eval.condition(&rule.condition, None) {
                reasons.push(rule.because.clone());
            } else {
                let detail = eval.describe(&rule.condition);
                verdict = (
                    false,
                    if detail.is_empty() {
                        capitalise(&rule.otherwise)
                    } else {
                        format!("{} ({detail})", capitalise(&rule.otherwise))
                    },
                );
                break;
            }
        }
        if verdict.0 {
            verdict.1 = if reasons.is_empty() {
                "Applies.".into()
            } else {
                format!("Applies: {}.", reasons.join("; "))
            };
        }
        verdicts.push(verdict);
    }
    // A regime that applies displaces those it supersedes (a national
    // variant replacing the baseline, a final rule replacing a proposal).
    let ids: Vec<&str> = rules.regimes().iter().map(|r| r.id.as_str()).collect();
    for (index, regime) in rules.regimes().iter().enumerate() {
        if !verdicts[index].0 {
            continue;
        }
        for superseded in &regime.supersedes {
            if let Some(target) = ids.iter().position(|id| id == superseded)
                && verdicts[target].0
            {
                verdicts[target] = (
                    false,
                    format!(
                        "Superseded by {} ({}), which applies.",
                        regime.id, regime.name
                    ),
                );
            }
        }
    }

    let mut regimes = Vec::new();
    for (regime, (applies, reason)) in rules.regimes().iter().zip(verdicts) {
        let eval = RegimeEval {
            ctx: &ctx,
            regime,
            memo: RefCell::new(BTreeMap::new()),
        };
        let stages = if applies {
            regime.stages.iter().map(|s| eval.assess_stage(s)).collect()
        } else {
            Vec::new()
        };
        regimes.push(RegimeAssessment {
            id: regime.id.clone(),
            name: regime.name.clone(),
            rules_version: regime.version.clone(),
            applies,
            reason,
            legal_status: regime.legal_status,
            legal_basis: regime.legal_basis.clone(),
            recipient: regime.recipient.clone(),
            stages,
            notes: if applies {
                regime.notes.clone()
            } else {
                Vec::new()
            },
        });
    }
    Ok(Assessment {
        assessed_at: Moment(at),
        time_zone: tz_name,
        regimes,
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
