//! Administration: API roots, collections, organisations, users,
//! communities and tokens, and reading the audit log.
//!
//! Every write here is a node administrator's act (the operator at the CLI,
//! or an admin token), decided by `sharing::administration`, and commits
//! its audit entry in its own transaction. Names and ids are checked here,
//! where the caller's words arrive, so that the CLI and the HTTP console
//! give the same answers.

use sharing::administration::{MembershipChange, may_administer_node, membership_change};
use sharing::{Access, Owner, Principal, Role, Tlp};
use stix::Timestamp;
use store::{
    ApiRoot, AuditEntry, AuditFilter, AuditRecord, Collection, Community, Grant, NewCollection,
    NewToken, Org, TokenRecord, User,
};

use crate::{Node, NodeError, Result};

/// A new collection as an administrator describes it.
#[derive(Clone, Debug, Default)]
pub struct CollectionRequest {
    pub title: String,
    /// A lowercase hyphenated UUID; a random one when `None`.
    pub id: Option<String>,
    pub description: Option<String>,
    pub alias: Option<String>,
    /// The API root (default: the node's first).
    pub api_root: Option<String>,
    /// The owning organisation (name or identity id).
    pub org: Option<String>,
    /// The owning community (name).
    pub community: Option<String>,
    pub default_tlp: Option<Tlp>,
    pub public: bool,
    /// Leave what is posted into it out of the node's signed manifests
    /// (for clients that cannot bear custom STIX objects in a collection).
    pub unsigned: bool,
    /// TAXII readers do not see its indicators whose `valid_until` has passed.
    pub hide_expired: bool,
}

/// A new token as an administrator describes it.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    /// Unique name; default for a user's token: `ORG/USER-<micros>`.
    pub name: Option<String>,
    /// The user it acts for (`ORG/USER`); `None`: a node-level token.
    pub user: Option<String>,
    pub admin: bool,
    /// Collections it may read: grants of a node-level token, or the scope
    /// a user's token is narrowed to.
    pub read: Vec<String>,
    /// Collections it may write (same meaning).
    pub write: Vec<String>,
    pub expires: Option<Timestamp>,
    /// The most restrictive TLP the token may read (e.g. the token a
    /// federation peer pulls with).
    pub max_tlp: Option<Tlp>,
}

/// A community as an administrator sees it.
#[derive(Clone, Debug)]
pub struct CommunityAdminView {
    pub community: Community,
    /// Member organisations and whether each is pseudonymous.
    pub members: Vec<(Org, bool)>,
}

/// Outcome of verifying the audit chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every record links to the one before it; this many records.
    Intact(usize),
    /// The first record that does not hold, and why.
    Broken { seq: i64, why: String },
}

/// Names of organisations, users and communities: what fits a path segment
/// of `ORG/USER` and reads back unchanged.
pub fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.chars().count())
        && !name.contains('/')
        && name.trim() == name
        && !name.chars().any(char::is_control)
}

impl Node {
    fn administrator(&self, principal: &Principal) -> Result<()> {
        if may_administer_node(principal) {
            Ok(())
        } else {
            Err(NodeError::Forbidden(
                "only node administrators may change or list the node's organisations, users, communities, collections and tokens".into(),
            ))
        }
    }

    /// An audit entry of `action` by `principal`.
    pub(crate) fn entry(
        principal: &Principal,
        action: &str,
        collection: Option<&str>,
        objects: Vec<String>,
        detail: String,
    ) -> AuditEntry {
        AuditEntry {
            token: principal.token_id,
            user: principal.user_id(),
            org: principal.org(),
            action: action.to_string(),
            collection: collection.map(str::to_owned),
            objects,
            detail,
        }
    }

    pub fn api_roots(&self) -> Result<Vec<ApiRoot>> {
        Ok(self.store.api_roots()?)
    }

    /// An API root by its path segment, or 404.
    pub fn api_root(&self, path: &str) -> Result<ApiRoot> {
        self.store
            .api_root(path)?
            .ok_or_else(|| NodeError::NotFound(format!("API root /{path}/ does not exist")))
    }

    pub fn create_api_root(&self, principal: &Principal, root: &ApiRoot) -> Result<()> {
        self.administrator(principal)?;
        let valid = (1..=64).contains(&root.path.len())
            && root
                .path
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
            && !["taxii2", "entente", "console", "static", "metrics"].contains(&root.path.as_str());
        if !valid {
            return Err(NodeError::Unprocessable(format!(
                "API root {:?} must be 1-64 characters of a-z, 0-9, '-' and '_', and not a name the node uses itself",
                root.path
            )));
        }
        if root.max_content_length == 0 {
            return Err(NodeError::Unprocessable(
                "the largest request an API root accepts must be at least 1 byte".into(),
            ));
        }
        let entry = Node::entry(
            principal,
            "api-root-create",
            None,
            Vec::new(),
            format!("/{}/", root.path),
        );
        Ok(self.store.create_api_root(root, &entry)?)
    }

    /// Creates a collection; see [`CollectionRequest`].
    pub fn create_collection(
        &self,
        principal: &Principal,
        request: CollectionRequest,
    ) -> Result<Collection> {
        self.administrator(principal)?;
        let id = match request.id {
            Some(id) => match uuid::Uuid::parse_str(&id) {
                Ok(u) if u.hyphenated().to_string() == id => id,
                _ => {
                    return Err(NodeError::Unprocessable(format!(
                        "collection id {id:?} is not a lowercase hyphenated UUID such as 91a7b528-80eb-42ed-a74d-c6fbd5a26116"
                    )));
                }
            },
            None => uuid::Uuid::new_v4().to_string(),
        };
        if request.title.trim().is_empty() || request.title.chars().count() > 256 {
            return Err(NodeError::Unprocessable(
                "a collection's title is 1-256 characters".into(),
            ));
        }
        if let Some(alias) = &request.alias
            && (alias.is_empty()
                || alias.len() > 64
                || !alias
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)))
        {
            return Err(NodeError::Unprocessable(format!(
                "alias {alias:?} must be 1-64 characters of letters, digits, '-', '_' and '.'"
            )));
        }
        // An alias stands for one collection wherever a collection is named
        // (CLI, TAXII URLs, tokens, peers): a second one would name neither.
        if let Some(alias) = &request.alias {
            if uuid::Uuid::parse_str(alias).is_ok() {
                return Err(NodeError::Unprocessable(format!(
                    "alias {alias:?} reads as a collection id; choose a short name"
                )));
            }
            if let Some(taken) = self
                .store
                .all_collections()?
                .into_iter()
                .find(|c| c.alias.as_deref() == Some(alias.as_str()))
            {
                return Err(NodeError::Conflict(format!(
                    "alias {alias:?} is taken by collection {} ({}); choose another (entente collection list shows them)",
                    taken.id, taken.title
                )));
            }
        }
        let roots = self.store.api_roots()?;
        let api_root = match request.api_root {
            Some(r) if roots.iter().any(|x| x.path == r) => r,
            Some(r) => {
                return Err(NodeError::NotFound(format!(
                    "API root {r:?} does not exist; this node has: {}",
                    roots
                        .iter()
                        .map(|r| r.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            None => match roots.first() {
                Some(r) => r.path.clone(),
                None => {
                    return Err(NodeError::Unprocessable(
                        "this node has no API root; was it created with entente init?".into(),
                    ));
                }
            },
        };
        let owner = match (&request.org, &request.community) {
            (Some(_), Some(_)) => {
                return Err(NodeError::Unprocessable(
                    "a collection belongs to one organisation or one community, not both".into(),
                ));
            }
            (Some(org), None) => Owner::Org(self.org_named(org)?.id),
            (None, Some(c)) => Owner::Community(self.community_named(c)?.id),
            (None, None) => Owner::Node,
        };
        let default_tlp = sharing::model::default_tlp_for(owner, request.default_tlp);
        let detail = format!("{} ({})", request.title, id);
        let entry = Node::entry(
            principal,
            "collection-create",
            Some(&id),
            Vec::new(),
            detail,
        );
        Ok(self.store.create_collection(
            &NewCollection {
                id,
                api_root,
                title: request.title,
                description: request.description,
                alias: request.alias,
                owner,
                default_tlp,
                public: request.public,
                signed: !request.unsigned,
                hide_expired: request.hide_expired,
            },
            &entry,
        )?)
    }

    /// A collection by id or alias, as an administrator names it (every
    /// collection of the node is visible to one), or 404.
    fn collection_named(&self, id_or_alias: &str) -> Result<Collection> {
        if let Some(c) = self.store.collection(id_or_alias)? {
            return Ok(c);
        }
        let mut named: Vec<Collection> = self
            .store
            .all_collections()?
            .into_iter()
            .filter(|c| c.alias.as_deref() == Some(id_or_alias))
            .collect();
        match named.len() {
            1 => Ok(named.remove(0)),
            0 => Err(NodeError::NotFound(format!(
                "collection {id_or_alias} does not exist (entente collection list shows them)"
            ))),
            _ => Err(NodeError::Conflict(format!(
                "the alias {id_or_alias} names {} collections (created before aliases had to be unique): name one by its id",
                named.len()
            ))),
        }
    }

    /// Sets whether TAXII readers of `collection` (id or alias) see its
    /// indicators whose `valid_until` has passed (administrators).
    pub fn set_hide_expired(
        &self,
        principal: &Principal,
        collection: &str,
        hide: bool,
    ) -> Result<Collection> {
        self.administrator(principal)?;
        let (mut c, _) = self.collection_for(principal, None, collection, crate::Need::Any)?;
        let entry = Node::entry(
            principal,
            "collection-settings",
            Some(&c.id),
            Vec::new(),
            format!(
                "hide expired indicators: {}",
                if hide { "yes" } else { "no" }
            ),
        );
        self.store.set_hide_expired(c.key, hide, &entry)?;
        c.hide_expired = hide;
        // Manifests signed while expired indicators were shown do not
        // expire with them: those that list one that may expire are
        // withdrawn, and the signer lists their objects again (see `signer`).
        if hide && c.signed {
            let rows: Vec<Timestamp> = self
                .store
                .signed_rows_mentioning(c.key, "\"valid_until\"")?
                .into_iter()
                .map(|(row, _)| row)
                .collect();
            let entry = Node::entry(
                principal,
                "unsign",
                Some(&c.id),
                Vec::new(),
                "the collection hides expired indicators".into(),
            );
            if !self.store.withdraw_manifests(&rows, &entry)?.is_empty() {
                self.sign_again()?;
            }
        }
        Ok(c)
    }

    /// Every collection of the node, oldest first (administrators).
    pub fn all_collections(&self, principal: &Principal) -> Result<Vec<Collection>> {
        self.administrator(principal)?;
        Ok(self.store.all_collections()?)
    }

    /// Creates an organisation with `identity` (a new identity id when `None`).
    pub fn create_org(
        &self,
        principal: &Principal,
        name: &str,
        identity: Option<&str>,
    ) -> Result<Org> {
        self.administrator(principal)?;
        if !valid_name(name) {
            return Err(NodeError::Unprocessable(
                "organisation names are 1-128 characters, without '/', control characters or surrounding spaces".into(),
            ));
        }
        let identity = match identity {
            Some(id) => {
                let parsed = stix::Identifier::parse(id)
                    .map_err(|e| NodeError::Unprocessable(format!("identity {id:?}: {e}")))?;
                if parsed.object_type() != "identity" {
                    return Err(NodeError::Unprocessable(format!(
                        "{id:?} is not an identity--UUID id"
                    )));
                }
                id.to_string()
            }
            None => format!("identity--{}", uuid::Uuid::new_v4()),
        };
        let entry = Node::entry(
            principal,
            "org-create",
            None,
            vec![identity.clone()],
            format!("organisation {name}"),
        );
        Ok(self.store.create_org(name, &identity, &entry)?)
    }

    pub fn orgs(&self, principal: &Principal) -> Result<Vec<Org>> {
        self.administrator(principal)?;
        Ok(self.store.orgs()?)
    }

    /// An organisation by name or identity id, or 404 saying how to create it.
    pub(crate) fn org_named(&self, name: &str) -> Result<Org> {
        self.store.org(name)?.ok_or_else(|| {
            NodeError::NotFound(format!(
                "no organisation named {name:?} (create it with: entente org create {name:?})"
            ))
        })
    }

    fn community_named(&self, name: &str) -> Result<Community> {
        self.store.community(name)?.ok_or_else(|| {
            NodeError::NotFound(format!(
                "no community named {name:?} (create it with: entente community create {name:?})"
            ))
        })
    }

    /// A user by `ORG/USER` (or a user name unique on the node), or 404.
    pub fn user_named(&self, path: &str) -> Result<User> {
        match self.store.user(path) {
            Ok(Some(u)) => Ok(u),
            Ok(None) => Err(NodeError::NotFound(format!(
                "no user {path:?} (entente user list shows them; create one with: entente user create --org ORG --role ROLE NAME)"
            ))),
            Err(store::StoreError::Invalid(why)) => Err(NodeError::Unprocessable(why)),
            Err(e) => Err(e.into()),
        }
    }

    pub fn create_user(
        &self,
        principal: &Principal,
        org: &str,
        name: &str,
        role: Role,
    ) -> Result<User> {
        self.administrator(principal)?;
        if !valid_name(name) {
            return Err(NodeError::Unprocessable(
                "user names are 1-128 characters, without '/', control characters or surrounding spaces".into(),
            ));
        }
        let org = self.org_named(org)?;
        let entry = Node::entry(
            principal,
            "user-create",
            None,
            Vec::new(),
            format!("user {}/{name} ({})", org.name, role.as_str()),
        );
        Ok(self.store.create_user(org.id, name, role, &entry)?)
    }

    pub fn users(&self, principal: &Principal) -> Result<Vec<User>> {
        self.administrator(principal)?;
        Ok(self.store.users()?)
    }

    pub fn create_community(
        &self,
        principal: &Principal,
        name: &str,
        show_members: bool,
    ) -> Result<Community> {
        self.administrator(principal)?;
        if !valid_name(name) {
            return Err(NodeError::Unprocessable(
                "community names are 1-128 characters, without '/', control characters or surrounding spaces".into(),
            ));
        }
        let entry = Node::entry(
            principal,
            "community-create",
            None,
            Vec::new(),
            format!("community {name}"),
        );
        Ok(self.store.create_community(name, show_members, &entry)?)
    }

    /// Adds an organisation to a community, pseudonymous or not. Adding a
    /// member again on the same terms changes nothing (`Ok(false)`: it was
    /// a member already); on other terms it is refused, because whether a
    /// member is pseudonymous is fixed when it joins
    /// (`sharing::administration::membership_change`).
    pub fn add_member(
        &self,
        principal: &Principal,
        community: &str,
        org: &str,
        pseudonymous: bool,
    ) -> Result<(Community, Org, bool)> {
        self.administrator(principal)?;
        let c = self.community_named(community)?;
        let o = self.org_named(org)?;
        let current = self
            .store
            .members(c.id)?
            .into_iter()
            .find(|m| m.org == o.id)
            .map(|m| m.pseudonymous);
        match membership_change(current, pseudonymous) {
            Ok(MembershipChange::Unchanged) => return Ok((c, o, false)),
            Ok(MembershipChange::Join) => {}
            Err(refusal) => {
                return Err(NodeError::Conflict(format!("{} {refusal}", o.name)));
            }
        }
        let entry = Node::entry(
            principal,
            "membership",
            None,
            Vec::new(),
            format!(
                "{} joins {}{}",
                o.name,
                c.name,
                if pseudonymous { " (pseudonymous)" } else { "" }
            ),
        );
        self.store.add_member(c.id, o.id, pseudonymous, &entry)?;
        if pseudonymous {
            self.resign_for_pseudonym(principal, &c, &o)?;
        }
        Ok((c, o, true))
    }

    /// After `org` joins `community` as a pseudonymous member, readers of
    /// the community's collections receive its identity id as the pseudonym
    /// in what the masks cover (`read::Mask::covers`), and no longer its
    /// own identity object. Manifests signed before hash the real text: the
    /// ones that list such an object are withdrawn and their objects signed
    /// again as readers now receive them.
    fn resign_for_pseudonym(
        &self,
        principal: &Principal,
        community: &Community,
        org: &Org,
    ) -> Result<()> {
        let mut affected = Vec::new();
        for c in self.store.all_collections()? {
            if !c.signed || c.owner != Owner::Community(community.id) {
                continue;
            }
            let masks = self.pseudonym_masks(&Principal::anonymous(), &c.policy())?;
            let Some(mask) = masks.iter().find(|m| m.org == org.id) else {
                continue;
            };
            affected.extend(
                self.store
                    .signed_rows_mentioning(c.key, &mask.real)?
                    .into_iter()
                    .filter(|(_, origin)| mask.covers(*origin))
                    .map(|(row, _)| row),
            );
        }
        if affected.is_empty() {
            return Ok(());
        }
        let entry = Node::entry(
            principal,
            "unsign",
            None,
            Vec::new(),
            format!("{} joins {} (pseudonymous)", org.name, community.name),
        );
        if !self.store.withdraw_manifests(&affected, &entry)?.is_empty() {
            self.sign_again()?;
        }
        Ok(())
    }

    /// Every community with its members (administrators).
    pub fn communities_admin(&self, principal: &Principal) -> Result<Vec<CommunityAdminView>> {
        self.administrator(principal)?;
        let orgs = self.store.orgs()?;
        let mut out = Vec::new();
        for community in self.store.communities()? {
            let members = self
                .store
                .members(community.id)?
                .into_iter()
                .filter_map(|m| {
                    orgs.iter()
                        .find(|o| o.id == m.org)
                        .map(|o| (o.clone(), m.pseudonymous))
                })
                .collect();
            out.push(CommunityAdminView { community, members });
        }
        Ok(out)
    }

    /// Creates a token; returns it with its secret (shown once, stored only
    /// as a digest). A user's token given `read`/`write` is narrowed to
    /// them: each must be a collection the user may use that way.
    pub fn create_token(
        &self,
        principal: &Principal,
        request: &TokenRequest,
    ) -> Result<(TokenRecord, String)> {
        self.administrator(principal)?;
        let user = match &request.user {
            Some(path) => Some(self.user_named(path)?),
            None => None,
        };
        let name = match (&request.name, &user) {
            (Some(n), _) if n.trim().is_empty() || n.chars().count() > 128 => {
                return Err(NodeError::Unprocessable(
                    "a token's name is 1-128 characters".into(),
                ));
            }
            (Some(n), _) => n.clone(),
            (None, Some(u)) => format!("{}/{}-{}", u.org_name, u.name, store::now().as_micros()),
            (None, None) => {
                return Err(NodeError::Unprocessable(
                    "give the token a name (or a user to act for)".into(),
                ));
            }
        };
        if request.admin && user.is_some() {
            return Err(NodeError::Unprocessable(
                "an admin token is the node's, not a user's: give --admin or --user, not both"
                    .into(),
            ));
        }
        if request.admin && !(request.read.is_empty() && request.write.is_empty()) {
            return Err(NodeError::Unprocessable(
                "an admin token has every right on every collection, so collections to read or write would not narrow it: give --admin alone, or a token without --admin that reads and writes only the collections named"
                    .into(),
            ));
        }
        let member = match &user {
            Some(u) => Some(self.user_principal(u)?),
            None => None,
        };
        let mut grants: Vec<Grant> = Vec::new();
        for (ids, right) in [(&request.read, "read"), (&request.write, "write")] {
            for id in ids {
                let collection = self.collection_named(id)?;
                let wanted = Access {
                    read: right == "read",
                    write: right == "write",
                };
                if let Some(p) = &member {
                    let has = p.access(&collection.policy()).unwrap_or_default();
                    if (wanted.read && !has.read) || (wanted.write && !has.write) {
                        return Err(NodeError::Unprocessable(format!(
                            "{} may not {right} collection {id}: a token's scope narrows its user's rights and never adds to them",
                            request.user.as_deref().unwrap_or_default()
                        )));
                    }
                }
                grants.push(Grant {
                    collection_id: collection.id,
                    can_read: wanted.read,
                    can_write: wanted.write,
                });
            }
        }
        if grants.is_empty() && !request.admin && user.is_none() {
            return Err(NodeError::Unprocessable(
                "this token could do nothing: give it a user, collections to read or write, or admin rights".into(),
            ));
        }
        let secret = sharing::token::generate()
            .map_err(|e| NodeError::Unprocessable(format!("cannot make a token secret: {e}")))?;
        let entry = Node::entry(
            principal,
            "token-create",
            None,
            Vec::new(),
            format!(
                "token {name}{}{}",
                request
                    .user
                    .as_deref()
                    .map(|u| format!(" for {u}"))
                    .unwrap_or_default(),
                if request.admin { " (admin)" } else { "" }
            ) + &request
                .max_tlp
                .map(|t| format!(" reading at most {t}"))
                .unwrap_or_default(),
        );
        let record = self.store.create_token(
            &NewToken {
                name,
                secret_hash: sharing::token::digest(&secret),
                admin: request.admin,
                user: user.map(|u| u.id),
                expires: request.expires,
                grants,
                max_tlp: request.max_tlp,
            },
            &entry,
        )?;
        Ok((record, secret))
    }

    pub fn tokens(&self, principal: &Principal) -> Result<Vec<TokenRecord>> {
        self.administrator(principal)?;
        Ok(self.store.tokens()?)
    }

    /// Revokes a token by id or name.
    pub fn revoke_token(&self, principal: &Principal, id_or_name: &str) -> Result<TokenRecord> {
        self.administrator(principal)?;
        let entry = Node::entry(
            principal,
            "token-revoke",
            None,
            Vec::new(),
            format!("token {id_or_name}"),
        );
        match self.store.revoke_token(id_or_name, store::now(), &entry) {
            Err(store::StoreError::NotFound(_)) => Err(NodeError::NotFound(format!(
                "no token {id_or_name:?} (entente token list shows them)"
            ))),
            other => Ok(other?),
        }
    }

    /// Audit records matching `filter`, oldest first (administrators).
    pub fn audit_records(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditRecord>> {
        self.administrator(principal)?;
        Ok(self.store.audit(filter)?)
    }

    /// Recomputes the audit log's hash chain (administrators).
    pub fn verify_audit(&self, principal: &Principal) -> Result<AuditVerdict> {
        self.administrator(principal)?;
        let chain = self.store.audit_chain()?;
        Ok(match store::verify_chain(&chain) {
            Ok(n) => AuditVerdict::Intact(n),
            Err((seq, why)) => AuditVerdict::Broken { seq, why },
        })
    }
}
