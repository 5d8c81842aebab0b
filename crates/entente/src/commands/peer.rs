//! `entente peer add|pull|push|sync|status`: federation with other TAXII
//! 2.1 servers (other Entente nodes, or any other).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use node::{Direction, PeerRequest};
use sharing::Tlp;

use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a peer: a remote TAXII 2.1 API root, the token to reach it, and
    /// the local organisation that stands for it.
    Add(AddArgs),
    /// Pin the peer's signing keys, replacing those pinned (e.g. after it
    /// ran `entente node keys --rotate`: pin the new key, and keep the old
    /// one to verify what it signed before).
    Keys {
        name: String,
        /// A key fingerprint (repeatable): `entente node keys` on the peer prints them.
        #[arg(long = "key", value_name = "FINGERPRINT", required = true)]
        keys: Vec<String>,
    },
    /// Name the local organisation that receives the TLP:AMBER+STRICT content
    /// the peer sends without naming recipients here (or, with --none, leave
    /// it to node administrators only). Objects already stored keep their
    /// audience.
    #[command(group(clap::ArgGroup::new("recipient").required(true).args(["org", "none"])))]
    StrictRecipient {
        name: String,
        /// The local organisation (it may not stand for a peer, and must be
        /// able to read the collections the peer's pulls store into).
        #[arg(long)]
        org: Option<String>,
        /// No organisation: node administrators only.
        #[arg(long)]
        none: bool,
    },
    /// Pull a remote collection into a local one (continuously under `serve`).
    Pull {
        name: String,
        /// The remote collection's id.
        #[arg(long)]
        remote_collection: String,
        /// The local collection (id or alias) to store into.
        #[arg(long)]
        into: String,
    },
    /// Push what the peer may receive from a local collection to a remote one.
    Push {
        name: String,
        /// The local collection (id or alias).
        #[arg(long)]
        from: String,
        /// The remote collection's id.
        #[arg(long)]
        remote_collection: String,
    },
    /// Run every pull and push of a peer; exit 0 when all succeeded, 1 when
    /// some failed or objects were refused, 2 when every one failed.
    Sync {
        name: String,
        /// Run each job once and exit (the only mode: `serve` runs them continuously).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Cursors, lag, last error, counts and provenance tallies of every job
    /// (of one peer, or all).
    Status { name: Option<String> },
}

#[derive(clap::Args)]
pub struct AddArgs {
    pub name: String,
    /// The peer's TAXII 2.1 API root, e.g. https://cti.example.org/api1/
    #[arg(long)]
    pub url: String,
    /// A file holding the API token this node presents to the peer (sent as
    /// `Bearer`), or `user:password` for servers that take HTTP Basic only
    /// (medallion); copied, mode 0600, into the data directory; never logged.
    /// Without it the peer is only registered, for a node that pulls from
    /// this one with a token of its own: its organisation is then known to
    /// stand for a node, and what other nodes sent here above TLP:GREEN is
    /// never served to it. Pulls and pushes need the token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// The local organisation that stands for the peer: what it may see is
    /// what the peer may receive, and what the peer sends is posted as it.
    #[arg(long)]
    pub org: String,
    /// Pin a signing key (repeatable): only content signed by a pinned key
    /// is `verified` (`entente node keys` on the peer prints its key).
    #[arg(long = "key", value_name = "FINGERPRINT")]
    pub keys: Vec<String>,
    /// The highest TLP the peer may receive (default amber+strict; RED never leaves).
    #[arg(long)]
    pub max_tlp: Option<String>,
    /// Store only content verified by a pinned key.
    #[arg(long)]
    pub refuse_unsigned: bool,
    /// The local organisation that receives the TLP:AMBER+STRICT content the
    /// peer sends without naming recipients here (the organisation that runs
    /// this node, typically). Without it, such content is read by node
    /// administrators only: AMBER+STRICT is for the recipient organisation,
    /// never for the other members of the collection's community.
    #[arg(long, value_name = "ORG")]
    pub strict_recipient: Option<String>,
    /// A PEM CA certificate the peer's TLS certificate must chain to
    /// (default: the platform's roots).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Allow an `http://` URL to a host other than loopback: the token and
    /// what is exchanged then travel in clear text.
    #[arg(long)]
    pub allow_plain_http: bool,
}

pub fn run(dir: &Path, command: Command) -> anyhow::Result<ExitCode> {
    let site = Site::open(dir)?;
    let operator = site.operator();
    match command {
        Command::Add(args) => {
            let token = match &args.token_file {
                Some(path) => Some(federation::credentials::read_token_file(path)?),
                None => None,
            };
            let max_tlp = match &args.max_tlp {
                Some(t) => Some(t.parse::<Tlp>()?),
                None => None,
            };
            let ca_file = match &args.ca {
                Some(p) => {
                    let pem = std::fs::read(p)
                        .with_context(|| format!("cannot read --ca {}", p.display()))?;
                    federation::Client::new(
                        &args.url,
                        String::new(),
                        Some(&pem),
                        federation::REQUEST_TIMEOUT,
                    )?;
                    Some(
                        std::fs::canonicalize(p)
                            .with_context(|| format!("--ca {}", p.display()))?
                            .display()
                            .to_string(),
                    )
                }
                None => None,
            };
            let peer = site.node.create_peer(
                &operator,
                &PeerRequest {
                    name: args.name.clone(),
                    url: args.url.clone(),
                    org: args.org.clone(),
                    keys: args.keys.clone(),
                    max_tlp,
                    refuse_unsigned: args.refuse_unsigned,
                    ca_file,
                    allow_plain_http: args.allow_plain_http,
                    strict_recipient: args.strict_recipient.clone(),
                },
            )?;
            if let Some(token) = &token {
                federation::credentials::save(dir, &peer.name, token)?;
            }
            println!(
                "peer {} at {} for {} (at most {}{}; {} key(s) pinned; its TLP:AMBER+STRICT for {})",
                peer.name,
                peer.url,
                args.org,
                peer.max_tlp,
                if peer.refuse_unsigned {
                    ", verified content only"
                } else {
                    ""
                },
                peer.keys.len(),
                strict_recipient(&site, &operator, &peer)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::StrictRecipient { name, org, none } => {
            debug_assert!(org.is_some() != none);
            let peer = site
                .node
                .set_peer_strict_recipient(&operator, &name, org.as_deref())?;
            println!(
                "peer {}: its TLP:AMBER+STRICT for {} (objects already stored keep their audience)",
                peer.name,
                strict_recipient(&site, &operator, &peer)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { name, keys } => {
            let peer = site.node.pin_peer_keys(&operator, &name, &keys)?;
            println!("peer {} pins {}", peer.name, peer.keys.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Command::Pull {
            name,
            remote_collection,
            into,
        } => {
            needs_token(dir, &name)?;
            let job = site.node.add_sync_job(
                &operator,
                &name,
                Direction::Pull,
                &remote_collection,
                &into,
            )?;
            println!(
                "job {}: pull remote collection {remote_collection} of {name} into {into}",
                job.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Push {
            name,
            from,
            remote_collection,
        } => {
            needs_token(dir, &name)?;
            let job = site.node.add_sync_job(
                &operator,
                &name,
                Direction::Push,
                &remote_collection,
                &from,
            )?;
            println!(
                "job {}: push {from} to remote collection {remote_collection} of {name}",
                job.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync { name, once: _ } => {
            let peer = site.node.peer(&operator, &name)?;
            let outcomes = federation::sync_once(&site.node, dir, &peer, &|| false)?;
            if outcomes.is_empty() {
                bail!("peer {name} has no pull or push (entente peer pull/push adds one)");
            }
            // What was pulled and stored here is signed by this node only
            // when it originated here; pushes need nothing more.
            site.node.sign_pending()?;
            let mut failed = 0;
            let mut partial = 0;
            for o in &outcomes {
                let local = site
                    .node
                    .job_collection(&o.job)
                    .map_or_else(|_| "(a deleted collection)".to_string(), |c| c.id);
                let what = match o.job.direction {
                    Direction::Pull => format!(
                        "pull remote collection {} into {local}",
                        o.job.remote_collection
                    ),
                    Direction::Push => format!(
                        "push {local} to remote collection {}",
                        o.job.remote_collection
                    ),
                };
                match &o.result {
                    Ok(run) => {
                        // Objects the other side refused (or that were
                        // refused here) make the run partial.
                        if run.stats.refused > 0 {
                            partial += 1;
                        }
                        println!(
                            "{what}: {} stored, {} already there, {} refused{}",
                            run.stats.stored,
                            run.stats.duplicates,
                            run.stats.refused,
                            if run.pending > 0 {
                                format!(", {} waiting for their signed manifest", run.pending)
                            } else {
                                String::new()
                            }
                        )
                    }
                    Err(e) => {
                        failed += 1;
                        println!("{what}: FAILED: {e}");
                    }
                }
            }
            if partial > 0 {
                println!("(entente peer status {name} shows why objects were refused)");
            }
            Ok(if failed == outcomes.len() {
                ExitCode::from(2)
            } else if failed > 0 || partial > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Status { name } => {
            let peers = match name {
                Some(n) => vec![site.node.peer(&operator, &n)?],
                None => site.node.peers(&operator)?,
            };
            if peers.is_empty() {
                println!("no peers (entente peer add adds one)");
            }
            let now = node::now();
            for peer in peers {
                println!(
                    "{}  {}  (at most {}{}; keys: {}; its TLP:AMBER+STRICT for {})",
                    peer.name,
                    peer.url,
                    peer.max_tlp,
                    if peer.refuse_unsigned {
                        ", verified only"
                    } else {
                        ""
                    },
                    if peer.keys.is_empty() {
                        "none pinned".to_string()
                    } else {
                        peer.keys.join(", ")
                    },
                    strict_recipient(&site, &operator, &peer)?
                );
                for job in site.node.sync_jobs(&operator, &peer)? {
                    let collection = site.node.job_collection(&job)?;
                    let lag = job
                        .last_success
                        .map(|t| format!("{}s ago", (now.as_micros() - t.as_micros()) / 1_000_000))
                        .unwrap_or_else(|| "never".into());
                    let s = job.stats;
                    println!(
                        "  job {} {} remote {} {} local {}: cursor {}, last success {lag}, {} stored, {} duplicates, {} refused; provenance {} verified, {} unsigned, {} invalid",
                        job.id,
                        job.direction.as_str(),
                        job.remote_collection,
                        if job.direction == Direction::Pull {
                            "into"
                        } else {
                            "from"
                        },
                        collection.id,
                        job.cursor.map_or("-".to_string(), |c| c.to_string()),
                        s.stored,
                        s.duplicates,
                        s.refused,
                        s.verified,
                        s.unsigned,
                        s.invalid
                    );
                    if let Some(e) = &job.last_error {
                        println!("    last error: {e}");
                    }
                    for f in site.node.push_failures(&job, 5)? {
                        println!(
                            "    refused by the peer: {} {}: {}",
                            f.id,
                            f.version.as_deref().unwrap_or(""),
                            f.message
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Pulls and pushes call the peer: refuse them for a peer added without a token.
fn needs_token(dir: &Path, name: &str) -> anyhow::Result<()> {
    if federation::credentials::exists(dir, name) {
        return Ok(());
    }
    bail!(
        "peer {name} was added without --token-file, so this node cannot call it; \
         add it under another name with --token-file to pull from it or push to it"
    )
}

/// Who receives the TLP:AMBER+STRICT content `peer` sends, as printed.
fn strict_recipient(
    site: &Site,
    operator: &sharing::Principal,
    peer: &node::Peer,
) -> anyhow::Result<String> {
    Ok(match peer.strict_recipient {
        None => "node administrators only".to_string(),
        Some(id) => site
            .node
            .orgs(operator)?
            .into_iter()
            .find(|o| o.id == id)
            .map_or_else(|| format!("organisation {id} (deleted)"), |o| o.name),
    })
}
