//! Whether observations can be bound to an observation expression: the
//! second stage of evaluation ([`crate::eval`] does the first, finding the
//! observations each bracket matches).
//!
//! # Semantics
//!
//! Those of the OASIS reference matcher (`stix2-matcher` 3.0.0). An
//! observed-data with `number_observed` n provides n interchangeable
//! *instances*. A binding is a set of distinct instances; its *signature* is
//! the latest `first_observed` (F) and the earliest `last_observed` (L) of
//! its observations, and is all that temporal operators look at.
//!
//! | Expression | Its bindings |
//! |---|---|
//! | `[…]` | one instance of an observation the bracket matches |
//! | `A OR B` | the bindings of A and those of B |
//! | `A AND B` | a binding of A with a disjoint binding of B |
//! | `A FOLLOWEDBY B` | the same, with F(A) ≤ L(B) |
//! | `A WITHIN d SECONDS` | the bindings of A with F ≤ L + d |
//! | `A START s STOP t` | the bindings of A whose every observation has `first_observed` < t and `last_observed` ≥ s (none if s ≥ t) |
//! | `A REPEATS n TIMES` | n pairwise disjoint bindings of A |
//!
//! Qualifiers are postfix operators, so a chain applies each to everything
//! before it: `A WITHIN 5 SECONDS REPEATS 2 TIMES` is two disjoint bindings of
//! `A WITHIN 5 SECONDS`, each within 5 seconds on its own; `A REPEATS 2 TIMES
//! WITHIN 5 SECONDS` is two disjoint bindings of A that together fit in 5
//! seconds; `A REPEATS 2 TIMES REPEATS 3 TIMES` is six disjoint bindings of
//! A; `START`/`STOP` filters observations wherever it stands.
//!
//! # Deciding existence
//!
//! Only whether a binding exists matters. The reference enumerates bindings
//! (lazily), which is exponential: `([a] FOLLOWEDBY [b]) REPEATS 10 TIMES`
//! over twenty observations has millions of candidate combinations. Here each
//! shape is decided by an algorithm whose cost follows from the algorithm,
//! with N observations, m distinct timestamps among them and k brackets:
//!
//! | Shape | Decided by | Cost |
//! |---|---|---|
//! | a *single* (a bracket, an OR of singles, a single under START/STOP, `WITHIN` or `REPEATS 1 TIMES`): bindings are single instances | the observations it matches, filtered | O(N) |
//! | `OR`, `START`/`STOP`, `WITHIN` around the whole of what remains | either side; a filter on observations; each window [w, w + d] with w a `last_observed` (a binding's own window starts at its L) | a factor m for `WITHIN` |
//! | `AND` and `REPEATS` over singles, nested in any way: each single needs a number of instances, with no order between them | a maximum flow from singles to observations ([`supply_covers`]) | O(k² N²) |
//! | `(A FOLLOWEDBY B) REPEATS n TIMES` (or `n = 1`) with singles A, B | Hall's condition over splitting times, solved as difference constraints ([`pairs_possible`]) | O(m³) |
//! | anything else (longer chains, `WITHIN` inside `REPEATS`, `OR` inside `AND` …) | necessary conditions above, then a depth-first search for one binding ([`Search`]) | exponential in the worst case: stops after [`MAX_SEARCH_STEPS`] |
//!
//! The search tries observations earliest first, turns each FOLLOWEDBY's left
//! signature into a filter on its right side, and takes the copies of a
//! REPEATS in a canonical order, so a pattern that matches is usually found
//! at once; a pattern that does not is refuted before the search by counting
//! instances (a flow that ignores time) and by checking that the pairs every
//! FOLLOWEDBY needs fit ([`pairs_possible`] for each pair of singles on its
//! two sides). What remains (several singles that must be ordered, repeated,
//! and cannot all be ordered although every pair can) needs the search, and
//! it stops with an error naming the sub-expression rather than run for
//! hours, as the reference may.
//!
//! A `WITHIN` window that would end after year 9999 cannot be computed by the
//! reference (Python's `datetime`): such windows are first treated as not
//! satisfied; if only they could bind the observations, evaluation fails with
//! an error, as it does in the reference.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::eval::{EvalError, ObsNode, Position};
use crate::observation::Observation;

/// The latest instant Python's `datetime` can hold.
const MAX_DATETIME_MICROS: i128 = 253_402_300_799_999_999;

/// How many observations the search may try before giving up: about a
/// tenth of a second of work.
pub const MAX_SEARCH_STEPS: u64 = 2_000_000;

/// How many instances one binding the search builds may hold. The search
/// recurses once per instance, and this keeps it within the stack of a
/// test thread (2 MiB).
pub const MAX_SEARCH_INSTANCES: u128 = 600;

/// The observations' facts that binding needs.
pub struct Universe<'a> {
    first: Vec<i64>,
    last: Vec<i64>,
    count: Vec<u64>,
    /// For each bracket, the observations it matches.
    hits: &'a [Vec<usize>],
}

impl<'a> Universe<'a> {
    pub fn new(observations: &[Observation], hits: &'a [Vec<usize>]) -> Universe<'a> {
        Universe {
            first: observations.iter().map(|o| o.first).collect(),
            last: observations.iter().map(|o| o.last).collect(),
            count: observations.iter().map(|o| o.count).collect(),
            hits,
        }
    }

    /// A universe from bare facts (used by the streaming engine).
    pub fn from_parts(
        first: Vec<i64>,
        last: Vec<i64>,
        count: Vec<u64>,
        hits: &'a [Vec<usize>],
    ) -> Universe<'a> {
        Universe {
            first,
            last,
            count,
            hits,
        }
    }

    /// Whether the observations can be bound to `node`.
    pub fn matches(&self, node: &ObsNode) -> Result<bool, EvalError> {
        self.matches_with(node, MAX_SEARCH_STEPS)
    }

    fn matches_with(&self, node: &ObsNode, max_steps: u64) -> Result<bool, EvalError> {
        let order = SearchOrder::new(self);
        let strict = Decider::new(self, &order, false, max_steps);
        if strict.exists(node, &Filter::all())? {
            return Ok(true);
        }
        if let Some(at) = self.window_past_9999(node) {
            let lenient = Decider::new(self, &order, true, max_steps);
            if lenient.exists(node, &Filter::all())? {
                return Err(EvalError(format!(
                    "at {at}: the WITHIN window reaches beyond year 9999, which the reference matcher cannot compute"
                )));
            }
        }
        Ok(false)
    }

    /// The position of a WITHIN whose window, starting at some observation's
    /// `last_observed`, would end after year 9999.
    fn window_past_9999(&self, node: &ObsNode) -> Option<Position> {
        let latest = self.last.iter().copied().max()?;
        let mut found = None;
        node.visit(&mut |n| {
            if let ObsNode::Within(_, d, at) = n
                && found.is_none()
                && i128::from(latest) + d > MAX_DATETIME_MICROS
            {
                found = Some(*at);
            }
        });
        found
    }

    fn capacity(&self, observations: &[usize]) -> u128 {
        observations
            .iter()
            .map(|&o| u128::from(self.count[o]))
            .sum()
    }
}

/// Which observations a sub-expression may use: `last >= last_at_least`,
/// `first <= first_at_most`, `first < first_before`.
#[derive(Clone, Copy, Debug)]
struct Filter {
    last_at_least: i64,
    first_at_most: i128,
    first_before: i64,
}

impl Filter {
    fn all() -> Filter {
        Filter {
            last_at_least: i64::MIN,
            first_at_most: i128::MAX,
            first_before: i64::MAX,
        }
    }

    fn allows(&self, u: &Universe<'_>, o: usize) -> bool {
        u.last[o] >= self.last_at_least
            && i128::from(u.first[o]) <= self.first_at_most
            && u.first[o] < self.first_before
    }

    /// START s STOP t: an observation window [first, last] must overlap
    /// [s, t): first < t and last >= s.
    fn start_stop(&self, start: i64, stop: i64) -> Filter {
        Filter {
            last_at_least: self.last_at_least.max(start),
            first_before: self.first_before.min(stop),
            ..*self
        }
    }

    /// The window [w, w + d]: every observation must touch it.
    fn window(&self, w: i64, d: i128) -> Filter {
        Filter {
            last_at_least: self.last_at_least.max(w),
            first_at_most: self.first_at_most.min(i128::from(w) + d),
            ..*self
        }
    }

    fn last_at_least(&self, t: i64) -> Filter {
        Filter {
            last_at_least: self.last_at_least.max(t),
            ..*self
        }
    }
}

/// A single's observations and how many instances of them a binding needs.
#[derive(Debug)]
struct Demand {
    observations: Vec<usize>,
    instances: u128,
}

/// Observations ranked earliest first (by `first_observed`, then
/// `last_observed`): the order the search tries them in, which finds
/// FOLLOWEDBY chains at once, and the order of its symmetry breaking.
struct SearchOrder {
    rank: Vec<u32>,
    /// Per bracket, its observations by rank.
    hits: Vec<Vec<usize>>,
}

impl SearchOrder {
    fn new(u: &Universe<'_>) -> SearchOrder {
        let mut by_time: Vec<usize> = (0..u.first.len()).collect();
        by_time.sort_by_key(|&o| (u.first[o], u.last[o], o));
        let mut rank = vec![0u32; by_time.len()];
        for (r, &o) in by_time.iter().enumerate() {
            rank[o] = u32::try_from(r).unwrap_or(u32::MAX);
        }
        let hits = u
            .hits
            .iter()
            .map(|h| {
                let mut h = h.clone();
                h.sort_by_key(|&o| rank[o]);
                h
            })
            .collect();
        SearchOrder { rank, hits }
    }
}

/// Decides existence for one reading of windows past year 9999.
struct Decider<'u, 'a> {
    u: &'u Universe<'a>,
    order: &'u SearchOrder,
    /// Whether a WITHIN window ending after year 9999 counts as satisfied.
    past_9999: bool,
    /// Search steps taken so far, over every search of this evaluation.
    steps: Cell<u64>,
    max_steps: u64,
}

impl<'u, 'a> Decider<'u, 'a> {
    fn new(
        u: &'u Universe<'a>,
        order: &'u SearchOrder,
        past_9999: bool,
        max_steps: u64,
    ) -> Decider<'u, 'a> {
        Decider {
            u,
            order,
            past_9999,
            steps: Cell::new(0),
            max_steps,
        }
    }

    /// Whether a window starting at `earliest_last` and lasting `d` holds a
    /// binding whose latest first is `latest_first`.
    fn window_holds(&self, latest_first: i64, earliest_last: i64, d: i128) -> bool {
        let end = i128::from(earliest_last) + d;
        (self.past_9999 || end <= MAX_DATETIME_MICROS) && i128::from(latest_first) <= end
    }

    /// Where the windows of a WITHIN over `inner` may start, ascending.
    fn window_starts(&self, inner: &ObsNode, f: &Filter) -> Vec<i64> {
        let mut starts = Vec::new();
        inner.visit(&mut |n| {
            if let ObsNode::Bracket(b) = n {
                starts.extend(
                    self.u.hits[*b]
                        .iter()
                        .filter(|&&o| f.allows(self.u, o))
                        .map(|&o| self.u.last[o]),
                );
            }
        });
        starts.sort_unstable();
        starts.dedup();
        starts
    }

    fn exists(&self, node: &ObsNode, f: &Filter) -> Result<bool, EvalError> {
        if let Some(observations) = self.single(node, f) {
            return Ok(!observations.is_empty());
        }
        match node {
            ObsNode::Or(a, b, _) => match self.exists(a, f) {
                Ok(true) => Ok(true),
                // The other side may still match: an answer beats an error.
                Ok(false) => self.exists(b, f),
                Err(e) => match self.exists(b, f) {
                    Ok(true) => Ok(true),
                    _ => Err(e),
                },
            },
            ObsNode::StartStop(inner, start, stop, _) => {
                Ok(start < stop && self.exists(inner, &f.start_stop(*start, *stop))?)
            }
            ObsNode::Within(inner, d, _) => {
                // A binding satisfies WITHIN iff every observation in it
                // touches [L, L + d], where L is its earliest last: trying
                // each possible L turns the qualifier into a filter.
                for w in self.window_starts(inner, f) {
                    if !self.window_holds(i64::MIN, w, *d) {
                        break;
                    }
                    if self.exists(inner, &f.window(w, *d))? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ObsNode::Repeats(inner, 1, _) => self.exists(inner, f),
            _ => self.decide(node, f),
        }
    }

    /// For sub-expressions whose bindings are always one instance of one
    /// observation: the observations that can be bound.
    fn single(&self, node: &ObsNode, f: &Filter) -> Option<Vec<usize>> {
        match node {
            ObsNode::Bracket(b) => Some(
                self.u.hits[*b]
                    .iter()
                    .copied()
                    .filter(|&o| f.allows(self.u, o))
                    .collect(),
            ),
            ObsNode::Or(a, b, _) => {
                let mut v = self.single(a, f)?;
                v.extend(self.single(b, f)?);
                v.sort_unstable();
                v.dedup();
                Some(v)
            }
            ObsNode::StartStop(inner, start, stop, _) => {
                if start >= stop {
                    self.single(inner, f).map(|_| Vec::new())
                } else {
                    self.single(inner, &f.start_stop(*start, *stop))
                }
            }
            ObsNode::Within(inner, d, _) => {
                let v = self.single(inner, f)?;
                Some(
                    v.into_iter()
                        .filter(|&o| self.window_holds(self.u.first[o], self.u.last[o], *d))
                        .collect(),
                )
            }
            ObsNode::Repeats(inner, 1, _) => self.single(inner, f),
            _ => None,
        }
    }

    /// Collects the demands of a sub-expression made of singles under AND and
    /// REPEATS only (each binding of it is, for each single, `instances`
    /// instances of its observations, with no order between them); `false`
    /// when it is not of that shape.
    fn independent(&self, node: &ObsNode, f: &Filter, times: u128, out: &mut Vec<Demand>) -> bool {
        if let Some(observations) = self.single(node, f) {
            out.push(Demand {
                observations,
                instances: times,
            });
            return true;
        }
        match node {
            ObsNode::And(a, b, _) => {
                self.independent(a, f, times, out) && self.independent(b, f, times, out)
            }
            ObsNode::Repeats(inner, n, _) => {
                self.independent(inner, f, times.saturating_mul(u128::from(*n)), out)
            }
            ObsNode::StartStop(inner, start, stop, _) => {
                if start >= stop {
                    // No binding at all, whatever the shape inside.
                    out.push(Demand {
                        observations: Vec::new(),
                        instances: times,
                    });
                    true
                } else {
                    self.independent(inner, &f.start_stop(*start, *stop), times, out)
                }
            }
            _ => false,
        }
    }

    /// `(A FOLLOWEDBY B) REPEATS n TIMES` with singles A and B (REPEATS
    /// directly nested multiply; START/STOP filters): A's and B's observations
    /// and n.
    fn pair(&self, node: &ObsNode, f: &Filter) -> Option<(Vec<usize>, Vec<usize>, u128)> {
        match node {
            ObsNode::Repeats(inner, n, _) => {
                let (a, b, m) = self.pair(inner, f)?;
                Some((a, b, m.saturating_mul(u128::from(*n))))
            }
            ObsNode::StartStop(inner, start, stop, _) => {
                if start >= stop {
                    let (_, _, n) = self.pair(inner, f)?;
                    Some((Vec::new(), Vec::new(), n))
                } else {
                    self.pair(inner, &f.start_stop(*start, *stop))
                }
            }
            ObsNode::FollowedBy(a, b, _) => Some((self.single(a, f)?, self.single(b, f)?, 1)),
            _ => None,
        }
    }

    /// Existence for AND, FOLLOWEDBY and REPEATS (of more than one
    /// instance), under filter `f`.
    fn decide(&self, node: &ObsNode, f: &Filter) -> Result<bool, EvalError> {
        let mut demands = Vec::new();
        if self.independent(node, f, 1, &mut demands) {
            return Ok(supply_covers(self.u, &demands));
        }
        if let Some((left, right, n)) = self.pair(node, f) {
            return Ok(pairs_possible(self.u, &left, &right, n));
        }
        if !self.counts_suffice(node, f) || !self.followedby_pairs_fit(node, f, 1) {
            return Ok(false);
        }
        if let Some((unit, n)) = two_instance_repeats(node)
            && let Some(found) = self.disjoint_pairs(unit, f, n)
        {
            return Ok(found);
        }
        let needed = most_instances(node);
        if needed > MAX_SEARCH_INSTANCES {
            return Err(EvalError(format!(
                "at {}: a binding of this {} holds up to {needed} observations, more than the {MAX_SEARCH_INSTANCES} Entente searches for; only REPEATS over AND, and over one FOLLOWEDBY between single observation expressions, are decided without search (see the patterning README)",
                node.position(),
                node.kind()
            )));
        }
        let mut search = Search::new(self, node, false);
        search.each(node, f, &mut |_, _| Ok(true))
    }

    /// Whether `n` disjoint bindings of `unit`, whose bindings all hold two
    /// instances, exist: a maximum matching in the graph whose vertices are
    /// instances and whose edges are the bindings. `None` when that graph has
    /// more than [`MAX_MATCHING_VERTICES`] vertices.
    fn disjoint_pairs(&self, unit: &ObsNode, f: &Filter, n: u128) -> Option<bool> {
        // Each binding once, as the pair of observations it uses (the
        // same one twice when it uses two of its instances).
        let mut pairs = std::collections::HashSet::new();
        let mut search = Search::new(self, unit, true);
        let listed = search.each(unit, f, &mut |s, _| {
            if let [a, b] = s.trail[..] {
                pairs.insert((a.min(b), a.max(b)));
            }
            Ok(false)
        });
        if listed.is_err() {
            return None;
        }
        // An observation serves at most 2n instances to n pairs.
        let mut first_vertex: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut vertices = 0usize;
        for &(a, b) in &pairs {
            for o in [a, b] {
                if let std::collections::hash_map::Entry::Vacant(slot) = first_vertex.entry(o) {
                    let copies = u128::from(self.u.count[o]).min(n.saturating_mul(2));
                    let copies = usize::try_from(copies).unwrap_or(usize::MAX);
                    if copies > MAX_MATCHING_VERTICES - vertices.min(MAX_MATCHING_VERTICES) {
                        return None;
                    }
                    slot.insert((vertices, copies));
                    vertices += copies;
                }
            }
        }
        let mut adjacent = vec![Vec::new(); vertices];
        for &(a, b) in &pairs {
            let (va, ca) = first_vertex[&a];
            let (vb, cb) = first_vertex[&b];
            for i in va..va + ca {
                for j in vb..vb + cb {
                    if i != j {
                        adjacent[i].push(j);
                        adjacent[j].push(i);
                    }
                }
            }
        }
        for list in &mut adjacent {
            list.sort_unstable();
            list.dedup();
        }
        Some(maximum_matching(&adjacent, n) >= n)
    }

    /// A necessary condition: ignoring time, are there enough instances? Each
    /// single needs its instances; an OR of larger expressions needs, from
    /// the observations of its brackets, as many as its smaller side.
    fn counts_suffice(&self, node: &ObsNode, f: &Filter) -> bool {
        let mut demands = Vec::new();
        self.relaxed_demands(node, f, 1, &mut demands);
        supply_covers(self.u, &demands)
    }

    fn relaxed_demands(&self, node: &ObsNode, f: &Filter, times: u128, out: &mut Vec<Demand>) {
        if let Some(observations) = self.single(node, f) {
            out.push(Demand {
                observations,
                instances: times,
            });
            return;
        }
        match node {
            ObsNode::And(a, b, _) | ObsNode::FollowedBy(a, b, _) => {
                self.relaxed_demands(a, f, times, out);
                self.relaxed_demands(b, f, times, out);
            }
            ObsNode::Within(inner, _, _) => self.relaxed_demands(inner, f, times, out),
            ObsNode::Repeats(inner, n, _) => {
                self.relaxed_demands(inner, f, times.saturating_mul(u128::from(*n)), out)
            }
            ObsNode::StartStop(inner, start, stop, _) => {
                if start >= stop {
                    out.push(Demand {
                        observations: Vec::new(),
                        instances: times,
                    });
                } else {
                    self.relaxed_demands(inner, &f.start_stop(*start, *stop), times, out);
                }
            }
            ObsNode::Or(..) => {
                let mut observations = Vec::new();
                node.visit(&mut |n| {
                    if let ObsNode::Bracket(b) = n {
                        observations.extend(
                            self.u.hits[*b]
                                .iter()
                                .copied()
                                .filter(|&o| f.allows(self.u, o)),
                        );
                    }
                });
                observations.sort_unstable();
                observations.dedup();
                out.push(Demand {
                    observations,
                    instances: times.saturating_mul(fewest_instances(node)),
                });
            }
            ObsNode::Bracket(_) => {}
        }
    }

    /// A necessary condition: every FOLLOWEDBY needs, in each of its
    /// bindings, an instance from each single its left side always holds
    /// followed by one from each single its right side always holds; with
    /// the REPEATS around it, `times` disjoint such pairs.
    fn followedby_pairs_fit(&self, node: &ObsNode, f: &Filter, times: u128) -> bool {
        match node {
            ObsNode::FollowedBy(a, b, _) => {
                let (mut left, mut right) = (Vec::new(), Vec::new());
                self.mandatory_singles(a, f, &mut left);
                self.mandatory_singles(b, f, &mut right);
                for l in left.iter().take(MANDATORY_PER_SIDE) {
                    for r in right.iter().take(MANDATORY_PER_SIDE) {
                        if !pairs_possible(self.u, l, r, times) {
                            return false;
                        }
                    }
                }
                self.followedby_pairs_fit(a, f, times) && self.followedby_pairs_fit(b, f, times)
            }
            ObsNode::And(a, b, _) => {
                self.followedby_pairs_fit(a, f, times) && self.followedby_pairs_fit(b, f, times)
            }
            ObsNode::Within(inner, _, _) => self.followedby_pairs_fit(inner, f, times),
            ObsNode::Repeats(inner, n, _) => {
                self.followedby_pairs_fit(inner, f, times.saturating_mul(u128::from(*n)))
            }
            ObsNode::StartStop(inner, start, stop, _) => {
                start >= stop
                    || self.followedby_pairs_fit(inner, &f.start_stop(*start, *stop), times)
            }
            // Either side may be the one bound.
            ObsNode::Or(..) | ObsNode::Bracket(_) => true,
        }
    }

    /// The singles every binding of `node` holds an instance of.
    fn mandatory_singles(&self, node: &ObsNode, f: &Filter, out: &mut Vec<Vec<usize>>) {
        if let Some(observations) = self.single(node, f) {
            out.push(observations);
            return;
        }
        match node {
            ObsNode::And(a, b, _) | ObsNode::FollowedBy(a, b, _) => {
                self.mandatory_singles(a, f, out);
                self.mandatory_singles(b, f, out);
            }
            ObsNode::Within(inner, _, _) | ObsNode::Repeats(inner, _, _) => {
                self.mandatory_singles(inner, f, out)
            }
            ObsNode::StartStop(inner, start, stop, _) if start < stop => {
                self.mandatory_singles(inner, &f.start_stop(*start, *stop), out)
            }
            _ => {}
        }
    }

    fn step(&self, blame: &ObsNode) -> Result<(), EvalError> {
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        if steps > self.max_steps {
            return Err(EvalError(format!(
                "at {}: deciding whether {} observations can be bound to this {} took more than {} search steps; Entente decides REPEATS over AND, and over one FOLLOWEDBY between single observation expressions, without search, and other shapes by a search that is exponential in the worst case (see the patterning README): narrow the pattern (e.g. with WITHIN) or evaluate fewer observations at once",
                blame.position(),
                self.u.first.len(),
                blame.kind(),
                self.max_steps
            )));
        }
        Ok(())
    }
}

/// Pairs of singles checked per FOLLOWEDBY side (the check is cubic in the
/// number of timestamps; more pairs rarely refute more).
const MANDATORY_PER_SIDE: usize = 4;

/// The signature of a binding, and the rank of the first observation the
/// search chose for it (its leftmost one).
#[derive(Clone, Copy, Debug)]
struct Sig {
    latest_first: i64,
    earliest_last: i64,
    lead: u32,
}

impl Sig {
    fn join(self, other: Sig) -> Sig {
        Sig {
            latest_first: self.latest_first.max(other.latest_first),
            earliest_last: self.earliest_last.min(other.earliest_last),
            lead: self.lead,
        }
    }
}

type Next<'c, 'd, 'u, 'a> =
    &'c mut dyn FnMut(&mut Search<'d, 'u, 'a>, Sig) -> Result<bool, EvalError>;

/// Depth-first search for one binding: [`Search::each`] offers each binding
/// of a sub-expression to a continuation, which either accepts it (the
/// search is over) or declines (the next one is tried). Instances are
/// reserved in `remaining` while a binding is offered.
struct Search<'d, 'u, 'a> {
    d: &'d Decider<'u, 'a>,
    remaining: Vec<u64>,
    /// The rank the next observation chosen must reach: set when a copy of a
    /// REPEATS starts, so that copies are built in nondecreasing order of
    /// their first observations (any set of copies can be so ordered, and
    /// the n! orders of the same copies are not all tried).
    floor: Option<u32>,
    /// The sub-expression errors are reported against.
    blame: &'d ObsNode,
    /// Per WITHIN node (by address), where its windows may start: computed
    /// once, the search enters the node many times.
    windows: HashMap<usize, Rc<[i64]>>,
    /// The observations reserved, in the order they were chosen.
    trail: Vec<usize>,
    /// Whether every binding is wanted (the continuation declines each):
    /// then WITHIN checks signatures instead of trying windows, which would
    /// revisit the same candidates once per window, and steps are not
    /// bounded (listing is polynomial, see [`Decider::disjoint_pairs`]).
    listing: bool,
}

impl<'d, 'u, 'a> Search<'d, 'u, 'a> {
    fn new(d: &'d Decider<'u, 'a>, blame: &'d ObsNode, listing: bool) -> Search<'d, 'u, 'a> {
        Search {
            d,
            remaining: d.u.count.clone(),
            floor: None,
            blame,
            windows: HashMap::new(),
            trail: Vec::new(),
            listing,
        }
    }

    fn step(&self) -> Result<(), EvalError> {
        if self.listing {
            Ok(())
        } else {
            self.d.step(self.blame)
        }
    }

    fn each(
        &mut self,
        node: &'d ObsNode,
        f: &Filter,
        next: Next<'_, 'd, 'u, 'a>,
    ) -> Result<bool, EvalError> {
        match node {
            ObsNode::Bracket(b) => {
                let floor = self.floor.take();
                let u = self.d.u;
                let order = self.d.order;
                let candidates = &order.hits[*b];
                // Candidates are in rank order, so the floor is a starting
                // point and the filter's bounds on first_observed an end.
                let from =
                    floor.map_or(0, |fl| candidates.partition_point(|&o| order.rank[o] < fl));
                for &o in &candidates[from..] {
                    // Every candidate looked at counts, so that the bound
                    // on steps is a bound on time.
                    self.step()?;
                    if u.first[o] >= f.first_before || i128::from(u.first[o]) > f.first_at_most {
                        break;
                    }
                    if self.remaining[o] == 0 || u.last[o] < f.last_at_least {
                        continue;
                    }
                    let rank = order.rank[o];
                    self.remaining[o] -= 1;
                    self.trail.push(o);
                    let sig = Sig {
                        latest_first: u.first[o],
                        earliest_last: u.last[o],
                        lead: rank,
                    };
                    let found = next(self, sig);
                    self.trail.pop();
                    self.remaining[o] += 1;
                    if found? {
                        self.floor = floor;
                        return Ok(true);
                    }
                }
                self.floor = floor;
                Ok(false)
            }
            ObsNode::Or(a, b, _) => Ok(self.each(a, f, next)? || self.each(b, f, next)?),
            ObsNode::StartStop(inner, start, stop, _) => {
                Ok(start < stop && self.each(inner, &f.start_stop(*start, *stop), next)?)
            }
            ObsNode::And(a, b, _) => self.each(a, f, &mut |s, left| {
                s.each(b, f, &mut |s, right| next(s, left.join(right)))
            }),
            ObsNode::FollowedBy(a, b, _) => self.each(a, f, &mut |s, left| {
                // F(A) <= L(B) holds iff every observation bound to B has
                // last_observed >= F(A): a filter on B, not a check after.
                let g = f.last_at_least(left.latest_first);
                s.each(b, &g, &mut |s, right| next(s, left.join(right)))
            }),
            ObsNode::Within(inner, d, _) if self.listing => self.each(inner, f, &mut |s, sig| {
                if s.d.window_holds(sig.latest_first, sig.earliest_last, *d) {
                    next(s, sig)
                } else {
                    Ok(false)
                }
            }),
            ObsNode::Within(inner, d, _) => {
                let key = node as *const ObsNode as usize;
                let starts = match self.windows.get(&key) {
                    Some(s) => Rc::clone(s),
                    None => {
                        let s: Rc<[i64]> = self.d.window_starts(inner, &Filter::all()).into();
                        self.windows.insert(key, Rc::clone(&s));
                        s
                    }
                };
                let from = starts.partition_point(|&w| w < f.last_at_least);
                for &w in &starts[from..] {
                    self.step()?;
                    if !self.d.window_holds(i64::MIN, w, *d) {
                        break;
                    }
                    // Offer each binding under the window that starts at
                    // its own earliest last only, so it is offered once.
                    let found = self.each(inner, &f.window(w, *d), &mut |s, sig| {
                        if sig.earliest_last == w {
                            next(s, sig)
                        } else {
                            Ok(false)
                        }
                    })?;
                    if found {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ObsNode::Repeats(inner, n, _) => self.copies(inner, f, *n, None, None, next),
        }
    }

    /// Binds `left` more copies of `inner`, after copies whose joined
    /// signature is `done` and the last of which started at rank `previous`.
    fn copies(
        &mut self,
        inner: &'d ObsNode,
        f: &Filter,
        left: u64,
        done: Option<Sig>,
        previous: Option<u32>,
        next: Next<'_, 'd, 'u, 'a>,
    ) -> Result<bool, EvalError> {
        if left == 0 {
            return match done {
                Some(sig) => next(self, sig),
                None => Ok(false),
            };
        }
        // The first copy keeps whatever floor an enclosing copy set: its
        // first observation is also the enclosing copy's first.
        let saved = self.floor;
        if previous.is_some() {
            self.floor = previous;
        }
        let found = self.each(inner, f, &mut |s, sig| {
            let joined = done.map_or(sig, |d| d.join(sig));
            s.copies(inner, f, left - 1, Some(joined), Some(sig.lead), next)
        });
        self.floor = saved;
        found
    }
}

/// The largest graph [`Decider::disjoint_pairs`] matches in: the matching
/// is cubic in it.
const MAX_MATCHING_VERTICES: usize = 800;

/// `unit REPEATS n TIMES` (REPEATS directly nested multiply) where every
/// binding of `unit` holds exactly two instances.
fn two_instance_repeats(node: &ObsNode) -> Option<(&ObsNode, u128)> {
    let ObsNode::Repeats(inner, n, _) = node else {
        return None;
    };
    if let Some((unit, m)) = two_instance_repeats(inner) {
        return Some((unit, m.saturating_mul(u128::from(*n))));
    }
    (fewest_instances(inner) == 2 && most_instances(inner) == 2)
        .then_some((&**inner, u128::from(*n)))
}

/// The size of a maximum matching of the graph (`adjacent[v]`: v's
/// neighbours), or `enough` if it is at least that: Edmonds' blossom
/// algorithm, growing alternating trees by breadth-first search and
/// contracting odd cycles, O(V³).
fn maximum_matching(adjacent: &[Vec<usize>], enough: u128) -> u128 {
    const NONE: usize = usize::MAX;
    let n = adjacent.len();
    let mut mate = vec![NONE; n];
    let mut size = 0u128;
    // A greedy matching first: most vertices never need a tree.
    for v in 0..n {
        if mate[v] == NONE
            && let Some(&w) = adjacent[v].iter().find(|&&w| mate[w] == NONE)
        {
            mate[v] = w;
            mate[w] = v;
            size += 1;
        }
    }
    let mut parent = vec![NONE; n];
    let mut base: Vec<usize> = (0..n).collect();
    let mut in_tree = vec![false; n];
    let mut in_blossom = vec![false; n];
    let mut queue = std::collections::VecDeque::new();
    for root in 0..n {
        if size >= enough {
            break;
        }
        if mate[root] != NONE {
            continue;
        }
        parent.fill(NONE);
        for (i, b) in base.iter_mut().enumerate() {
            *b = i;
        }
        in_tree.fill(false);
        in_tree[root] = true;
        queue.clear();
        queue.push_back(root);
        let mut end = NONE;
        'grow: while let Some(v) = queue.pop_front() {
            for &to in &adjacent[v] {
                if base[v] == base[to] || mate[v] == to {
                    continue;
                }
                if to == root || (mate[to] != NONE && parent[mate[to]] != NONE) {
                    // An odd cycle: contract it into its base.
                    let b = common_base(v, to, &base, &mate, &parent);
                    in_blossom.fill(false);
                    mark_blossom(v, b, to, &base, &mate, &mut parent, &mut in_blossom);
                    mark_blossom(to, b, v, &base, &mate, &mut parent, &mut in_blossom);
                    for i in 0..n {
                        if in_blossom[base[i]] {
                            base[i] = b;
                            if !in_tree[i] {
                                in_tree[i] = true;
                                queue.push_back(i);
                            }
                        }
                    }
                } else if parent[to] == NONE {
                    parent[to] = v;
                    if mate[to] == NONE {
                        end = to;
                        break 'grow;
                    }
                    in_tree[mate[to]] = true;
                    queue.push_back(mate[to]);
                }
            }
        }
        // Flip the augmenting path from its free end back to the root.
        let mut v = end;
        while v != NONE {
            let pv = parent[v];
            let next = mate[pv];
            mate[v] = pv;
            mate[pv] = v;
            v = next;
        }
        if end != NONE {
            size += 1;
        }
    }
    size
}

/// The base of the blossom that closes when `a` and `b` (in the same tree)
/// are joined: their lowest common ancestor over blossom bases.
fn common_base(
    mut a: usize,
    mut b: usize,
    base: &[usize],
    mate: &[usize],
    parent: &[usize],
) -> usize {
    let mut seen = vec![false; base.len()];
    loop {
        a = base[a];
        seen[a] = true;
        if mate[a] == usize::MAX {
            break;
        }
        a = parent[mate[a]];
    }
    loop {
        b = base[b];
        if seen[b] {
            return b;
        }
        b = parent[mate[b]];
    }
}

/// Marks the blossom vertices on the path from `v` down to base `b`, and
/// points their parents across the new edge so paths can be flipped later.
fn mark_blossom(
    mut v: usize,
    b: usize,
    mut child: usize,
    base: &[usize],
    mate: &[usize],
    parent: &mut [usize],
    in_blossom: &mut [bool],
) {
    while base[v] != b {
        in_blossom[base[v]] = true;
        in_blossom[base[mate[v]]] = true;
        parent[v] = child;
        child = mate[v];
        v = parent[mate[v]];
    }
}

/// The fewest instances a binding of `node` holds.
fn fewest_instances(node: &ObsNode) -> u128 {
    match node {
        ObsNode::Bracket(_) => 1,
        ObsNode::And(a, b, _) | ObsNode::FollowedBy(a, b, _) => {
            fewest_instances(a).saturating_add(fewest_instances(b))
        }
        ObsNode::Or(a, b, _) => fewest_instances(a).min(fewest_instances(b)),
        ObsNode::Within(inner, _, _) | ObsNode::StartStop(inner, _, _, _) => {
            fewest_instances(inner)
        }
        ObsNode::Repeats(inner, n, _) => fewest_instances(inner).saturating_mul(u128::from(*n)),
    }
}

/// The most instances a binding of `node` holds.
fn most_instances(node: &ObsNode) -> u128 {
    match node {
        ObsNode::Bracket(_) => 1,
        ObsNode::And(a, b, _) | ObsNode::FollowedBy(a, b, _) => {
            most_instances(a).saturating_add(most_instances(b))
        }
        ObsNode::Or(a, b, _) => most_instances(a).max(most_instances(b)),
        ObsNode::Within(inner, _, _) | ObsNode::StartStop(inner, _, _, _) => most_instances(inner),
        ObsNode::Repeats(inner, n, _) => most_instances(inner).saturating_mul(u128::from(*n)),
    }
}

/// Whether distinct instances can meet every demand at once (each demand
/// from its own observations, an instance serving one demand): a maximum
/// flow from demands to observations, by Dinic's algorithm. With k demands
/// over N observations the network has O(kN) edges and the flow needs at
/// most O(k²N²) work.
fn supply_covers(u: &Universe<'_>, demands: &[Demand]) -> bool {
    let needed: u128 = demands
        .iter()
        .fold(0u128, |acc, d| acc.saturating_add(d.instances));
    if needed == 0 {
        return true;
    }
    // Observations involved, numbered from 0.
    let mut index: HashMap<usize, usize> = HashMap::new();
    for d in demands {
        for &o in &d.observations {
            let next = index.len();
            index.entry(o).or_insert(next);
        }
    }
    let total: u128 = index.keys().map(|&o| u128::from(u.count[o])).sum();
    if total < needed
        || demands
            .iter()
            .any(|d| u.capacity(&d.observations) < d.instances)
    {
        return false;
    }
    // Nodes: source, demands, observations, sink.
    let source = 0;
    let first_observation = 1 + demands.len();
    let sink = first_observation + index.len();
    let mut net = FlowNetwork::new(sink + 1);
    for (i, d) in demands.iter().enumerate() {
        net.add_edge(source, 1 + i, d.instances);
        for &o in &d.observations {
            net.add_edge(1 + i, first_observation + index[&o], d.instances);
        }
    }
    for (&o, &i) in &index {
        net.add_edge(first_observation + i, sink, u128::from(u.count[o]));
    }
    net.max_flow(source, sink) >= needed
}

/// A flow network for Dinic's algorithm.
struct FlowNetwork {
    /// Edges as (to, residual capacity); edge i's reverse is i ^ 1.
    edges: Vec<(usize, u128)>,
    adjacent: Vec<Vec<usize>>,
}

impl FlowNetwork {
    fn new(nodes: usize) -> FlowNetwork {
        FlowNetwork {
            edges: Vec::new(),
            adjacent: vec![Vec::new(); nodes],
        }
    }

    fn add_edge(&mut self, from: usize, to: usize, capacity: u128) {
        self.adjacent[from].push(self.edges.len());
        self.edges.push((to, capacity));
        self.adjacent[to].push(self.edges.len());
        self.edges.push((from, 0));
    }

    fn max_flow(&mut self, source: usize, sink: usize) -> u128 {
        let n = self.adjacent.len();
        let mut flow = 0u128;
        loop {
            // Levels by breadth-first search over residual edges.
            let mut level = vec![usize::MAX; n];
            level[source] = 0;
            let mut queue = std::collections::VecDeque::from([source]);
            while let Some(v) = queue.pop_front() {
                for &e in &self.adjacent[v] {
                    let (to, cap) = self.edges[e];
                    if cap > 0 && level[to] == usize::MAX {
                        level[to] = level[v] + 1;
                        queue.push_back(to);
                    }
                }
            }
            if level[sink] == usize::MAX {
                return flow;
            }
            let mut cursor = vec![0usize; n];
            loop {
                let pushed = self.push(source, sink, u128::MAX, &level, &mut cursor);
                if pushed == 0 {
                    break;
                }
                flow = flow.saturating_add(pushed);
            }
        }
    }

    /// Pushes flow along level-increasing paths (the network is at most
    /// four levels deep, so recursion is shallow).
    fn push(
        &mut self,
        v: usize,
        sink: usize,
        limit: u128,
        level: &[usize],
        cursor: &mut [usize],
    ) -> u128 {
        if v == sink {
            return limit;
        }
        while cursor[v] < self.adjacent[v].len() {
            let e = self.adjacent[v][cursor[v]];
            let (to, cap) = self.edges[e];
            if cap > 0 && level[to] == level[v] + 1 {
                let pushed = self.push(to, sink, limit.min(cap), level, cursor);
                if pushed > 0 {
                    self.edges[e].1 -= pushed;
                    self.edges[e ^ 1].1 += pushed;
                    return pushed;
                }
            }
            cursor[v] += 1;
        }
        0
    }
}

/// Whether `n` pairwise disjoint pairs (x, y) exist with x an instance of an
/// observation in `left`, y one of an observation in `right` and
/// first(x) <= last(y): `(A FOLLOWEDBY B) REPEATS n TIMES` for singles A, B.
///
/// Give each pair a *split* s with first(x) <= s <= last(y); s can be a
/// `first_observed` of `left`, s_1 < … < s_m. With the number of pairs per
/// split fixed, pairs exist iff instances can be given to the x-slots (an
/// x-slot at split s takes an observation of `left` with first <= s) and
/// y-slots (last >= s), which Hall's theorem decides. The x-slots' choices
/// grow with s and the y-slots' shrink, so only the slots' extreme splits
/// matter: for all i, j, the x-slots at splits <= s_i and the y-slots at
/// splits >= s_j need no more instances than the union of their choices
/// holds. With P_i the number of pairs at splits <= s_i (P_0 = 0, P_m = n,
/// nondecreasing) that reads P_i − P_(j−1) <= C(i, j) − n, a system of
/// difference constraints: a split profile exists iff the constraint graph
/// has no negative cycle (Bellman–Ford, O(m³)).
fn pairs_possible(u: &Universe<'_>, left: &[usize], right: &[usize], n: u128) -> bool {
    if n == 0 {
        return true;
    }
    let mut union: Vec<usize> = left.iter().chain(right).copied().collect();
    union.sort_unstable();
    union.dedup();
    if u.capacity(left) < n || u.capacity(right) < n || u.capacity(&union) < n.saturating_mul(2) {
        return false;
    }
    if n == 1 {
        return one_pair_possible(u, left, right);
    }
    let mut splits: Vec<i64> = left.iter().map(|&o| u.first[o]).collect();
    splits.sort_unstable();
    splits.dedup();
    let m = splits.len();
    let in_left: std::collections::HashSet<usize> = left.iter().copied().collect();
    let in_right: std::collections::HashSet<usize> = right.iter().copied().collect();
    // outside[i][j]: instances in neither the x-choices at split i (left
    // observations with first <= s_i, i.e. whose first split index a <= i)
    // nor the y-choices at split j (right observations with last >= s_j,
    // i.e. whose last split index b >= j); i in 0..=m (0: no x-slots), j in
    // 1..=m+1 (m+1: no y-slots). Indices are 1-based.
    let mut grid = vec![vec![0u128; m + 2]; m + 2];
    for &o in &union {
        // a: the first split index with s_a >= first (m + 1: never).
        let a = if in_left.contains(&o) {
            splits.partition_point(|&s| s < u.first[o]) + 1
        } else {
            m + 1
        };
        // b: the last split index with s_b <= last (0: never).
        let b = if in_right.contains(&o) {
            splits.partition_point(|&s| s <= u.last[o])
        } else {
            0
        };
        grid[a][b] += u128::from(u.count[o]);
    }
    // outside[i][j] = Σ grid[a][b] over a > i, b < j.
    let mut outside = vec![vec![0u128; m + 2]; m + 2];
    for i in (0..=m).rev() {
        let mut row = 0u128;
        for j in 1..=m + 1 {
            row += grid[i + 1][j - 1];
            outside[i][j] = outside[i + 1][j] + row;
        }
    }
    let total = u.capacity(&union);
    let n = n as i128; // n <= total capacity, which fits
    // Constraint P_i − P_k <= w(k, i) for k = j − 1: an edge k → i.
    let bound = |i: usize, k: usize| -> i128 {
        let c = total - outside[i][k + 1];
        // Weights above n never bind (0 <= P <= n).
        (c.min(2 * n as u128) as i128) - n
    };
    // Bellman–Ford from P_0 = 0 over nodes 0..=m; P_m = n is the pair of
    // edges 0 → m (n) and m → 0 (−n); monotony is i+1 → i (0).
    let mut dist = vec![i128::MAX; m + 1];
    dist[0] = 0;
    for _ in 0..=m + 1 {
        let mut changed = false;
        let mut relax = |from: usize, to: usize, w: i128, dist: &mut Vec<i128>| {
            if dist[from] != i128::MAX && dist[from] + w < dist[to] {
                dist[to] = dist[from] + w;
                changed = true;
            }
        };
        relax(0, m, n, &mut dist);
        relax(m, 0, -n, &mut dist);
        for i in 0..m {
            relax(i + 1, i, 0, &mut dist);
        }
        for k in 0..=m {
            for i in 0..=m {
                relax(k, i, bound(i, k), &mut dist);
            }
        }
        if !changed {
            return true;
        }
    }
    // Still relaxing after m + 2 rounds: a negative cycle, no profile.
    false
}

/// One pair: the left observation with the earliest first and the right one
/// with the latest last, unless they are the same single instance.
fn one_pair_possible(u: &Universe<'_>, left: &[usize], right: &[usize]) -> bool {
    let mut lefts: Vec<usize> = left.to_vec();
    lefts.sort_by_key(|&o| u.first[o]);
    let mut rights: Vec<usize> = right.to_vec();
    rights.sort_by_key(|&o| std::cmp::Reverse(u.last[o]));
    for &x in lefts.iter().take(2) {
        for &y in rights.iter().take(2) {
            if u.first[x] <= u.last[y] && (x != y || u.count[x] >= 2) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent model of the semantics: every binding, as the set of
    /// (observation, instance) it uses, straight from the table in the
    /// module documentation. Exponential, so only for a handful of
    /// observations.
    fn model(u: &Universe<'_>, node: &ObsNode) -> Vec<Vec<(usize, u64)>> {
        let sig = |b: &[(usize, u64)]| {
            (
                b.iter().map(|&(o, _)| u.first[o]).max().unwrap_or(i64::MIN),
                b.iter().map(|&(o, _)| u.last[o]).min().unwrap_or(i64::MAX),
            )
        };
        let disjoint_union = |a: &[(usize, u64)], b: &[(usize, u64)]| {
            if a.iter().any(|x| b.contains(x)) {
                return None;
            }
            let mut v: Vec<_> = a.iter().chain(b).copied().collect();
            v.sort_unstable();
            Some(v)
        };
        let mut out: Vec<Vec<(usize, u64)>> = match node {
            ObsNode::Bracket(b) => u.hits[*b]
                .iter()
                .flat_map(|&o| (0..u.count[o]).map(move |k| vec![(o, k)]))
                .collect(),
            ObsNode::Or(a, b, _) => {
                let mut v = model(u, a);
                v.extend(model(u, b));
                v
            }
            ObsNode::And(a, b, _) | ObsNode::FollowedBy(a, b, _) => {
                let ordered = matches!(node, ObsNode::FollowedBy(..));
                let right = model(u, b);
                let mut v = Vec::new();
                for x in model(u, a) {
                    for y in &right {
                        if ordered && sig(&x).0 > sig(y).1 {
                            continue;
                        }
                        v.extend(disjoint_union(&x, y));
                    }
                }
                v
            }
            ObsNode::Within(inner, d, _) => model(u, inner)
                .into_iter()
                .filter(|b| {
                    let (f, l) = sig(b);
                    i128::from(f) <= i128::from(l) + d
                })
                .collect(),
            ObsNode::StartStop(inner, start, stop, _) => model(u, inner)
                .into_iter()
                .filter(|b| {
                    start < stop
                        && b.iter()
                            .all(|&(o, _)| u.first[o] < *stop && u.last[o] >= *start)
                })
                .collect(),
            ObsNode::Repeats(inner, n, _) => {
                let copies = model(u, inner);
                let mut v = Vec::new();
                combine(&copies, 0, *n, &mut Vec::new(), &mut v);
                v
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Unions of `left` pairwise disjoint bindings taken from `copies[from..]`.
    fn combine(
        copies: &[Vec<(usize, u64)>],
        from: usize,
        left: u64,
        acc: &mut Vec<(usize, u64)>,
        out: &mut Vec<Vec<(usize, u64)>>,
    ) {
        if left == 0 {
            let mut v = acc.clone();
            v.sort_unstable();
            out.push(v);
            return;
        }
        for i in from..copies.len() {
            if copies[i].iter().any(|x| acc.contains(x)) {
                continue;
            }
            let len = acc.len();
            acc.extend(&copies[i]);
            combine(copies, i + 1, left - 1, acc, out);
            acc.truncate(len);
        }
    }

    /// xorshift: deterministic cases without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn tree(rng: &mut Rng, brackets: usize, depth: u32) -> ObsNode {
        let at = Position::default();
        if depth == 0 || rng.below(10) < 3 {
            return ObsNode::Bracket(rng.below(brackets as u64) as usize);
        }
        let kind = rng.below(7);
        let a = Box::new(tree(rng, brackets, depth - 1));
        match kind {
            0..=3 => {
                let b = Box::new(tree(rng, brackets, depth - 1));
                match kind {
                    0 => ObsNode::And(a, b, at),
                    1 => ObsNode::Or(a, b, at),
                    _ => ObsNode::FollowedBy(a, b, at),
                }
            }
            4 => ObsNode::Within(a, i128::from(rng.below(4) as u8), at),
            5 => ObsNode::Repeats(a, 1 + rng.below(3), at),
            _ => {
                let start = rng.below(4) as i64;
                ObsNode::StartStop(a, start, start + rng.below(4) as i64 - 1, at)
            }
        }
    }

    struct World {
        first: Vec<i64>,
        last: Vec<i64>,
        count: Vec<u64>,
        hits: Vec<Vec<usize>>,
    }

    fn world(rng: &mut Rng, observations: usize, brackets: usize) -> World {
        let first: Vec<i64> = (0..observations).map(|_| rng.below(4) as i64).collect();
        let last = first.iter().map(|&f| f + rng.below(3) as i64).collect();
        let count = (0..observations)
            .map(|_| 1 + rng.below(2) * rng.below(3))
            .collect();
        let hits = (0..brackets)
            .map(|_| (0..observations).filter(|_| rng.below(3) > 0).collect())
            .collect();
        World {
            first,
            last,
            count,
            hits,
        }
    }

    fn universe(w: &World) -> Universe<'_> {
        Universe::from_parts(w.first.clone(), w.last.clone(), w.count.clone(), &w.hits)
    }

    #[test]
    fn agrees_with_the_model_on_random_patterns() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut outcomes = [0usize; 2];
        for case in 0..6000 {
            let n = 1 + rng.below(4) as usize;
            let w = world(&mut rng, n, 3);
            let node = tree(&mut rng, 3, 3);
            let u = universe(&w);
            let expected = !model(&u, &node).is_empty();
            let got = u.matches(&node);
            assert_eq!(
                got,
                Ok(expected),
                "case {case}: {node:?}\nfirst {:?} last {:?} count {:?} hits {:?}",
                w.first,
                w.last,
                w.count,
                w.hits
            );
            outcomes[usize::from(expected)] += 1;
        }
        assert!(outcomes[0] > 1000 && outcomes[1] > 1000, "{outcomes:?}");
    }

    /// Each algorithm on its own shape, with more observations than the
    /// random trees use: REPEATS of AND and of one FOLLOWEDBY (flow and
    /// difference constraints), of units of two instances (matching), and of
    /// longer chains (search).
    #[test]
    fn each_shape_agrees_with_the_model() {
        let at = Position::default();
        let b = |i| Box::new(ObsNode::Bracket(i));
        let shapes = [
            ObsNode::Repeats(Box::new(ObsNode::And(b(0), b(1), at)), 3, at),
            ObsNode::Repeats(Box::new(ObsNode::FollowedBy(b(0), b(1), at)), 3, at),
            ObsNode::Repeats(
                Box::new(ObsNode::Repeats(
                    Box::new(ObsNode::FollowedBy(b(1), b(0), at)),
                    2,
                    at,
                )),
                2,
                at,
            ),
            ObsNode::Repeats(
                Box::new(ObsNode::FollowedBy(
                    Box::new(ObsNode::FollowedBy(b(0), b(1), at)),
                    b(2),
                    at,
                )),
                2,
                at,
            ),
            ObsNode::Repeats(
                Box::new(ObsNode::Within(
                    Box::new(ObsNode::FollowedBy(b(0), b(1), at)),
                    1,
                    at,
                )),
                2,
                at,
            ),
            ObsNode::Repeats(
                Box::new(ObsNode::Or(
                    Box::new(ObsNode::FollowedBy(b(0), b(1), at)),
                    Box::new(ObsNode::Within(
                        Box::new(ObsNode::And(b(1), b(2), at)),
                        0,
                        at,
                    )),
                    at,
                )),
                3,
                at,
            ),
            ObsNode::Repeats(
                Box::new(ObsNode::Within(
                    Box::new(ObsNode::Repeats(b(2), 2, at)),
                    1,
                    at,
                )),
                3,
                at,
            ),
        ];
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut outcomes = [[0usize; 2]; 7];
        for case in 0..2500 {
            let n = 4 + rng.below(3) as usize;
            let w = world(&mut rng, n, 3);
            let u = universe(&w);
            for (s, node) in shapes.iter().enumerate() {
                let expected = !model(&u, node).is_empty();
                assert_eq!(
                    u.matches(node),
                    Ok(expected),
                    "case {case}, shape {s}: first {:?} last {:?} count {:?} hits {:?}",
                    w.first,
                    w.last,
                    w.count,
                    w.hits
                );
                outcomes[s][usize::from(expected)] += 1;
            }
        }
        for (s, o) in outcomes.iter().enumerate() {
            assert!(o[0] > 100 && o[1] > 100, "shape {s}: {o:?}");
        }
    }
}
