//! Leaks found by probing a node from the outside, each pinned by a test:
//! what a member may learn by posting objects and reading them back about a
//! pseudonymous member's real identity, about objects hidden from it, and
//! about when a pseudonymous source posts.

use std::sync::Arc;

use node::{IngestReport, Node, Outcome, RefusalReason};
use sharing::{Owner, Principal, Role, Tlp};
use store::{
    Collection, DirectoryStore, NewCollection, ObjectQuery, SqliteOptions, SqliteStore,
    VersionMatch,
};

const HELPDESK_ID: &str = "identity--00000001-0000-4000-8000-000000000000";
const CERT_ID: &str = "identity--00000002-0000-4000-8000-000000000000";
const VENDOR_ID: &str = "identity--00000003-0000-4000-8000-000000000000";
const OUTSIDER_ID: &str = "identity--00000004-0000-4000-8000-000000000000";

/// A helpdesk (pseudonymous), a CERT and a vendor in the "Dialogue"
/// community; the helpdesk is a named member of "Open" with the CERT and an
/// outsider, so the outsider and the CERT can learn the helpdesk's real id.
struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    node: Node,
    helpdesk: Principal,
    cert: Principal,
    vendor: Principal,
    outsider: Principal,
    dialogue: Collection,
    vendor_own: Collection,
    open: Collection,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(dir.path().join("entente.db"), SqliteOptions::default()).unwrap(),
    );
    let node = Node::new(store.clone(), stix::Validator::new()).unwrap();
    let helpdesk = store
        .create_org("Civic Helpdesk", HELPDESK_ID, &store::AuditEntry::default())
        .unwrap();
    let cert = store
        .create_org("National CERT", CERT_ID, &store::AuditEntry::default())
        .unwrap();
    let vendor = store
        .create_org("Vendor", VENDOR_ID, &store::AuditEntry::default())
        .unwrap();
    let outsider = store
        .create_org("Outsider", OUTSIDER_ID, &store::AuditEntry::default())
        .unwrap();
    let dialogue = store
        .create_community("Dialogue", false, &store::AuditEntry::default())
        .unwrap();
    store
        .add_member(
            dialogue.id,
            helpdesk.id,
            true,
            &store::AuditEntry::default(),
        )
        .unwrap();
    store
        .add_member(dialogue.id, cert.id, false, &store::AuditEntry::default())
        .unwrap();
    store
        .add_member(dialogue.id, vendor.id, false, &store::AuditEntry::default())
        .unwrap();
    let open = store
        .create_community("Open", true, &store::AuditEntry::default())
        .unwrap();
    for o in [&helpdesk, &cert, &outsider] {
        store
            .add_member(open.id, o.id, false, &store::AuditEntry::default())
            .unwrap();
    }
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
    let user = |org: &store::Org, name: &str, role: Role| {
        let u = store
            .create_user(org.id, name, role, &store::AuditEntry::default())
            .unwrap();
        node.user_principal(&u).unwrap()
    };
    let collection = |title: &str, owner: Owner, default_tlp: Option<Tlp>| {
        store
            .create_collection(
                &NewCollection {
                    id: uuid::Uuid::new_v4().to_string(),
                    api_root: "api1".into(),
                    title: title.into(),
                    description: None,
                    alias: None,
                    owner,
                    default_tlp,
                    public: false,
                    signed: true,
                    hide_expired: false,
                },
                &store::AuditEntry::default(),
            )
            .unwrap()
    };
    World {
        helpdesk: user(&helpdesk, "hugo", Role::Analyst),
        cert: user(&cert, "ana", Role::Analyst),
        vendor: user(&vendor, "vera", Role::Analyst),
        outsider: user(&outsider, "otto", Role::Analyst),
        dialogue: collection("Dialogue", Owner::Community(dialogue.id), Some(Tlp::Green)),
        vendor_own: collection("Vendor's own", Owner::Org(vendor.id), None),
        open: collection("Open", Owner::Community(open.id), Some(Tlp::Green)),
        node,
        store,
        _dir: dir,
    }
}

fn post(w: &World, who: &Principal, collection: &Collection, objects: &[String]) -> IngestReport {
    let body = format!(r#"{{"objects":[{}]}}"#, objects.join(","));
    w.node
        .ingest_envelope(who, collection, body.as_bytes())
        .unwrap()
}

fn read(w: &World, who: &Principal, collection: &Collection, ids: &[&str]) -> Vec<String> {
    let query = ObjectQuery {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        versions: VersionMatch::all(),
        limit: 1000,
        with_raw: true,
        ..Default::default()
    };
    w.node
        .read(who, collection, &query)
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.raw)
        .collect()
}

fn indicator(n: u32, extra: &str) -> (String, String) {
    let id = format!("indicator--{n:08x}-1111-4111-8111-111111111111");
    let json = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"ioc {n}","pattern":"[domain-name:value = 'ioc{n}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"{extra}}}"#
    );
    (id, json)
}

/// The pseudonym the vendor sees for the helpdesk in Dialogue.
fn pseudonym_seen_by_vendor(w: &World) -> String {
    let (id, json) = indicator(1, &format!(r#","created_by_ref":"{HELPDESK_ID}""#));
    assert_eq!(post(w, &w.helpdesk, &w.dialogue, &[json]).stored(), 1);
    let seen = read(w, &w.vendor, &w.dialogue, &[&id]);
    let value: serde_json::Value = serde_json::from_str(&seen[0]).unwrap();
    let pseudonym = value["created_by_ref"].as_str().unwrap().to_string();
    assert_ne!(pseudonym, HELPDESK_ID);
    pseudonym
}

fn outcome(report: &IngestReport) -> &Outcome {
    assert_eq!(report.outcomes.len(), 1, "{:?}", report.outcomes);
    &report.outcomes[0].outcome
}

#[test]
fn a_member_cannot_unmask_a_pseudonym_by_reading_back_its_own_text() {
    let w = world();
    let pseudonym = pseudonym_seen_by_vendor(&w);
    // The vendor writes every identity id it knows into an object and reads
    // it back: the one turned into the pseudonym would be the helpdesk's.
    let candidates = [CERT_ID, HELPDESK_ID, OUTSIDER_ID].join(" ");
    let (id, json) = indicator(2, &format!(r#","description":"{candidates}""#));
    assert_eq!(post(&w, &w.vendor, &w.dialogue, &[json]).stored(), 1);
    for reader in [&w.vendor, &w.cert] {
        let seen = read(&w, reader, &w.dialogue, &[&id]);
        assert_eq!(seen.len(), 1);
        assert!(!seen[0].contains(&pseudonym), "{}", seen[0]);
        assert!(seen[0].contains(&candidates), "{}", seen[0]);
    }
}

#[test]
fn a_member_cannot_unmask_a_pseudonym_by_posting_an_identity_under_its_id() {
    let w = world();
    let _ = pseudonym_seen_by_vendor(&w);
    let identity = |id: &str| {
        format!(
            r#"{{"type":"identity","spec_version":"2.1","id":"{id}","created":"2026-01-02T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z","name":"guess","identity_class":"organization"}}"#
        )
    };
    for candidate in [CERT_ID, HELPDESK_ID] {
        let report = post(&w, &w.vendor, &w.dialogue, &[identity(candidate)]);
        assert_eq!(report.stored(), 1, "{:?}", report.outcomes);
        // What the vendor posted, the vendor reads back, whoever's id it is.
        assert_eq!(
            read(&w, &w.vendor, &w.dialogue, &[candidate]).len(),
            1,
            "{candidate}"
        );
    }
    // The helpdesk's own identity object stays hidden behind the pseudonym.
    let own = identity(HELPDESK_ID).replace("2026-01-02", "2026-01-03");
    assert_eq!(post(&w, &w.helpdesk, &w.dialogue, &[own]).stored(), 1);
    let seen = read(&w, &w.vendor, &w.dialogue, &[HELPDESK_ID]);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("2026-01-02"));
}

#[test]
fn a_repost_does_not_confirm_a_guess_of_the_real_identity() {
    let w = world();
    let pseudonym = pseudonym_seen_by_vendor(&w);
    let (id, _) = indicator(1, "");
    let seen = read(&w, &w.vendor, &w.dialogue, &[&id]).remove(0);
    let answers: Vec<Outcome> = [CERT_ID, HELPDESK_ID]
        .iter()
        .map(|guess| {
            let guessed = seen.replace(&pseudonym, guess);
            outcome(&post(&w, &w.vendor, &w.dialogue, &[guessed])).clone()
        })
        .collect();
    assert!(
        answers.iter().all(|a| matches!(a, Outcome::Refused { .. })),
        "{answers:?}"
    );
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn a_repost_of_a_hidden_object_reads_like_a_conflicting_one() {
    let w = world();
    // AMBER for the CERT alone, in the community collection.
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000009-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;
    let marks = format!(
        r#","object_marking_refs":["{}","marking-definition--00000009-0000-4000-8000-000000000000"]"#,
        stix::Tlp::Amber.marking_id()
    );
    let (id, hidden) = indicator(5, &marks);
    let report = post(
        &w,
        &w.cert,
        &w.dialogue,
        &[recipients.to_string(), hidden.clone()],
    );
    assert_eq!(report.stored(), 2, "{:?}", report.outcomes);
    assert!(read(&w, &w.vendor, &w.dialogue, &[&id]).is_empty());
    // The vendor guesses the content exactly, and then wrongly.
    let exact = outcome(&post(
        &w,
        &w.vendor,
        &w.dialogue,
        std::slice::from_ref(&hidden),
    ))
    .clone();
    let wrong = hidden.replace("ioc 5", "ioc five");
    let guessed = outcome(&post(&w, &w.vendor, &w.dialogue, &[wrong])).clone();
    // Both refused alike, for the recipients marking it names (the CERT's,
    // which the vendor may not see): to the vendor it is unknown.
    assert!(
        matches!(
            exact,
            Outcome::Refused {
                reason: RefusalReason::UnknownMarking,
                ..
            }
        ),
        "{exact:?}"
    );
    assert_eq!(exact, guessed);
    // The CERT itself still gets its idempotent re-post.
    assert_eq!(
        outcome(&post(&w, &w.cert, &w.dialogue, &[hidden])),
        &Outcome::Duplicate
    );
}

#[test]
fn an_onward_refusal_does_not_describe_a_copy_the_poster_cannot_see() {
    let w = world();
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0000000a-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","users":["Vendor/vera"]}}}"#;
    let marks = format!(
        r#","object_marking_refs":["{}","marking-definition--0000000a-0000-4000-8000-000000000000"]"#,
        stix::Tlp::Red.marking_id()
    );
    let (id, red) = indicator(6, &marks);
    let report = post(&w, &w.cert, &w.dialogue, &[recipients.to_string(), red]);
    assert_eq!(report.stored(), 2, "{:?}", report.outcomes);
    // The outsider never saw it, and may not learn that it exists, nor its TLP.
    let (_, plain) = indicator(6, "");
    let outsider = outcome(&post(
        &w,
        &w.outsider,
        &w.open,
        std::slice::from_ref(&plain),
    ))
    .clone();
    // Not an onward share: it could not have it from this node. It is stored
    // as its own, exactly like an id nobody holds.
    assert!(matches!(outsider, Outcome::Stored(_)), "{outsider:?}");
    // A recipient who sees it is told that a changed copy (here: its
    // markings dropped) would be a new version, which only the CERT may make
    // (an unchanged one names the CERT's recipients marking, which only the
    // CERT sees: that is refused as unknown to the poster).
    let changed = outcome(&post(&w, &w.vendor, &w.vendor_own, &[plain])).clone();
    assert!(
        matches!(&changed, Outcome::Refused { message: why, reason: RefusalReason::Authorship } if why.contains("only the organisation that first shared")),
        "{changed:?} ({id})"
    );
}

#[test]
fn the_pseudonym_identity_does_not_tell_when_its_source_posts_hidden_objects() {
    let w = world();
    let _ = pseudonym_seen_by_vendor(&w);
    let versions = |w: &World| {
        let query = ObjectQuery {
            types: vec!["identity".into()],
            versions: VersionMatch::all(),
            limit: 1000,
            ..Default::default()
        };
        w.node
            .read(&w.vendor, &w.dialogue, &query)
            .unwrap()
            .items
            .len()
    };
    let before = versions(&w);
    assert_eq!(before, 1);
    // The helpdesk sends the CERT a RED object the vendor may not know of.
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0000000b-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","users":["National CERT/ana"]}}}"#;
    let marks = format!(
        r#","object_marking_refs":["{}","marking-definition--0000000b-0000-4000-8000-000000000000"]"#,
        stix::Tlp::Red.marking_id()
    );
    let (_, red) = indicator(7, &marks);
    std::thread::sleep(std::time::Duration::from_millis(2));
    let report = post(&w, &w.helpdesk, &w.dialogue, &[recipients.to_string(), red]);
    assert_eq!(report.stored(), 2, "{:?}", report.outcomes);
    assert_eq!(versions(&w), before);
}

#[test]
fn any_object_referring_to_a_hidden_object_is_withheld_not_only_relationships() {
    let w = world();
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0000000c-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;
    let file_id = "file--0000000c-0000-4000-8000-000000000000";
    let file = format!(
        r#"{{"type":"file","spec_version":"2.1","id":"{file_id}","name":"implant.apk","object_marking_refs":["{}","marking-definition--0000000c-0000-4000-8000-000000000000"]}}"#,
        stix::Tlp::Amber.marking_id()
    );
    let malware_id = "malware--0000000c-0000-4000-8000-000000000000";
    let malware = format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{malware_id}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"implant","is_family":false,"sample_refs":["{file_id}"]}}"#
    );
    let (custom_id, custom) = indicator(12, &format!(r#","x_sample_ref":"{file_id}""#));
    let report = post(
        &w,
        &w.cert,
        &w.dialogue,
        &[recipients.to_string(), file, malware, custom],
    );
    assert_eq!(report.stored(), 4, "{:?}", report.outcomes);
    for id in [malware_id, custom_id.as_str()] {
        assert!(read(&w, &w.vendor, &w.dialogue, &[id]).is_empty(), "{id}");
        assert_eq!(read(&w, &w.cert, &w.dialogue, &[id]).len(), 1, "{id}");
    }
}

/// What `reader` gets of `id` with a version selector, as versions.
fn versions_seen(
    w: &World,
    reader: &Principal,
    collection: &Collection,
    id: Option<&str>,
    versions: VersionMatch,
) -> Vec<String> {
    let query = ObjectQuery {
        ids: id.iter().map(|s| s.to_string()).collect(),
        versions,
        limit: 1000,
        ..Default::default()
    };
    w.node
        .read(reader, collection, &query)
        .unwrap()
        .items
        .into_iter()
        .filter(|o| id.is_none_or(|id| o.id == id) && o.object_type != "identity")
        .map(|o| o.version.format_with_precision(3))
        .collect()
}

#[test]
fn first_and_last_are_the_first_and_last_versions_the_reader_may_see() {
    let w = world();
    // Version 1 for the community, version 2 for the CERT alone.
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0000000d-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;
    let (id, v1) = indicator(13, "");
    let v2 = v1.replace(
        r#""modified":"2026-01-01T00:00:00.000Z""#,
        &format!(
            r#""modified":"2026-02-01T00:00:00.000Z","object_marking_refs":["{}","marking-definition--0000000d-0000-4000-8000-000000000000"]"#,
            stix::Tlp::Amber.marking_id()
        ),
    );
    let report = post(&w, &w.cert, &w.dialogue, &[v1, recipients.to_string(), v2]);
    assert_eq!(report.stored(), 3, "{:?}", report.outcomes);
    let (v1_at, v2_at) = ("2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z");
    // The vendor sees version 1 as the only, hence last, version: a newer
    // version it may not see must not make the object vanish.
    for selector in [VersionMatch::default(), VersionMatch::last_only()] {
        assert_eq!(
            versions_seen(&w, &w.vendor, &w.dialogue, Some(&id), selector.clone()),
            [v1_at]
        );
    }
    assert_eq!(
        versions_seen(
            &w,
            &w.cert,
            &w.dialogue,
            Some(&id),
            VersionMatch::last_only()
        ),
        [v2_at]
    );

    // The CERT first keeps an object to itself, then releases a later
    // version to the community: that later version is the first the vendor
    // may see, and an earlier hidden one must not show by its absence.
    let (released_id, kept) = indicator(
        14,
        &format!(
            r#","object_marking_refs":["{}","marking-definition--0000000d-0000-4000-8000-000000000000"]"#,
            stix::Tlp::Amber.marking_id()
        ),
    );
    let released = kept
        .replace("2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")
        .replace(
            &format!(
                r#","object_marking_refs":["{}","marking-definition--0000000d-0000-4000-8000-000000000000"]"#,
                stix::Tlp::Amber.marking_id()
            ),
            "",
        );
    assert_eq!(
        post(&w, &w.cert, &w.dialogue, &[kept, released]).stored(),
        2
    );
    let first = VersionMatch {
        first: true,
        ..Default::default()
    };
    assert_eq!(
        versions_seen(
            &w,
            &w.vendor,
            &w.dialogue,
            Some(&released_id),
            first.clone()
        ),
        ["2027-01-01T00:00:00.000Z"]
    );
    assert_eq!(
        versions_seen(&w, &w.cert, &w.dialogue, Some(&released_id), first),
        [v1_at]
    );
}

#[test]
fn a_member_cannot_plant_a_version_of_an_object_it_may_not_see() {
    let w = world();
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--0000000e-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;
    let marks = format!(
        r#","object_marking_refs":["{}","marking-definition--0000000e-0000-4000-8000-000000000000"]"#,
        stix::Tlp::Amber.marking_id()
    );
    let (hidden_id, hidden) = indicator(15, &marks);
    let (visible_id, visible) = indicator(16, "");
    let relationship_id = "relationship--0000000e-0000-4000-8000-000000000000";
    let relationship = format!(
        r#"{{"type":"relationship","spec_version":"2.1","id":"{relationship_id}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"related-to","source_ref":"{visible_id}","target_ref":"{hidden_id}"}}"#
    );
    let report = post(
        &w,
        &w.cert,
        &w.dialogue,
        &[
            recipients.to_string(),
            hidden.clone(),
            visible,
            relationship,
        ],
    );
    assert_eq!(report.stored(), 4, "{:?}", report.outcomes);
    assert!(read(&w, &w.vendor, &w.dialogue, &[relationship_id]).is_empty());
    // A later version of the hidden id, posted by the vendor into the same
    // collection, would make the relationship visible to it and replace the
    // CERT's own version as the latest one the CERT reads.
    let planted = hidden
        .replace("2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")
        .replace(&marks, "");
    let answer = outcome(&post(&w, &w.vendor, &w.dialogue, &[planted])).clone();
    assert!(
        matches!(
            answer,
            Outcome::Refused {
                reason: RefusalReason::Hidden,
                ..
            }
        ),
        "{answer:?}"
    );
    assert!(read(&w, &w.vendor, &w.dialogue, &[relationship_id]).is_empty());
    assert_eq!(
        versions_seen(
            &w,
            &w.cert,
            &w.dialogue,
            Some(&hidden_id),
            VersionMatch::last_only()
        ),
        ["2026-01-01T00:00:00.000Z"]
    );
}

#[test]
fn a_pseudonymous_source_cannot_show_one_object_under_both_faces() {
    let w = world();
    // The CERT reads both Dialogue (where the helpdesk is a pseudonym) and
    // Open (where it is named): the same object under the pseudonym in one
    // and under the real identity in the other would tie the two together.
    let by = format!(r#","created_by_ref":"{HELPDESK_ID}""#);
    let (first_id, first) = indicator(17, &by);
    assert_eq!(
        post(&w, &w.helpdesk, &w.dialogue, std::slice::from_ref(&first)).stored(),
        1
    );
    let answer = outcome(&post(&w, &w.helpdesk, &w.open, &[first])).clone();
    assert!(
        matches!(&answer, Outcome::Refused { message: why, reason: RefusalReason::Pseudonym } if why.contains("pseudonym")),
        "{answer:?}"
    );
    assert!(read(&w, &w.cert, &w.open, &[&first_id]).is_empty());

    let (_, second) = indicator(18, &by);
    assert_eq!(
        post(&w, &w.helpdesk, &w.open, std::slice::from_ref(&second)).stored(),
        1
    );
    let answer = outcome(&post(&w, &w.helpdesk, &w.dialogue, &[second])).clone();
    assert!(matches!(answer, Outcome::Refused { .. }), "{answer:?}");

    // What does not name the source may go to both.
    let (_, anonymous) = indicator(19, "");
    assert_eq!(
        post(
            &w,
            &w.helpdesk,
            &w.dialogue,
            std::slice::from_ref(&anonymous)
        )
        .stored(),
        1
    );
    assert_eq!(post(&w, &w.helpdesk, &w.open, &[anonymous]).stored(), 1);
}

#[test]
fn a_member_always_reads_back_its_own_pointers() {
    let w = world();
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000010-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;
    let marks = format!(
        r#","object_marking_refs":["{}","marking-definition--00000010-0000-4000-8000-000000000000"]"#,
        stix::Tlp::Amber.marking_id()
    );
    let (hidden_id, hidden) = indicator(20, &marks);
    let report = post(&w, &w.cert, &w.dialogue, &[recipients.to_string(), hidden]);
    assert_eq!(report.stored(), 2, "{:?}", report.outcomes);
    // The vendor points notes at an id it guesses and at one nobody holds:
    // whether it reads its own note back must not tell which id exists.
    let note = |n: u32, target: &str| {
        let id = format!("note--{n:08x}-0000-4000-8000-000000000000");
        let json = format!(
            r#"{{"type":"note","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","content":"seen?","object_refs":["{target}"]}}"#
        );
        (id, json)
    };
    let (guess, guess_json) = note(21, &hidden_id);
    let (absent, absent_json) = note(22, "indicator--00000016-1111-4111-8111-111111111111");
    let report = post(&w, &w.vendor, &w.dialogue, &[guess_json, absent_json]);
    assert_eq!(report.stored(), 2, "{:?}", report.outcomes);
    assert_eq!(read(&w, &w.vendor, &w.dialogue, &[&absent]).len(), 1);
    assert_eq!(read(&w, &w.vendor, &w.dialogue, &[&guess]).len(), 1);
    // Others who may not see the target still do not get the pointer.
    assert!(read(&w, &w.helpdesk, &w.dialogue, &[&guess]).is_empty());
    assert_eq!(read(&w, &w.helpdesk, &w.dialogue, &[&absent]).len(), 1);
}

#[test]
fn an_escaped_identity_is_masked_too() {
    let w = world();
    // `\u0030` is "0": the same id to every JSON reader, other bytes on the wire.
    let escaped = HELPDESK_ID.replacen('0', "\\u0030", 1);
    let (id, json) = indicator(23, &format!(r#","created_by_ref":"{escaped}""#));
    assert_eq!(post(&w, &w.helpdesk, &w.dialogue, &[json]).stored(), 1);
    let seen = read(&w, &w.vendor, &w.dialogue, &[&id]);
    let value: serde_json::Value = serde_json::from_str(&seen[0]).unwrap();
    assert_ne!(value["created_by_ref"], HELPDESK_ID, "{}", seen[0]);
    assert!(!value.to_string().contains(HELPDESK_ID), "{}", seen[0]);
}

#[test]
fn an_independent_post_does_not_tell_what_others_hold_elsewhere() {
    let w = world();
    // The CERT tracks a domain for itself alone. Observables have ids derived
    // from their values, so anyone can name the same object.
    let recipients = r#"{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--00000011-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","name":"Recipients","extensions":{"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3":{"extension_type":"property-extension","organizations":["National CERT"]}}}"#;
    let domain = |value: &str, extra: &str| {
        let id = format!(
            "domain-name--{}",
            uuid::Uuid::new_v5(
                &uuid::Uuid::parse_str("00abedb4-aa42-466c-9c01-fed23315a9b7").unwrap(),
                format!(r#"{{"value":"{value}"}}"#).as_bytes()
            )
        );
        format!(
            r#"{{"type":"domain-name","spec_version":"2.1","id":"{id}","value":"{value}"{extra}}}"#
        )
    };
    let tracked = domain(
        "c2.example",
        &format!(
            r#","object_marking_refs":["{}","marking-definition--00000011-0000-4000-8000-000000000000"]"#,
            stix::Tlp::Amber.marking_id()
        ),
    );
    let report = post(&w, &w.cert, &w.dialogue, &[recipients.to_string(), tracked]);
    assert_eq!(report.stored(), 2, "{:?}", report.outcomes);
    // The vendor, who may not see it, posts the same domain and another one
    // into its own collection: both are its own observations, stored alike.
    let known = outcome(&post(
        &w,
        &w.vendor,
        &w.vendor_own,
        &[domain("c2.example", "")],
    ))
    .clone();
    let unknown = outcome(&post(
        &w,
        &w.vendor,
        &w.vendor_own,
        &[domain("elsewhere.example", "")],
    ))
    .clone();
    assert!(matches!(known, Outcome::Stored(_)), "{known:?}");
    assert!(matches!(unknown, Outcome::Stored(_)), "{unknown:?}");
    // Into the collection holding the CERT's hidden copy it is stored too,
    // exactly like a value nobody holds: each source organisation keeps its
    // own copy of an observable.
    let into_dialogue = |value: &str| {
        let report = post(&w, &w.vendor, &w.dialogue, &[domain(value, "")]);
        assert_eq!(report.outcomes.len(), 1);
        report.outcomes[0].outcome.clone()
    };
    let held = into_dialogue("c2.example");
    let free = into_dialogue("free.example");
    assert!(matches!(held, Outcome::Stored(_)), "{held:?}");
    assert!(matches!(free, Outcome::Stored(_)), "{free:?}");
    // Each reader receives one copy: the earliest it may see. The vendor
    // reads its own; the CERT, who may see both, still reads its own
    // AMBER copy; neither reader is shown two objects with one id.
    let c2_id = domain("c2.example", "")
        .split('"')
        .nth(11)
        .unwrap()
        .to_string();
    let vendor_reads = read(&w, &w.vendor, &w.dialogue, &[&c2_id]);
    assert_eq!(vendor_reads, [domain("c2.example", "")]);
    let cert_reads = read(&w, &w.cert, &w.dialogue, &[&c2_id]);
    assert_eq!(cert_reads.len(), 1, "{cert_reads:?}");
    assert!(cert_reads[0].contains("marking-definition--00000011"));
    let listing = |who: &Principal| -> Vec<String> {
        let query = ObjectQuery {
            types: vec!["domain-name".into()],
            limit: 1000,
            with_raw: true,
            ..Default::default()
        };
        w.node
            .read(who, &w.dialogue, &query)
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.id)
            .filter(|id| *id == c2_id)
            .collect()
    };
    assert_eq!(listing(&w.cert).len(), 1);
    assert_eq!(listing(&w.vendor).len(), 1);
    // Its own copy, planted after the CERT's, does not uncover what points
    // at the CERT's: a community note about the tracked domain.
    let tracked_id = domain("c2.example", "")
        .split('"')
        .nth(11)
        .unwrap()
        .to_string();
    assert!(tracked_id.starts_with("domain-name--"), "{tracked_id}");
    let note = format!(
        r#"{{"type":"note","spec_version":"2.1","id":"note--00000011-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","content":"seen on a journalist's phone","object_refs":["{tracked_id}"]}}"#
    );
    assert_eq!(post(&w, &w.cert, &w.dialogue, &[note]).stored(), 1);
    let note_id = "note--00000011-0000-4000-8000-000000000000";
    assert_eq!(read(&w, &w.cert, &w.dialogue, &[note_id]).len(), 1);
    assert!(read(&w, &w.vendor, &w.dialogue, &[note_id]).is_empty());
}

#[test]
fn what_a_node_level_token_posts_is_masked_as_before() {
    let w = world();
    // A node-level service token (no organisation) writing into Dialogue,
    // e.g. the helpdesk's older integration: what it posts naming the
    // helpdesk is still shown under the pseudonym.
    let service = Principal::service(
        77,
        [(
            w.dialogue.id.clone(),
            sharing::Access {
                read: true,
                write: true,
            },
        )],
    );
    let pseudonym = pseudonym_seen_by_vendor(&w);
    // It may not name the helpdesk as the creator: only the helpdesk may.
    let (_, claimed) = indicator(23, &format!(r#","created_by_ref":"{HELPDESK_ID}""#));
    let refusal = outcome(&post(&w, &service, &w.dialogue, &[claimed])).clone();
    assert!(
        matches!(&refusal, Outcome::Refused { message: why, reason: RefusalReason::Authorship } if why.contains("created_by_ref names another organisation")),
        "{refusal:?}"
    );
    let (id, json) = indicator(24, &format!(r#","description":"for {HELPDESK_ID}""#));
    assert_eq!(post(&w, &service, &w.dialogue, &[json]).stored(), 1);
    let seen = read(&w, &w.vendor, &w.dialogue, &[&id]);
    assert!(
        !seen[0].contains(HELPDESK_ID) && seen[0].contains(&pseudonym),
        "{}",
        seen[0]
    );
}

#[test]
fn a_collection_alias_or_id_does_not_tell_of_hidden_collections() {
    let w = world();
    let outsider_org = w.store.org("Outsider").unwrap().unwrap();
    let dialogue_community = w.store.community("Dialogue").unwrap().unwrap();
    let with_alias = |id: &str, alias: &str, owner: Owner| {
        w.store
            .create_collection(
                &NewCollection {
                    id: id.into(),
                    api_root: "api1".into(),
                    title: alias.into(),
                    description: None,
                    alias: Some(alias.into()),
                    owner,
                    default_tlp: Some(Tlp::Green),
                    public: false,
                    signed: true,
                    hide_expired: false,
                },
                &store::AuditEntry::default(),
            )
            .unwrap()
    };
    // The outsider's private collection comes first with the same alias.
    let hidden = with_alias(
        "00000000-0000-4000-8000-000000000000",
        "iocs",
        Owner::Org(outsider_org.id),
    );
    let visible = with_alias(
        "ffffffff-0000-4000-8000-000000000000",
        "iocs",
        Owner::Community(dialogue_community.id),
    );
    let (found, _) = w
        .node
        .collection_for(&w.vendor, Some("api1"), "iocs", node::Need::Read)
        .unwrap();
    assert_eq!(found.id, visible.id);

    // Sharing an incident into the hidden collection reads like sharing it
    // into one that does not exist.
    let node = w.node.clone();
    let record = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../reporting/tests/vectors/v01b-nis2-final-provisional/incident.json"),
    )
    .unwrap();
    let at: jiff::Timestamp = "2026-11-16T20:00:00Z".parse().unwrap();
    let incident = node.create_incident(&w.vendor, &record, at).unwrap();
    let share = |collection: &str| {
        let request = node::ShareRequest {
            collection: collection.into(),
            tlp: None,
            recipient_orgs: Vec::new(),
            recipient_users: Vec::new(),
            identify_entity: false,
        };
        match node.share_incident(&w.vendor, &incident.id, &request, at) {
            Err(e) => e.to_string().replace(collection, "C"),
            Ok(_) => panic!("shared into {collection}"),
        }
    };
    let absent = uuid::Uuid::new_v4().to_string();
    assert_eq!(share(&hidden.id), share(&absent));
}

#[test]
fn a_marking_definition_the_poster_may_not_see_is_as_unknown_as_an_absent_one() {
    let w = world();
    let statement = |n: u32| {
        let id = format!("marking-definition--{n:08x}-2222-4222-8222-222222222222");
        let json = format!(
            r#"{{"type":"marking-definition","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","definition_type":"statement","definition":{{"statement":"Vendor internal {n}"}}}}"#
        );
        (id, json)
    };
    // The vendor's statement lives in its own collection, which no one
    // else reads.
    let (hidden, json) = statement(1);
    assert_eq!(post(&w, &w.vendor, &w.vendor_own, &[json]).stored(), 1);
    let (absent, _) = statement(2);
    let marked =
        |n: u32, marking: &str| indicator(n, &format!(r#","object_marking_refs":["{marking}"]"#)).1;
    let refusal = |report: &IngestReport, marking: &str| match outcome(report) {
        Outcome::Refused { message: why, .. } => why.replace(marking, "MARKING"),
        other => panic!("{other:?}"),
    };
    let over_hidden = refusal(
        &post(&w, &w.cert, &w.dialogue, &[marked(3, &hidden)]),
        &hidden,
    );
    let over_absent = refusal(
        &post(&w, &w.cert, &w.dialogue, &[marked(3, &absent)]),
        &absent,
    );
    assert_eq!(over_hidden, over_absent);
    // Its owner may use it anywhere.
    assert_eq!(
        post(&w, &w.vendor, &w.dialogue, &[marked(4, &hidden)]).stored(),
        1
    );
    // Once the CERT may see a copy, it may refer to it too.
    let (_, json) = statement(1);
    assert_eq!(post(&w, &w.vendor, &w.dialogue, &[json]).stored(), 1);
    assert_eq!(
        post(&w, &w.cert, &w.dialogue, &[marked(5, &hidden)]).stored(),
        1
    );
}
