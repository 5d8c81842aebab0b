//! The web console's sign-in: user passwords (as Argon2id PHC strings made
//! by `node`), sessions, one-time sign-in links and the failed sign-in
//! count behind throttling.
//!
//! Secrets are never stored: sessions and links are kept under the SHA-256
//! of their secret, as API tokens are. The store decides nothing (expiry
//! and throttling rules are `sharing::console`'s); it keeps the facts and
//! writes the audit entries of sign-in events with what they record.

use sharing::UserId;
use stix::Timestamp;

use crate::{AuditEntry, Result};

/// A session to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    pub secret_hash: [u8; 32],
    /// The user it acts for, when signed in as a user (password or link).
    pub user: Option<UserId>,
    /// The API token it acts for, when signed in with a token.
    pub token: Option<i64>,
    /// The anti-forgery token of its forms (not secret from its holder).
    pub csrf: String,
    pub created: Timestamp,
}

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: Option<UserId>,
    pub token: Option<i64>,
    pub csrf: String,
    pub created: Timestamp,
    pub last_seen: Timestamp,
}

/// A one-time sign-in link to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSignInLink {
    pub secret_hash: [u8; 32],
    pub user: UserId,
    pub created: Timestamp,
    pub expires: Timestamp,
}

/// A sign-in link as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInLinkRecord {
    pub user: UserId,
    pub created: Timestamp,
    pub expires: Timestamp,
    /// When it was used; a link works once.
    pub used: Option<Timestamp>,
}

/// Failed sign-ins of one account name since the last success.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignInFailures {
    pub count: u32,
    pub last: Option<Timestamp>,
}

/// Passwords, sessions, sign-in links and failed sign-ins.
pub trait SessionStore: Send + Sync + 'static {
    /// Sets (or replaces) a user's password hash, with its audit entry.
    fn set_password(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()>;
    fn password(&self, user: UserId) -> Result<Option<String>>;
    /// Opens a session, with its audit entry (the sign-in).
    fn create_session(&self, new: &NewSession, audit: &AuditEntry) -> Result<()>;
    fn session(&self, secret_hash: &[u8; 32]) -> Result<Option<SessionRecord>>;
    /// Records activity on a session at `at`.
    fn touch_session(&self, secret_hash: &[u8; 32], at: Timestamp) -> Result<()>;
    /// Ends a session (sign-out, expiry); `audit` is written when one ended.
    fn end_session(&self, secret_hash: &[u8; 32], audit: Option<&AuditEntry>) -> Result<bool>;
    /// Ends every session of a user or a token (password change, revocation).
    fn end_sessions_of(&self, user: Option<UserId>, token: Option<i64>) -> Result<usize>;
    /// Drops sessions last seen before `idle_before` or created before
    /// `created_before`, links that expired before `created_before`, and
    /// failure counts last bumped before it.
    fn purge_sessions(&self, idle_before: Timestamp, created_before: Timestamp) -> Result<usize>;
    fn create_sign_in_link(&self, new: &NewSignInLink, audit: &AuditEntry) -> Result<()>;
    /// Marks a link used at `at` if it was not, and returns it as it was
    /// before (so `used` is `None` exactly when this call used it).
    fn use_sign_in_link(
        &self,
        secret_hash: &[u8; 32],
        at: Timestamp,
    ) -> Result<Option<SignInLinkRecord>>;
    fn sign_in_failures(&self, account: &str) -> Result<SignInFailures>;
    /// Counts one more failure of `account` at `at`, with its audit entry.
    fn record_sign_in_failure(
        &self,
        account: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> Result<SignInFailures>;
    fn clear_sign_in_failures(&self, account: &str) -> Result<()>;
}
