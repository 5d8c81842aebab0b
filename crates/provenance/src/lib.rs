//! Provenance for STIX content: signing identities and hybrid post-quantum
//! signatures (composite ML-DSA-65 + Ed25519, [`composite`]) over the
//! RFC 8785 canonical form of JSON ([`canonical`]).
//!
//! No I/O.

pub mod canonical;
pub mod composite;
mod mldsa;

pub use canonical::{CanonicalError, canonicalize};
pub use composite::{Fingerprint, PublicKey, Signature, SigningKey};
