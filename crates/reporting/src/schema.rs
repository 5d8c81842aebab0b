//! The published JSON Schema of the incident record, used at run time as the
//! register of field paths: rule files may only name fields the schema
//! defines (and only values its enums allow), and field labels in rendered
//! notifications are the schema's titles.

use std::sync::LazyLock;

use serde_json::Value;

/// The text of `schema/incident.schema.json`.
pub const INCIDENT_SCHEMA: &str = include_str!("../schema/incident.schema.json");

static PARSED: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(INCIDENT_SCHEMA).unwrap_or(Value::Null));

/// One step of a field path: a property name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    Name(&'a str),
    Index(usize),
}

/// Splits `products[0].name` into `products`, `[0]`, `name`.
pub fn steps(path: &str) -> Result<Vec<Step<'_>>, String> {
    let mut out = Vec::new();
    for segment in path.split('.') {
        let (name, mut rest) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if name.is_empty() {
            return Err(format!("`{path}` has an empty segment"));
        }
        out.push(Step::Name(name));
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| format!("`{path}` has an unclosed `[`"))?;
            let index = rest[1..close]
                .parse::<usize>()
                .map_err(|_| format!("`{path}`: `{}` is not a list index", &rest[1..close]))?;
            out.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("`{path}` has text after `]`"));
            }
        }
    }
    Ok(out)
}

fn schema() -> &'static Value {
    &PARSED
}

fn follow_ref(node: &'static Value) -> &'static Value {
    let mut current = node;
    // References are local (`#/$defs/Name`); a few hops at most.
    for _ in 0..8 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let Some(name) = reference.strip_prefix("#/$defs/") else {
                    return current;
                };
                match schema().get("$defs").and_then(|d| d.get(name)) {
                    Some(target) => current = target,
                    None => return current,
                }
            }
            None => return current,
        }
    }
    current
}

static ANYTHING: Value = Value::Bool(true);

/// The sub-schema that describes `path`, or why the path does not exist.
pub fn resolve(path: &str) -> Result<&'static Value, String> {
    resolve_both(path).map(|(_, node)| node)
}

/// The schema node written at `path` (whose `title` sits beside a `$ref`)
/// and the node it refers to.
fn resolve_both(path: &str) -> Result<(&'static Value, &'static Value), String> {
    let mut raw = schema();
    let mut node = follow_ref(schema());
    let mut walked = String::new();
    for step in steps(path)? {
        if node == &ANYTHING {
            return Ok((&ANYTHING, &ANYTHING));
        }
        raw = match step {
            Step::Name(name) => {
                let property = node.get("properties").and_then(|p| p.get(name));
                match (property, node.get("additionalProperties")) {
                    (Some(p), _) => p,
                    (None, Some(Value::Bool(true))) => &ANYTHING,
                    (None, Some(additional)) if additional.is_object() => additional,
                    _ => {
                        return Err(format!(
                            "the incident schema has no field `{name}`{}",
                            if walked.is_empty() {
                                String::new()
                            } else {
                                format!(" under `{walked}`")
                            }
                        ));
                    }
                }
            }
            Step::Index(_) => match node.get("items") {
                Some(items) => items,
                None => return Err(format!("`{walked}` is not a list")),
            },
        };
        node = follow_ref(raw);
        if !walked.is_empty() {
            walked.push('.');
        }
        match step {
            Step::Name(name) => walked.push_str(name),
            Step::Index(i) => walked.push_str(&format!("[{i}]")),
        }
    }
    Ok((raw, node))
}

/// The values an enum field allows, if it is an enum.
pub fn enum_values(path: &str) -> Option<Vec<String>> {
    let node = resolve(path).ok()?;
    let values = node.get("enum").or_else(|| {
        node.get("items")
            .map(follow_ref)
            .and_then(|i| i.get("enum"))
    })?;
    Some(
        values
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    )
}

/// A human label for a field: the schema's `title`, else the path itself.
pub fn label(path: &str) -> String {
    resolve_both(path)
        .ok()
        .and_then(|(raw, node)| raw.get("title").or_else(|| node.get("title")))
        .and_then(Value::as_str)
        .map_or_else(|| path.to_string(), str::to_string)
}

/// Every leaf field path the schema defines (maps and lists as one path).
pub fn field_paths() -> Vec<String> {
    fn walk(node: &'static Value, prefix: &str, out: &mut Vec<String>) {
        let node = follow_ref(node);
        match node.get("properties").and_then(Value::as_object) {
            Some(properties) => {
                for (name, child) in properties {
                    let path = if prefix.is_empty() {
                        name.clone()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    walk(child, &path, out);
                }
            }
            None => {
                if !prefix.is_empty() {
                    out.push(prefix.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(schema(), "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parses() {
        assert!(
            schema().is_object(),
            "schema/incident.schema.json is not valid JSON"
        );
    }

    #[test]
    fn paths_resolve_through_refs_maps_and_lists() {
        assert!(resolve("entity.contact.email").is_ok());
        assert!(resolve("products[0].name").is_ok());
        assert!(resolve("submissions.nis2.notification").is_ok());
        assert!(resolve("residents_by_state.CA").is_ok());
        assert!(resolve("facts.anything.at.all").is_ok());
        let err = resolve("entity.contact.fax").unwrap_err();
        assert!(err.contains("`fax` under `entity.contact`"), "{err}");
        assert!(resolve("description[0]").is_err());
    }

    #[test]
    fn enum_values_come_from_the_schema() {
        let values = enum_values("entity.nis2_class").unwrap();
        assert_eq!(values, ["essential", "important", "none"]);
    }

    #[test]
    fn labels_are_schema_titles_even_beside_a_ref() {
        assert_eq!(label("detected_at"), "Detected at");
        assert_eq!(label("entity.legal_name"), "Legal name");
        assert_eq!(label("facts.x"), "facts.x");
    }

    #[test]
    fn path_syntax_errors_are_explained() {
        assert!(steps("a..b").is_err());
        assert!(steps("a[1").is_err());
        assert!(steps("a[x]").is_err());
        assert_eq!(
            steps("a[1].b").unwrap(),
            vec![Step::Name("a"), Step::Index(1), Step::Name("b")]
        );
    }
}
