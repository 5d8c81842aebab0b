"""FINDING (LOW: the invariant "the strict recipient never stands for a
peer" is checked one way only; the relay guard still keeps the content from
node C, see the regression test below, but the recipient's own users then
lose it and the audit log records a configuration the README forbids):
federation.rs `strict_recipient_org` refuses, at `peer add --strict-recipient
ORG` and `peer strict-recipient`, an organisation that stands for a peer.
But `peer add OTHER --org ORG` does not refuse an ORG that is already some
peer's strict recipient: the organisation that receives node A's
TLP:AMBER+STRICT then stands for node C too.

Reproduce: B pulls from A with `--strict-recipient "CERT B"`; then B's
operator registers node C with `peer add c --org "CERT B"` (accepted); C
pulls B's collection with a token of CERT B capped at amber+strict.

Fix direction: in `create_peer`, refuse an --org that is any peer's strict
recipient (and say which), or clear/deny at serving time by reading the
audience as "stands for a peer" at read time.

Fixed (3 Dec, evening): `peer add --org ORG` is refused when ORG is a peer's
strict recipient, naming that peer.
"""
import time

from manifest_review_support import (add_pull, backup, hub, indicator, register, sync,
                                     token_file)


def _setup(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], signed=True)
    a.user("CERT", "ana")
    strict = indicator(markings=("amber+strict",), name="AMBER+STRICT for node B")
    green = indicator(markings=("green",), name="GREEN, relayed as usual")
    assert a.post_status(a.user_token("CERT/ana"), a.collection_id, [strict, green])["success_count"] == 2
    time.sleep(1.2)
    b = hub(work, "b", peer_orgs=["Node A"], locals_=["CERT B"], signed=True)
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id,
             "--strict-recipient", "CERT B")
    assert sync(b, "a").returncode in (0, 1)
    assert strict["id"] in {o["id"] for o in backup(b, b.collection_id)}
    return a, b, strict, green


def test_a_strict_recipient_cannot_be_made_to_stand_for_a_peer(work):
    a, b, strict, green = _setup(work)
    c = hub(work, "c", peer_orgs=["Node B"])
    p = b.cli("peer", "add", "c", "--url", c.api_root, "--org", "CERT B", check=False)
    assert p.returncode != 0, "B registered node C as CERT B, the recipient of A's AMBER+STRICT"


def test_what_the_strict_recipient_received_is_not_relayed_once_it_stands_for_a_peer(work):
    """Regression (holds today): even then, the relay guard keeps A's
    AMBER+STRICT from C."""
    a, b, strict, green = _setup(work)
    c = hub(work, "c", peer_orgs=["Node B"])
    p = b.cli("peer", "add", "c", "--url", c.api_root, "--org", "CERT B", check=False)
    if p.returncode != 0:
        return  # refused: nothing to relay
    tf = token_file(b, "CERT B", "sync", c, "--max-tlp", "amber+strict")
    add_pull(c, "b", b, "Node B", tf, b.collection_id, c.collection_id)
    assert sync(c, "b").returncode in (0, 1)
    at_c = {o["id"] for o in backup(c, c.collection_id)}
    assert green["id"] in at_c, "control: C pulled through CERT B's token"
    assert strict["id"] not in at_c, \
        "A's AMBER+STRICT relayed to node C through B's strict recipient"
