//! The provenance state of received objects, from the manifests and
//! signatures received with them and the keys the receiver pinned.
//!
//! | state | when |
//! |-------|------|
//! | `Verified { origin }` | a manifest whose signature verifies under a **pinned** key lists the object's id and version with the SHA-256 of exactly its canonical form |
//! | `Invalid { Altered }` | no such manifest, but one signed by a pinned key lists the id and version with another digest: the object changed after its origin signed it |
//! | `Invalid { BadManifest }` | no pinned manifest lists it, but a manifest whose signature does not verify (tampered, truncated, malformed) does |
//! | `Invalid { Unreadable }` | the object itself has no canonical form or no id |
//! | `Unsigned` | nothing above: no manifest lists it, or only manifests validly signed by keys that are not pinned (anyone can make a key, so those vouch for nothing) |
//!
//! A genuine pinned manifest wins over a broken one: injecting a bogus
//! manifest cannot demote an object that its origin's signature covers.
//! Re-encoding by a relay does not matter (digests are over the RFC 8785
//! form); changing any value does. Manifests may arrive before or after
//! their objects: [`ProvenanceIndex`] accumulates them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::canonical::{Json, parse};
use crate::composite::Fingerprint;
use crate::document::{self, VerifiedSignature};
use crate::extension::{MANIFEST_TYPE, SIGNATURE_TYPE};
use crate::manifest;
use crate::signed::{self, ObjectDigest, VerificationError};

/// The keys whose signatures the receiver accepts (a peer's `--key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinnedKeys(BTreeSet<Fingerprint>);

impl PinnedKeys {
    pub fn new() -> Self {
        PinnedKeys::default()
    }

    pub fn insert(&mut self, key: Fingerprint) {
        self.0.insert(key);
    }

    pub fn contains(&self, key: &Fingerprint) -> bool {
        self.0.contains(key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Fingerprint> {
        self.0.iter()
    }
}

impl FromIterator<Fingerprint> for PinnedKeys {
    fn from_iter<I: IntoIterator<Item = Fingerprint>>(iter: I) -> Self {
        PinnedKeys(iter.into_iter().collect())
    }
}

/// Where one received object stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvenanceState {
    Verified {
        origin: Fingerprint,
        origin_name: String,
        /// The manifest that vouches for it.
        manifest: String,
    },
    Unsigned,
    Invalid {
        why: Invalidity,
    },
}

impl ProvenanceState {
    /// `verified`, `unsigned` or `invalid`, as the API and CLI show it.
    pub fn label(&self) -> &'static str {
        match self {
            ProvenanceState::Verified { .. } => "verified",
            ProvenanceState::Unsigned => "unsigned",
            ProvenanceState::Invalid { .. } => "invalid",
        }
    }
}

impl fmt::Display for ProvenanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvenanceState::Verified {
                origin,
                origin_name,
                manifest,
            } => write!(
                f,
                "verified: published by {origin_name} ({origin}), manifest {manifest}"
            ),
            ProvenanceState::Unsigned => f.write_str("unsigned"),
            ProvenanceState::Invalid { why } => write!(f, "invalid: {why}"),
        }
    }
}

/// Why an object is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidity {
    /// Its origin signed other content for this id and version.
    Altered {
        manifest: String,
        origin: Fingerprint,
        signed_sha256: String,
        actual_sha256: String,
    },
    /// Listed by a manifest that does not verify.
    BadManifest {
        manifest: Option<String>,
        problem: VerificationError,
    },
    /// The object cannot be canonicalised or has no id.
    Unreadable { problem: String },
}

impl fmt::Display for Invalidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalidity::Altered {
                manifest,
                origin,
                signed_sha256,
                actual_sha256,
            } => write!(
                f,
                "changed since {origin} signed it in manifest {manifest} \
                 (canonical SHA-256 {actual_sha256}, signed {signed_sha256})"
            ),
            Invalidity::BadManifest { manifest, problem } => write!(
                f,
                "listed by manifest {} whose signature is not valid: {problem}",
                manifest.as_deref().unwrap_or("(without a readable id)")
            ),
            Invalidity::Unreadable { problem } => write!(f, "unreadable: {problem}"),
        }
    }
}

/// What a manifest contributed, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSummary {
    pub id: String,
    pub origin: Fingerprint,
    pub origin_name: String,
    pub origin_url: Option<String>,
    pub created: String,
    pub entries: usize,
}

enum Source {
    Pinned {
        id: String,
        origin: Fingerprint,
        origin_name: String,
    },
    Broken {
        id: Option<String>,
        problem: VerificationError,
    },
}

struct Claim {
    version: Option<String>,
    sha256: [u8; 32],
    source: usize,
}

/// Manifests received so far, indexed by the (id, version) they list.
#[derive(Default)]
pub struct ProvenanceIndex {
    pinned: PinnedKeys,
    sources: Vec<Source>,
    /// By object id (looked up by `&str`, no allocation per object), then
    /// the few versions listed for it.
    claims: HashMap<String, Vec<Claim>>,
    /// Digests of objects assessed before any manifest listed them (see
    /// [`ProvenanceIndex::assess`]), by id; at most [`MAX_UNCLAIMED`].
    unclaimed: HashMap<String, Vec<ObjectDigest>>,
    unclaimed_count: usize,
}

/// How many digests of not yet claimed objects an index keeps: enough for
/// the objects a manifest follows in a pull (a manifest lists up to 5,000),
/// bounded for a peer whose content is never signed (about 100 bytes each).
pub const MAX_UNCLAIMED: usize = 50_000;

impl ProvenanceIndex {
    pub fn new(pinned: PinnedKeys) -> Self {
        ProvenanceIndex {
            pinned,
            ..ProvenanceIndex::default()
        }
    }

    /// Takes in the manifest `raw`. A manifest validly signed by a pinned
    /// key vouches for what it lists; one whose signature fails makes what
    /// it lists invalid; one validly signed by another key changes nothing.
    /// The result says which, and why.
    pub fn add_manifest(&mut self, raw: &str) -> Result<ManifestSummary, VerificationError> {
        let examined = manifest::examine(raw, &self.pinned);
        match examined.verdict {
            Ok(m) => {
                let source = self.sources.len();
                self.sources.push(Source::Pinned {
                    id: m.id.clone(),
                    origin: m.origin,
                    origin_name: m.origin_name.clone(),
                });
                let entries = m.entries.len();
                for entry in m.entries {
                    self.claims.entry(entry.id).or_default().push(Claim {
                        version: entry.version,
                        sha256: entry.sha256,
                        source,
                    });
                }
                Ok(ManifestSummary {
                    id: m.id,
                    origin: m.origin,
                    origin_name: m.origin_name,
                    origin_url: m.origin_url,
                    created: m.created,
                    entries,
                })
            }
            Err(problem @ VerificationError::NotPinned { .. }) => Err(problem),
            Err(problem) => {
                let source = self.sources.len();
                self.sources.push(Source::Broken {
                    id: examined.id,
                    problem: problem.clone(),
                });
                for entry in examined.claimed {
                    self.claims.entry(entry.id).or_default().push(Claim {
                        version: entry.version,
                        sha256: entry.sha256,
                        source,
                    });
                }
                Err(problem)
            }
        }
    }

    /// The provenance state of the STIX object `raw`.
    pub fn state_of(&self, raw: &str) -> ProvenanceState {
        match signed::object_digest(raw) {
            Ok(d) => self.state_of_digest(&d),
            Err(e) => ProvenanceState::Invalid {
                why: Invalidity::Unreadable {
                    problem: e.to_string(),
                },
            },
        }
    }

    /// The provenance state of the STIX object `raw`, like
    /// [`ProvenanceIndex::state_of`]; when no manifest seen so far lists
    /// it, its digest is kept (up to [`MAX_UNCLAIMED`]) so that
    /// [`ProvenanceIndex::take_unclaimed`] can answer for it once a
    /// manifest arrives, without the object's text.
    pub fn assess(&mut self, raw: &str) -> ProvenanceState {
        let digest = match signed::object_digest(raw) {
            Ok(d) => d,
            Err(e) => {
                return ProvenanceState::Invalid {
                    why: Invalidity::Unreadable {
                        problem: e.to_string(),
                    },
                };
            }
        };
        let state = self.state_of_digest(&digest);
        if state == ProvenanceState::Unsigned && self.unclaimed_count < MAX_UNCLAIMED {
            self.unclaimed_count += 1;
            self.unclaimed
                .entry(digest.id.clone())
                .or_default()
                .push(digest);
        }
        state
    }

    /// For an object id that [`ProvenanceIndex::assess`] found unsigned:
    /// each assessed version and its state now, and forgets them. `None`
    /// when the index kept no digest of it (never assessed, or past
    /// [`MAX_UNCLAIMED`]): the caller must assess the object's text.
    pub fn take_unclaimed(&mut self, id: &str) -> Option<Vec<(Option<String>, ProvenanceState)>> {
        let digests = self.unclaimed.remove(id)?;
        self.unclaimed_count -= digests.len();
        Some(
            digests
                .into_iter()
                .map(|d| {
                    let state = self.state_of_digest(&d);
                    (d.version, state)
                })
                .collect(),
        )
    }

    /// Whether a manifest taken in so far lists some version of `id`.
    pub fn lists(&self, id: &str) -> bool {
        self.claims.contains_key(id)
    }

    /// The provenance state of an object whose digest the caller computed.
    pub fn state_of_digest(&self, object: &ObjectDigest) -> ProvenanceState {
        let Some(claims) = self.claims.get(object.id.as_str()) else {
            return ProvenanceState::Unsigned;
        };
        let mut altered = None;
        let mut broken = None;
        for claim in claims.iter().filter(|c| c.version == object.version) {
            match &self.sources[claim.source] {
                Source::Pinned {
                    id,
                    origin,
                    origin_name,
                } => {
                    if claim.sha256 == object.sha256 {
                        return ProvenanceState::Verified {
                            origin: *origin,
                            origin_name: origin_name.clone(),
                            manifest: id.clone(),
                        };
                    }
                    altered.get_or_insert(Invalidity::Altered {
                        manifest: id.clone(),
                        origin: *origin,
                        signed_sha256: hex::encode(claim.sha256),
                        actual_sha256: hex::encode(object.sha256),
                    });
                }
                Source::Broken { id, problem } => {
                    broken.get_or_insert(Invalidity::BadManifest {
                        manifest: id.clone(),
                        problem: problem.clone(),
                    });
                }
            }
        }
        match altered.or(broken) {
            Some(why) => ProvenanceState::Invalid { why },
            None => ProvenanceState::Unsigned,
        }
    }
}

/// One object of a set given to [`assess`], in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessed {
    /// Ordinary content, with its provenance and the document signatures
    /// in the set that name it.
    Content {
        id: Option<String>,
        state: ProvenanceState,
        signatures: Vec<SignatureCheck>,
    },
    /// A manifest and whether it was accepted.
    Manifest {
        id: Option<String>,
        verdict: Result<ManifestSummary, VerificationError>,
    },
    /// A document signature: valid and pinned, and matching its object when
    /// that object is in the set (when it is not, only the signature itself
    /// is checked).
    Signature {
        id: Option<String>,
        verdict: Result<VerifiedSignature, VerificationError>,
    },
}

/// A document signature that names a content object, and its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    pub signature: Option<String>,
    pub result: Result<VerifiedSignature, VerificationError>,
}

/// The provenance of every object of `objects` (raw JSON, e.g. a bundle's
/// or envelope's objects: content, manifests and document signatures
/// mixed), given the keys in `pinned`. For `entente verify`.
pub fn assess(objects: &[&str], pinned: &PinnedKeys) -> Vec<Assessed> {
    enum Kind {
        Content(Result<ObjectDigest, String>, Option<String>),
        Manifest,
        Signature,
    }
    let kinds: Vec<Kind> = objects
        .iter()
        .map(|raw| match parse(raw) {
            Err(e) => Kind::Content(Err(e.to_string()), None),
            Ok(value) => match value.get("type").and_then(Json::as_str) {
                Some(MANIFEST_TYPE) => Kind::Manifest,
                Some(SIGNATURE_TYPE) => Kind::Signature,
                _ => {
                    let id = value.get("id").and_then(Json::as_str).map(str::to_owned);
                    Kind::Content(signed::digest_of(&value).map_err(|e| e.to_string()), id)
                }
            },
        })
        .collect();

    let mut index = ProvenanceIndex::new(pinned.clone());
    let mut manifests = HashMap::new();
    for (i, kind) in kinds.iter().enumerate() {
        if matches!(kind, Kind::Manifest) {
            manifests.insert(i, index.add_manifest(objects[i]));
        }
    }
    let contents: HashMap<(String, Option<String>), &ObjectDigest> = kinds
        .iter()
        .filter_map(|k| match k {
            Kind::Content(Ok(d), _) => Some(((d.id.clone(), d.version.clone()), d)),
            _ => None,
        })
        .collect();
    // Each document signature: checked, then matched with its object.
    let mut signatures = HashMap::new();
    let mut by_target: HashMap<(String, Option<String>), Vec<SignatureCheck>> = HashMap::new();
    for (i, kind) in kinds.iter().enumerate() {
        if !matches!(kind, Kind::Signature) {
            continue;
        }
        let raw = objects[i];
        let target = document::claimed_target(raw);
        let verdict = document::verify_signature(raw, pinned).and_then(|v| {
            match contents.get(&(v.signed.id.clone(), v.signed.version.clone())) {
                Some(actual) => document::check_digest(&v.signed, actual).map(|()| v),
                None => Ok(v),
            }
        });
        if let Some(target) = target {
            by_target.entry(target).or_default().push(SignatureCheck {
                signature: parse(raw)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Json::as_str).map(str::to_owned)),
                result: verdict.clone(),
            });
        }
        signatures.insert(i, verdict);
    }

    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let id_of = || {
                parse(objects[i])
                    .ok()
                    .and_then(|v| v.get("id").and_then(Json::as_str).map(str::to_owned))
            };
            match kind {
                Kind::Manifest => Assessed::Manifest {
                    id: id_of(),
                    verdict: manifests
                        .remove(&i)
                        .unwrap_or_else(|| Err(VerificationError::Object("not examined".into()))),
                },
                Kind::Signature => Assessed::Signature {
                    id: id_of(),
                    verdict: signatures
                        .remove(&i)
                        .unwrap_or_else(|| Err(VerificationError::Object("not examined".into()))),
                },
                Kind::Content(Err(problem), id) => Assessed::Content {
                    id,
                    state: ProvenanceState::Invalid {
                        why: Invalidity::Unreadable { problem },
                    },
                    signatures: Vec::new(),
                },
                Kind::Content(Ok(digest), id) => Assessed::Content {
                    id,
                    state: index.state_of_digest(&digest),
                    signatures: by_target
                        .get(&(digest.id.clone(), digest.version.clone()))
                        .cloned()
                        .unwrap_or_default(),
                },
            }
        })
        .collect()
}
