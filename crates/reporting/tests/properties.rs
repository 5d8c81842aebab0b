//! Properties of the deadline engine over generated records.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use reporting::{DeadlineStatus, Incident, RuleSet, assess};
use serde_json::{Value, json};

fn rules() -> RuleSet {
    RuleSet::embedded().expect("embedded rules load")
}

/// Seconds in 2024-01-01 .. 2032-01-01.
fn instant() -> impl Strategy<Value = i64> {
    1_704_067_200i64..1_956_528_000i64
}

fn ts(seconds: i64) -> String {
    Timestamp::from_second(seconds).unwrap().to_string()
}

prop_compose! {
    fn record()(
        start in instant(),
        detect in 0i64..200_000,
        aware in 0i64..300_000,
        classify in 0i64..400_000,
        personal in 0i64..300_000,
        belief in 0i64..300_000,
        paid in proptest::option::of(0i64..600_000),
        determined in 0i64..900_000,
        submit_after in proptest::option::of(0i64..400_000),
        nis2 in prop::sample::select(vec!["essential", "important", "none"]),
        dora in prop::sample::select(vec!["none", "credit_institution", "payment_institution", "ccp"]),
        state in prop::sample::select(vec!["DE", "FR", "EE", "IT"]),
        tsp in any::<bool>(),
        ongoing in any::<bool>(),
        individuals in 0u64..2000,
    ) -> Value {
        let detected = start + detect;
        let aware_at = detected + aware;
        let mut record = json!({
            "entity": {
                "legal_name": "Generated Ltd",
                "eu_establishments": [state],
                "nis2_class": nis2,
                "dora_type": dora,
                "trust_service_provider": tsp,
                "gdpr_role": "controller",
                "pde_manufacturer": true,
                "circia_covered": true,
                "sec_filer": "form_8k",
                "hipaa_role": "covered_entity",
            },
            "occurred": {"start": ts(start)},
            "detected_at": ts(detected),
            "aware_at": ts(aware_at),
            "classified_major_at": ts(aware_at + classify),
            "personal_data_aware_at": ts(start + personal),
            "reasonable_belief_at": ts(start + belief),
            "materiality_determined_at": ts(start + determined),
            "discovered_at": ts(start + detect)[..10],
            "significant": true, "major": true, "substantial": true, "material": true,
            "cra_event": "severe_incident",
            "unsecured_phi": true,
            "individuals_affected": individuals,
            "ongoing": ongoing,
        });
        if let Some(p) = paid {
            record["ransom_paid_at"] = json!(ts(start + p));
        }
        if let Some(after) = submit_after {
            record["submissions"] = json!({
                "nis2": {"notification": ts(aware_at + after)},
                "dora": {"initial": ts(aware_at + classify + after)},
            });
        }
        record
    }
}

fn parse(record: &Value) -> Incident {
    Incident::from_json(&record.to_string()).expect("generated records are valid")
}

fn instant_of(record: &Value, path: &str) -> Option<Timestamp> {
    let text = record
        .pointer(&format!("/{}", path.replace('.', "/")))?
        .as_str()?;
    if text.len() == 10 {
        return format!("{text}T00:00:00Z").parse().ok();
    }
    text.parse().ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_deadline_never_precedes_its_trigger(record in record()) {
        let rules = rules();
        let incident = parse(&record);
        let at = Timestamp::from_second(1_900_000_000).unwrap();
        let assessment = assess(&rules, &incident, at).unwrap();
        for regime in assessment.regimes.iter().filter(|r| r.applies) {
            let rule = rules.regime(&regime.id).unwrap();
            for stage in &regime.stages {
                let Some(due) = stage.due else { continue };
                let trigger = rule.stage(&stage.id).unwrap().trigger.clone();
                if let Some(trigger) = trigger
                    && let Some(start) = instant_of(&record, &trigger)
                {
                    prop_assert!(
                        due.timestamp() >= start,
                        "{}/{}: due {} before {trigger} {}", regime.id, stage.id, due, start
                    );
                }
            }
        }
    }

    #[test]
    fn assess_is_deterministic(record in record()) {
        let rules = rules();
        let incident = parse(&record);
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let first = serde_json::to_string(&assess(&rules, &incident, at).unwrap()).unwrap();
        let again = serde_json::to_string(&assess(&rules, &parse(&record), at).unwrap()).unwrap();
        prop_assert_eq!(first, again);
    }

    #[test]
    fn submitting_moves_dependent_deadlines_only_as_the_rule_allows(
        record in record(),
        after_a in 0i64..400_000,
        after_b in 0i64..400_000,
    ) {
        let rules = rules();
        let at = Timestamp::from_second(1_900_000_000).unwrap();
        let aware = instant_of(&record, "aware_at").unwrap();
        let mut base = record.clone();
        base.as_object_mut().unwrap().remove("submissions");
        base["ongoing"] = json!(false);
        let before = assess(&rules, &parse(&base), at).unwrap();
        let (early, late) = (after_a.min(after_b), after_a.max(after_b));
        let with = |after: i64| {
            let mut r = base.clone();
            r["submissions"] = json!({"nis2": {"notification": ts(aware.as_second() + after)}});
            assess(&rules, &parse(&r), at).unwrap()
        };
        let (sooner, later) = (with(early), with(late));
        let nis2 = |a: &reporting::Assessment, stage: &str| {
            a.regime("nis2").and_then(|r| r.stage(stage)).cloned()
        };
        if let (Some(prov), Some(s1), Some(s2)) = (nis2(&before, "final"), nis2(&sooner, "final"), nis2(&later, "final")) {
            prop_assert_eq!(prov.deadline_status, DeadlineStatus::Provisional);
            prop_assert_eq!(s1.deadline_status, DeadlineStatus::Binding);
            let sent1 = aware.checked_add(SignedDuration::from_secs(early)).unwrap();
            let sent2 = aware.checked_add(SignedDuration::from_secs(late)).unwrap();
            let (d1, d2) = (s1.due.unwrap().timestamp(), s2.due.unwrap().timestamp());
            // Exactly what the rule allows: the submission plus one month
            // (Reg. 1182/71, clamped, ending no later than that day in the
            // entity's time zone), never earlier than 28 days after it.
            let zone = reporting::time::time_zone(&before.time_zone).unwrap();
            prop_assert_eq!(
                Some(d1),
                reporting::clock::add_months_clamped_within_local_day(sent1, 1, &zone)
            );
            prop_assert_eq!(
                Some(d2),
                reporting::clock::add_months_clamped_within_local_day(sent2, 1, &zone)
            );
            prop_assert!(d1 >= sent1.checked_add(SignedDuration::from_hours(28 * 24)).unwrap());
            // A later submission never gives a materially earlier deadline.
            // Keeping the UTC time of day while clamping to month end means
            // 30 Oct 23:00 -> 30 Nov 23:00 but 31 Oct 00:00 -> 30 Nov 00:00,
            // so "materially" allows less than one day (see README).
            let day = SignedDuration::from_hours(24);
            prop_assert!(d2.checked_add(day).unwrap() > d1);
            // Submitting on time never moves the deadline materially past
            // the provisional one, for the same reason.
            let notification_due = nis2(&before, "notification").unwrap().due.unwrap().timestamp();
            if sent1 <= notification_due {
                prop_assert!(d1 < prov.due.unwrap().timestamp().checked_add(day).unwrap());
            }
            // Stages that do not count from the submission keep their deadline.
            for id in ["early-warning", "notification"] {
                prop_assert_eq!(nis2(&before, id).unwrap().due, nis2(&sooner, id).unwrap().due);
            }
        }
    }

    #[test]
    fn arbitrary_field_values_never_panic(
        field in prop::sample::select(vec![
            "aware_at", "discovered_at", "significant", "gdpr_risk", "ttps", "iocs",
            "submissions", "residents_by_state", "individuals_affected", "occurred", "entity",
        ]),
        value in prop_oneof![
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(Value::Bool),
            Just(json!(null)),
            Just(json!([])),
            Just(json!({"x": 1})),
            Just(json!(["T1486", 5])),
            Just(json!("9999-12-31T23:59:59Z")),
            Just(json!("-009999-01-01T00:00:00Z")),
        ],
    ) {
        let rules = rules();
        let mut record = json!({
            "entity": {"legal_name": "X", "nis2_class": "essential", "hipaa_role": "covered_entity", "sec_filer": "form_8k"},
            "significant": true, "unsecured_phi": true, "material": true,
            "aware_at": "2026-11-14T02:30:00Z", "discovered_at": "2026-11-14",
            "materiality_determined_at": "9999-12-25T00:00:00Z",
        });
        record[field] = value;
        if let Ok(incident) = reporting::parse_record(&rules, &record.to_string()) {
            let _ = assess(&rules, &incident, Timestamp::MAX);
        }
    }
}
