//! Regimes as data. Each regime is one TOML file (`regimes/<id>.toml`):
//! applicability conditions, stages, each stage's clock, content and
//! recipient, the legal basis and its status. This module turns the files
//! into checked rules; `assess` evaluates them against a record.
//!
//! The file format is documented in `regimes/README.md`. Everything a file
//! names is checked when it is loaded: field paths against the incident
//! schema, enum values against the schema's enums, stage references within
//! the regime (and free of cycles), calendars against the calendar files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::Time;
use serde::Deserialize;
use serde_json::Value;

use crate::calendar::Calendar;
use crate::schema;

/// Whether a regime's obligations are law or only proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalStatus {
    Binding,
    Proposed,
}

/// A problem in a rule or calendar file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RuleError {
    pub file: String,
    pub message: String,
}

// ---------------------------------------------------------------- conditions

/// The condition language of rule files.
///
/// A condition is a TOML table with exactly one form:
/// `{ all = [...] }`, `{ any = [...] }`, `{ not = {...} }`,
/// `{ field = "path", <op> = operand }` with op one of `eq`, `ne`, `in`,
/// `not_in`, `gt`, `gte`, `lt`, `lte`, `contains`, `any_value_gt`,
/// `{ field = "path", present = true|false }`, or `{ late = true }`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        field: String,
        op: CompareOp,
        operand: Operand,
    },
    Present {
        field: String,
        present: bool,
    },
    Contains {
        field: String,
        value: Value,
    },
    AnyValueGreaterThan {
        field: String,
        limit: f64,
    },
    /// The stage being evaluated is overdue or was submitted late.
    Late,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CompareOp {
    fn name(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::In => "in",
            CompareOp::NotIn => "not_in",
            CompareOp::Gt => "gt",
            CompareOp::Gte => "gte",
            CompareOp::Lt => "lt",
            CompareOp::Lte => "lte",
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A string, number, boolean, timestamp (`2026-09-11T00:00:00Z`) or
    /// date (`2026-09-11`, compared with the field's date on the entity's
    /// wall clock); a list for `in` / `not_in`.
    Literal(Value),
    /// Another field, optionally shifted: `{ field = "x", plus_hours = 24 }`.
    Field { path: String, plus_hours: i64 },
    /// Another stage's deadline in the same regime: `{ deadline_of = "incident" }`.
    DeadlineOf(String),
    /// When another stage was submitted: `{ submission = "incident" }`.
    Submission(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    all: Option<Vec<RawCondition>>,
    any: Option<Vec<RawCondition>>,
    not: Option<Box<RawCondition>>,
    field: Option<String>,
    eq: Option<Value>,
    ne: Option<Value>,
    #[serde(rename = "in")]
    in_: Option<Value>,
    not_in: Option<Value>,
    gt: Option<Value>,
    gte: Option<Value>,
    lt: Option<Value>,
    lte: Option<Value>,
    present: Option<bool>,
    contains: Option<Value>,
    any_value_gt: Option<f64>,
    late: Option<bool>,
}

struct Checker<'a> {
    stage_ids: &'a BTreeSet<String>,
    allow_late: bool,
}

fn check_field(path: &str) -> Result<(), String> {
    schema::resolve(path)
        .map(|_| ())
        .map_err(|e| format!("field `{path}`: {e}"))
}

fn check_enum_literal(path: &str, value: &Value) -> Result<(), String> {
    let Some(allowed) = schema::enum_values(path) else {
        return Ok(());
    };
    let values: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for v in values {
        match v.as_str() {
            Some(s) if allowed.iter().any(|a| a == s) => {}
            _ => {
                return Err(format!(
                    "`{v}` is not a value of `{path}`; the schema allows: {}",
                    allowed.join(", ")
                ));
            }
        }
    }
    Ok(())
}

impl RawCondition {
    fn build(self, checker: &Checker<'_>) -> Result<Condition, String> {
        let forms = [
            self.all.is_some(),
            self.any.is_some(),
            self.not.is_some(),
            self.field.is_some(),
            self.late.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if forms != 1 {
            return Err(
                "a condition needs exactly one of `all`, `any`, `not`, `field` or `late`".into(),
            );
        }
        if let Some(items) = self.all {
            return Ok(Condition::All(
                items
                    .into_iter()
                    .map(|c| c.build(checker))
                    .collect::<Result<_, _>>()?,
            ));
        }
        if let Some(items) = self.any {
            return Ok(Condition::Any(
                items
                    .into_iter()
                    .map(|c| c.build(checker))
                    .collect::<Result<_, _>>()?,
            ));
        }
        if let Some(inner) = self.not {
            return Ok(Condition::Not(Box::new(inner.build(checker)?)));
        }
        if let Some(late) = self.late {
            if !checker.allow_late {
                return Err("`late` can only be used in `required_if` conditions".into());
            }
            if !late {
                return Err("write `not = { late = true }` rather than `late = false`".into());
            }
            return Ok(Condition::Late);
        }
        let field = self.field.unwrap_or_default();
        check_field(&field)?;
        let mut built = Vec::new();
        for (op, value) in [
            (CompareOp::Eq, self.eq),
            (CompareOp::Ne, self.ne),
            (CompareOp::In, self.in_),
            (CompareOp::NotIn, self.not_in),
            (CompareOp::Gt, self.gt),
            (CompareOp::Gte, self.gte),
            (CompareOp::Lt, self.lt),
            (CompareOp::Lte, self.lte),
        ] {
            if let Some(value) = value {
                let operand = build_operand(op, value, &field, checker)?;
                built.push(Condition::Compare {
                    field: field.clone(),
                    op,
                    operand,
                });
            }
        }
        if let Some(present) = self.present {
            built.push(Condition::Present {
                field: field.clone(),
                present,
            });
        }
        if let Some(value) = self.contains {
            check_enum_literal(&field, &value)?;
            built.push(Condition::Contains {
                field: field.clone(),
                value,
            });
        }
        if let Some(limit) = self.any_value_gt {
            built.push(Condition::AnyValueGreaterThan {
                field: field.clone(),
                limit,
            });
        }
        match built.len() {
            1 => Ok(built.remove(0)),
            0 => Err(format!(
                "the condition on `{field}` has no operator (eq, ne, in, not_in, gt, gte, lt, lte, present, contains, any_value_gt)"
            )),
            _ => Err(format!(
                "the condition on `{field}` has several operators; combine them with `all`"
            )),
        }
    }
}

fn build_operand(
    op: CompareOp,
    value: Value,
    field: &str,
    checker: &Checker<'_>,
) -> Result<Operand, String> {
    let ordered = matches!(
        op,
        CompareOp::Gt | CompareOp::Gte | CompareOp::Lt | CompareOp::Lte
    );
    if let Value::Object(map) = &value {
        if !ordered {
            return Err(format!(
                "`{}` on `{field}` takes a literal, not a table",
                op.name()
            ));
        }
        let keys: BTreeSet<&str> = map.keys().map(String::as_str).collect();
        let stage_ref = |key: &str| -> Result<String, String> {
            let stage = map
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{key}` must name a stage"))?;
            if !checker.stage_ids.contains(stage) {
                return Err(format!(
                    "`{key}` names `{stage}`, which is not a stage of this regime"
                ));
            }
            Ok(stage.to_string())
        };
        return if keys == BTreeSet::from(["deadline_of"]) {
            Ok(Operand::DeadlineOf(stage_ref("deadline_of")?))
        } else if keys == BTreeSet::from(["submission"]) {
            Ok(Operand::Submission(stage_ref("submission")?))
        } else if keys.contains("field") && keys.iter().all(|k| ["field", "plus_hours"].contains(k))
        {
            let path = map
                .get("field")
                .and_then(Value::as_str)
                .ok_or("`field` must be a field path")?
                .to_string();
            check_field(&path)?;
            let plus_hours = match map.get("plus_hours") {
                None => 0,
                Some(v) => v.as_i64().ok_or("`plus_hours` must be an integer")?,
            };
            Ok(Operand::Field { path, plus_hours })
        } else {
            Err(format!(
                "the operand of `{}` on `{field}` must be a literal, {{ field, plus_hours }}, {{ deadline_of }} or {{ submission }}",
                op.name()
            ))
        };
    }
    match op {
        CompareOp::In | CompareOp::NotIn => {
            if !value.is_array() {
                return Err(format!("`{}` on `{field}` takes a list", op.name()));
            }
            check_enum_literal(field, &value)?;
        }
        CompareOp::Eq | CompareOp::Ne => check_enum_literal(field, &value)?,
        _ => {}
    }
    Ok(Operand::Literal(value))
}

/// Parses a condition written as a TOML value.
fn condition_from(
    value: RawCondition,
    stage_ids: &BTreeSet<String>,
    allow_late: bool,
) -> Result<Condition, String> {
    value.build(&Checker {
        stage_ids,
        allow_late,
    })
}

impl Condition {
    /// Field paths the condition reads (for explaining its outcome).
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out.dedup();
        out
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().for_each(|c| c.collect_fields(out))
            }
            Condition::Not(inner) => inner.collect_fields(out),
            Condition::Compare { field, operand, .. } => {
                out.push(field.clone());
                if let Operand::Field { path, .. } = operand {
                    out.push(path.clone());
                }
            }
            Condition::Present { field, .. }
            | Condition::Contains { field, .. }
            | Condition::AnyValueGreaterThan { field, .. } => out.push(field.clone()),
            Condition::Late => {}
        }
    }

    /// Stages whose deadline or submission the condition reads.
    fn stage_refs(&self, out: &mut Vec<String>) {
        match self {
            Condition::All(items) | Condition::Any(items) => {
                items.iter().for_each(|c| c.stage_refs(out))
            }
            Condition::Not(inner) => inner.stage_refs(out),
            Condition::Compare {
                operand: Operand::DeadlineOf(stage),
                ..
            } => out.push(stage.clone()),
            _ => {}
        }
    }
}

// ------------------------------------------------------------------- clocks

/// What a deadline counts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorRef {
    /// A timestamp or date field of the record.
    Field(String),
    /// When another stage of the regime was submitted; until it is, that
    /// stage's own deadline (and the result is provisional).
    Submission(String),
    /// Another stage's deadline.
    DeadlineOf(String),
    /// The `due_at` of the latest authority request for this stage.
    Request,
}

/// How far from the anchor the deadline lies.
#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    Zero,
    Hours(u32),
    /// Exact multiples of 24 h.
    Days(u32),
    /// Regulation 1182/71 months, clamped at month end.
    Months(u32),
    /// Calendar days from the anchor's date, ending 23:59:59 UTC.
    CalendarDays(u32),
    /// Calendar days after 31 December of the anchor's year.
    DaysAfterYearEnd(u32),
    BusinessDays {
        count: u32,
        calendar: String,
        cutoff: Option<Time>,
    },
}

/// One way a stage's deadline can be computed; the earliest applicable
/// candidate not before the stage's trigger wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub anchor: AnchorRef,
    pub amount: Amount,
    pub when: Option<Condition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCandidate {
    field: Option<String>,
    submission: Option<String>,
    deadline_of: Option<String>,
    #[serde(default)]
    request: bool,
    hours: Option<u32>,
    days: Option<u32>,
    months: Option<u32>,
    calendar_days: Option<u32>,
    days_after_year_end: Option<u32>,
    business_days: Option<u32>,
    calendar: Option<String>,
    cutoff: Option<String>,
    when: Option<RawCondition>,
}

fn parse_clock_time(text: &str) -> Result<Time, String> {
    let (h, m) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a time HH:MM"))?;
    let hour: i8 = h
        .parse()
        .map_err(|_| format!("`{text}` is not a time HH:MM"))?;
    let minute: i8 = m
        .parse()
        .map_err(|_| format!("`{text}` is not a time HH:MM"))?;
    Time::new(hour, minute, 0, 0).map_err(|e| format!("`{text}`: {e}"))
}

impl RawCandidate {
    fn build(
        self,
        stage_ids: &BTreeSet<String>,
        calendars: &BTreeMap<String, Calendar>,
    ) -> Result<Candidate, String> {
        let anchors = [
            self.field.is_some(),
            self.submission.is_some(),
            self.deadline_of.is_some(),
            self.request,
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if anchors != 1 {
            return Err(
                "a deadline needs exactly one anchor: `field`, `submission`, `deadline_of` or `request = true`"
                    .into(),
            );
        }
        let stage = |name: String| -> Result<String, String> {
            if stage_ids.contains(&name) {
                Ok(name)
            } else {
                Err(format!("`{name}` is not a stage of this regime"))
            }
        };
        let anchor = if let Some(path) = self.field {
            check_field(&path)?;
            AnchorRef::Field(path)
        } else if let Some(name) = self.submission {
            AnchorRef::Submission(stage(name)?)
        } else if let Some(name) = self.deadline_of {
            AnchorRef::DeadlineOf(stage(name)?)
        } else {
            AnchorRef::Request
        };
        let amounts = [
            self.hours.map(Amount::Hours),
            self.days.map(Amount::Days),
            self.months.map(Amount::Months),
            self.calendar_days.map(Amount::CalendarDays),
            self.days_after_year_end.map(Amount::DaysAfterYearEnd),
            self.business_days.map(|count| Amount::BusinessDays {
                count,
                calendar: String::new(),
                cutoff: None,
            }),
        ];
        let mut given: Vec<Amount> = amounts.into_iter().flatten().collect();
        let mut amount = match given.len() {
            0 => Amount::Zero,
            1 => given.remove(0),
            _ => {
                return Err(
                    "give one of hours, days, months, calendar_days, days_after_year_end, business_days"
                        .into(),
                );
            }
        };
        if matches!(anchor, AnchorRef::Request) && amount != Amount::Zero {
            return Err(
                "a `request` deadline is the request's `due_at`; it takes no amount".into(),
            );
        }
        match &mut amount {
            Amount::BusinessDays {
                calendar, cutoff, ..
            } => {
                let id = self
                    .calendar
                    .ok_or("`business_days` needs `calendar = \"<calendar id>\"`")?;
                if !calendars.contains_key(&id) {
                    return Err(format!(
                        "calendar `{id}` is not defined (known: {})",
                        calendars.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                *calendar = id;
                *cutoff = self.cutoff.as_deref().map(parse_clock_time).transpose()?;
            }
            _ => {
                if self.calendar.is_some() || self.cutoff.is_some() {
                    return Err("`calendar` and `cutoff` only go with `business_days`".into());
                }
            }
        }
        let when = self
            .when
            .map(|c| condition_from(c, stage_ids, false))
            .transpose()?;
        Ok(Candidate {
            anchor,
            amount,
            when,
        })
    }
}

// ------------------------------------------------------------------- stages

/// DORA-style relief: a deadline on a closed day moves to a fixed time on
/// the next working day.
#[derive(Debug, Clone, PartialEq)]
pub struct Relief {
    /// A calendar id, or `None` for the entity's main establishment.
    pub calendar: Option<String>,
    pub at: Time,
    pub when: Option<Condition>,
    pub basis: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelief {
    /// `"member_state"` or a calendar id.
    calendar: String,
    next_working_day_at: String,
    basis: String,
    when: Option<RawCondition>,
}

/// A heading of a rendered notification and the fields under it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub heading: String,
    pub fields: Vec<String>,
}

/// A field that is required only when a condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionalField {
    pub field: String,
    pub when: Condition,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConditionalField {
    field: String,
    when: RawCondition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub id: String,
    pub name: String,
    pub article: String,
    pub recipient: Option<String>,
    pub when: Option<Condition>,
    pub not_applicable: Option<String>,
    pub trigger: Option<String>,
    pub due: Vec<Candidate>,
    pub pending: Option<String>,
    pub relief: Option<Relief>,
    pub required: Vec<String>,
    pub optional: Vec<String>,
    pub required_if: Vec<ConditionalField>,
    pub sections: Vec<Section>,
    pub notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: String,
    name: String,
    article: String,
    recipient: Option<String>,
    when: Option<RawCondition>,
    /// Shown when `when` does not hold.
    not_applicable: Option<String>,
    /// The field whose instant starts this stage; no deadline precedes it.
    trigger: Option<String>,
    #[serde(default)]
    due: Vec<RawCandidate>,
    /// Shown while no deadline can be computed yet.
    pending: Option<String>,
    relief: Option<RawRelief>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    optional: Vec<String>,
    #[serde(default)]
    required_if: Vec<RawConditionalField>,
    #[serde(default)]
    sections: Vec<Section>,
    #[serde(default)]
    notes: Vec<String>,
}

/// A rule for when a regime applies, with the reason either way.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicability {
    pub condition: Condition,
    pub because: String,
    pub otherwise: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplicability {
    condition: RawCondition,
    because: String,
    otherwise: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    pub id: String,
    pub name: String,
    pub version: String,
    pub order: u32,
    pub legal_basis: String,
    pub legal_status: LegalStatus,
    pub recipient: String,
    pub sources: Vec<String>,
    pub notes: Vec<String>,
    pub supersedes: Vec<String>,
    pub applies_if: Vec<Applicability>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegime {
    id: String,
    name: String,
    version: String,
    #[serde(default = "default_order")]
    order: u32,
    legal_basis: String,
    legal_status: LegalStatus,
    recipient: String,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    supersedes: Vec<String>,
    applies_if: Vec<RawApplicability>,
    stages: Vec<RawStage>,
}

fn default_order() -> u32 {
    1000
}

fn check_fields(paths: &[String], what: &str) -> Result<(), String> {
    for path in paths {
        check_field(path).map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(())
}

fn is_regime_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Regime {
    fn from_toml(text: &str, calendars: &BTreeMap<String, Calendar>) -> Result<Regime, String> {
        let raw: RawRegime = toml::from_str(text).map_err(|e| e.to_string())?;
        if !is_regime_id(&raw.id) {
            return Err(format!(
                "id `{}` must be lowercase letters, digits and `-`",
                raw.id
            ));
        }
        let stage_ids: BTreeSet<String> = raw.stages.iter().map(|s| s.id.clone()).collect();
        if stage_ids.len() != raw.stages.len() {
            return Err("two stages have the same id".into());
        }
        if raw.stages.is_empty() {
            return Err("a regime needs at least one stage".into());
        }
        let mut applies_if = Vec::new();
        for (index, a) in raw.applies_if.into_iter().enumerate() {
            applies_if.push(Applicability {
                condition: condition_from(a.condition, &stage_ids, false)
                    .map_err(|e| format!("applies_if[{index}]: {e}"))?,
                because: a.because,
                otherwise: a.otherwise,
            });
        }
        let mut stages = Vec::new();
        for raw_stage in raw.stages {
            let at = format!("stage `{}`", raw_stage.id);
            if !is_regime_id(&raw_stage.id) {
                return Err(format!(
                    "{at}: stage ids are lowercase letters, digits and `-`"
                ));
            }
            let when = raw_stage
                .when
                .map(|c| condition_from(c, &stage_ids, false))
                .transpose()
                .map_err(|e| format!("{at}: when: {e}"))?;
            if let Some(trigger) = &raw_stage.trigger {
                check_field(trigger).map_err(|e| format!("{at}: trigger: {e}"))?;
            }
            let due = raw_stage
                .due
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    c.build(&stage_ids, calendars)
                        .map_err(|e| format!("{at}: due[{i}]: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if due.is_empty() && raw_stage.pending.is_none() {
                return Err(format!(
                    "{at}: a stage without a `due` clock must say why in `pending`"
                ));
            }
            let relief = raw_stage
                .relief
                .map(|r| -> Result<Relief, String> {
                    let calendar = if r.calendar == "member_state" {
                        None
                    } else if calendars.contains_key(&r.calendar) {
                        Some(r.calendar)
                    } else {
                        return Err(format!("calendar `{}` is not defined", r.calendar));
                    };
                    Ok(Relief {
                        calendar,
                        at: parse_clock_time(&r.next_working_day_at)?,
                        when: r
                            .when
                            .map(|c| condition_from(c, &stage_ids, false))
                            .transpose()?,
                        basis: r.basis,
                    })
                })
                .transpose()
                .map_err(|e| format!("{at}: relief: {e}"))?;
            check_fields(&raw_stage.required, &format!("{at}: required"))?;
            check_fields(&raw_stage.optional, &format!("{at}: optional"))?;
            let mut required_if = Vec::new();
            for (i, r) in raw_stage.required_if.into_iter().enumerate() {
                check_field(&r.field).map_err(|e| format!("{at}: required_if[{i}]: {e}"))?;
                required_if.push(ConditionalField {
                    field: r.field,
                    when: condition_from(r.when, &stage_ids, true)
                        .map_err(|e| format!("{at}: required_if[{i}]: {e}"))?,
                });
            }
            for (i, section) in raw_stage.sections.iter().enumerate() {
                check_fields(&section.fields, &format!("{at}: sections[{i}]"))?;
            }
            stages.push(Stage {
                id: raw_stage.id,
                name: raw_stage.name,
                article: raw_stage.article,
                recipient: raw_stage.recipient,
                when,
                not_applicable: raw_stage.not_applicable,
                trigger: raw_stage.trigger,
                due,
                pending: raw_stage.pending,
                relief,
                required: raw_stage.required,
                optional: raw_stage.optional,
                required_if,
                sections: raw_stage.sections,
                notes: raw_stage.notes,
            });
        }
        let regime = Regime {
            id: raw.id,
            name: raw.name,
            version: raw.version,
            order: raw.order,
            legal_basis: raw.legal_basis,
            legal_status: raw.legal_status,
            recipient: raw.recipient,
            sources: raw.sources,
            notes: raw.notes,
            supersedes: raw.supersedes,
            applies_if,
            stages,
        };
        regime.check_acyclic()?;
        Ok(regime)
    }

    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// Stages whose deadline this stage's deadline depends on.
    fn dependencies(stage: &Stage) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(when) = &stage.when {
            when.stage_refs(&mut out);
        }
        for candidate in &stage.due {
            match &candidate.anchor {
                AnchorRef::Submission(s) | AnchorRef::DeadlineOf(s) => out.push(s.clone()),
                _ => {}
            }
            if let Some(when) = &candidate.when {
                when.stage_refs(&mut out);
            }
        }
        out
    }

    fn check_acyclic(&self) -> Result<(), String> {
        fn visit(
            regime: &Regime,
            id: &str,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Result<(), String> {
            if done.contains(id) {
                return Ok(());
            }
            if path.iter().any(|p| p == id) {
                path.push(id.to_string());
                return Err(format!(
                    "stage deadlines depend on each other in a cycle: {}",
                    path.join(" -> ")
                ));
            }
            path.push(id.to_string());
            if let Some(stage) = regime.stage(id) {
                for dep in Regime::dependencies(stage) {
                    visit(regime, &dep, path, done)?;
                }
            }
            path.pop();
            done.insert(id.to_string());
            Ok(())
        }
        let mut done = BTreeSet::new();
        for stage in &self.stages {
            visit(self, &stage.id, &mut Vec::new(), &mut done)?;
        }
        Ok(())
    }
}

// ----------------------------------------------------------------- rule set

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));
}

/// Every regime and calendar the engine knows, checked and ready to assess.
#[derive(Debug, Clone)]
pub struct RuleSet {
    regimes: Vec<Regime>,
    calendars: BTreeMap<String, Calendar>,
}

/// Collects rule and calendar files, then checks them together.
#[derive(Debug, Clone, Default)]
pub struct RuleSetBuilder {
    regime_files: Vec<(String, String)>,
    calendar_files: Vec<(String, String)>,
}

impl RuleSetBuilder {
    /// Starts from the files compiled into the binary.
    pub fn embedded() -> Self {
        RuleSetBuilder {
            regime_files: embedded::REGIME_FILES
                .iter()
                .map(|(n, t)| (format!("regimes/{n}"), (*t).to_string()))
                .collect(),
            calendar_files: embedded::CALENDAR_FILES
                .iter()
                .map(|(n, t)| (format!("calendars/{n}"), (*t).to_string()))
                .collect(),
        }
    }

    /// Adds a regime file; one with the id of a regime already present
    /// replaces it (a final rule replacing a proposed one).
    pub fn regime_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.regime_files.push((name.into(), text.into()));
        self
    }

    /// Adds a calendar file; one with an id already present replaces it.
    pub fn calendar_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.calendar_files.push((name.into(), text.into()));
        self
    }

    pub fn build(self) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut calendars = BTreeMap::new();
        for (file, text) in &self.calendar_files {
            match Calendar::from_toml(text) {
                Ok(calendar) => {
                    calendars.insert(calendar.id.clone(), calendar);
                }
                Err(message) => errors.push(RuleError {
                    file: file.clone(),
                    message,
                }),
            }
        }
        let mut regimes: BTreeMap<String, Regime> = BTreeMap::new();
        for (file, text) in &self.regime_files {
            match Regime::from_toml(text, &calendars) {
                Ok(regime) => {
                    regimes.insert(regime.id.clone(), regime);
                }
                Err(message) => errors.push(RuleError {
                    file: file.clone(),
                    message,
                }),
            }
        }
        for regime in regimes.values() {
            for superseded in &regime.supersedes {
                if !regimes.contains_key(superseded) {
                    errors.push(RuleError {
                        file: format!("regime `{}`", regime.id),
                        message: format!("supersedes `{superseded}`, which is not a known regime"),
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut regimes: Vec<Regime> = regimes.into_values().collect();
        regimes.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        Ok(RuleSet { regimes, calendars })
    }
}

impl RuleSet {
    /// The rule set compiled into the binary.
    pub fn embedded() -> Result<RuleSet, Vec<RuleError>> {
        RuleSetBuilder::embedded().build()
    }

    pub fn regimes(&self) -> &[Regime] {
        &self.regimes
    }

    pub fn regime(&self, id: &str) -> Option<&Regime> {
        self.regimes.iter().find(|r| r.id == id)
    }

    pub fn calendar(&self, id: &str) -> Option<&Calendar> {
        self.calendars.get(id)
    }
}

impl fmt::Display for LegalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LegalStatus::Binding => "binding",
            LegalStatus::Proposed => "proposed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regime(text: &str) -> Result<Regime, String> {
        let rules = RuleSetBuilder::embedded();
        let mut calendars = BTreeMap::new();
        for (_, text) in rules.calendar_files {
            let c = Calendar::from_toml(&text).unwrap();
            calendars.insert(c.id.clone(), c);
        }
        Regime::from_toml(text, &calendars)
    }

    const HEAD: &str = r#"
        id = "x"
        name = "X"
        version = "1"
        legal_basis = "Act"
        legal_status = "binding"
        recipient = "Someone"
        applies_if = []
    "#;

    #[test]
    fn the_embedded_rule_set_loads() {
        let rules = RuleSet::embedded().unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let ids: Vec<&str> = rules.regimes().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["nis2", "cra", "gdpr", "dora", "circia", "sec-8k", "hipaa"]
        );
    }

    #[test]
    fn unknown_fields_in_rules_are_rejected_at_load() {
        let err = regime(&format!(
            "{HEAD}\n[[stages]]\nid = \"a\"\nname = \"A\"\narticle = \"1\"\ndue = [{{ field = \"aware_att\", hours = 1 }}]\n"
        ))
        .unwrap_err();
        assert!(err.contains("aware_att"), "{err}");
    }

    #[test]
    fn enum_literals_are_checked_against_the_schema() {
        let text = format!(
            "{HEAD}\n[[stages]]\nid = \"a\"\nname = \"A\"\narticle = \"1\"\nwhen = {{ field = \"entity.nis2_class\", eq = \"essentiall\" }}\ndue = [{{ field = \"aware_at\", hours = 1 }}]\n"
        );
        let err = regime(&text).unwrap_err();
        assert!(
            err.contains("essentiall") && err.contains("essential, important"),
            "{err}"
        );
    }

    #[test]
    fn cyclic_stage_references_are_rejected() {
        let text = format!(
            "{HEAD}
[[stages]]
id = \"a\"
name = \"A\"
article = \"1\"
due = [{{ submission = \"b\", hours = 1 }}]
[[stages]]
id = \"b\"
name = \"B\"
article = \"2\"
due = [{{ deadline_of = \"a\", hours = 1 }}]
"
        );
        let err = regime(&text).unwrap_err();
        assert!(err.contains("cycle"), "{err}");
    }

    #[test]
    fn business_days_need_a_known_calendar() {
        let text = format!(
            "{HEAD}\n[[stages]]\nid = \"a\"\nname = \"A\"\narticle = \"1\"\ndue = [{{ field = \"aware_at\", business_days = 2, calendar = \"atlantis\" }}]\n"
        );
        let err = regime(&text).unwrap_err();
        assert!(
            err.contains("atlantis") && err.contains("us-federal"),
            "{err}"
        );
    }
}
