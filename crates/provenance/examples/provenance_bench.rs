//! Costs of provenance: sign and verify per manifest and per object for
//! batches of 1, 100, 1,000 and 10,000 objects, canonicalisation per object,
//! bytes added per object, and per-object signatures for comparison.
//! Single-threaded; prints a Markdown report. See bench/provenance/README.md.
//!
//!     cargo run --release -p provenance --example provenance_bench [ROUNDS]

use std::hint::black_box;
use std::time::{Duration, Instant};

use provenance::document::SignatureOptions;
use provenance::manifest::ManifestOptions;
use provenance::{
    Origin, PinnedKeys, ProvenanceIndex, SigningKey, canonicalize, object_digest, sign_document,
    sign_manifest, verify_manifest,
};

/// Indicators, relationships and files in turn, about 600 bytes on average,
/// with the properties real feeds carry (markings, kill chain, references,
/// non-ASCII text, numbers).
fn objects(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 3 {
            0 => format!(
                r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{i:08x}-8f6c-4b1e-9c2a-3d5e7f9a1b2c","created":"2026-11-30T10:15:{s:02}.123Z","modified":"2026-11-30T10:15:{s:02}.123Z","created_by_ref":"identity--6b6f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","name":"Spyware C2 domain {i}","description":"Domain seen on a journalist's phone (MVT check, process \"bh\" → network). Shared TLP:GREEN.","indicator_types":["malicious-activity","attribution"],"pattern":"[domain-name:value = 'c2-{i}.example-infra.net'] OR [url:value = 'https://c2-{i}.example-infra.net/ü/path?x=1']","pattern_type":"stix","pattern_version":"2.1","valid_from":"2026-11-30T10:15:00Z","valid_until":"2027-11-30T10:15:00Z","confidence":85,"labels":["spyware","civil-society"],"kill_chain_phases":[{{"kill_chain_name":"mitre-attack","phase_name":"command-and-control"}}],"external_references":[{{"source_name":"helpdesk","url":"https://example.org/report/{i}","description":"Forensic methodology"}}],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}}"#,
                s = i % 60
            ),
            1 => format!(
                r#"{{"type":"relationship","spec_version":"2.1","id":"relationship--{i:08x}-1111-4222-8333-444455556666","created":"2026-11-30T10:16:00.000Z","modified":"2026-11-30T10:16:00.000Z","relationship_type":"indicates","source_ref":"indicator--{i:08x}-8f6c-4b1e-9c2a-3d5e7f9a1b2c","target_ref":"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","confidence":70,"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}}"#
            ),
            _ => format!(
                r#"{{"type":"file","spec_version":"2.1","id":"file--{i:08x}-2222-5333-8444-555566667777","name":"payload-{i}.apk","size":{sz},"hashes":{{"SHA-256":"{h:064x}","MD5":"{m:032x}"}},"mime_type":"application/vnd.android.package-archive"}}"#,
                sz = 1000 + i * 37,
                h = i as u128 * 7919,
                m = i as u128 * 104729
            ),
        })
        .collect()
}

/// The fastest of `rounds` runs of `f`: the least disturbed by whatever
/// else shares the machine.
fn best<T>(rounds: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5);
    let key = SigningKey::generate()?;
    let pinned: PinnedKeys = [key.fingerprint()].into_iter().collect();
    let origin = Origin {
        name: "CERT-EE".into(),
        url: Some("https://taxii.example.ee/api1/".into()),
    };
    let options = ManifestOptions::now();

    println!("# provenance costs (best of {rounds} rounds, one thread)\n");

    // Raw composite operations over messages that differ each time (a
    // repeated message would replay the same rejection-sampling path).
    let n = 200;
    let messages: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("message {i}").into_bytes())
        .collect();
    let ctx = b"bench";
    let sign = best(rounds, || {
        for m in &messages {
            black_box(key.sign(m, ctx).ok());
        }
    }) / n as u32;
    let signatures: Vec<_> = messages
        .iter()
        .map(|m| key.sign(m, ctx))
        .collect::<Result<_, _>>()?;
    let verify = best(rounds, || {
        for (m, s) in messages.iter().zip(&signatures) {
            black_box(key.public_key().verify(m, ctx, s).is_ok());
        }
    }) / n as u32;
    let keygen = best(rounds, || SigningKey::generate().ok());
    println!("| composite ML-DSA-65 + Ed25519 | µs |");
    println!("|---|---:|");
    println!("| key generation | {:.0} |", us(keygen));
    println!("| sign (one signature) | {:.0} |", us(sign));
    println!("| verify (one signature) | {:.0} |\n", us(verify));

    // Canonicalisation.
    let sample = objects(30_000);
    let avg_len = sample.iter().map(String::len).sum::<usize>() / sample.len();
    let parse_only = best(rounds, || {
        for o in &sample {
            black_box(serde_json::from_str::<serde_json::Value>(o).ok());
        }
    });
    let ours = best(rounds, || {
        for o in &sample {
            black_box(canonicalize(o).ok());
        }
    });
    let theirs = best(rounds, || {
        for o in &sample {
            black_box(serde_json_canonicalizer::pipe(o).ok());
        }
    });
    let digest = best(rounds, || {
        for o in &sample {
            black_box(object_digest(o).ok());
        }
    });
    let per = |d: Duration| us(d) / sample.len() as f64;
    println!(
        "| per object ({} objects, {avg_len} B on average) | µs |",
        sample.len()
    );
    println!("|---|---:|");
    println!(
        "| serde_json parse to Value (reference) | {:.2} |",
        per(parse_only)
    );
    println!(
        "| RFC 8785 canonical form (this crate, parse included) | {:.2} |",
        per(ours)
    );
    println!(
        "| RFC 8785 canonical form (serde_json_canonicalizer::pipe) | {:.2} |",
        per(theirs)
    );
    println!(
        "| id + version + SHA-256 of the canonical form (`object_digest`) | {:.2} |\n",
        per(digest)
    );

    // Manifests per batch size.
    println!(
        "| batch | sign manifest (ms) | per object (µs) | verify manifest (ms) | per object (µs) \
         | receive: index + state of every object (ms) | per object (µs) | manifest bytes | bytes added per object |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in [1usize, 100, 1_000, 10_000] {
        let batch = objects(size);
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        let rounds_here = if size >= 10_000 {
            rounds.min(3)
        } else {
            rounds
        };
        let signing = best(rounds_here, || {
            sign_manifest(&key, &origin, &refs, &options).ok()
        });
        let manifest = sign_manifest(&key, &origin, &refs, &options)?;
        let verifying = best(rounds_here, || {
            verify_manifest(&manifest.json, &pinned).ok()
        });
        let receiving = best(rounds_here, || {
            let mut index = ProvenanceIndex::new(pinned.clone());
            let _ = index.add_manifest(&manifest.json);
            for o in &refs {
                black_box(index.state_of(o));
            }
        });
        let bytes = manifest.json.len();
        println!(
            "| {size} | {:.2} | {:.1} | {:.2} | {:.1} | {:.2} | {:.1} | {bytes} | {:.0} |",
            ms(signing),
            us(signing) / size as f64,
            ms(verifying),
            us(verifying) / size as f64,
            ms(receiving),
            us(receiving) / size as f64,
            bytes as f64 / size as f64,
        );
    }

    // One signature per object instead (what a manifest avoids).
    let batch = objects(1_000);
    let doc_options = SignatureOptions::now();
    let per_object = best(rounds.min(3), || {
        for o in &batch {
            black_box(sign_document(&key, o, &doc_options).ok());
        }
    });
    let one = sign_document(&key, &batch[0], &doc_options)?;
    println!(
        "\nPer-object signatures instead (1,000 `x-entente-signature` objects): \
         {:.0} µs and {} bytes per object.",
        us(per_object) / batch.len() as f64,
        one.json.len()
    );
    Ok(())
}
