//! How fresh a STIX indicator is.
//!
//! Two facts decide whether an indicator is still worth matching: its
//! `valid_until` (past it, the source itself says it no longer indicates
//! anything: *expired*), and its age. Age is turned into a *decay score*
//! with the polynomial model MISP publishes for its decaying of indicators,
//!
//! ```text
//! score(t) = base × (1 − (t / τ)^(1/δ))      for 0 ≤ t < τ, else 0
//! ```
//!
//! where `τ` is the indicator kind's lifetime, `δ` its decay speed (above 1
//! the score drops fast at first, below 1 it holds and then drops), and
//! `base` the indicator's `confidence` or else the kind's base score. The
//! parameters per kind are data ([`Model`]): a built-in table that a TOML or
//! JSON document can override.
//!
//! Rules (see [`assess`]):
//! - `t` runs from the indicator's `valid_from` (else `created`), or from
//!   the `last_seen` (else `first_seen`, else `created`) of its latest
//!   sighting when that is later: a sighting restarts the decay.
//! - A revoked indicator, and one at or after its `valid_until`, scores 0.
//! - The kind comes from the pattern: the object types (and, for files,
//!   whether hashes are compared) it tests; a pattern testing several
//!   kinds takes the one that decays soonest (shortest lifetime).
//!
//! No I/O: the caller reads model files and objects and gives the time.

mod assess;
mod model;

pub use assess::{Assessment, assess, expires_at, is_expired};
pub use model::{Kind, Model, ModelError, Params, kind_of_pattern};
