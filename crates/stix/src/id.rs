//! STIX identifiers: `type--UUID`.

use std::fmt;

/// A syntactically valid STIX identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("identifier {0:?} is not of the form type--UUID")]
    Shape(String),
    #[error(
        "identifier {0:?} has an invalid type part (3-250 characters of a-z, 0-9 and single '-', starting with a letter)"
    )]
    Type(String),
    #[error(
        "identifier {0:?} has an invalid UUID part (RFC 4122: lowercase hex 8-4-4-4-12, version 1-8, variant 8/9/a/b)"
    )]
    Uuid(String),
}

impl Identifier {
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        split_identifier(input)?;
        Ok(Identifier(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `--`.
    pub fn object_type(&self) -> &str {
        self.0.split_once("--").map(|(t, _)| t).unwrap_or("")
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The UUID version digit (4 for random UUIDs, 5 for name-based ones).
    pub fn uuid_version(&self) -> u8 {
        uuid_version(self.0.rsplit_once("--").map_or("", |(_, u)| u)).unwrap_or(0)
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks `input` as an identifier without allocating and returns its type
/// and UUID parts.
pub fn split_identifier(input: &str) -> Result<(&str, &str), IdentifierError> {
    let short = || input.chars().take(300).collect::<String>();
    let (ty, uuid) = input
        .split_once("--")
        .ok_or_else(|| IdentifierError::Shape(short()))?;
    if !is_valid_type_name(ty) {
        return Err(IdentifierError::Type(short()));
    }
    if !is_valid_uuid(uuid) {
        return Err(IdentifierError::Uuid(short()));
    }
    Ok((ty, uuid))
}

/// The STIX 2.1 rule for object type names: 3 to 250 characters, only
/// lowercase ASCII letters, digits and single hyphens, starting with a letter
/// (STIX 2.1 section 3.1). A trailing hyphen is refused too: `x-foo---UUID`
/// could not be split back into type and UUID unambiguously.
pub fn is_valid_type_name(ty: &str) -> bool {
    let b = ty.as_bytes();
    (3..=250).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !ty.contains("--")
        && !ty.ends_with('-')
}

/// The version digit of a UUID in textual form, if it is one.
pub fn uuid_version(s: &str) -> Option<u8> {
    is_valid_uuid(s).then(|| s.as_bytes()[14] - b'0')
}

/// RFC 4122 textual form (8-4-4-4-12 lowercase hex) with the RFC 4122 variant
/// bits and a defined version: 1 to 5 from RFC 4122, and 6 to 8 from RFC 9562,
/// which obsoletes it (time-ordered UUIDv7 identifiers are appearing in feeds).
/// Uppercase hex is refused although RFC 4122 reads it case-insensitively:
/// identifiers are compared byte for byte everywhere above this crate, so one
/// spelling per object is what keeps versions and duplicates together.
pub fn is_valid_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        };
        if !ok {
            return false;
        }
    }
    // Version: the first hex digit of the third group.
    // Variant: the first hex digit of the fourth group is 8, 9, a or b.
    (b'1'..=b'8').contains(&b[14]) && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_identifiers() {
        let id = Identifier::parse("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
        assert_eq!(id.object_type(), "indicator");
        assert_eq!(id.uuid_version(), 4);
        let v7 = Identifier::parse("indicator--01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
        assert_eq!(v7.uuid_version(), 7);
        assert!(Identifier::parse("x-custom-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_ok());
    }

    #[test]
    fn rejects_invalid_identifiers() {
        for bad in [
            "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F",
            "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f",
            "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
            "in--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "1abc--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "x-foo---8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b-17d4-9cbf-938f-98ee46b3cd3f",
            "indicator--00000000-0000-0000-0000-000000000000",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
    }
}
