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
//! over twenty observations has millions of candidate combinations, and it
//! runs for minutes on many such patterns over a few dozen observations.
//! Here each shape is decided by an algorithm whose cost follows from the
//! algorithm, with N observations, m distinct timestamps among them, k
//! brackets and n copies:
//!
//! | Shape | Decided by | Cost |
//! |---|---|---|
//! | a *single* (a bracket, an OR of singles, a single under START/STOP, `WITHIN` or `REPEATS 1 TIMES`): every binding is one instance | the observations it matches, filtered | O(N) |
//! | `OR`, `START`/`STOP`, `WITHIN` around the whole of what remains | either side; a filter on observations; each window [w, w + d] with w a `last_observed` (a binding's own window starts at its L) | a factor m for `WITHIN` |
//! | `AND` and `REPEATS` over singles, nested in any way: each single needs some instances, with no order between them | a maximum flow from singles to observations (`supply_covers`) | O(k² N²) |
//! | `(A FOLLOWEDBY B) REPEATS n TIMES` (or n = 1), singles A and B matching any observations | Hall's condition over splitting times, as difference constraints (`pairs_possible`) | O(m³) |
//! | `(S1 FOLLOWEDBY S2 [FOLLOWEDBY S3]) REPEATS n TIMES`, the middle a single, the ends singles or ANDs of singles, over brackets that match different observations | earliest starts, latest ends, a greedy over the middle (`chain_possible`) | O((n + N) log N) |
//! | `U REPEATS n TIMES` where every binding of U holds one or two instances (e.g. `(([a] FOLLOWEDBY [b]) WITHIN 5 SECONDS) REPEATS n TIMES`) | maximum matching in a general graph, Edmonds' blossom algorithm (`maximum_matching`), on at most `MAX_MATCHING_VERTICES` instances | O(N² + V³) |
//! | anything else: longer chains, chains whose brackets overlap, WITHIN around three or more instances inside REPEATS, OR inside AND … | necessary conditions (counting, the two- and three-step checks above on every pair and triple), then a search: among the repeated unit's bindings listed once (at most `MAX_LISTED_BINDINGS`) for n disjoint ones, or depth first (`Search`) | exponential in the worst case: stops after [`MAX_SEARCH_STEPS`] (under half a second) with an error naming the sub-expression |
//!
//! The search tries observations earliest first, turns each FOLLOWEDBY's left
//! signature into a filter on its right side, builds the copies of a REPEATS
//! in a canonical order (so that the n! orders of the same copies are not all
//! tried) and remembers states between copies that led nowhere. A pattern
//! that matches is usually found at once; one that does not, near the number
//! of copies the observations allow, may need the whole search. Whether
//! these shapes have a polynomial algorithm is open here (packing disjoint
//! ordered triples resembles 3-dimensional matching, with the order as the
//! only structure).
//!
//! A `WITHIN` window that would end after year 9999 cannot be computed by the
//! reference (Python's `datetime`), which fails as soon as it checks one:
//! evaluation fails when a `WITHIN`'s expression has bindings and all their
//! windows would end so late, wherever the `WITHIN` stands (the reference
//! computes a first binding of every sub-expression); a window that would end
//! so late while others do not is taken as not satisfied.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::eval::{EvalError, ObsNode, Position};
use crate::observation::Observation;

/// The latest instant Python's `datetime` can hold.
const MAX_DATETIME_MICROS: i128 = 253_402_300_799_999_999;

/// How many candidates the search may look at before giving up: under half
/// a second of work in a release build (ten times that in a debug build).
pub const MAX_SEARCH_STEPS: u64 = 20_000_000;

/// How many instances one binding the search builds may hold. The search
/// recurses once per instance (and the listed packing once per copy): half
/// of what fits the 2 MiB stack of a test thread in a debug build, where
/// frames are largest (measured: about 450 for a chain of four).
pub const MAX_SEARCH_INSTANCES: u128 = 256;

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
        if let Some(at) = self.window_past_9999(node, &order, max_steps)? {
            return Err(EvalError(format!(
                "at {at}: the WITHIN window reaches beyond year 9999, which the reference matcher cannot compute"
            )));
        }
        Decider::new(self, &order, false, max_steps).exists(node, &Filter::all())
    }

    /// The position of a WITHIN that the reference cannot evaluate: its
    /// expression has a binding (over all observations: whatever surrounds
    /// the WITHIN filters its output, not its input, and the reference
    /// always computes a first binding of every sub-expression), and every
    /// binding's window, which starts at its earliest `last_observed`, ends
    /// after year 9999. (When only some windows do, those are taken as not
    /// satisfied; the reference fails or not depending on which binding it
    /// happens to try first.)
    fn window_past_9999(
        &self,
        node: &ObsNode,
        order: &SearchOrder,
        max_steps: u64,
    ) -> Result<Option<Position>, EvalError> {
        let mut candidates = Vec::new();
        node.visit(&mut |n| {
            if let ObsNode::Within(inner, d, at) = n {
                let mut earliest = None;
                inner.visit(&mut |m| {
                    if let ObsNode::Bracket(b) = m {
                        for &o in &self.hits[*b] {
                            earliest =
                                Some(earliest.map_or(self.last[o], |e: i64| e.min(self.last[o])));
                        }
                    }
                });
                if let Some(e) = earliest
                    && i128::from(e) + d > MAX_DATETIME_MICROS
                {
                    candidates.push((&**inner, *at));
                }
            }
        });
        let lenient = Decider::new(self, order, true, max_steps);
        for (inner, at) in candidates {
            if lenient.exists(inner, &Filter::all())? {
                return Ok(Some(at));
            }
        }
        Ok(None)
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
                Ok(false) => self.exists(b, f),
                // A search that gave up on one side: the other may still
                // match, and an answer beats giving up.
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

    /// `(S_1 FOLLOWEDBY … FOLLOWEDBY S_k) REPEATS n TIMES` (any grouping,
    /// REPEATS directly nested multiply, START/STOP filters) where each step
    /// S_i is a single, or, first or last, an AND of singles: the steps
    /// (each a list of singles' observations) and n.
    fn chain(&self, node: &ObsNode, f: &Filter) -> Option<(Vec<Vec<Vec<usize>>>, u128)> {
        match node {
            ObsNode::Repeats(inner, n, _) => {
                let (steps, m) = self.chain(inner, f)?;
                Some((steps, m.saturating_mul(u128::from(*n))))
            }
            ObsNode::StartStop(inner, start, stop, _) if start < stop => {
                self.chain(inner, &f.start_stop(*start, *stop))
            }
            ObsNode::FollowedBy(..) => {
                let mut steps = Vec::new();
                self.chain_steps(node, f, &mut steps)?;
                let last = steps.len() - 1;
                let inner_blocks = steps[1..last].iter().any(|s| s.len() > 1);
                (!inner_blocks).then_some((steps, 1))
            }
            _ => None,
        }
    }

    fn chain_steps(
        &self,
        node: &ObsNode,
        f: &Filter,
        out: &mut Vec<Vec<Vec<usize>>>,
    ) -> Option<()> {
        if let Some(observations) = self.single(node, f) {
            out.push(vec![observations]);
            return Some(());
        }
        match node {
            ObsNode::FollowedBy(a, b, _) => {
                self.chain_steps(a, f, out)?;
                self.chain_steps(b, f, out)
            }
            ObsNode::And(..) => {
                let mut block = Vec::new();
                self.and_of_singles(node, f, &mut block)?;
                out.push(block);
                Some(())
            }
            ObsNode::StartStop(inner, start, stop, _) if start < stop => {
                self.chain_steps(inner, &f.start_stop(*start, *stop), out)
            }
            _ => None,
        }
    }

    fn and_of_singles(&self, node: &ObsNode, f: &Filter, out: &mut Vec<Vec<usize>>) -> Option<()> {
        if let Some(observations) = self.single(node, f) {
            out.push(observations);
            return Some(());
        }
        match node {
            ObsNode::And(a, b, _) => {
                self.and_of_singles(a, f, out)?;
                self.and_of_singles(b, f, out)
            }
            ObsNode::StartStop(inner, start, stop, _) if start < stop => {
                self.and_of_singles(inner, &f.start_stop(*start, *stop), out)
            }
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
        if let Some((steps, n)) = self.chain(node, f) {
            if let Some(found) = chain_possible(self.u, &steps, n) {
                return Ok(found);
            }
            if !chain_projections_fit(self.u, &steps, n) {
                return Ok(false);
            }
        }
        if !self.counts_suffice(node, f) || !self.followedby_pairs_fit(node, f, 1) {
            return Ok(false);
        }
        if let Some((unit, n)) = small_unit_repeats(node)
            && let Some(found) = self.disjoint_small_bindings(unit, f, n)
        {
            return Ok(found);
        }
        let needed = most_instances(node);
        if needed > MAX_SEARCH_INSTANCES {
            return Err(EvalError(format!(
                "at {}: a binding of this {} holds up to {needed} observations, more than the {MAX_SEARCH_INSTANCES} Entente searches for; its shape is not one Entente decides without search (see the patterning README)",
                node.position(),
                node.kind()
            )));
        }
        if let Some((unit, n)) = repeated_unit(node)
            && let Some(found) = self.pack_listed(unit, f, n, node)?
        {
            return Ok(found);
        }
        let mut search = Search::new(self, node, false);
        search.each(node, f, &mut |_, _| Ok(true))
    }

    /// Whether `n` disjoint bindings of `unit`, whose bindings all hold one
    /// or two instances, exist: a maximum matching in the graph whose
    /// vertices are instances and whose edges are the bindings of two, each
    /// instance that is a binding on its own having an edge to a private
    /// extra vertex. `None` when that graph would have more than
    /// [`MAX_MATCHING_VERTICES`] vertices.
    fn disjoint_small_bindings(&self, unit: &ObsNode, f: &Filter, n: u128) -> Option<bool> {
        // Each binding once, as the observations it uses (the same one twice
        // when it uses two of its instances).
        let mut pairs = std::collections::HashSet::new();
        let mut alone = std::collections::HashSet::new();
        let mut search = Search::new(self, unit, true);
        let listed = search.each(unit, f, &mut |s, _| {
            match s.trail[..] {
                [a] => {
                    alone.insert(a);
                }
                [a, b] => {
                    pairs.insert((a.min(b), a.max(b)));
                }
                _ => {}
            }
            Ok(false)
        });
        if listed.is_err() {
            return None;
        }
        // An observation serves at most 2n instances to n bindings.
        let mut involved: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        involved.extend(&alone);
        involved.sort_unstable();
        involved.dedup();
        let mut first_vertex: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut vertices = 0usize;
        for &o in &involved {
            let copies = u128::from(self.u.count[o]).min(n.saturating_mul(2));
            let copies = usize::try_from(copies).unwrap_or(usize::MAX);
            // Instances that bind alone bring a partner each.
            let with_partners = if alone.contains(&o) {
                copies.saturating_mul(2)
            } else {
                copies
            };
            if with_partners > MAX_MATCHING_VERTICES - vertices.min(MAX_MATCHING_VERTICES) {
                return None;
            }
            first_vertex.insert(o, (vertices, copies));
            vertices += with_partners;
        }
        let mut adjacent = vec![Vec::new(); vertices];
        for o in &alone {
            let (v, copies) = first_vertex[o];
            for i in v..v + copies {
                adjacent[i].push(i + copies);
                adjacent[i + copies].push(i);
            }
        }
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

    /// Whether `n` disjoint bindings of `unit` exist, searched among its
    /// bindings listed once (as the observations each uses): the search then
    /// costs a step per binding tried instead of a search per copy, and it
    /// remembers failed states and stops early when the bindings that still
    /// fit cannot cover the instances the remaining copies need. `None` when
    /// `unit` has more than [`MAX_LISTED_BINDINGS`] bindings (or listing
    /// them takes more than [`MAX_SEARCH_STEPS`] steps).
    fn pack_listed(
        &self,
        unit: &ObsNode,
        f: &Filter,
        n: u128,
        blame: &ObsNode,
    ) -> Result<Option<bool>, EvalError> {
        let mut listed = std::collections::HashSet::new();
        let mut search = Search::new(self, unit, true);
        let complete = search.each(unit, f, &mut |s, _| {
            let mut b = s.trail.clone();
            b.sort_unstable();
            listed.insert(b);
            // Declining every binding lists them; an error gives up.
            if listed.len() > MAX_LISTED_BINDINGS {
                return Err(EvalError("too many bindings to list".into()));
            }
            Ok(false)
        });
        if complete.is_err() {
            return Ok(None);
        }
        let mut bindings: Vec<Vec<usize>> = listed.into_iter().collect();
        // Earliest first: the order the copies are tried in.
        bindings.sort_unstable_by_key(|b| {
            let mut ranks: Vec<u32> = b.iter().map(|&o| self.order.rank[o]).collect();
            ranks.sort_unstable();
            ranks
        });
        let Ok(left) = u64::try_from(n) else {
            return Ok(Some(false));
        };
        let mut packing = Packing {
            d: self,
            bindings: &bindings,
            remaining: self.u.count.clone(),
            taken: Vec::new(),
            failed: std::collections::HashSet::new(),
            blame,
        };
        packing.pack(0, left).map(Some)
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
    /// How many times a REPEATS was entered: identifies the entry (and so
    /// the continuation) a remembered failure belongs to.
    repeats_entered: u64,
    /// States between the copies of a REPEATS that had no way forward.
    failed: std::collections::HashSet<(u64, u64, u32, Vec<usize>)>,
    /// Whether every binding is wanted (the continuation declines each):
    /// then WITHIN checks signatures instead of trying windows, which would
    /// revisit the same candidates once per window, and steps count against
    /// a limit of their own, [`MAX_SEARCH_STEPS`], past which listing gives
    /// up (an error its callers take as "too many to list"), leaving the
    /// evaluation's own steps to the search that follows.
    listing: bool,
    listed_steps: u64,
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
            repeats_entered: 0,
            failed: std::collections::HashSet::new(),
            listing,
            listed_steps: 0,
        }
    }

    fn step(&mut self) -> Result<(), EvalError> {
        if self.listing {
            self.listed_steps += 1;
            if self.listed_steps > MAX_SEARCH_STEPS {
                return Err(EvalError("too many bindings to list".into()));
            }
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
            ObsNode::Repeats(inner, n, _) => {
                self.repeats_entered += 1;
                let entry = self.repeats_entered;
                self.copies(entry, inner, f, *n, None, None, next)
            }
        }
    }

    /// Binds `left` more copies of `inner` (for the `entry`-th time a REPEATS
    /// was entered), after copies whose joined signature is `done` and the
    /// last of which started at rank `previous`.
    #[allow(clippy::too_many_arguments)]
    fn copies(
        &mut self,
        entry: u64,
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
        // Between copies, what can still follow depends only on the
        // instances taken (which also fix `done`), the floor and the copies
        // to go: different orders of the same copies reach the same state,
        // and a state that failed fails again.
        let state = match previous {
            Some(p) if self.failed.len() < MAX_REMEMBERED_FAILURES => {
                let mut taken = self.trail.clone();
                taken.sort_unstable();
                Some((entry, left, p, taken))
            }
            _ => None,
        };
        if state.as_ref().is_some_and(|k| self.failed.contains(k)) {
            return Ok(false);
        }
        // Enough instances left for the copies to go, ignoring time? (Each
        // check is a small flow; without it, a search near the number of
        // copies the observations allow would try every order of failure.)
        if previous.is_some() && !self.listing {
            let mut demands = Vec::new();
            self.d
                .relaxed_demands(inner, f, u128::from(left), &mut demands);
            if !supply_covers_with(&self.remaining, &demands) {
                if let Some(k) = state {
                    self.failed.insert(k);
                }
                return Ok(false);
            }
        }
        // The first copy keeps whatever floor an enclosing copy set: its
        // first observation is also the enclosing copy's first.
        let saved = self.floor;
        if previous.is_some() {
            self.floor = previous;
        }
        let found = self.each(inner, f, &mut |s, sig| {
            let joined = done.map_or(sig, |d| d.join(sig));
            s.copies(
                entry,
                inner,
                f,
                left - 1,
                Some(joined),
                Some(sig.lead),
                next,
            )
        });
        self.floor = saved;
        if let (Ok(false), Some(k)) = (&found, state) {
            self.failed.insert(k);
        }
        found
    }
}

/// How many failed states a search remembers (each holds the instances
/// taken, tens of words): enough to spare most repeated work, bounded so
/// that memory is.
const MAX_REMEMBERED_FAILURES: usize = 200_000;

/// The largest graph [`Decider::disjoint_small_bindings`] matches in: the
/// matching is cubic in it.
const MAX_MATCHING_VERTICES: usize = 2000;

/// `unit REPEATS n TIMES` (REPEATS directly nested multiply) where every
/// binding of `unit` holds one or two instances.
fn small_unit_repeats(node: &ObsNode) -> Option<(&ObsNode, u128)> {
    let ObsNode::Repeats(inner, n, _) = node else {
        return None;
    };
    if let Some((unit, m)) = small_unit_repeats(inner) {
        return Some((unit, m.saturating_mul(u128::from(*n))));
    }
    (most_instances(inner) <= 2).then_some((&**inner, u128::from(*n)))
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

/// The most bindings of a repeated unit [`Decider::pack_listed`] lists.
const MAX_LISTED_BINDINGS: usize = 50_000;

/// `unit REPEATS n TIMES` (REPEATS directly nested multiply).
fn repeated_unit(node: &ObsNode) -> Option<(&ObsNode, u128)> {
    let ObsNode::Repeats(inner, n, _) = node else {
        return None;
    };
    Some(match repeated_unit(inner) {
        Some((unit, m)) => (unit, m.saturating_mul(u128::from(*n))),
        None => (&**inner, u128::from(*n)),
    })
}

/// Picking disjoint bindings from a list (see [`Decider::pack_listed`]).
struct Packing<'p, 'u, 'a> {
    d: &'p Decider<'u, 'a>,
    bindings: &'p [Vec<usize>],
    remaining: Vec<u64>,
    taken: Vec<usize>,
    /// (first binding still allowed, copies to go, bindings taken, sorted)
    /// of states that could not be completed.
    failed: std::collections::HashSet<(usize, u64, Vec<usize>)>,
    blame: &'p ObsNode,
}

impl Packing<'_, '_, '_> {
    fn fits(&self, b: &[usize]) -> bool {
        // Sorted: count each observation's uses.
        let mut i = 0;
        while i < b.len() {
            let mut j = i;
            while j < b.len() && b[j] == b[i] {
                j += 1;
            }
            if self.remaining[b[i]] < (j - i) as u64 {
                return false;
            }
            i = j;
        }
        true
    }

    /// Whether `left` more disjoint bindings can be taken from
    /// `bindings[from..]` (a binding may be taken again while instances
    /// last, so copies come in nondecreasing list order: each set of copies
    /// is tried once).
    fn pack(&mut self, from: usize, left: u64) -> Result<bool, EvalError> {
        if left == 0 {
            return Ok(true);
        }
        let mut state_taken = self.taken.clone();
        state_taken.sort_unstable();
        let state = (from, left, state_taken);
        if self.failed.contains(&state) {
            return Ok(false);
        }
        // The bindings that still fit must hold enough free instances for
        // the copies to go.
        let mut smallest = usize::MAX;
        let mut covered = std::collections::HashSet::new();
        for b in &self.bindings[from..] {
            self.d.step(self.blame)?;
            if self.fits(b) {
                smallest = smallest.min(b.len());
                covered.extend(b.iter().copied());
            }
        }
        let free: u128 = covered.iter().map(|&o| u128::from(self.remaining[o])).sum();
        if smallest == usize::MAX || free < u128::from(left) * smallest as u128 {
            self.remember(state);
            return Ok(false);
        }
        for i in from..self.bindings.len() {
            self.d.step(self.blame)?;
            let b = &self.bindings[i];
            if !self.fits(b) {
                continue;
            }
            for &o in b {
                self.remaining[o] -= 1;
            }
            self.taken.push(i);
            let found = self.pack(i, left - 1);
            self.taken.pop();
            for &o in b {
                self.remaining[o] += 1;
            }
            if found? {
                return Ok(true);
            }
        }
        self.remember(state);
        Ok(false)
    }

    fn remember(&mut self, state: (usize, u64, Vec<usize>)) {
        if self.failed.len() < MAX_REMEMBERED_FAILURES {
            self.failed.insert(state);
        }
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
    supply_covers_with(&u.count, demands)
}

/// [`supply_covers`] with `count[o]` instances of each observation.
fn supply_covers_with(count: &[u64], demands: &[Demand]) -> bool {
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
    let capacity = |obs: &[usize]| -> u128 { obs.iter().map(|&o| u128::from(count[o])).sum() };
    let total: u128 = index.keys().map(|&o| u128::from(count[o])).sum();
    if total < needed
        || demands
            .iter()
            .any(|d| capacity(&d.observations) < d.instances)
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
        net.add_edge(first_observation + i, sink, u128::from(count[o]));
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

/// The most copies [`chain_possible`] tracks one by one.
const MAX_CHAIN_COPIES: u128 = 100_000;

/// Whether `n` disjoint copies of a FOLLOWEDBY chain of two or three steps
/// exist (the first and last steps may be ANDs of singles, a middle step is
/// a single) when no observation can serve two of its singles and every
/// observation has first <= last; `None` for other chains.
///
/// First-step instances only ever need a small `first` and last-step ones a
/// large `last`, and no other step can use them: so the first step takes,
/// for each of its singles, the n earliest firsts, a copy's *start* a_i being
/// the latest of its singles' (pairing the singles' sorted lists keeps every
/// sorted start least), and the last step the n latest lasts, the *end* c_i
/// the earliest (kept greatest likewise). Pairing starts and ends sorted is
/// best too: a crossed pair [a1, c2], [a2, c1] leaves windows that meet the
/// sorted pairs. A copy then holds iff a_i <= c_i and its middle observation
/// y has first(y) <= c_i and last(y) >= a_i, the window [a_i, c_i] meeting
/// y's; with starts and ends ascending together, giving each copy in turn the
/// eligible y that ends first is optimal (any other choice can be exchanged
/// for it). O(n log N + N log N).
fn chain_possible(u: &Universe<'_>, steps: &[Vec<Vec<usize>>], n: u128) -> Option<bool> {
    if !(2..=3).contains(&steps.len()) || (steps.len() == 3 && steps[1].len() != 1) {
        return None;
    }
    let mut owner = HashMap::new();
    for (i, single) in steps.iter().flatten().enumerate() {
        for &o in single {
            if u.first[o] > u.last[o] || owner.insert(o, i).is_some_and(|j| j != i) {
                return None;
            }
        }
    }
    if n > MAX_CHAIN_COPIES {
        return None;
    }
    let copies = usize::try_from(n).ok()?;
    if steps.iter().flatten().any(|single| u.capacity(single) < n) {
        return Some(false);
    }
    // The n earliest firsts (or latest lasts) of a single, ascending.
    let extreme = |single: &[usize], latest: bool| -> Vec<i64> {
        let mut instances: Vec<(i64, u64)> = single
            .iter()
            .map(|&o| (if latest { u.last[o] } else { u.first[o] }, u.count[o]))
            .collect();
        instances.sort_unstable();
        if latest {
            instances.reverse();
        }
        let mut out = Vec::with_capacity(copies);
        for (t, c) in instances {
            let take = (copies - out.len()).min(usize::try_from(c).unwrap_or(usize::MAX));
            out.extend(std::iter::repeat_n(t, take));
            if out.len() == copies {
                break;
            }
        }
        out.sort_unstable();
        out
    };
    let combine = |step: &[Vec<usize>], latest: bool| -> Vec<i64> {
        let mut acc: Option<Vec<i64>> = None;
        for single in step {
            let v = extreme(single, latest);
            acc = Some(match acc {
                None => v,
                Some(a) => a
                    .iter()
                    .zip(&v)
                    .map(|(x, y)| if latest { *x.min(y) } else { *x.max(y) })
                    .collect(),
            });
        }
        acc.unwrap_or_default()
    };
    let starts = combine(&steps[0], false);
    let ends = combine(&steps[steps.len() - 1], true);
    if starts.iter().zip(&ends).any(|(a, c)| a > c) {
        return Some(false);
    }
    let [_, middle, _] = steps else {
        return Some(true);
    };
    // Middle observations by first; those that have opened, by last.
    let mut by_first: Vec<(i64, i64, u64)> = middle[0]
        .iter()
        .map(|&o| (u.first[o], u.last[o], u.count[o]))
        .collect();
    by_first.sort_unstable();
    let mut open: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
    let mut opened = 0;
    for (&a, &c) in starts.iter().zip(&ends) {
        while opened < by_first.len() && by_first[opened].0 <= c {
            *open.entry(by_first[opened].1).or_insert(0) += by_first[opened].2;
            opened += 1;
        }
        let Some((&last, left)) = open.range_mut(a..).next() else {
            return Some(false);
        };
        *left -= 1;
        if *left == 0 {
            open.remove(&last);
        }
    }
    Some(true)
}

/// A necessary condition for a longer chain: every three of its steps
/// (the middle one a single of its step) form a chain that must fit n times,
/// decided by [`chain_possible`] where it applies.
fn chain_projections_fit(u: &Universe<'_>, steps: &[Vec<Vec<usize>>], n: u128) -> bool {
    let k = steps.len();
    for i in 0..k {
        for l in i + 2..k {
            for middle in steps[i + 1..l].iter().flatten() {
                // A step inside the triple's ends must be a single there.
                let end = |s: usize| -> Vec<Vec<usize>> {
                    if s == 0 || s == k - 1 {
                        steps[s].clone()
                    } else {
                        steps[s].iter().take(1).cloned().collect()
                    }
                };
                let triple = [end(i), vec![middle.clone()], end(l)];
                if chain_possible(u, &triple, n) == Some(false) {
                    return false;
                }
            }
        }
    }
    true
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

    fn compiled(pattern: &str) -> crate::eval::CompiledPattern {
        let parsed = crate::parse(pattern).expect("a pattern");
        crate::eval::CompiledPattern::new(&parsed, crate::StixVersion::V21).expect("compiles")
    }

    /// A search that runs out of steps, or would build too large a binding,
    /// says which sub-expression at which position, and why.
    #[test]
    fn a_search_that_gives_up_says_where_and_why() {
        let pattern = "[x:a = 1] AND ([x:a = 1] FOLLOWEDBY [x:a = 1] FOLLOWEDBY [x:a = 1] FOLLOWEDBY [x:a = 1]) REPEATS 3 TIMES";
        let c = compiled(pattern);
        let n = 30;
        let hits = vec![(0..n).collect::<Vec<usize>>(); c.brackets.len()];
        let times: Vec<i64> = (0..n as i64).collect();
        let u = Universe::from_parts(times.clone(), times, vec![1; n], &hits);
        assert_eq!(u.matches(&c.tree), Ok(true));
        let Err(EvalError(message)) = u.matches_with(&c.tree, 5) else {
            panic!("five steps cannot be enough");
        };
        assert!(
            message.starts_with("at column 1: deciding whether 30 observations can be bound to this AND took more than 5 search steps"),
            "{message}"
        );

        let pattern = "([x:a = 1] FOLLOWEDBY [x:a = 1] FOLLOWEDBY [x:a = 1] FOLLOWEDBY [x:a = 1]) REPEATS 100 TIMES";
        let c = compiled(pattern);
        let n = 1000;
        let hits = vec![(0..n).collect::<Vec<usize>>(); c.brackets.len()];
        let times: Vec<i64> = (0..n as i64).collect();
        let u = Universe::from_parts(times.clone(), times, vec![1; n], &hits);
        let Err(EvalError(message)) = u.matches(&c.tree) else {
            panic!("400 observations per binding are more than the search takes");
        };
        let column = pattern.find("REPEATS").expect("REPEATS") + 1;
        assert!(
            message.starts_with(&format!(
                "at column {column}: a binding of this REPEATS holds up to 400 observations"
            )),
            "{message}"
        );
    }

    /// The search recurses once per instance: a binding of the most it
    /// builds fits the stack of a test thread. (A chain of four over the same
    /// observations goes to the depth-first search, and matches.)
    #[test]
    fn the_deepest_search_fits_a_small_stack() {
        let pattern = "([x:a = 1] FOLLOWEDBY [x:a = 1] FOLLOWEDBY [x:a = 1] FOLLOWEDBY [x:a = 1]) REPEATS 64 TIMES";
        let c = compiled(pattern);
        let n = 700;
        let hits = vec![(0..n).collect::<Vec<usize>>(); c.brackets.len()];
        let times: Vec<i64> = (0..n as i64).collect();
        assert_eq!(most_instances(&c.tree), MAX_SEARCH_INSTANCES);
        let found = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let u = Universe::from_parts(times.clone(), times, vec![1; n], &hits);
                u.matches(&c.tree)
            })
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert_eq!(found, Ok(true));
    }

    /// FOLLOWEDBY chains of two or three steps whose brackets match disjoint
    /// observations ([`chain_possible`]), against the model.
    #[test]
    fn chains_over_disjoint_observations_agree_with_the_model() {
        let at = Position::default();
        let b = |i| Box::new(ObsNode::Bracket(i));
        let fb = |x, y| Box::new(ObsNode::FollowedBy(x, y, at));
        let and = |x, y| Box::new(ObsNode::And(x, y, at));
        let units: Vec<Box<ObsNode>> = vec![
            fb(fb(b(0), b(1)), b(2)),
            fb(b(0), fb(b(1), b(2))),
            fb(and(b(0), b(1)), b(2)),
            fb(b(0), and(b(1), b(2))),
            fb(fb(b(0), b(1)), and(b(2), b(3))),
            fb(and(b(0), b(1)), and(b(2), b(3))),
            fb(fb(and(b(3), b(1)), b(0)), b(2)),
        ];
        let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
        let mut outcomes = [0usize; 2];
        for case in 0..3000 {
            // Windows of varied lengths: a long one taken too early by one
            // copy can starve a later copy, which a greedy must not do.
            let observations = 6 + rng.below(4) as usize;
            let first: Vec<i64> = (0..observations).map(|_| rng.below(6) as i64).collect();
            let last: Vec<i64> = first
                .iter()
                .map(|&f| f + rng.below(2) as i64 * rng.below(7) as i64)
                .collect();
            let count: Vec<u64> = (0..observations)
                .map(|_| 1 + rng.below(2) * rng.below(3))
                .collect();
            // Each observation matches one bracket, or none.
            let mut hits = vec![Vec::new(); 4];
            for o in 0..observations {
                let owner = rng.below(9) as usize;
                if owner < 8 {
                    hits[owner / 2].push(o);
                }
            }
            let u = Universe::from_parts(first.clone(), last.clone(), count.clone(), &hits);
            let order = SearchOrder::new(&u);
            let d = Decider::new(&u, &order, false, MAX_SEARCH_STEPS);
            for (shape, unit) in units.iter().enumerate() {
                let node = ObsNode::Repeats(unit.clone(), 1 + rng.below(2) * rng.below(3), at);
                let expected = !model(&u, &node).is_empty();
                let (steps, n) = d.chain(&node, &Filter::all()).expect("a chain");
                assert_eq!(
                    chain_possible(&u, &steps, n),
                    Some(expected),
                    "case {case}, shape {shape}, {node:?}: first {first:?} last {last:?} count {count:?} hits {hits:?}"
                );
                assert_eq!(u.matches(&node), Ok(expected));
                outcomes[usize::from(expected)] += 1;
            }
        }
        assert!(outcomes[0] > 4000 && outcomes[1] > 4000, "{outcomes:?}");
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
            ObsNode::Repeats(
                Box::new(ObsNode::Or(
                    b(0),
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
        ];
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut outcomes = [[0usize; 2]; 8];
        for case in 0..1500 {
            let n = 4 + rng.below(2) as usize;
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
            assert!(o[0] > 60 && o[1] > 60, "shape {s}: {o:?}");
        }
    }
}
