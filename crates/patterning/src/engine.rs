//! A compiled matcher over many indicators, for streams of observations.
//!
//! Every bracketed expression of every pattern is reduced to *triggers*, a
//! condition it cannot match without:
//!
//! - an exact value at a path (`=`, `IN` of strings) → one hash table;
//! - an address inside a network (`ISSUBSET`) → a binary prefix trie per path,
//!   which yields every covering network, not only the longest;
//! - a substring every match must contain (`LIKE`, `MATCHES`, from the
//!   expression's literal prefixes or suffixes) → one Aho-Corasick automaton
//!   per path; expressions without a usable literal are run on every value of
//!   their path.
//!
//! `AND` needs one of its sides' triggers, `OR` both sides'. A bracket with
//! no trigger (e.g. `!=`, `>`) is evaluated on every observation holding an
//! object of its type. Only candidates are evaluated in full, with the same
//! code and semantics as [`crate::evaluate`].
//!
//! Patterns that need several observations (`AND`, `FOLLOWEDBY`, `REPEATS`
//! across brackets) keep, per pattern, the observations that matched one of
//! their brackets: at most [`EngineOptions::max_retained`], fewer when a
//! top-level `WITHIN` makes older ones useless. When such a pattern matches,
//! its retained observations are reported and forgotten.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::AhoCorasick;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::ast::{ComparisonExpr, LiteralValue, Operator, PathStep, Pattern};
use crate::binding::Universe;
use crate::compare::{IpNet, parse_net};
use crate::eval::{CompiledBracket, CompiledPattern, EvalError, ObsNode, SDO_TYPES_V21, select};
use crate::observation::Observation;
use crate::parser::ParseError;
use crate::{Rules, StixVersion};

/// Limits of the streaming state.
#[derive(Clone, Copy, Debug)]
pub struct EngineOptions {
    /// Observations kept per multi-observation pattern.
    pub max_retained: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { max_retained: 64 }
    }
}

/// Why an indicator's pattern was not compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ParseError>),
    #[error("{0}")]
    Unusable(String),
}

/// One pattern matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The key the pattern was added with.
    pub key: usize,
    /// Sequence numbers of the observations involved, oldest first.
    pub observations: Vec<u64>,
}

/// What matching one observation produced.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub matches: Vec<Match>,
    /// Patterns whose evaluation failed on this observation (e.g. a value
    /// that is not a timestamp compared with a timestamp literal): key and
    /// reason. The observation does not match them.
    pub errors: Vec<(usize, EvalError)>,
}

/// Builds an [`Engine`].
#[derive(Default)]
pub struct EngineBuilder {
    options: EngineOptions,
    patterns: Vec<CompiledIndicator>,
    brackets: Vec<BracketInfo>,
    paths: PathTable,
    exact: HashMap<u64, Vec<u32>, Fx>,
    cidr: HashMap<u32, Trie>,
    texts: HashMap<u32, TextIndexBuilder>,
    by_type: HashMap<String, Vec<u32>>,
}

struct CompiledIndicator {
    key: usize,
    tree: ObsNode,
    /// Global bracket ids, in the pattern's order.
    brackets: Vec<u32>,
    stateful: bool,
    /// A WITHIN around the whole pattern ([`horizon`]): retained
    /// observations older than this can go.
    horizon: Option<i128>,
}

struct BracketInfo {
    compiled: CompiledBracket,
    pattern: u32,
    local: u16,
}

#[derive(Default)]
struct PathTable {
    ids: HashMap<(String, Vec<PathStep>), u32>,
    /// Per object type: the paths to read from objects of that type.
    by_type: HashMap<String, Vec<u32>>,
    steps: Vec<Vec<PathStep>>,
    /// How each path is read, decided once.
    plans: Vec<PathPlan>,
}

/// Paths of one or two plain keys (no reference, no decoding) are read
/// directly; others through the evaluator's selection.
enum PathPlan {
    One(Box<str>),
    Two(Box<str>, Box<str>),
    General,
}

impl PathTable {
    fn intern(&mut self, object_type: &str, steps: &[PathStep]) -> u32 {
        let key = (object_type.to_owned(), steps.to_vec());
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = self.steps.len() as u32;
        self.plans.push(match steps {
            [PathStep::Key(k)] if plain_key(k) => PathPlan::One(k.as_str().into()),
            [PathStep::Key(a), PathStep::Key(b)] if plain_key(a) && plain_key(b) => {
                PathPlan::Two(a.as_str().into(), b.as_str().into())
            }
            _ => PathPlan::General,
        });
        self.steps.push(steps.to_vec());
        self.ids.insert(key, id);
        self.by_type
            .entry(object_type.to_owned())
            .or_default()
            .push(id);
        id
    }
}

#[derive(Default)]
struct TextIndexBuilder {
    literals: Vec<String>,
    literal_brackets: Vec<u32>,
    unfiltered: Vec<u32>,
    prefixes: Vec<String>,
    prefix_brackets: Vec<u32>,
}

struct TextIndex {
    automaton: Option<AhoCorasick>,
    literal_brackets: Vec<u32>,
    unfiltered: Vec<u32>,
    /// Literals every value must start with (anchored expressions), as an
    /// anchored automaton: the walk stops where no literal can continue.
    prefixes: Option<aho_corasick::nfa::contiguous::NFA>,
    prefix_brackets: Vec<u32>,
}

/// What a bracket cannot match without.
enum Trigger {
    /// The value starts with one of the literals.
    Prefix {
        path: u32,
        literals: Vec<String>,
    },
    Exact {
        key: u64,
    },
    Cidr {
        path: u32,
        net: IpNet,
    },
    Text {
        path: u32,
        literals: Option<Vec<String>>,
    },
}

impl EngineBuilder {
    pub fn new(options: EngineOptions) -> EngineBuilder {
        EngineBuilder {
            options,
            ..Default::default()
        }
    }

    /// Adds a STIX 2.1 pattern under `key`. Patterns are checked as the OASIS
    /// matcher needs them ([`Rules::reference`], with operand formats):
    /// custom object types and properties are fine, and so are qualifier
    /// chains such as `[a] REPEATS 2 TIMES REPEATS 3 TIMES`, which the matcher
    /// evaluates although STIX 2.1 indicators may not carry them.
    pub fn add(&mut self, key: usize, text: &str) -> Result<(), CompileError> {
        let rules = Rules {
            operand_formats: true,
            ..Rules::reference(StixVersion::V21)
        };
        let pattern = crate::parse_and_validate(text, &rules).map_err(CompileError::Invalid)?;
        self.add_parsed(key, &pattern)
    }

    pub fn add_parsed(&mut self, key: usize, pattern: &Pattern) -> Result<(), CompileError> {
        let compiled = CompiledPattern::new(pattern, StixVersion::V21)
            .map_err(|e| CompileError::Unusable(e.0))?;
        let pattern_id = self.patterns.len() as u32;
        let expressions = pattern.brackets();
        let mut ids = Vec::with_capacity(compiled.brackets.len());
        let stateful = needs_state(&compiled.tree);
        let horizon = horizon(&compiled.tree);
        for (local, (bracket, expr)) in compiled.brackets.into_iter().zip(expressions).enumerate() {
            let id = self.brackets.len() as u32;
            match triggers(expr, &mut self.paths) {
                Some(list) => {
                    for t in list {
                        self.index(id, t);
                    }
                }
                None => {
                    for ty in root_types(expr) {
                        if !SDO_TYPES_V21.contains(&ty.as_str()) {
                            self.by_type.entry(ty).or_default().push(id);
                        }
                    }
                }
            }
            self.brackets.push(BracketInfo {
                compiled: bracket,
                pattern: pattern_id,
                local: local as u16,
            });
            ids.push(id);
        }
        self.patterns.push(CompiledIndicator {
            key,
            tree: compiled.tree,
            brackets: ids,
            stateful,
            horizon,
        });
        Ok(())
    }

    fn index(&mut self, bracket: u32, trigger: Trigger) {
        match trigger {
            Trigger::Exact { key, .. } => self.exact.entry(key).or_default().push(bracket),
            Trigger::Cidr { path, net } => self.cidr.entry(path).or_default().insert(net, bracket),
            Trigger::Prefix { path, literals } => {
                let t = self.texts.entry(path).or_default();
                for l in literals {
                    t.prefixes.push(l);
                    t.prefix_brackets.push(bracket);
                }
            }
            Trigger::Text { path, literals } => {
                let t = self.texts.entry(path).or_default();
                match literals {
                    Some(lits) => {
                        for l in lits {
                            t.literals.push(l);
                            t.literal_brackets.push(bracket);
                        }
                    }
                    None => t.unfiltered.push(bracket),
                }
            }
        }
    }

    /// Number of patterns added.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn build(self) -> Engine {
        let path_count = self.paths.steps.len();
        let mut text_vec: Vec<Option<TextIndex>> = (0..path_count).map(|_| None).collect();
        let mut cidr_vec: Vec<Option<Trie>> = (0..path_count).map(|_| None).collect();
        for (path, mut trie) in self.cidr {
            trie.freeze();
            cidr_vec[path as usize] = Some(trie);
        }
        let mut exact = ExactTable::with_capacity(self.exact.len());
        let mut exact_lists = Vec::new();
        for (key, mut list) in self.exact {
            list.sort_unstable();
            list.dedup();
            if list.len() == 1 {
                exact.insert(key, list[0]);
            } else {
                exact.insert(key, EXACT_LIST | exact_lists.len() as u32);
                exact_lists.push(list);
            }
        }
        let texts = self
            .texts
            .into_iter()
            .map(|(path, t)| {
                let automaton = if t.literals.is_empty() {
                    None
                } else {
                    AhoCorasick::builder()
                        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                        .build(&t.literals)
                        .or_else(|_| AhoCorasick::new(&t.literals))
                        .ok()
                };
                // Without an automaton every such bracket must run on every value.
                let (literal_brackets, mut unfiltered) = match automaton {
                    Some(_) => (t.literal_brackets, t.unfiltered),
                    None => (Vec::new(), t.unfiltered),
                };
                if automaton.is_none() {
                    unfiltered.extend(literal_brackets.iter().copied());
                }
                let prefixes = if t.prefixes.is_empty() {
                    None
                } else {
                    aho_corasick::nfa::contiguous::NFA::builder()
                        .build(&t.prefixes)
                        .ok()
                };
                let mut prefix_brackets = t.prefix_brackets;
                if prefixes.is_none() {
                    unfiltered.append(&mut prefix_brackets);
                }
                (
                    path,
                    TextIndex {
                        automaton,
                        literal_brackets,
                        unfiltered,
                        prefixes,
                        prefix_brackets,
                    },
                )
            })
            .collect::<Vec<_>>();
        for (path, t) in texts {
            text_vec[path as usize] = Some(t);
        }
        let n = self.brackets.len();
        let state = (0..self.patterns.len()).map(|_| VecDeque::new()).collect();
        let mut types: HashMap<Box<str>, TypeEntry, Fx> = HashMap::default();
        for (ty, paths) in &self.paths.by_type {
            types.entry(ty.as_str().into()).or_default().paths = paths.clone();
        }
        for (ty, always) in self.by_type {
            types.entry(ty.into()).or_default().always = always;
        }
        let types = TypeTable::new(types);
        Engine {
            options: self.options,
            patterns: self.patterns,
            brackets: self.brackets,
            paths: self.paths,
            exact,
            exact_lists,
            cidr: cidr_vec,
            texts: text_vec,
            types,
            state,
            seen: vec![0; n],
            generation: 0,
            candidates: Vec::new(),
            found: Vec::new(),
            bracket_hits: Vec::new(),
        }
    }
}

/// Whether deciding the pattern can need more than one observation.
fn needs_state(node: &ObsNode) -> bool {
    match node {
        ObsNode::Bracket(_) => false,
        ObsNode::Or(a, b, _) => needs_state(a) || needs_state(b),
        ObsNode::Within(inner, ..) | ObsNode::StartStop(inner, ..) => needs_state(inner),
        ObsNode::Repeats(inner, n, _) => *n > 1 || needs_state(inner),
        ObsNode::And(..) | ObsNode::FollowedBy(..) => true,
    }
}

/// How far apart in time the observations of one binding can be, when a
/// WITHIN around the whole pattern bounds it: through qualifiers that only
/// filter or repeat once (`START`/`STOP`, `REPEATS 1 TIMES`) and nested
/// WITHINs (the narrowest wins), as chains such as `… WITHIN 60 SECONDS START
/// t'…' STOP t'…'` put them; `None` when nothing bounds it.
fn horizon(node: &ObsNode) -> Option<i128> {
    match node {
        ObsNode::Within(inner, d, _) => Some(horizon(inner).map_or(*d, |h| h.min(*d))),
        ObsNode::StartStop(inner, ..) | ObsNode::Repeats(inner, 1, _) => horizon(inner),
        _ => None,
    }
}

fn root_types(expr: &ComparisonExpr) -> Vec<String> {
    let mut out = Vec::new();
    expr.visit_tests(&mut |c| {
        if !out.contains(&c.path.object_type) {
            out.push(c.path.object_type.clone());
        }
    });
    out
}

/// The triggers of a comparison expression, or `None` when it has none.
fn triggers(expr: &ComparisonExpr, paths: &mut PathTable) -> Option<Vec<Trigger>> {
    match expr {
        ComparisonExpr::Or(a, b) => {
            let mut x = triggers(a, paths)?;
            x.extend(triggers(b, paths)?);
            Some(x)
        }
        ComparisonExpr::And(a, b) => match (triggers(a, paths), triggers(b, paths)) {
            (Some(x), Some(y)) => Some(if cost(&y) < cost(&x) { y } else { x }),
            (x, y) => x.or(y),
        },
        ComparisonExpr::Test(c) => {
            if c.negated || SDO_TYPES_V21.contains(&c.path.object_type.as_str()) {
                return None;
            }
            let last_key = c.path.steps.iter().rev().find_map(|s| match s {
                PathStep::Key(k) => Some(k.as_str()),
                _ => None,
            });
            if last_key.is_some_and(|k| k.ends_with("_hex") || k.ends_with("_bin")) {
                return None;
            }
            let mut path = || paths_intern(paths, &c.path.object_type, &c.path.steps);
            match &c.op {
                Operator::Equal(l) => exact_key(&l.value).map(|k| {
                    let path = path();
                    vec![Trigger::Exact {
                        key: exact_hash(path, k),
                    }]
                }),
                Operator::In(items)
                    if !items.is_empty()
                        && items
                            .iter()
                            .all(|l| matches!(l.value, LiteralValue::Str(_))) =>
                {
                    let path = path();
                    Some(
                        items
                            .iter()
                            .filter_map(|l| exact_key(&l.value))
                            .map(|k| Trigger::Exact {
                                key: exact_hash(path, k),
                            })
                            .collect(),
                    )
                }
                Operator::IsSubset(s) => {
                    let net = parse_net(&s.value, true).ok()?;
                    Some(vec![Trigger::Cidr { path: path(), net }])
                }
                Operator::Like(s) => {
                    let like: String = s.value.nfc().collect();
                    let path = path();
                    Some(vec![match like_prefix(&like) {
                        Some(prefix) => Trigger::Prefix {
                            path,
                            literals: vec![prefix],
                        },
                        None => Trigger::Text {
                            path,
                            literals: like_literal(&like).map(|l| vec![l]),
                        },
                    }])
                }
                Operator::Matches(s) => {
                    let normalized: String = s.value.nfc().collect();
                    let re = crate::pyregex::PyRegex::new(&normalized).ok()?;
                    let path = path();
                    Some(vec![match regex_prefixes(&re.text_source) {
                        Some(literals) => Trigger::Prefix { path, literals },
                        None => Trigger::Text {
                            path,
                            literals: regex_literals(&re.text_source),
                        },
                    }])
                }
                _ => None,
            }
        }
    }
}

fn paths_intern(paths: &mut PathTable, ty: &str, steps: &[PathStep]) -> u32 {
    paths.intern(ty, steps)
}

fn cost(t: &[Trigger]) -> usize {
    t.iter()
        .map(|t| match t {
            Trigger::Exact { .. } => 1,
            Trigger::Cidr { .. } => 4,
            Trigger::Prefix { .. } => 2,
            Trigger::Text {
                literals: Some(_), ..
            } => 16,
            Trigger::Text { literals: None, .. } => 1000,
        })
        .sum()
}

/// A canonical key for exact comparison, shared by literals and values:
/// numbers compare across integer and float, strings by content.
enum ExactKey<'a> {
    Str(&'a str),
    Int(i128),
    Float(u64),
    Bool(bool),
}

fn exact_key(l: &LiteralValue) -> Option<ExactKey<'_>> {
    match l {
        LiteralValue::Str(s) => Some(ExactKey::Str(s)),
        LiteralValue::Int(i) => Some(ExactKey::Int(*i)),
        LiteralValue::Float(f) => Some(float_key(*f)),
        LiteralValue::Bool(b) => Some(ExactKey::Bool(*b)),
        _ => None,
    }
}

fn float_key<'a>(f: f64) -> ExactKey<'a> {
    if f.fract() == 0.0 && f.abs() < 1e30 {
        ExactKey::Int(f as i128)
    } else {
        ExactKey::Float(f.to_bits())
    }
}

fn value_key(v: &Value) -> Option<ExactKey<'_>> {
    match v {
        Value::String(s) => Some(ExactKey::Str(s)),
        Value::Bool(b) => Some(ExactKey::Bool(*b)),
        Value::Number(n) => Some(match crate::compare::json_number(n) {
            crate::compare::Number::Int(i) => ExactKey::Int(i),
            crate::compare::Number::Float(f) => float_key(f),
        }),
        _ => None,
    }
}

fn exact_hash(path: u32, key: ExactKey<'_>) -> u64 {
    let mut h = FxHasher::default();
    h.write_u32(path);
    match key {
        ExactKey::Str(s) => {
            h.write_u8(1);
            h.write(s.as_bytes());
        }
        ExactKey::Int(i) => {
            h.write_u8(2);
            h.write(&i.to_le_bytes());
        }
        ExactKey::Float(f) => {
            h.write_u8(3);
            h.write_u64(f);
        }
        ExactKey::Bool(b) => {
            h.write_u8(4);
            h.write_u8(b as u8);
        }
    }
    h.finish()
}

/// Every literal of `automaton` that `value` starts with (an anchored walk).
fn prefix_walk(
    automaton: &aho_corasick::nfa::contiguous::NFA,
    value: &[u8],
    brackets: &[u32],
    found: &mut Vec<u32>,
) {
    use aho_corasick::Anchored;
    use aho_corasick::automaton::Automaton;
    let Ok(mut state) = automaton.start_state(Anchored::Yes) else {
        return;
    };
    for &b in value {
        state = automaton.next_state(Anchored::Yes, state, b);
        if automaton.is_dead(state) {
            return;
        }
        if automaton.is_match(state) {
            for i in 0..automaton.match_len(state) {
                found.push(brackets[automaton.match_pattern(state, i).as_usize()]);
            }
        }
    }
}

/// Shortest literal worth anchoring on: shorter ones select too much.
const MIN_ANCHOR: usize = 3;

/// The literal a LIKE operand's values must start with.
fn like_prefix(like: &str) -> Option<String> {
    let first = like.find(['%', '_']).unwrap_or(like.len());
    (first >= MIN_ANCHOR).then(|| like[..first].to_owned())
}

/// For an expression anchored at the start of the value (`\A`): the
/// literals one of which every matching value starts with.
fn regex_prefixes(source: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::Look;
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(source).ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix);
    let seq = extractor.extract(&hir);
    let lits = seq.literals()?;
    if lits.is_empty() || lits.len() > 64 {
        return None;
    }
    lits.iter()
        .map(|l| {
            std::str::from_utf8(l.as_bytes())
                .ok()
                .filter(|s| s.len() >= MIN_ANCHOR)
                .map(str::to_owned)
        })
        .collect()
}

/// The longest run of literal characters in a LIKE operand.
fn like_literal(like: &str) -> Option<String> {
    like.split(['%', '_'])
        .max_by_key(|s| s.chars().count())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Literals one of which every match of `source` (the `regex` crate syntax)
/// contains, if such a short set exists.
fn regex_literals(source: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(source).ok()?;
    let mut best: Option<Vec<String>> = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut extractor = Extractor::new();
        extractor.kind(kind);
        let seq = extractor.extract(&hir);
        let Some(lits) = seq.literals() else { continue };
        if lits.is_empty() || lits.len() > 64 {
            continue;
        }
        let strings: Option<Vec<String>> = lits
            .iter()
            .map(|l| {
                std::str::from_utf8(l.as_bytes())
                    .ok()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
            .collect();
        let Some(strings) = strings else { continue };
        let shortest = strings.iter().map(String::len).min().unwrap_or(0);
        let better = match &best {
            None => true,
            Some(b) => shortest > b.iter().map(String::len).min().unwrap_or(0),
        };
        if better {
            best = Some(strings);
        }
    }
    best.filter(|b| b.iter().all(|s| !s.is_empty()))
}

/// A binary trie of networks.
#[derive(Default)]
struct Trie {
    v4: TrieNodes,
    v6: TrieNodes,
}

#[derive(Default)]
struct TrieNodes {
    nodes: Vec<TrieNode>,
    lists: Vec<Vec<u32>>,
    /// For IPv4: indexed by the first 16 bits, the node reached at depth 16
    /// and the brackets of networks of /16 or shorter on the way, so that a
    /// lookup starts with one load instead of sixteen.
    top: Vec<(u32, u32)>,
    /// One bit per entry of `top`: whether it leads anywhere. Most addresses
    /// are in no indicator's network, and this small table says so at once.
    top_used: Vec<u64>,
}

#[derive(Clone, Copy)]
struct TrieNode {
    children: [u32; 2],
    /// Index into `lists`, or `NONE`.
    list: u32,
}

const NONE: u32 = u32::MAX;
const TOP_BITS: u32 = 16;

impl TrieNodes {
    fn insert(&mut self, bits: u128, width: u32, prefix: u8, bracket: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode {
                children: [0, 0],
                list: NONE,
            });
        }
        let mut node = 0usize;
        for i in 0..u32::from(prefix) {
            let bit = ((bits >> (width - 1 - i)) & 1) as usize;
            if self.nodes[node].children[bit] == 0 {
                self.nodes.push(TrieNode {
                    children: [0, 0],
                    list: NONE,
                });
                let id = (self.nodes.len() - 1) as u32;
                self.nodes[node].children[bit] = id;
            }
            node = self.nodes[node].children[bit] as usize;
        }
        if self.nodes[node].list == NONE {
            self.nodes[node].list = self.lists.len() as u32;
            self.lists.push(Vec::new());
        }
        let list = self.nodes[node].list as usize;
        self.lists[list].push(bracket);
    }

    /// Builds the first-level table (IPv4 only).
    fn freeze_top(&mut self) {
        if self.nodes.is_empty() {
            return;
        }
        let mut top = Vec::with_capacity(1 << TOP_BITS);
        for value in 0u32..(1 << TOP_BITS) {
            let mut node = 0usize;
            let mut acc: Vec<u32> = Vec::new();
            let mut reached = 0u32;
            if let Some(l) = self.list_of(0) {
                acc.extend_from_slice(l);
            }
            for i in 0..TOP_BITS {
                let bit = ((value >> (TOP_BITS - 1 - i)) & 1) as usize;
                let next = self.nodes[node].children[bit];
                if next == 0 {
                    break;
                }
                node = next as usize;
                if let Some(l) = self.list_of(node) {
                    acc.extend_from_slice(l);
                }
                if i == TOP_BITS - 1 {
                    reached = next;
                }
            }
            let acc_list = if acc.is_empty() {
                NONE
            } else {
                self.lists.push(acc);
                (self.lists.len() - 1) as u32
            };
            top.push((reached, acc_list));
        }
        self.top_used = top
            .chunks(64)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .filter(|(_, (reached, acc))| *reached != 0 || *acc != NONE)
                    .fold(0u64, |bits, (i, _)| bits | 1 << i)
            })
            .collect();
        self.top = top;
    }

    fn list_of(&self, node: usize) -> Option<&[u32]> {
        match self.nodes[node].list {
            NONE => None,
            l => Some(&self.lists[l as usize]),
        }
    }

    /// Brackets of every network containing the address/prefix.
    fn covering(&self, bits: u128, width: u32, prefix: u8, out: &mut Vec<u32>) {
        if self.nodes.is_empty() {
            return;
        }
        let (mut node, start) = if !self.top.is_empty() && u32::from(prefix) >= TOP_BITS {
            let index = (bits >> (width - TOP_BITS)) as usize;
            if self.top_used[index / 64] & (1 << (index % 64)) == 0 {
                return;
            }
            let (reached, acc) = self.top[index];
            if acc != NONE {
                out.extend_from_slice(&self.lists[acc as usize]);
            }
            if reached == 0 {
                return;
            }
            (reached as usize, TOP_BITS)
        } else {
            if let Some(l) = self.list_of(0) {
                out.extend_from_slice(l);
            }
            (0usize, 0)
        };
        for i in start..u32::from(prefix) {
            let bit = ((bits >> (width - 1 - i)) & 1) as usize;
            let next = self.nodes[node].children[bit];
            if next == 0 {
                return;
            }
            node = next as usize;
            if let Some(l) = self.list_of(node) {
                out.extend_from_slice(l);
            }
        }
    }
}

impl Trie {
    fn freeze(&mut self) {
        self.v4.freeze_top();
    }

    fn insert(&mut self, net: IpNet, bracket: u32) {
        match net {
            IpNet::V4(a, p) => self.v4.insert(u128::from(a), 32, p, bracket),
            IpNet::V6(a, p) => self.v6.insert(a, 128, p, bracket),
        }
    }

    fn covering(&self, net: IpNet, out: &mut Vec<u32>) {
        match net {
            IpNet::V4(a, p) => self.v4.covering(u128::from(a), 32, p, out),
            IpNet::V6(a, p) => self.v6.covering(a, 128, p, out),
        }
    }
}

/// Compiled indicators plus the streaming state.
pub struct Engine {
    options: EngineOptions,
    patterns: Vec<CompiledIndicator>,
    brackets: Vec<BracketInfo>,
    paths: PathTable,
    /// Exact-value key → bracket, or (with the top bit set) an index into
    /// `exact_lists` when several brackets share the key: small entries keep
    /// the table cache-friendly.
    exact: ExactTable,
    exact_lists: Vec<Vec<u32>>,
    /// Per path id.
    cidr: Vec<Option<Trie>>,
    texts: Vec<Option<TextIndex>>,
    types: TypeTable,
    state: Vec<VecDeque<Retained>>,
    seen: Vec<u32>,
    generation: u32,
    candidates: Vec<u32>,
    found: Vec<u32>,
    bracket_hits: Vec<(u32, u16)>,
}

/// Object types to their entries. Indicator sets usually name a handful of
/// types: those are found by a scan comparing lengths first, which is faster
/// than hashing the type of every object; many types use a hash table.
enum TypeTable {
    Few(Vec<(Box<str>, TypeEntry)>),
    Many(HashMap<Box<str>, TypeEntry, Fx>),
}

impl TypeTable {
    fn new(map: HashMap<Box<str>, TypeEntry, Fx>) -> TypeTable {
        if map.len() <= 16 {
            TypeTable::Few(map.into_iter().collect())
        } else {
            TypeTable::Many(map)
        }
    }

    #[inline]
    fn get(&self, ty: &str) -> Option<&TypeEntry> {
        match self {
            TypeTable::Few(list) => list
                .iter()
                .find(|(k, _)| k.len() == ty.len() && k.as_bytes() == ty.as_bytes())
                .map(|(_, e)| e),
            TypeTable::Many(map) => map.get(ty),
        }
    }

    fn entries(&self) -> Box<dyn Iterator<Item = &TypeEntry> + '_> {
        match self {
            TypeTable::Few(list) => Box::new(list.iter().map(|(_, e)| e)),
            TypeTable::Many(map) => Box::new(map.values()),
        }
    }
}

/// What to do with an object of one type.
#[derive(Default)]
struct TypeEntry {
    /// Paths to read and look up in the indexes.
    paths: Vec<u32>,
    /// Brackets without triggers, evaluated whenever such an object is seen.
    always: Vec<u32>,
}

/// What a multi-observation pattern remembers of one observation.
#[derive(Clone, Debug)]
struct Retained {
    seq: u64,
    first: i64,
    last: i64,
    count: u64,
    brackets: Vec<u16>,
}

impl Engine {
    /// Number of compiled patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Matches one observation (numbered `seq` by the caller) against every
    /// pattern, updating the state multi-observation patterns keep.
    pub fn scan(&mut self, seq: u64, obs: &Observation, result: &mut ScanResult) {
        self.collect_candidates(obs);
        if self.candidates.is_empty() {
            return;
        }
        self.bracket_hits.clear();
        for &b in &self.candidates {
            let info = &self.brackets[b as usize];
            match info.compiled.matches(obs) {
                Ok(true) => self.bracket_hits.push((info.pattern, info.local)),
                Ok(false) => {}
                Err(e) => result
                    .errors
                    .push((self.patterns[info.pattern as usize].key, e)),
            }
        }
        if self.bracket_hits.is_empty() {
            return;
        }
        let mut hits = std::mem::take(&mut self.bracket_hits);
        hits.sort_unstable();
        let mut i = 0;
        while i < hits.len() {
            let p = hits[i].0;
            let mut locals = Vec::new();
            while i < hits.len() && hits[i].0 == p {
                locals.push(hits[i].1);
                i += 1;
            }
            self.decide(p, seq, obs, locals, result);
        }
        self.bracket_hits = hits;
    }

    fn decide(
        &mut self,
        p: u32,
        seq: u64,
        obs: &Observation,
        locals: Vec<u16>,
        result: &mut ScanResult,
    ) {
        let pattern = &self.patterns[p as usize];
        if !pattern.stateful && matches!(pattern.tree, ObsNode::Bracket(_)) {
            // One bracket, no qualifier: a hit is a match.
            result.matches.push(Match {
                key: pattern.key,
                observations: vec![seq],
            });
            return;
        }
        let record = Retained {
            seq,
            first: obs.first,
            last: obs.last,
            count: obs.count,
            brackets: locals,
        };
        let retained = &mut self.state[p as usize];
        let single;
        let records: Vec<&Retained> = if pattern.stateful {
            if let Some(d) = pattern.horizon {
                retained.retain(|r| i128::from(r.last) + d >= i128::from(record.first));
            }
            while retained.len() >= self.options.max_retained.max(1) {
                retained.pop_front();
            }
            retained.push_back(record);
            retained.iter().collect()
        } else {
            single = record;
            vec![&single]
        };
        match holds(&pattern.tree, pattern.brackets.len(), &records) {
            Ok(true) => {
                // Report a minimal set of observations that still matches.
                let mut witness = records.clone();
                let mut i = 0;
                while witness.len() > 1 && i < witness.len() {
                    let mut fewer = witness.clone();
                    fewer.remove(i);
                    if holds(&pattern.tree, pattern.brackets.len(), &fewer) == Ok(true) {
                        witness = fewer;
                    } else {
                        i += 1;
                    }
                }
                result.matches.push(Match {
                    key: pattern.key,
                    observations: witness.iter().map(|r| r.seq).collect(),
                });
                if pattern.stateful {
                    self.state[p as usize].clear();
                }
            }
            Ok(false) => {}
            Err(e) => result.errors.push((pattern.key, e)),
        }
    }

    fn collect_candidates(&mut self, obs: &Observation) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.candidates.clear();
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        for (k, (_, root)) in obs.root_objects().enumerate() {
            let Some(ty) = field(root, "type").and_then(Value::as_str) else {
                continue;
            };
            let Some(entry) = self.types.get(ty) else {
                continue;
            };
            // Brackets without triggers: once per type and observation.
            if !entry.always.is_empty()
                && !obs
                    .root_objects()
                    .take(k)
                    .any(|(_, r)| r.get("type").and_then(Value::as_str) == Some(ty))
            {
                found.extend_from_slice(&entry.always);
            }
            for &path in &entry.paths {
                let steps = &self.paths.steps[path as usize];
                match &self.paths.plans[path as usize] {
                    PathPlan::One(k) => {
                        if let Some(v) = field(root, k) {
                            self.lookup(path, v, &mut found);
                        }
                    }
                    PathPlan::Two(a, b) => {
                        if let Some(v) = field(root, a).and_then(|v| field(v, b)) {
                            self.lookup(path, v, &mut found);
                        }
                    }
                    PathPlan::General => {
                        // Evaluation reports the error if a bracket needs this path.
                        if let Ok(values) = select(obs, root, steps) {
                            for v in values {
                                if let crate::compare::Selected::Json(v) = v {
                                    self.lookup(path, v, &mut found);
                                }
                            }
                        }
                    }
                }
            }
        }
        for &b in &found {
            if self.seen[b as usize] != self.generation {
                self.seen[b as usize] = self.generation;
                self.candidates.push(b);
            }
        }
        self.found = found;
    }

    fn lookup(&self, path: u32, v: &Value, found: &mut Vec<u32>) {
        if let Some(k) = value_key(v) {
            self.exact.for_each(exact_hash(path, k), |entry| {
                if entry & EXACT_LIST == 0 {
                    found.push(entry);
                } else {
                    found.extend_from_slice(&self.exact_lists[(entry & !EXACT_LIST) as usize]);
                }
            });
        }
        let Value::String(s) = v else { return };
        if let Some(Some(trie)) = self.cidr.get(path as usize)
            && let Ok(net) = parse_net(s, false)
        {
            trie.covering(net, found);
        }
        if let Some(Some(text)) = self.texts.get(path as usize) {
            found.extend_from_slice(&text.unfiltered);
            let normalized: std::borrow::Cow<'_, str> = if s.is_ascii() {
                std::borrow::Cow::Borrowed(s)
            } else {
                std::borrow::Cow::Owned(s.nfc().collect())
            };
            if let Some(automaton) = &text.prefixes {
                prefix_walk(
                    automaton,
                    normalized.as_bytes(),
                    &text.prefix_brackets,
                    found,
                );
            }
            if let Some(ac) = &text.automaton {
                for m in ac.find_overlapping_iter(normalized.as_ref()) {
                    found.push(text.literal_brackets[m.pattern().as_usize()]);
                }
            }
        }
    }

    /// How the engine indexed its patterns.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            patterns: self.patterns.len(),
            brackets: self.brackets.len(),
            evaluated_on_every_object: self.types.entries().map(|t| t.always.len()).sum(),
            run_on_every_value: self
                .texts
                .iter()
                .flatten()
                .map(|t| t.unfiltered.len())
                .sum(),
        }
    }

    /// Observations currently kept for multi-observation patterns.
    pub fn retained(&self) -> usize {
        self.state.iter().map(VecDeque::len).sum()
    }
}

/// How an [`Engine`] indexed its patterns: the figures that tell whether a
/// workload stays fast as it grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Patterns loaded.
    pub patterns: usize,
    /// Comparison brackets across all patterns.
    pub brackets: usize,
    /// Brackets no index can narrow, evaluated on every object of their type.
    pub evaluated_on_every_object: usize,
    /// Brackets run on every value of their path (no literal to look up).
    pub run_on_every_value: usize,
}

/// Whether the pattern's observation expression holds over `records`.
fn holds(tree: &ObsNode, brackets: usize, records: &[&Retained]) -> Result<bool, EvalError> {
    let mut hits = vec![Vec::new(); brackets];
    for (i, r) in records.iter().enumerate() {
        for &b in &r.brackets {
            hits[b as usize].push(i);
        }
    }
    Universe::from_parts(
        records.iter().map(|r| r.first).collect(),
        records.iter().map(|r| r.last).collect(),
        records.iter().map(|r| r.count).collect(),
        &hits,
    )
    .matches(tree)
}

const EXACT_LIST: u32 = 1 << 31;

/// Open addressing with linear probing over (fingerprint, value) pairs of
/// 32 bits each: a table of 100,000 keys fits in a megabyte, so a lookup
/// usually stays in cache. The fingerprint is 32 bits of the key's hash; a
/// false positive only adds a candidate, which evaluation then rejects.
/// Fingerprint 0 marks an empty slot (a real 0 is stored as 1).
struct ExactTable {
    slots: Vec<(u32, u32)>,
    mask: usize,
    shift: u32,
}

impl ExactTable {
    fn with_capacity(n: usize) -> ExactTable {
        // Load factor at most 0.7.
        let size = ((n.max(1) * 10).div_ceil(7)).next_power_of_two().max(2);
        ExactTable {
            slots: vec![(0, 0); size],
            mask: size - 1,
            shift: 64 - size.trailing_zeros(),
        }
    }

    /// Slot from the top bits, fingerprint from the low bits of a
    /// Fibonacci-mixed hash, so the two are independent.
    #[inline]
    fn split(&self, key: u64) -> (usize, u32) {
        let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((mixed >> self.shift) as usize, (mixed as u32).max(1))
    }

    fn insert(&mut self, key: u64, value: u32) {
        let (mut i, fp) = self.split(key);
        while self.slots[i].0 != 0 {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = (fp, value);
    }

    /// Calls `f` with the value of every slot whose fingerprint matches.
    #[inline]
    fn for_each(&self, key: u64, mut f: impl FnMut(u32)) {
        let (mut i, fp) = self.split(key);
        loop {
            let (k, v) = self.slots[i];
            if k == 0 {
                return;
            }
            if k == fp {
                f(v);
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// `value[key]` for an object: small objects (the usual case) are scanned,
/// comparing lengths before bytes, which beats a tree search.
#[inline]
fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.len() <= 8 {
        map.iter()
            .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// A key that selects a value as is (no reference to follow, no encoding
/// to decode).
fn plain_key(k: &str) -> bool {
    !(k.ends_with("_ref") || k.ends_with("_refs") || k.ends_with("_hex") || k.ends_with("_bin"))
}

/// FxHash (as in rustc): fast, not DoS-resistant; keys here come from the
/// indicators being compiled and collisions only cost an evaluation.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(c);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf) ^ (rest.len() as u64) << 56);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

type Fx = BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(objects: &[Value], first: &str) -> Observation {
        let t = stix::Timestamp::parse(first).unwrap().as_micros();
        Observation::from_objects(
            t,
            t,
            1,
            objects
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("o{i}"), o.clone()))
                .collect(),
        )
    }

    fn engine(patterns: &[&str]) -> Engine {
        let mut b = EngineBuilder::new(EngineOptions::default());
        for (i, p) in patterns.iter().enumerate() {
            b.add(i, p).unwrap();
        }
        b.build()
    }

    fn keys(e: &mut Engine, seq: u64, o: &Observation) -> Vec<usize> {
        let mut r = ScanResult::default();
        e.scan(seq, o, &mut r);
        let mut k: Vec<usize> = r.matches.iter().map(|m| m.key).collect();
        k.sort();
        k
    }

    #[test]
    fn indexes_find_what_evaluation_confirms() {
        let mut e = engine(&[
            "[domain-name:value = 'evil.example']",
            "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
            "[url:value LIKE 'http://%/payload.bin']",
            "[domain-name:value MATCHES '^ba[dr]\\\\.']",
            "[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' OR file:name = 'x.exe']",
            "[file:size > 10]",
            "[domain-name:value != 'good.example']",
            "[ipv4-addr:value IN ('1.2.3.4', '5.6.7.8')]",
        ]);
        let o = obs(
            &[serde_json::json!({"type": "domain-name", "value": "evil.example"})],
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(keys(&mut e, 1, &o), [0, 6]);
        let o = obs(
            &[serde_json::json!({"type": "ipv4-addr", "value": "10.2.3.4"})],
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(keys(&mut e, 2, &o), [1]);
        let o = obs(
            &[serde_json::json!({"type": "ipv4-addr", "value": "5.6.7.8"})],
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(keys(&mut e, 2, &o), [7]);
        let o = obs(
            &[serde_json::json!({"type": "url", "value": "http://x.example/payload.bin"})],
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(keys(&mut e, 3, &o), [2]);
        let o = obs(
            &[serde_json::json!({"type": "domain-name", "value": "bar.example"})],
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(keys(&mut e, 4, &o), [3, 6]);
        let o = obs(
            &[serde_json::json!({"type": "file", "name": "x.exe", "size": 11})],
            "2020-01-01T00:00:00Z",
        );
        assert_eq!(keys(&mut e, 5, &o), [4, 5]);
    }

    #[test]
    fn multi_observation_patterns_keep_bounded_state() {
        let mut e = engine(&[
            "([domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']) WITHIN 60 SECONDS",
        ]);
        let a = obs(
            &[serde_json::json!({"type": "domain-name", "value": "a.example"})],
            "2020-01-01T00:00:00Z",
        );
        let b_late = obs(
            &[serde_json::json!({"type": "domain-name", "value": "b.example"})],
            "2020-01-01T00:05:00Z",
        );
        let b = obs(
            &[serde_json::json!({"type": "domain-name", "value": "b.example"})],
            "2020-01-01T00:00:30Z",
        );
        assert!(keys(&mut e, 1, &a).is_empty());
        assert!(keys(&mut e, 2, &b_late).is_empty());
        assert_eq!(
            e.retained(),
            1,
            "the first observation is out of the window"
        );
        assert!(keys(&mut e, 3, &a).is_empty());
        let mut r = ScanResult::default();
        e.scan(4, &b, &mut r);
        assert_eq!(
            r.matches,
            [Match {
                key: 0,
                observations: vec![3, 4]
            }]
        );
        assert_eq!(e.retained(), 0);
    }

    /// A WITHIN bounds the retained state through the qualifiers chained
    /// after it that only filter, and the narrowest of chained WITHINs wins.
    #[test]
    fn chained_qualifiers_keep_the_window_bound() {
        let domain = |value: &str, t: &str| {
            obs(
                &[serde_json::json!({"type": "domain-name", "value": value})],
                t,
            )
        };
        for pattern in [
            "([domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']) WITHIN 60 SECONDS START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'",
            "([domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']) WITHIN 60 SECONDS WITHIN 600 SECONDS",
        ] {
            let mut e = engine(&[pattern]);
            assert!(keys(&mut e, 1, &domain("a.example", "2020-01-01T00:00:00Z")).is_empty());
            assert!(keys(&mut e, 2, &domain("b.example", "2020-01-01T00:05:00Z")).is_empty());
            assert_eq!(e.retained(), 1, "{pattern}: the first is out of the window");
            assert!(keys(&mut e, 3, &domain("a.example", "2020-01-01T00:05:10Z")).is_empty());
            assert_eq!(
                keys(&mut e, 4, &domain("b.example", "2020-01-01T00:05:40Z")),
                [0],
                "{pattern}"
            );
        }
    }

    #[test]
    fn regex_literals_are_necessary() {
        let lits = regex_literals("(?:abc|abd)x").unwrap();
        assert!(
            lits.iter().all(|l| l.starts_with("ab")) && lits.len() == 2,
            "{lits:?}"
        );
        assert_eq!(regex_literals(r"\A[a-z]+"), None);
        assert_eq!(like_literal("%evil%.co_"), Some("evil".into()));
    }
}
