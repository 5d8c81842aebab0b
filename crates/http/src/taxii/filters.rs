//! Query parameters of the TAXII read endpoints.
//!
//! Values of one `match[...]` field are OR'd (comma-separated; a repeated
//! parameter is refused); different fields are AND'd. Anything malformed gets a 400 that names the
//! parameter; nothing is silently ignored, because a filter that is dropped
//! returns more than the client asked for.

use node::VersionMatch;
use stix::Timestamp;

use crate::error::ApiError;

/// Which endpoint the parameters are for: each accepts a different set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Objects,
    Manifest,
    Object,
    ObjectDelete,
    Versions,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Objects => "objects",
            Endpoint::Manifest => "manifest",
            Endpoint::Object => "object",
            Endpoint::ObjectDelete => "object (DELETE)",
            Endpoint::Versions => "versions",
        }
    }

    fn allows(self, param: &str) -> bool {
        use Endpoint::*;
        match param {
            "added_after" | "limit" | "next" => !matches!(self, ObjectDelete),
            "match[id]" | "match[type]" => matches!(self, Objects | Manifest),
            "match[version]" => !matches!(self, Versions),
            "match[spec_version]" => true,
            _ => false,
        }
    }
}

/// Parsed, validated filters.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub added_after: Option<Timestamp>,
    pub limit: Option<usize>,
    pub next: Option<String>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: VersionMatch,
    pub spec_versions: Vec<String>,
}

/// Bound on values per filter, far above what clients send and well below
/// what would make one query expensive.
const MAX_VALUES: usize = 1000;

impl Filters {
    pub fn parse(query: Option<&str>, endpoint: Endpoint) -> Result<Filters, ApiError> {
        let mut f = Filters::default();
        let mut seen_single: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let key = key.as_ref();
            if !endpoint.allows(key) {
                return Err(if key.starts_with("match[") || known_elsewhere(key) {
                    ApiError::bad_request(format!(
                        "the {} endpoint does not support the {key} filter",
                        endpoint.name()
                    ))
                } else {
                    ApiError::bad_request(format!(
                        "unknown query parameter {key:?}; supported: added_after, limit, next, match[id], match[type], match[version], match[spec_version]"
                    ))
                });
            }
            let bad = |why: String| ApiError::bad_request(format!("{key}: {why}"));
            // TAXII: each parameter appears at most once (values are comma-separated).
            if seen_single.iter().any(|k| k == key) {
                return Err(bad(
                    "given more than once; separate several values with commas".into(),
                ));
            }
            seen_single.push(key.to_string());
            if key.starts_with("match[") && values(&value).next().is_none() {
                return Err(bad(
                    "has no value; give one or more comma-separated values, or leave the filter out"
                        .into(),
                ));
            }
            match key {
                "added_after" => f.added_after = Some(parse_added_after(&value).map_err(bad)?),
                "limit" => {
                    let n: usize = value
                        .parse()
                        .map_err(|_| bad(format!("{value:?} is not a positive integer")))?;
                    if n == 0 {
                        return Err(bad("must be at least 1".into()));
                    }
                    f.limit = Some(n);
                }
                "next" => f.next = Some(value.into_owned()),
                "match[id]" => {
                    for v in values(&value) {
                        stix::Identifier::parse(v).map_err(|e| bad(e.to_string()))?;
                        f.ids.push(v.to_string());
                    }
                }
                "match[type]" => {
                    for v in values(&value) {
                        if !stix::is_valid_type_name(v) {
                            return Err(bad(format!("{v:?} is not a valid STIX type name")));
                        }
                        f.types.push(v.to_string());
                    }
                }
                "match[version]" => {
                    let mut count = 0;
                    for v in values(&value) {
                        count += 1;
                        let repeated = match v {
                            "first" => std::mem::replace(&mut f.versions.first, true),
                            "last" => std::mem::replace(&mut f.versions.last, true),
                            "all" => std::mem::replace(&mut f.versions.all, true),
                            ts => {
                                let t = Timestamp::parse(ts).map_err(|e| {
                                    bad(format!("expected first, last, all or a timestamp: {e}"))
                                })?;
                                let seen = f.versions.at.contains(&t);
                                f.versions.at.push(t);
                                seen
                            }
                        };
                        if repeated {
                            return Err(bad(format!("{v:?} is listed twice")));
                        }
                    }
                    if f.versions.all && count > 1 {
                        return Err(bad("\"all\" cannot be combined with other versions".into()));
                    }
                }
                "match[spec_version]" => {
                    for v in values(&value) {
                        let ok = v.len() <= 8
                            && v.split('.').count() == 2
                            && v.split('.')
                                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
                        if !ok {
                            return Err(bad(format!("{v:?} is not a STIX version such as 2.1")));
                        }
                        f.spec_versions.push(v.to_string());
                    }
                }
                _ => unreachable_param(key)?,
            }
            if f.ids.len() + f.types.len() + f.versions.at.len() + f.spec_versions.len()
                > MAX_VALUES
            {
                return Err(bad(format!(
                    "at most {MAX_VALUES} filter values per request"
                )));
            }
        }
        for list in [&mut f.ids, &mut f.types, &mut f.spec_versions] {
            list.sort();
            list.dedup();
        }
        f.versions.at.sort();
        f.versions.at.dedup();
        Ok(f)
    }

    /// The fingerprint a `next` cursor of this query carries. `added_after`
    /// and `limit` may change between pages (clients do both); the match
    /// filters may not.
    pub fn fingerprint(&self, endpoint: Endpoint, collection: &str, object: &str) -> u64 {
        let v = &self.versions;
        let versions = format!(
            "{}{}{}{}",
            if v.first { "first," } else { "" },
            if v.last { "last," } else { "" },
            if v.all { "all," } else { "" },
            v.at.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let (ids, types, specs) = (
            self.ids.join(","),
            self.types.join(","),
            self.spec_versions.join(","),
        );
        super::cursor::fingerprint(&[
            endpoint.name(),
            collection,
            object,
            &ids,
            &types,
            &versions,
            &specs,
        ])
    }
}

/// `added_after` in the STIX form, or any RFC 3339 form a client library
/// may produce (`+00:00` or another offset instead of `Z`, lowercase `t`/`z`).
fn parse_added_after(value: &str) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse(value) {
        return Ok(t);
    }
    let normalized = value.trim().replace(['t', ' '], "T").replace('z', "Z");
    let (base, offset_minutes) = match normalized
        .get(19..)
        .and_then(|tail| tail.rfind(['+', '-']).map(|i| 19 + i))
    {
        Some(i) => {
            let (base, offset) = normalized.split_at(i);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let digits = &offset[1..];
            let (h, m) = digits
                .split_once(':')
                .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
                .filter(|(h, m)| *h < 24 && *m < 60 && digits.len() == 5)
                .ok_or_else(|| format!("{value:?} has an invalid UTC offset"))?;
            (format!("{base}Z"), sign * (h * 60 + m))
        }
        None => (normalized.clone(), 0),
    };
    let t = Timestamp::parse(&base).map_err(|e| e.to_string())?;
    Ok(Timestamp::from_micros(
        t.as_micros() - offset_minutes * 60_000_000,
    ))
}

fn known_elsewhere(key: &str) -> bool {
    matches!(key, "added_after" | "limit" | "next")
}

fn unreachable_param(key: &str) -> Result<(), ApiError> {
    Err(ApiError::bad_request(format!(
        "unsupported query parameter {key:?}"
    )))
}

fn values(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_filter() {
        let f = Filters::parse(
            Some("added_after=2020-01-01T00:00:00Z&limit=5&match[type]=indicator,malware,report&match[version]=first,2021-01-01T00:00:00.5Z&match[spec_version]=2.1&match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
            Endpoint::Objects,
        )
        .unwrap();
        assert_eq!(f.limit, Some(5));
        assert_eq!(f.types, ["indicator", "malware", "report"]);
        assert!(f.versions.first && !f.versions.last);
        assert_eq!(f.versions.at.len(), 1);
        assert_eq!(f.spec_versions, ["2.1"]);
        assert_eq!(f.ids.len(), 1);
    }

    #[test]
    fn refuses_malformed_and_misplaced_filters() {
        for (q, e) in [
            ("limit=0", Endpoint::Objects),
            ("limit=-3", Endpoint::Objects),
            ("limit=abc", Endpoint::Objects),
            ("added_after=2020-01-01", Endpoint::Objects),
            ("match[version]=newest", Endpoint::Objects),
            ("match[type]=Indicator", Endpoint::Objects),
            ("match[id]=nope", Endpoint::Objects),
            ("match[spec_version]=two", Endpoint::Objects),
            ("match[type]=indicator", Endpoint::Versions),
            (
                "match[id]=indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                Endpoint::Object,
            ),
            ("limit=3", Endpoint::ObjectDelete),
            ("match[colour]=red", Endpoint::Objects),
            ("sort=asc", Endpoint::Objects),
            ("limit=1&limit=2", Endpoint::Objects),
            (
                "match[type]=indicator&match[type]=malware",
                Endpoint::Objects,
            ),
            ("match[version]=all,last", Endpoint::Objects),
            ("match[version]=first,first", Endpoint::Objects),
            ("added_after=2020-01-01T00:00:00+25:00", Endpoint::Objects),
        ] {
            assert!(Filters::parse(Some(q), e).is_err(), "{q}");
        }
    }

    #[test]
    fn added_after_takes_rfc3339_offsets() {
        let z = parse_added_after("2020-01-01T10:00:00Z").unwrap();
        assert_eq!(parse_added_after("2020-01-01T10:00:00+00:00").unwrap(), z);
        assert_eq!(
            parse_added_after("2020-01-01T12:00:00.000+02:00").unwrap(),
            z
        );
        assert_eq!(parse_added_after("2020-01-01T09:30:00-00:30").unwrap(), z);
        assert_eq!(parse_added_after("2020-01-01t10:00:00z").unwrap(), z);
        assert!(parse_added_after("2020-01-01").is_err());
    }

    #[test]
    fn fingerprint_ignores_order_and_paging_parameters() {
        let a = Filters::parse(Some("match[type]=c-d,a-b&limit=2"), Endpoint::Objects).unwrap();
        let b = Filters::parse(
            Some("limit=9&match[type]=a-b,c-d&added_after=2020-01-01T00:00:00Z"),
            Endpoint::Objects,
        )
        .unwrap();
        let c = Filters::parse(Some("match[type]=c-d"), Endpoint::Objects).unwrap();
        assert_eq!(
            a.fingerprint(Endpoint::Objects, "x", ""),
            b.fingerprint(Endpoint::Objects, "x", "")
        );
        assert_ne!(
            a.fingerprint(Endpoint::Objects, "x", ""),
            c.fingerprint(Endpoint::Objects, "x", "")
        );
        assert_ne!(
            a.fingerprint(Endpoint::Objects, "x", ""),
            a.fingerprint(Endpoint::Manifest, "x", "")
        );
    }
}
