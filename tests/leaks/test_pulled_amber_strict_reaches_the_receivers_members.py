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

Fixed: AMBER+STRICT that another node sent (pulled from a peer, or posted as
the organisation standing for one) without naming recipients at B reaches the
local organisation designated with `peer add --strict-recipient ORG` (or
`peer strict-recipient NAME --org ORG`): the organisation that runs B, the
recipient A addressed. Without one, node administrators of B only.
"""
import time

from manifest_review_support import (add_pull, backup, hub, indicator, recipients_marking, sync,
                                     token_file)


def _a_with_two_amber_strict_indicators(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], signed=True)
    a.user("CERT", "ana")
    t = a.user_token("CERT/ana")
    for_b = recipients_marking(orgs=["Node B"])
    addressed = indicator(markings=("amber+strict",), extra_markings=[for_b["id"]],
                          name="AMBER+STRICT for node B's organisation")
    plain = indicator(markings=("amber+strict",), name="AMBER+STRICT, default recipients")
    assert a.post_status(t, a.collection_id, [for_b, addressed, plain])["success_count"] == 3
    time.sleep(1.5)
    return a, {addressed["id"], plain["id"]}


def test_amber_strict_pulled_from_a_peer_is_not_read_by_the_receivers_clients(work):
    a, sent = _a_with_two_amber_strict_indicators(work)
    b = hub(work, "b", peer_orgs=["Node A"], locals_=["Local"], signed=True)
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id)
    assert sync(b, "a").returncode in (0, 1)
    b.user("Local", "lu")
    t_local = b.user_token("Local/lu")
    seen = {o["id"] for o in b.get_objects(t_local, b.collection_id)}
    leaked = sent & seen
    assert not leaked, f"a client organisation of B reads AMBER+STRICT content A sent to B: {leaked}"
    # Without a designated recipient, B's node administrators hold it.
    assert sent <= {o["id"] for o in b.get_objects(b.admin, b.collection_id)}
    assert "its TLP:AMBER+STRICT for node administrators only" in b.cli("peer", "status", "a")


def test_amber_strict_pulled_from_a_peer_reaches_the_designated_organisation_only(work):
    a, sent = _a_with_two_amber_strict_indicators(work)
    b = hub(work, "b", peer_orgs=["Node A"], locals_=["CERT B", "Local"], signed=True)
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id,
             "--strict-recipient", "CERT B")
    assert "its TLP:AMBER+STRICT for CERT B" in b.cli("peer", "status", "a")
    assert sync(b, "a").returncode in (0, 1)
    assert sent <= {o["id"] for o in backup(b, b.collection_id)}
    b.user("CERT B", "cb")
    b.user("Local", "lu")
    at_cert = {o["id"] for o in b.get_objects(b.user_token("CERT B/cb"), b.collection_id)}
    at_local = {o["id"] for o in b.get_objects(b.user_token("Local/lu"), b.collection_id)}
    assert sent <= at_cert, "the organisation B designated receives what A sent to B"
    assert not sent & at_local, "the other members of B's community do not"


def test_the_strict_recipient_is_checked_and_can_be_changed(work):
    b = hub(work, "b", peer_orgs=["Node A", "Node C"], locals_=["CERT B"])
    b.org("Outsider")  # not in the collection's community
    b.cli("peer", "add", "c", "--url", "http://127.0.0.1:9/api1/", "--org", "Node C")
    # A peer's organisation is no recipient, nor an unknown one.
    for org, why in [("Node C", "stands for a peer"), ("Node A", "stands for a peer"),
                     ("Nobody", "no organisation named")]:
        p = b.cli("peer", "add", "a", "--url", "http://127.0.0.1:9/api1/", "--org", "Node A",
                  "--strict-recipient", org, check=False)
        assert p.returncode != 0 and why in p.stderr, (org, p.stdout, p.stderr)
    token = b.dir / "a.token"
    token.write_text("t\n")
    b.cli("peer", "add", "a", "--url", "http://127.0.0.1:9/api1/", "--org", "Node A",
          "--token-file", str(token), "--strict-recipient", "Outsider")
    # A pull into a collection its recipient cannot read is refused.
    p = b.cli("peer", "pull", "a", "--remote-collection", b.collection_id, "--into",
              b.collection_id, check=False)
    assert p.returncode != 0 and "may not read collection" in p.stderr, (p.stdout, p.stderr)
    out = b.cli("peer", "strict-recipient", "a", "--org", "CERT B")
    assert "its TLP:AMBER+STRICT for CERT B" in out
    assert "for CERT B" in b.cli("peer", "status", "a")
    p = b.cli("peer", "strict-recipient", "a", check=False)
    assert p.returncode != 0, "one of --org and --none is required"
    assert "node administrators only" in b.cli("peer", "strict-recipient", "a", "--none")
    help_add = b.cli("peer", "add", "--help")
    assert "--strict-recipient" in help_add
    assert "--none" in b.cli("peer", "strict-recipient", "--help")
