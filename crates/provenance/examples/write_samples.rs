//! Writes `tests/vectors/signed-bundle.json` and `tests/vectors/pinned.txt`:
//! a STIX bundle with content, a manifest over it, document signatures over
//! the report and the opinion, and the extension definitions, signed by a
//! fresh key whose fingerprint goes to `pinned.txt`. The bundle is checked
//! by `tests/vectors.rs` (Rust) and `tests/provenance/` (stix2-validator,
//! JSON Schema, an independent digest computation in Python).
//!
//!     cargo run -p provenance --example write_samples

use std::path::Path;

use provenance::document::SignatureOptions;
use provenance::manifest::ManifestOptions;
use provenance::{Origin, SigningKey, extension_definitions, sign_document, sign_manifest};

const CONTENT: [&str; 6] = [
    r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-11-30T10:15:00.000Z","modified":"2026-11-30T10:15:00.000Z","name":"Spyware C2 domain","description":"Seen on a journalist's phone – shared TLP:GREEN.","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'c2.example.net']","pattern_type":"stix","valid_from":"2026-11-30T10:15:00Z","confidence":85,"labels":["spyware"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}"#,
    r#"{"type":"malware","spec_version":"2.1","id":"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2026-11-30T10:00:00.000Z","modified":"2026-11-30T10:00:00.000Z","name":"Example spyware","is_family":true,"malware_types":["spyware"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}"#,
    r#"{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2026-11-30T10:16:00.000Z","modified":"2026-11-30T10:17:00.000Z","relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}"#,
    r#"{"type":"file","spec_version":"2.1","id":"file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d","name":"payload.apk","size":12345,"hashes":{"SHA-256":"6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}}"#,
    r#"{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3","created":"2026-11-20T09:00:00.000Z","modified":"2026-11-28T17:30:00.000Z","name":"Joint attribution of campaign NIGHT HERON","description":"The signatories attribute the campaign to the intrusion set.","report_types":["threat-actor"],"published":"2026-11-28T17:30:00Z","object_refs":["malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],"confidence":80,"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}"#,
    r#"{"type":"opinion","spec_version":"2.1","id":"opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7","created":"2026-11-29T08:00:00.000Z","modified":"2026-11-29T08:00:00.000Z","opinion":"strongly-agree","explanation":"Infrastructure overlap confirmed by our own telemetry.","object_refs":["report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}"#,
];

const TLP_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::generate()?;
    let created: jiff::Timestamp = "2026-12-03T06:00:00Z".parse()?;
    let manifest = sign_manifest(
        &key,
        &Origin {
            name: "Sample node".into(),
            url: Some("https://entente.example.org/api1/".into()),
        },
        &CONTENT,
        &ManifestOptions {
            created,
            created_by_ref: None,
            object_marking_refs: vec![TLP_GREEN.into()],
        },
    )?;
    let options = SignatureOptions {
        created,
        created_by_ref: None,
        signer_name: Some("Sample CERT".into()),
        object_marking_refs: vec![TLP_GREEN.into()],
    };
    let on_report = sign_document(&key, CONTENT[4], &options)?;
    let on_opinion = sign_document(&key, CONTENT[5], &options)?;

    let mut objects: Vec<serde_json::Value> = Vec::new();
    for raw in extension_definitions()
        .iter()
        .map(String::as_str)
        .chain(CONTENT)
        .chain([
            manifest.json.as_str(),
            on_report.json.as_str(),
            on_opinion.json.as_str(),
        ])
    {
        objects.push(serde_json::from_str(raw)?);
    }
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--6c8f2a8e-5d0a-4a44-9d3e-5e3b1f4b8c21",
        "objects": objects,
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("signed-bundle.json"),
        serde_json::to_string_pretty(&bundle)? + "\n",
    )?;
    std::fs::write(dir.join("pinned.txt"), format!("{}\n", key.fingerprint()))?;
    println!("wrote {} (signed by {})", dir.display(), key.fingerprint());
    Ok(())
}
