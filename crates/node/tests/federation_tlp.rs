//! The TLP of what nodes send each other. An object that is AMBER only by
//! its collection's default reaches a peer with that TLP made explicit, so
//! the peer handles it at AMBER (not at its own default), its relay guard
//! keeps it from a third node, and the origin's manifest still verifies it.
//! TLP:AMBER+STRICT that a peer sends reaches the local organisation
//! designated for that peer only, never the other member organisations.

use std::sync::Arc;

use node::{CollectionRequest, Direction, Node, PeerRequest};
use provenance::{Origin, ProvenanceIndex, SigningKey};
use serde_json::value::RawValue;
use sharing::recipients::NamedRecipients;
use sharing::{Principal, Role, Tlp};
use store::{DirectoryStore, ObjectQuery, Provenance, SqliteOptions, SqliteStore, VersionMatch};

const T: &str = "2026-11-01T00:00:00.000Z";

fn node(dir: &tempfile::TempDir, name: &str) -> Node {
    let store = SqliteStore::open(
        dir.path().join(format!("{name}.db")),
        SqliteOptions::default(),
    )
    .unwrap();
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
                name: name.into(),
                url: None,
            },
        ))
}

fn indicator(n: u32, markings: &str) -> (String, String) {
    let id = format!("indicator--00000000-0000-4000-8000-{n:012x}");
    let raw = format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"{T}","modified":"{T}","name":"i{n}","pattern":"[domain-name:value = 'i{n}.example']","pattern_type":"stix","valid_from":"{T}"{markings}}}"#
    );
    (id, raw)
}

fn marked(tlp: Tlp) -> String {
    format!(r#","object_marking_refs":["{}"]"#, tlp.marking_id())
}

/// A node with organisations `orgs` in one community and its collection.
fn hub(node: &Node, orgs: &[&str], default_tlp: Tlp) -> store::Collection {
    let op = Principal::operator();
    node.create_community(&op, "fed", false).unwrap();
    for org in orgs {
        node.create_org(&op, org, None).unwrap();
        node.add_member(&op, "fed", org, false).unwrap();
    }
    node.create_collection(
        &op,
        CollectionRequest {
            title: "fed".into(),
            community: Some("fed".into()),
            default_tlp: Some(default_tlp),
            ..Default::default()
        },
    )
    .unwrap()
}

fn peer(
    node: &Node,
    name: &str,
    org: &str,
    keys: Vec<String>,
    strict: Option<&str>,
) -> store::Peer {
    node.create_peer(
        &Principal::operator(),
        &PeerRequest {
            name: name.into(),
            url: format!("https://{name}.example/api1/"),
            org: org.into(),
            keys,
            max_tlp: None,
            refuse_unsigned: false,
            ca_file: None,
            allow_plain_http: false,
            strict_recipient: strict.map(str::to_owned),
        },
    )
    .unwrap()
}

fn post(node: &Node, who: &Principal, collection: &store::Collection, objects: &[&str]) {
    let validator = stix::Validator::new();
    let valid = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (i, validator.validate_str(i, o).unwrap()))
        .collect();
    let report = node
        .ingest(
            who,
            collection,
            valid,
            Vec::new(),
            &NamedRecipients::default(),
        )
        .unwrap();
    assert_eq!(report.stored(), objects.len(), "{:?}", report.outcomes);
}

/// Every version `who` reads, with its text.
fn read(node: &Node, who: &Principal, collection: &store::Collection) -> Vec<store::StoredObject> {
    let query = ObjectQuery {
        versions: VersionMatch::all(),
        limit: 1000,
        with_raw: true,
        ..Default::default()
    };
    node.read(who, collection, &query).unwrap().items
}

fn ids(objects: &[store::StoredObject]) -> Vec<&str> {
    objects.iter().map(|o| o.id.as_str()).collect()
}

/// What `from` serves `job`'s peer, stored at `to` as a pull does.
fn pull(
    from: &Node,
    reader: &Principal,
    collection: &store::Collection,
    to: &Node,
    peer: &store::Peer,
    job: &store::SyncJob,
) -> node::IngestReport {
    let offered = read(from, reader, collection);
    let raws: Vec<Box<RawValue>> = offered
        .iter()
        .map(|o| RawValue::from_string(o.raw.clone()).unwrap())
        .collect();
    let refs: Vec<&RawValue> = raws.iter().map(|r| r.as_ref()).collect();
    let mut index = ProvenanceIndex::new(Node::pinned_keys(peer));
    to.ingest_pulled(
        peer,
        job,
        &refs,
        offered.last().map(|o| o.date_added),
        &mut index,
    )
    .unwrap()
}

#[test]
fn an_object_amber_by_its_collections_default_stays_amber_at_the_next_node() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();

    let a = node(&dir, "a");
    let published = hub(&a, &["CERT", "Node B"], Tlp::Amber);
    a.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    let cert = a.principal_named("CERT/ana").unwrap();
    let (id, unmarked) = indicator(1, "");
    let (green_id, green) = indicator(2, &marked(Tlp::Green));
    post(&a, &cert, &published, &[&unmarked, &green]);
    assert!(a.sign_pending().unwrap() >= 2);
    // Node B pulls from A, which knows its organisation stands for it.
    let b_at_a = peer(&a, "b", "Node B", Vec::new(), None);
    let node_b = a.peer_principal(&b_at_a).unwrap();
    let served = read(&a, &node_b, &published);
    let served_text = |id: &str| served.iter().find(|o| o.id == id).unwrap().raw.clone();
    let explicit: serde_json::Value = serde_json::from_str(&served_text(&id)).unwrap();
    assert_eq!(
        explicit["object_marking_refs"],
        serde_json::json!([Tlp::Amber.marking_id()]),
        "the TLP A handles it at travels in it"
    );
    assert_eq!(
        served_text(&green_id),
        green,
        "marked objects are served as posted"
    );
    // A's members read what was posted, byte for byte.
    let at_a = read(&a, &cert, &published);
    assert_eq!(at_a.iter().find(|o| o.id == id).unwrap().raw, unmarked);
    // What the node was served is that version, unchanged: posted back
    // (a loop of relays) it is a duplicate, and elsewhere an unchanged copy.
    let validator = stix::Validator::new();
    let served_back = || vec![(0, validator.validate_str(0, &served_text(&id)).unwrap())];
    let again = a
        .ingest(
            &node_b,
            &published,
            served_back(),
            Vec::new(),
            &NamedRecipients::default(),
        )
        .unwrap();
    assert_eq!(again.duplicates(), 1, "{:?}", again.outcomes);
    let elsewhere = a
        .create_collection(
            &op,
            CollectionRequest {
                title: "elsewhere".into(),
                community: Some("fed".into()),
                default_tlp: Some(Tlp::Amber),
                ..Default::default()
            },
        )
        .unwrap();
    let copied = a
        .ingest(
            &node_b,
            &elsewhere,
            served_back(),
            Vec::new(),
            &NamedRecipients::default(),
        )
        .unwrap();
    assert_eq!(copied.stored(), 1, "{:?}", copied.outcomes);

    let b = node(&dir, "b");
    let local = hub(&b, &["Node A", "Node C", "Local"], Tlp::Green);
    let a_at_b = peer(
        &b,
        "a",
        "Node A",
        vec![a.signing_fingerprint().unwrap()],
        None,
    );
    let c_at_b = peer(&b, "c", "Node C", Vec::new(), None);
    let job = b
        .add_sync_job(&op, "a", Direction::Pull, &published.id, &local.id)
        .unwrap();
    let report = pull(&a, &node_b, &published, &b, &a_at_b, &job);
    assert_eq!(report.refused(), 0, "{:?}", report.outcomes);
    let stored = b.provenance_of(&op, &local, &id).unwrap();
    assert_eq!(
        stored[0].tlp,
        Some(Tlp::Amber),
        "B handles it at AMBER, not its GREEN default"
    );
    assert_eq!(
        stored[0].provenance,
        Provenance::Verified,
        "A's manifest lists it as posted: made explicit, its TLP is no alteration"
    );
    assert_eq!(
        b.provenance_of(&op, &local, &green_id).unwrap()[0].provenance,
        Provenance::Verified
    );
    // A third node is not served it (AMBER another node sent), GREEN it is.
    let node_c = b.peer_principal(&c_at_b).unwrap();
    let to_c = read(&b, &node_c, &local);
    assert!(
        !ids(&to_c).contains(&id.as_str()),
        "relayed: {:?}",
        ids(&to_c)
    );
    assert!(ids(&to_c).contains(&green_id.as_str()));
    // B's GREEN-only readers (a node-level service token) do not read it.
    let service = Principal::service(
        99,
        [(
            local.id.clone(),
            sharing::Access {
                read: true,
                write: false,
            },
        )],
    );
    let green_reader = read(&b, &service, &local);
    assert!(!ids(&green_reader).contains(&id.as_str()));
    assert!(ids(&green_reader).contains(&green_id.as_str()));
}

#[test]
fn a_capped_token_that_a_node_pulls_with_gets_the_tlp_explicit_too() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();
    let a = node(&dir, "a");
    let published = hub(&a, &["CERT", "Partner"], Tlp::Amber);
    a.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    a.create_user(&op, "Partner", "sync", Role::Analyst)
        .unwrap();
    let (id, unmarked) = indicator(1, "");
    post(
        &a,
        &a.principal_named("CERT/ana").unwrap(),
        &published,
        &[&unmarked],
    );
    // Not registered as a peer, but reading under a ceiling.
    let partner = a.principal_named("Partner/sync").unwrap();
    let plain = read(&a, &partner, &published);
    assert_eq!(plain.iter().find(|o| o.id == id).unwrap().raw, unmarked);
    let capped = read(&a, &partner.with_ceiling(Tlp::Amber), &published);
    let v: serde_json::Value =
        serde_json::from_str(&capped.iter().find(|o| o.id == id).unwrap().raw).unwrap();
    assert_eq!(
        v["object_marking_refs"],
        serde_json::json!([Tlp::Amber.marking_id()])
    );
}

#[test]
fn amber_strict_a_peer_sends_reaches_the_designated_organisation_only() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();

    let a = node(&dir, "a");
    let published = hub(&a, &["CERT", "Node B"], Tlp::Green);
    a.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    let cert = a.principal_named("CERT/ana").unwrap();
    let (strict_id, strict) = indicator(1, &marked(Tlp::AmberStrict));
    let (amber_id, amber) = indicator(2, &marked(Tlp::Amber));
    post(&a, &cert, &published, &[&strict, &amber]);
    a.sign_pending().unwrap();
    let b_at_a = peer(&a, "b", "Node B", Vec::new(), None);
    let node_b = a.peer_principal(&b_at_a).unwrap();

    let b = node(&dir, "b");
    let local = hub(&b, &["Node A", "CERT B", "Local"], Tlp::AmberStrict);
    for (org, user) in [("CERT B", "cb"), ("Local", "lu")] {
        b.create_user(&op, org, user, Role::Analyst).unwrap();
    }
    let cert_b = b.principal_named("CERT B/cb").unwrap();
    let client = b.principal_named("Local/lu").unwrap();
    // A recipient that cannot read the collection is refused a pull.
    b.create_org(&op, "Outsider", None).unwrap();
    peer(
        &b,
        "a",
        "Node A",
        vec![a.signing_fingerprint().unwrap()],
        Some("Outsider"),
    );
    let refused = b.add_sync_job(&op, "a", Direction::Pull, &published.id, &local.id);
    assert!(
        matches!(&refused, Err(node::NodeError::Forbidden(m)) if m.contains("may not read collection")),
        "{refused:?}"
    );
    assert!(
        b.set_peer_strict_recipient(&op, "a", Some("Node A"))
            .is_err(),
        "a peer's organisation"
    );
    let a_at_b = b
        .set_peer_strict_recipient(&op, "a", Some("CERT B"))
        .unwrap();
    assert_eq!(
        a_at_b.strict_recipient,
        b.orgs(&op)
            .unwrap()
            .iter()
            .find(|o| o.name == "CERT B")
            .map(|o| o.id)
    );
    let job = b
        .add_sync_job(&op, "a", Direction::Pull, &published.id, &local.id)
        .unwrap();
    let report = pull(&a, &node_b, &published, &b, &a_at_b, &job);
    assert_eq!(report.refused(), 0, "{:?}", report.outcomes);
    let cert_reads = read(&b, &cert_b, &local);
    let client_reads = read(&b, &client, &local);
    assert!(
        ids(&cert_reads).contains(&strict_id.as_str()),
        "the designated organisation"
    );
    assert!(
        !ids(&client_reads).contains(&strict_id.as_str()),
        "another member"
    );
    // AMBER reaches the recipient's clients: B's members, as before.
    assert!(ids(&client_reads).contains(&amber_id.as_str()));

    // What the peer's organisation posts (a push) is handled alike; an
    // object without a TLP marking takes the collection's AMBER+STRICT
    // default and is narrowed the same; with none designated, node
    // administrators only.
    b.set_peer_strict_recipient(&op, "a", None).unwrap();
    let pushing = b.principal_named("Node A/peer-a").unwrap();
    let (pushed_id, pushed) = indicator(3, "");
    post(&b, &pushing, &local, &[&pushed]);
    for reader in [&cert_b, &client] {
        assert!(!ids(&read(&b, reader, &local)).contains(&pushed_id.as_str()));
    }
    assert!(ids(&read(&b, &op, &local)).contains(&pushed_id.as_str()));
    // A local member's own AMBER+STRICT keeps the default recipients.
    let (own_id, own) = indicator(4, "");
    post(&b, &client, &local, &[&own]);
    assert!(ids(&read(&b, &cert_b, &local)).contains(&own_id.as_str()));
}

/// The strict recipient of a peer never stands for a peer, whichever is
/// set first: naming a peer's organisation as the recipient is refused,
/// and so is registering a peer for an organisation that is already a
/// peer's recipient (saying which peer).
#[test]
fn a_strict_recipient_never_stands_for_a_peer_whichever_is_set_first() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();
    let b = node(&dir, "b");
    hub(&b, &["Node A", "Node C", "CERT B"], Tlp::Amber);
    peer(&b, "a", "Node A", Vec::new(), Some("CERT B"));
    let request = |org: &str, strict: Option<&str>| PeerRequest {
        name: "c".into(),
        url: "https://c.example/api1/".into(),
        org: org.into(),
        keys: Vec::new(),
        max_tlp: None,
        refuse_unsigned: false,
        ca_file: None,
        allow_plain_http: false,
        strict_recipient: strict.map(str::to_owned),
    };
    let refused = b.create_peer(&op, &request("CERT B", None));
    assert!(
        matches!(&refused, Err(node::NodeError::Unprocessable(m))
            if m.contains("\"CERT B\"") && m.contains("peer a")),
        "{refused:?}"
    );
    assert!(
        b.create_peer(&op, &request("Node C", Some("Node A")))
            .is_err(),
        "the other way round, as before"
    );
    // Another organisation is fine; and once peer a's recipient changes,
    // CERT B is free to stand for a peer.
    b.create_peer(&op, &request("Node C", None)).unwrap();
    b.set_peer_strict_recipient(&op, "a", None).unwrap();
    let d = PeerRequest {
        name: "d".into(),
        ..request("CERT B", None)
    };
    b.create_peer(&op, &d).unwrap();
}
