"""Leak review finding (fixed; these tests pin the fix). What the review found:

A TLP ceiling (`token create --max-tlp`, `peer add --max-tlp`) hides AMBER
objects but not the objects that point at them.

The read gate withholds pointer objects whose targets the reader may not see
(README: "Any object that refers to another ... is withheld from whoever may
not see what it refers to"), but it decides "may see" from the reader's
audience keys alone (`Resolver::visible`, `hidden_targets` in
crates/node/src/read.rs), ignoring the principal's ceiling. A GREEN-capped
token, and a GREEN-capped federation peer, therefore receive the GREEN
relationship "indicator--<AMBER id> indicates Pegasus" while the indicator
itself reads 404: the id, the existence and the meaning of AMBER material
cross the ceiling (and leave the node to the peer).
"""

from leak_support import (TLP, add_push, backup, hub, indicator, now, session, sid, sync,
                          token_file)


def _objects():
    ts = now()
    amber = indicator(markings=("amber",), name="AMBER indicator")
    malware = {"type": "malware", "spec_version": "2.1", "id": sid("malware"),
               "created": ts, "modified": ts, "name": "Pegasus", "is_family": True,
               "object_marking_refs": [TLP["green"]]}
    rel = {"type": "relationship", "spec_version": "2.1", "id": sid("relationship"),
           "created": ts, "modified": ts, "relationship_type": "indicates",
           "source_ref": amber["id"], "target_ref": malware["id"],
           "object_marking_refs": [TLP["green"]]}
    return amber, malware, rel


def test_a_green_capped_token_gets_no_pointer_to_amber(work):
    """Correct behaviour: for a token capped at GREEN, an object above the
    cap is hidden like any other hidden object, so pointer objects to it are
    withheld too (the same rule as for audiences)."""
    a = work.node("a")
    a.org("CERT")
    a.org("Vendor")
    a.user("CERT", "ana")
    a.user("Vendor", "vic")
    a.community("Dialogue", "CERT", "Vendor")
    k = a.collection("K", "--community", "Dialogue", "--default-tlp", "green")
    t_cert = a.user_token("CERT/ana")
    capped = a.user_token("Vendor/vic", "--max-tlp", "green")
    amber, malware, rel = _objects()
    assert a.post_status(t_cert, k, [amber, malware, rel])["success_count"] == 3
    assert session(capped).get(a.objects_url(k) + amber["id"] + "/").status_code == 404
    got = {o["id"] for o in a.get_objects(capped, k)}
    assert malware["id"] in got
    assert rel["id"] not in got, "the GREEN-capped token reads a relationship to an AMBER object"


def test_a_green_capped_peer_is_not_pushed_pointers_to_amber(work):
    """Correct behaviour: a peer added with --max-tlp green receives no
    object that points at an object above GREEN."""
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"])
    b = hub(work, "b", peer_orgs=["Node A"])
    a.user("CERT", "ana")
    t_cert = a.user_token("CERT/ana")
    amber, malware, rel = _objects()
    assert a.post_status(t_cert, a.collection_id, [amber, malware, rel])["success_count"] == 3
    tf = token_file(b, "Node A", "pusher", a)
    add_push(a, "b", b, "Node B", tf, a.collection_id, b.collection_id, "--max-tlp", "green")
    sync(a, "b")
    at_b = {o["id"] for o in backup(b, b.collection_id)}
    assert amber["id"] not in at_b
    assert malware["id"] in at_b  # the push worked
    assert rel["id"] not in at_b, "a GREEN-capped peer received a pointer to an AMBER object"
