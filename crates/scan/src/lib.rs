//! Readers for `entente scan`: they turn logs and observed data into
//! [`patterning::Observation`]s and indicator sources into patterns. This is
//! the I/O side of scanning; matching itself is `patterning::Engine`.
//!
//! - [`input`]: files and standard input (gzip recognised), format detection,
//!   and one reader per format: STIX observed-data, JSON lines of SCOs, Zeek
//!   (TSV and JSON: dns, http, conn, files, ssl), Suricata EVE JSON, plain
//!   lists of domains, URLs, addresses and hashes.
//! - [`indicators`]: STIX bundles, MVT `.stix2` files and TAXII 2.1
//!   collections.
//! - [`post`]: what a scan found, posted to a TAXII 2.1 collection in
//!   envelopes that fit the API root, each status followed to completion.

pub mod indicators;
pub mod input;
pub mod objects;
pub mod post;
pub mod time;

pub use indicators::{Indicator, TaxiiSource};
pub use input::{Format, Input, InputError, Record};
pub use post::{PostError, TaxiiTarget};
