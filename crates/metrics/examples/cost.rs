//! What recording costs, per call: the work metrics add to each request
//! (one request observation, a few store operation observations, each
//! with its two clock readings), on one thread and on two at once.
//!
//!     cargo run --release -p entente-metrics --example cost

use std::sync::Arc;
use std::time::{Duration, Instant};

use entente_metrics::Metrics;

const CALLS: u32 = 2_000_000;

/// Nanoseconds per call of `f`, over `CALLS` calls on each of `threads` threads.
fn per_call(threads: usize, f: impl Fn(u32) + Send + Sync + 'static) -> f64 {
    let f = Arc::new(f);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || (0..CALLS).for_each(|i| f(i)))
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    started.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn main() {
    const ROUTES: [&str; 3] = [
        "/{root}/collections/{collection}/objects/",
        "/{root}/collections/{collection}/",
        "/taxii2/",
    ];
    const OPERATIONS: [&str; 4] = ["token_by_hash", "api_root", "collection", "query_objects"];
    for threads in [1, 2] {
        let m = Arc::new(Metrics::new("bench"));
        let request = {
            let m = m.clone();
            move |i: u32| {
                let started = Instant::now();
                let route = ROUTES[i as usize % ROUTES.len()];
                m.request(route, "GET", 200, started.elapsed());
            }
        };
        let store = {
            let m = m.clone();
            move |i: u32| {
                let started = Instant::now();
                let op = OPERATIONS[i as usize % OPERATIONS.len()];
                m.store_operation(op, started.elapsed());
            }
        };
        let clock = |_: u32| {
            let started = Instant::now();
            std::hint::black_box(started.elapsed() + Duration::from_nanos(1));
        };
        println!(
            "{threads} thread(s): request {:.0} ns, store operation {:.0} ns, the two clock readings alone {:.0} ns per call",
            per_call(threads, request),
            per_call(threads, store),
            per_call(threads, clock),
        );
        let text = m.render();
        assert!(text.contains("entente_http_requests_total"));
    }
}
