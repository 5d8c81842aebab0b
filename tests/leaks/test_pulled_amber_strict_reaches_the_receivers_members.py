"""FINDING (HIGH-MEDIUM, TLP:AMBER+STRICT widened at the receiving node):
sharing/src/principal.rs and the README say "TLP:AMBER and AMBER+STRICT
reach their recipient organisation and, for AMBER, its clients, never a third
node". A CERT at node A posts TLP:AMBER+STRICT (with or without a recipients
marking naming the organisation that stands for node B). Node B pulls it
(token capped at amber+strict). At B the object is posted as "Node A"
without resolvable recipients, so it gets B's default AMBER+STRICT audience:
every member organisation of B's community (B's clients) reads it, and the
manifests listing it with it. AMBER+STRICT means the recipient organisation
only.

(Not caused by today's manifest change; found while checking that manifests
and objects get the same audience on pulls: they do, both are too wide.)

Reproduce: hub A (CERT, Node B) signed; hub B (Node A, Local); CERT posts two
AMBER+STRICT indicators (one with recipients ["Node B"]); B pulls; a user of
"Local" at B reads the collection.
"""
import pytest
import time

from manifest_review_support import (add_pull, hub, indicator, recipients_marking, sync,
                                     token_file)


@pytest.mark.xfail(strict=True, reason="known leak (review of 3 Dec, high-medium): AMBER+STRICT pulled from a peer is read by the receiving node's member organisations; fix next (see the closing note)")
def test_amber_strict_pulled_from_a_peer_is_not_read_by_the_receivers_clients(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], signed=True)
    b = hub(work, "b", peer_orgs=["Node A"], locals_=["Local"], signed=True)
    a.user("CERT", "ana")
    t = a.user_token("CERT/ana")
    for_b = recipients_marking(orgs=["Node B"])
    addressed = indicator(markings=("amber+strict",), extra_markings=[for_b["id"]],
                          name="AMBER+STRICT for node B's organisation")
    plain = indicator(markings=("amber+strict",), name="AMBER+STRICT, default recipients")
    assert a.post_status(t, a.collection_id, [for_b, addressed, plain])["success_count"] == 3
    time.sleep(1.5)
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id)
    assert sync(b, "a").returncode in (0, 1)
    b.user("Local", "lu")
    t_local = b.user_token("Local/lu")
    seen = {o["id"] for o in b.get_objects(t_local, b.collection_id)}
    leaked = {addressed["id"], plain["id"]} & seen
    assert not leaked, f"a client organisation of B reads AMBER+STRICT content A sent to B: {leaked}"
