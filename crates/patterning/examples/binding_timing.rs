//! Times deciding bindings on the shapes of issue 9: REPEATS over FOLLOWEDBY
//! and AND, and qualifier chains, over many observations. Each case is
//! parsed, checked and evaluated with the calls `entente pattern match
//! --batch` makes; the time is the best of five evaluations.
//!
//!     cargo run --release -p patterning --example binding_timing
//!
//! The observations are `n` observed-data one second apart, the i-th holding
//! an `x-person` aged i, as in stix2-matcher's "combinatorial explosion"
//! tests (twenty of them there).

use std::time::{Duration, Instant};

use patterning::{Rules, StixVersion};
use serde_json::{Value, json};

fn people(n: usize) -> Value {
    let mut objects = Vec::new();
    for i in 0..n {
        let when = format!(
            "2020-01-01T{:02}:{:02}:{:02}Z",
            i / 3600,
            i / 60 % 60,
            i % 60
        );
        let person = format!("x-person--00000000-0000-4000-8000-{i:012}");
        objects.push(json!({
            "type": "observed-data", "spec_version": "2.1",
            "id": format!("observed-data--10000000-0000-4000-8000-{i:012}"),
            "first_observed": when, "last_observed": when, "number_observed": 1,
            "object_refs": [person],
        }));
        objects.push(json!({"type": "x-person", "spec_version": "2.1", "id": person, "age": i}));
    }
    json!([{"type": "bundle", "id": "bundle--20000000-0000-4000-8000-000000000000", "objects": objects}])
}

fn main() {
    let cases: &[(usize, &str)] = &[
        (
            20,
            "([x-person:age < 20] FOLLOWEDBY [x-person:age > 5]) REPEATS 10 TIMES",
        ),
        (
            20,
            "([x-person:age < 20] FOLLOWEDBY [x-person:age > 5]) REPEATS 11 TIMES",
        ),
        (
            200,
            "([x-person:age < 200] FOLLOWEDBY [x-person:age > 50]) REPEATS 100 TIMES",
        ),
        (
            1000,
            "([x-person:age < 1000] FOLLOWEDBY [x-person:age > 100]) REPEATS 450 TIMES",
        ),
        (
            200,
            "([x-person:age < 200] AND [x-person:age > 50]) REPEATS 100 TIMES",
        ),
        (
            60,
            "([x-person:age < 20] FOLLOWEDBY [x-person:age >= 20 AND x-person:age < 40] FOLLOWEDBY [x-person:age >= 40]) REPEATS 20 TIMES",
        ),
        (
            60,
            "([x-person:age < 20] FOLLOWEDBY [x-person:age >= 20 AND x-person:age < 40] FOLLOWEDBY [x-person:age >= 40]) REPEATS 21 TIMES",
        ),
        (
            200,
            "(([x-person:age < 200] FOLLOWEDBY [x-person:age > 50]) WITHIN 1 SECONDS) REPEATS 75 TIMES",
        ),
        (
            200,
            "(([x-person:age < 200] FOLLOWEDBY [x-person:age > 50]) WITHIN 1 SECONDS) REPEATS 76 TIMES",
        ),
        (
            200,
            "[x-person:age < 200] WITHIN 5 SECONDS REPEATS 100 TIMES",
        ),
        (
            200,
            "([x-person:age < 200] REPEATS 2 TIMES WITHIN 1 SECONDS) REPEATS 100 TIMES",
        ),
        (
            200,
            "[x-person:age < 200] REPEATS 10 TIMES REPEATS 20 TIMES",
        ),
        (
            200,
            "([x-person:age < 200] FOLLOWEDBY [x-person:age < 200] FOLLOWEDBY [x-person:age < 200]) REPEATS 66 TIMES",
        ),
    ];
    println!("{:>5}  {:<8} {:>12}  pattern", "obs", "verdict", "time");
    for &(n, pattern) in cases {
        let observed = people(n);
        let rules = Rules::reference(StixVersion::V21);
        let parsed = match patterning::parse_and_validate(pattern, &rules) {
            Ok(p) => p,
            Err(e) => {
                println!("{n:>5}  invalid: {e:?}  {pattern}");
                continue;
            }
        };
        let observations = match patterning::read_observations(&observed, StixVersion::V21, false) {
            Ok(o) => o,
            Err(e) => {
                println!("{n:>5}  unreadable: {e}");
                continue;
            }
        };
        let mut best = Duration::MAX;
        let mut verdict = String::new();
        for _ in 0..5 {
            let started = Instant::now();
            let result = patterning::evaluate(&parsed, &observations, StixVersion::V21);
            best = best.min(started.elapsed());
            verdict = match result {
                Ok(b) => b.to_string(),
                Err(e) => format!("error ({e})"),
            };
        }
        println!("{n:>5}  {verdict:<8} {best:>12.3?}  {pattern}");
    }
}
