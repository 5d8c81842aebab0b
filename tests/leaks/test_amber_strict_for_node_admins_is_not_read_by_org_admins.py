"""Regression (holds): AMBER+STRICT a peer sends without a designated
strict recipient is read by node administrators only, not by the `admin`
users of member organisations, nor by a node-level token narrowed with
--read, nor by the strict recipient of another peer."""
import time

from manifest_review_support import add_pull, backup, hub, indicator, sync, token_file


def test_org_admins_and_other_peers_recipients_do_not_read_admins_only_amber_strict(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], signed=True)
    a.user("CERT", "ana")
    strict = indicator(markings=("amber+strict",), name="AMBER+STRICT, admins only at B")
    assert a.post_status(a.user_token("CERT/ana"), a.collection_id, [strict])["success_count"] == 1
    time.sleep(1.2)
    b = hub(work, "b", peer_orgs=["Node A", "Node C"], locals_=["Local", "CERT B"], signed=True)
    b.cli("peer", "add", "c", "--url", "http://127.0.0.1:9/api1/", "--org", "Node C",
          "--strict-recipient", "CERT B")
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id)
    assert sync(b, "a").returncode in (0, 1)
    assert strict["id"] in {o["id"] for o in backup(b, b.collection_id)}
    assert strict["id"] in {o["id"] for o in b.get_objects(b.admin, b.collection_id)}
    b.user("Local", "boss", role="admin")
    b.user("CERT B", "cb")
    readers = {
        "Local admin": b.user_token("Local/boss"),
        "CERT B (other peer's strict recipient)": b.user_token("CERT B/cb"),
        "narrowed node token": b.last_line("token", "create", "--name", "svc", "--read", b.collection_id),
    }
    for who, tok in readers.items():
        assert strict["id"] not in {o["id"] for o in b.get_objects(tok, b.collection_id)}, who
