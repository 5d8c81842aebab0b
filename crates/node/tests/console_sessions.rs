//! Signing in to the console through the node's use cases: passwords and
//! who may set them, throttling, one-time links, token sessions that end
//! with their token, idle and absolute expiry, sign-out.

use std::sync::Arc;

use node::SignIn;
use sharing::console::SessionLimits;
use sharing::{Principal, Role};
use stix::Timestamp;
use store::{DirectoryStore, SqliteOptions, SqliteStore};

fn node() -> (tempfile::TempDir, node::Node) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("n.db"), SqliteOptions::default()).unwrap();
    store
        .create_api_root(
            &store::ApiRoot {
                path: "api1".into(),
                title: "t".into(),
                description: None,
                max_content_length: 1 << 20,
            },
            &store::AuditEntry::default(),
        )
        .unwrap();
    let node = node::Node::new(Arc::new(store), stix::Validator::new()).unwrap();
    let op = Principal::operator();
    for org in ["cert", "ngo"] {
        node.create_org(&op, org, None).unwrap();
        node.create_user(&op, org, "boss", Role::Admin).unwrap();
        node.create_user(&op, org, "ana", Role::Analyst).unwrap();
    }
    (dir, node)
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_micros(1_800_000_000_000_000 + s * 1_000_000)
}

fn opened(s: SignIn) -> String {
    match s {
        SignIn::Opened { secret } => secret,
        other => panic!("not signed in: {other:?}"),
    }
}

#[test]
fn who_may_set_passwords() {
    let (_d, node) = node();
    let boss = node.principal_named("cert/boss").unwrap();
    let ana = node.principal_named("cert/ana").unwrap();
    let other_boss = node.principal_named("ngo/boss").unwrap();
    node.set_password(&boss, "cert/ana", "a long enough passphrase")
        .unwrap();
    node.set_password(&ana, "cert/ana", "my own new passphrase")
        .unwrap();
    assert!(matches!(
        node.set_password(&other_boss, "cert/ana", "a long enough passphrase"),
        Err(node::NodeError::Forbidden(_))
    ));
    assert!(matches!(
        node.set_password(&ana, "cert/boss", "a long enough passphrase"),
        Err(node::NodeError::Forbidden(_))
    ));
    assert!(matches!(
        node.set_password(&boss, "cert/ana", "short"),
        Err(node::NodeError::Unprocessable(_))
    ));
    assert!(matches!(
        node.create_sign_in_link(&ana, "cert/ana", None, at(0)),
        Err(node::NodeError::Forbidden(_))
    ));
}

#[test]
fn passwords_throttling_and_expiry() {
    let (_d, node) = node();
    let op = Principal::operator();
    node.set_password(&op, "cert/ana", "a long enough passphrase")
        .unwrap();
    let limits = SessionLimits {
        idle_micros: 60_000_000,
        absolute_micros: 600_000_000,
    };
    let secret = opened(
        node.sign_in_with_password("CERT/ana", "a long enough passphrase", at(0))
            .unwrap(),
    );
    let session = node
        .console_session(&secret, at(30), limits)
        .unwrap()
        .unwrap();
    assert_eq!(session.who, "cert/ana");
    assert_eq!(
        session.principal.member.as_ref().unwrap().role,
        Role::Analyst
    );
    assert!(session.principal.token_id.is_none());
    // Active every 50 s: idle never, but the absolute limit ends it.
    for s in (80..600).step_by(50) {
        assert!(
            node.console_session(&secret, at(s), limits)
                .unwrap()
                .is_some(),
            "at {s}"
        );
    }
    assert!(
        node.console_session(&secret, at(601), limits)
            .unwrap()
            .is_none()
    );
    // Idle.
    let secret = opened(
        node.sign_in_with_password("cert/ana", "a long enough passphrase", at(1000))
            .unwrap(),
    );
    assert!(
        node.console_session(&secret, at(1061), limits)
            .unwrap()
            .is_none()
    );
    // Sign-out.
    let secret = opened(
        node.sign_in_with_password("cert/ana", "a long enough passphrase", at(2000))
            .unwrap(),
    );
    let s = node
        .console_session(&secret, at(2001), limits)
        .unwrap()
        .unwrap();
    node.sign_out(&s, &secret).unwrap();
    assert!(
        node.console_session(&secret, at(2002), limits)
            .unwrap()
            .is_none()
    );

    // Failures: the same answer for a missing account; then waits.
    let refused = |s: SignIn| matches!(s, SignIn::Refused(_));
    assert!(refused(
        node.sign_in_with_password("nobody/x", "a long enough passphrase", at(3000))
            .unwrap()
    ));
    for i in 0..4 {
        assert!(refused(
            node.sign_in_with_password("cert/ana", "wrong wrong wrong", at(3000 + i))
                .unwrap()
        ));
    }
    assert!(matches!(
        node.sign_in_with_password("cert/ana", "a long enough passphrase", at(3004))
            .unwrap(),
        SignIn::Wait(_)
    ));
    // After the wait, the right password works and clears the count.
    opened(
        node.sign_in_with_password("cert/ana", "a long enough passphrase", at(3100))
            .unwrap(),
    );
    assert!(refused(
        node.sign_in_with_password("cert/ana", "wrong wrong wrong", at(3101))
            .unwrap()
    ));
}

#[test]
fn links_once_and_tokens_until_revoked() {
    let (_d, node) = node();
    let op = Principal::operator();
    let limits = SessionLimits::default();
    let (_, link, _) = node
        .create_sign_in_link(&op, "ngo/ana", Some(60_000_000), at(0))
        .unwrap();
    let secret = opened(node.sign_in_with_link(&link, at(10)).unwrap());
    assert_eq!(
        node.console_session(&secret, at(11), limits)
            .unwrap()
            .unwrap()
            .who,
        "ngo/ana"
    );
    assert!(matches!(
        node.sign_in_with_link(&link, at(12)).unwrap(),
        SignIn::Refused(_)
    ));
    let (_, late, _) = node
        .create_sign_in_link(&op, "ngo/ana", Some(60_000_000), at(0))
        .unwrap();
    assert!(matches!(
        node.sign_in_with_link(&late, at(61)).unwrap(),
        SignIn::Refused(_)
    ));

    let (record, token) = node
        .create_token(
            &op,
            &node::TokenRequest {
                name: Some("ops".into()),
                admin: true,
                ..Default::default()
            },
        )
        .unwrap();
    let now = node::now();
    let secret = opened(node.sign_in_with_token(&token, now).unwrap());
    let s = node.console_session(&secret, now, limits).unwrap().unwrap();
    assert!(s.principal.node_admin && s.who == "token ops");
    node.revoke_token(&op, &record.id.to_string()).unwrap();
    assert!(
        node.console_session(&secret, now, limits)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        node.sign_in_with_token("ent_nothing", now).unwrap(),
        SignIn::Refused(_)
    ));
}
