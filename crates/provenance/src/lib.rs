//! Provenance for STIX content: signing identities ([`keyring`]), hybrid
//! post-quantum signatures (composite ML-DSA-65 + Ed25519, [`composite`])
//! over the RFC 8785 canonical form of JSON ([`canonical`]).
//!
//! File I/O happens in [`keyring`] only; everything else is pure.

pub mod canonical;
pub mod composite;
pub mod keyring;
mod mldsa;

pub use canonical::{CanonicalError, canonicalize};
pub use composite::{Fingerprint, PublicKey, Signature, SigningKey};
pub use keyring::{KeyInfo, KeyRing, KeyringError};
