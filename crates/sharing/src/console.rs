//! The web console's rules: which readers see a row (its *count class*,
//! so that figures may count it from an index), how long a session lives,
//! and how failed sign-ins slow an attacker down.
//!
//! | rule                                  | function                  |
//! |---------------------------------------|---------------------------|
//! | the readers of a pointer row          | [`class_of`]              |
//! | the classes a reader is admitted to   | [`admitted_classes`]      |
//! | a session is still valid              | [`session_state`]         |
//! | a sign-in must wait                   | [`sign_in_wait`]          |
//! | a sign-in link is usable              | [`link_usable`]           |

use std::collections::{HashMap, HashSet};

use crate::Tlp;
use crate::audience::{AudienceKey, ReadKeys};
use crate::model::OrgId;
use crate::principal::Principal;

/// How many pointer hops a class spans at most. The read gate follows
/// eight (`node`'s `MAX_POINTER_DEPTH`); past this a row is left to the
/// gate, which decides it one reader at a time.
pub const MAX_CLASS_DEPTH: u8 = 6;

/// Which readers see a stored row, exactly as the read gate decides it:
/// the readers of its collection whose keys admit its audience and who may
/// see a copy of its TLP and source (`Principal::sees_copy`: ceilings and
/// relay guards), and who, unless the row is their own organisation's, see
/// each of its targets. A target is seen when one of its copies is (see
/// [`TargetClass`]); a copy is seen as its own class says.
///
/// Rows without references have classes without targets (depth 0). A
/// class names its targets' copies by their classes, so the classes of a
/// node are few: they differ by collection, audience, TLP, source and the
/// classes of what they point at, not by row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CountClass {
    pub collection: i64,
    /// The row's audience, by the store's id for the set of keys.
    pub audience: i64,
    pub tlp: Option<Tlp>,
    pub origin_org: Option<OrgId>,
    /// 0 without targets, else one more than its deepest target copy's.
    pub depth: u8,
    /// Sorted, each once.
    pub targets: Vec<TargetClass>,
}

/// One target of a pointer: seen by a reader when any of its copies is,
/// except a copy the reader's own organisation added after another
/// source's first one (the gate ignores it: it may be planted, its id taken
/// from a hidden object).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetClass {
    /// The source of its first copy.
    pub source: Option<OrgId>,
    /// The classes of all its copies (every version, every collection),
    /// sorted, each once.
    pub copies: Vec<i64>,
}

impl CountClass {
    /// The class of a row without references.
    pub fn plain(
        collection: i64,
        audience: i64,
        tlp: Option<Tlp>,
        origin_org: Option<OrgId>,
    ) -> CountClass {
        CountClass {
            collection,
            audience,
            tlp,
            origin_org,
            depth: 0,
            targets: Vec::new(),
        }
    }
}

/// A stored copy of a referenced object, as [`class_of`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFacts {
    pub origin_org: Option<OrgId>,
    /// Its class and that class's depth; `None` while it has none (pending,
    /// or left to the gate).
    pub class: Option<(i64, u8)>,
}

/// The class of a pointer row (a relationship, a report, a sighting, …)
/// stored in `collection` with `audience`, `tlp` and `origin_org`, given
/// the stored copies of each object it references (`targets`: one entry per
/// reference, every copy of it, oldest first; an empty list for an id the
/// node does not hold, which hides nothing: a later write of it re-opens
/// the decision).
///
/// `None` when the read gate's decision cannot be written as a class: a
/// target copy without a class of its own (a cycle of pointers, a copy not
/// yet decided, one left to the gate), or a chain deeper than
/// [`MAX_CLASS_DEPTH`]. Such rows are left to the gate.
pub fn class_of(
    collection: i64,
    audience: i64,
    tlp: Option<Tlp>,
    origin_org: Option<OrgId>,
    targets: &[Vec<CopyFacts>],
) -> Option<CountClass> {
    let mut depth = 0u8;
    let mut entries: Vec<TargetClass> = Vec::new();
    for copies in targets {
        let Some(first) = copies.first() else {
            continue;
        };
        let mut classes = Vec::with_capacity(copies.len());
        for c in copies {
            let (class, d) = c.class?;
            depth = depth.max(d.checked_add(1)?);
            classes.push(class);
        }
        classes.sort_unstable();
        classes.dedup();
        entries.push(TargetClass {
            source: first.origin_org,
            copies: classes,
        });
    }
    if depth > MAX_CLASS_DEPTH {
        return None;
    }
    entries.sort_unstable();
    entries.dedup();
    Some(CountClass {
        collection,
        audience,
        tlp,
        origin_org,
        depth,
        targets: entries,
    })
}

/// The classes of `classes` whose rows `principal` sees, decided as the
/// read gate decides each row: `keys_of` gives the principal's keys in a
/// collection (`None`: it may not read it), `audiences` the keys of each
/// audience id. A class naming a class or audience not given is not
/// admitted.
pub fn admitted_classes(
    principal: &Principal,
    classes: &HashMap<i64, CountClass>,
    audiences: &HashMap<i64, Vec<AudienceKey>>,
    keys_of: &mut dyn FnMut(i64) -> Option<ReadKeys>,
) -> HashSet<i64> {
    let mut keys: HashMap<i64, Option<ReadKeys>> = HashMap::new();
    let mut memo: HashMap<i64, bool> = HashMap::new();
    let mut out = HashSet::new();
    for id in classes.keys() {
        if sees(
            *id,
            principal,
            classes,
            audiences,
            &mut |c| keys.entry(c).or_insert_with(|| keys_of(c)).clone(),
            &mut memo,
        ) {
            out.insert(*id);
        }
    }
    out
}

fn sees(
    id: i64,
    principal: &Principal,
    classes: &HashMap<i64, CountClass>,
    audiences: &HashMap<i64, Vec<AudienceKey>>,
    keys_of: &mut dyn FnMut(i64) -> Option<ReadKeys>,
    memo: &mut HashMap<i64, bool>,
) -> bool {
    if let Some(v) = memo.get(&id) {
        return *v;
    }
    let Some(class) = classes.get(&id) else {
        return false;
    };
    let admitted = audiences
        .get(&class.audience)
        .is_some_and(|a| keys_of(class.collection).is_some_and(|k| k.admits(a)))
        && principal.sees_copy(class.tlp, class.origin_org);
    let reader = principal.org();
    // The reader's own organisation's rows are shown whatever they point at.
    let own = class.origin_org.is_some() && class.origin_org == reader;
    // Classes are built over their targets' classes, so this recursion
    // ends (at most `MAX_CLASS_DEPTH` deep).
    let seen = admitted
        && (own
            || class.targets.iter().all(|t| {
                t.copies.iter().any(|c| {
                    let planted = reader.is_some()
                        && classes.get(c).is_some_and(|x| x.origin_org == reader)
                        && t.source != reader;
                    !planted && sees(*c, principal, classes, audiences, keys_of, memo)
                })
            }));
    memo.insert(id, seen);
    seen
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

    use crate::model::Role;
    use crate::principal::Member;

    fn member(org: OrgId) -> Principal {
        Principal::user(
            1,
            Member {
                user: 100 + org,
                org,
                role: Role::Analyst,
                communities: Vec::new(),
            },
        )
    }

    /// Audiences 1: GREEN, 2: AMBER (members), 3: CLEAR; collection 1 gives
    /// every reader CLEAR and GREEN, and `Members` to organisations 1 and 5.
    fn table(
        classes: &[(i64, CountClass)],
    ) -> (HashMap<i64, CountClass>, HashMap<i64, Vec<AudienceKey>>) {
        use AudienceKey::*;
        (
            classes.iter().cloned().collect(),
            HashMap::from([(1, vec![Green]), (2, vec![Members]), (3, vec![Clear])]),
        )
    }

    fn admitted(p: &Principal, classes: &[(i64, CountClass)]) -> Vec<i64> {
        let (classes, audiences) = table(classes);
        let org = p.org();
        let mut keys_of = |c: i64| -> Option<ReadKeys> {
            (c == 1).then(|| {
                let mut k = vec![AudienceKey::Clear, AudienceKey::Green];
                if org == Some(1) || org == Some(5) {
                    k.push(AudienceKey::Members);
                }
                ReadKeys::Keys(k)
            })
        };
        let mut out: Vec<i64> = admitted_classes(p, &classes, &audiences, &mut keys_of)
            .into_iter()
            .collect();
        out.sort_unstable();
        out
    }

    fn copy(class: i64, depth: u8, origin: OrgId) -> CopyFacts {
        CopyFacts {
            origin_org: Some(origin),
            class: Some((class, depth)),
        }
    }

    #[test]
    fn a_clear_pointer_at_a_green_target_is_left_out_under_a_clear_ceiling() {
        let green_malware = CountClass::plain(1, 1, Some(Tlp::Green), Some(2));
        let relationship =
            class_of(1, 3, Some(Tlp::Clear), Some(2), &[vec![copy(10, 0, 2)]]).unwrap();
        assert_eq!(relationship.depth, 1);
        let classes = [(10, green_malware), (11, relationship)];
        assert_eq!(admitted(&member(3), &classes), vec![10, 11]);
        let capped = member(3).with_ceiling(Tlp::Clear);
        assert_eq!(admitted(&capped, &classes), Vec::<i64>::new());
        // Its own organisation reads it back whatever it points at.
        let own = member(2).with_ceiling(Tlp::Clear);
        assert_eq!(admitted(&own, &classes), vec![11]);
    }

    #[test]
    fn a_green_report_over_an_amber_indicator_reaches_readers_of_both() {
        let amber = CountClass::plain(1, 2, Some(Tlp::Amber), Some(1));
        let green = CountClass::plain(1, 1, Some(Tlp::Green), Some(1));
        let report = class_of(
            1,
            1,
            Some(Tlp::Green),
            Some(1),
            &[vec![copy(20, 0, 1)], vec![copy(21, 0, 1)], vec![]],
        )
        .unwrap();
        let classes = [(20, amber), (21, green), (22, report)];
        // Organisation 1 holds Members (and wrote it); 3 reads GREEN only.
        assert_eq!(admitted(&member(1), &classes), vec![20, 21, 22]);
        assert_eq!(admitted(&member(3), &classes), vec![21]);
        // Another copy of the indicator that 3 may read uncovers the report.
        let report_with_copy = class_of(
            1,
            1,
            Some(Tlp::Green),
            Some(1),
            &[vec![copy(20, 0, 1), copy(21, 0, 1)]],
        )
        .unwrap();
        let classes = [
            (20, CountClass::plain(1, 2, Some(Tlp::Amber), Some(1))),
            (21, CountClass::plain(1, 1, Some(Tlp::Green), Some(1))),
            (23, report_with_copy),
        ];
        assert_eq!(admitted(&member(3), &classes), vec![21, 23]);
    }

    #[test]
    fn a_readers_own_later_copy_uncovers_nothing_and_relay_guards_apply_to_targets() {
        // The target's first copy is organisation 1's AMBER one; 3 added a
        // GREEN copy later: 3 does not see the pointer through it.
        let first = CountClass::plain(1, 2, Some(Tlp::Amber), Some(1));
        let planted = CountClass::plain(1, 1, Some(Tlp::Green), Some(3));
        let pointer = class_of(
            1,
            1,
            Some(Tlp::Green),
            Some(2),
            &[vec![copy(30, 0, 1), copy(31, 0, 3)]],
        )
        .unwrap();
        assert_eq!(pointer.targets[0].source, Some(1));
        let classes = [(30, first), (31, planted), (32, pointer)];
        assert_eq!(admitted(&member(3), &classes), vec![31]);
        assert_eq!(admitted(&member(4), &classes), vec![31, 32]);
        // Organisation 5 holds `Members`: it sees the AMBER target, unless
        // it stands for a node whose relay guard names its source; then it
        // sees neither that target nor a pointer at it alone.
        let only_amber =
            class_of(1, 1, Some(Tlp::Green), Some(2), &[vec![copy(30, 0, 1)]]).unwrap();
        let classes = [
            (30, CountClass::plain(1, 2, Some(Tlp::Amber), Some(1))),
            (33, only_amber),
        ];
        assert_eq!(admitted(&member(5), &classes), vec![30, 33]);
        let node = member(5).with_relay_guard(vec![1]);
        assert_eq!(admitted(&node, &classes), Vec::<i64>::new());
        assert_eq!(
            admitted(&member(5).with_relay_guard(vec![2]), &classes),
            vec![30, 33]
        );
    }

    #[test]
    fn rows_the_gate_must_decide_have_no_class() {
        // A target copy without a class (pending, or left to the gate).
        let undecided = CopyFacts {
            origin_org: Some(1),
            class: None,
        };
        assert_eq!(
            class_of(1, 1, Some(Tlp::Green), Some(1), &[vec![undecided]]),
            None
        );
        // Too deep a chain.
        let deep = copy(5, MAX_CLASS_DEPTH, 1);
        assert_eq!(
            class_of(1, 1, Some(Tlp::Green), Some(1), &[vec![deep]]),
            None
        );
        // Targets not held hide nothing; the same target twice is one entry.
        let c = class_of(
            1,
            1,
            Some(Tlp::Green),
            Some(1),
            &[vec![], vec![copy(7, 0, 1)], vec![copy(7, 0, 1)]],
        )
        .unwrap();
        assert_eq!(c.targets.len(), 1);
        assert_eq!(
            class_of(1, 1, None, None, &[vec![]]),
            Some(CountClass::plain(1, 1, None, None))
        );
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
