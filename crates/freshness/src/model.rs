//! The decay model as data: parameters per indicator kind.

use std::collections::BTreeMap;
use std::fmt;

use patterning::ast::{ObjectPath, PathStep};
use serde::Deserialize;

/// What an indicator's pattern looks for, as far as decay goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Ipv4,
    Ipv6,
    /// Network traffic, MAC addresses, autonomous systems.
    Network,
    Domain,
    Url,
    Email,
    /// A file (or artifact) by its hashes.
    FileHash,
    /// A file by name, path, size or anything but its hashes.
    File,
    /// Processes, registry keys, mutexes, software, user accounts, directories.
    Host,
    Certificate,
    /// Anything else (custom objects, other pattern languages).
    Other,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Network,
        Kind::Domain,
        Kind::Url,
        Kind::Email,
        Kind::FileHash,
        Kind::File,
        Kind::Host,
        Kind::Certificate,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Network => "network",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::FileHash => "file-hash",
            Kind::File => "file",
            Kind::Host => "host",
            Kind::Certificate => "certificate",
            Kind::Other => "other",
        }
    }

    /// The kind of the objects one comparison path tests.
    fn of_path(path: &ObjectPath) -> Kind {
        let first = match path.steps.first() {
            Some(PathStep::Key(k)) => k.as_str(),
            _ => "",
        };
        match path.object_type.as_str() {
            "ipv4-addr" => Kind::Ipv4,
            "ipv6-addr" => Kind::Ipv6,
            "network-traffic" | "mac-addr" | "autonomous-system" => Kind::Network,
            "domain-name" => Kind::Domain,
            "url" => Kind::Url,
            "email-addr" | "email-message" => Kind::Email,
            "file" | "artifact" if first == "hashes" => Kind::FileHash,
            "file" | "artifact" => Kind::File,
            "process"
            | "windows-registry-key"
            | "mutex"
            | "software"
            | "user-account"
            | "directory" => Kind::Host,
            "x509-certificate" => Kind::Certificate,
            _ => Kind::Other,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ModelError::UnknownKind(s.to_owned()))
    }
}

/// The decay parameters of one kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// τ: days after which the score is 0.
    pub lifetime_days: f64,
    /// δ: above 1 the score falls fast at first, below 1 it holds, then falls.
    pub decay_speed: f64,
    /// The score at age 0 of an indicator without `confidence` (0–100).
    pub base_score: f64,
    /// Below this score an indicator is stale (to review or revoke).
    pub threshold: f64,
}

impl Params {
    /// The score of an indicator `age_days` old with base score `base`.
    pub fn score(&self, base: f64, age_days: f64) -> f64 {
        let t = age_days.max(0.0);
        if t >= self.lifetime_days {
            return 0.0;
        }
        let s = base * (1.0 - (t / self.lifetime_days).powf(1.0 / self.decay_speed));
        s.clamp(0.0, 100.0)
    }
}

/// Parameters for every [`Kind`].
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    kinds: BTreeMap<Kind, Params>,
}

/// MISP's default base score and threshold (its "NIDS Simple Decaying
/// Model" and "Phishing model" both use 80 and 30).
const BASE: f64 = 80.0;
const THRESHOLD: f64 = 30.0;

impl Default for Model {
    /// The built-in table; README.md ("Keeping indicators fresh") gives the
    /// reasoning for each figure.
    fn default() -> Self {
        let p = |lifetime_days: f64, decay_speed: f64| Params {
            lifetime_days,
            decay_speed,
            base_score: BASE,
            threshold: THRESHOLD,
        };
        let kinds = BTreeMap::from([
            (Kind::Ipv4, p(30.0, 2.0)),
            (Kind::Ipv6, p(30.0, 2.0)),
            (Kind::Network, p(30.0, 2.0)),
            (Kind::Url, p(60.0, 2.0)),
            (Kind::Domain, p(120.0, 2.0)),
            (Kind::Email, p(180.0, 1.0)),
            (Kind::Other, p(180.0, 1.0)),
            (Kind::File, p(365.0, 1.0)),
            (Kind::Host, p(365.0, 1.0)),
            (Kind::Certificate, p(365.0, 1.0)),
            (Kind::FileHash, p(730.0, 0.5)),
        ]);
        Model { kinds }
    }
}

/// What is wrong with a model document.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "unknown indicator kind {0:?} (kinds: ipv4, ipv6, network, domain, url, email, file-hash, file, host, certificate, other)"
    )]
    UnknownKind(String),
    #[error("kind {kind}: {field} must be {rule} (found {value})")]
    Invalid {
        kind: Kind,
        field: &'static str,
        rule: &'static str,
        value: f64,
    },
    #[error("not a model document: {0}")]
    Syntax(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    kinds: BTreeMap<String, Override>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Override {
    lifetime_days: Option<f64>,
    decay_speed: Option<f64>,
    base_score: Option<f64>,
    threshold: Option<f64>,
}

impl Model {
    /// The parameters of `kind`.
    pub fn params(&self, kind: Kind) -> Params {
        self.kinds[&kind]
    }

    /// Every kind with its parameters, in [`Kind::ALL`] order.
    pub fn table(&self) -> impl Iterator<Item = (Kind, Params)> + '_ {
        Kind::ALL.into_iter().map(|k| (k, self.params(k)))
    }

    /// The built-in model with the parameters `text` gives replaced.
    /// `text` is TOML, or JSON when it starts with `{`:
    ///
    /// ```toml
    /// [kinds.ipv4]
    /// lifetime_days = 14
    /// decay_speed = 3
    /// ```
    ///
    /// Fields left out keep their built-in value; an unknown kind or field is
    /// an error, and so is a value outside its range.
    pub fn with_overrides(text: &str) -> Result<Model, ModelError> {
        let doc: Document = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| ModelError::Syntax(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| ModelError::Syntax(e.to_string()))?
        };
        let mut model = Model::default();
        for (name, o) in doc.kinds {
            let kind: Kind = name.parse()?;
            let p = model
                .kinds
                .get_mut(&kind)
                .expect("every kind has parameters");
            let check = |field: &'static str, value: f64, ok: bool, rule: &'static str| {
                if ok && value.is_finite() {
                    Ok(value)
                } else {
                    Err(ModelError::Invalid {
                        kind,
                        field,
                        rule,
                        value,
                    })
                }
            };
            if let Some(v) = o.lifetime_days {
                p.lifetime_days = check("lifetime_days", v, v > 0.0, "above 0")?;
            }
            if let Some(v) = o.decay_speed {
                p.decay_speed = check("decay_speed", v, v > 0.0, "above 0")?;
            }
            if let Some(v) = o.base_score {
                p.base_score = check("base_score", v, (0.0..=100.0).contains(&v), "0 to 100")?;
            }
            if let Some(v) = o.threshold {
                p.threshold = check("threshold", v, (0.0..=100.0).contains(&v), "0 to 100")?;
            }
        }
        Ok(model)
    }
}

/// The kind of a STIX pattern under `model`: the kind of every object path
/// it compares, and of those the one with the shortest lifetime (the pattern
/// is as fresh as its most volatile part). A pattern that does not parse is
/// [`Kind::Other`].
pub fn kind_of_pattern(pattern: &str, model: &Model) -> Kind {
    let Ok(parsed) = patterning::parse(pattern) else {
        return Kind::Other;
    };
    parsed
        .comparisons()
        .into_iter()
        .map(|c| Kind::of_path(&c.path))
        .min_by(|a, b| {
            model
                .params(*a)
                .lifetime_days
                .total_cmp(&model.params(*b).lifetime_days)
                .then(a.cmp(b))
        })
        .unwrap_or(Kind::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_patterns() {
        let m = Model::default();
        let k = |p: &str| kind_of_pattern(p, &m);
        assert_eq!(k("[ipv4-addr:value = '203.0.113.5']"), Kind::Ipv4);
        assert_eq!(k("[ipv6-addr:value = '2001:db8::1']"), Kind::Ipv6);
        assert_eq!(k("[domain-name:value = 'c2.example']"), Kind::Domain);
        assert_eq!(k("[url:value = 'https://c2.example/x']"), Kind::Url);
        assert_eq!(k("[file:hashes.'SHA-256' = 'aa']"), Kind::FileHash);
        assert_eq!(k("[file:name = 'evil.exe']"), Kind::File);
        assert_eq!(k("[mutex:name = 'm']"), Kind::Host);
        assert_eq!(k("[x-custom:value = 'v']"), Kind::Other);
        assert_eq!(k("not a pattern"), Kind::Other);
        // The most volatile part decides.
        assert_eq!(
            k(
                "[file:hashes.MD5 = 'aa'] AND [domain-name:value = 'c2.example' OR ipv4-addr:value = '1.2.3.4']"
            ),
            Kind::Ipv4
        );
    }

    #[test]
    fn the_formula() {
        let p = Params {
            lifetime_days: 100.0,
            decay_speed: 2.0,
            base_score: 80.0,
            threshold: 30.0,
        };
        assert_eq!(p.score(80.0, 0.0), 80.0);
        // (25/100)^(1/2) = 0.5
        assert!((p.score(80.0, 25.0) - 40.0).abs() < 1e-9);
        assert_eq!(p.score(80.0, 100.0), 0.0);
        assert_eq!(p.score(80.0, 500.0), 0.0);
        let slow = Params {
            decay_speed: 0.5,
            ..p
        };
        // (50/100)^2 = 0.25
        assert!((slow.score(80.0, 50.0) - 60.0).abs() < 1e-9);
    }

    #[test]
    fn overrides_in_toml_and_json() {
        let m = Model::with_overrides("[kinds.ipv4]\nlifetime_days = 7\n").unwrap();
        assert_eq!(m.params(Kind::Ipv4).lifetime_days, 7.0);
        assert_eq!(m.params(Kind::Ipv4).decay_speed, 2.0);
        assert_eq!(
            m.params(Kind::Domain),
            Model::default().params(Kind::Domain)
        );
        let m = Model::with_overrides(r#"{"kinds": {"file-hash": {"threshold": 50}}}"#).unwrap();
        assert_eq!(m.params(Kind::FileHash).threshold, 50.0);
        assert!(matches!(
            Model::with_overrides("[kinds.ip]\nlifetime_days = 7\n"),
            Err(ModelError::UnknownKind(_))
        ));
        assert!(matches!(
            Model::with_overrides("[kinds.url]\ndecay_speed = 0\n"),
            Err(ModelError::Invalid { .. })
        ));
        assert!(matches!(
            Model::with_overrides("[kinds.url]\nlifetme_days = 3\n"),
            Err(ModelError::Syntax(_))
        ));
    }
}
