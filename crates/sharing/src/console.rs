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

use crate::Tlp;
use crate::audience::AudienceKey;
use crate::model::OrgId;

/// What [`counts_by_audience`] needs to know of the pointer's collection:
/// which keys its readers hold together. Organisations only ever join a
/// collection's audience (nothing removes a member), so a decision taken
/// before one joined is, if anything, too cautious.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectionFacts {
    /// Readable (its TLP:CLEAR objects) without authentication.
    pub public: bool,
    /// The organisations that read it as members (owner or community).
    pub member_orgs: Vec<OrgId>,
}

/// Keys every reader of the collection that holds `key` also holds (see
/// `audience::read_keys`): members hold GREEN and CLEAR, GREEN readers hold
/// CLEAR, and outside a public collection every reader holds GREEN; a user
/// of a member organisation reads as a member.
fn implied(key: &AudienceKey, facts: &CollectionFacts) -> Vec<AudienceKey> {
    use AudienceKey::*;
    match key {
        Clear if !facts.public => vec![Green],
        Clear => Vec::new(),
        Green => vec![Clear],
        Members => vec![Green, Clear],
        Org(o) if facts.member_orgs.contains(o) => vec![Members, Green, Clear],
        // Reading a public collection from outside: CLEAR only.
        Org(_) => vec![Clear],
        User(_) => Vec::new(),
    }
}

/// A stored copy of an object, as [`counts_by_audience`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFacts {
    pub collection: i64,
    pub audience: Vec<AudienceKey>,
    pub origin_org: Option<OrgId>,
    /// The TLP it is handled at (`None`: private to its source).
    pub tlp: Option<Tlp>,
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
/// same collection that admits every reader the pointer admits (the same
/// collection gives the same reader the same keys: for each key of the
/// pointer, the copy has that key or one every holder of it also holds, see
/// [`CollectionFacts`]), whose own visibility is its audience, and that the
/// gate never skips for any reader (it comes from the target's first
/// source: the gate ignores a reader's own later copy of another source's
/// object). The copy must also reach every reader the pointer reaches past
/// the TLP ceilings and relay guards (`Principal::sees_copy`, which the gate
/// applies to targets as to the pointer): it is handled at the pointer's TLP
/// or a less restrictive one, and above TLP:GREEN it comes from the
/// pointer's own source (or none), so no relay guard hides the copy from a
/// node that the pointer reaches. Anything else is left to the gate, one
/// reader at a time.
pub fn counts_by_audience(
    pointer: &CopyFacts,
    collection: &CollectionFacts,
    targets: &[Vec<CopyFacts>],
) -> bool {
    let admits_every_reader_of_the_pointer = |copy: &CopyFacts| {
        pointer.audience.iter().all(|k| {
            copy.audience.contains(k)
                || implied(k, collection)
                    .iter()
                    .any(|i| copy.audience.contains(i))
        })
    };
    // Every ceiling that admits the pointer admits the copy.
    let within_the_pointers_tlp = |copy: &CopyFacts| match (pointer.tlp, copy.tlp) {
        // No ceiling admits a pointer without a TLP.
        (None, _) => true,
        (Some(p), Some(t)) => t <= p,
        (Some(_), None) => false,
    };
    // Every relay guard that lets the pointer through lets the copy through.
    let relayed_with_the_pointer = |copy: &CopyFacts| {
        copy.tlp.is_some_and(|t| t <= Tlp::Green)
            || copy.origin_org.is_none()
            || copy.origin_org == pointer.origin_org
    };
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
                && admits_every_reader_of_the_pointer(c)
                && within_the_pointers_tlp(c)
                && relayed_with_the_pointer(c)
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
            tlp: Some(Tlp::Green),
            counted,
        }
    }

    #[test]
    fn a_pointer_counts_only_when_ceilings_and_relay_guards_admit_its_targets_with_it() {
        use AudienceKey::*;
        let facts = CollectionFacts {
            public: false,
            member_orgs: vec![1, 2],
        };
        let at = |tlp: Option<Tlp>, origin: Option<OrgId>, counted: bool| CopyFacts {
            tlp,
            ..copy(1, &[Green], origin, counted)
        };
        let counts =
            |p: &CopyFacts, t: &CopyFacts| super::counts_by_audience(p, &facts, &[vec![t.clone()]]);
        // A TLP:CLEAR pointer at a GREEN target: a CLEAR-capped token reads
        // the pointer, and the gate hides it since the target is above its
        // ceiling: left to the gate.
        let clear = at(Some(Tlp::Clear), Some(1), false);
        assert!(!counts(&clear, &at(Some(Tlp::Green), Some(1), true)));
        assert!(counts(&clear, &at(Some(Tlp::Clear), Some(1), true)));
        // At or below the pointer's TLP, it counts.
        let green = at(Some(Tlp::Green), Some(1), false);
        assert!(counts(&green, &at(Some(Tlp::Green), Some(1), true)));
        assert!(!counts(&green, &at(None, Some(1), true)));
        // Above GREEN, from another source than the pointer's: a node whose
        // relay guard names that source may read the pointer, not the target.
        let amber = at(Some(Tlp::Amber), Some(1), false);
        assert!(!counts(&amber, &at(Some(Tlp::Amber), Some(2), true)));
        assert!(counts(&amber, &at(Some(Tlp::Amber), Some(1), true)));
        assert!(counts(&amber, &at(Some(Tlp::Green), Some(2), true)));
        // A pointer without a TLP is under no ceiling.
        let private = at(None, Some(1), false);
        assert!(counts(&private, &at(Some(Tlp::Red), Some(1), true)));
        assert!(!counts(&private, &at(Some(Tlp::Red), Some(2), true)));
    }

    #[test]
    fn a_pointer_counts_only_when_every_target_covers_its_audience() {
        use AudienceKey::*;
        let private = CollectionFacts {
            public: false,
            member_orgs: vec![1, 2],
        };
        let public = CollectionFacts {
            public: true,
            member_orgs: vec![1, 2],
        };
        let counts_by_audience =
            |p: &CopyFacts, t: &[Vec<CopyFacts>]| super::counts_by_audience(p, &private, t);
        // CLEAR about GREEN: every reader of a private collection holds
        // GREEN, but an anonymous reader of a public one does not.
        let clear = copy(1, &[Clear, Org(1)], Some(1), false);
        let green_target = vec![copy(1, &[Green, Org(1)], Some(1), true)];
        assert!(super::counts_by_audience(
            &clear,
            &private,
            std::slice::from_ref(&green_target)
        ));
        assert!(!super::counts_by_audience(
            &clear,
            &public,
            std::slice::from_ref(&green_target)
        ));
        // AMBER (members) about GREEN: members hold GREEN.
        let amber = copy(1, &[Members, Org(3)], Some(3), false);
        let green_by_3 = vec![copy(1, &[Green, Org(3)], Some(3), true)];
        assert!(counts_by_audience(
            &amber,
            std::slice::from_ref(&green_by_3)
        ));
        // A member organisation's key implies the members' keys; another's does not.
        let named = copy(1, &[Org(2), Org(3)], Some(3), false);
        assert!(!counts_by_audience(
            &named,
            std::slice::from_ref(&vec![copy(1, &[Members], Some(3), true)])
        ));
        let named_member = copy(1, &[Org(2)], Some(2), false);
        assert!(counts_by_audience(
            &named_member,
            &[vec![copy(1, &[Members], Some(2), true)]]
        ));
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
