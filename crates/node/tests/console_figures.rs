//! The console's figures against the read gate, on random scenarios.
//!
//! Random objects (malware, identities, observables posted by several
//! sources, relationships and reports pointing backwards *and forwards* at
//! other objects, in other collections too) at random TLPs, posted by users
//! of three organisations into community and organisation collections (one
//! member may be pseudonymous), then random deletions. For every reader the
//! overview's counts — by type, by TLP, references to malware and targeted
//! identities — must equal what the same reader gets by reading every
//! collection through `Node::read`, the gate TAXII uses: the figures kept
//! in the store, the rows left to the gate and the masks together must
//! neither leak nor lose anything. The node signs what is posted, so its
//! manifests are in the collections too: the gate serves them, the console
//! does not count them. Readers include tokens under a TLP ceiling and
//! principals standing for a peer node (under the relay guard, with and
//! without a ceiling). The first collection may hide expired indicators,
//! some of which are.
//!
//! Cases: 64 by default; `PROPTEST_CASES=2000 cargo test --release -p node
//! --test console_figures` runs more.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use sharing::recipients::NamedRecipients;
use sharing::{Principal, Role, Tlp};
use store::{DirectoryStore, ObjectQuery, SqliteOptions, SqliteStore, VersionMatch};

const TLPS: [Option<Tlp>; 5] = [
    None,
    Some(Tlp::Clear),
    Some(Tlp::Green),
    Some(Tlp::Amber),
    Some(Tlp::AmberStrict),
];

#[derive(Clone, Debug)]
enum Kind {
    Malware,
    Identity,
    /// A domain name: value index (several sources may post one value).
    Observable(usize),
    /// `uses` or `targets` to another object (any index: it may come later).
    Relationship {
        target: usize,
        targets: bool,
    },
    /// A report about other objects.
    Report(Vec<usize>),
    /// An indicator, expired or not.
    Indicator {
        expired: bool,
    },
}

#[derive(Clone, Debug)]
struct Spec {
    poster: usize,
    collection: usize,
    tlp: usize,
    kind: Kind,
}

#[derive(Clone, Debug)]
struct Scenario {
    pseudonymous: bool,
    /// The first collection hides expired indicators.
    hide_expired: bool,
    defaults: [usize; 3],
    objects: Vec<Spec>,
    deletions: Vec<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let kind = prop_oneof![
        2 => Just(Kind::Malware),
        1 => Just(Kind::Identity),
        1 => (0usize..2).prop_map(Kind::Observable),
        3 => (0usize..12, any::<bool>()).prop_map(|(target, targets)| Kind::Relationship { target, targets }),
        1 => prop::collection::vec(0usize..12, 1..=3).prop_map(Kind::Report),
        1 => any::<bool>().prop_map(|expired| Kind::Indicator { expired }),
    ];
    let spec =
        (0usize..3, 0usize..3, 0usize..5, kind).prop_map(|(poster, collection, tlp, kind)| Spec {
            poster,
            collection,
            tlp,
            kind,
        });
    (
        any::<bool>(),
        any::<bool>(),
        [0usize..5, 0usize..5, 0usize..5],
        prop::collection::vec(spec, 1..=12),
        prop::collection::vec(0usize..12, 0..=3),
    )
        .prop_map(
            |(pseudonymous, hide_expired, defaults, objects, deletions)| Scenario {
                pseudonymous,
                hide_expired,
                defaults,
                objects,
                deletions,
            },
        )
}

fn id_of(case: u64, s: &Scenario, i: usize) -> String {
    let kind = match s.objects.get(i).map(|o| &o.kind) {
        Some(Kind::Malware) | None => "malware",
        Some(Kind::Identity) => "identity",
        Some(Kind::Observable(_)) => "domain-name",
        Some(Kind::Relationship { .. }) => "relationship",
        Some(Kind::Report(_)) => "report",
        Some(Kind::Indicator { .. }) => "indicator",
    };
    match s.objects.get(i).map(|o| &o.kind) {
        // One id per value, whoever posts it.
        Some(Kind::Observable(v)) => {
            format!("domain-name--{:08x}-0000-4000-8000-{:012x}", case as u32, v)
        }
        _ => format!("{kind}--{:08x}-0001-4000-8000-{:012x}", case as u32, i),
    }
}

fn object_json(case: u64, s: &Scenario, i: usize) -> String {
    let o = &s.objects[i];
    let id = id_of(case, s, i);
    let t = "2026-11-01T00:00:00.000Z";
    let marking = match TLPS[o.tlp] {
        Some(tlp) => format!(r#","object_marking_refs":["{}"]"#, tlp.marking_id()),
        None => String::new(),
    };
    match &o.kind {
        Kind::Malware => format!(
            r#"{{"type":"malware","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","name":"m{i}","is_family":true{marking}}}"#
        ),
        Kind::Identity => format!(
            r#"{{"type":"identity","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","name":"i{i}","identity_class":"class","sectors":["energy","sector{}"]{marking}}}"#,
            i % 2
        ),
        Kind::Observable(v) => format!(
            r#"{{"type":"domain-name","spec_version":"2.1","id":"{id}","value":"v{v}.example"{marking}}}"#
        ),
        Kind::Relationship { target, targets } => {
            let target = id_of(case, s, *target);
            let kind = if *targets { "targets" } else { "uses" };
            format!(
                r#"{{"type":"relationship","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","relationship_type":"{kind}","source_ref":"malware--{:08x}-0002-4000-8000-000000000000","target_ref":"{target}"{marking}}}"#,
                case as u32
            )
        }
        Kind::Indicator { expired } => {
            let until = if *expired {
                "2026-11-15T00:00:00.000Z"
            } else {
                "2099-01-01T00:00:00.000Z"
            };
            format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","name":"n{i}","pattern":"[domain-name:value = 'n{i}.example']","pattern_type":"stix","valid_from":"{t}","valid_until":"{until}"{marking}}}"#
            )
        }
        Kind::Report(refs) => {
            let refs: Vec<String> = refs
                .iter()
                .map(|r| format!("\"{}\"", id_of(case, s, *r)))
                .collect();
            format!(
                r#"{{"type":"report","spec_version":"2.1","id":"{id}","created":"{t}","modified":"{t}","name":"r{i}","published":"{t}","object_refs":[{}]{marking}}}"#,
                refs.join(",")
            )
        }
    }
}

/// Counts by type, by TLP, and references to ranked targets.
type Figures = (
    BTreeMap<String, u64>,
    BTreeMap<Option<Tlp>, u64>,
    BTreeMap<String, u64>,
);

/// One signing key for every case (making one costs more than a case).
fn signer() -> node::Signer {
    static SIGNER: OnceLock<node::Signer> = OnceLock::new();
    SIGNER
        .get_or_init(|| {
            node::Signer::new(
                provenance::SigningKey::generate().unwrap(),
                provenance::Origin {
                    name: "test".into(),
                    url: None,
                },
            )
        })
        .clone()
}

/// What a reader gets over the gate: its figures over every version in
/// every collection it reads, less the signed manifests (which the console
/// does not list).
fn through_the_gate(node: &node::Node, p: &Principal) -> Figures {
    let (mut types, mut tlps, mut ranked) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
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
            for o in page
                .items
                .iter()
                .filter(|o| o.object_type != "x-entente-manifest")
            {
                *types.entry(o.object_type.clone()).or_insert(0) += 1;
                *tlps.entry(o.tlp).or_insert(0) += 1;
                let v: serde_json::Value = serde_json::from_str(&o.raw).unwrap();
                for r in &o.refs {
                    let targeted =
                        v["relationship_type"] == "targets" && v["target_ref"] == r.as_str();
                    if r.starts_with("malware--") || (r.starts_with("identity--") && targeted) {
                        *ranked.entry(r.clone()).or_insert(0) += 1;
                    }
                }
            }
            match page.resume_after {
                Some(after) if page.more => q.added_after = Some(after),
                _ => break,
            }
        }
    }
    (types, tlps, ranked)
}

fn run(case: u64, s: &Scenario) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(dir.path().join("c.db"), SqliteOptions::default()).unwrap());
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
    let node = node::Node::new(store, stix::Validator::new())
        .unwrap()
        .with_signer(signer());
    let op = Principal::operator();
    for o in ["a", "b", "c"] {
        node.create_org(&op, o, None).unwrap();
        node.create_user(&op, o, "u", Role::Analyst).unwrap();
    }
    node.create_community(&op, "ab", false).unwrap();
    node.create_community(&op, "bc", false).unwrap();
    node.add_member(&op, "ab", "a", false).unwrap();
    node.add_member(&op, "ab", "b", false).unwrap();
    node.add_member(&op, "bc", "b", false).unwrap();
    node.add_member(&op, "bc", "c", s.pseudonymous).unwrap();
    let owners: [(Option<&str>, Option<&str>); 3] =
        [(None, Some("ab")), (None, Some("bc")), (Some("a"), None)];
    let mut collections = Vec::new();
    for (i, (org, community)) in owners.iter().enumerate() {
        collections.push(
            node.create_collection(
                &op,
                node::CollectionRequest {
                    title: format!("c{i}"),
                    org: org.map(str::to_owned),
                    community: community.map(str::to_owned),
                    default_tlp: TLPS[s.defaults[i]],
                    ..Default::default()
                },
            )
            .unwrap(),
        );
    }
    if s.hide_expired {
        node.set_hide_expired(&op, &collections[0].id, true)
            .unwrap();
    }
    let users: Vec<Principal> = ["a/u", "b/u", "c/u"]
        .iter()
        .map(|u| node.principal_named(u).unwrap())
        .collect();
    let validator = stix::Validator::new();
    for (i, o) in s.objects.iter().enumerate() {
        let text = object_json(case, s, i);
        // A relationship may point at another relationship: STIX refuses
        // it, as it would any invalid object.
        let Ok(object) = validator.validate_str(0, &text) else {
            continue;
        };
        let _ = node
            .ingest(
                &users[o.poster],
                &collections[o.collection],
                vec![(0, object)],
                Vec::new(),
                &NamedRecipients::default(),
            )
            .unwrap();
    }
    // Manifests join the collections before the deletions.
    node.sign_pending().unwrap();
    for d in &s.deletions {
        if let Some(o) = s.objects.get(*d) {
            let _ = node.delete_object(
                &op,
                &collections[o.collection],
                &id_of(case, s, *d),
                &VersionMatch::all(),
                &[],
            );
        }
    }
    let now = store::now();
    let mut readers = users.clone();
    readers.push(op.clone());
    // The same users through tokens under a ceiling.
    for (user, ceiling) in users.iter().zip([Tlp::Clear, Tlp::Green, Tlp::Amber]) {
        readers.push(user.clone().with_ceiling(ceiling));
    }
    // The same users standing for a peer node: what the other two
    // organisations posted above TLP:GREEN is not for them (the relay
    // guard), which the kept counts cannot tell; once more under a ceiling.
    let orgs: Vec<_> = users.iter().map(|u| u.org().unwrap()).collect();
    for (i, user) in users.iter().enumerate() {
        let others: Vec<_> = orgs.iter().copied().filter(|o| *o != orgs[i]).collect();
        readers.push(user.clone().with_relay_guard(others.clone()));
        if i == 1 {
            readers.push(
                user.clone()
                    .with_relay_guard(others)
                    .with_ceiling(Tlp::Amber),
            );
        }
    }
    for p in &readers {
        let (types, tlps, ranked) = through_the_gate(&node, p);
        let o = node.overview(p, 90, now).unwrap();
        let shown_types: BTreeMap<String, u64> = o
            .by_type
            .iter()
            .map(|(t, v)| (t.clone(), v.iter().sum()))
            .collect();
        let shown_tlps: BTreeMap<Option<Tlp>, u64> =
            o.by_tlp.iter().map(|(t, v)| (*t, v.iter().sum())).collect();
        let who = (p.member.clone(), p.ceiling(), p.relay_guard().to_vec());
        prop_assert_eq!(&shown_types, &types, "by type for {:?}", who);
        prop_assert_eq!(&shown_tlps, &tlps, "by TLP for {:?}", who);
        let shown_malware: BTreeMap<String, u64> =
            o.malware.iter().map(|r| (r.id.clone(), r.count)).collect();
        let malware: BTreeMap<String, u64> = ranked
            .iter()
            .filter(|(k, _)| k.starts_with("malware--"))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        prop_assert_eq!(shown_malware, malware, "malware for {:?}", who);
        prop_assert!(!o.partial);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]
    #[test]
    fn overview_counts_equal_what_the_gate_serves(s in scenario(), case in 0u64..u64::from(u32::MAX)) {
        run(case, &s)?;
    }
}
