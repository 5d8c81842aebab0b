//! The console over the write and read paths federation added: objects a
//! pull stores (`Node::ingest_pulled`) and the signed manifests nodes write
//! must keep the console's figures, lists, search and referrers exactly as
//! objects posted over TAXII do (manifests themselves are not listed), and a
//! token's TLP ceiling narrows a console session as it narrows TAXII.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use node::{Node, ObjectFilter, PeerRequest, SignIn};
use provenance::{Origin, ProvenanceIndex, SigningKey};
use serde_json::value::RawValue;
use sharing::console::SessionLimits;
use sharing::recipients::NamedRecipients;
use sharing::{Principal, Role, Tlp};
use store::{DirectoryStore, ObjectQuery, SqliteOptions, SqliteStore, VersionMatch};

const MANIFEST: &str = "x-entente-manifest";
const T: &str = "2026-11-01T00:00:00.000Z";

fn node(dir: &tempfile::TempDir, name: &str, signing: bool) -> Node {
    let store = SqliteStore::open(
        dir.path().join(format!("{name}.db")),
        SqliteOptions::default(),
    )
    .unwrap();
    if store.api_roots().unwrap().is_empty() {
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
    }
    let node = Node::new(Arc::new(store), stix::Validator::new()).unwrap();
    if signing {
        node.with_signer(node::Signer::new(
            SigningKey::generate().unwrap(),
            Origin {
                name: name.into(),
                url: None,
            },
        ))
    } else {
        node
    }
}

fn id(kind: &str, n: u32) -> String {
    format!("{kind}--00000000-0000-4000-8000-{n:012x}")
}

fn marking(tlp: Tlp) -> String {
    format!(r#""object_marking_refs":["{}"]"#, tlp.marking_id())
}

fn malware(n: u32, name: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"{name}","is_family":true,{}}}"#,
        id("malware", n),
        marking(tlp)
    )
}

fn identity(n: u32, name: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"identity","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"{name}","identity_class":"organization","sectors":["journalism"],{}}}"#,
        id("identity", n),
        marking(tlp)
    )
}

fn indicator(n: u32, name: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"{name}","pattern":"[domain-name:value = '{name}.example']","pattern_type":"stix","valid_from":"{T}",{}}}"#,
        id("indicator", n),
        marking(tlp)
    )
}

fn relationship(n: u32, kind: &str, source: &str, target: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"relationship","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","relationship_type":"{kind}","source_ref":"{source}","target_ref":"{target}",{}}}"#,
        id("relationship", n),
        marking(tlp)
    )
}

fn report(n: u32, name: &str, refs: &[String], tlp: Tlp) -> String {
    let refs: Vec<String> = refs.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"{{"type":"report","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"{name}","published":"{T}","object_refs":[{}],{}}}"#,
        id("report", n),
        refs.join(","),
        marking(tlp)
    )
}

fn post(node: &Node, who: &Principal, collection: &store::Collection, objects: &[String]) {
    let validator = stix::Validator::new();
    let valid: Vec<(usize, stix::StixObject)> = objects
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
    for o in &report.outcomes {
        assert!(
            matches!(o.outcome, node::Outcome::Stored(_)),
            "not stored: {o:?}"
        );
    }
}

/// Every version `p` reads in every collection, through the read gate.
fn gate(node: &Node, p: &Principal) -> Vec<store::StoredObject> {
    let mut out = Vec::new();
    for (c, access) in node.console_collections(p).unwrap() {
        if !access.read {
            continue;
        }
        let mut q = ObjectQuery {
            versions: VersionMatch::all(),
            limit: 1000,
            with_raw: true,
            ..Default::default()
        };
        loop {
            let page = node.read(p, &c, &q).unwrap();
            out.extend(page.items);
            match page.resume_after {
                Some(after) if page.more => q.added_after = Some(after),
                _ => break,
            }
        }
    }
    out
}

/// Counts by type, by TLP, and references to malware.
type Figures = (
    BTreeMap<String, u64>,
    BTreeMap<Option<Tlp>, u64>,
    BTreeMap<String, u64>,
);

/// What the overview must show `p`: what the gate serves it, less manifests.
fn expected(node: &Node, p: &Principal) -> Figures {
    let (mut types, mut tlps, mut malware) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for o in gate(node, p) {
        if o.object_type == MANIFEST {
            continue;
        }
        *types.entry(o.object_type.clone()).or_insert(0) += 1;
        *tlps.entry(o.tlp).or_insert(0) += 1;
        for r in o.refs.iter().filter(|r| r.starts_with("malware--")) {
            *malware.entry(r.clone()).or_insert(0) += 1;
        }
    }
    (types, tlps, malware)
}

fn shown(node: &Node, p: &Principal) -> Figures {
    let o = node.overview(p, 7, store::now()).unwrap();
    assert!(!o.partial);
    (
        o.by_type
            .iter()
            .map(|(t, v)| (t.clone(), v.iter().sum()))
            .collect(),
        o.by_tlp.iter().map(|(t, v)| (*t, v.iter().sum())).collect(),
        o.malware.iter().map(|r| (r.id.clone(), r.count)).collect(),
    )
}

fn listed_ids(node: &Node, p: &Principal, text: Option<&str>) -> BTreeSet<String> {
    node.list_objects(
        p,
        &ObjectFilter {
            text: text.map(str::to_owned),
            limit: 200,
            ..Default::default()
        },
    )
    .unwrap()
    .items
    .into_iter()
    .map(|l| l.object.id)
    .collect()
}

#[test]
fn pulled_objects_and_signed_manifests_keep_the_console_as_posts_do() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();

    // Node A publishes and signs.
    let a = node(&dir, "a", true);
    a.create_org(&op, "RIA", None).unwrap();
    a.create_user(&op, "RIA", "ana", Role::Analyst).unwrap();
    let published = a
        .create_collection(
            &op,
            node::CollectionRequest {
                title: "published".into(),
                org: Some("RIA".into()),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
    let ria = a.principal_named("RIA/ana").unwrap();
    let nightowl = id("malware", 1);
    let newsroom = id("identity", 2);
    post(
        &a,
        &ria,
        &published,
        &[
            malware(1, "NightOwl", Tlp::Green),
            identity(2, "Newsroom", Tlp::Green),
            indicator(3, "owlcall", Tlp::Green),
            relationship(4, "targets", &nightowl, &newsroom, Tlp::Green),
            relationship(5, "indicates", &id("indicator", 3), &nightowl, Tlp::Green),
            report(
                6,
                "NightOwl campaign",
                &[nightowl.clone(), newsroom.clone()],
                Tlp::Green,
            ),
        ],
    );
    assert!(a.sign_pending().unwrap() >= 6);
    let offered = gate(&a, &op);
    assert!(
        offered.iter().any(|o| o.object_type == MANIFEST),
        "node A signed no manifest"
    );
    // A's own console does not list its manifests.
    assert_eq!(shown(&a, &op), expected(&a, &op));
    assert!(!shown(&a, &op).0.contains_key(MANIFEST));
    assert!(
        listed_ids(&a, &op, None)
            .iter()
            .all(|i| !i.starts_with(MANIFEST))
    );

    // Node B pulls A's collection into a community collection.
    let b = node(&dir, "b", true);
    for org in ["CERT", "RIA (peer)"] {
        b.create_org(&op, org, None).unwrap();
    }
    b.create_user(&op, "CERT", "ben", Role::Analyst).unwrap();
    b.create_community(&op, "dialogue", false).unwrap();
    b.add_member(&op, "dialogue", "CERT", false).unwrap();
    b.add_member(&op, "dialogue", "RIA (peer)", false).unwrap();
    let local = b
        .create_collection(
            &op,
            node::CollectionRequest {
                title: "dialogue".into(),
                community: Some("dialogue".into()),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
    let peer = b
        .create_peer(
            &op,
            &PeerRequest {
                name: "ria".into(),
                url: "https://cti.ria.example/api1/".into(),
                org: "RIA (peer)".into(),
                keys: vec![a.signing_fingerprint().unwrap()],
                max_tlp: None,
                refuse_unsigned: false,
                ca_file: None,
                allow_plain_http: false,
                strict_recipient: None,
            },
        )
        .unwrap();
    let job = b
        .add_sync_job(
            &op,
            "ria",
            node::Direction::Pull,
            published.id.as_str(),
            &local.id,
        )
        .unwrap();
    let raws: Vec<Box<RawValue>> = offered
        .iter()
        .map(|o| RawValue::from_string(o.raw.clone()).unwrap())
        .collect();
    let refs: Vec<&RawValue> = raws.iter().map(|r| r.as_ref()).collect();
    let mut index = ProvenanceIndex::new(Node::pinned_keys(&peer));
    let pulled = b
        .ingest_pulled(
            &peer,
            &job,
            &refs,
            offered.last().map(|o| o.date_added),
            &mut index,
        )
        .unwrap();
    assert!(
        pulled
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, node::Outcome::Stored(_))),
        "{:?}",
        pulled.outcomes
    );
    // The pull settled its pointer objects' figures as a post does:
    // nothing is left for a later settling.
    assert_eq!(b.settle_counts().unwrap(), 0);

    // B's analyst posts too, and B signs its own objects.
    let ben = b.principal_named("CERT/ben").unwrap();
    post(
        &b,
        &ben,
        &local,
        &[relationship(
            7,
            "uses",
            &nightowl,
            &id("indicator", 3),
            Tlp::Green,
        )],
    );
    assert!(b.sign_pending().unwrap() >= 1);
    let served = gate(&b, &ben);
    assert!(
        served.iter().filter(|o| o.object_type == MANIFEST).count() >= 2,
        "B should serve A's pulled manifest and its own"
    );
    assert!(
        served
            .iter()
            .filter(|o| o.id == nightowl)
            .all(|o| o.provenance == node::Provenance::Verified)
    );

    for p in [&ben, &op] {
        let figures = shown(&b, p);
        assert_eq!(figures, expected(&b, p));
        assert!(!figures.0.contains_key(MANIFEST));
        assert_eq!(figures.2.get(&nightowl), Some(&4), "ranked references");
    }
    let overview = b.overview(&ben, 7, store::now()).unwrap();
    assert_eq!(
        overview.sectors,
        vec![("journalism".to_string(), 1)],
        "targeted sectors of a pulled relationship"
    );

    // Lists hold every latest version the gate serves, manifests aside.
    let latest: BTreeSet<String> = served
        .iter()
        .filter(|o| o.object_type != MANIFEST)
        .map(|o| o.id.clone())
        .collect();
    assert_eq!(listed_ids(&b, &ben, None), latest);
    // Full-text search finds pulled objects.
    assert_eq!(
        listed_ids(&b, &ben, Some("owlcall")),
        BTreeSet::from([id("indicator", 3)])
    );
    assert!(listed_ids(&b, &ben, Some("manifest")).is_empty());
    // Referrers of a pulled object: pulled and posted ones, no manifest.
    let detail = b.object_detail(&ben, &local.id, &nightowl).unwrap();
    let mut referrers: Vec<String> = detail
        .outgoing
        .iter()
        .chain(&detail.incoming)
        .map(|(l, _, _)| l.object.id.clone())
        .chain(detail.referred_by.iter().map(|l| l.object.id.clone()))
        .collect();
    referrers.sort();
    assert_eq!(
        referrers,
        vec![
            id("relationship", 4),
            id("relationship", 5),
            id("relationship", 7),
            id("report", 6)
        ]
    );

    // A delete of a pulled object: figures, lists and referrers follow.
    assert_eq!(
        b.delete_object(&op, &local, &id("report", 6), &VersionMatch::all(), &[])
            .unwrap(),
        1
    );
    for p in [&ben, &op] {
        assert_eq!(shown(&b, p), expected(&b, p));
    }
    assert_eq!(shown(&b, &ben).2.get(&nightowl), Some(&3));
    assert!(!listed_ids(&b, &ben, None).contains(&id("report", 6)));
    let detail = b.object_detail(&ben, &local.id, &nightowl).unwrap();
    assert!(detail.referred_by.is_empty());

    // Reopening the node (backfill and settling at start-up) changes nothing.
    drop(b);
    let b = node(&dir, "b", false);
    let ben = b.principal_named("CERT/ben").unwrap();
    assert_eq!(shown(&b, &ben), expected(&b, &ben));
}

#[test]
fn a_token_ceiling_narrows_console_sessions_as_it_narrows_taxii() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();
    let n = node(&dir, "n", false);
    n.create_org(&op, "CERT", None).unwrap();
    n.create_org(&op, "NGO", None).unwrap();
    n.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    n.create_user(&op, "NGO", "hugo", Role::Analyst).unwrap();
    n.create_community(&op, "dialogue", false).unwrap();
    n.add_member(&op, "dialogue", "CERT", false).unwrap();
    n.add_member(&op, "dialogue", "NGO", false).unwrap();
    let c = n
        .create_collection(
            &op,
            node::CollectionRequest {
                title: "dialogue".into(),
                community: Some("dialogue".into()),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
    let hugo = n.principal_named("NGO/hugo").unwrap();
    let spyware = id("malware", 11);
    let stalker = id("malware", 12);
    post(
        &n,
        &hugo,
        &c,
        &[
            malware(10, "clearfamily", Tlp::Clear),
            malware(11, "greenfamily", Tlp::Green),
            malware(12, "amberfamily", Tlp::Amber),
            indicator(13, "strictcall", Tlp::AmberStrict),
            // Pointers at GREEN, into AMBER too: the gate decides them.
            relationship(14, "variant-of", &stalker, &spyware, Tlp::Green),
            report(
                15,
                "greenreport",
                std::slice::from_ref(&spyware),
                Tlp::Green,
            ),
            report(
                16,
                "amberreport",
                std::slice::from_ref(&stalker),
                Tlp::Amber,
            ),
        ],
    );

    let (_, full) = n
        .create_token(
            &op,
            &node::TokenRequest {
                user: Some("CERT/ana".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let (record, narrowed) = n
        .create_token(
            &op,
            &node::TokenRequest {
                user: Some("CERT/ana".into()),
                max_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(record.max_tlp, Some(Tlp::Green));
    let session = |token: &str| -> Principal {
        let now = store::now();
        let secret = match n.sign_in_with_token(token, now).unwrap() {
            SignIn::Opened { secret } => secret,
            other => panic!("token sign-in refused: {other:?}"),
        };
        n.console_session(&secret, now, SessionLimits::default())
            .unwrap()
            .expect("a session")
            .principal
    };
    let full = session(&full);
    let narrowed = session(&narrowed);
    assert_eq!(narrowed.ceiling(), Some(Tlp::Green));
    // TAXII's reads through the gate bound what the console may show.
    let over_taxii = |p: &Principal| -> BTreeSet<Option<Tlp>> {
        gate(&n, p).into_iter().map(|o| o.tlp).collect()
    };
    assert_eq!(
        over_taxii(&narrowed),
        BTreeSet::from([Some(Tlp::Clear), Some(Tlp::Green)])
    );
    assert!(over_taxii(&full).contains(&Some(Tlp::AmberStrict)));

    for p in [&full, &narrowed] {
        assert_eq!(shown(&n, p), expected(&n, p));
    }
    let figures = shown(&n, &narrowed);
    assert!(figures.1.keys().all(|t| t.is_some_and(|t| t <= Tlp::Green)));
    assert!(shown(&n, &full).1.contains_key(&Some(Tlp::AmberStrict)));
    // GREEN pointers at the AMBER family are served by TAXII (the read
    // gate decides pointer targets by audience), so they count; the family
    // itself is neither named nor linked.
    let overview = n.overview(&narrowed, 7, store::now()).unwrap();
    for r in overview.malware.iter().filter(|r| r.id == stalker) {
        assert!(r.name.is_none() && r.collection_id.is_none(), "{r:?}");
    }
    assert!(
        overview
            .latest_reports
            .iter()
            .all(|l| l.object.id != id("report", 16))
    );

    // Lists, search and object pages.
    let listed = listed_ids(&n, &narrowed, None);
    assert!(listed.contains(&spyware));
    assert!(!listed.contains(&stalker));
    assert!(!listed.contains(&id("indicator", 13)));
    assert!(listed_ids(&n, &narrowed, Some("amberfamily")).is_empty());
    assert!(listed_ids(&n, &narrowed, Some("strictcall")).is_empty());
    assert_eq!(
        listed_ids(&n, &full, Some("amberfamily")),
        BTreeSet::from([stalker.clone()])
    );
    assert!(matches!(
        n.object_detail(&narrowed, &c.id, &stalker),
        Err(node::NodeError::NotFound(_))
    ));
    let detail = n.object_detail(&narrowed, &c.id, &spyware).unwrap();
    let around: Vec<&str> = detail
        .incoming
        .iter()
        .chain(&detail.outgoing)
        .map(|(l, _, _)| l.object.id.as_str())
        .chain(detail.referred_by.iter().map(|l| l.object.id.as_str()))
        .collect();
    assert!(!around.contains(&id("report", 16).as_str()));
    // The other end of a relationship it may read is not named when hidden.
    for (_, other, end) in detail.incoming.iter().chain(&detail.outgoing) {
        if *end == stalker {
            assert!(other.is_none(), "an AMBER end shown to a GREEN token");
        }
    }
    // Exports take what the token may read only.
    let (bundle, _) = n
        .export_selection(
            &narrowed,
            &[
                (c.id.clone(), spyware.clone()),
                (c.id.clone(), stalker.clone()),
            ],
        )
        .unwrap();
    assert!(bundle.contains(&spyware) && !bundle.contains("amberfamily"));
    // Like a token narrowed to collections, it reaches no incident.
    assert!(
        n.overview(&narrowed, 7, store::now())
            .unwrap()
            .incidents
            .is_none()
    );
}

fn expiring_indicator(n: u32, name: &str, valid_until: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"{name}","pattern":"[domain-name:value = '{name}.example']","pattern_type":"stix","valid_from":"{T}","valid_until":"{valid_until}",{}}}"#,
        id("indicator", n),
        marking(tlp)
    )
}

/// The read rules main added after the console's figures: a collection that
/// hides expired indicators, and the pointer gate under a token's TLP
/// ceiling. The overview must count exactly what TAXII serves, for password
/// sessions (a user) and capped token sessions alike.
#[test]
fn figures_follow_hidden_expired_indicators_and_the_ceiling_pointer_gate() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();
    let n = node(&dir, "n", false);
    n.create_org(&op, "CERT", None).unwrap();
    n.create_org(&op, "NGO", None).unwrap();
    n.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    n.create_user(&op, "NGO", "hugo", Role::Analyst).unwrap();
    n.create_community(&op, "dialogue", false).unwrap();
    n.add_member(&op, "dialogue", "CERT", false).unwrap();
    n.add_member(&op, "dialogue", "NGO", false).unwrap();
    let c = n
        .create_collection(
            &op,
            node::CollectionRequest {
                title: "dialogue".into(),
                community: Some("dialogue".into()),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
    let c = n.set_hide_expired(&op, &c.id, true).unwrap();
    assert!(c.hide_expired);
    let hugo = n.principal_named("NGO/hugo").unwrap();
    let (a, b) = (id("malware", 21), id("malware", 22));
    post(
        &n,
        &hugo,
        &c,
        &[
            malware(21, "greenone", Tlp::Green),
            malware(22, "greentwo", Tlp::Green),
            // A CLEAR pointer between GREEN families: a CLEAR-capped reader
            // may read the pointer's copy but not its targets.
            relationship(23, "variant-of", &a, &b, Tlp::Clear),
            indicator(24, "fresh", Tlp::Green),
            expiring_indicator(25, "gone", "2026-11-15T00:00:00.000Z", Tlp::Green),
            expiring_indicator(26, "later", "2099-01-01T00:00:00.000Z", Tlp::Green),
        ],
    );
    let token = |max_tlp: Option<Tlp>| -> Principal {
        let (_, secret) = n
            .create_token(
                &op,
                &node::TokenRequest {
                    user: Some("CERT/ana".into()),
                    max_tlp,
                    ..Default::default()
                },
            )
            .unwrap();
        let now = store::now();
        let session = match n.sign_in_with_token(&secret, now).unwrap() {
            SignIn::Opened { secret } => secret,
            other => panic!("token sign-in refused: {other:?}"),
        };
        n.console_session(&session, now, SessionLimits::default())
            .unwrap()
            .expect("a session")
            .principal
    };
    let ana = n.principal_named("CERT/ana").unwrap();
    let clear = token(Some(Tlp::Clear));
    let green = token(Some(Tlp::Green));
    // TAXII hides the expired indicator, and the CLEAR pointer from the
    // CLEAR-capped token.
    let served =
        |p: &Principal| -> BTreeSet<String> { gate(&n, p).into_iter().map(|o| o.id).collect() };
    assert!(!served(&ana).contains(&id("indicator", 25)));
    assert!(served(&ana).contains(&id("indicator", 26)));
    assert!(served(&ana).contains(&id("relationship", 23)));
    assert!(!served(&clear).contains(&id("relationship", 23)));
    for p in [&ana, &clear, &green, &hugo] {
        assert_eq!(shown(&n, p), expected(&n, p), "{p:?}");
    }
    assert_eq!(shown(&n, &ana).0.get("indicator"), Some(&2));
    assert!(listed_ids(&n, &ana, Some("gone")).is_empty());
}

/// A user of an organisation standing for a peer node, signed in by
/// password, reads under the relay guard: what another peer sent above
/// TLP:GREEN is neither served over TAXII nor counted by the console.
#[test]
fn a_peer_organisations_password_session_is_counted_under_the_relay_guard() {
    let dir = tempfile::tempdir().unwrap();
    let op = Principal::operator();
    let n = node(&dir, "n", false);
    for org in ["CERT", "RIA", "ZED"] {
        n.create_org(&op, org, None).unwrap();
    }
    n.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    n.create_user(&op, "RIA", "rita", Role::Analyst).unwrap();
    n.create_community(&op, "nodes", false).unwrap();
    for org in ["CERT", "RIA", "ZED"] {
        n.add_member(&op, "nodes", org, false).unwrap();
    }
    for (name, org) in [("ria", "RIA"), ("zed", "ZED")] {
        n.create_peer(
            &op,
            &PeerRequest {
                name: name.into(),
                url: format!("https://{name}.example/api1/"),
                org: org.into(),
                keys: Vec::new(),
                max_tlp: None,
                refuse_unsigned: false,
                ca_file: None,
                allow_plain_http: false,
                strict_recipient: None,
            },
        )
        .unwrap();
    }
    let c = n
        .create_collection(
            &op,
            node::CollectionRequest {
                title: "nodes".into(),
                community: Some("nodes".into()),
                default_tlp: Some(Tlp::Green),
                ..Default::default()
            },
        )
        .unwrap();
    let zed = n.principal_named("ZED/peer-zed").unwrap();
    let ana = n.principal_named("CERT/ana").unwrap();
    post(
        &n,
        &zed,
        &c,
        &[
            malware(31, "zedgreen", Tlp::Green),
            malware(32, "zedamber", Tlp::Amber),
        ],
    );
    post(&n, &ana, &c, &[malware(33, "certamber", Tlp::Amber)]);
    let password = "a passphrase long enough 42";
    n.set_password(&op, "RIA/rita", password).unwrap();
    let now = store::now();
    let secret = match n.sign_in_with_password("RIA/rita", password, now).unwrap() {
        SignIn::Opened { secret } => secret,
        other => panic!("password sign-in refused: {other:?}"),
    };
    let rita = n
        .console_session(&secret, now, SessionLimits::default())
        .unwrap()
        .expect("a session")
        .principal;
    assert!(!rita.relay_guard().is_empty());
    let served: BTreeSet<String> = gate(&n, &rita).into_iter().map(|o| o.id).collect();
    assert!(served.contains(&id("malware", 31)));
    assert!(!served.contains(&id("malware", 32)));
    assert!(served.contains(&id("malware", 33)));
    assert_eq!(shown(&n, &rita), expected(&n, &rita));
    assert_eq!(shown(&n, &rita).0.get("malware"), Some(&2));
    assert!(!listed_ids(&n, &rita, None).contains(&id("malware", 32)));
}
