//! Console passwords, sessions, sign-in links and failed sign-ins on SQLite.

use rusqlite::{OptionalExtension, params};
use sharing::UserId;
use stix::Timestamp;

use super::audit::append_in;
use super::{SqliteStore, cached_exec, cached_row, db, lock};
use crate::{
    AuditEntry, NewSession, NewSignInLink, Result, SessionRecord, SessionStore, SignInFailures,
    SignInLinkRecord,
};

impl SessionStore for SqliteStore {
    fn set_password(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |tx| {
            cached_exec(
                tx,
                "INSERT INTO user_passwords (user, phc, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user) DO UPDATE SET phc = excluded.phc, updated = excluded.updated",
                params![user, phc, super::now().as_micros()],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn password(&self, user: UserId) -> Result<Option<String>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT phc FROM user_passwords WHERE user = ?1",
            [user],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)
    }

    fn create_session(&self, new: &NewSession, audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |tx| {
            cached_exec(
                tx,
                "INSERT INTO sessions (secret_hash, user, token, csrf, created, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![
                    &new.secret_hash[..],
                    new.user,
                    new.token,
                    new.csrf,
                    new.created.as_micros()
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn session(&self, secret_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        let conn = self.reader()?;
        cached_row(
            &conn,
            "SELECT user, token, csrf, created, last_seen FROM sessions WHERE secret_hash = ?1",
            [&secret_hash[..]],
            |r| {
                Ok(SessionRecord {
                    user: r.get(0)?,
                    token: r.get(1)?,
                    csrf: r.get(2)?,
                    created: Timestamp::from_micros(r.get(3)?),
                    last_seen: Timestamp::from_micros(r.get(4)?),
                })
            },
        )
        .optional()
        .map_err(db)
    }

    fn touch_session(&self, secret_hash: &[u8; 32], at: Timestamp) -> Result<()> {
        let conn = lock(&self.writer);
        cached_exec(
            &conn,
            "UPDATE sessions SET last_seen = max(last_seen, ?2) WHERE secret_hash = ?1",
            params![&secret_hash[..], at.as_micros()],
        )
        .map_err(db)?;
        Ok(())
    }

    fn end_session(&self, secret_hash: &[u8; 32], audit: Option<&AuditEntry>) -> Result<bool> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let ended = cached_exec(
            &tx,
            "DELETE FROM sessions WHERE secret_hash = ?1",
            [&secret_hash[..]],
        )
        .map_err(db)?
            > 0;
        if ended && let Some(entry) = audit {
            append_in(&tx, std::slice::from_ref(entry))?;
        }
        tx.commit().map_err(db)?;
        Ok(ended)
    }

    fn end_sessions_of(&self, user: Option<UserId>, token: Option<i64>) -> Result<usize> {
        let conn = lock(&self.writer);
        let mut ended = 0;
        if let Some(u) = user {
            ended += cached_exec(&conn, "DELETE FROM sessions WHERE user = ?1", [u]).map_err(db)?;
        }
        if let Some(t) = token {
            ended +=
                cached_exec(&conn, "DELETE FROM sessions WHERE token = ?1", [t]).map_err(db)?;
        }
        Ok(ended)
    }

    fn purge_sessions(&self, idle_before: Timestamp, created_before: Timestamp) -> Result<usize> {
        let conn = lock(&self.writer);
        let sessions = cached_exec(
            &conn,
            "DELETE FROM sessions WHERE last_seen < ?1 OR created < ?2",
            params![idle_before.as_micros(), created_before.as_micros()],
        )
        .map_err(db)?;
        cached_exec(
            &conn,
            "DELETE FROM sign_in_links WHERE expires < ?1",
            [created_before.as_micros()],
        )
        .map_err(db)?;
        // Failures older than a session's whole life no longer slow anyone
        // down; dropping them keeps guessed account names from piling up.
        cached_exec(
            &conn,
            "DELETE FROM sign_in_failures WHERE last < ?1",
            [created_before.as_micros()],
        )
        .map_err(db)?;
        Ok(sessions)
    }

    fn create_sign_in_link(&self, new: &NewSignInLink, audit: &AuditEntry) -> Result<()> {
        self.audited(audit, |tx| {
            cached_exec(
                tx,
                "INSERT INTO sign_in_links (secret_hash, user, created, expires) VALUES (?1, ?2, ?3, ?4)",
                params![
                    &new.secret_hash[..],
                    new.user,
                    new.created.as_micros(),
                    new.expires.as_micros()
                ],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn use_sign_in_link(
        &self,
        secret_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<SignInLinkRecord>> {
        // Read and mark in one write transaction: two clicks racing on the
        // same link cannot both find it unused.
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let found: Option<SignInLinkRecord> = cached_row(
            &tx,
            "SELECT user, created, expires, used FROM sign_in_links WHERE secret_hash = ?1",
            [&secret_hash[..]],
            |r| {
                Ok(SignInLinkRecord {
                    user: r.get(0)?,
                    created: Timestamp::from_micros(r.get(1)?),
                    expires: Timestamp::from_micros(r.get(2)?),
                    used: r.get::<_, Option<i64>>(3)?.map(Timestamp::from_micros),
                })
            },
        )
        .optional()
        .map_err(db)?;
        if found.as_ref().is_some_and(|l| l.used.is_none()) {
            cached_exec(
                &tx,
                "UPDATE sign_in_links SET used = ?2 WHERE secret_hash = ?1",
                params![&secret_hash[..], at.as_micros()],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(found)
    }

    fn sign_in_failures(&self, account: &str) -> Result<SignInFailures> {
        let conn = self.reader()?;
        Ok(cached_row(
            &conn,
            "SELECT count, last FROM sign_in_failures WHERE account = ?1",
            [account],
            |r| {
                Ok(SignInFailures {
                    count: r.get(0)?,
                    last: Some(Timestamp::from_micros(r.get(1)?)),
                })
            },
        )
        .optional()
        .map_err(db)?
        .unwrap_or_default())
    }

    fn record_sign_in_failure(
        &self,
        account: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> Result<SignInFailures> {
        self.audited(audit, |tx| {
            cached_exec(
                tx,
                "INSERT INTO sign_in_failures (account, count, last) VALUES (?1, 1, ?2)
                 ON CONFLICT (account) DO UPDATE SET count = count + 1, last = excluded.last",
                params![account, at.as_micros()],
            )
            .map_err(db)?;
            cached_row(
                tx,
                "SELECT count, last FROM sign_in_failures WHERE account = ?1",
                [account],
                |r| {
                    Ok(SignInFailures {
                        count: r.get(0)?,
                        last: Some(Timestamp::from_micros(r.get(1)?)),
                    })
                },
            )
            .map_err(db)
        })
    }

    fn clear_sign_in_failures(&self, account: &str) -> Result<()> {
        let conn = lock(&self.writer);
        cached_exec(
            &conn,
            "DELETE FROM sign_in_failures WHERE account = ?1",
            [account],
        )
        .map_err(db)?;
        Ok(())
    }
}
