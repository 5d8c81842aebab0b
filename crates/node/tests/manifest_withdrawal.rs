//! The node's signed manifests list only what their readers read now: when
//! that changes after signing (a delete, an indicator that expires in a
//! collection that hides expired ones, a later version that expires), the
//! manifests that list what readers lose are withdrawn and their other
//! objects signed again, a few at a time (a manifest lists at most 50); a
//! manifest that lists a later copy of an observable goes only to readers
//! served that copy, and which manifest lists it tells no one of an earlier
//! copy hidden from them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use node::Node;
use provenance::{Origin, SigningKey};
use sharing::recipients::NamedRecipients;
use sharing::{Principal, Role, Tlp};
use store::{DirectoryStore, ObjectQuery, Provenance, SqliteOptions, SqliteStore, VersionMatch};

const MANIFEST: &str = "x-entente-manifest";
const T: &str = "2026-11-01T00:00:00.000Z";

fn node(dir: &tempfile::TempDir) -> Node {
    let store = SqliteStore::open(dir.path().join("n.db"), SqliteOptions::default()).unwrap();
    store
        .create_api_root(
            &store::ApiRoot {
                path: "api1".into(),
                title: "t".into(),
                description: None,
                max_content_length: 1 << 20,
            },
            &store::AuditEntry::default(),
        )
        .unwrap();
    Node::new(Arc::new(store), stix::Validator::new())
        .unwrap()
        .with_signer(node::Signer::new(
            SigningKey::generate().unwrap(),
            Origin {
                name: "n".into(),
                url: None,
            },
        ))
}

fn id(kind: &str, n: u32) -> String {
    format!("{kind}--00000000-0000-4000-8000-{n:012x}")
}

fn marking(tlp: Tlp) -> String {
    format!(r#""object_marking_refs":["{}"]"#, tlp.marking_id())
}

fn malware(n: u32) -> String {
    format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"m{n}","is_family":true,{}}}"#,
        id("malware", n),
        marking(Tlp::Green)
    )
}

fn indicator(n: u32, modified: &str, valid_until: Option<&str>) -> String {
    let until = valid_until
        .map(|t| format!(r#""valid_until":"{t}","#))
        .unwrap_or_default();
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"{T}","modified":"{modified}","name":"i{n}","pattern":"[domain-name:value = 'i{n}.example']","pattern_type":"stix","valid_from":"{T}",{until}{}}}"#,
        id("indicator", n),
        marking(Tlp::Green)
    )
}

fn domain(value: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"domain-name","spec_version":"2.1","id":"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","value":"{value}",{extra}{}}}"#,
        marking(Tlp::Green)
    )
}

fn post(node: &Node, who: &Principal, c: &store::Collection, objects: &[String]) {
    let validator = stix::Validator::new();
    let valid: Vec<(usize, stix::StixObject)> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (i, validator.validate_str(i, o).unwrap()))
        .collect();
    let report = node
        .ingest(who, c, valid, Vec::new(), &NamedRecipients::default())
        .unwrap();
    for o in &report.outcomes {
        assert!(
            matches!(o.outcome, node::Outcome::Stored(_)),
            "not stored: {o:?}"
        );
    }
}

/// Manifest entries: (id, version, SHA-256).
type Entries = BTreeSet<(String, String, String)>;

/// What `p` reads of `c` (every version): objects by id (with how many
/// versions), and the manifest entries it receives (id, version, digest).
fn read(node: &Node, p: &Principal, c: &store::Collection) -> (BTreeMap<String, usize>, Entries) {
    let q = ObjectQuery {
        versions: VersionMatch::all(),
        limit: 1000,
        with_raw: true,
        ..Default::default()
    };
    let page = node.read(p, c, &q).unwrap();
    assert!(!page.more);
    let mut objects = BTreeMap::new();
    let mut entries = BTreeSet::new();
    for o in page.items {
        if o.object_type == MANIFEST {
            let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap();
            for e in v["entries"].as_array().unwrap() {
                entries.insert((
                    e["object_ref"].as_str().unwrap().to_string(),
                    e["object_version"].as_str().unwrap_or("").to_string(),
                    e["sha256"].as_str().unwrap().to_string(),
                ));
            }
        } else {
            *objects.entry(o.id).or_insert(0) += 1;
        }
    }
    (objects, entries)
}

fn listed(entries: &Entries) -> BTreeSet<String> {
    entries.iter().map(|(id, _, _)| id.clone()).collect()
}

/// A community with a signed collection and two member organisations.
fn community(n: &Node, hide_expired: bool) -> (store::Collection, Principal, Principal) {
    let op = Principal::operator();
    for org in ["CERT", "NGO"] {
        n.create_org(&op, org, None).unwrap();
    }
    n.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    n.create_user(&op, "NGO", "hugo", Role::Analyst).unwrap();
    n.create_community(&op, "d", false).unwrap();
    n.add_member(&op, "d", "CERT", false).unwrap();
    n.add_member(&op, "d", "NGO", false).unwrap();
    let c = n
        .create_collection(
            &op,
            node::CollectionRequest {
                title: "d".into(),
                community: Some("d".into()),
                default_tlp: Some(Tlp::Green),
                hide_expired,
                ..Default::default()
            },
        )
        .unwrap();
    (
        c,
        n.principal_named("CERT/ana").unwrap(),
        n.principal_named("NGO/hugo").unwrap(),
    )
}

fn in_a_moment(seconds: i64) -> (String, stix::Timestamp) {
    let at =
        stix::Timestamp::from_micros((store::now().as_micros() / 1000 + seconds * 1000) * 1000);
    (at.format_with_precision(3), at)
}

fn wait_until(at: stix::Timestamp) {
    while store::now() <= at {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_delete_withdraws_the_entry_and_signs_the_rest_again() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, false);
    post(&n, &ana, &c, &[malware(1), malware(2), malware(3)]);
    n.sign_pending().unwrap();
    let (_, before) = read(&n, &hugo, &c);
    assert_eq!(listed(&before).len(), 3);
    let gone = id("malware", 2);
    assert_eq!(
        n.delete_object(&ana, &c, &gone, &VersionMatch::default(), &[])
            .unwrap(),
        1
    );
    // The node has no background signer here: the delete signed at once.
    for p in [&ana, &hugo] {
        let (objects, entries) = read(&n, p, &c);
        assert!(!objects.contains_key(&gone));
        assert_eq!(
            listed(&entries),
            [id("malware", 1), id("malware", 3)].into_iter().collect()
        );
        // The same digests as before: only the withdrawn entry is gone.
        assert!(entries.is_subset(&before));
    }
}

#[test]
fn an_indicator_that_expires_leaves_its_manifest_at_once_and_is_signed_out() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, true);
    let (until, at) = in_a_moment(2);
    post(
        &n,
        &ana,
        &c,
        &[
            malware(1),
            indicator(2, T, Some(&until)),
            indicator(3, T, Some("2099-01-01T00:00:00.000Z")),
            indicator(4, T, Some("2026-11-15T00:00:00.000Z")),
        ],
    );
    n.sign_pending().unwrap();
    let (objects, entries) = read(&n, &hugo, &c);
    // Posted expired: never listed, and no longer pending.
    assert!(!objects.contains_key(&id("indicator", 4)));
    assert_eq!(
        listed(&entries),
        [id("malware", 1), id("indicator", 2), id("indicator", 3)]
            .into_iter()
            .collect()
    );
    assert_eq!(n.sign_pending().unwrap(), 0);

    wait_until(at);
    // Before any signer runs, the manifest that lists it is withheld.
    for p in [&ana, &hugo] {
        let (objects, entries) = read(&n, p, &c);
        assert!(!objects.contains_key(&id("indicator", 2)));
        assert!(!listed(&entries).contains(&id("indicator", 2)), "{p:?}");
    }
    // The signer withdraws it and lists what else it listed again.
    n.sign_pending().unwrap();
    let (objects, entries) = read(&n, &hugo, &c);
    assert_eq!(
        objects.keys().cloned().collect::<BTreeSet<_>>(),
        listed(&entries)
    );
    assert_eq!(
        listed(&entries),
        [id("malware", 1), id("indicator", 3)].into_iter().collect()
    );
    // The expired indicator is left unsigned, so the signer is done.
    assert_eq!(n.sign_pending().unwrap(), 0);
    let rows = n
        .read_with(
            &Principal::operator(),
            &c,
            &ObjectQuery {
                ids: vec![id("indicator", 2)],
                versions: VersionMatch::all(),
                limit: 10,
                ..Default::default()
            },
            node::Expired::Include,
        )
        .unwrap();
    assert_eq!(rows.items[0].provenance, Provenance::Unsigned);
}

#[test]
fn a_later_version_that_expires_takes_the_earlier_versions_entries_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, true);
    let v2 = "2026-11-02T00:00:00.000Z";
    post(&n, &ana, &c, &[malware(1), indicator(5, T, None)]);
    n.sign_pending().unwrap();
    assert!(listed(&read(&n, &hugo, &c).1).contains(&id("indicator", 5)));
    let (until, at) = in_a_moment(2);
    post(&n, &ana, &c, &[indicator(5, v2, Some(&until))]);
    n.sign_pending().unwrap();
    let (objects, entries) = read(&n, &hugo, &c);
    assert_eq!(objects.get(&id("indicator", 5)), Some(&2));
    assert_eq!(
        entries
            .iter()
            .filter(|(i, _, _)| *i == id("indicator", 5))
            .count(),
        2
    );
    wait_until(at);
    n.sign_pending().unwrap();
    let (objects, entries) = read(&n, &hugo, &c);
    assert!(!objects.contains_key(&id("indicator", 5)));
    assert_eq!(listed(&entries), [id("malware", 1)].into_iter().collect());
}

#[test]
fn a_reader_served_an_earlier_copy_gets_no_entry_of_a_later_one() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, false);
    let op = Principal::operator();
    n.create_org(&op, "Civic", None).unwrap();
    n.create_user(&op, "Civic", "cat", Role::Reader).unwrap();
    n.add_member(&op, "d", "Civic", false).unwrap();
    let cat = n.principal_named("Civic/cat").unwrap();
    post(&n, &hugo, &c, &[domain("evil.example", "")]);
    post(
        &n,
        &ana,
        &c,
        &[
            domain("evil.example", r#""x_case":"2026-117","#),
            malware(1),
        ],
    );
    n.sign_pending().unwrap();
    for p in [&ana, &hugo, &cat] {
        let (objects, entries) = read(&n, p, &c);
        assert_eq!(objects.values().sum::<usize>(), 2, "{p:?}");
        // One entry per object read: the earlier copy's, and the malware's
        // (signed apart from the later copy, so the reader keeps it).
        assert_eq!(entries.len(), 2, "{p:?}: {entries:?}");
        assert_eq!(listed(&entries), objects.keys().cloned().collect());
    }
}

/// A later copy of an observable whose earlier copy its poster may not read
/// is signed with what was posted with it, as if that copy did not exist
/// (signed alone, it would tell the poster that someone holds the
/// observable); a reader served the earlier copy does not receive that
/// manifest, since it lists a copy the reader is not served.
#[test]
fn a_later_copy_hidden_from_its_poster_is_signed_with_what_was_posted_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, false);
    let validator = stix::Validator::new();
    let held = format!(
        r#"{{"type":"domain-name","spec_version":"2.1","id":"domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5","value":"evil.example",{}}}"#,
        marking(Tlp::Amber)
    );
    let only_ngo = NamedRecipients {
        organizations: vec!["NGO".into()],
        users: Vec::new(),
    };
    let report = n
        .ingest(
            &hugo,
            &c,
            vec![(0, validator.validate_str(0, &held).unwrap())],
            Vec::new(),
            &only_ngo,
        )
        .unwrap();
    assert!(matches!(
        report.outcomes[0].outcome,
        node::Outcome::Stored(_)
    ));
    n.sign_pending().unwrap();
    post(
        &n,
        &ana,
        &c,
        &[malware(1), domain("evil.example", ""), malware(2)],
    );
    n.sign_pending().unwrap();
    let manifests_read_by = |p: &Principal| -> usize {
        let q = ObjectQuery {
            types: vec![MANIFEST.into()],
            limit: 100,
            ..Default::default()
        };
        n.read(p, &c, &q).unwrap().items.len()
    };
    // CERT reads its three objects, all listed in one manifest.
    let (objects, entries) = read(&n, &ana, &c);
    assert_eq!(objects.len(), 3);
    assert_eq!(listed(&entries), objects.keys().cloned().collect());
    assert_eq!(manifests_read_by(&ana), 1, "{entries:?}");
    // NGO is served its own copy, and no entry of CERT's: CERT's manifest
    // is withheld from it (the price: its malware are unlisted for NGO).
    let (objects, entries) = read(&n, &hugo, &c);
    assert_eq!(objects.len(), 3);
    assert_eq!(
        listed(&entries),
        [domain_id()].into_iter().collect(),
        "{entries:?}"
    );
    let served = n
        .read(
            &hugo,
            &c,
            &ObjectQuery {
                ids: vec![domain_id()],
                limit: 10,
                with_raw: true,
                ..Default::default()
            },
        )
        .unwrap()
        .items;
    let digest = hex(&provenance::object_digest(&served[0].raw).unwrap().sha256);
    assert!(entries.iter().all(|(_, _, sha)| *sha == digest));
}

fn domain_id() -> String {
    "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5".into()
}

/// The manifests `p` reads of `c`, each as the ids it lists.
fn manifests(n: &Node, p: &Principal, c: &store::Collection) -> Vec<BTreeSet<String>> {
    let q = ObjectQuery {
        types: vec![MANIFEST.into()],
        limit: 1000,
        with_raw: true,
        ..Default::default()
    };
    n.read(p, c, &q)
        .unwrap()
        .items
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.raw).unwrap();
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["object_ref"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// What is posted together is listed in one manifest; a delete has the
/// signer list the rest again in manifests of at most 25, so that a
/// further delete among them re-signs at most 24 objects.
#[test]
fn a_delete_re_signs_the_rest_once_then_small_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, false);
    let objects: Vec<String> = (1..=120).map(malware).collect();
    post(&n, &ana, &c, &objects);
    n.sign_pending().unwrap();
    let before = manifests(&n, &hugo, &c);
    assert_eq!(
        before.iter().map(BTreeSet::len).collect::<Vec<_>>(),
        [120],
        "posted together, signed together"
    );
    let delete = |k: u32| {
        n.delete_object(&ana, &c, &id("malware", k), &VersionMatch::default(), &[])
            .unwrap();
        n.sign_pending().unwrap();
        manifests(&n, &hugo, &c)
    };
    let first = delete(7);
    let mut sizes: Vec<usize> = first.iter().map(BTreeSet::len).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [19, 25, 25, 25, 25]);
    assert!(first.iter().all(|m| !m.contains(&id("malware", 7))));
    // A second delete re-signs one small manifest; the others stay.
    let second = delete(8);
    let kept = first.iter().filter(|m| second.contains(m)).count();
    assert_eq!(kept, 4);
    let again: Vec<&BTreeSet<String>> = second.iter().filter(|m| !first.contains(m)).collect();
    assert_eq!(again.len(), 1);
    assert!(again[0].len() < 25);
}

/// In a collection that hides expired indicators, indicators are listed in
/// order of expiry, apart from what does not expire, and at most 50 a
/// manifest: an expiry re-signs the few that expire next.
#[test]
fn indicators_are_listed_in_order_of_expiry_in_small_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, ana, hugo) = community(&n, true);
    // Posted latest-expiring first: the order of expiry is not the order
    // of posting.
    let mut objects: Vec<String> = (1..=60)
        .map(|i| {
            let (until, _) = in_a_moment(3600 + 60 * (61 - i64::from(i)));
            indicator(i, T, Some(&until))
        })
        .collect();
    objects.extend((1..=3).map(malware));
    post(&n, &ana, &c, &objects);
    n.sign_pending().unwrap();
    let got = manifests(&n, &hugo, &c);
    let first: BTreeSet<String> = (11..=60).map(|i| id("indicator", i)).collect();
    let next: BTreeSet<String> = (1..=10).map(|i| id("indicator", i)).collect();
    let lasting: BTreeSet<String> = (1..=3).map(|i| id("malware", i)).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    for m in [&first, &next, &lasting] {
        assert!(got.contains(m), "{m:?} in {got:?}");
    }
}

/// What the operator imported naming an organisation, and that
/// organisation's own identity object, signed before it joins the community
/// as pseudonymous: afterwards every entry a member receives hashes what it
/// is served (the pseudonym form), and the withheld identity is listed
/// nowhere.
#[test]
fn a_pseudonymous_join_signs_again_what_its_mask_now_changes() {
    let dir = tempfile::tempdir().unwrap();
    let n = node(&dir);
    let (c, _ana, hugo) = community(&n, false);
    let op = Principal::operator();
    let helpdesk = n.create_org(&op, "Helpdesk", None).unwrap();
    let me = format!(
        r#"{{"type":"identity","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"Helpdesk","identity_class":"organization",{}}}"#,
        helpdesk.identity_id,
        marking(Tlp::Green)
    );
    let naming = format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"m9","description":"reported by {}","is_family":true,{}}}"#,
        id("malware", 9),
        helpdesk.identity_id,
        marking(Tlp::Green)
    );
    post(&n, &op, &c, &[me, naming, malware(1)]);
    n.sign_pending().unwrap();
    let (_, before) = read(&n, &hugo, &c);
    assert!(listed(&before).contains(&helpdesk.identity_id));

    n.add_member(&op, "d", "Helpdesk", true).unwrap();
    let q = ObjectQuery {
        limit: 1000,
        with_raw: true,
        ..Default::default()
    };
    let served = n.read(&hugo, &c, &q).unwrap().items;
    let digests: BTreeMap<String, String> = served
        .iter()
        .filter(|o| o.object_type != MANIFEST)
        .map(|o| {
            let d = provenance::object_digest(&o.raw).unwrap();
            (o.id.clone(), hex(&d.sha256))
        })
        .collect();
    assert!(!digests.contains_key(&helpdesk.identity_id));
    // Nothing served names it, manifests included.
    assert!(
        served
            .iter()
            .all(|o| !o.raw.contains(&helpdesk.identity_id))
    );
    let (_, entries) = read(&n, &hugo, &c);
    assert_eq!(listed(&entries), digests.keys().cloned().collect());
    for (id, _, sha) in &entries {
        assert_eq!(Some(sha), digests.get(id), "{id}");
    }
    // The malware that names nobody kept its manifest entry as it was.
    assert!(
        before
            .iter()
            .any(|e| e.0 == id("malware", 1) && entries.contains(e))
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
