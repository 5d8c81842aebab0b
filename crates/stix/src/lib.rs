//! The STIX 2.1 model: identifiers, timestamps, objects, envelopes and validation.
//!
//! This crate does no I/O. It turns bytes that claim to be STIX into
//! [`StixObject`]s (each keeping its exact input bytes, so that what is served is
//! what was sent) or into [`Rejection`]s that name the object, the JSON path and
//! the reason. Everything above it (store, TAXII, CLI) trusts what it accepts.

pub mod envelope;
pub mod id;
mod json;
pub mod object;
mod spec;
pub mod timestamp;
pub mod tlp;
pub mod validate;

pub use envelope::{Envelope, EnvelopeError, InputShape, split_envelope};
pub use id::{Identifier, IdentifierError, is_valid_type_name, split_identifier};
pub use object::{ObjectKind, StixObject};
pub use timestamp::{Timestamp, TimestampError};
pub use tlp::{Tlp, UnknownTlp};
pub use validate::{PatternCheck, Problem, Rejection, Validator};
