//! Provenance for STIX content: who published or signed an object, and
//! whether it is still byte for byte (canonically) what they signed.
//!
//! - [`keyring`]: a node's or organisation's signing identity on disk:
//!   create, open, rotate, list. **The only module that does I/O.**
//! - [`composite`]: the hybrid signature, composite ML-DSA-65 + Ed25519 of
//!   draft-ietf-lamps-pq-composite-sigs-19, and key fingerprints.
//! - [`canonical`]: RFC 8785 (JCS) canonical JSON, what everything signs.
//! - [`manifest`]: signed batch manifests (`x-entente-manifest`), per-batch
//!   signing for federation.
//! - [`document`]: detached signatures over one object
//!   (`x-entente-signature`), for attribution co-signing.
//! - [`verify`]: pinned keys and the provenance state of received objects
//!   (`verified`, `unsigned`, `invalid`).
//! - [`extension`]: the STIX extension definitions that declare both types.
//!
//! Everything but [`keyring`] is pure: it takes and returns bytes and
//! values, never touches files, the network or the store, and decides no
//! sharing policy (which objects go in which manifest is the node's call).

pub mod canonical;
pub mod composite;
pub mod document;
pub mod extension;
pub mod keyring;
pub mod manifest;
mod mldsa;
pub mod signed;
pub mod verify;

pub use canonical::{CanonicalError, canonicalize};
pub use composite::{Fingerprint, PublicKey, Signature, SigningKey};
pub use document::{VerifiedSignature, sign_document, verify_document, verify_signature};
pub use extension::extension_definitions;
pub use keyring::{KeyInfo, KeyRing, KeyringError};
pub use manifest::{Origin, SignedManifest, VerifiedManifest, sign_manifest, verify_manifest};
pub use signed::{BuildError, ObjectDigest, VerificationError, object_digest};
pub use verify::{Assessed, PinnedKeys, ProvenanceIndex, ProvenanceState, assess};
