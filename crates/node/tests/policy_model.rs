//! The sharing policy against a deliberately simple reference model.
//!
//! Random organisations, communities, users and collections; random objects
//! with random TLP markings (object-level and granular), named recipients
//! (members and non-members alike) and references, posted by random users;
//! new versions of earlier objects by random users (only the source may
//! version), creator claims naming random organisations (only one's own),
//! and observables that several sources post under one id (each keeps its
//! own copy; a reader receives one). For every principal and every read
//! shape, what the node returns must be exactly what the model allows.
//!
//! The model below is written from the rules in words (issue 3), not from
//! the `sharing` crate: it shares no code with the implementation.
//!
//! Cases: 10,000 by default; `PROPTEST_CASES=1000000 cargo test --release -p
//! node --test policy_model` runs a million.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

use proptest::prelude::*;
use sharing::{Owner, Principal, Role, Tlp};
use store::{DirectoryStore, NewCollection, ObjectQuery, SqliteOptions, SqliteStore, VersionMatch};

const TLPS: [Option<Tlp>; 6] = [
    None,
    Some(Tlp::Clear),
    Some(Tlp::Green),
    Some(Tlp::Amber),
    Some(Tlp::AmberStrict),
    Some(Tlp::Red),
];

#[derive(Clone, Debug)]
struct Scenario {
    orgs: usize,
    /// Users: (org index, can write).
    users: Vec<(usize, bool)>,
    /// Communities: member org indexes.
    communities: Vec<BTreeSet<usize>>,
    collections: Vec<CollectionSpec>,
    objects: Vec<ObjectSpec>,
}

/// What an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Indicator,
    /// A report pointing at an earlier object.
    Report(usize),
    /// A new version of an earlier indicator (its root), in its collection.
    Version(usize),
    /// A domain-name observable: value `k` of its collection (values are
    /// per collection, so copies of one id meet in one collection only).
    Observable(usize),
}

impl Scenario {
    fn kind(&self, i: usize) -> Kind {
        let o = &self.objects[i];
        if let Some(k) = o.observable {
            return Kind::Observable(k);
        }
        if let Some(r) = o.reversion_of.filter(|r| *r < i)
            && let Kind::Indicator | Kind::Version(_) = self.kind(r)
        {
            return Kind::Version(self.root(r));
        }
        match o.points_at.filter(|t| *t < i) {
            Some(t) => Kind::Report(t),
            None => Kind::Indicator,
        }
    }
    /// The earlier object `i` points at, if any (pointers only go backwards).
    fn target(&self, i: usize) -> Option<usize> {
        match self.kind(i) {
            Kind::Report(t) => Some(t),
            _ => None,
        }
    }
    /// The first version of the indicator `i` is a version of.
    fn root(&self, i: usize) -> usize {
        match self.kind(i) {
            Kind::Version(r) => r,
            _ => i,
        }
    }
    /// The collection object `i` goes to: a version goes where its root is.
    fn collection(&self, i: usize) -> usize {
        match self.kind(i) {
            Kind::Version(r) => self.objects[r].collection,
            _ => self.objects[i].collection,
        }
    }
}

#[derive(Clone, Debug)]
struct CollectionSpec {
    /// `Ok(org)` or `Err(community)`.
    owner: Result<usize, usize>,
    default_tlp: Option<Tlp>,
    public: bool,
}

#[derive(Clone, Debug)]
struct ObjectSpec {
    poster: usize,
    collection: usize,
    /// Object-level TLP marking.
    tlp: Option<Tlp>,
    /// A granular TLP marking on the name.
    granular: Option<Tlp>,
    recipient_orgs: Vec<usize>,
    recipient_users: Vec<usize>,
    /// A report pointing at an earlier object instead of an indicator.
    points_at: Option<usize>,
    /// A new version of an earlier indicator instead.
    reversion_of: Option<usize>,
    /// A domain-name observable (value index) instead.
    observable: Option<usize>,
    /// `created_by_ref` names this organisation's identity.
    claims: Option<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (2usize..=4, 1usize..=2, 1usize..=3).prop_flat_map(|(orgs, ncomm, ncoll)| {
        let users = prop::collection::vec((0..orgs, any::<bool>()), 1..=6);
        let communities =
            prop::collection::vec(prop::collection::btree_set(0..orgs, 1..=orgs), ncomm);
        let collections = prop::collection::vec(
            (
                prop_oneof![(0..orgs).prop_map(Ok), (0..ncomm).prop_map(Err)],
                0usize..6,
                prop::bool::weighted(0.2),
            )
                .prop_map(|(owner, t, public)| CollectionSpec {
                    owner,
                    default_tlp: TLPS[t],
                    public,
                }),
            ncoll,
        );
        (Just(orgs), users, communities, collections).prop_flat_map(
            move |(orgs, users, communities, collections)| {
                let nusers = users.len();
                let object = (
                    0..nusers,
                    0..ncoll,
                    0usize..6,
                    prop_oneof![3 => Just(None), 1 => (1usize..6).prop_map(|t| TLPS[t])],
                    prop::collection::vec(0..orgs, 0..=2),
                    prop::collection::vec(0..nusers, 0..=2),
                    prop::option::weighted(0.3, 0usize..8),
                    (
                        prop::option::weighted(0.2, 0usize..8),
                        prop::option::weighted(0.2, 0usize..2),
                        prop::option::weighted(0.15, 0..orgs),
                    ),
                )
                    .prop_map(
                        |(
                            poster,
                            collection,
                            t,
                            granular,
                            recipient_orgs,
                            recipient_users,
                            points_at,
                            (reversion_of, observable, claims),
                        )| ObjectSpec {
                            poster,
                            collection,
                            tlp: TLPS[t],
                            granular,
                            recipient_orgs,
                            recipient_users,
                            points_at,
                            reversion_of,
                            observable,
                            claims,
                        },
                    );
                (
                    Just(orgs),
                    Just(users),
                    Just(communities),
                    Just(collections),
                    prop::collection::vec(object, 1..=8),
                )
                    .prop_map(
                        |(orgs, users, communities, collections, objects)| Scenario {
                            orgs,
                            users,
                            communities,
                            collections,
                            objects,
                        },
                    )
            },
        )
    })
}

type Shared = (tempfile::TempDir, node::Node, Arc<SqliteStore>, Mutex<u64>);

/// One node per test (the two halves run in parallel); every case uses
/// entities of its own.
fn shared_node(half: usize) -> &'static Shared {
    static NODES: [OnceLock<Shared>; 2] = [OnceLock::new(), OnceLock::new()];
    NODES[half].get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path().join("model.db"), SqliteOptions::default()).unwrap();
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
        let store = Arc::new(store);
        let node = node::Node::new(store.clone(), stix::Validator::new()).unwrap();
        (dir, node, store, Mutex::new(0))
    })
}

fn uuid(case: u64, kind: u64, n: usize) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8000-{:012x}",
        case as u32, kind, n, case
    )
}

/// The model's verdict: may reader `r` (None: anonymous) see object `o` in its collection?
struct Model<'a> {
    s: &'a Scenario,
    /// Which objects were stored, decided in posting order.
    stored: Vec<bool>,
}

impl<'a> Model<'a> {
    fn org_of(&self, user: usize) -> usize {
        self.s.users[user].0
    }
    fn member(&self, org: usize, c: usize) -> bool {
        match self.s.collections[c].owner {
            Ok(o) => o == org,
            Err(k) => self.s.communities[k].contains(&org),
        }
    }
    fn can_read(&self, reader: Option<usize>, c: usize) -> bool {
        self.s.collections[c].public || reader.is_some_and(|u| self.member(self.org_of(u), c))
    }
    fn can_write(&self, user: usize, c: usize) -> bool {
        self.s.users[user].1 && self.member(self.org_of(user), c)
    }
    fn level(&self, i: usize) -> Option<Tlp> {
        let o = &self.s.objects[i];
        let marked = match (o.tlp, o.granular) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        marked.or(self.s.collections[self.s.collection(i)].default_tlp)
    }
    /// May the poster of `i` name every recipient it names? Its own
    /// organisation and the collection's members only.
    fn recipients_addressable(&self, i: usize) -> bool {
        let o = &self.s.objects[i];
        let c = self.s.collection(i);
        let own = self.org_of(o.poster);
        let ok = |org: usize| org == own || self.member(org, c);
        o.recipient_orgs.iter().all(|r| ok(*r))
            && o.recipient_users.iter().all(|u| ok(self.org_of(*u)))
    }
    /// Named recipients narrow AMBER, AMBER+STRICT and RED only: an object
    /// naming them at a lower level (or at none) is refused, never stored
    /// with its recipients dropped.
    fn recipients_narrow(&self, i: usize) -> bool {
        let o = &self.s.objects[i];
        (o.recipient_orgs.is_empty() && o.recipient_users.is_empty())
            || matches!(
                self.level(i),
                Some(Tlp::Amber | Tlp::AmberStrict | Tlp::Red)
            )
    }
    /// Does `i` pass the rules that do not depend on what is stored?
    fn acceptable(&self, i: usize) -> bool {
        let o = &self.s.objects[i];
        let claims_ok = match (self.s.kind(i), o.claims) {
            (Kind::Observable(_), _) | (_, None) => true,
            (_, Some(org)) => org == self.org_of(o.poster),
        };
        self.can_write(o.poster, self.s.collection(i))
            && !(self.level(i) == Some(Tlp::Red) && o.recipient_users.is_empty())
            && self.recipients_addressable(i)
            && self.recipients_narrow(i)
            && claims_ok
    }
    /// The objects stored before `i` under the same id (in its collection).
    fn earlier_copies(&self, i: usize) -> Vec<usize> {
        (0..i)
            .filter(|k| self.same_id(*k, i) && self.stored(*k))
            .collect()
    }
    fn same_id(&self, a: usize, b: usize) -> bool {
        let c = |i| self.s.collection(i);
        match (self.s.kind(a), self.s.kind(b)) {
            (Kind::Observable(x), Kind::Observable(y)) => x == y && c(a) == c(b),
            (Kind::Observable(_), _) | (_, Kind::Observable(_)) => false,
            _ => self.s.root(a) == self.s.root(b),
        }
    }
    fn new(s: &'a Scenario) -> Model<'a> {
        let mut model = Model {
            s,
            stored: Vec::new(),
        };
        for i in 0..s.objects.len() {
            let stored = model.decide_stored(i);
            model.stored.push(stored);
        }
        model
    }
    /// Was the object stored (a row of its own)?
    fn stored(&self, i: usize) -> bool {
        self.stored[i]
    }
    /// Whether object `i` is stored, given what was stored before it.
    fn decide_stored(&self, i: usize) -> bool {
        if !self.acceptable(i) {
            return false;
        }
        let o = &self.s.objects[i];
        let poster_org = self.org_of(o.poster);
        let earlier = self.earlier_copies(i);
        match self.s.kind(i) {
            // One copy per source: a later post by the same source is a
            // duplicate (or a conflict), never a second row.
            Kind::Observable(_) => !earlier
                .iter()
                .any(|k| self.org_of(self.s.objects[*k].poster) == poster_org),
            Kind::Version(_) => {
                let known: Vec<usize> = earlier
                    .iter()
                    .copied()
                    .filter(|k| {
                        self.sees_by_markings(Some(o.poster), *k)
                            || self.org_of(self.s.objects[*k].poster) == poster_org
                    })
                    .collect();
                match known.first() {
                    // Only the source makes new versions.
                    Some(first) => self.org_of(self.s.objects[*first].poster) == poster_org,
                    // A hidden version in this collection cannot be stood in for.
                    None => earlier.is_empty(),
                }
            }
            Kind::Indicator | Kind::Report(_) => true,
        }
    }
    fn sees_by_markings(&self, reader: Option<usize>, i: usize) -> bool {
        let o = &self.s.objects[i];
        let c = self.s.collection(i);
        if !self.can_read(reader, c) {
            return false;
        }
        let Some(u) = reader else {
            return self.level(i) == Some(Tlp::Clear);
        };
        let org = self.org_of(u);
        let source = self.org_of(o.poster);
        match self.level(i) {
            None => org == source,
            Some(Tlp::Clear) => true,
            Some(Tlp::Green) => self.member(org, c) || org == source,
            Some(Tlp::Amber | Tlp::AmberStrict) => {
                if o.recipient_orgs.is_empty() && o.recipient_users.is_empty() {
                    self.member(org, c) || org == source
                } else {
                    o.recipient_orgs.contains(&org)
                        || o.recipient_users.contains(&u)
                        || org == source
                }
            }
            Some(Tlp::Red) => o.recipient_users.contains(&u) || u == o.poster,
        }
    }
    /// May the reader see the stored copy `i` (markings, then pointers)?
    fn sees(&self, reader: Option<usize>, i: usize) -> bool {
        if !self.stored(i) || !self.sees_by_markings(reader, i) {
            return false;
        }
        // A pointer to something the node holds but the reader may not see is
        // withheld, except from the organisation that posted the pointer.
        let own = reader.is_some_and(|u| self.org_of(u) == self.org_of(self.s.objects[i].poster));
        match self.s.target(i) {
            Some(_) if own => true,
            Some(t) => self.target_visible(reader, t),
            None => true,
        }
    }
    /// Is the id of object `t`, as a pointer's target, visible to the
    /// reader? Not held: yes. Held: when a copy is, except a copy the
    /// reader's organisation added after another source's first one.
    fn target_visible(&self, reader: Option<usize>, t: usize) -> bool {
        let copies: Vec<usize> = (0..self.s.objects.len())
            .filter(|k| self.same_id(*k, t) && self.stored(*k))
            .collect();
        let Some(first) = copies.first() else {
            return true;
        };
        let first_org = self.org_of(self.s.objects[*first].poster);
        let reader_org = reader.map(|u| self.org_of(u));
        copies.iter().any(|k| {
            let org = self.org_of(self.s.objects[*k].poster);
            let planted = reader_org == Some(org) && first_org != org;
            !planted && self.sees(reader, *k)
        })
    }
    /// Does the reader see the id of object `i` in its collection at all?
    fn sees_id(&self, reader: Option<usize>, i: usize) -> bool {
        (0..self.s.objects.len()).any(|k| self.same_id(k, i) && self.sees(reader, k))
    }
    /// Does a listing of latest versions show the reader the id of `i`? An
    /// indicator whose latest version is hidden from it is missing there.
    fn sees_latest(&self, reader: Option<usize>, i: usize) -> bool {
        match self.s.kind(i) {
            Kind::Indicator | Kind::Version(_) => {
                let latest = (0..self.s.objects.len())
                    .filter(|k| self.same_id(*k, i) && self.stored(*k))
                    .max();
                latest.is_some_and(|k| self.sees(reader, k))
            }
            _ => self.sees_id(reader, i),
        }
    }
}

fn marking_json(tlp: Tlp) -> String {
    tlp.marking_definition()
}

fn run_case(s: &Scenario, half: usize) -> Result<(), TestCaseError> {
    let (_dir, node, store, counter) = shared_node(half);
    let case = {
        let mut c = counter.lock().unwrap();
        *c += 1;
        *c * 2 + half as u64
    };
    let orgs: Vec<_> = (0..s.orgs)
        .map(|o| {
            store
                .create_org(
                    &format!("org-{case}-{o}"),
                    &format!("identity--{}", uuid(case, 1, o)),
                    &store::AuditEntry::default(),
                )
                .unwrap()
        })
        .collect();
    let users: Vec<_> = s
        .users
        .iter()
        .enumerate()
        .map(|(i, (o, w))| {
            store
                .create_user(
                    orgs[*o].id,
                    &format!("u{i}"),
                    if *w { Role::Analyst } else { Role::Reader },
                    &store::AuditEntry::default(),
                )
                .unwrap()
        })
        .collect();
    let communities: Vec<_> = s
        .communities
        .iter()
        .enumerate()
        .map(|(k, members)| {
            let c = store
                .create_community(
                    &format!("comm-{case}-{k}"),
                    false,
                    &store::AuditEntry::default(),
                )
                .unwrap();
            for m in members {
                store
                    .add_member(c.id, orgs[*m].id, false, &store::AuditEntry::default())
                    .unwrap();
            }
            c
        })
        .collect();
    let collections: Vec<_> = s
        .collections
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            store
                .create_collection(
                    &NewCollection {
                        id: uuid(case, 2, i),
                        api_root: "api1".into(),
                        title: "c".into(),
                        description: None,
                        alias: None,
                        owner: match spec.owner {
                            Ok(o) => Owner::Org(orgs[o].id),
                            Err(k) => Owner::Community(communities[k].id),
                        },
                        default_tlp: spec.default_tlp,
                        public: spec.public,
                        signed: true,
                        hide_expired: false,
                    },
                    &store::AuditEntry::default(),
                )
                .unwrap()
        })
        .collect();
    let principal = |u: usize| node.user_principal(&users[u]).unwrap();
    let value_of = |i: usize| match s.kind(i) {
        Kind::Observable(k) => format!("v{}-{k}-{case}.example", s.collection(i)),
        _ => String::new(),
    };
    let id_of = |i: usize| match s.kind(i) {
        Kind::Report(_) => format!("report--{}", uuid(case, 3, i)),
        Kind::Indicator => format!("indicator--{}", uuid(case, 3, i)),
        Kind::Version(r) => format!("indicator--{}", uuid(case, 3, r)),
        Kind::Observable(_) => format!(
            "domain-name--{}",
            uuid::Uuid::new_v5(
                &uuid::Uuid::parse_str("00abedb4-aa42-466c-9c01-fed23315a9b7").unwrap(),
                format!(r#"{{"value":"{}"}}"#, value_of(i)).as_bytes()
            )
        ),
    };

    // Post every object as its poster, in order, through the ingest path.
    for (i, o) in s.objects.iter().enumerate() {
        let mut envelope = Vec::new();
        let mut markings = Vec::new();
        if let Some(t) = o.tlp {
            envelope.push(marking_json(t));
            markings.push(format!("\"{}\"", t.marking_id()));
        }
        if !o.recipient_orgs.is_empty() || !o.recipient_users.is_empty() {
            let rid = format!("marking-definition--{}", uuid(case, 4, i));
            let orgs_json: Vec<String> = o
                .recipient_orgs
                .iter()
                .map(|r| format!("\"{}\"", orgs[*r].name))
                .collect();
            let users_json: Vec<String> = o
                .recipient_users
                .iter()
                .map(|r| format!("\"{}/{}\"", users[*r].org_name, users[*r].name))
                .collect();
            // STIX forbids empty lists: leave an empty one out.
            let mut lists = Vec::new();
            if !orgs_json.is_empty() {
                lists.push(format!(r#""organizations":[{}]"#, orgs_json.join(",")));
            }
            if !users_json.is_empty() {
                lists.push(format!(r#""users":[{}]"#, users_json.join(",")));
            }
            envelope.push(format!(
                r#"{{"type":"marking-definition","spec_version":"2.1","id":"{rid}","created":"2020-01-01T00:00:00.000Z","name":"recipients","extensions":{{"{}":{{"extension_type":"property-extension",{}}}}}}}"#,
                sharing::recipients::RECIPIENTS_EXTENSION,
                lists.join(",")
            ));
            markings.push(format!("\"{rid}\""));
        }
        let selector = if matches!(s.kind(i), Kind::Observable(_)) {
            "value"
        } else {
            "name"
        };
        let granular = match o.granular {
            Some(t) => {
                envelope.push(marking_json(t));
                format!(
                    r#","granular_markings":[{{"marking_ref":"{}","selectors":["{selector}"]}}]"#,
                    t.marking_id()
                )
            }
            None => String::new(),
        };
        let claim = match (s.kind(i), o.claims) {
            (Kind::Observable(_), _) | (_, None) => String::new(),
            (_, Some(org)) => format!(r#","created_by_ref":"{}""#, orgs[org].identity_id),
        };
        let marking_refs = if markings.is_empty() {
            String::new()
        } else {
            format!(r#","object_marking_refs":[{}]"#, markings.join(","))
        };
        let body = match s.kind(i) {
            Kind::Report(t) => format!(
                r#"{{"type":"report","spec_version":"2.1","id":"report--{}","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"r","published":"2020-01-01T00:00:00Z","object_refs":["{}","malware--{}"]{marking_refs}{granular}{claim}}}"#,
                uuid(case, 3, i),
                id_of(t),
                uuid(case, 9, 9)
            ),
            // Every version of an indicator has its own `modified`.
            Kind::Indicator | Kind::Version(_) => format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:{:02}.000Z","name":"n{i}","pattern":"[domain-name:value = 'x.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"{marking_refs}{granular}{claim}}}"#,
                id_of(i),
                i
            ),
            Kind::Observable(_) => format!(
                r#"{{"type":"domain-name","spec_version":"2.1","id":"{}","value":"{}"{marking_refs}{granular}}}"#,
                id_of(i),
                value_of(i)
            ),
        };
        envelope.push(body);
        let collection = &collections[s.collection(i)];
        let poster = principal(o.poster);
        if !poster.can_write(&collection.policy()) {
            continue;
        }
        let text = format!(r#"{{"objects":[{}]}}"#, envelope.join(","));
        node.ingest_envelope(&poster, collection, text.as_bytes())
            .unwrap();
    }

    let model = Model::new(s);
    let readers: Vec<(Option<usize>, Principal)> = std::iter::once((None, Principal::anonymous()))
        .chain((0..s.users.len()).map(|u| (Some(u), principal(u))))
        .collect();
    for (ci, collection) in collections.iter().enumerate() {
        for (reader, p) in &readers {
            let expected: BTreeSet<String> = (0..s.objects.len())
                .filter(|i| s.collection(*i) == ci && model.sees_id(*reader, *i))
                .map(id_of)
                .collect();
            let expected_latest: BTreeSet<String> = (0..s.objects.len())
                .filter(|i| s.collection(*i) == ci && model.sees_latest(*reader, *i))
                .map(id_of)
                .collect();
            let readable = p.can_read(&collection.policy());
            prop_assert_eq!(
                readable,
                model.can_read(*reader, ci),
                "read access, reader {:?}, collection {}",
                reader,
                ci
            );
            if !readable {
                continue;
            }
            // Shape 1: every version, paged two at a time (as TAXII clients page).
            let mut got = BTreeSet::new();
            let mut observables = Vec::new();
            let mut q = ObjectQuery {
                limit: 2,
                versions: VersionMatch::all(),
                ..Default::default()
            };
            loop {
                let page = node.read(p, collection, &q).unwrap();
                for item in &page.items {
                    if item.object_type != "marking-definition" && item.object_type != "identity" {
                        got.insert(item.id.clone());
                    }
                    if item.object_type == "domain-name" {
                        observables.push(item.id.clone());
                    }
                }
                match (page.more, page.resume_after) {
                    (true, Some(after)) => q.added_after = Some(after),
                    _ => break,
                }
            }
            prop_assert_eq!(
                &got,
                &expected,
                "objects, reader {:?}, collection {}",
                reader,
                ci
            );
            // One copy of an observable per reader, however many sources hold one.
            let distinct: BTreeSet<&String> = observables.iter().collect();
            prop_assert_eq!(
                distinct.len(),
                observables.len(),
                "observable copies, reader {:?}",
                reader
            );
            // Shape 2: by type, latest versions (manifest and objects filters).
            for ty in ["indicator", "report", "domain-name"] {
                let q = ObjectQuery {
                    limit: 100,
                    types: vec![ty.into()],
                    ..Default::default()
                };
                let got: BTreeSet<String> = node
                    .read(p, collection, &q)
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|o| o.id)
                    .collect();
                let want: BTreeSet<String> = expected_latest
                    .iter()
                    .filter(|id| id.starts_with(&format!("{ty}--")))
                    .cloned()
                    .collect();
                prop_assert_eq!(got, want, "type {}, reader {:?}", ty, reader);
            }
            // Shape 3: each object by id (the object and versions endpoints).
            for i in (0..s.objects.len()).filter(|i| s.collection(*i) == ci) {
                let q = ObjectQuery {
                    limit: 10,
                    ids: vec![id_of(i)],
                    versions: VersionMatch::all(),
                    ..Default::default()
                };
                let found = !node.read(p, collection, &q).unwrap().items.is_empty();
                prop_assert_eq!(
                    found,
                    expected.contains(&id_of(i)),
                    "object {} by id, reader {:?}",
                    i,
                    reader
                );
            }
        }
        // The node administrator sees everything stored.
        let admin = Principal::operator();
        let q = ObjectQuery {
            limit: 1000,
            versions: VersionMatch::all(),
            ..Default::default()
        };
        let all: BTreeSet<String> = node
            .read(&admin, collection, &q)
            .unwrap()
            .items
            .into_iter()
            .filter(|o| ["indicator", "report", "domain-name"].contains(&o.object_type.as_str()))
            .map(|o| o.id)
            .collect();
        let stored: BTreeSet<String> = (0..s.objects.len())
            .filter(|i| s.collection(*i) == ci && model.stored(*i))
            .map(id_of)
            .collect();
        prop_assert_eq!(all, stored, "stored set, collection {}", ci);
    }
    Ok(())
}

/// Half of the cases (10,000 in all by default; `PROPTEST_CASES` sets the total).
fn config() -> ProptestConfig {
    let total: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    ProptestConfig {
        cases: total.div_ceil(2),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_reader_sees_exactly_what_the_rules_allow(s in scenario()) {
        run_case(&s, 0)?;
    }

    #[test]
    fn every_reader_sees_exactly_what_the_rules_allow_second_half(s in scenario()) {
        run_case(&s, 1)?;
    }
}
