//! Harmonised incident reporting: record an incident once, and learn which
//! reporting regimes apply (NIS2, CRA, GDPR, DORA, CIRCIA, SEC 8-K, HIPAA),
//! every stage's deadline and its legal status, what each report still
//! lacks, and the text of each notification; export the shareable facts as
//! a STIX 2.1 incident.
//!
//! Regimes and holiday calendars are data (`regimes/*.toml`,
//! `calendars/*.toml`, compiled in and checked at start-up), so a national
//! variant or a final rule is a new file, not new code. This crate does no
//! I/O: callers hand it text and an instant, and get values back.

pub mod assess;
pub mod calendar;
pub mod clock;
pub mod record;
pub mod render;
pub mod rules;
pub mod schema;
pub mod stix_export;
pub mod time;
pub mod validate;
pub mod vocab;

pub use assess::{
    Assessment, DeadlineStatus, RegimeAssessment, StageAssessment, assess, parse_record,
};
pub use record::Incident;
pub use rules::{LegalStatus, RuleError, RuleSet, RuleSetBuilder};
pub use time::{Day, Moment};
pub use validate::{FieldError, InvalidRecord};
pub use vocab::Tlp;
