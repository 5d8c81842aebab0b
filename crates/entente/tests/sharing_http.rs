//! The sharing policy through the HTTP API: every read path shows each
//! principal exactly what TLP and the source allow, and nothing more.

mod common;

use common::*;

const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const RECIPIENTS_EXT: &str = "extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3";

/// A node with three organisations: a CERT and a helpdesk (pseudonymous) in
/// one community with a vendor; a fourth outsider organisation.
struct World {
    node: Node,
    shared: String,
    public: String,
    vendor_own: String,
    cert: String,
    helpdesk: String,
    vendor: String,
    outsider: String,
    helpdesk_identity: String,
}

fn world() -> World {
    let node = Node::init();
    let helpdesk_identity = node.ok(&["org", "create", "Civic Helpdesk"]);
    node.ok(&["org", "create", "National CERT"]);
    node.ok(&["org", "create", "Vendor"]);
    node.ok(&["org", "create", "Outsider"]);
    node.ok(&["community", "create", "Dialogue"]);
    node.ok(&["community", "add", "Dialogue", "National CERT"]);
    node.ok(&["community", "add", "Dialogue", "Vendor"]);
    node.ok(&[
        "community",
        "add",
        "Dialogue",
        "Civic Helpdesk",
        "--pseudonymous",
    ]);
    node.ok(&["community", "create", "Vendors"]);
    node.ok(&["community", "add", "Vendors", "Vendor"]);
    node.ok(&["community", "add", "Vendors", "Outsider"]);
    for (org, user, role) in [
        ("National CERT", "ana", "analyst"),
        ("Civic Helpdesk", "hugo", "analyst"),
        ("Vendor", "vera", "analyst"),
        ("Outsider", "otto", "analyst"),
    ] {
        node.ok(&["user", "create", "--org", org, "--role", role, user]);
    }
    let shared = node.ok(&[
        "collection",
        "create",
        "--title",
        "Dialogue IOCs",
        "--community",
        "Dialogue",
        "--default-tlp",
        "green",
    ]);
    let public = node.ok(&[
        "collection",
        "create",
        "--title",
        "Public feed",
        "--community",
        "Dialogue",
        "--default-tlp",
        "clear",
        "--public",
    ]);
    let vendor_own = node.ok(&[
        "collection",
        "create",
        "--title",
        "Vendors feed",
        "--community",
        "Vendors",
        "--default-tlp",
        "green",
    ]);
    let token = |u: &str| node.ok(&["token", "create", "--user", u]);
    World {
        cert: token("National CERT/ana"),
        helpdesk: token("Civic Helpdesk/hugo"),
        vendor: token("Vendor/vera"),
        outsider: token("Outsider/otto"),
        shared,
        public,
        vendor_own,
        helpdesk_identity,
        node,
    }
}

fn marked(n: u32, markings: &[&str], created_by: Option<&str>) -> String {
    let refs: Vec<String> = markings.iter().map(|m| format!("\"{m}\"")).collect();
    let by = created_by
        .map(|c| format!(r#","created_by_ref":"{c}""#))
        .unwrap_or_default();
    let markings = if refs.is_empty() {
        String::new()
    } else {
        format!(r#","object_marking_refs":[{}]"#, refs.join(","))
    };
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"ioc {n}","pattern":"[domain-name:value = 'ioc{n}.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"{markings}{by}}}"#,
        uuid(n)
    )
}

fn recipients(n: u32, orgs: &[&str], users: &[&str]) -> (String, String) {
    let id = format!("marking-definition--{}", uuid(1000 + n));
    let q = |xs: &[&str]| {
        xs.iter()
            .map(|x| format!("\"{x}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut lists = Vec::new();
    if !orgs.is_empty() {
        lists.push(format!(r#""organizations":[{}]"#, q(orgs)));
    }
    if !users.is_empty() {
        lists.push(format!(r#""users":[{}]"#, q(users)));
    }
    let md = format!(
        r#"{{"type":"marking-definition","spec_version":"2.1","id":"{id}","created":"2026-01-01T00:00:00.000Z","name":"recipients","extensions":{{"{RECIPIENTS_EXT}":{{"extension_type":"property-extension",{}}}}}}}"#,
        lists.join(",")
    );
    (id, md)
}

fn ids(reply: &Reply) -> Vec<String> {
    let mut v: Vec<String> = reply.json()["objects"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn ind(n: u32) -> String {
    format!("indicator--{}", uuid(n))
}

#[test]
fn every_read_path_shows_each_principal_exactly_its_tlp_view() {
    let w = world();
    let server = w.node.serve();
    let objects = server.url(&format!("/api1/collections/{}/objects/", w.shared));
    let (amber_to_vendor, md1) = recipients(1, &["Vendor"], &[]);
    let (red_to_ana, md2) = recipients(2, &[], &["National CERT/ana"]);
    let body = envelope(&[
        md1,
        md2,
        marked(1, &[CLEAR], None),
        marked(2, &[GREEN], None),
        marked(3, &[AMBER], None),
        marked(4, &[AMBER, &amber_to_vendor], None),
        marked(5, &[AMBER_STRICT], None),
        marked(6, &[RED, &red_to_ana], None),
        marked(7, &[], None),
    ]);
    let status = post(&objects, &w.helpdesk, &body).json();
    assert_eq!(status["failure_count"], 0, "{status}");

    let sees = |token: &str| ids(&get(&format!("{objects}?match[type]=indicator"), token));
    let all: Vec<String> = (1..=7).map(ind).collect();
    assert_eq!(sees(&w.helpdesk), all, "the source sees all it shared");
    assert_eq!(
        sees(&w.cert),
        [ind(1), ind(2), ind(3), ind(5), ind(6), ind(7)]
    );
    assert_eq!(
        sees(&w.vendor),
        [ind(1), ind(2), ind(3), ind(4), ind(5), ind(7)]
    );
    // The outsider cannot see the collection at all.
    assert_eq!(get(&objects, &w.outsider).status, 404);
    assert!(
        !get(&server.url("/api1/collections/"), &w.outsider)
            .body
            .contains(&w.shared)
    );

    // Object, versions and manifest paths agree; hidden objects are 404, not 403.
    for (token, n, visible) in [
        (&w.vendor, 6, false),
        (&w.cert, 4, false),
        (&w.cert, 6, true),
        (&w.vendor, 4, true),
    ] {
        let obj = get(&format!("{objects}{}/", ind(n)), token);
        let versions = get(&format!("{objects}{}/versions/", ind(n)), token);
        assert_eq!(obj.status, if visible { 200 } else { 404 }, "object {n}");
        assert_eq!(
            versions.status,
            if visible { 200 } else { 404 },
            "versions {n}"
        );
        if !visible {
            let absent = get(&format!("{objects}{}/", uuid_indicator_absent()), token);
            assert_eq!(
                obj.body.replace(&ind(n), "ID"),
                absent.body.replace(&uuid_indicator_absent(), "ID"),
                "a hidden object reads like an absent one"
            );
        }
    }
    let manifest = get(
        &server.url(&format!(
            "/api1/collections/{}/manifest/?match[type]=indicator",
            w.shared
        )),
        &w.vendor,
    );
    assert_eq!(ids(&manifest), sees(&w.vendor));

    // Date headers bracket only what the reader receives.
    let last_visible = get(&format!("{objects}?match[id]={}", ind(7)), &w.vendor);
    let page = get(&format!("{objects}?match[type]=indicator"), &w.vendor);
    assert_eq!(
        page.header("x-taxii-date-added-last"),
        last_visible.header("x-taxii-date-added-last")
    );
    let cert_view = get(
        &format!("{objects}?match[id]={},{}", ind(4), ind(6)),
        &w.cert,
    );
    assert_eq!(ids(&cert_view), [ind(6)]);

    // The recipients marking itself is its source's business only.
    assert!(!get(&objects, &w.cert).body.contains(RECIPIENTS_EXT));
    assert!(get(&objects, &w.helpdesk).body.contains(RECIPIENTS_EXT));

    // Paging through a mixed view never leaks and never loses.
    let mut seen = Vec::new();
    let mut url = format!("{objects}?match[type]=indicator&limit=2");
    loop {
        let r = get(&url, &w.vendor).json();
        seen.extend(
            r["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        match r["next"].as_str() {
            Some(n) => url = format!("{objects}?match[type]=indicator&limit=2&next={n}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, sees(&w.vendor));
}

fn uuid_indicator_absent() -> String {
    ind(999_999)
}

#[test]
fn ingest_refuses_what_the_policy_cannot_honour() {
    let w = world();
    let server = w.node.serve();
    let objects = server.url(&format!("/api1/collections/{}/objects/", w.shared));
    let unknown = "marking-definition--0f9d8c7b-6a5e-4d3c-8b2a-1f0e9d8c7b6a";
    let s = post(
        &objects,
        &w.cert,
        &envelope(&[
            marked(10, &[RED], None),
            marked(11, &[unknown], None),
            marked(12, &[GREEN], None),
        ]),
    )
    .json();
    assert_eq!(s["success_count"], 1);
    let failures = s["failures"].as_array().unwrap();
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap()
            .contains("TLP:RED objects need named recipients"),
        "{}",
        failures[0]
    );
    assert!(
        failures[1]["message"]
            .as_str()
            .unwrap()
            .contains("is not known on this node"),
        "{}",
        failures[1]
    );

    // Onward sharing: the vendor may not move the CERT's AMBER object into
    // a community whose members are not its recipients.
    post(
        &objects,
        &w.cert,
        &envelope(&[
            marked(20, &[AMBER], None),
            marked(21, &[GREEN], None),
            marked(22, &[CLEAR], None),
        ]),
    );
    let object = |n: u32| {
        let r = get(&format!("{objects}{}/", ind(n)), &w.vendor);
        r.json()["objects"][0].to_string()
    };
    let elsewhere = server.url(&format!("/api1/collections/{}/objects/", w.vendor_own));
    let s = post(
        &elsewhere,
        &w.vendor,
        &envelope(&[object(20), object(21), object(22)]),
    )
    .json();
    assert_eq!(s["success_count"], 1, "{s}");
    let f = s["failures"].as_array().unwrap();
    assert!(
        f[0]["message"].as_str().unwrap().contains("TLP:AMBER"),
        "{}",
        f[0]
    );
    assert!(
        f[1]["message"].as_str().unwrap().contains("TLP:GREEN"),
        "{}",
        f[1]
    );

    // Only the source organisation deletes what it shared.
    assert_eq!(
        delete(&format!("{objects}{}/", ind(12)), &w.vendor).status,
        403
    );
    assert_eq!(
        delete(&format!("{objects}{}/", ind(12)), &w.cert).status,
        200
    );
}

#[test]
fn a_pseudonymous_source_is_never_named_to_recipients() {
    let w = world();
    let server = w.node.serve();
    let objects = server.url(&format!("/api1/collections/{}/objects/", w.shared));
    let identity = format!(
        r#"{{"type":"identity","spec_version":"2.1","id":"{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Civic Helpdesk","identity_class":"organization","contact_information":"hugo@civic.example"}}"#,
        w.helpdesk_identity
    );
    let sighting = format!(
        r#"{{"type":"sighting","spec_version":"2.1","id":"sighting--{}","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"{id}","sighting_of_ref":"{}","where_sighted_refs":["{id}"]}}"#,
        uuid(31),
        ind(30),
        id = w.helpdesk_identity
    );
    let s = post(
        &objects,
        &w.helpdesk,
        &envelope(&[
            identity,
            marked(30, &[GREEN], Some(&w.helpdesk_identity)),
            sighting,
        ]),
    )
    .json();
    assert_eq!(s["failure_count"], 0, "{s}");

    for token in [&w.cert, &w.vendor] {
        for path in [
            "objects/",
            "manifest/",
            &format!("objects/{}/", ind(30)),
            &format!("objects/sighting--{}/", uuid(31)),
        ] {
            let r = get(
                &server.url(&format!("/api1/collections/{}/{path}", w.shared)),
                token,
            );
            for secret in [
                w.helpdesk_identity.as_str(),
                "Civic Helpdesk",
                "hugo",
                "civic.example",
            ] {
                assert!(
                    !r.body.contains(secret),
                    "{path} reveals {secret:?}: {}",
                    r.body
                );
                for (_, v) in &r.headers {
                    assert!(!v.contains(secret));
                }
            }
        }
        let all = get(&objects, token).json();
        let pseudonym = all["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "identity")
            .expect("the pseudonym identity is served")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let sighting = all["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "sighting")
            .unwrap()
            .clone();
        assert_eq!(sighting["created_by_ref"], pseudonym.as_str());
        assert_eq!(sighting["where_sighted_refs"][0], pseudonym.as_str());
    }
    // Stable across readers of the community; the source sees itself.
    let p1 = get(&objects, &w.cert).body;
    let p2 = get(&objects, &w.vendor).body;
    assert_eq!(
        p1.contains("Pseudonymous source"),
        p2.contains("Pseudonymous source")
    );
    assert!(
        get(&objects, &w.helpdesk)
            .body
            .contains(&w.helpdesk_identity)
    );

    // Membership is private: members see the community, not who else is in it.
    let r = get_with(
        &server.url("/entente/v1/communities/"),
        &[("Authorization", &format!("Bearer {}", w.vendor))],
    );
    assert_eq!(r.status, 200);
    let communities = r.json();
    assert!(
        communities["communities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("members").is_none())
    );
    assert!(!r.body.contains("National CERT") && !r.body.contains("Civic"));
}

#[test]
fn public_collections_serve_clear_to_anyone_and_nothing_else() {
    let w = world();
    let server = w.node.serve();
    let public = server.url(&format!("/api1/collections/{}/objects/", w.public));
    post(
        &public,
        &w.cert,
        &envelope(&[
            marked(40, &[], None),
            marked(41, &[GREEN], None),
            marked(42, &[CLEAR], None),
        ]),
    );
    let anonymous = get_with(&public, &[("Accept", TAXII)]);
    assert_eq!(anonymous.status, 200);
    assert_eq!(ids(&anonymous), [ind(40), ind(42)]);
    assert_eq!(
        ids(&get(&public, &w.outsider)),
        [ind(40), ind(42)],
        "an authenticated non-member is a public reader"
    );
    assert_eq!(ids(&get(&public, &w.vendor)), [ind(40), ind(41), ind(42)]);
    // Anonymous callers are asked to authenticate for anything else.
    let r = get_with(
        &server.url(&format!("/api1/collections/{}/objects/", w.shared)),
        &[("Accept", TAXII)],
    );
    assert_eq!(r.status, 401);
    let r = post_with(
        &public,
        &[("Accept", TAXII), ("Content-Type", TAXII)],
        &envelope(&[marked(43, &[], None)]),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn the_audit_log_records_and_detects_tampering() {
    let w = world();
    let server = w.node.serve();
    let objects = server.url(&format!("/api1/collections/{}/objects/", w.shared));
    post(&objects, &w.cert, &envelope(&[marked(50, &[AMBER], None)]));
    get(&objects, &w.vendor);
    // Audit entries of reads are written in batches within 50 ms.
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(server);
    let verify = w.node.cli(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    let shown = text(&w.node.cli(&["audit", "show", "--object", &ind(50)]).stdout);
    assert!(
        shown.contains("write") && shown.contains("read-restricted"),
        "{shown}"
    );
    let by_org = text(&w.node.cli(&["audit", "show", "--org", "Vendor"]).stdout);
    assert!(
        by_org.contains("read-restricted") && !by_org.contains(" write "),
        "{by_org}"
    );

    // Someone with the database file edits an entry: verify names it.
    let db = rusqlite::Connection::open(w.node.path().join("entente.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER audit_append_only_update;
         UPDATE audit SET detail = 'nothing to see' WHERE seq = 3;",
    )
    .unwrap();
    drop(db);
    let verify = w.node.cli(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        text(&verify.stdout).contains("BROKEN at entry 3"),
        "{}",
        text(&verify.stdout)
    );
}
