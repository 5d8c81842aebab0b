//! Provenance for STIX content: signing identities and hybrid post-quantum
//! signatures (composite ML-DSA-65 + Ed25519, [`composite`]).
//!
//! No I/O.

pub mod composite;
mod mldsa;

pub use composite::{Fingerprint, PublicKey, Signature, SigningKey};
