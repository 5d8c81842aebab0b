//! Test harness: real nodes in temporary directories, real server processes
//! on loopback, driven through the CLI and over HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_entente");
pub const TAXII: &str = "application/taxii+json;version=2.1";

/// A node's data directory with its admin token.
pub struct Node {
    pub dir: tempfile::TempDir,
    pub admin: String,
}

impl Node {
    pub fn init() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), &["init"]);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        let admin = text(&out.stdout).lines().last().unwrap().trim().to_string();
        assert!(admin.starts_with("ent_"), "{admin}");
        Node { dir, admin }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        run(self.path(), args)
    }

    /// Runs a CLI command that must succeed; returns its last stdout line.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "entente {args:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string()
    }

    pub fn collection(&self, title: &str) -> String {
        self.ok(&["collection", "create", "--title", title])
    }

    pub fn token(&self, name: &str, read: &[&str], write: &[&str]) -> String {
        let mut args = vec!["token", "create", "--name", name];
        for r in read {
            args.extend(["--read", r]);
        }
        for w in write {
            args.extend(["--write", w]);
        }
        self.ok(&args)
    }

    pub fn serve(&self) -> Server {
        Server::start(self.path(), &[])
    }
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("ENTENTE_DATA")
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A running `entente serve` process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: PathBuf,
}

impl Server {
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(rest) = line.split(" at ").nth(1)
                && line.contains("serving TAXII")
            {
                break rest.trim_end_matches("/taxii2/").to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server {
            child,
            base,
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL: no graceful shutdown, nothing flushed by the process.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A response reduced to what tests look at.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Reply {
        status: r.status().as_u16(),
        content_type,
        headers,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub fn get(url: &str, token: &str) -> Reply {
    reply(
        agent()
            .get(url)
            .header("Accept", TAXII)
            .header("Authorization", format!("Bearer {token}"))
            .call(),
    )
}

pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.call())
}

pub fn post(url: &str, token: &str, body: &str) -> Reply {
    reply(
        agent()
            .post(url)
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .header("Authorization", format!("Bearer {token}"))
            .send(body),
    )
}

pub fn post_with(url: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body))
}

pub fn delete(url: &str, token: &str) -> Reply {
    reply(
        agent()
            .delete(url)
            .header("Accept", TAXII)
            .header("Authorization", format!("Bearer {token}"))
            .call(),
    )
}

pub fn uuid(n: u32) -> String {
    format!("{n:08x}-1111-4111-8111-111111111111")
}

/// An indicator with a given number and `modified`.
pub fn indicator(n: u32, modified: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{}","created":"2020-01-01T00:00:00.000Z","modified":"{modified}","name":"Spyware domain {n}","pattern":"[domain-name:value = 'x{n}.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}}"#,
        uuid(n)
    )
}

pub fn envelope(objects: &[String]) -> String {
    format!(r#"{{"objects":[{}]}}"#, objects.join(","))
}

// Entente's own JSON API (not TAXII): `application/json` both ways.

pub const JSON: &str = "application/json";

fn with_token<B>(
    mut req: ureq::RequestBuilder<B>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> ureq::RequestBuilder<B> {
    req = req.header("Accept", JSON);
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req
}

/// GET on the JSON API; `None` for an anonymous request.
pub fn get_json(url: &str, token: Option<&str>) -> Reply {
    reply(with_token(agent().get(url), token, &[]).call())
}

/// POST a JSON body (Content-Type application/json unless `headers` set it).
pub fn post_json(url: &str, token: Option<&str>, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = with_token(agent().post(url), token, headers);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("Content-Type", JSON);
    }
    reply(req.send(body))
}

/// PUT a JSON body (Content-Type application/json unless `headers` set it).
pub fn put_json(url: &str, token: Option<&str>, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = with_token(agent().put(url), token, headers);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("Content-Type", JSON);
    }
    reply(req.send(body))
}

impl Node {
    /// A node made with extra `entente init` flags (e.g. `--max-content-length`).
    pub fn init_with(extra: &[&str]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["init"];
        args.extend_from_slice(extra);
        let out = run(dir.path(), &args);
        assert!(out.status.success(), "init failed: {}", text(&out.stderr));
        let admin = text(&out.stdout).lines().last().unwrap().trim().to_string();
        assert!(admin.starts_with("ent_"), "{admin}");
        Node { dir, admin }
    }

    /// The STIX identity id of an organisation, as `entente org list` shows it.
    pub fn org_identity(&self, name: &str) -> String {
        let out = self.cli(&["org", "list"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .find_map(|line| {
                let (org, identity) = line.trim_end().rsplit_once(char::is_whitespace)?;
                (org.trim_end() == name && identity.starts_with("identity--"))
                    .then(|| identity.to_string())
            })
            .unwrap_or_else(|| panic!("no organisation {name:?} in `entente org list`"))
    }
}
