//! Incidents on a node: who sees them, versions, submissions turning
//! provisional deadlines into binding ones, and sharing the STIX export into
//! a community collection under the sharing policy.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use node::{IncidentError, Node, ShareRequest, SubmissionRequest};
use reporting::{DeadlineStatus, RuleSet, Tlp};
use serde_json::Value;
use sharing::{Owner, Principal, Role};
use store::{
    AuditFilter, AuditStore, Collection, DirectoryStore, NewCollection, ObjectQuery, SqliteOptions,
    SqliteStore,
};

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reporting/tests/vectors")
}

fn vector(name: &str, file: &str) -> String {
    std::fs::read_to_string(vectors().join(name).join(file)).unwrap()
}

/// The energy-operator ransomware incident before any report was made.
fn ransomware() -> String {
    vector("v01b-nis2-final-provisional", "incident.json")
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

const ASSESSED: &str = "2026-11-16T20:00:00Z";

/// Nordwerk (the reporting operator), a national CERT and a vendor share the
/// "Dialogue" community; an outsider organisation does not belong to it.
struct World {
    _dir: tempfile::TempDir,
    node: Node,
    store: Arc<SqliteStore>,
    analyst: Principal,
    reader: Principal,
    cert: Principal,
    vendor: Principal,
    outsider: Principal,
    admin: Principal,
    dialogue: Collection,
    outsider_own: Collection,
    wider: Collection,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(dir.path().join("entente.db"), SqliteOptions::default()).unwrap(),
    );
    let rules = RuleSet::embedded().unwrap();
    let node = Node::new(store.clone(), stix::Validator::new())
        .unwrap()
        .with_reporting_rules(rules);
    let org = |n: u32, name: &str| {
        store
            .create_org(
                name,
                &format!("identity--{n:08x}-0000-4000-8000-000000000000"),
                &store::AuditEntry::default(),
            )
            .unwrap()
    };
    let nordwerk = org(1, "Nordwerk");
    let cert = org(2, "National CERT");
    let vendor = org(3, "Vendor");
    let outsider = org(4, "Outsider");
    let dialogue_community = store
        .create_community("Dialogue", false, &store::AuditEntry::default())
        .unwrap();
    for o in [&nordwerk, &cert, &vendor] {
        store
            .add_member(
                dialogue_community.id,
                o.id,
                false,
                &store::AuditEntry::default(),
            )
            .unwrap();
    }
    let wider_community = store
        .create_community("Wider", false, &store::AuditEntry::default())
        .unwrap();
    for o in [&cert, &outsider] {
        store
            .add_member(
                wider_community.id,
                o.id,
                false,
                &store::AuditEntry::default(),
            )
            .unwrap();
    }
    let user = |org: &store::Org, name: &str, role: Role| {
        let u = store
            .create_user(org.id, name, role, &store::AuditEntry::default())
            .unwrap();
        node.user_principal(&u).unwrap()
    };
    let collection = |title: &str, owner: Owner| {
        store
            .create_collection(
                &NewCollection {
                    id: uuid::Uuid::new_v4().to_string(),
                    api_root: "api1".into(),
                    title: title.into(),
                    description: None,
                    alias: None,
                    owner,
                    default_tlp: None,
                    public: false,
                    signed: true,
                    hide_expired: false,
                },
                &store::AuditEntry::default(),
            )
            .unwrap()
    };
    store
        .create_api_root(
            &store::ApiRoot {
                path: "api1".into(),
                title: "API".into(),
                description: None,
                max_content_length: 1 << 20,
            },
            &store::AuditEntry::default(),
        )
        .unwrap();
    World {
        analyst: user(&nordwerk, "ana", Role::Analyst),
        reader: user(&nordwerk, "rita", Role::Reader),
        cert: user(&cert, "carl", Role::Analyst),
        vendor: user(&vendor, "vera", Role::Analyst),
        outsider: user(&outsider, "otto", Role::Admin),
        admin: Principal::node_admin(99),
        dialogue: collection(
            "Dialogue incidents",
            Owner::Community(dialogue_community.id),
        ),
        outsider_own: collection("Outsider's own", Owner::Org(outsider.id)),
        wider: collection("Wider", Owner::Community(wider_community.id)),
        node,
        store,
        _dir: dir,
    }
}

fn stage<'a>(
    assessment: &'a reporting::Assessment,
    regime: &str,
    stage: &str,
) -> &'a reporting::StageAssessment {
    assessment
        .regime(regime)
        .and_then(|r| r.stage(stage))
        .unwrap_or_else(|| panic!("no stage {regime}/{stage}"))
}

fn not_found(result: Result<impl std::fmt::Debug, IncidentError>) -> String {
    match result {
        Err(IncidentError::NotFound(message)) => message,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// The audit actions after the world's setup (whose entries name no action).
fn audit_actions(w: &World) -> Vec<String> {
    w.store
        .audit(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| r.entry.action)
        .filter(|a| !a.is_empty())
        .collect()
}

#[test]
fn an_incident_is_visible_to_its_organisation_and_node_administrators_only() {
    let w = world();
    let created = w
        .node
        .create_incident(&w.analyst, &ransomware(), at(ASSESSED))
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.organisation, "Nordwerk");
    assert_eq!(created.stix_id, format!("incident--{}", created.id));
    assert_eq!(created.history.len(), 1);
    assert_eq!(
        created.history[0].recorded_by.as_deref(),
        Some("Nordwerk/ana")
    );
    let id = created.id.as_str();

    // Its organisation's reader reads, but may not change or share.
    let shown = w.node.show_incident(&w.reader, id, at(ASSESSED)).unwrap();
    assert_eq!(shown.record["title"], "Ransomware at Nordwerk Energie");
    assert!(matches!(
        w.node
            .update_incident(&w.reader, id, &ransomware(), None, at(ASSESSED)),
        Err(IncidentError::Forbidden(_))
    ));
    let submission = SubmissionRequest {
        regime: "nis2".into(),
        stage: "early-warning".into(),
        submitted_at: "2026-11-14T20:00:00Z".parse().unwrap(),
        reference: None,
    };
    assert!(matches!(
        w.node
            .record_submission(&w.reader, id, &submission, at(ASSESSED)),
        Err(IncidentError::Forbidden(_))
    ));
    assert_eq!(
        w.node
            .list_incidents(&w.reader, at(ASSESSED))
            .unwrap()
            .incidents
            .len(),
        1
    );

    // Another organisation (even a community partner, even its admin) and
    // a node-level token are told it does not exist, in the same words as
    // for an id that really does not exist.
    let absent = not_found(w.node.show_incident(
        &w.cert,
        "00000000-0000-4000-8000-000000000000",
        at(ASSESSED),
    ));
    for other in [
        &w.cert,
        &w.outsider,
        &Principal::service(7, []),
        &Principal::anonymous(),
    ] {
        let message = not_found(w.node.show_incident(other, id, at(ASSESSED)));
        assert_eq!(
            message.replace(id, "ID"),
            absent.replace("00000000-0000-4000-8000-000000000000", "ID")
        );
        not_found(
            w.node
                .update_incident(other, id, &ransomware(), None, at(ASSESSED)),
        );
        not_found(
            w.node
                .record_submission(other, id, &submission, at(ASSESSED)),
        );
        not_found(w.node.incident_versions(other, id));
        let share = ShareRequest {
            collection: w.dialogue.id.clone(),
            ..Default::default()
        };
        not_found(w.node.share_incident(other, id, &share, at(ASSESSED)));
        assert!(
            w.node
                .list_incidents(other, at(ASSESSED))
                .unwrap()
                .incidents
                .is_empty()
        );
    }

    // Node administrators see and may change every organisation's incidents.
    assert_eq!(
        w.node.show_incident(&w.admin, id, at(ASSESSED)).unwrap().id,
        id
    );
    assert_eq!(
        w.node
            .list_incidents(&w.admin, at(ASSESSED))
            .unwrap()
            .incidents
            .len(),
        1
    );

    // Only a writing user of an organisation records incidents.
    for (who, name) in [
        (&w.admin, "admin"),
        (&w.reader, "reader"),
        (&Principal::service(7, []), "service"),
    ] {
        assert!(
            matches!(
                w.node.create_incident(who, &ransomware(), at(ASSESSED)),
                Err(IncidentError::Forbidden(_))
            ),
            "{name}"
        );
    }
    assert_eq!(audit_actions(&w), ["incident-create"]);
}

#[test]
fn recording_a_submission_turns_deadlines_counted_from_it_binding() {
    let w = world();
    let id = w
        .node
        .create_incident(&w.analyst, &ransomware(), at(ASSESSED))
        .unwrap()
        .id;
    let before = w.node.show_incident(&w.analyst, &id, at(ASSESSED)).unwrap();
    let final_report = stage(&before.assessment, "nis2", "final");
    assert_eq!(final_report.deadline_status, DeadlineStatus::Provisional);
    assert_eq!(
        final_report.due.unwrap().to_string(),
        "2026-12-17T02:30:00Z"
    );

    let outcome = w
        .node
        .record_submission(
            &w.analyst,
            &id,
            &SubmissionRequest {
                regime: "nis2".into(),
                stage: "notification".into(),
                submitted_at: "2026-11-16T16:00:00+01:00".parse().unwrap(),
                reference: Some("BSI-2026-0042".into()),
            },
            at(ASSESSED),
        )
        .unwrap();
    assert_eq!(outcome.incident.version, 2);
    assert_eq!(
        outcome.submission.reference.as_deref(),
        Some("BSI-2026-0042")
    );
    assert_eq!(
        outcome.submission.recorded_by.as_deref(),
        Some("Nordwerk/ana")
    );
    assert_eq!(
        outcome.submission.submitted_at.to_string(),
        "2026-11-16T15:00:00Z"
    );
    let firmed: Vec<(&str, &str, String, DeadlineStatus)> = outcome
        .firmed
        .iter()
        .map(|f| {
            (
                f.regime.as_str(),
                f.stage.as_str(),
                f.due.unwrap().to_string(),
                f.deadline_status,
            )
        })
        .collect();
    assert_eq!(
        firmed,
        [(
            "nis2",
            "final",
            "2026-12-16T15:00:00Z".to_string(),
            DeadlineStatus::Binding
        )]
    );
    assert_eq!(
        outcome.incident.record["submissions"]["nis2"]["notification"],
        "2026-11-16T15:00:00Z"
    );

    // The stored record now is research vector V1 (V1b plus that
    // submission): every deadline agrees with V1's expected assessment.
    let expected: Value =
        serde_json::from_str(&vector("v01-energy-ransomware-eu-us", "expected.json")).unwrap();
    let shown = w
        .node
        .show_incident(&w.analyst, &id, at(expected["at"].as_str().unwrap()))
        .unwrap();
    let got = serde_json::to_value(&shown.assessment).unwrap();
    for (want_regime, got_regime) in expected["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(got["regimes"].as_array().unwrap())
    {
        assert_eq!(want_regime["id"], got_regime["id"]);
        assert_eq!(want_regime["applies"], got_regime["applies"]);
        for (want, got) in want_regime["stages"]
            .as_array()
            .unwrap()
            .iter()
            .zip(got_regime["stages"].as_array().unwrap())
        {
            // The vector states what it checks; other keys are left out.
            for key in ["id", "due", "deadline_status", "overdue", "submitted_at"]
                .into_iter()
                .filter(|k| want.get(k).is_some())
            {
                assert_eq!(
                    want[key], got[key],
                    "{} {} {key}",
                    want_regime["id"], want["id"]
                );
            }
        }
    }
    assert_eq!(shown.submissions.len(), 1);
    assert_eq!(shown.history.len(), 2);

    // The same report again, unknown names, and impossible times.
    let request = |regime: &str, stage: &str, when: &str| SubmissionRequest {
        regime: regime.into(),
        stage: stage.into(),
        submitted_at: when.parse().unwrap(),
        reference: None,
    };
    match w.node.record_submission(
        &w.analyst,
        &id,
        &request("nis2", "notification", "2026-11-16T17:00:00Z"),
        at(ASSESSED),
    ) {
        Err(IncidentError::Conflict(message)) => {
            assert!(
                message.contains("already recorded as submitted at 2026-11-16T15:00:00Z"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    let paths = |result: Result<node::SubmissionOutcome, IncidentError>| -> Vec<(String, String)> {
        match result {
            Err(IncidentError::InvalidRequest(errors)) => {
                errors.into_iter().map(|e| (e.path, e.message)).collect()
            }
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    };
    let p = paths(w.node.record_submission(
        &w.analyst,
        &id,
        &request("nis3", "final", "2026-11-16T17:00:00Z"),
        at(ASSESSED),
    ));
    assert_eq!(p[0].0, "regime");
    assert!(p[0].1.contains("known regimes: nis2"), "{p:?}");
    let p = paths(w.node.record_submission(
        &w.analyst,
        &id,
        &request("nis2", "interim", "2026-11-16T17:00:00Z"),
        at(ASSESSED),
    ));
    assert_eq!(p[0].0, "stage");
    assert!(
        p[0].1
            .contains("its stages are: early-warning, notification"),
        "{p:?}"
    );
    let p = paths(w.node.record_submission(
        &w.analyst,
        &id,
        &request("nis2", "early-warning", "2026-11-14T01:00:00Z"),
        at(ASSESSED),
    ));
    assert_eq!(p[0].0, "submitted_at");
    assert!(p[0].1.contains("before aware_at"), "{p:?}");
    let p = paths(w.node.record_submission(
        &w.analyst,
        &id,
        &request("nis2", "early-warning", "2999-01-01T00:00:00Z"),
        at(ASSESSED),
    ));
    assert_eq!(p[0].0, "submitted_at");
    assert!(p[0].1.contains("in the future"), "{p:?}");
    // None of the refused requests changed anything.
    let after = w.node.show_incident(&w.analyst, &id, at(ASSESSED)).unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(after.submissions.len(), 1);
    assert_eq!(
        audit_actions(&w),
        ["incident-create", "incident-submission"]
    );
}

#[test]
fn updates_keep_every_version_and_refuse_stale_or_invalid_records() {
    let w = world();
    let id = w
        .node
        .create_incident(&w.analyst, &ransomware(), at(ASSESSED))
        .unwrap()
        .id;
    let mut record: Value = serde_json::from_str(&ransomware()).unwrap();
    record["title"] = "Ransomware at Nordwerk Energie (contained)".into();
    record["submissions"] = serde_json::json!({"gdpr": {"notification": "2026-11-17T10:00:00Z"}});
    let text = serde_json::to_string(&record).unwrap();
    let updated = w
        .node
        .update_incident(&w.analyst, &id, &text, Some(1), at(ASSESSED))
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(updated.updated > updated.created);
    assert_eq!(
        stage(&updated.assessment, "gdpr", "notification")
            .submitted_at
            .unwrap()
            .to_string(),
        "2026-11-17T10:00:00Z"
    );

    match w
        .node
        .update_incident(&w.analyst, &id, &text, Some(1), at(ASSESSED))
    {
        Err(IncidentError::Stale {
            expected: 1,
            current: 2,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let same = w
        .node
        .update_incident(&w.analyst, &id, &text, None, at(ASSESSED))
        .unwrap();
    assert_eq!(same.version, 2);
    assert!(
        same.notes[0].contains("nothing changed"),
        "{:?}",
        same.notes
    );

    // Dropping a recorded report is allowed (a correction), and said.
    let dropped = w
        .node
        .update_incident(&w.admin, &id, &ransomware(), Some(2), at(ASSESSED))
        .unwrap();
    assert_eq!(dropped.version, 3);
    assert!(
        dropped
            .notes
            .iter()
            .any(|n| n.contains("submissions.gdpr.notification")),
        "{:?}",
        dropped.notes
    );

    // An invalid record changes nothing.
    record["aware_at"] = "2026-11-13T00:00:00Z".into();
    match w
        .node
        .update_incident(&w.analyst, &id, &record.to_string(), None, at(ASSESSED))
    {
        Err(IncidentError::InvalidRecord(invalid)) => {
            assert!(
                invalid.errors.iter().any(|e| e.path == "aware_at"),
                "{invalid}"
            )
        }
        other => panic!("{other:?}"),
    }
    let versions = w.node.incident_versions(&w.reader, &id).unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        versions[1].record["title"],
        "Ransomware at Nordwerk Energie (contained)"
    );
    assert_eq!(
        versions[2].recorded_by, None,
        "the node administrator is no user"
    );
    assert_eq!(
        audit_actions(&w),
        ["incident-create", "incident-update", "incident-update"]
    );
}

#[test]
fn bad_records_are_refused_with_every_problem_and_its_field_path() {
    let w = world();
    for name in [
        "bad-aware-before-occurred",
        "bad-unknown-enum-value",
        "bad-submission-names-and-times",
        "bad-unknown-field",
        "bad-wrong-type",
        "bad-not-json",
        "bad-timestamp-without-offset",
        "bad-codes-and-identifiers",
    ] {
        let expected: Value = serde_json::from_str(&vector(name, "expected.json")).unwrap();
        let errors =
            match w
                .node
                .create_incident(&w.analyst, &vector(name, "incident.json"), at(ASSESSED))
            {
                Err(IncidentError::InvalidRecord(invalid)) => invalid.errors,
                other => panic!("{name}: {other:?}"),
            };
        for want in expected["errors"].as_array().unwrap() {
            let path = want["path"].as_str().unwrap();
            let contains = want["message_contains"].as_str().unwrap_or("");
            assert!(
                errors
                    .iter()
                    .any(|e| e.path == path && e.message.contains(contains)),
                "{name}: no error at {path} containing {contains:?} in {errors:?}"
            );
        }
    }
    assert!(
        w.node
            .list_incidents(&w.analyst, at(ASSESSED))
            .unwrap()
            .incidents
            .is_empty()
    );
    assert!(audit_actions(&w).is_empty());
}

#[test]
fn lists_put_overdue_reports_first_then_what_is_due_next() {
    let w = world();
    let ransomware_id = w
        .node
        .create_incident(&w.analyst, &ransomware(), at(ASSESSED))
        .unwrap()
        .id;
    // A later GDPR-only breach of the same operator: due after the first.
    let later = serde_json::json!({
        "title": "Misdirected e-mail",
        "entity": {"legal_name": "Nordwerk Energie GmbH", "eu_establishments": ["DE"], "gdpr_role": "controller", "nis2_class": "none", "dora_type": "none"},
        "occurred": {"start": "2026-11-16T08:00:00Z"},
        "aware_at": "2026-11-16T09:00:00Z",
        "personal_data_aware_at": "2026-11-16T09:00:00Z",
        "gdpr_risk": "risk"
    });
    let later_id = w
        .node
        .create_incident(&w.analyst, &later.to_string(), at(ASSESSED))
        .unwrap()
        .id;
    // Another organisation's incident never shows in Nordwerk's list.
    w.node
        .create_incident(&w.outsider, &later.to_string(), at(ASSESSED))
        .unwrap();

    let list = w.node.list_incidents(&w.analyst, at(ASSESSED)).unwrap();
    let ids: Vec<&str> = list.incidents.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [ransomware_id.as_str(), later_id.as_str()]);
    let first = &list.incidents[0];
    assert_eq!(first.applicable_regimes, ["nis2", "gdpr", "circia"]);
    let overdue: Vec<(&str, &str)> = first
        .overdue
        .iter()
        .map(|d| (d.regime.as_str(), d.stage.as_str()))
        .collect();
    assert_eq!(overdue, [("nis2", "early-warning")]);
    let next = first.next_deadline.as_ref().unwrap();
    assert_eq!(
        (next.regime.as_str(), next.stage.as_str()),
        ("nis2", "early-warning")
    );
    let upcoming: Vec<(&str, &str, String)> = first
        .upcoming
        .iter()
        .map(|d| (d.regime.as_str(), d.stage.as_str(), d.due.to_string()))
        .collect();
    assert_eq!(
        upcoming[..3],
        [
            ("nis2", "notification", "2026-11-17T02:30:00Z".to_string()),
            ("circia", "incident", "2026-11-17T02:30:00Z".to_string()),
            ("circia", "joint", "2026-11-17T02:30:00Z".to_string()),
        ]
    );
    assert!(first.upcoming.windows(2).all(|p| p[0].due <= p[1].due));
    let gdpr = &list.incidents[1];
    assert!(gdpr.overdue.is_empty());
    assert_eq!(
        gdpr.next_deadline.as_ref().unwrap().due.to_string(),
        "2026-11-19T09:00:00Z"
    );

    // Later, more is overdue.
    let list = w
        .node
        .list_incidents(&w.analyst, at("2026-11-20T00:00:00Z"))
        .unwrap();
    assert!(list.incidents.iter().all(|i| !i.overdue.is_empty()));
    assert_eq!(
        w.node
            .list_incidents(&w.admin, at(ASSESSED))
            .unwrap()
            .incidents
            .len(),
        3
    );
}

fn read_ids(w: &World, who: &Principal) -> Vec<String> {
    let page = w
        .node
        .read(
            who,
            &w.dialogue,
            &ObjectQuery {
                limit: 100,
                with_raw: true,
                ..Default::default()
            },
        )
        .unwrap();
    page.items
        .into_iter()
        .filter(|o| o.object_type == "incident")
        .map(|o| o.id)
        .collect()
}

#[test]
fn sharing_publishes_the_export_under_the_sharing_policy() {
    let w = world();
    let first = w
        .node
        .create_incident(&w.analyst, &ransomware(), at(ASSESSED))
        .unwrap();
    let share = |who: &Principal, id: &str, request: ShareRequest| {
        w.node.share_incident(who, id, &request, at(ASSESSED))
    };
    let into_dialogue = ShareRequest {
        collection: w.dialogue.id.clone(),
        ..Default::default()
    };
    let outcome = share(&w.analyst, &first.id, into_dialogue.clone()).unwrap();
    assert!(outcome.shared);
    assert_eq!(outcome.tlp, "TLP:AMBER+STRICT");
    assert_eq!(outcome.stix_id, first.stix_id);
    assert!(
        outcome.objects.iter().all(|o| o.outcome == "stored"),
        "{:?}",
        outcome.objects
    );

    // AMBER+STRICT without named recipients reaches the community's members.
    assert_eq!(read_ids(&w, &w.cert), [first.stix_id.as_str()]);
    assert_eq!(read_ids(&w, &w.vendor), [first.stix_id.as_str()]);
    assert!(matches!(
        w.node
            .collection_for(&w.outsider, Some("api1"), &w.dialogue.id, node::Need::Read),
        Err(node::NodeError::NotFound(_))
    ));
    let stored = w
        .node
        .read(
            &w.cert,
            &w.dialogue,
            &ObjectQuery {
                limit: 100,
                with_raw: true,
                ids: vec![first.stix_id.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    let raw = &stored.items[0].raw;
    let object: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(
        object["object_marking_refs"][0],
        Tlp::AmberStrict.marking_id()
    );
    assert_eq!(object["created"], stix_ms(first.created));
    assert_eq!(object["modified"], stix_ms(first.updated));
    // What stays with the reporter: contact, the ransom wallet, its name.
    for secret in [
        "soc@nordwerk.example",
        "bc1qexamplewalletaddress",
        "Nordwerk Energie GmbH",
    ] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }

    // The same version again stores nothing new.
    let again = share(&w.analyst, &first.id, into_dialogue.clone()).unwrap();
    assert!(!again.shared);

    // A second incident for the CERT alone: other members do not see it.
    let second = w
        .node
        .create_incident(
            &w.analyst,
            &vector("nis2-ongoing-progress-report", "incident.json"),
            at(ASSESSED),
        )
        .unwrap();
    share(
        &w.analyst,
        &second.id,
        ShareRequest {
            recipient_orgs: vec!["National CERT".into()],
            ..into_dialogue.clone()
        },
    )
    .unwrap();
    let mut both = vec![first.stix_id.clone(), second.stix_id.clone()];
    both.sort();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(read_ids(&w, &w.cert)), both);
    assert_eq!(read_ids(&w, &w.vendor), [first.stix_id.as_str()]);
    assert_eq!(sorted(read_ids(&w, &w.analyst)), both);

    // A recipient may not pass AMBER+STRICT on to a wider audience.
    let copy = w
        .node
        .read(
            &w.cert,
            &w.dialogue,
            &ObjectQuery {
                limit: 10,
                with_raw: true,
                ids: vec![second.stix_id.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    let object = stix::Validator::new()
        .validate_str(0, &copy.items[0].raw)
        .unwrap();
    let report = w
        .node
        .ingest(
            &w.cert,
            &w.wider,
            vec![(0, object)],
            Vec::new(),
            &Default::default(),
        )
        .unwrap();
    match &report.outcomes[0].outcome {
        node::Outcome::Refused { message: why, .. } => assert!(why.contains("TLP:AMBER"), "{why}"),
        other => panic!("passed on: {other:?}"),
    }

    // After an update, sharing stores a new version of the same object.
    let mut record: Value = serde_json::from_str(&ransomware()).unwrap();
    record["resolved_at"] = "2026-11-20T00:00:00Z".into();
    w.node
        .update_incident(
            &w.analyst,
            &first.id,
            &record.to_string(),
            None,
            at(ASSESSED),
        )
        .unwrap();
    let newer = share(&w.analyst, &first.id, into_dialogue.clone()).unwrap();
    assert!(newer.shared);
    assert_eq!(newer.version, 2);
    let versions = w
        .node
        .read(
            &w.cert,
            &w.dialogue,
            &ObjectQuery {
                limit: 10,
                with_raw: true,
                ids: vec![first.stix_id.clone()],
                versions: store::VersionMatch::all(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(versions.items.len(), 2);
    let created: Vec<Value> = versions
        .items
        .iter()
        .map(|o| serde_json::from_str::<Value>(&o.raw).unwrap()["created"].clone())
        .collect();
    assert_eq!(
        created[0], created[1],
        "created stays the same across versions"
    );

    // A chosen TLP: GREEN reaches members too, but names no recipients.
    let green = ShareRequest {
        tlp: Some(Tlp::Green),
        recipient_orgs: vec!["National CERT".into()],
        ..into_dialogue.clone()
    };
    let problem_paths = |result: Result<node::ShareOutcome, IncidentError>| -> Vec<String> {
        match result {
            Err(IncidentError::InvalidRequest(errors)) => {
                errors.into_iter().map(|e| e.path).collect()
            }
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    };
    assert_eq!(problem_paths(share(&w.analyst, &first.id, green)), ["tlp"]);
    let unknown = ShareRequest {
        recipient_orgs: vec!["National CERT".into(), "Nationl CERT".into()],
        ..into_dialogue.clone()
    };
    assert_eq!(
        problem_paths(share(&w.analyst, &first.id, unknown)),
        ["recipient_orgs[1]"]
    );
    let red = ShareRequest {
        tlp: Some(Tlp::Red),
        ..into_dialogue.clone()
    };
    assert_eq!(
        problem_paths(share(&w.analyst, &first.id, red)),
        ["recipient_users"]
    );

    // Who may share: the reporting organisation's writers only.
    assert!(matches!(
        share(&w.reader, &first.id, into_dialogue.clone()),
        Err(IncidentError::Forbidden(_))
    ));
    assert!(matches!(
        share(&w.admin, &first.id, into_dialogue.clone()),
        Err(IncidentError::Forbidden(_))
    ));
    // Into a collection the user may not write: as if it did not exist.
    let elsewhere = ShareRequest {
        collection: w.outsider_own.id.clone(),
        ..Default::default()
    };
    assert!(matches!(
        share(&w.analyst, &first.id, elsewhere),
        Err(IncidentError::Node(node::NodeError::NotFound(_)))
    ));

    let shares = w
        .store
        .audit(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.action == "incident-share")
        .map(|r| (r.entry.collection.unwrap_or_default(), r.entry.detail))
        .collect::<Vec<_>>();
    assert_eq!(shares.len(), 4, "{shares:?}");
    assert!(shares.iter().all(|(c, _)| c == &w.dialogue.id));
    assert!(
        shares[0].1.contains("version 1 at TLP:AMBER+STRICT"),
        "{shares:?}"
    );
    assert!(shares[1].1.contains("already shared"), "{shares:?}");
    assert!(shares[2].1.contains("for National CERT"), "{shares:?}");
}

fn stix_ms(m: reporting::Moment) -> String {
    format!("{:.3}", m.0)
}
