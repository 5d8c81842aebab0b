//! The demo: a small node that shows what Entente is for.
//!
//! Three organisations (a national CERT, a civil-society helpdesk that posts
//! pseudonymously, a security vendor), two communities, and a fictional
//! spyware campaign against journalists shared at every TLP level: its
//! infrastructure, indicators, a sighting, a report, a TLP:RED note for one
//! analyst and a TLP:AMBER+STRICT lead kept inside the CERT. Everything is
//! our own writing; domains and addresses come from reserved documentation
//! ranges.

use std::path::Path;

use anyhow::{Context, bail};
use node::Collection;
use sharing::{Principal, Role, Tlp};

use crate::commands::{collection, init};
use crate::site::{self, Site};

pub const DEMO_BUNDLE: &str = include_str!("../../demo/demo-bundle.json");
const DEMO_RED: &str = include_str!("../../demo/demo-red.json");
const DEMO_CERT_INTERNAL: &str = include_str!("../../demo/demo-cert-internal.json");

/// The community collection most of the demo lives in.
pub const DEMO_COLLECTION: &str = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17";
const HELPDESK_COLLECTION: &str = "0c9e4b7a-3f21-4d58-8a6e-2b1f9d7c5e43";
const CERT_COLLECTION: &str = "7a1d2c3b-4e5f-4a6b-9c8d-0e1f2a3b4c5d";

const CERT: &str = "Example National CERT";
const HELPDESK: &str = "Civic Shield Helpdesk";
const VENDOR: &str = "Example Security Vendor";
const DIALOGUE: &str = "Cyber Dialogue";
const NETWORK: &str = "Helpdesk Network";
const CERT_IDENTITY: &str = "identity--6a833170-d69c-4d8b-9fe9-1d50f52e4bbe";
const HELPDESK_IDENTITY: &str = "identity--ee90c6ab-c84c-4988-9cd5-87f4e4133141";

/// Who owns a demo collection, by name.
enum DemoOwner<'a> {
    Org(&'a str),
    Community(&'a str),
}

/// Creates the node if needed, sets up the demo (idempotently) and prints
/// a token per demo user.
pub fn prepare(dir: &Path, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    if !site::database_path(dir).exists() {
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
    let site = Site::open(dir)?;
    let node = &site.node;
    let operator = site.operator();
    let org = |name: &str, identity: &str| -> anyhow::Result<node::Org> {
        Ok(
            match node.orgs(&operator)?.into_iter().find(|o| o.name == name) {
                Some(o) => o,
                None => node.create_org(&operator, name, Some(identity))?,
            },
        )
    };
    let cert = org(CERT, CERT_IDENTITY)?;
    let helpdesk = org(HELPDESK, HELPDESK_IDENTITY)?;
    let vendor = org(
        VENDOR,
        &format!("identity--{}", "3e7c9a1b-5d2f-4b8e-a6c4-9f0e1d2c3b4a"),
    )?;
    let community = |name: &str| -> anyhow::Result<()> {
        let known = node
            .communities_admin(&operator)?
            .iter()
            .any(|v| v.community.name == name);
        if !known {
            node.create_community(&operator, name, false)?;
        }
        Ok(())
    };
    community(DIALOGUE)?;
    community(NETWORK)?;
    for (c, o, pseudonymous) in [
        (DIALOGUE, CERT, false),
        (DIALOGUE, VENDOR, false),
        (DIALOGUE, HELPDESK, true),
        (NETWORK, HELPDESK, false),
        (NETWORK, CERT, false),
    ] {
        node.add_member(&operator, c, o, pseudonymous)?;
    }
    let user = |o: &node::Org, name: &str, role: Role| -> anyhow::Result<node::User> {
        Ok(match node.user_named(&format!("{}/{name}", o.name)) {
            Ok(u) => u,
            Err(_) => node.create_user(&operator, &o.name, name, role)?,
        })
    };
    let cert_analyst = user(&cert, "analyst", Role::Analyst)?;
    let helpdesk_analyst = user(&helpdesk, "analyst", Role::Analyst)?;
    let vendor_reader = user(&vendor, "reader", Role::Reader)?;

    let coll =
        |id: &str, title: &str, owner: DemoOwner, default_tlp: Tlp| -> anyhow::Result<Collection> {
            if let Ok((c, _)) = node.collection_for(&operator, None, id, node::Need::Any) {
                return Ok(c);
            }
            let (org, community) = match owner {
                DemoOwner::Org(o) => (Some(o.to_string()), None),
                DemoOwner::Community(c) => (None, Some(c.to_string())),
            };
            collection::create(
                &site,
                collection::CreateArgs {
                    title: title.into(),
                    id: Some(id.into()),
                    description: Some("Fictional demo data.".into()),
                    alias: None,
                    api_root: None,
                    org,
                    community,
                    default_tlp: Some(default_tlp.as_str().into()),
                    public: false,
                    unsigned: false,
                    hide_expired: false,
                },
            )
        };
    let shared = coll(
        DEMO_COLLECTION,
        "Cyber Dialogue: Operation INKWELL (NIGHTOWL spyware against journalists)",
        DemoOwner::Community(DIALOGUE),
        Tlp::Green,
    )?;
    let helpdesk_coll = coll(
        HELPDESK_COLLECTION,
        "Helpdesk Network: case notes",
        DemoOwner::Community(NETWORK),
        Tlp::Amber,
    )?;
    let cert_coll = coll(
        CERT_COLLECTION,
        "Example National CERT: internal leads",
        DemoOwner::Org(CERT),
        Tlp::AmberStrict,
    )?;

    let service = &site.node;
    let as_user = |u: &node::User| service.user_principal(u);
    let validator = site::validator();
    let parse = |text: &str| -> anyhow::Result<Vec<(usize, stix::StixObject)>> {
        let env = stix::split_envelope(text.as_bytes()).context("the demo data is damaged")?;
        env.objects
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                validator
                    .validate(i, raw)
                    .map(|o| (i, o))
                    .map_err(|r| anyhow::anyhow!("demo data: {r}"))
            })
            .collect()
    };
    // The campaign: the CERT posts what it authored, the helpdesk (pseudonymously) the rest.
    let (by_cert, by_helpdesk): (Vec<_>, Vec<_>) =
        parse(DEMO_BUNDLE)?.into_iter().partition(|(_, o)| {
            o.created_by_ref.as_deref() == Some(CERT_IDENTITY) || o.id == CERT_IDENTITY
        });
    let mut refused = Vec::new();
    let mut post = |p: &Principal,
                    c: &Collection,
                    objects: Vec<(usize, stix::StixObject)>|
     -> anyhow::Result<usize> {
        let report = service.ingest(p, c, objects, Vec::new(), &Default::default())?;
        for o in &report.outcomes {
            if let node::Outcome::Refused { message: why, .. } = &o.outcome {
                refused.push(why.clone());
            }
        }
        Ok(report.outcomes.len())
    };
    let mut total = post(&as_user(&helpdesk_analyst)?, &shared, by_helpdesk)?;
    total += post(&as_user(&cert_analyst)?, &shared, by_cert)?;
    total += post(
        &as_user(&helpdesk_analyst)?,
        &helpdesk_coll,
        parse(DEMO_RED)?,
    )?;
    total += post(
        &as_user(&cert_analyst)?,
        &cert_coll,
        parse(DEMO_CERT_INTERNAL)?,
    )?;
    service.sign_pending()?;
    if !refused.is_empty() {
        bail!("the demo data was refused: {}", refused.join("; "));
    }

    let mut tokens = Vec::new();
    for u in [&cert_analyst, &helpdesk_analyst, &vendor_reader] {
        let (_, secret) = node.create_token(
            &operator,
            &node::TokenRequest {
                name: Some(format!(
                    "demo {}/{} {}",
                    u.org_name,
                    u.name,
                    node::now().as_micros()
                )),
                user: Some(format!("{}/{}", u.org_name, u.name)),
                expires: Some(stix::Timestamp::from_micros(
                    node::now().as_micros() + 7 * 86_400 * 1_000_000,
                )),
                ..Default::default()
            },
        )?;
        tokens.push((format!("{}/{}", u.org_name, u.name), secret));
    }
    let mut links = Vec::new();
    for u in [&cert_analyst, &helpdesk_analyst, &vendor_reader] {
        let path = format!("{}/{}", u.org_name, u.name);
        let (_, secret, _) =
            node.create_sign_in_link(&operator, &path, Some(24 * 3_600_000_000), node::now())?;
        links.push((path, secret));
    }
    eprintln!("Demo: {total} objects in three collections, shared at every TLP level.");
    eprintln!(
        "  {DEMO_COLLECTION}  {DIALOGUE} community (CERT, vendor, helpdesk posting pseudonymously)"
    );
    eprintln!(
        "  {HELPDESK_COLLECTION}  {NETWORK} community (helpdesk, CERT): a TLP:RED note for the CERT's analyst"
    );
    eprintln!("  {CERT_COLLECTION}  the CERT's own collection: a TLP:AMBER+STRICT lead");
    eprintln!("\nTokens (valid 7 days) — compare what each one sees:");
    for (who, secret) in &tokens {
        eprintln!("  {who:<42} {secret}");
    }
    eprintln!(
        "\nWeb console at http://{listen}/ — one-time sign-in links (valid 24 hours; run serve --demo again for new ones):"
    );
    for (who, secret) in &links {
        eprintln!("  {who:<42} http://{listen}/console/link/{secret}");
    }
    if let Some((_, t)) = tokens.first() {
        eprintln!(
            "\nTry:\n  curl -H 'Authorization: Bearer {t}' http://{listen}/api1/collections/\n  curl -H 'Authorization: Bearer {t}' http://{listen}/api1/collections/{DEMO_COLLECTION}/objects/\n"
        );
    }
    Ok(())
}
