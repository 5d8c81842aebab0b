"""Regression (holds): an object whose only TLP marking is a granular one (on `name`) in an
AMBER-by-default collection: with_explicit_marking appends nothing to it (it
has a TLP marking of its own), so the node A and the pulling node B must
handle it at the same TLP. Checks that B's GREEN readers read it only if A's
GREEN-capped readers do."""
import time

from manifest_review_support import (TLP, add_pull, backup, hub, indicator, node_key, sync,
                                     token_file)


def test_granular_only_tlp_is_handled_alike_at_origin_and_receiver(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], default_tlp="amber", signed=True)
    b = hub(work, "b", peer_orgs=["Node A"], default_tlp="green", signed=True)
    a.user("CERT", "ana")
    o = indicator(name="granular CLEAR name only")
    del o["object_marking_refs"]
    o["granular_markings"] = [{"marking_ref": TLP["clear"], "selectors": ["name"]}]
    s = a.post_status(a.user_token("CERT/ana"), a.collection_id, [o])
    assert s["success_count"] == 1, s
    time.sleep(1.5)
    a.user("CERT", "capped")
    green_at_a = o["id"] in {x["id"] for x in a.get_objects(
        a.user_token("CERT/capped", "--max-tlp", "green"), a.collection_id)}
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id, "--key", node_key(a))
    assert sync(b, "a").returncode in (0, 1)
    assert o["id"] in {x["id"] for x in backup(b, b.collection_id)}
    service = b.last_line("token", "create", "--name", "green-reader", "--read", b.collection_id)
    green_at_b = o["id"] in {x["id"] for x in b.get_objects(service, b.collection_id)}
    assert green_at_b <= green_at_a, \
        f"A handles it above GREEN (GREEN-capped read: {green_at_a}) but B's GREEN readers read it"
