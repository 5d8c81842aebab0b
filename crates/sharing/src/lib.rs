//! Who may see what.
//!
//! A [`Principal`] is the authenticated party behind a request; every path
//! that returns or accepts objects asks it before touching the store.
//! API tokens are random 256-bit secrets shown once and stored only as
//! SHA-256 digests ([`token`]).

pub mod token;

use std::collections::HashMap;

/// Rights on one collection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

/// The party a request acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The API token that authenticated the request.
    pub token_id: i64,
    /// Node administrators may read and write every collection.
    pub admin: bool,
    grants: HashMap<String, Access>,
}

impl Principal {
    pub fn new(
        token_id: i64,
        admin: bool,
        grants: impl IntoIterator<Item = (String, Access)>,
    ) -> Self {
        let mut map: HashMap<String, Access> = HashMap::new();
        for (collection, access) in grants {
            let entry = map.entry(collection).or_default();
            entry.read |= access.read;
            entry.write |= access.write;
        }
        Principal {
            token_id,
            admin,
            grants: map,
        }
    }

    /// Rights on a collection; `None` when the principal has none at all,
    /// in which case the collection's existence is not disclosed either.
    pub fn access(&self, collection_id: &str) -> Option<Access> {
        if self.admin {
            return Some(Access {
                read: true,
                write: true,
            });
        }
        self.grants
            .get(collection_id)
            .copied()
            .filter(|a| a.read || a.write)
    }

    pub fn can_read(&self, collection_id: &str) -> bool {
        self.access(collection_id).is_some_and(|a| a.read)
    }

    pub fn can_write(&self, collection_id: &str) -> bool {
        self.access(collection_id).is_some_and(|a| a.write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_decide_and_admin_sees_all() {
        let p = Principal::new(
            1,
            false,
            [
                (
                    "a".to_string(),
                    Access {
                        read: true,
                        write: false,
                    },
                ),
                (
                    "b".to_string(),
                    Access {
                        read: false,
                        write: true,
                    },
                ),
                ("c".to_string(), Access::default()),
            ],
        );
        assert!(p.can_read("a") && !p.can_write("a"));
        assert!(!p.can_read("b") && p.can_write("b"));
        assert_eq!(p.access("c"), None);
        assert_eq!(p.access("z"), None);
        let admin = Principal::new(2, true, []);
        assert!(admin.can_read("z") && admin.can_write("z"));
    }
}
