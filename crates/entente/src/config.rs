//! Node configuration: `entente.toml` in the data directory, overridden by
//! `ENTENTE_*` environment variables, overridden by command-line flags.
//!
//! Every setting an operator may need lives here, in a text file, never only
//! in the database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "entente.toml";
pub const DATABASE_NAME: &str = "entente.db";

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub taxii: Taxii,
    pub database: Database,
    pub console: Console,
    pub federation: Federation,
    pub metrics: Metrics,
    pub log: Log,
}

/// Prometheus metrics (`serve`): off unless `listen` is set or
/// `on_main_listener` is true.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// A separate plain-HTTP listener that answers `GET /metrics` without
    /// authentication (loopback, unless `allow_non_loopback`).
    pub listen: Option<SocketAddr>,
    /// Let `listen` be an address off loopback: anyone who reaches it
    /// reads the metrics.
    pub allow_non_loopback: bool,
    /// Also answer `GET /metrics` on the TAXII listener, to node
    /// administrators' tokens only.
    pub on_main_listener: bool,
}

impl Metrics {
    /// Whether anything serves the metrics (and so whether to record them).
    pub fn enabled(&self) -> bool {
        self.listen.is_some() || self.on_main_listener
    }
}

/// How `serve` and `peer` log to standard error.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    pub format: LogFormat,
}

/// Log lines as text for people, or as one JSON object per line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not a log format: text or json")),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Federation {
    /// Seconds between two runs of a peer's pulls and pushes while `serve`
    /// runs (failures wait longer, up to five minutes).
    pub interval_seconds: u64,
}

impl Default for Federation {
    fn default() -> Self {
        Federation {
            interval_seconds: 2,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the node serves HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS proxy).
    pub allow_plain_http: bool,
    /// The URL clients reach the node at, used in discovery responses.
    pub public_url: Option<String>,
    /// Connections served at once; further ones are closed on arrival.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (new or idle connection).
    pub header_timeout_seconds: u64,
    /// Longest pause, in seconds, while a request body arrives (then 408).
    pub body_timeout_seconds: u64,
    /// Seconds an answer may wait for the client to read it.
    pub write_timeout_seconds: u64,
    /// POST bodies one API token may have read and ingested at once.
    pub writes_per_token: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Taxii {
    pub title: String,
    pub description: Option<String>,
    pub contact: Option<String>,
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// Hours status resources are kept (at least 24).
    pub status_retention_hours: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// Also survive power loss (fsync every commit), at some write speed.
    pub synchronous_full: bool,
    /// Page cache, MiB.
    pub cache_mib: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Console {
    /// Seconds without activity after which a console session ends.
    pub session_idle_seconds: u64,
    /// Hours after sign-in after which a console session ends, however busy.
    pub session_max_hours: u64,
    /// Largest file the console's upload form takes, MiB.
    pub max_upload_mib: u64,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            session_idle_seconds: 1800,
            session_max_hours: 12,
            max_upload_mib: 64,
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Server {
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            public_url: None,
            max_connections: 512,
            header_timeout_seconds: 30,
            body_timeout_seconds: 30,
            write_timeout_seconds: 60,
            writes_per_token: 2,
        }
    }
}

impl Default for Taxii {
    fn default() -> Self {
        Taxii {
            title: "Entente node".into(),
            description: Some(
                "STIX 2.1 threat intelligence shared under TLP over TAXII 2.1".into(),
            ),
            contact: None,
            default_page_size: 1000,
            max_page_size: 10_000,
            status_retention_hours: 168,
        }
    }
}

impl Default for Database {
    fn default() -> Self {
        Database {
            synchronous_full: false,
            cache_mib: 48,
        }
    }
}

const TEMPLATE_HEADER: &str = "\
# Entente node configuration.
# Environment variables override these values: ENTENTE_LISTEN, ENTENTE_TLS_CERT,
# ENTENTE_TLS_KEY, ENTENTE_ALLOW_PLAIN_HTTP, ENTENTE_PUBLIC_URL, ENTENTE_TITLE,
# ENTENTE_METRICS_LISTEN, ENTENTE_LOG_FORMAT.
# Command-line flags override both.

";

impl Config {
    /// Reads `DIR/entente.toml` (defaults when absent) and applies the environment.
    pub fn load(data_dir: &Path) -> anyhow::Result<Config> {
        let path = data_dir.join(FILE_NAME);
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Config>(&text)
                .with_context(|| format!("{} is not a valid configuration", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.check()?;
        Ok(config)
    }

    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("ENTENTE_LISTEN") {
            self.server.listen = v.parse().with_context(|| {
                format!("ENTENTE_LISTEN={v:?} is not an address such as 127.0.0.1:9000")
            })?;
        }
        if let Some(v) = var("ENTENTE_TLS_CERT") {
            self.server.tls_cert = Some(v.into());
        }
        if let Some(v) = var("ENTENTE_TLS_KEY") {
            self.server.tls_key = Some(v.into());
        }
        if let Some(v) = var("ENTENTE_ALLOW_PLAIN_HTTP") {
            self.server.allow_plain_http = match v.as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => bail!("ENTENTE_ALLOW_PLAIN_HTTP={v:?} must be true or false"),
            };
        }
        if let Some(v) = var("ENTENTE_PUBLIC_URL") {
            self.server.public_url = Some(v);
        }
        if let Some(v) = var("ENTENTE_TITLE") {
            self.taxii.title = v;
        }
        if let Some(v) = var("ENTENTE_METRICS_LISTEN") {
            self.metrics.listen = Some(v.parse().with_context(|| {
                format!("ENTENTE_METRICS_LISTEN={v:?} is not an address such as 127.0.0.1:9464")
            })?);
        }
        if let Some(v) = var("ENTENTE_LOG_FORMAT") {
            self.log.format = v
                .parse()
                .map_err(|e: String| anyhow::anyhow!("ENTENTE_LOG_FORMAT: {e}"))?;
        }
        Ok(())
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            bail!("server.tls_cert and server.tls_key must be set together");
        }
        if self.taxii.default_page_size == 0 || self.taxii.max_page_size == 0 {
            bail!("taxii.default_page_size and taxii.max_page_size must be at least 1");
        }
        if self.federation.interval_seconds == 0 || self.federation.interval_seconds > 86_400 {
            bail!("federation.interval_seconds must be between 1 and 86400");
        }
        if self.taxii.status_retention_hours < 24 {
            bail!("taxii.status_retention_hours must be at least 24 (TAXII clients rely on a day)");
        }
        let server = &self.server;
        if server.max_connections == 0
            || server.header_timeout_seconds == 0
            || server.body_timeout_seconds == 0
            || server.write_timeout_seconds == 0
            || server.writes_per_token == 0
        {
            bail!(
                "server.max_connections, server.header_timeout_seconds, server.body_timeout_seconds, server.write_timeout_seconds and server.writes_per_token must be at least 1"
            );
        }
        let console = &self.console;
        if console.session_idle_seconds == 0
            || console.session_max_hours == 0
            || console.max_upload_mib == 0
        {
            bail!(
                "console.session_idle_seconds, console.session_max_hours and console.max_upload_mib must be at least 1"
            );
        }
        if console.session_max_hours > 24 * 30 || console.max_upload_mib > 4096 {
            bail!(
                "console.session_max_hours is at most 720 and console.max_upload_mib at most 4096"
            );
        }
        if self.metrics.allow_non_loopback && self.metrics.listen.is_none() {
            bail!(
                "metrics.allow_non_loopback applies to the metrics listener, and metrics.listen is not set"
            );
        }
        if let Some(url) = &self.server.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            bail!("server.public_url {url:?} must start with https:// (or http:// behind a proxy)");
        }
        Ok(())
    }

    /// The file `init` writes: every setting, with its default; those
    /// without one (TOML has no null) commented out in their section.
    pub fn template() -> anyhow::Result<String> {
        let defaults = toml::to_string_pretty(&Config::default())?;
        let mut text = String::from(TEMPLATE_HEADER);
        for line in defaults.lines() {
            text.push_str(line);
            text.push('\n');
            match line {
                "[server]" => text.push_str(
                    "# tls_cert = \"/etc/entente/cert.pem\"    # PEM chain; with tls_key, serve HTTPS\n\
                     # tls_key = \"/etc/entente/key.pem\"\n\
                     # public_url = \"https://cti.example.org\"  # the address clients use (discovery)\n",
                ),
                "[taxii]" => text.push_str("# contact = \"cert@example.org\"\n"),
                "[metrics]" => text.push_str(
                    "# listen = \"127.0.0.1:9464\"   # plain HTTP, GET /metrics without authentication\n",
                ),
                _ => {}
            }
        }
        Ok(text)
    }

    /// What `serve` allows each client: connections, timeouts, writes.
    pub fn connection_limits(&self) -> entente_http::ConnectionLimits {
        let server = &self.server;
        entente_http::ConnectionLimits {
            max_connections: server.max_connections,
            header_timeout: Duration::from_secs(server.header_timeout_seconds),
            body_idle_timeout: Duration::from_secs(server.body_timeout_seconds),
            write_stall_timeout: Duration::from_secs(server.write_timeout_seconds),
            writes_per_token: server.writes_per_token,
            ..entente_http::ConnectionLimits::default()
        }
    }

    pub fn http_config(&self) -> entente_http::HttpConfig {
        entente_http::HttpConfig {
            title: self.taxii.title.clone(),
            description: self.taxii.description.clone(),
            contact: self.taxii.contact.clone(),
            default_page_size: self.taxii.default_page_size,
            max_page_size: self.taxii.max_page_size,
            status_retention: std::time::Duration::from_secs(
                self.taxii.status_retention_hours * 3600,
            ),
            public_url: self.server.public_url.clone(),
            console: entente_http::console::ConsoleConfig {
                sessions: sharing::console::SessionLimits {
                    idle_micros: (self.console.session_idle_seconds as i64)
                        .saturating_mul(1_000_000),
                    absolute_micros: (self.console.session_max_hours as i64)
                        .saturating_mul(3_600_000_000),
                },
                max_upload_bytes: (self.console.max_upload_mib as usize).saturating_mul(1 << 20),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_back_to_defaults() {
        let text = Config::template().unwrap();
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(parsed.server.listen, Config::default().server.listen);
    }

    #[test]
    fn environment_overrides_and_errors_are_precise() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "ENTENTE_LISTEN").then(|| "0.0.0.0:8443".to_string()))
            .unwrap();
        assert_eq!(c.server.listen.port(), 8443);
        let err = c
            .apply_env(|k| (k == "ENTENTE_LISTEN").then(|| "nowhere".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("ENTENTE_LISTEN"));
        let err = toml::from_str::<Config>("[server]\nlisten = 5\n").unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        assert!(toml::from_str::<Config>("[server]\nlisen = \"x\"\n").is_err());
    }

    #[test]
    fn metrics_and_log_settings_parse_are_checked_and_come_from_the_environment() {
        assert!(!Config::default().metrics.enabled());
        assert_eq!(Config::default().log.format, LogFormat::Text);
        let c: Config = toml::from_str(
            "[metrics]\nlisten = \"127.0.0.1:9464\"\non_main_listener = true\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        c.check().unwrap();
        assert!(c.metrics.enabled());
        assert_eq!(c.metrics.listen.unwrap().port(), 9464);
        assert_eq!(c.log.format, LogFormat::Json);
        let only_main: Config = toml::from_str("[metrics]\non_main_listener = true\n").unwrap();
        assert!(only_main.metrics.enabled());

        // A setting that would do nothing is refused.
        let c: Config = toml::from_str("[metrics]\nallow_non_loopback = true\n").unwrap();
        let err = c.check().unwrap_err().to_string();
        assert!(err.contains("metrics.listen is not set"), "{err}");
        assert!(toml::from_str::<Config>("[log]\nformat = \"xml\"\n").is_err());
        assert!(toml::from_str::<Config>("[metrics]\nlisten = \"nowhere\"\n").is_err());

        let mut c = Config::default();
        c.apply_env(|k| match k {
            "ENTENTE_METRICS_LISTEN" => Some("127.0.0.1:9999".into()),
            "ENTENTE_LOG_FORMAT" => Some("json".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.metrics.listen.unwrap().port(), 9999);
        assert_eq!(c.log.format, LogFormat::Json);
        let err = c
            .apply_env(|k| (k == "ENTENTE_LOG_FORMAT").then(|| "xml".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("ENTENTE_LOG_FORMAT"), "{err}");
        let err = c
            .apply_env(|k| (k == "ENTENTE_METRICS_LISTEN").then(|| "nowhere".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("ENTENTE_METRICS_LISTEN"), "{err}");

        // The template names them, and reads back as the defaults.
        let text = Config::template().unwrap();
        for line in [
            "[metrics]",
            "# listen = \"127.0.0.1:9464\"",
            "on_main_listener = false",
            "[log]",
            "format = \"text\"",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        let parsed: Config = toml::from_str(&text).unwrap();
        assert!(!parsed.metrics.enabled());
    }

    #[test]
    fn connection_limits_come_from_the_file_and_zero_is_refused() {
        let c: Config =
            toml::from_str("[server]\nmax_connections = 2048\nheader_timeout_seconds = 5\n")
                .unwrap();
        c.check().unwrap();
        let limits = c.connection_limits();
        assert_eq!(limits.max_connections, 2048);
        assert_eq!(limits.header_timeout, Duration::from_secs(5));
        assert_eq!(limits.body_idle_timeout, Duration::from_secs(30));
        let c: Config = toml::from_str("[server]\nwrites_per_token = 0\n").unwrap();
        let err = c.check().unwrap_err().to_string();
        assert!(err.contains("writes_per_token"), "{err}");
    }
}
