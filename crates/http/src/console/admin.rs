//! Administration: for node administrators (signed in with an admin
//! token) the node's organisations, users, communities, tokens (secrets
//! shown once) and the audit log with its verification; for an
//! organisation's administrators, their own users, their passwords and
//! sign-in links. Who may do what is `sharing::administration`'s, applied
//! by the `node` use cases these forms call.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use node::{AuditVerdict, TokenRequest};
use sharing::Role;
use sharing::administration::{may_administer_node, may_manage_users_of};

use super::Signed;
use super::page::{Page, Section, csrf_field, notice, short, when};
use crate::AppState;
use crate::error::ApiError;

/// What the page shows, loaded for one request.
struct Loaded {
    node_admin: bool,
    orgs: Vec<node::Org>,
    users: Vec<node::User>,
    communities: Vec<node::CommunityAdminView>,
    tokens: Vec<node::TokenRecord>,
    audit: Vec<node::AuditRecord>,
    /// The organisation whose users an organisation administrator manages.
    own_org: Option<sharing::OrgId>,
}

async fn load(state: &AppState, signed: &Signed) -> Result<Loaded, ApiError> {
    let principal = signed.session.principal.clone();
    state
        .blocking(move |s| {
            let node = s.node();
            if may_administer_node(&principal) {
                let audit = node.latest_audit(&principal, 100)?;
                Ok(Loaded {
                    node_admin: true,
                    orgs: node.orgs(&principal)?,
                    users: node.users(&principal)?,
                    communities: node.communities_admin(&principal)?,
                    tokens: node.tokens(&principal)?,
                    audit,
                    own_org: None,
                })
            } else {
                let own_org = principal
                    .org()
                    .filter(|o| may_manage_users_of(&principal, *o));
                let users = match own_org {
                    Some(o) => node.users_of_org(&principal, o)?,
                    None => Vec::new(),
                };
                Ok(Loaded {
                    node_admin: false,
                    orgs: Vec::new(),
                    users,
                    communities: Vec::new(),
                    tokens: Vec::new(),
                    audit: Vec::new(),
                    own_org,
                })
            }
        })
        .await
}

pub(crate) async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    render(&state, &signed, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    message: Option<Markup>,
    status: StatusCode,
) -> Response {
    let loaded = match load(state, signed).await {
        Ok(l) => l,
        Err(e) => return super::page::from_api_error(e),
    };
    let mut r = Page {
        title: "Administration",
        section: Section::Admin,
        signed: Some(signed),
    }
    .render(html! {
        div id="admin-result" { @if let Some(m) = message { (m) } }
        @if !loaded.node_admin && loaded.own_org.is_none() {
            p { "You have no administration rights. Organisation administrators manage their organisation's users here; node administrators sign in with an admin token to manage the node." }
        }
        @if loaded.node_admin || loaded.own_org.is_some() {
            (users_section(signed, &loaded))
        }
        @if loaded.node_admin {
            (orgs_section(signed, &loaded))
            (communities_section(signed, &loaded))
            (tokens_section(signed, &loaded))
            (audit_section(signed, &loaded))
        }
    });
    *r.status_mut() = status;
    r
}

fn role_select(id: &str) -> Markup {
    html! {
        select id=(id) name="role" {
            option value="analyst" { "analyst (reads and writes)" }
            option value="reader" { "reader (reads only)" }
            option value="admin" { "admin (also manages the organisation's users)" }
        }
    }
}

fn users_section(signed: &Signed, l: &Loaded) -> Markup {
    html! {
        section aria-labelledby="users" {
            h2 id="users" { "Users" }
            table id="user-list" {
                thead { tr { th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "Created" } } }
                tbody { @for u in &l.users { tr { td { (u.org_name) "/" (u.name) } td { (u.role.as_str()) } td { (when(u.created)) } } } }
            }
            div.grid {
                form.panel method="post" action="/console/admin/users" {
                    (csrf_field(signed))
                    h3 { "Add a user" }
                    @if l.node_admin {
                        label for="u-org" { "Organisation" }
                        select id="u-org" name="org" { @for o in &l.orgs { option value=(o.id) { (o.name) } } }
                    } @else if let Some(o) = l.own_org {
                        input type="hidden" name="org" value=(o);
                    }
                    label for="u-name" { "Name" }
                    input type="text" id="u-name" name="name" required maxlength="128";
                    label for="u-role" { "Role" }
                    (role_select("u-role"))
                    p { button type="submit" { "Add the user" } }
                }
                form.panel method="post" action="/console/admin/links" {
                    (csrf_field(signed))
                    h3 { "A sign-in link" }
                    p.hint { "Works once, for a day. Send it to the user over a channel you trust." }
                    label for="l-user" { "User" }
                    select id="l-user" name="user" { @for u in &l.users { option value={(u.org_name) "/" (u.name)} { (u.org_name) "/" (u.name) } } }
                    p { button type="submit" { "Make a link" } }
                }
                form.panel method="post" action="/console/admin/passwords" {
                    (csrf_field(signed))
                    h3 { "Set a password" }
                    label for="p-user" { "User" }
                    select id="p-user" name="user" { @for u in &l.users { option value={(u.org_name) "/" (u.name)} { (u.org_name) "/" (u.name) } } }
                    label for="p-password" { "New password" }
                    p.hint { "At least 12 characters. Their current sessions end." }
                    input type="password" id="p-password" name="password" required minlength="12" maxlength="256" autocomplete="new-password";
                    p { button type="submit" { "Set the password" } }
                }
            }
        }
    }
}

fn orgs_section(signed: &Signed, l: &Loaded) -> Markup {
    html! {
        section aria-labelledby="orgs" {
            h2 id="orgs" { "Organisations" }
            table id="org-list" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "STIX identity" } } }
                tbody { @for o in &l.orgs { tr { td { (o.name) } td { code { (o.identity_id) } } } } }
            }
            form.panel method="post" action="/console/admin/orgs" {
                (csrf_field(signed))
                label for="o-name" { "New organisation" }
                input type="text" id="o-name" name="name" required maxlength="128";
                p { button type="submit" { "Create" } }
            }
        }
    }
}

fn communities_section(signed: &Signed, l: &Loaded) -> Markup {
    html! {
        section aria-labelledby="communities" {
            h2 id="communities" { "Communities" }
            table id="community-list" {
                thead { tr { th scope="col" { "Community" } th scope="col" { "Members" } } }
                tbody {
                    @for c in &l.communities {
                        tr {
                            td { (c.community.name) @if c.community.show_members { br; span.muted { "members see each other" } } }
                            td { @for (o, pseudonymous) in &c.members { (o.name) @if *pseudonymous { " (pseudonymous)" } br; } }
                        }
                    }
                }
            }
            div.grid {
                form.panel method="post" action="/console/admin/communities" {
                    (csrf_field(signed))
                    label for="c-name" { "New community" }
                    input type="text" id="c-name" name="name" required maxlength="128";
                    div { input type="checkbox" id="c-show" name="show_members"; " " label.inline for="c-show" { "Members may see the member list" } }
                    p { button type="submit" { "Create" } }
                }
                form.panel method="post" action="/console/admin/members" {
                    (csrf_field(signed))
                    label for="m-community" { "Community" }
                    select id="m-community" name="community" { @for c in &l.communities { option value=(c.community.name) { (c.community.name) } } }
                    label for="m-org" { "Organisation" }
                    select id="m-org" name="org" { @for o in &l.orgs { option value=(o.name) { (o.name) } } }
                    div { input type="checkbox" id="m-pseudo" name="pseudonymous"; " " label.inline for="m-pseudo" { "Pseudonymous member (others see a pseudonym, never its name)" } }
                    p { button type="submit" { "Add to the community" } }
                }
            }
        }
    }
}

fn tokens_section(signed: &Signed, l: &Loaded) -> Markup {
    html! {
        section aria-labelledby="tokens" {
            h2 id="tokens" { "API tokens" }
            table id="token-list" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "For" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { "" } } }
                tbody {
                    @for t in &l.tokens {
                        tr {
                            td { (short(&t.name, 60)) @if t.admin { " " strong { "(admin)" } } }
                            td {
                                @match &t.user { Some(u) => { (u.org_name) "/" (u.name) }, None => "node-level" }
                                @if let Some(ceiling) = t.max_tlp { br; small { "reads at most " (ceiling) } }
                            }
                            td { @match t.expires { Some(e) => (when(e)), None => "never" } }
                            td { @match t.last_used { Some(e) => (when(e)), None => "—" } }
                            td {
                                @if t.revoked.is_some() { "revoked" } @else {
                                    form.inline method="post" action="/console/admin/tokens/revoke" {
                                        (csrf_field(signed))
                                        input type="hidden" name="token" value=(t.id);
                                        button.secondary type="submit" aria-label={"Revoke token " (t.name)} { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.panel method="post" action="/console/admin/tokens" {
                (csrf_field(signed))
                h3 { "New token" }
                p.hint { "The secret is shown once, on the next page." }
                label for="t-user" { "For user (ORG/USER), or empty for a node-level token" }
                input type="text" id="t-user" name="user" maxlength="300" list="user-names";
                datalist id="user-names" { @for u in &l.users { option value={(u.org_name) "/" (u.name)} {} } }
                label for="t-name" { "Name (optional for a user's token)" }
                input type="text" id="t-name" name="name" maxlength="128";
                label for="t-read" { "Collections it may read (ids, comma-separated; narrows a user's token)" }
                input type="text" id="t-read" name="read" maxlength="4000";
                label for="t-write" { "Collections it may write" }
                input type="text" id="t-write" name="write" maxlength="4000";
                label for="t-tlp" { "Reads at most" }
                select id="t-tlp" name="max_tlp" {
                    option value="" selected { "any TLP its rights allow" }
                    @for t in [sharing::Tlp::Clear, sharing::Tlp::Green, sharing::Tlp::Amber, sharing::Tlp::AmberStrict] {
                        option value=(t.as_str()) { (t) }
                    }
                }
                label for="t-days" { "Expires after (days; empty: never)" }
                input type="text" id="t-days" name="days" inputmode="numeric" maxlength="5";
                div { input type="checkbox" id="t-admin" name="admin"; " " label.inline for="t-admin" { "Node administrator token" } }
                p { button type="submit" { "Create the token" } }
            }
        }
    }
}

fn audit_section(signed: &Signed, l: &Loaded) -> Markup {
    html! {
        section aria-labelledby="audit" {
            h2 id="audit" { "Audit log (the newest 100 entries)" }
            form method="post" action="/console/admin/audit/verify" {
                (csrf_field(signed))
                button type="submit" { "Verify the whole chain" }
            }
            table id="audit-list" {
                thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Who" } th scope="col" { "Detail" } } }
                tbody {
                    @for a in &l.audit {
                        tr {
                            td { (a.seq) } td { (when(a.at)) } td { (a.entry.action) }
                            td { @if let Some(u) = a.entry.user { "user " (u) } @else if let Some(t) = a.entry.token { "token " (t) } @else { "operator" } }
                            td { (short(&a.entry.detail, 120)) @if !a.entry.objects.is_empty() { " " span.muted { (short(&a.entry.objects.join(" "), 120)) } } }
                        }
                    }
                }
            }
        }
    }
}

fn fields(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Runs an administrative act and shows the page with its outcome.
async fn act(
    state: AppState,
    signed: Signed,
    work: impl FnOnce(&node::Node, &sharing::Principal) -> Result<Markup, ApiError> + Send + 'static,
) -> Response {
    let principal = signed.session.principal.clone();
    let result = state.blocking(move |s| work(s.node(), &principal)).await;
    match result {
        Ok(m) => render(&state, &signed, Some(notice("ok", m)), StatusCode::OK).await,
        Err(e) => {
            let status = e.status;
            render(
                &state,
                &signed,
                Some(notice("error", html! { (e.description) })),
                status,
            )
            .await
        }
    }
}

pub(crate) async fn create_org(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let name = get(&f, "name").to_string();
    act(state, signed, move |node, p| {
        let o = node.create_org(p, name.trim(), None)?;
        Ok(html! { "Organisation " strong { (o.name) } " created, identity " code { (o.identity_id) } "." })
    })
    .await
}

pub(crate) async fn create_user(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let (org, name, role) = (
        get(&f, "org").to_string(),
        get(&f, "name").to_string(),
        get(&f, "role").to_string(),
    );
    act(state, signed, move |node, p| {
        let role: Role = role.parse().map_err(|e: sharing::model::UnknownRole| ApiError::unprocessable(e.to_string()))?;
        let org: i64 = org.parse().map_err(|_| ApiError::unprocessable("choose the user's organisation from the list"))?;
        let u = node.create_org_user(p, org, name.trim(), role)?;
        Ok(html! { "User " strong { (u.org_name) "/" (u.name) } " added as " (u.role.as_str()) ". Give them a sign-in link or a password below." })
    })
    .await
}

pub(crate) async fn create_community(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let (name, show) = (get(&f, "name").to_string(), get(&f, "show_members") == "on");
    act(state, signed, move |node, p| {
        let c = node.create_community(p, name.trim(), show)?;
        Ok(html! { "Community " strong { (c.name) } " created." })
    })
    .await
}

pub(crate) async fn add_member(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let (community, org, pseudonymous) = (
        get(&f, "community").to_string(),
        get(&f, "org").to_string(),
        get(&f, "pseudonymous") == "on",
    );
    act(state, signed, move |node, p| {
        let (c, o, added) = node.add_member(p, &community, &org, pseudonymous)?;
        Ok(html! { (o.name) " is " @if added { "now" } @else { "already" } " a member of " (c.name) @if pseudonymous { ", pseudonymously" } "." })
    })
    .await
}

fn ids(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn create_token(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let user = get(&f, "user").trim().to_string();
    let name = get(&f, "name").trim().to_string();
    let days = get(&f, "days").trim().to_string();
    let request_read = ids(get(&f, "read"));
    let request_write = ids(get(&f, "write"));
    let admin = get(&f, "admin") == "on";
    let max_tlp = get(&f, "max_tlp").trim().to_string();
    act(state, signed, move |node, p| {
        let max_tlp = if max_tlp.is_empty() {
            None
        } else {
            Some(
                max_tlp
                    .parse::<sharing::Tlp>()
                    .map_err(|e| ApiError::unprocessable(e.to_string()))?,
            )
        };
        let expires = if days.is_empty() {
            None
        } else {
            let d: i64 = days.parse().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| ApiError::unprocessable("the expiry is a number of days from 1 to 3650, or empty"))?;
            Some(stix::Timestamp::from_micros(node::now().as_micros() + d * 86_400_000_000))
        };
        let (record, secret) = node.create_token(
            p,
            &TokenRequest {
                name: (!name.is_empty()).then_some(name),
                user: (!user.is_empty()).then_some(user),
                admin,
                read: request_read,
                write: request_write,
                expires,
                max_tlp,
            },
        )?;
        Ok(html! {
            p { "Token " strong { (record.name) } " created. Copy its secret now: it is not shown again." }
            p.secret id="new-token-secret" { (secret) }
        })
    })
    .await
}

pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let token = get(&f, "token").to_string();
    act(state, signed, move |node, p| {
        let t = node.revoke_token(p, &token)?;
        Ok(html! { "Token " strong { (t.name) } " revoked; every session opened with it has ended." })
    })
    .await
}

pub(crate) async fn set_password(
    State(state): State<AppState>,
    signed: Signed,
    body: String,
) -> Response {
    let f = fields(&body);
    let (user, password) = (get(&f, "user").to_string(), get(&f, "password").to_string());
    act(state, signed, move |node, p| {
        node.set_password(p, &user, &password)?;
        Ok(html! { "The password of " strong { (user) } " is set; their other sessions have ended." })
    })
    .await
}

pub(crate) async fn create_link(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: String,
) -> Response {
    let f = fields(&body);
    let user = get(&f, "user").to_string();
    let base = crate::taxii::base_url(&state, &headers);
    act(state, signed, move |node, p| {
        let (u, secret, expires) = node.create_sign_in_link(p, &user, None, node::now())?;
        Ok(html! {
            p { "A sign-in link for " strong { (u.org_name) "/" (u.name) } ", valid once until " (when(expires)) ":" }
            p.secret id="new-link" { (base) "/console/link/" (secret) }
        })
    })
    .await
}

pub(crate) async fn verify_audit(State(state): State<AppState>, signed: Signed) -> Response {
    act(state, signed, move |node, p| {
        Ok(match node.verify_audit(p)? {
            AuditVerdict::Intact(n) => html! { span id="audit-verdict" data-intact="true" { "The audit log is intact: " (n) " entries, each chained to the one before." } },
            AuditVerdict::Broken { seq, why } => html! { span id="audit-verdict" data-intact="false" { "The audit log is broken at entry " (seq) ": " (why) } },
        })
    })
    .await
}
