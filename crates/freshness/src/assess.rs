//! Scoring indicators among STIX objects.

use std::collections::HashMap;

use serde_json::Value;
use stix::Timestamp;

use crate::model::{Kind, Model, kind_of_pattern};

const MICROS_PER_DAY: f64 = 86_400.0 * 1e6;

/// How fresh one indicator is at a given time.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub id: String,
    pub name: Option<String>,
    pub pattern: String,
    pub kind: Kind,
    /// 0–100 (see the crate documentation).
    pub score: f64,
    /// The score by age and sightings alone, as if it had neither expired
    /// nor been revoked.
    pub decay_score: f64,
    /// Below this, the indicator is stale (its kind's threshold).
    pub threshold: f64,
    /// At or after its `valid_until`.
    pub expired: bool,
    pub revoked: bool,
    /// `valid_from`, else `created`.
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    /// Days since `valid_from` (never negative).
    pub age_days: f64,
    /// Sighting objects of this indicator among the objects assessed.
    pub sightings: u64,
    /// The latest time a sighting says it was seen.
    pub last_sighted: Option<Timestamp>,
}

impl Assessment {
    /// Stale: scoring below `below`, else below its kind's threshold.
    pub fn is_stale(&self, below: Option<f64>) -> bool {
        self.score < below.unwrap_or(self.threshold)
    }

    /// The JSON form the CLI (`--format json`) and the Entente API share.
    pub fn to_json(&self) -> Value {
        let t = |t: Option<Timestamp>| t.map(Timestamp::to_stix);
        let round = |x: f64| (x * 100.0).round() / 100.0;
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "kind": self.kind.as_str(),
            "pattern": self.pattern,
            "score": round(self.score),
            "threshold": self.threshold,
            "expired": self.expired,
            "revoked": self.revoked,
            "valid_from": t(self.valid_from),
            "valid_until": t(self.valid_until),
            "age_days": round(self.age_days),
            "sightings": self.sightings,
            "last_sighted": t(self.last_sighted),
        })
    }
}

fn time(o: &Value, key: &str) -> Option<Timestamp> {
    o.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse(s).ok())
}

fn text(o: &Value, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Whether `indicator` (its JSON) is at or after its `valid_until` at `now`.
pub fn is_expired(indicator: &Value, now: Timestamp) -> bool {
    expires_at(indicator).is_some_and(|until| until <= now)
}

/// When `indicator` (its JSON) expires: its `valid_until`, if it has one.
pub fn expires_at(indicator: &Value) -> Option<Timestamp> {
    time(indicator, "valid_until")
}

/// Every indicator among `objects` (the latest version of each id, by
/// `modified`), scored at `now` with the sightings among `objects` that
/// refer to it, lowest score first (then by id).
pub fn assess(objects: &[Value], model: &Model, now: Timestamp) -> Vec<Assessment> {
    fn kind_of(o: &Value) -> Option<&str> {
        o.get("type").and_then(Value::as_str)
    }
    // The latest version of each sighting, then per indicator: how many and
    // the latest time seen.
    let mut sightings: HashMap<&str, (Option<Timestamp>, &Value)> = HashMap::new();
    for o in objects.iter().filter(|o| kind_of(o) == Some("sighting")) {
        let Some(id) = o.get("id").and_then(Value::as_str) else {
            continue;
        };
        let modified = time(o, "modified");
        match sightings.get(id) {
            Some((m, _)) if *m >= modified => {}
            _ => {
                sightings.insert(id, (modified, o));
            }
        }
    }
    let mut seen: HashMap<&str, (u64, Option<Timestamp>)> = HashMap::new();
    for (_, s) in sightings.values() {
        let Some(target) = s.get("sighting_of_ref").and_then(Value::as_str) else {
            continue;
        };
        let at = time(s, "last_seen")
            .or_else(|| time(s, "first_seen"))
            .or_else(|| time(s, "created"));
        let e = seen.entry(target).or_insert((0, None));
        e.0 += 1;
        e.1 = e.1.max(at);
    }

    let mut latest: HashMap<&str, (Option<Timestamp>, &Value)> = HashMap::new();
    for o in objects.iter().filter(|o| kind_of(o) == Some("indicator")) {
        let Some(id) = o.get("id").and_then(Value::as_str) else {
            continue;
        };
        let modified = time(o, "modified");
        match latest.get(id) {
            Some((m, _)) if *m >= modified => {}
            _ => {
                latest.insert(id, (modified, o));
            }
        }
    }

    let mut out: Vec<Assessment> = latest
        .into_iter()
        .map(|(id, (_, o))| {
            let pattern = text(o, "pattern").unwrap_or_default();
            let kind = match o.get("pattern_type").and_then(Value::as_str) {
                None | Some("stix") => kind_of_pattern(&pattern, model),
                Some(_) => Kind::Other,
            };
            let params = model.params(kind);
            let valid_from = time(o, "valid_from").or_else(|| time(o, "created"));
            let valid_until = time(o, "valid_until");
            let revoked = o.get("revoked").and_then(Value::as_bool) == Some(true);
            let expired = valid_until.is_some_and(|u| u <= now);
            let (count, last_sighted) = seen.get(id).copied().unwrap_or((0, None));
            let days = |since: Option<Timestamp>| {
                since.map_or(0.0, |s| {
                    ((now.as_micros() - s.as_micros()) as f64 / MICROS_PER_DAY).max(0.0)
                })
            };
            let age_days = days(valid_from);
            // A sighting restarts the decay.
            let since = valid_from.max(last_sighted).or(valid_from);
            let base = o
                .get("confidence")
                .and_then(Value::as_f64)
                .filter(|c| (0.0..=100.0).contains(c))
                .unwrap_or(params.base_score);
            let decay_score = params.score(base, days(since));
            let score = if revoked || expired { 0.0 } else { decay_score };
            Assessment {
                id: id.to_owned(),
                name: text(o, "name"),
                pattern,
                kind,
                score,
                decay_score,
                threshold: params.threshold,
                expired,
                revoked,
                valid_from,
                valid_until,
                age_days,
                sightings: count,
                last_sighted,
            }
        })
        .collect();
    out.sort_by(|a, b| a.score.total_cmp(&b.score).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn indicator(id: &str, pattern: &str, valid_from: &str) -> Value {
        json!({"type": "indicator", "spec_version": "2.1", "id": id,
               "created": valid_from, "modified": valid_from,
               "pattern": pattern, "pattern_type": "stix", "valid_from": valid_from})
    }

    #[test]
    fn age_kind_expiry_revocation_and_sightings() {
        let model = Model::default();
        let now = at("2026-03-01T00:00:00Z");
        let ip = "indicator--00000000-0000-4000-8000-000000000001";
        let hash = "indicator--00000000-0000-4000-8000-000000000002";
        let gone = "indicator--00000000-0000-4000-8000-000000000003";
        let revoked = "indicator--00000000-0000-4000-8000-000000000004";
        let seen = "indicator--00000000-0000-4000-8000-000000000005";
        let mut expired = indicator(
            gone,
            "[domain-name:value = 'a.example']",
            "2026-02-20T00:00:00Z",
        );
        expired["valid_until"] = json!("2026-02-28T00:00:00Z");
        let mut rev = indicator(
            revoked,
            "[domain-name:value = 'b.example']",
            "2026-02-28T00:00:00Z",
        );
        rev["revoked"] = json!(true);
        let objects = vec![
            // 15 days of a 30-day lifetime, δ = 2: 80 × (1 − √0.5).
            indicator(
                ip,
                "[ipv4-addr:value = '203.0.113.5']",
                "2026-02-14T00:00:00Z",
            ),
            indicator(
                hash,
                "[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']",
                "2026-02-14T00:00:00Z",
            ),
            expired,
            rev,
            indicator(
                seen,
                "[ipv4-addr:value = '203.0.113.6']",
                "2026-02-14T00:00:00Z",
            ),
            json!({"type": "sighting", "spec_version": "2.1",
                   "id": "sighting--00000000-0000-4000-8000-000000000009",
                   "created": "2026-02-28T00:00:00Z", "modified": "2026-02-28T00:00:00Z",
                   "sighting_of_ref": seen, "last_seen": "2026-02-28T00:00:00Z"}),
        ];
        let a = assess(&objects, &model, now);
        let by = |id: &str| a.iter().find(|x| x.id == id).unwrap();
        assert_eq!(by(ip).kind, Kind::Ipv4);
        assert!((by(ip).score - 80.0 * (1.0 - 0.5f64.sqrt())).abs() < 1e-6);
        assert!((by(ip).age_days - 15.0).abs() < 1e-9);
        // File hashes decay slowly: barely moved after 15 days.
        assert_eq!(by(hash).kind, Kind::FileHash);
        assert!(by(hash).score > 79.0);
        assert!(by(gone).expired);
        assert_eq!(by(gone).score, 0.0);
        assert!(by(gone).decay_score > 0.0);
        assert!(by(revoked).revoked);
        assert_eq!(by(revoked).score, 0.0);
        // Sighted a day ago: one day of decay, not fifteen.
        assert_eq!(by(seen).sightings, 1);
        assert!((by(seen).score - 80.0 * (1.0 - (1.0f64 / 30.0).sqrt())).abs() < 1e-6);
        assert!(by(seen).score > by(ip).score);
        // Lowest first.
        assert!(a.windows(2).all(|w| w[0].score <= w[1].score));
    }

    #[test]
    fn confidence_is_the_base_and_latest_version_counts() {
        let model = Model::default();
        let now = at("2026-03-01T00:00:00Z");
        let id = "indicator--00000000-0000-4000-8000-000000000001";
        let mut v1 = indicator(
            id,
            "[domain-name:value = 'a.example']",
            "2026-03-01T00:00:00Z",
        );
        v1["valid_until"] = json!("2026-02-01T00:00:00Z");
        let mut v2 = v1.clone();
        v2["modified"] = json!("2026-03-01T00:00:01Z");
        v2["valid_until"] = json!("2027-01-01T00:00:00Z");
        v2["confidence"] = json!(50);
        let a = assess(&[v2, v1], &model, now);
        assert_eq!(a.len(), 1);
        assert!(!a[0].expired);
        assert_eq!(a[0].score, 50.0);
    }
}
