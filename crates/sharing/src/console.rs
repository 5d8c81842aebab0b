//! The web console's rules: when a pointer object's visibility is exactly
//! its audience (so that figures may count it from an index), how long a
//! session lives, and how failed sign-ins slow an attacker down.
//!
//! | rule                         | function                  |
//! |------------------------------|---------------------------|
//! | a pointer counts by audience | [`counts_by_audience`]    |
//! | a session is still valid     | [`session_state`]         |
//! | a sign-in must wait          | [`sign_in_wait`]          |
//! | a sign-in link is usable     | [`link_usable`]           |

use crate::audience::AudienceKey;
use crate::model::OrgId;

/// A stored copy of an object, as [`counts_by_audience`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFacts {
    pub collection: i64,
    pub audience: Vec<AudienceKey>,
    pub origin_org: Option<OrgId>,
    /// Whether this copy is itself visible exactly to its audience.
    pub counted: bool,
}

/// Whether a pointer object (a relationship, a report, a sighting, …)
/// stored in `pointer.collection` with `pointer.audience` is visible to
/// exactly the readers that audience admits, given the stored copies of
/// each object it references (`targets`: one entry per reference, every
/// copy of it, oldest first; an empty list for an id the node does not hold).
///
/// The read gate withholds a pointer from a reader who may not see one of
/// its targets. That never happens when every held target has a copy in the
/// same collection whose audience holds every key of the pointer's (the
/// same collection gives the same reader the same keys, so whoever is
/// admitted to the pointer is admitted to that copy), whose own visibility
/// is its audience, and that the gate never skips for any reader (it comes
/// from the target's first source: the gate ignores a reader's own later
/// copy of another source's object). Anything else is left to the gate,
/// one reader at a time.
pub fn counts_by_audience(pointer: &CopyFacts, targets: &[Vec<CopyFacts>]) -> bool {
    targets.iter().all(|copies| {
        let Some(first) = copies.first() else {
            // Not held: nothing to hide. A later write of it re-opens this
            // decision (the store marks the pointer pending again).
            return true;
        };
        copies.iter().any(|c| {
            c.collection == pointer.collection
                && c.counted
                && c.origin_org == first.origin_org
                && pointer.audience.iter().all(|k| c.audience.contains(k))
        })
    })
}

/// How long console sessions last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused for this long ends (microseconds).
    pub idle_micros: i64,
    /// A session ends this long after sign-in, however busy (microseconds).
    pub absolute_micros: i64,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle_micros: 30 * 60 * 1_000_000,
            absolute_micros: 12 * 3600 * 1_000_000,
        }
    }
}

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Valid,
    /// Unused for longer than the idle limit.
    Idle,
    /// Older than the absolute limit.
    Expired,
}

/// The state at `now` of a session created at `created` and last used at
/// `last_seen` (all microseconds since the epoch).
pub fn session_state(
    created: i64,
    last_seen: i64,
    now: i64,
    limits: SessionLimits,
) -> SessionState {
    if now.saturating_sub(created) >= limits.absolute_micros {
        SessionState::Expired
    } else if now.saturating_sub(last_seen) >= limits.idle_micros {
        SessionState::Idle
    } else {
        SessionState::Valid
    }
}

/// Failures of one account that are free: a person mistyping.
pub const FREE_SIGN_IN_FAILURES: u32 = 3;
/// The longest wait imposed after failures (microseconds): 15 minutes.
pub const MAX_SIGN_IN_WAIT: i64 = 15 * 60 * 1_000_000;

/// How long (microseconds) an account must wait at `now` before another
/// sign-in attempt is even checked, after `failures` failed attempts, the
/// last at `last` (`None`: may try now). The wait doubles with every
/// failure past the free ones, from 2 seconds up to 15 minutes: a person
/// barely notices, a password guesser gets a few hundred tries a day.
pub fn sign_in_wait(failures: u32, last: Option<i64>, now: i64) -> Option<i64> {
    let last = last?;
    if failures <= FREE_SIGN_IN_FAILURES {
        return None;
    }
    let doublings = (failures - FREE_SIGN_IN_FAILURES - 1).min(20);
    let wait = (2_000_000i64 << doublings).min(MAX_SIGN_IN_WAIT);
    let until = last.saturating_add(wait);
    (until > now).then(|| until - now)
}

/// Whether a sign-in link created for a user may sign them in at `now`:
/// once, before it expires.
pub fn link_usable(expires: i64, used: bool, now: i64) -> bool {
    !used && now < expires
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(
        collection: i64,
        keys: &[AudienceKey],
        origin: Option<OrgId>,
        counted: bool,
    ) -> CopyFacts {
        CopyFacts {
            collection,
            audience: keys.to_vec(),
            origin_org: origin,
            counted,
        }
    }

    #[test]
    fn a_pointer_counts_only_when_every_target_covers_its_audience() {
        use AudienceKey::*;
        let pointer = copy(1, &[Green, Org(1)], Some(1), false);
        // Not held: counts.
        assert!(counts_by_audience(&pointer, &[vec![]]));
        // A wider copy in the same collection: counts.
        assert!(counts_by_audience(
            &pointer,
            &[vec![copy(1, &[Clear, Green, Org(1)], Some(1), true)]]
        ));
        // Narrower (AMBER members only): left to the gate.
        assert!(!counts_by_audience(
            &pointer,
            &[vec![copy(1, &[Members, Org(1)], Some(1), true)]]
        ));
        // Wide, but in another collection: other readers hold other keys there.
        assert!(!counts_by_audience(
            &pointer,
            &[vec![copy(2, &[Green, Org(1)], Some(1), true)]]
        ));
        // Wide, but itself not counted (it points at something hidden).
        assert!(!counts_by_audience(
            &pointer,
            &[vec![copy(1, &[Green, Org(1)], Some(1), false)]]
        ));
        // A later copy by another source than the first: the gate may skip it.
        assert!(!counts_by_audience(
            &pointer,
            &[vec![
                copy(3, &[Org(2)], Some(2), true),
                copy(1, &[Green, Org(1)], Some(1), true)
            ]]
        ));
        // Every target must cover it.
        assert!(!counts_by_audience(
            &pointer,
            &[
                vec![copy(1, &[Green, Org(1)], Some(1), true)],
                vec![copy(1, &[User(5)], Some(1), true)]
            ]
        ));
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let limits = SessionLimits {
            idle_micros: 10,
            absolute_micros: 100,
        };
        assert_eq!(session_state(0, 95, 99, limits), SessionState::Valid);
        assert_eq!(session_state(0, 80, 90, limits), SessionState::Idle);
        assert_eq!(session_state(0, 99, 100, limits), SessionState::Expired);
    }

    #[test]
    fn failed_sign_ins_wait_longer_and_longer() {
        assert_eq!(sign_in_wait(3, Some(0), 0), None);
        assert_eq!(sign_in_wait(4, Some(0), 0), Some(2_000_000));
        assert_eq!(sign_in_wait(5, Some(0), 1_000_000), Some(3_000_000));
        assert_eq!(sign_in_wait(40, Some(0), 0), Some(MAX_SIGN_IN_WAIT));
        assert_eq!(sign_in_wait(4, Some(0), 2_000_000), None);
        assert!(
            link_usable(10, false, 9) && !link_usable(10, true, 9) && !link_usable(10, false, 10)
        );
    }
}
