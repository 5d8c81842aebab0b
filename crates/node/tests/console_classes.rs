//! The console counts pointer rows under their *count class* (see
//! `sharing::console::CountClass`): who sees them, exactly as the read
//! gate decides, including the readers of their targets. These are the
//! rows the figures once left to the gate, read one by one: a TLP:CLEAR
//! relationship between TLP:GREEN objects, a GREEN report over an AMBER
//! indicator. Each case checks that the rows are counted (none is left to
//! the gate) and that every reader's figures are what the gate serves it,
//! after deletions and new versions too.

use std::collections::BTreeMap;
use std::sync::Arc;

use node::{Node, SignIn};
use sharing::console::SessionLimits;
use sharing::recipients::NamedRecipients;
use sharing::{Principal, Role, Tlp};
use stix::Timestamp;
use store::{ConsoleStore, CountScope, ObjectQuery, SqliteOptions, SqliteStore, VersionMatch};

const T: &str = "2026-11-01T00:00:00.000Z";

fn id(kind: &str, n: u32) -> String {
    format!("{kind}--00000000-0000-4000-8000-{n:012x}")
}

fn marking(tlp: Tlp) -> String {
    format!(r#""object_marking_refs":["{}"]"#, tlp.marking_id())
}

fn malware(n: u32, modified: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"{}","created":"{T}","modified":"{modified}","name":"family{n}","is_family":true,{}}}"#,
        id("malware", n),
        marking(tlp)
    )
}

fn indicator(n: u32, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"ind{n}","pattern":"[domain-name:value = 'ind{n}.example']","pattern_type":"stix","valid_from":"{T}",{}}}"#,
        id("indicator", n),
        marking(tlp)
    )
}

fn relationship(n: u32, source: &str, target: &str, tlp: Tlp) -> String {
    format!(
        r#"{{"type":"relationship","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","relationship_type":"indicates","source_ref":"{source}","target_ref":"{target}",{}}}"#,
        id("relationship", n),
        marking(tlp)
    )
}

fn report(n: u32, refs: &[String], tlp: Tlp) -> String {
    let refs: Vec<String> = refs.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        r#"{{"type":"report","spec_version":"2.1","id":"{}","created":"{T}","modified":"{T}","name":"report{n}","published":"{T}","object_refs":[{}],{}}}"#,
        id("report", n),
        refs.join(","),
        marking(tlp)
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    node: Node,
    collection: store::Collection,
}

/// CERT and NGO in a community whose collection defaults to GREEN; ana
/// (CERT) and hugo (NGO) analysts.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(dir.path().join("n.db"), SqliteOptions::default()).unwrap());
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
    use store::DirectoryStore;
    let node = Node::new(store.clone(), stix::Validator::new()).unwrap();
    let op = Principal::operator();
    for org in ["CERT", "NGO"] {
        node.create_org(&op, org, None).unwrap();
    }
    node.create_user(&op, "CERT", "ana", Role::Analyst).unwrap();
    node.create_user(&op, "NGO", "hugo", Role::Analyst).unwrap();
    node.create_community(&op, "dialogue", false).unwrap();
    node.add_member(&op, "dialogue", "CERT", false).unwrap();
    node.add_member(&op, "dialogue", "NGO", false).unwrap();
    let collection = node
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
    Fixture {
        _dir: dir,
        store,
        node,
        collection,
    }
}

impl Fixture {
    fn post(&self, who: &str, objects: &[String]) {
        let who = self.node.principal_named(who).unwrap();
        let validator = stix::Validator::new();
        let valid: Vec<(usize, stix::StixObject)> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (i, validator.validate_str(i, o).unwrap()))
            .collect();
        let report = self
            .node
            .ingest(
                &who,
                &self.collection,
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

    /// A console session of a token: for a user (`ORG/USER`) capped at
    /// `max_tlp`, or a node-level token that reads the collection.
    fn token(&self, user: Option<&str>, max_tlp: Option<Tlp>) -> Principal {
        let op = Principal::operator();
        let (_, secret) = self
            .node
            .create_token(
                &op,
                &node::TokenRequest {
                    name: user.is_none().then(|| format!("service-{max_tlp:?}")),
                    user: user.map(str::to_owned),
                    read: if user.is_none() {
                        vec![self.collection.id.clone()]
                    } else {
                        Vec::new()
                    },
                    max_tlp,
                    ..Default::default()
                },
            )
            .unwrap();
        let now = store::now();
        let session = match self.node.sign_in_with_token(&secret, now).unwrap() {
            SignIn::Opened { secret } => secret,
            other => panic!("token sign-in refused: {other:?}"),
        };
        self.node
            .console_session(&session, now, SessionLimits::default())
            .unwrap()
            .expect("a session")
            .principal
    }

    /// The rows of the collection the figures leave to the gate.
    fn left_to_the_gate(&self) -> Vec<String> {
        self.store
            .uncounted(
                &CountScope {
                    collection: self.collection.key,
                    audience: None,
                    max_tlp: None,
                },
                Timestamp::from_micros(0),
                100,
            )
            .unwrap()
            .into_iter()
            .map(|(o, _)| o.id)
            .collect()
    }

    /// Objects per type that the gate serves `p` (every version).
    fn served(&self, p: &Principal) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let page = self
            .node
            .read(
                p,
                &self.collection,
                &ObjectQuery {
                    versions: VersionMatch::all(),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(!page.more);
        for o in page.items {
            *out.entry(o.object_type).or_insert(0) += 1;
        }
        out
    }

    /// Objects per type in `p`'s overview.
    fn shown(&self, p: &Principal) -> BTreeMap<String, u64> {
        let o = self.node.overview(p, 7, store::now()).unwrap();
        assert!(!o.partial);
        o.by_type
            .iter()
            .map(|(t, v)| (t.clone(), v.iter().sum()))
            .collect()
    }

    fn check(&self, readers: &[(&str, &Principal)]) {
        for (name, p) in readers {
            assert_eq!(self.shown(p), self.served(p), "{name}");
        }
    }
}

/// A TLP:CLEAR relationship between TLP:GREEN malware: a token capped at
/// CLEAR reads the relationship's copy but not its targets, so the gate
/// withholds it, unless the token's organisation wrote it.
#[test]
fn a_clear_pointer_at_green_targets_is_counted_and_left_out_under_a_clear_ceiling() {
    let f = fixture();
    let (a, b) = (id("malware", 1), id("malware", 2));
    f.post(
        "NGO/hugo",
        &[
            malware(1, T, Tlp::Green),
            malware(2, T, Tlp::Green),
            relationship(3, &a, &b, Tlp::Clear),
        ],
    );
    assert_eq!(f.left_to_the_gate(), Vec::<String>::new());
    let ana = f.node.principal_named("CERT/ana").unwrap();
    let hugo = f.node.principal_named("NGO/hugo").unwrap();
    let ana_clear = f.token(Some("CERT/ana"), Some(Tlp::Clear));
    let ana_green = f.token(Some("CERT/ana"), Some(Tlp::Green));
    let hugo_clear = f.token(Some("NGO/hugo"), Some(Tlp::Clear));
    f.check(&[
        ("ana", &ana),
        ("hugo", &hugo),
        ("ana at CLEAR", &ana_clear),
        ("ana at GREEN", &ana_green),
        ("hugo at CLEAR", &hugo_clear),
        ("operator", &Principal::operator()),
    ]);
    assert_eq!(f.shown(&ana_clear).get("relationship"), None);
    assert_eq!(f.shown(&ana_green).get("relationship"), Some(&1));
    // Its own organisation reads it back whatever it points at.
    assert_eq!(f.shown(&hugo_clear).get("relationship"), Some(&1));
}

/// A GREEN report over an AMBER indicator reaches the readers of both: the
/// members, not a node-level token that reads GREEN but not AMBER. Deleting
/// the indicator, and a new version of a target, take back what the
/// report's class added and count it again under its new class.
#[test]
fn a_green_report_over_an_amber_indicator_counts_for_readers_of_both_until_it_changes() {
    let f = fixture();
    let refs = vec![id("indicator", 1), id("indicator", 2), id("malware", 3)];
    f.post(
        "CERT/ana",
        &[
            indicator(1, Tlp::Amber),
            indicator(2, Tlp::Green),
            malware(3, T, Tlp::Green),
            report(4, &refs, Tlp::Green),
            relationship(5, &refs[1], &refs[2], Tlp::Green),
        ],
    );
    assert_eq!(f.left_to_the_gate(), Vec::<String>::new());
    let ana = f.node.principal_named("CERT/ana").unwrap();
    let hugo = f.node.principal_named("NGO/hugo").unwrap();
    let service = f.token(None, None);
    let service_clear = f.token(None, Some(Tlp::Clear));
    let readers = [
        ("ana", &ana),
        ("hugo", &hugo),
        ("a node-level token", &service),
        ("a node-level token at CLEAR", &service_clear),
    ];
    f.check(&readers);
    assert_eq!(f.shown(&hugo).get("report"), Some(&1));
    assert_eq!(f.shown(&service).get("report"), None);
    assert_eq!(f.shown(&service).get("indicator"), Some(&1));
    assert_eq!(f.shown(&service).get("relationship"), Some(&1));

    // A new version of the malware at AMBER: the relationship and the
    // report may reach their readers through either version.
    f.post(
        "CERT/ana",
        &[malware(3, "2026-11-02T00:00:00.000Z", Tlp::Amber)],
    );
    f.check(&readers);
    assert_eq!(f.left_to_the_gate(), Vec::<String>::new());
    assert_eq!(f.shown(&service).get("relationship"), Some(&1));

    // Deleting the AMBER indicator: the report no longer needs AMBER.
    let op = Principal::operator();
    f.node
        .delete_object(
            &op,
            &f.collection,
            &id("indicator", 1),
            &VersionMatch::all(),
            &[],
        )
        .unwrap();
    // Until the decision is taken again the gate decides the report.
    f.check(&readers);
    f.node.settle_counts().unwrap();
    assert_eq!(f.left_to_the_gate(), Vec::<String>::new());
    f.check(&readers);
    assert_eq!(f.shown(&service).get("report"), Some(&1));
    assert_eq!(f.shown(&ana).get("report"), Some(&1));

    // Deleting the report takes it out of every reader's figures.
    f.node
        .delete_object(
            &op,
            &f.collection,
            &id("report", 4),
            &VersionMatch::all(),
            &[],
        )
        .unwrap();
    f.node.settle_counts().unwrap();
    f.check(&readers);
    assert_eq!(f.shown(&ana).get("report"), None);
    assert_eq!(f.shown(&hugo).get("report"), None);
}

/// In a collection that hides expired indicators, an indicator whose latest
/// version has expired is hidden with all its versions, including one
/// without a `valid_until` and one outside the expired version's window;
/// the figures find it through the index of `valid_until`, and what points
/// at it stays.
#[test]
fn an_expired_latest_version_hides_every_version_from_the_figures() {
    let mut f = fixture();
    let op = Principal::operator();
    f.collection = f
        .node
        .set_hide_expired(&op, &f.collection.id, true)
        .unwrap();
    let version = |modified: &str, until: Option<&str>| -> String {
        let until = until
            .map(|u| format!(r#""valid_until":"{u}","#))
            .unwrap_or_default();
        format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"{T}","modified":"{modified}","name":"gone","pattern":"[domain-name:value = 'gone.example']","pattern_type":"stix","valid_from":"{T}",{until}{}}}"#,
            id("indicator", 7),
            marking(Tlp::Green)
        )
    };
    f.post(
        "CERT/ana",
        &[
            version(T, None),
            indicator(8, Tlp::Green),
            malware(9, T, Tlp::Green),
            relationship(10, &id("indicator", 7), &id("malware", 9), Tlp::Green),
        ],
    );
    let ana = f.node.principal_named("CERT/ana").unwrap();
    let hugo = f.node.principal_named("NGO/hugo").unwrap();
    let readers = [("ana", &ana), ("hugo", &hugo), ("operator", &op)];
    f.check(&readers);
    assert_eq!(f.shown(&hugo).get("indicator"), Some(&2));
    f.post(
        "CERT/ana",
        &[version(
            "2026-11-02T00:00:00.000Z",
            Some("2026-11-03T00:00:00.000Z"),
        )],
    );
    f.check(&readers);
    assert_eq!(f.shown(&hugo).get("indicator"), Some(&1));
    assert_eq!(f.shown(&hugo).get("relationship"), Some(&1));
}
