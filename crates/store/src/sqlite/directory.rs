//! API roots, collections, organisations, users, communities and tokens.

use rusqlite::{Connection, OptionalExtension, params};
use sharing::{CommunityId, OrgId, Owner, Role};
use stix::Timestamp;

use super::audit::append_in;
use super::{
    SqliteStore, cached_exec, cached_row, cached_rows, db, now, opt_ts, tlp_from, tlp_rank, ts,
};
use crate::{
    ApiRoot, AuditEntry, Collection, Community, DirectoryStore, Grant, Membership, NewCollection,
    NewToken, Org, Result, StoreError, TokenRecord, User,
};

fn collection_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Collection> {
    let owner = match (r.get::<_, Option<i64>>(7)?, r.get::<_, Option<i64>>(8)?) {
        (Some(org), _) => Owner::Org(org),
        (None, Some(community)) => Owner::Community(community),
        (None, None) => Owner::Node,
    };
    Ok(Collection {
        key: r.get(0)?,
        id: r.get(1)?,
        api_root: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        alias: r.get(5)?,
        created: ts(r.get(6)?),
        owner,
        default_tlp: tlp_from(r.get(9)?),
        public: r.get(10)?,
        signed: r.get(11)?,
        hide_expired: r.get(12)?,
    })
}

/// The `node_meta` key prefix of the collections that hide expired
/// indicators (followed by the collection's key; the row's presence is the
/// setting). A collection setting kept there rather than in a new column
/// of `collections`, so that it needs no schema migration.
macro_rules! hide_expired_prefix {
    () => {
        "collection.hide_expired."
    };
}
const HIDE_EXPIRED: &str = hide_expired_prefix!();

const COLLECTION_COLUMNS: &str = concat!(
    "key, id, api_root, title, description, alias, created, owner_org, owner_community, default_tlp, public, signed, ",
    "EXISTS(SELECT 1 FROM node_meta WHERE node_meta.key = '",
    hide_expired_prefix!(),
    "' || collections.key)"
);
fn set_hide_expired_in(conn: &Connection, collection: i64, hide: bool) -> Result<()> {
    let key = format!("{HIDE_EXPIRED}{collection}");
    if hide {
        cached_exec(
            conn,
            "INSERT OR IGNORE INTO node_meta (key, value) VALUES (?1, X'01')",
            [&key],
        )
    } else {
        cached_exec(conn, "DELETE FROM node_meta WHERE key = ?1", [&key])
    }
    .map_err(db)?;
    Ok(())
}

fn role_from(text: &str) -> rusqlite::Result<Role> {
    text.parse().map_err(|e: sharing::model::UnknownRole| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const USER_COLUMNS: &str = "u.id, u.org, o.name, u.name, u.role, u.created";

fn user_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(at)?,
        org: r.get(at + 1)?,
        org_name: r.get(at + 2)?,
        name: r.get(at + 3)?,
        role: role_from(&r.get::<_, String>(at + 4)?)?,
        created: ts(r.get(at + 5)?),
    })
}

fn org_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Org> {
    Ok(Org {
        id: r.get(0)?,
        name: r.get(1)?,
        identity_id: r.get(2)?,
        created: ts(r.get(3)?),
    })
}

fn community_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Community> {
    Ok(Community {
        id: r.get(0)?,
        name: r.get(1)?,
        show_members: r.get(2)?,
        created: ts(r.get(3)?),
    })
}

fn conflict_as(what: String) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| match db(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

fn load_token(conn: &Connection, r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let id: i64 = r.get(0)?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, g.can_read, g.can_write FROM token_grants g
         JOIN collections c ON c.key = g.collection WHERE g.token = ?1 ORDER BY c.id",
    )?;
    let grants = stmt
        .query_map([id], |g| {
            Ok(Grant {
                collection_id: g.get(0)?,
                can_read: g.get(1)?,
                can_write: g.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let user_id: Option<i64> = r.get(7)?;
    let user = match user_id {
        Some(u) => cached_row(
            conn,
            &format!(
                "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org WHERE u.id = ?1"
            ),
            [u],
            |row| user_from_row(row, 0),
        )
        .optional()?,
        None => None,
    };
    Ok(TokenRecord {
        id,
        name: r.get(1)?,
        admin: r.get(2)?,
        user,
        created: ts(r.get(3)?),
        expires: opt_ts(r.get(4)?),
        revoked: opt_ts(r.get(5)?),
        last_used: opt_ts(r.get(6)?),
        grants,
        max_tlp: tlp_from(r.get(8)?),
    })
}

const TOKEN_COLUMNS: &str = "id, name, admin, created, expires, revoked, last_used, user, max_tlp";

impl SqliteStore {
    /// Memberships matching `condition` (on `?1` = `key`).
    fn membership_rows(&self, condition: &str, key: i64) -> Result<Vec<Membership>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!(
                "SELECT community, org, pseudonymous FROM community_members WHERE {condition}"
            ),
            [key],
            |r| {
                Ok(Membership {
                    community: r.get(0)?,
                    org: r.get(1)?,
                    pseudonymous: r.get(2)?,
                })
            },
        )
        .map_err(db)
    }
}

impl DirectoryStore for SqliteStore {
    fn api_roots(&self) -> Result<Vec<ApiRoot>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT path, title, description, max_content_length FROM api_roots ORDER BY path",
            [],
            |r| {
                Ok(ApiRoot {
                    path: r.get(0)?,
                    title: r.get(1)?,
                    description: r.get(2)?,
                    max_content_length: r.get::<_, i64>(3)? as u64,
                })
            },
        )
        .map_err(db)
    }

    fn api_root(&self, path: &str) -> Result<Option<ApiRoot>> {
        Ok(self.api_roots()?.into_iter().find(|r| r.path == path))
    }

    fn create_api_root(&self, root: &ApiRoot, audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |conn| {
            cached_exec(conn,
                "INSERT INTO api_roots (path, title, description, max_content_length) VALUES (?1, ?2, ?3, ?4)",
                params![root.path, root.title, root.description, root.max_content_length as i64],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn collections(&self, api_root: &str) -> Result<Vec<Collection>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!(
                "SELECT {COLLECTION_COLUMNS} FROM collections WHERE api_root = ?1 ORDER BY id"
            ),
            [api_root],
            collection_from_row,
        )
        .map_err(db)
    }

    fn all_collections(&self) -> Result<Vec<Collection>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            &format!("SELECT {COLLECTION_COLUMNS} FROM collections ORDER BY created, key"),
            [],
            collection_from_row,
        )
        .map_err(db)
    }

    fn collection(&self, id: &str) -> Result<Option<Collection>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE id = ?1"),
            [id],
            collection_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn collection_by_key(&self, key: i64) -> Result<Option<Collection>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE key = ?1"),
            [key],
            collection_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn create_collection(&self, new: &NewCollection, audit: &AuditEntry) -> Result<Collection> {
        self.audited(audit, |conn| {
            let root_exists: bool = cached_row(
                conn,
                "SELECT EXISTS(SELECT 1 FROM api_roots WHERE path = ?1)",
                [&new.api_root],
                |r| r.get(0),
            )
            .map_err(db)?;
            if !root_exists {
                return Err(StoreError::NotFound(format!("API root {:?}", new.api_root)));
            }
            let created = now();
            let (owner_org, owner_community) = match new.owner {
                Owner::Node => (None, None),
                Owner::Org(o) => (Some(o), None),
                Owner::Community(c) => (None, Some(c)),
            };
            cached_exec(
                conn,
                "INSERT INTO collections (id, api_root, title, description, alias, created,
                                          owner_org, owner_community, default_tlp, public, signed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    new.id,
                    new.api_root,
                    new.title,
                    new.description,
                    new.alias,
                    created.as_micros(),
                    owner_org,
                    owner_community,
                    tlp_rank(new.default_tlp),
                    new.public,
                    new.signed
                ],
            )
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a collection with id {} already exists", new.id))
                }
                other => other,
            })?;
            let key = conn.last_insert_rowid();
            set_hide_expired_in(conn, key, new.hide_expired)?;
            Ok(Collection {
                key,
                id: new.id.clone(),
                api_root: new.api_root.clone(),
                title: new.title.clone(),
                description: new.description.clone(),
                alias: new.alias.clone(),
                created,
                owner: new.owner,
                default_tlp: new.default_tlp,
                public: new.public,
                signed: new.signed,
                hide_expired: new.hide_expired,
            })
        })
    }

    fn set_hide_expired(&self, collection: i64, hide: bool, audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |conn| set_hide_expired_in(conn, collection, hide))
    }

    fn create_org(&self, name: &str, identity_id: &str, audit: &AuditEntry) -> Result<Org> {
        self.audited(audit, |conn| {
            let created = now();
            cached_exec(
                conn,
                "INSERT INTO orgs (name, identity_id, created) VALUES (?1, ?2, ?3)",
                params![name, identity_id, created.as_micros()],
            )
            .map_err(conflict_as(format!(
                "an organisation named {name:?} already exists"
            )))?;
            Ok(Org {
                id: conn.last_insert_rowid(),
                name: name.to_string(),
                identity_id: identity_id.to_string(),
                created,
            })
        })
    }

    fn orgs(&self) -> Result<Vec<Org>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT id, name, identity_id, created FROM orgs ORDER BY name",
            [],
            org_from_row,
        )
        .map_err(db)
    }

    fn org_by_id(&self, id: OrgId) -> Result<Option<Org>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, name, identity_id, created FROM orgs WHERE id = ?1",
            [id],
            org_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn org(&self, name_or_identity: &str) -> Result<Option<Org>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, name, identity_id, created FROM orgs WHERE name = ?1 OR identity_id = ?1",
            [name_or_identity],
            org_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn create_user(&self, org: OrgId, name: &str, role: Role, audit: &AuditEntry) -> Result<User> {
        self.audited(audit, |conn| {
            let created = now();
            let org_name: Option<String> =
                cached_row(conn, "SELECT name FROM orgs WHERE id = ?1", [org], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db)?;
            let org_name =
                org_name.ok_or_else(|| StoreError::NotFound(format!("organisation {org}")))?;
            cached_exec(
                conn,
                "INSERT INTO users (org, name, role, created) VALUES (?1, ?2, ?3, ?4)",
                params![org, name, role.as_str(), created.as_micros()],
            )
            .map_err(conflict_as(format!(
                "{org_name} already has a user named {name:?}"
            )))?;
            Ok(User {
                id: conn.last_insert_rowid(),
                org,
                org_name,
                name: name.to_string(),
                role,
                created,
            })
        })
    }

    fn users(&self) -> Result<Vec<User>> {
        let conn = self.reader()?;
        cached_rows(&conn, &format!(
                "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org ORDER BY o.name, u.name"
            ), [], |r| user_from_row(r, 0))
            .map_err(db)
    }

    fn user(&self, path: &str) -> Result<Option<User>> {
        let conn = self.reader()?;
        let found: Vec<User> = match path.split_once('/') {
            Some((org, name)) => {
                cached_rows(&conn, &format!(
                        "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org WHERE o.name = ?1 AND u.name = ?2"
                    ), [org, name], |r| user_from_row(r, 0))
                    .map_err(db)?
            }
            None => {
                cached_rows(&conn, &format!(
                        "SELECT {USER_COLUMNS} FROM users u JOIN orgs o ON o.id = u.org WHERE u.name = ?1"
                    ), [path], |r| user_from_row(r, 0))
                    .map_err(db)?
            }
        };
        if found.len() > 1 {
            return Err(StoreError::Invalid(format!(
                "several organisations have a user named {path:?}; write it as ORG/USER"
            )));
        }
        Ok(found.into_iter().next())
    }

    fn create_community(
        &self,
        name: &str,
        show_members: bool,
        audit: &AuditEntry,
    ) -> Result<Community> {
        self.audited(audit, |conn| {
            let created = now();
            cached_exec(
                conn,
                "INSERT INTO communities (name, show_members, created) VALUES (?1, ?2, ?3)",
                params![name, show_members, created.as_micros()],
            )
            .map_err(conflict_as(format!(
                "a community named {name:?} already exists"
            )))?;
            Ok(Community {
                id: conn.last_insert_rowid(),
                name: name.to_string(),
                show_members,
                created,
            })
        })
    }

    fn communities(&self) -> Result<Vec<Community>> {
        let conn = self.reader()?;
        cached_rows(
            &conn,
            "SELECT id, name, show_members, created FROM communities ORDER BY name",
            [],
            community_from_row,
        )
        .map_err(db)
    }

    fn community(&self, name: &str) -> Result<Option<Community>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT id, name, show_members, created FROM communities WHERE name = ?1",
            [name],
            community_from_row,
        )
        .optional()
        .map_err(db)
    }

    fn add_member(
        &self,
        community: CommunityId,
        org: OrgId,
        pseudonymous: bool,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.audited(audit, |conn| {
            // A membership's terms never change here: a pseudonymous member
            // turned named would be unmasked on everything it shared.
            let added = cached_exec(conn,
                "INSERT INTO community_members (community, org, pseudonymous, added) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (community, org) DO NOTHING",
                params![community, org, pseudonymous, now().as_micros()],
            )
            .map_err(db)?;
            if added == 0 {
                return Err(StoreError::Conflict(
                    "this organisation is a member of this community already".into(),
                ));
            }
            Ok(())
        })
    }

    fn members(&self, community: CommunityId) -> Result<Vec<Membership>> {
        self.membership_rows("community = ?1 ORDER BY org", community)
    }

    fn memberships(&self, org: OrgId) -> Result<Vec<Membership>> {
        self.membership_rows("org = ?1 ORDER BY community", org)
    }

    fn pseudonymous_memberships(&self) -> Result<Vec<Membership>> {
        // A literal `pseudonymous = 1`, so SQLite can use the partial index.
        self.membership_rows("pseudonymous = 1 AND ?1 = 1 ORDER BY community, org", 1)
    }

    fn node_secret(&self) -> Result<Vec<u8>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT value FROM node_meta WHERE key = 'pseudonym_secret'",
            [],
            |r| r.get(0),
        )
        .map_err(db)
    }

    fn create_token(&self, new: &NewToken, audit: &AuditEntry) -> Result<TokenRecord> {
        let mut conn = self.write_connection();
        let tx = conn.transaction().map_err(db)?;
        let created = now();
        cached_exec(&tx,
            "INSERT INTO tokens (name, secret_hash, admin, created, expires, user, max_tlp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                new.name,
                &new.secret_hash[..],
                new.admin,
                created.as_micros(),
                new.expires.map(Timestamp::as_micros),
                new.user,
                tlp_rank(new.max_tlp)
            ],
        )
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a token named {:?} already exists", new.name))
            }
            other => other,
        })?;
        let id = tx.last_insert_rowid();
        for grant in &new.grants {
            let key: Option<i64> = cached_row(
                &tx,
                "SELECT key FROM collections WHERE id = ?1",
                [&grant.collection_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
            let key = key.ok_or_else(|| {
                StoreError::NotFound(format!("collection {}", grant.collection_id))
            })?;
            cached_exec(&tx,
                "INSERT INTO token_grants (token, collection, can_read, can_write) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (token, collection) DO UPDATE SET
                   can_read = can_read OR excluded.can_read, can_write = can_write OR excluded.can_write",
                params![id, key, grant.can_read, grant.can_write],
            )
            .map_err(db)?;
        }
        let record = cached_row(
            &tx,
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
            [id],
            |r| load_token(&tx, r),
        )
        .map_err(db)?;
        append_in(&tx, std::slice::from_ref(audit))?;
        tx.commit().map_err(db)?;
        Ok(record)
    }

    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = ?1"),
            [&secret_hash[..]],
            |r| load_token(&conn, r),
        )
        .optional()
        .map_err(db)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))
            .map_err(db)?;
        stmt.query_map([], |r| load_token(&conn, r))
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)
    }

    fn revoke_token(
        &self,
        id_or_name: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> Result<TokenRecord> {
        self.audited(audit, |conn| {
            let id: Option<i64> = cached_row(conn,
                    "SELECT id FROM tokens WHERE name = ?1 OR CAST(id AS TEXT) = ?1 ORDER BY name = ?1 DESC LIMIT 1",
                    [id_or_name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            let id = id.ok_or_else(|| StoreError::NotFound(format!("token {id_or_name:?}")))?;
            cached_exec(
                conn,
                "UPDATE tokens SET revoked = coalesce(revoked, ?2) WHERE id = ?1",
                params![id, at.as_micros()],
            )
            .map_err(db)?;
            cached_row(
                conn,
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                [id],
                |r| load_token(conn, r),
            )
            .map_err(db)
        })
    }

    fn touch_token(&self, id: i64, at: Timestamp, audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |conn| {
            cached_exec(
                conn,
                "UPDATE tokens SET last_used = ?2 WHERE id = ?1",
                params![id, at.as_micros()],
            )
            .map_err(db)?;
            Ok(())
        })
    }
}
