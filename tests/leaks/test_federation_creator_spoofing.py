"""Leak review finding (fixed; these tests pin the fix). What the review found:

A peer can put words in a local organisation's mouth: pulled objects may
name any organisation of the receiving node as their creator.

`Node::ingest_with` skips the creator check for peers ("its creators are not
this node's to check"), so an object whose `created_by_ref` is the identity
of a local organisation of B (here B's National CERT, or the real identity of
a pseudonymous helpdesk) is stored and served at B as that organisation's
work, although it was posted by the organisation standing for the peer.
The same object posted at B by a member is refused (issue 9, item 6).
"""

import json

from leak_support import add_pull, backup, hub, indicator, sync, token_file


def test_a_peer_cannot_claim_a_local_organisation_as_creator(work):
    """Correct behaviour: an object pulled from a peer that names a local
    organisation of the receiving node (real or pseudonym identity) as its
    creator is refused, exactly as the same object posted by a member is,
    unless it is an unchanged copy of that organisation's own version."""
    b = hub(work, "b", peer_orgs=["Node X"], locals_=["National CERT", "Vendor"])
    # The CERT's STIX identity id at B (a hostile peer knows it: it is on
    # every object the CERT shares).
    cert_identity = b.identities["National CERT"]
    assert cert_identity
    b.user("Vendor", "vic")
    t_vendor = b.user_token("Vendor/vic")

    # A member of B cannot do it.
    forged_here = indicator(created_by=cert_identity, name="CERT attributes to APT-X")
    r = b.post_status(t_vendor, b.collection_id, [forged_here])
    assert r["success_count"] == 0, "precondition: a member may not claim the CERT as creator"

    # A hostile peer X serves the same claim (X's operator imports it).
    x = hub(work, "x", peer_orgs=["Node B"])
    forged = indicator(created_by=cert_identity, name="CERT attributes to APT-X")
    path = x.dir / "forged.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--0b8e6f3c-5f6e-4a0e-9d55-0d8a8d7f4a10",
                                "objects": [forged]}))
    x.cli("import", "--collection", x.collection_id, str(path))
    tf = token_file(x, "Node B", "sync", b)
    add_pull(b, "x", x, "Node X", tf, x.collection_id, b.collection_id)
    sync(b, "x")
    served = {o["id"]: o for o in b.get_objects(t_vendor, b.collection_id)}
    assert forged["id"] not in served, (
        "B serves an object from peer X as authored by B's National CERT: "
        f"{served.get(forged['id'])}"
    )
