//! Consistency checks on an incident record, each reported with the field
//! path it concerns, so that a user can fix every problem in one pass.

use std::fmt;

use crate::record::{Incident, Money};
use crate::time::{self, Moment};

/// One problem in a record: where (`entity.nis2_class`, `iocs[2]`) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A record that cannot be assessed, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct InvalidRecord {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for InvalidRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(
            f,
            "the incident record has {count} problem{}:",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

/// EU Member States by ISO 3166-1 alpha-2 code.
pub const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

struct Collector {
    errors: Vec<FieldError>,
}

impl Collector {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `later` must not precede `earlier`; says which fact contradicts which.
    fn order(&mut self, earlier: Option<(&str, Moment)>, later: Option<(&str, Moment)>, why: &str) {
        if let (Some((earlier_path, earlier_at)), Some((later_path, later_at))) = (earlier, later)
            && later_at < earlier_at
        {
            self.push(
                later_path,
                format!("{later_at} is before {earlier_path} ({earlier_at}): {why}"),
            );
        }
    }
}

fn named(path: &str, value: Option<Moment>) -> Option<(&str, Moment)> {
    value.map(|v| (path, v))
}

/// Checks that need no rule set: time order, identifier formats, codes,
/// amounts. Rule-dependent checks (submission keys) are in `assess`.
pub fn consistency_errors(incident: &Incident) -> Vec<FieldError> {
    let mut c = Collector { errors: Vec::new() };
    let occurred_start = incident.occurred.as_ref().and_then(|o| o.start);
    let occurred_end = incident.occurred.as_ref().and_then(|o| o.end);
    let start = named("occurred.start", occurred_start);

    c.order(
        start,
        named("occurred.end", occurred_end),
        "an incident cannot end before it starts",
    );
    for (path, value, why) in [
        (
            "detected_at",
            incident.detected_at,
            "an incident cannot be detected before it occurred",
        ),
        (
            "aware_at",
            incident.aware_at,
            "the entity cannot become aware of an incident before it occurred",
        ),
        (
            "personal_data_aware_at",
            incident.personal_data_aware_at,
            "awareness of the breach cannot precede the incident",
        ),
        (
            "reasonable_belief_at",
            incident.reasonable_belief_at,
            "a reasonable belief that an incident occurred cannot precede it",
        ),
        (
            "classified_major_at",
            incident.classified_major_at,
            "an incident cannot be classified before it occurred",
        ),
        (
            "materiality_determined_at",
            incident.materiality_determined_at,
            "materiality cannot be determined before the incident occurred",
        ),
        (
            "ransom_paid_at",
            incident.ransom_paid_at,
            "a ransom for this incident cannot be paid before it occurred",
        ),
        (
            "recovered_at",
            incident.recovered_at,
            "recovery cannot precede the incident",
        ),
        (
            "resolved_at",
            incident.resolved_at,
            "resolution cannot precede the incident",
        ),
    ] {
        c.order(start, named(path, value), why);
    }
    c.order(
        named("detected_at", incident.detected_at),
        named("aware_at", incident.aware_at),
        "awareness of an incident follows its detection",
    );
    c.order(
        named("aware_at", incident.aware_at),
        named("classified_major_at", incident.classified_major_at),
        "an incident is classified only after the entity is aware of it",
    );
    if let (Some(start), Some(discovered)) = (occurred_start, incident.discovered_at)
        && discovered.0
            < start
                .timestamp()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
    {
        c.push(
            "discovered_at",
            format!(
                "{discovered} is before occurred.start ({start}): a breach cannot be discovered before it occurred"
            ),
        );
    }

    for (index, request) in incident.authority_requests.iter().enumerate() {
        if let Some(due) = request.due_at
            && due < request.requested_at
        {
            c.push(
                format!("authority_requests[{index}].due_at"),
                format!(
                    "{due} is before requested_at ({}): a request cannot be due before it is made",
                    request.requested_at
                ),
            );
        }
    }

    // A time of classification (or determination) says the flag is true;
    // a record saying both must not be resolved silently either way.
    for (flag_path, flag, at_path, at, what) in [
        (
            "major",
            incident.major,
            "classified_major_at",
            incident.classified_major_at,
            "classified as major",
        ),
        (
            "material",
            incident.material,
            "materiality_determined_at",
            incident.materiality_determined_at,
            "determined to be material",
        ),
    ] {
        if flag == Some(false)
            && let Some(at) = at
        {
            c.push(
                flag_path,
                format!(
                    "is false, but {at_path} ({at}) records when the incident was {what}: set {flag_path} to true or remove {at_path}"
                ),
            );
        }
    }

    check_entity(&mut c, incident);
    check_codes(&mut c, incident);
    check_amounts(&mut c, incident);
    c.errors
}

fn check_entity(c: &mut Collector, incident: &Incident) {
    let entity = &incident.entity;
    if let Some(lei) = &entity.lei
        && !lei_is_valid(lei)
    {
        c.push(
            "entity.lei",
            format!(
                "`{lei}` is not a valid LEI (ISO 17442: 20 letters or digits whose MOD 97-10 check digits are correct)"
            ),
        );
    }
    if let Some(name) = &entity.time_zone
        && time::time_zone(name).is_none()
    {
        c.push(
            "entity.time_zone",
            format!("`{name}` is not an IANA time zone name (for example Europe/Berlin)"),
        );
    }
    member_state_list(c, "entity.eu_establishments", &entity.eu_establishments);
    if let Some(contact) = &entity.contact
        && let Some(email) = &contact.email
        && !email_looks_valid(email)
    {
        c.push(
            "entity.contact.email",
            format!("`{email}` is not an e-mail address"),
        );
    }
}

fn check_codes(c: &mut Collector, incident: &Incident) {
    member_state_list(
        c,
        "member_states_affected",
        &incident.member_states_affected,
    );
    member_state_list(
        c,
        "member_states_available",
        &incident.member_states_available,
    );
    for (field, refs) in [
        ("iocs", &incident.iocs),
        ("threat_actors", &incident.threat_actors),
    ] {
        for (index, reference) in refs.iter().enumerate() {
            if let Err(error) = stix::Identifier::parse(reference) {
                c.push(
                    format!("{field}[{index}]"),
                    format!("`{reference}` is not a STIX identifier: {error}"),
                );
            }
        }
    }
    for (index, ttp) in incident.ttps.iter().enumerate() {
        if !attack_id_is_valid(ttp) {
            c.push(
                format!("ttps[{index}]"),
                format!("`{ttp}` is not an ATT&CK technique id (T1486 or T1566.001)"),
            );
        }
    }
    for (index, cve) in incident.vulnerabilities.iter().enumerate() {
        if !cve_id_is_valid(cve) {
            c.push(
                format!("vulnerabilities[{index}]"),
                format!("`{cve}` is not a CVE id (CVE-2026-12345)"),
            );
        }
    }
    for state in incident.residents_by_state.keys() {
        if state.len() != 2 || !state.bytes().all(|b| b.is_ascii_uppercase()) {
            c.push(
                format!("residents_by_state.{state}"),
                "keys are two-letter U.S. state or territory codes (CA, NY)",
            );
        }
    }
    if let Some(id) = &incident.id {
        match stix::Identifier::parse(id) {
            Ok(parsed) if parsed.object_type() == "incident" => {}
            Ok(_) => c.push(
                "id",
                format!("`{id}` must be an incident--<uuid> identifier"),
            ),
            Err(error) => c.push("id", format!("`{id}` is not a STIX identifier: {error}")),
        }
    }
}

fn check_amounts(c: &mut Collector, incident: &Incident) {
    let mut money = |path: &str, value: Option<&Money>| {
        if let Some(m) = value {
            if !(m.amount.is_finite() && m.amount >= 0.0) {
                c.push(
                    format!("{path}.amount"),
                    format!("{} is not a non-negative amount", m.amount),
                );
            }
            let code_ok = (2..=10).contains(&m.currency.len())
                && m.currency
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !code_ok {
                c.push(
                    format!("{path}.currency"),
                    format!(
                        "`{}` is not a currency code (ISO 4217 such as EUR, or a ticker such as BTC)",
                        m.currency
                    ),
                );
            }
        }
    };
    if let Some(dc) = &incident.dora_classification {
        money("dora_classification.economic", dc.economic.as_ref());
    }
    if let Some(cl) = &incident.costs_losses {
        money("costs_losses.direct", cl.direct.as_ref());
        money("costs_losses.indirect", cl.indirect.as_ref());
        money("costs_losses.recoveries", cl.recoveries.as_ref());
    }
    if let Some(r) = &incident.ransom {
        money("ransom.demand", r.demand.as_ref());
        money("ransom.amount", r.amount.as_ref());
    }
    if let Some(dc) = &incident.dora_classification {
        if let Some(pct) = dc.transactions_pct
            && !(0.0..=100.0).contains(&pct)
        {
            c.push(
                "dora_classification.transactions_pct",
                format!("{pct} is not a percentage between 0 and 100"),
            );
        }
        for (path, hours) in [
            ("dora_classification.duration", dc.duration),
            ("dora_classification.downtime", dc.downtime),
        ] {
            if let Some(h) = hours
                && !(h.is_finite() && h >= 0.0)
            {
                c.push(path, format!("{h} is not a non-negative number of hours"));
            }
        }
    }
    if let Some(total) = incident.individuals_affected {
        let by_state: u64 = incident
            .residents_by_state
            .values()
            .fold(0u64, |sum, n| sum.saturating_add(*n));
        if by_state > total {
            c.push(
                "residents_by_state",
                format!(
                    "the states add up to {by_state} residents, more than individuals_affected ({total})"
                ),
            );
        }
    }
}

fn member_state_list(c: &mut Collector, path: &str, codes: &[String]) {
    for (index, code) in codes.iter().enumerate() {
        if !EU_MEMBER_STATES.contains(&code.as_str()) {
            let hint = match code.as_str() {
                "EL" => " (Greece is GR in ISO 3166)",
                "UK" | "GB" => " (the United Kingdom is not an EU Member State)",
                _ => "",
            };
            c.push(
                format!("{path}[{index}]"),
                format!("`{code}` is not the ISO 3166-1 alpha-2 code of an EU Member State{hint}"),
            );
        }
    }
}

/// ISO 17442: 18 alphanumerics plus two check digits, MOD 97-10 (ISO 7064).
pub fn lei_is_valid(lei: &str) -> bool {
    if lei.len() != 20
        || !lei
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        || !lei[18..].bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let mut remainder: u32 = 0;
    for b in lei.bytes() {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

fn attack_id_is_valid(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('T') else {
        return false;
    };
    let (technique, sub) = match rest.split_once('.') {
        Some((t, s)) => (t, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(technique, 4) && sub.is_none_or(|s| digits(s, 3))
}

fn cve_id_is_valid(id: &str) -> bool {
    let mut parts = id.splitn(3, '-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("CVE"), Some(year), Some(number))
            if year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && number.len() >= 4
                && number.bytes().all(|b| b.is_ascii_digit())
    )
}

fn email_looks_valid(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lei_check_digits_are_verified() {
        // GLEIF's own LEI.
        assert!(lei_is_valid("506700GE1G29325QX363"));
        assert!(!lei_is_valid("506700GE1G29325QX364"));
        assert!(!lei_is_valid("506700GE1G29325QX36"));
    }

    #[test]
    fn identifier_formats() {
        assert!(attack_id_is_valid("T1486"));
        assert!(attack_id_is_valid("T1566.001"));
        assert!(!attack_id_is_valid("T14866"));
        assert!(!attack_id_is_valid("TA0001"));
        assert!(cve_id_is_valid("CVE-2024-3094"));
        assert!(!cve_id_is_valid("CVE-24-3094"));
    }
}
