//! The demo dataset: a fictional spyware campaign against journalists, its
//! infrastructure, indicators, a sighting and a report (all our own writing;
//! domains and addresses are from reserved documentation ranges).

use std::path::Path;

use anyhow::Context;
use store::Store;

use crate::commands::{collection, init, token};
use crate::node::{self, Node};

pub const DEMO_BUNDLE: &str = include_str!("../../demo/demo-bundle.json");
pub const DEMO_COLLECTION: &str = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17";

/// Creates the node if needed, loads the dataset (idempotently) and prints
/// a fresh read token for the demo collection.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    if !node::database_path(dir).exists() {
        let admin = init::create_node(
            dir,
            &init::Args {
                api_root: "api1".into(),
                title: "Entente demo".into(),
                max_content_length: 100 * 1024 * 1024,
            },
        )?;
        eprintln!(
            "Created a demo node in {}. Admin token (shown once):\n{admin}\n",
            dir.display()
        );
    }
    let node = Node::open(dir)?;
    let collection = match node.store.collection(DEMO_COLLECTION)? {
        Some(c) => c,
        None => collection::create(
            &node,
            collection::CreateArgs {
                title: "Demo: Operation INKWELL (NIGHTOWL spyware against journalists)".into(),
                id: Some(DEMO_COLLECTION.into()),
                description: Some("Fictional demo data: campaign, intrusion set, malware, infrastructure, indicators, sighting, report.".into()),
                alias: Some("demo".into()),
                api_root: None,
            },
        )?,
    };
    let envelope =
        stix::split_envelope(DEMO_BUNDLE.as_bytes()).context("the demo bundle is damaged")?;
    let validator = node::validator();
    let objects = envelope
        .objects
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            validator
                .validate(i, raw)
                .map_err(|r| anyhow::anyhow!("demo data: {r}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    node.store.add_objects(collection.key, &objects)?;
    let name = format!("demo-reader-{}", token::now().as_micros());
    let secret = token::create(
        &node,
        &token::CreateArgs {
            name,
            read: vec![DEMO_COLLECTION.into()],
            write: Vec::new(),
            admin: false,
            expires: Some("7d".into()),
        },
    )?;
    eprintln!(
        "Demo collection {DEMO_COLLECTION} holds {} objects. A read token for it (valid 7 days):\n{secret}\n\nTry:\n  curl -H 'Authorization: Bearer {secret}' http://127.0.0.1:9000/api1/collections/{DEMO_COLLECTION}/objects/\n",
        objects.len()
    );
    Ok(())
}
