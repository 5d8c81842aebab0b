"""FINDING (HIGH, TLP:AMBER relayed to a third node and widened): an object
posted without a TLP marking into a collection whose --default-tlp is AMBER is
handled as TLP:AMBER at the origin node A (its manifest there is cut and
marked AMBER), but A serves the object to a pulling peer B as it was posted,
with no marking. B stores it under B's OWN collection default (here GREEN):
every GREEN reader of B's collection reads it, and it is no longer "AMBER
content received from another node", so the relay guard lets it go on to a
third node C. A's signed manifest listing it arrives at B marked AMBER, i.e.
the AMBER handling is visible in the metadata but not applied to the object
(C gets the object without any manifest: the AMBER manifest is relay-guarded
while the object it lists is not).

Not a manifest bug as such, found while checking manifest/object TLP
agreement across pulls. Fix direction: serve (and sign) the object with the
effective TLP marking added, or carry the stored TLP to peers.

Reproduce: A (community "Federation", default-tlp amber, signed) <- B pulls
with a token capped at amber (default-tlp green) <- C pulls from B. CERT at A
posts an indicator without object_marking_refs.

Fixed: a node serves an object without a TLP marking to a principal standing
for another node with the TLP it handles the object at appended to
object_marking_refs (stix::tlp::with_explicit_marking); the manifests hash the
object as posted, and provenance::verify accepts that one marking, when it is
the listing manifest's own, as the origin's (the object stays `verified`).
"""
import time

import requests

from manifest_review_support import (TLP, add_pull, backup, hub, indicator, node_key, register,
                                     sync, token_file)


def test_an_object_amber_by_default_stays_amber_at_the_next_node_and_is_not_relayed(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], default_tlp="amber", signed=True)
    b = hub(work, "b", peer_orgs=["Node A", "Node C"], default_tlp="green", signed=True)
    c = hub(work, "c", peer_orgs=["Node B"])
    register(b, "c", c, "Node C")
    a.user("CERT", "ana")
    t = a.user_token("CERT/ana")
    unmarked = indicator(name="AMBER by the collection's default")
    del unmarked["object_marking_refs"]
    assert a.post_status(t, a.collection_id, [unmarked])["success_count"] == 1
    time.sleep(1.5)  # A's signer
    at_a_manifests = [o for o in backup(a, a.collection_id) if o["type"] == "x-entente-manifest"]
    assert at_a_manifests and at_a_manifests[0]["object_marking_refs"] == [TLP["amber"]], \
        "A handles it as AMBER"

    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id, "--key", node_key(a))
    assert sync(b, "a").returncode in (0, 1)
    at_b = {o["id"]: o for o in backup(b, b.collection_id)}
    assert unmarked["id"] in at_b, "B pulled it"
    assert at_b[unmarked["id"]].get("object_marking_refs") == [TLP["amber"]], \
        "A serves it to B with the TLP it handles it at"
    # ... and its signature still holds: the manifest lists it as posted.
    r = requests.get(f"{b.base}/entente/v1/collections/{b.collection_id}/objects/{unmarked['id']}/provenance/",
                     headers={"Authorization": f"Bearer {b.admin}"})
    assert r.status_code == 200, r.text
    assert "verified" in r.text and "invalid" not in r.text, r.text
    # B's GREEN-only readers (a node-level service token) do not read it.
    service = b.last_line("token", "create", "--name", "green-reader", "--read", b.collection_id)
    assert unmarked["id"] not in {o["id"] for o in b.get_objects(service, b.collection_id)}, \
        "B handles it at GREEN, its own collection's default"

    tf = token_file(b, "Node C", "sync", c, "--max-tlp", "amber+strict")
    add_pull(c, "b", b, "Node B", tf, b.collection_id, c.collection_id)
    assert sync(c, "b").returncode in (0, 1)
    at_c = {o["id"] for o in backup(c, c.collection_id)}
    assert unmarked["id"] not in at_c, \
        "AMBER content of A (AMBER by A's collection default) was relayed by B to a third node"
