//! The node's metrics, rendered in the Prometheus text exposition format
//! (version 0.0.4), which every Prometheus-compatible scraper reads.
//!
//! A fixed set of families with fixed label names ([`Metrics`] lists them).
//! Every label value recorded while a request is served is a `&'static str`
//! — a route *template*, a method, an ingest outcome or refusal reason, a
//! store operation — or an HTTP status code: the types admit nothing a
//! client sent, no collection or object id, no organisation, no TLP, so
//! nothing tenant-bound can become a label and the number of series stays
//! bounded by the code. The one runtime string is a federation peer's name
//! as the operator gave it to `entente peer add`, reported at scrape time
//! ([`PeerSync`]).
//!
//! Gauges that describe a moment (connection use, sync lag) are not kept
//! here: whoever knows them registers a collector ([`Metrics::add_collector`])
//! that reports them into a [`Scrape`] when the metrics are rendered.
//!
//! No I/O: the `http` crate serves what [`Metrics::render`] returns.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the request latency buckets.
pub const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of the store operation latency buckets.
pub const STORE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A function that reports what it knows at scrape time.
type Collector = Box<dyn Fn(&mut Scrape) + Send + Sync>;

/// Every metric of a node.
///
/// | family | type | labels |
/// |---|---|---|
/// | `entente_build_info` | gauge | `version` |
/// | `process_start_time_seconds` | gauge | |
/// | `entente_http_requests_total` | counter | `route`, `method`, `status` |
/// | `entente_http_request_duration_seconds` | histogram | `route`, `method`, `status` |
/// | `entente_http_connections_open`, `entente_http_connections_max` | gauge | |
/// | `entente_objects_ingested_total` | counter | `via`, `outcome` |
/// | `entente_objects_rejected_total` | counter | `via`, `reason` |
/// | `entente_store_operation_duration_seconds` | histogram | `operation` |
/// | `entente_store_connections` | gauge | `pool`, `state` |
/// | `entente_store_connection_waiters` | gauge | `pool` |
/// | `entente_peer_sync_jobs`, `entente_peer_sync_failing_jobs` | gauge | `peer`, `direction` |
/// | `entente_peer_sync_lag_seconds` | gauge | `peer`, `direction` |
/// | `entente_peer_sync_pending_objects` | gauge | `peer`, `direction` |
pub struct Metrics {
    version: &'static str,
    started: f64,
    requests: Histograms<RequestKey>,
    ingested: Counters<OutcomeKey>,
    rejected: Counters<OutcomeKey>,
    store: Histograms<OperationKey>,
    collectors: RwLock<Vec<Collector>>,
}

impl Metrics {
    /// An empty registry for a node of this `version`, started now.
    pub fn new(version: &'static str) -> Metrics {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Metrics {
            version,
            started,
            requests: Histograms::new(REQUEST_BUCKETS),
            ingested: Counters::default(),
            rejected: Counters::default(),
            store: Histograms::new(STORE_BUCKETS),
            collectors: RwLock::new(Vec::new()),
        }
    }

    /// One answered HTTP request: `route` is the template the router
    /// matched (`/{root}/collections/{collection}/objects/`), never the path.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        self.requests.observe(
            RequestKey {
                route,
                method,
                status,
            },
            took.as_secs_f64(),
        );
    }

    /// `n` objects ingested with `outcome` (`stored`, `duplicate`), arrived
    /// `via` a client or a peer.
    pub fn ingested(&self, via: &'static str, outcome: &'static str, n: u64) {
        self.ingested.add(
            OutcomeKey {
                via,
                label: outcome,
            },
            n,
        );
    }

    /// `n` objects refused for `reason`, arrived `via` a client or a peer.
    pub fn rejected(&self, via: &'static str, reason: &'static str, n: u64) {
        self.rejected.add(OutcomeKey { via, label: reason }, n);
    }

    /// One call of a store operation (a method of the store's traits).
    pub fn store_operation(&self, operation: &'static str, took: Duration) {
        self.store
            .observe(OperationKey(operation), took.as_secs_f64());
    }

    /// Adds a function that reports gauges each time the metrics are rendered.
    pub fn add_collector(&self, collector: impl Fn(&mut Scrape) + Send + Sync + 'static) {
        self.collectors
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(collector));
    }

    /// Every family, in the Prometheus text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut scrape = Scrape::default();
        for collect in self
            .collectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            collect(&mut scrape);
        }
        let mut out = String::with_capacity(16 * 1024);

        header(
            &mut out,
            "entente_build_info",
            "The running Entente version.",
            "gauge",
        );
        let mut labels = Labels::default();
        labels.push("version", self.version);
        sample(&mut out, "entente_build_info", &labels, None, 1);
        header(
            &mut out,
            "process_start_time_seconds",
            "When the node process started, seconds since the Unix epoch.",
            "gauge",
        );
        sample(
            &mut out,
            "process_start_time_seconds",
            &Labels::default(),
            None,
            Float(self.started),
        );

        let requests = self.requests.snapshot();
        header(
            &mut out,
            "entente_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            "counter",
        );
        for (key, h) in &requests {
            sample(
                &mut out,
                "entente_http_requests_total",
                &key.labels(),
                None,
                h.count,
            );
        }
        header(
            &mut out,
            "entente_http_request_duration_seconds",
            "Time from routing a request to its answer's headers, by route template, method and status.",
            "histogram",
        );
        for (key, h) in &requests {
            histogram(
                &mut out,
                "entente_http_request_duration_seconds",
                &key.labels(),
                REQUEST_BUCKETS,
                h,
            );
        }
        if let Some(c) = scrape.connections {
            header(
                &mut out,
                "entente_http_connections_open",
                "Client connections open on the TAXII listener.",
                "gauge",
            );
            sample(
                &mut out,
                "entente_http_connections_open",
                &Labels::default(),
                None,
                c.open,
            );
            header(
                &mut out,
                "entente_http_connections_max",
                "Client connections the TAXII listener serves at once (server.max_connections).",
                "gauge",
            );
            sample(
                &mut out,
                "entente_http_connections_max",
                &Labels::default(),
                None,
                c.max,
            );
        }

        header(
            &mut out,
            "entente_objects_ingested_total",
            "STIX objects accepted, by where they came from (client, peer) and outcome (stored, duplicate).",
            "counter",
        );
        for (key, n) in self.ingested.snapshot() {
            let mut labels = Labels::default();
            labels.push("via", key.via);
            labels.push("outcome", key.label);
            sample(&mut out, "entente_objects_ingested_total", &labels, None, n);
        }
        header(
            &mut out,
            "entente_objects_rejected_total",
            "STIX objects refused, by where they came from (client, peer) and reason.",
            "counter",
        );
        for (key, n) in self.rejected.snapshot() {
            let mut labels = Labels::default();
            labels.push("via", key.via);
            labels.push("reason", key.label);
            sample(&mut out, "entente_objects_rejected_total", &labels, None, n);
        }

        header(
            &mut out,
            "entente_store_operation_duration_seconds",
            "Time of each store operation the node's use cases call, by operation.",
            "histogram",
        );
        for (key, h) in self.store.snapshot() {
            let mut labels = Labels::default();
            labels.push("operation", key.0);
            histogram(
                &mut out,
                "entente_store_operation_duration_seconds",
                &labels,
                STORE_BUCKETS,
                &h,
            );
        }
        let pools: BTreeMap<&'static str, PoolUse> =
            scrape.pools.iter().map(|p| (p.pool, *p)).collect();
        header(
            &mut out,
            "entente_store_connections",
            "Database connections by pool and state (busy: in use by an operation; idle: open, waiting for one).",
            "gauge",
        );
        for p in pools.values() {
            for (state, n) in [("busy", p.busy), ("idle", p.idle)] {
                let mut labels = Labels::default();
                labels.push("pool", p.pool);
                labels.push("state", state);
                sample(&mut out, "entente_store_connections", &labels, None, n);
            }
        }
        header(
            &mut out,
            "entente_store_connection_waiters",
            "Operations waiting for a connection of a pool that can make them wait.",
            "gauge",
        );
        for p in pools.values() {
            if let Some(n) = p.waiting {
                let mut labels = Labels::default();
                labels.push("pool", p.pool);
                sample(
                    &mut out,
                    "entente_store_connection_waiters",
                    &labels,
                    None,
                    n,
                );
            }
        }

        let peers: BTreeMap<(&str, &'static str), &PeerSync> = scrape
            .peers
            .iter()
            .map(|p| ((p.peer.as_str(), p.direction), p))
            .collect();
        let peer_labels = |p: &PeerSync| {
            let mut labels = Labels::default();
            labels.push("peer", &p.peer);
            labels.push("direction", p.direction);
            labels
        };
        header(
            &mut out,
            "entente_peer_sync_jobs",
            "Sync jobs configured per peer and direction.",
            "gauge",
        );
        for p in peers.values() {
            sample(
                &mut out,
                "entente_peer_sync_jobs",
                &peer_labels(p),
                None,
                p.jobs,
            );
        }
        header(
            &mut out,
            "entente_peer_sync_failing_jobs",
            "Sync jobs whose last run failed, per peer and direction.",
            "gauge",
        );
        for p in peers.values() {
            sample(
                &mut out,
                "entente_peer_sync_failing_jobs",
                &peer_labels(p),
                None,
                p.failing_jobs,
            );
        }
        header(
            &mut out,
            "entente_peer_sync_lag_seconds",
            "Seconds since the least recently successful job of a peer and direction last succeeded (a job that never did counts from the peer's creation).",
            "gauge",
        );
        for p in peers.values() {
            if let Some(lag) = p.lag_seconds {
                sample(
                    &mut out,
                    "entente_peer_sync_lag_seconds",
                    &peer_labels(p),
                    None,
                    Float(lag),
                );
            }
        }
        header(
            &mut out,
            "entente_peer_sync_pending_objects",
            "Objects the last successful run of a peer's jobs left for the next one (pulled objects waiting for their signed manifest).",
            "gauge",
        );
        for p in peers.values() {
            if let Some(n) = p.pending {
                sample(
                    &mut out,
                    "entente_peer_sync_pending_objects",
                    &peer_labels(p),
                    None,
                    n,
                );
            }
        }
        out
    }
}

/// What collectors report at scrape time.
#[derive(Debug, Default)]
pub struct Scrape {
    pools: Vec<PoolUse>,
    peers: Vec<PeerSync>,
    connections: Option<Connections>,
}

impl Scrape {
    /// A pool of database connections (reported twice, the last one counts).
    pub fn pool(&mut self, pool: PoolUse) {
        self.pools.push(pool);
    }

    /// The sync state of one peer in one direction.
    pub fn peer(&mut self, peer: PeerSync) {
        self.peers.push(peer);
    }

    /// Client connections open on the TAXII listener, and the most it serves.
    pub fn connections(&mut self, open: u64, max: u64) {
        self.connections = Some(Connections { open, max });
    }
}

/// How busy one pool of database connections is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// The pool's name (`read`, `write`).
    pub pool: &'static str,
    /// Connections an operation holds now.
    pub busy: u64,
    /// Connections open and free.
    pub idle: u64,
    /// Operations waiting for a connection, where the pool can make them
    /// wait (`None`: it opens another connection instead).
    pub waiting: Option<u64>,
}

/// The sync state of a peer's jobs in one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerSync {
    /// The peer's name as given to `entente peer add`.
    pub peer: String,
    /// `pull` or `push`.
    pub direction: &'static str,
    pub jobs: u64,
    pub failing_jobs: u64,
    /// Seconds since the least recently successful job last succeeded.
    pub lag_seconds: Option<f64>,
    /// Objects the last successful runs left for the next (unknown until
    /// a run completed in this process).
    pub pending: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Connections {
    open: u64,
    max: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct RequestKey {
    route: &'static str,
    method: &'static str,
    status: u16,
}

impl RequestKey {
    fn labels(&self) -> Labels {
        let mut labels = Labels::default();
        labels.push("route", self.route);
        labels.push("method", self.method);
        labels.push("status", &self.status.to_string());
        labels
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct OutcomeKey {
    via: &'static str,
    /// The outcome, or the reason of a refusal.
    label: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct OperationKey(&'static str);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counts stay meaningful after a panic elsewhere: keep counting.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counters of one family, by label set.
struct Counters<K> {
    series: Mutex<HashMap<K, u64>>,
}

impl<K> Default for Counters<K> {
    fn default() -> Self {
        Counters {
            series: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> Counters<K> {
    fn add(&self, key: K, n: u64) {
        if n > 0 {
            *lock(&self.series).entry(key).or_insert(0) += n;
        }
    }

    fn snapshot(&self) -> Vec<(K, u64)> {
        let mut all: Vec<(K, u64)> = lock(&self.series).iter().map(|(k, v)| (*k, *v)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }
}

/// One histogram: a count per bucket (not cumulative; the last one is
/// above every bound), the sum and the count of observations.
#[derive(Clone, Debug)]
struct Histogram {
    buckets: Box<[u64]>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        let i = bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(bounds.len());
        self.buckets[i] += 1;
        self.sum += value;
        self.count += 1;
    }
}

/// Histograms of one family, by label set, with shared bounds.
struct Histograms<K> {
    bounds: &'static [f64],
    series: Mutex<HashMap<K, Histogram>>,
}

impl<K: Copy + Eq + Hash + Ord> Histograms<K> {
    fn new(bounds: &'static [f64]) -> Self {
        Histograms {
            bounds,
            series: Mutex::new(HashMap::new()),
        }
    }

    fn observe(&self, key: K, value: f64) {
        let bounds = self.bounds;
        lock(&self.series)
            .entry(key)
            .or_insert_with(|| Histogram {
                buckets: vec![0; bounds.len() + 1].into_boxed_slice(),
                sum: 0.0,
                count: 0,
            })
            .observe(bounds, value);
    }

    fn snapshot(&self) -> Vec<(K, Histogram)> {
        let mut all: Vec<(K, Histogram)> = lock(&self.series)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }
}

/// A label set as text: `a="x",b="y"`, values escaped.
#[derive(Default)]
struct Labels(String);

impl Labels {
    fn push(&mut self, name: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        self.0.push_str(name);
        self.0.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '"' => self.0.push_str("\\\""),
                '\n' => self.0.push_str("\\n"),
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }
}

/// A sample value as the format writes floats (`+Inf`, `NaN`).
struct Float(f64);

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v == f64::INFINITY {
            f.write_str("+Inf")
        } else if v == f64::NEG_INFINITY {
            f.write_str("-Inf")
        } else {
            write!(f, "{v}")
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line; `extra` is a label appended to `labels` (`le`).
fn sample(
    out: &mut String,
    name: &str,
    labels: &Labels,
    extra: Option<(&str, &str)>,
    value: impl std::fmt::Display,
) {
    out.push_str(name);
    let mut all = Labels(labels.0.clone());
    if let Some((k, v)) = extra {
        all.push(k, v);
    }
    if !all.0.is_empty() {
        out.push('{');
        out.push_str(&all.0);
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn histogram(out: &mut String, name: &str, labels: &Labels, bounds: &[f64], h: &Histogram) {
    let bucket = format!("{name}_bucket");
    let mut cumulative = 0u64;
    for (i, bound) in bounds.iter().enumerate() {
        cumulative += h.buckets[i];
        let le = Float(*bound).to_string();
        sample(out, &bucket, labels, Some(("le", &le)), cumulative);
    }
    cumulative += h.buckets[bounds.len()];
    sample(out, &bucket, labels, Some(("le", "+Inf")), cumulative);
    sample(out, &format!("{name}_sum"), labels, None, Float(h.sum));
    sample(out, &format!("{name}_count"), labels, None, h.count);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn requests_are_counted_and_bucketed_cumulatively() {
        let m = Metrics::new("1.2.3");
        let route = "/{root}/collections/{collection}/objects/";
        m.request(route, "GET", 200, Duration::from_micros(700));
        m.request(route, "GET", 200, Duration::from_millis(30));
        m.request(route, "GET", 200, Duration::from_secs(60));
        m.request(route, "POST", 202, Duration::from_millis(3));
        let text = m.render();
        let labels =
            r#"route="/{root}/collections/{collection}/objects/",method="GET",status="200""#;
        assert!(text.contains(&format!("entente_http_requests_total{{{labels}}} 3\n")));
        let bucket = |le: &str| {
            format!("entente_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} ")
        };
        let value = |le: &str| -> u64 {
            let prefix = bucket(le);
            let line = text
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
            line[prefix.len()..].parse().unwrap()
        };
        assert_eq!(value("0.001"), 1);
        assert_eq!(value("0.025"), 1);
        assert_eq!(value("0.05"), 2);
        assert_eq!(value("30"), 2);
        assert_eq!(value("+Inf"), 3);
        assert!(text.contains(&format!(
            "entente_http_request_duration_seconds_count{{{labels}}} 3\n"
        )));
        let sum_prefix = format!("entente_http_request_duration_seconds_sum{{{labels}}} ");
        let sum: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix(&sum_prefix))
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 60.0307).abs() < 1e-9, "{sum}");
        assert!(text.contains(
            r#"entente_http_requests_total{route="/{root}/collections/{collection}/objects/",method="POST",status="202"} 1"#
        ));
        assert!(text.contains("entente_build_info{version=\"1.2.3\"} 1\n"));
    }

    #[test]
    fn every_family_is_declared_once_and_before_its_samples() {
        let m = Metrics::new("0");
        m.request("/taxii2/", "GET", 200, Duration::from_millis(1));
        m.ingested("client", "stored", 2);
        m.rejected("peer", "invalid", 1);
        m.store_operation("query_objects", Duration::from_micros(50));
        m.add_collector(|s| {
            s.pool(PoolUse {
                pool: "write",
                busy: 1,
                idle: 0,
                waiting: Some(2),
            });
            s.connections(3, 512);
            s.peer(PeerSync {
                peer: "ee".into(),
                direction: "pull",
                jobs: 2,
                failing_jobs: 1,
                lag_seconds: Some(4.5),
                pending: Some(7),
            });
        });
        let text = m.render();
        let mut declared: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(!declared.contains(&name), "{name} declared twice");
                declared.push(name);
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                let family = declared.last().unwrap();
                assert!(
                    name == *family
                        || name
                            .strip_prefix(family)
                            .is_some_and(|s| { ["_bucket", "_sum", "_count"].contains(&s) }),
                    "{name} under {family}"
                );
            }
        }
        assert!(
            text.contains("entente_objects_ingested_total{via=\"client\",outcome=\"stored\"} 2\n")
        );
        assert!(
            text.contains("entente_objects_rejected_total{via=\"peer\",reason=\"invalid\"} 1\n")
        );
        assert!(text.contains("entente_store_connections{pool=\"write\",state=\"busy\"} 1\n"));
        assert!(text.contains("entente_store_connection_waiters{pool=\"write\"} 2\n"));
        assert!(text.contains("entente_http_connections_open 3\n"));
        assert!(
            text.contains("entente_peer_sync_lag_seconds{peer=\"ee\",direction=\"pull\"} 4.5\n")
        );
        assert!(
            text.contains("entente_peer_sync_pending_objects{peer=\"ee\",direction=\"pull\"} 7\n")
        );
        assert!(
            text.contains("entente_peer_sync_failing_jobs{peer=\"ee\",direction=\"pull\"} 1\n")
        );
        assert_eq!(
            lines_of(&text, "entente_store_operation_duration_seconds_bucket").len(),
            STORE_BUCKETS.len() + 1
        );
    }

    #[test]
    fn nothing_is_counted_twice_nor_without_a_count() {
        let m = Metrics::new("0");
        m.ingested("client", "stored", 0);
        m.rejected("client", "invalid", 0);
        let text = m.render();
        assert!(lines_of(&text, "entente_objects_").is_empty(), "{text}");
        m.ingested("client", "stored", 2);
        m.ingested("client", "stored", 3);
        assert!(
            m.render()
                .contains("entente_objects_ingested_total{via=\"client\",outcome=\"stored\"} 5\n")
        );
    }

    #[test]
    fn label_values_and_floats_are_written_as_the_format_wants() {
        let mut labels = Labels::default();
        labels.push("peer", "a\"b\\c\nd");
        assert_eq!(labels.0, r#"peer="a\"b\\c\nd""#);
        assert_eq!(Float(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Float(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Float(0.00025).to_string(), "0.00025");
        assert_eq!(Float(30.0).to_string(), "30");
    }

    #[test]
    fn output_is_in_a_stable_order() {
        let m = Metrics::new("0");
        for status in [500, 200, 404] {
            m.request("/taxii2/", "GET", status, Duration::from_millis(1));
        }
        let text = m.render();
        let statuses: Vec<&str> = lines_of(&text, "entente_http_requests_total{")
            .iter()
            .map(|l| {
                l.split("status=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(statuses, ["200", "404", "500"]);
        assert_eq!(text, m.render());
    }
}
