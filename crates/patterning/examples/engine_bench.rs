//! Workload generator and timer for bench/patterning (see its README).
//!
//! `engine_bench side-by-side DIR`: 1,000 equality patterns and 10,000
//! observations (each a domain, an IPv4 address and a file hash), written to
//! DIR for the reference matcher, matched here; prints JSON figures.
//!
//! `engine_bench full N_INDICATORS N_OBSERVATIONS`: the Entente-only
//! workload (mostly equality, 5% CIDR, 5% LIKE/MATCHES, 1% multi-observation);
//! prints JSON figures (compile time, peak memory, observations per second).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use patterning::{EngineBuilder, EngineOptions, Observation, ScanResult};
use serde_json::{Value, json};

/// A small deterministic generator (xorshift*), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn domain(i: u64) -> String {
    format!("host{i}.example{}.net", i % 97)
}

/// Addresses spread over 11.0.0.0 to 210.255.255.255.
fn ip(i: u64) -> String {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    format!(
        "{}.{}.{}.{}",
        11 + (x >> 24) % 200,
        (x >> 16) & 255,
        (x >> 8) & 255,
        x & 255
    )
}

fn sha256(i: u64) -> String {
    let mut s = String::with_capacity(64);
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let _ = write!(s, "{x:016x}");
    }
    s
}

const BASE: i64 = 1_600_000_000_000_000;

/// Observation `n`: values drawn from a universe of `universe` hosts.
fn observation(rng: &mut Rng, n: u64, universe: u64) -> (Observation, Value) {
    let d = rng.below(universe);
    let a = rng.below(universe);
    let h = rng.below(universe);
    let t = BASE + n as i64 * 1_000_000;
    let objects = vec![
        (
            "domain-name--1".to_owned(),
            json!({"type": "domain-name", "id": "domain-name--1", "value": domain(d)}),
        ),
        (
            "ipv4-addr--2".to_owned(),
            json!({"type": "ipv4-addr", "id": "ipv4-addr--2", "value": ip(a)}),
        ),
        (
            "file--3".to_owned(),
            json!({"type": "file", "id": "file--3", "hashes": {"SHA-256": sha256(h)}}),
        ),
    ];
    let stamp = stix::Timestamp::from_micros(t).format_with_precision(0);
    let mut bundle_objects = vec![json!({
        "type": "observed-data", "spec_version": "2.1", "id": format!("observed-data--00000000-0000-4000-8000-{n:012}"),
        "created": stamp, "modified": stamp, "first_observed": stamp, "last_observed": stamp, "number_observed": 1,
        "object_refs": ["domain-name--1", "ipv4-addr--2", "file--3"],
    })];
    bundle_objects.extend(objects.iter().map(|(_, o)| o.clone()));
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": bundle_objects});
    (Observation::from_objects(t, t, 1, objects), bundle)
}

fn equality_pattern(rng: &mut Rng, universe: u64) -> String {
    let v = rng.below(universe);
    match rng.below(3) {
        0 => format!("[domain-name:value = '{}']", domain(v)),
        1 => format!("[ipv4-addr:value = '{}']", ip(v)),
        _ => format!("[file:hashes.'SHA-256' = '{}']", sha256(v)),
    }
}

fn full_pattern(rng: &mut Rng, i: u64, n: u64, universe: u64) -> String {
    let share = i * 100 / n;
    match share {
        0..=88 => equality_pattern(rng, universe),
        89..=93 => {
            let v = rng.below(universe);
            let len = 20 + rng.below(11);
            format!("[ipv4-addr:value ISSUBSET '{}/{len}']", ip(v))
        }
        94..=98 => {
            let v = rng.below(universe);
            if rng.below(2) == 0 {
                format!("[domain-name:value LIKE 'host{v}.%']")
            } else {
                format!("[domain-name:value MATCHES '^host{v}\\\\.example[0-9]+\\\\.net$']")
            }
        }
        _ => {
            let a = rng.below(universe);
            let b = rng.below(universe);
            format!(
                "([domain-name:value = '{}'] FOLLOWEDBY [ipv4-addr:value = '{}']) WITHIN 600 SECONDS",
                domain(a),
                ip(b)
            )
        }
    }
}

/// CPU time of this thread, from the scheduler (nanosecond resolution):
/// the machine may be shared, so throughput per core is what is reported.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        })
        .map_or(0.0, |ns| ns / 1e9)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("side-by-side") => side_by_side(&args[2]),
        Some("full") => full(
            args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000),
            args.get(3)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000),
        ),
        Some("profile") => profile(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000)),
        _ => eprintln!(
            "usage: engine_bench side-by-side DIR | full N_INDICATORS N_OBSERVATIONS | profile N"
        ),
    }
}

fn side_by_side(dir: &str) {
    let dir = std::path::Path::new(dir);
    std::fs::create_dir_all(dir).expect("cannot create the output directory");
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    // A small universe, so that a fair share of observations match.
    let universe = 20_000;
    let patterns: Vec<String> = (0..1_000)
        .map(|_| equality_pattern(&mut rng, universe))
        .collect();
    let observations: Vec<(Observation, Value)> = (0..10_000)
        .map(|n| observation(&mut rng, n, universe))
        .collect();
    let mut pf = std::fs::File::create(dir.join("patterns.txt")).expect("write patterns");
    for p in &patterns {
        writeln!(pf, "{p}").expect("write patterns");
    }
    // The same patterns as STIX indicators, for `entente scan`.
    let indicators: Vec<Value> = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "type": "indicator", "spec_version": "2.1", "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
                "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                "pattern": p, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00.000Z",
            })
        })
        .collect();
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": indicators});
    std::fs::write(dir.join("indicators.json"), bundle.to_string()).expect("write indicators");
    let mut of = std::io::BufWriter::new(
        std::fs::File::create(dir.join("observations.jsonl")).expect("write observations"),
    );
    for (_, bundle) in &observations {
        writeln!(of, "{bundle}").expect("write observations");
    }
    drop(of);
    let mut builder = EngineBuilder::new(EngineOptions::default());
    for (i, p) in patterns.iter().enumerate() {
        builder.add(i, p).expect("generated patterns are valid");
    }
    let mut engine = builder.build();
    let mut result = ScanResult::default();
    let mut per_observation: Vec<Vec<usize>> = Vec::with_capacity(observations.len());
    // Repeat to get a measurable time; state does not matter (single brackets).
    let rounds = 50;
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    for round in 0..rounds {
        for (i, (obs, _)) in observations.iter().enumerate() {
            result.matches.clear();
            engine.scan(i as u64, obs, &mut result);
            if round == 0 {
                let mut keys: Vec<usize> = result.matches.iter().map(|m| m.key).collect();
                keys.sort_unstable();
                per_observation.push(keys);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds() - cpu_start;
    let mut mf = std::fs::File::create(dir.join("entente_matches.json")).expect("write matches");
    writeln!(
        mf,
        "{}",
        serde_json::to_string(&per_observation).expect("serialise")
    )
    .expect("write matches");
    let matched: usize = per_observation.iter().filter(|m| !m.is_empty()).count();
    println!(
        "{}",
        json!({
            "observations": observations.len() * rounds,
            "patterns": patterns.len(),
            "seconds": secs,
            "cpu_seconds": cpu,
            "observations_per_second": (observations.len() * rounds) as f64 / secs,
            "observations_per_cpu_second": (observations.len() * rounds) as f64 / cpu,
            "observations_matched": matched,
        })
    );
}

fn full(indicators: u64, count: u64) {
    let mut rng = Rng(0x5EED_0000_0000_0002);
    let universe = 2_000_000;
    let texts: Vec<String> = (0..indicators)
        .map(|i| full_pattern(&mut rng, i, indicators, universe))
        .collect();
    let rss_before = peak_rss_mb();
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    let mut builder = EngineBuilder::new(EngineOptions::default());
    for (i, p) in texts.iter().enumerate() {
        builder.add(i, p).expect("generated patterns are valid");
    }
    let mut engine = builder.build();
    let compile = start.elapsed().as_secs_f64();
    let compile_cpu = thread_cpu_seconds() - cpu_start;
    let rss_compiled = peak_rss_mb();
    // Each observation is generated (not timed) and then matched at once
    // (timed), as `entente scan` hands the engine each observation a reader
    // has just built: building JSON objects is the readers' cost, measured
    // separately. The machine may be shared, so a call that took over
    // 200 µs (a preemption) is left out of the matching time; how many is
    // reported. The two clock reads per call (~40 ns) stay in.
    let mut result = ScanResult::default();
    let mut matches = 0usize;
    let mut errors = 0usize;
    let mut matching = std::time::Duration::ZERO;
    let mut preempted = 0u64;
    let limit = std::time::Duration::from_micros(200);
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    for n in 0..count {
        let obs = observation(&mut rng, n, universe).0;
        let t = Instant::now();
        engine.scan(n, &obs, &mut result);
        let d = t.elapsed();
        if d < limit {
            matching += d;
        } else {
            preempted += 1;
        }
        matches += result.matches.len();
        errors += result.errors.len();
        result.matches.clear();
        result.errors.clear();
    }
    let timed_count = count - preempted;
    // What the two clock reads of a timed call cost by themselves.
    let overhead = {
        let rounds = 200_000u32;
        let mut total = std::time::Duration::ZERO;
        for _ in 0..rounds {
            let t = Instant::now();
            total += std::hint::black_box(t).elapsed();
        }
        total / rounds
    };
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds() - cpu_start;
    let timed = timed_count as f64;
    let stats = engine.stats();
    println!(
        "{}",
        json!({
            "indicators": indicators,
            "compile_seconds": compile,
            "compile_cpu_seconds": compile_cpu,
            "peak_rss_mb_before_compile": rss_before,
            "peak_rss_mb_after_compile": rss_compiled,
            "observations": count,
            "matching_seconds": matching.as_secs_f64(),
            "calls_preempted": preempted,
            "observations_per_second_matching": timed / matching.as_secs_f64(),
            "clock_overhead_ns_per_call": overhead.as_nanos(),
            "observations_per_second_matching_without_clock_overhead":
                timed / (matching.as_secs_f64() - timed * overhead.as_secs_f64()),
            "loop_seconds_with_generation": secs,
            "loop_cpu_seconds_with_generation": cpu,
            "matches": matches,
            "evaluation_errors": errors,
            "retained_for_multi_observation_patterns": engine.retained(),
            "index": {
                "patterns": stats.patterns,
                "brackets": stats.brackets,
                "evaluated_on_every_object": stats.evaluated_on_every_object,
                "run_on_every_value": stats.run_on_every_value,
            },
        })
    );
}

/// For profilers: builds N observations first (announced on stderr), then
/// matches them five times against the full workload's 100,000 indicators.
fn profile(count: u64) {
    let mut rng = Rng(0x5EED_0000_0000_0002);
    let universe = 2_000_000;
    let mut builder = EngineBuilder::new(EngineOptions::default());
    for i in 0..100_000 {
        builder
            .add(i as usize, &full_pattern(&mut rng, i, 100_000, universe))
            .expect("valid");
    }
    let mut engine = builder.build();
    let observations: Vec<Observation> = (0..count)
        .map(|n| observation(&mut rng, n, universe).0)
        .collect();
    eprintln!("built; matching");
    let mut result = ScanResult::default();
    let start = Instant::now();
    for _ in 0..5 {
        for (n, obs) in observations.iter().enumerate() {
            engine.scan(n as u64, obs, &mut result);
            result.matches.clear();
            result.errors.clear();
        }
    }
    eprintln!(
        "{:.0} obs/s",
        (5 * count) as f64 / start.elapsed().as_secs_f64()
    );
}
