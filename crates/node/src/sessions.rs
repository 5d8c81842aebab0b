//! Signing in to the web console: user passwords (Argon2id), one-time
//! sign-in links, sign-in with an API token (how node administrators, who
//! are not users, reach the console), sessions with idle and absolute
//! expiry, and the slowing-down of repeated failures.
//!
//! A session acts exactly as its user (or token) does over TAXII: its
//! principal is built the same way on every request, so a user's role or
//! organisation, a revoked token or a scope change takes effect at once.
//! Secrets (session ids, sign-in links) are shown once and stored as their
//! SHA-256; answers to a failed sign-in never tell whether the account exists.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sharing::Principal;
use sharing::administration::may_manage_users_of;
use sharing::console::{SessionLimits, SessionState, link_usable, session_state, sign_in_wait};
use stix::Timestamp;
use store::{AuditEntry, NewSession, NewSignInLink, User};

use crate::{Node, NodeError, Result};

/// Shortest and longest password accepted (characters). The upper bound
/// keeps a sign-in attempt from making the node hash megabytes.
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// How long a sign-in link works when its creator does not say.
pub const DEFAULT_LINK_MICROS: i64 = 24 * 3600 * 1_000_000;
/// The longest a sign-in link may work.
pub const MAX_LINK_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

/// Last-use times are written at most this often per session.
const TOUCH_EVERY_MICROS: i64 = 30 * 1_000_000;

/// A signed-in console user, as each request sees it.
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub principal: Principal,
    /// The anti-forgery token every form of this session carries.
    pub csrf: String,
    /// Who is signed in, for the page header (`ORG/USER`, or the token's name).
    pub who: String,
    /// The user, when signed in as one.
    pub user: Option<User>,
}

/// What a sign-in attempt gave.
#[derive(Clone, Debug)]
pub enum SignIn {
    /// Signed in: the session secret to set as the cookie.
    Opened { secret: String },
    /// Refused; the message says what to do (and never whether the account exists).
    Refused(String),
    /// Too many failures: try again after this many seconds.
    Wait(u64),
}

/// Argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a password nobody has, checked when an account has no
/// password so that the answer takes as long as for one that has.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("entente decoy password").unwrap_or_default())
}

fn random_secret() -> Result<String> {
    sharing::token::generate()
        .map_err(|e| NodeError::Unprocessable(format!("cannot make a secret: {e}")))
}

/// The PHC string of `password` under a fresh random salt.
fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| NodeError::Unprocessable(format!("cannot make a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| NodeError::Unprocessable(format!("cannot encode a salt: {e}")))?;
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| NodeError::Unprocessable(format!("cannot hash the password: {e}")))?
        .to_string())
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Why a new password is refused, if it is.
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Some(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters (a few words make a good one)"
        ))
    } else if n > MAX_PASSWORD_CHARS {
        Some(format!(
            "a password has at most {MAX_PASSWORD_CHARS} characters"
        ))
    } else {
        None
    }
}

/// The key failed sign-ins are counted under: the account as typed,
/// trimmed and case-folded (names are case-insensitive).
fn account_key(account: &str) -> String {
    account.trim().to_lowercase().chars().take(300).collect()
}

impl Node {
    /// Sets a user's console password. Node administrators may set anyone's,
    /// an organisation's administrators their own users', and every user
    /// their own. Every session of the user ends.
    pub fn set_password(
        &self,
        principal: &Principal,
        user_path: &str,
        password: &str,
    ) -> Result<()> {
        let user = self.user_named(user_path)?;
        let own = principal.user_id() == Some(user.id) && !principal.is_scoped();
        if !own && !may_manage_users_of(principal, user.org) {
            return Err(NodeError::Forbidden(
                "only the user, an administrator of their organisation or a node administrator may set a user's password".into(),
            ));
        }
        if let Some(why) = password_problem(password) {
            return Err(NodeError::Unprocessable(why));
        }
        let phc = hash_password(password)?;
        let entry = Node::entry(
            principal,
            "password-set",
            None,
            Vec::new(),
            format!("console password of {}/{}", user.org_name, user.name),
        );
        self.store.set_password(user.id, &phc, &entry)?;
        self.store.end_sessions_of(Some(user.id), None)?;
        Ok(())
    }

    /// Creates a one-time sign-in link secret for a user, valid for
    /// `valid_micros` (default a day, at most a week). Who may: as for
    /// [`Node::set_password`], less the user themself.
    pub fn create_sign_in_link(
        &self,
        principal: &Principal,
        user_path: &str,
        valid_micros: Option<i64>,
        now: Timestamp,
    ) -> Result<(User, String, Timestamp)> {
        let user = self.user_named(user_path)?;
        if !may_manage_users_of(principal, user.org) {
            return Err(NodeError::Forbidden(
                "only an administrator of the user's organisation or a node administrator may make sign-in links".into(),
            ));
        }
        let valid = valid_micros.unwrap_or(DEFAULT_LINK_MICROS);
        if !(1..=MAX_LINK_MICROS).contains(&valid) {
            return Err(NodeError::Unprocessable(
                "a sign-in link works for at most 7 days".into(),
            ));
        }
        let secret = random_secret()?;
        let expires = Timestamp::from_micros(now.as_micros() + valid);
        let entry = Node::entry(
            principal,
            "sign-in-link-create",
            None,
            Vec::new(),
            format!("for {}/{} until {expires}", user.org_name, user.name),
        );
        self.store.create_sign_in_link(
            &NewSignInLink {
                secret_hash: sharing::token::digest(&secret),
                user: user.id,
                created: now,
                expires,
            },
            &entry,
        )?;
        Ok((user, secret, expires))
    }

    fn open_session(
        &self,
        user: Option<&User>,
        token: Option<i64>,
        how: &str,
        now: Timestamp,
    ) -> Result<SignIn> {
        let secret = random_secret()?;
        let csrf = random_secret()?;
        let entry = AuditEntry {
            token,
            user: user.map(|u| u.id),
            org: user.map(|u| u.org),
            action: "console-sign-in".into(),
            collection: None,
            objects: Vec::new(),
            detail: how.to_string(),
        };
        self.store.create_session(
            &NewSession {
                secret_hash: sharing::token::digest(&secret),
                user: user.map(|u| u.id),
                token,
                csrf,
                created: now,
            },
            &entry,
        )?;
        Ok(SignIn::Opened { secret })
    }

    /// Signs in with `ORG/USER` and a password, slowing down repeated failures.
    pub fn sign_in_with_password(
        &self,
        account: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<SignIn> {
        let key = account_key(account);
        let failures = self.store.sign_in_failures(&key)?;
        if let Some(wait) = sign_in_wait(
            failures.count,
            failures.last.map(|t| t.as_micros()),
            now.as_micros(),
        ) {
            return Ok(SignIn::Wait((wait as u64).div_ceil(1_000_000)));
        }
        let refused = "the user name or the password is wrong (the user name is ORGANISATION/USER, as your administrator gave it)";
        let user = if account.contains('/') && password.chars().count() <= MAX_PASSWORD_CHARS {
            self.store.user(account.trim()).ok().flatten()
        } else {
            None
        };
        let phc = match &user {
            Some(u) => self.store.password(u.id)?,
            None => None,
        };
        let ok = match &phc {
            Some(phc) => password_matches(password, phc),
            None => {
                // As long as a real check, so timing tells nothing.
                let _ = password_matches(password, decoy_hash());
                false
            }
        };
        match (ok, user) {
            (true, Some(u)) => {
                self.store.clear_sign_in_failures(&key)?;
                self.open_session(Some(&u), None, "password", now)
            }
            (_, user) => {
                let entry = AuditEntry {
                    token: None,
                    user: user.as_ref().map(|u| u.id),
                    org: user.as_ref().map(|u| u.org),
                    action: "console-sign-in-failed".into(),
                    collection: None,
                    objects: Vec::new(),
                    detail: "password".into(),
                };
                self.store.record_sign_in_failure(&key, now, &entry)?;
                Ok(SignIn::Refused(refused.into()))
            }
        }
    }

    /// Signs in with a one-time link's secret.
    pub fn sign_in_with_link(&self, secret: &str, now: Timestamp) -> Result<SignIn> {
        let refused = "this sign-in link has expired or was already used: ask your administrator for a new one (entente user link ORG/USER)";
        if secret.len() > 128 {
            return Ok(SignIn::Refused(refused.into()));
        }
        let digest = sharing::token::digest(secret);
        let Some(link) = self.store.use_sign_in_link(&digest, now)? else {
            return Ok(SignIn::Refused(refused.into()));
        };
        if !link_usable(
            link.expires.as_micros(),
            link.used.is_some(),
            now.as_micros(),
        ) {
            return Ok(SignIn::Refused(refused.into()));
        }
        let user = self
            .store
            .users()?
            .into_iter()
            .find(|u| u.id == link.user)
            .ok_or_else(|| NodeError::NotFound("the user of this link no longer exists".into()))?;
        self.open_session(Some(&user), None, "sign-in link", now)
    }

    /// Signs in with an API token (a user's, or a node administrator's).
    pub fn sign_in_with_token(&self, token: &str, now: Timestamp) -> Result<SignIn> {
        if token.len() > 512 {
            return Ok(SignIn::Refused("the API token is not valid".into()));
        }
        match self.authenticate(token.trim(), now)? {
            Ok((_, record)) => {
                self.open_session(record.user.as_ref(), Some(record.id), "API token", now)
            }
            Err(failure) => Ok(SignIn::Refused(failure.message().into())),
        }
    }

    /// The session a cookie's secret opens at `now`, if it is still valid;
    /// an expired one is ended.
    pub fn console_session(
        &self,
        secret: &str,
        now: Timestamp,
        limits: SessionLimits,
    ) -> Result<Option<ConsoleSession>> {
        if secret.is_empty() || secret.len() > 128 {
            return Ok(None);
        }
        let digest = sharing::token::digest(secret);
        let Some(record) = self.store.session(&digest)? else {
            return Ok(None);
        };
        let state = session_state(
            record.created.as_micros(),
            record.last_seen.as_micros(),
            now.as_micros(),
            limits,
        );
        if state != SessionState::Valid {
            self.store.end_session(&digest, None)?;
            return Ok(None);
        }
        let (principal, who, user) = match (record.token, record.user) {
            (Some(token), _) => {
                let Some(found) = self.store.tokens()?.into_iter().find(|t| t.id == token) else {
                    self.store.end_session(&digest, None)?;
                    return Ok(None);
                };
                if found.revoked.is_some() || found.expires.is_some_and(|e| e <= now) {
                    self.store.end_session(&digest, None)?;
                    return Ok(None);
                }
                let principal = self.principal_of(&found)?;
                let who = match &found.user {
                    Some(u) => format!("{}/{}", u.org_name, u.name),
                    None => format!("token {}", found.name),
                };
                (principal, who, found.user.clone())
            }
            (None, Some(user_id)) => {
                let Some(user) = self.store.users()?.into_iter().find(|u| u.id == user_id) else {
                    self.store.end_session(&digest, None)?;
                    return Ok(None);
                };
                // As a token of the user reads: a user of an organisation
                // standing for a peer node gets the relay guard.
                let principal = self.guard_relays(self.user_principal(&user)?)?;
                (
                    principal,
                    format!("{}/{}", user.org_name, user.name),
                    Some(user),
                )
            }
            (None, None) => return Ok(None),
        };
        // Often enough that an active session never looks idle.
        let touch_every = TOUCH_EVERY_MICROS.min(limits.idle_micros / 4);
        if now.as_micros() - record.last_seen.as_micros() >= touch_every {
            self.store.touch_session(&digest, now)?;
        }
        Ok(Some(ConsoleSession {
            principal,
            csrf: record.csrf,
            who,
            user,
        }))
    }

    /// Ends the session of a cookie's secret (sign-out).
    pub fn sign_out(&self, session: &ConsoleSession, secret: &str) -> Result<()> {
        let entry = Node::entry(
            &session.principal,
            "console-sign-out",
            None,
            Vec::new(),
            String::new(),
        );
        self.store
            .end_session(&sharing::token::digest(secret), Some(&entry))?;
        Ok(())
    }

    /// Drops sessions past `limits` at `now`, and expired links.
    pub fn purge_sessions(&self, now: Timestamp, limits: SessionLimits) -> Result<usize> {
        Ok(self.store.purge_sessions(
            Timestamp::from_micros(now.as_micros() - limits.idle_micros),
            Timestamp::from_micros(now.as_micros() - limits.absolute_micros),
        )?)
    }

    /// The users of an organisation, for its administrators (and node administrators).
    pub fn users_of_org(&self, principal: &Principal, org: sharing::OrgId) -> Result<Vec<User>> {
        if !may_manage_users_of(principal, org) {
            return Err(NodeError::Forbidden(
                "only administrators of this organisation or of the node may list its users".into(),
            ));
        }
        Ok(self
            .store
            .users()?
            .into_iter()
            .filter(|u| u.org == org)
            .collect())
    }

    /// Creates a user in the principal's own organisation (organisation
    /// administrators; node administrators name any organisation).
    pub fn create_org_user(
        &self,
        principal: &Principal,
        org: sharing::OrgId,
        name: &str,
        role: sharing::Role,
    ) -> Result<User> {
        if !may_manage_users_of(principal, org) {
            return Err(NodeError::Forbidden(
                "only administrators of this organisation or of the node may add its users".into(),
            ));
        }
        if !crate::valid_name(name) {
            return Err(NodeError::Unprocessable(
                "user names are 1-128 characters, without '/', control characters or surrounding spaces".into(),
            ));
        }
        let org_name = self
            .store
            .org_by_id(org)?
            .ok_or_else(|| NodeError::NotFound(format!("organisation {org} does not exist")))?
            .name;
        let entry = Node::entry(
            principal,
            "user-create",
            None,
            Vec::new(),
            format!("user {org_name}/{name} ({})", role.as_str()),
        );
        Ok(self.store.create_user(org, name, role, &entry)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(password_matches("correct horse battery staple", &phc));
        assert!(!password_matches("correct horse battery stapler", &phc));
        assert!(!password_matches("x", "not a hash"));
        assert!(password_problem("short").is_some());
        assert!(password_problem(&"x".repeat(300)).is_some());
        assert!(password_problem("twelve chars").is_none());
    }
}
