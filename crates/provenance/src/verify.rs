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
//!
//! One change is not an alteration: the TLP the origin handles the object
//! at, made explicit. A node serves an object without a TLP marking of its
//! own to its peers with that TLP's marking appended to
//! `object_marking_refs` (the collection's default, which the peer cannot
//! know; `stix::tlp::with_explicit_marking`), while its manifest hashes the
//! object as posted. Manifests are cut per TLP and carry it as their own
//! marking, under the signature; so an object whose last
//! `object_marking_refs` entry is a marking of the pinned manifest that
//! lists it, and whose form without that entry (without the property, if
//! it was the only one) has the signed digest, is verified: the origin
//! signed both the content and the TLP it applies.
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
        /// The manifest's own `object_marking_refs`: the TLP its objects
        /// are handled at.
        markings: Vec<String>,
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
    /// The manifests taken in, by the SHA-256 of their text, with what
    /// taking them in answered: the same text again changes nothing.
    taken: HashMap<[u8; 32], Result<ManifestSummary, VerificationError>>,
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
    /// The result says which, and why. The same text taken in again
    /// changes nothing and gives the same answer.
    pub fn add_manifest(&mut self, raw: &str) -> Result<ManifestSummary, VerificationError> {
        let mut key = [0u8; 32];
        key.copy_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw.as_bytes()).as_ref(),
        );
        if let Some(answer) = self.taken.get(&key) {
            return answer.clone();
        }
        let answer = self.take_in(raw);
        self.taken.insert(key, answer.clone());
        answer
    }

    fn take_in(&mut self, raw: &str) -> Result<ManifestSummary, VerificationError> {
        let examined = manifest::examine(raw, &self.pinned);
        match examined.verdict {
            Ok(m) => {
                let source = self.sources.len();
                self.sources.push(Source::Pinned {
                    id: m.id.clone(),
                    origin: m.origin,
                    origin_name: m.origin_name.clone(),
                    markings: markings_of(raw),
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
        match parse(raw) {
            Ok(value) => match signed::digest_of(&value) {
                Ok(d) => self.state_of_value(&value, &d),
                Err(e) => unreadable(e.to_string()),
            },
            Err(e) => unreadable(e.to_string()),
        }
    }

    /// The state of the object `value` whose digest is `digest`: as
    /// [`ProvenanceIndex::state_of_digest`] says, or verified in the form
    /// with its TLP made explicit (see the module's documentation).
    fn state_of_value(&self, value: &Json, digest: &ObjectDigest) -> ProvenanceState {
        let state = self.state_of_digest(digest);
        if matches!(
            state,
            ProvenanceState::Invalid {
                why: Invalidity::Altered { .. }
            }
        ) && let Some(verified) = self.with_explicit_tlp(value, digest)
        {
            return verified;
        }
        state
    }

    /// Verified, when `value`'s last `object_marking_refs` entry is the
    /// marking of a pinned manifest that lists, for its id and version, the
    /// digest of `value` without that entry.
    fn with_explicit_tlp(&self, value: &Json, digest: &ObjectDigest) -> Option<ProvenanceState> {
        let claims = self.claims.get(digest.id.as_str())?;
        let (marking, sha256) = without_last_marking(value)?;
        claims
            .iter()
            .filter(|c| c.version == digest.version && c.sha256 == sha256)
            .find_map(|c| match &self.sources[c.source] {
                Source::Pinned {
                    id,
                    origin,
                    origin_name,
                    markings,
                } if markings.contains(&marking) => Some(ProvenanceState::Verified {
                    origin: *origin,
                    origin_name: origin_name.clone(),
                    manifest: id.clone(),
                }),
                _ => None,
            })
    }

    /// The provenance state of the STIX object `raw`, like
    /// [`ProvenanceIndex::state_of`]; when no manifest seen so far lists
    /// it, its digest is kept (up to [`MAX_UNCLAIMED`]) so that
    /// [`ProvenanceIndex::take_unclaimed`] can answer for it once a
    /// manifest arrives, without the object's text.
    pub fn assess(&mut self, raw: &str) -> ProvenanceState {
        let value = match parse(raw) {
            Ok(v) => v,
            Err(e) => return unreadable(e.to_string()),
        };
        let digest = match signed::digest_of(&value) {
            Ok(d) => d,
            Err(e) => return unreadable(e.to_string()),
        };
        let state = self.state_of_value(&value, &digest);
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
    /// [`MAX_UNCLAIMED`]), or when a digest no longer matches what a pinned
    /// manifest lists (only the text tells whether the object is that
    /// signed form with its TLP made explicit): the caller must assess the
    /// object's text.
    pub fn take_unclaimed(&mut self, id: &str) -> Option<Vec<(Option<String>, ProvenanceState)>> {
        let digests = self.unclaimed.remove(id)?;
        self.unclaimed_count -= digests.len();
        let states: Vec<(Option<String>, ProvenanceState)> = digests
            .into_iter()
            .map(|d| {
                let state = self.state_of_digest(&d);
                (d.version, state)
            })
            .collect();
        let altered = states.iter().any(|(_, s)| {
            matches!(
                s,
                ProvenanceState::Invalid {
                    why: Invalidity::Altered { .. }
                }
            )
        });
        (!altered).then_some(states)
    }

    /// Whether a manifest taken in so far lists some version of `id`.
    pub fn lists(&self, id: &str) -> bool {
        self.claims.contains_key(id)
    }

    /// The provenance state of an object whose digest the caller computed.
    /// Without the object's text, a digest that differs from the signed one
    /// is `invalid`, even for the form with the TLP made explicit
    /// ([`ProvenanceIndex::state_of`] recognises it).
    /// The markings of the pinned manifests that list `raw` exactly as it
    /// is (its id, version and digest): the TLP its origin handles it at,
    /// which a relay may have taken off an object that had none of its own
    /// (see the module's documentation). Empty when no pinned manifest
    /// lists that form.
    pub fn handling_markings(&self, raw: &str) -> Vec<String> {
        let Ok(value) = parse(raw) else {
            return Vec::new();
        };
        let Ok(digest) = signed::digest_of(&value) else {
            return Vec::new();
        };
        let Some(claims) = self.claims.get(digest.id.as_str()) else {
            return Vec::new();
        };
        claims
            .iter()
            .filter(|c| c.version == digest.version && c.sha256 == digest.sha256)
            .filter_map(|c| match &self.sources[c.source] {
                Source::Pinned { markings, .. } => Some(markings.clone()),
                Source::Broken { .. } => None,
            })
            .flatten()
            .collect()
    }

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
                    ..
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

fn unreadable(problem: String) -> ProvenanceState {
    ProvenanceState::Invalid {
        why: Invalidity::Unreadable { problem },
    }
}

/// The `object_marking_refs` of a manifest's text.
fn markings_of(raw: &str) -> Vec<String> {
    match parse(raw)
        .ok()
        .and_then(|v| v.get("object_marking_refs").cloned())
    {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The last entry of `value`'s `object_marking_refs`, and the SHA-256 of
/// the canonical form of `value` without it (without the property when it
/// was the only entry).
fn without_last_marking(value: &Json) -> Option<(String, [u8; 32])> {
    let Some(Json::Array(items)) = value.get("object_marking_refs") else {
        return None;
    };
    let Some(Json::String(last)) = items.last() else {
        return None;
    };
    let last = last.clone();
    let mut posted = value.clone();
    if let Some(Json::Array(mut items)) = posted.remove("object_marking_refs") {
        items.pop();
        if !items.is_empty() {
            posted.insert("object_marking_refs", Json::Array(items));
        }
    }
    signed::digest_of(&posted).ok().map(|d| (last, d.sha256))
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
                    // The text is read again only when the digest differs
                    // from a signed one (the TLP may have been made explicit).
                    state: match index.state_of_digest(&digest) {
                        altered @ ProvenanceState::Invalid {
                            why: Invalidity::Altered { .. },
                        } => parse(objects[i])
                            .map_or(altered, |value| index.state_of_value(&value, &digest)),
                        state => state,
                    },
                    signatures: by_target
                        .get(&(digest.id.clone(), digest.version.clone()))
                        .cloned()
                        .unwrap_or_default(),
                },
            }
        })
        .collect()
}
