"""Leak review finding (fixed; these tests pin the fix). What the review found:

AMBER content that the origin node addressed to one peer is relayed by
that peer to the next one.

At A, the CERT posts indicators for "Node B" only (a recipients marking) at
TLP:AMBER+STRICT and TLP:AMBER. B pulls them legitimately. But a pulled
object loses its recipients at B (ingest skips them for peers) and gets B's
*default* recipients: every member of B's collection, including the
organisation standing for node C. C then pulls (or B pushes) them, so AMBER
material reaches an organisation A never addressed, two hops away.

README: "AMBER never leaves the organisations it is meant for";
sharing/onward.rs: "AMBER+STRICT never leaves the recipient organisations'
own collections".

B knows that "Node C" stands for a node when it has C as a peer: when it
pushes to C, or (`peer add` without a token) when C only pulls from it.
"""

import pytest

from leak_support import (add_pull, add_push, backup, hub, indicator, recipients_marking,
                          register, sync, token_file)


def _a_b_c(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"])
    b = hub(work, "b", peer_orgs=["Node A", "Node C"])
    c = hub(work, "c", peer_orgs=["Node B"])
    a.user("CERT", "ana")
    t = a.user_token("CERT/ana")
    for_b = recipients_marking(orgs=["Node B"])
    strict = indicator(markings=("amber+strict",), extra_markings=[for_b["id"]],
                       name="AMBER+STRICT for Node B only")
    amber = indicator(markings=("amber",), extra_markings=[for_b["id"]],
                      name="AMBER for Node B only")
    # And AMBER+STRICT for A's default recipients (the members of A's
    # community: the CERT and Node B; never Node C).
    strict_default = indicator(markings=("amber+strict",), name="AMBER+STRICT for A's members")
    a.post_status(t, a.collection_id, [for_b, strict, amber, strict_default])
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id)
    assert sync(b, "a").returncode == 0
    held_at_b = {o["id"] for o in backup(b, b.collection_id)}
    assert {strict["id"], amber["id"], strict_default["id"]} <= held_at_b  # B is a recipient
    return a, b, c, strict, amber, strict_default


@pytest.mark.parametrize("which", ["amber+strict", "amber", "amber+strict-default"])
def test_amber_named_for_b_does_not_reach_c_when_c_pulls_from_b(work, which):
    """Correct behaviour: C receives from B nothing that A addressed at AMBER
    or AMBER+STRICT to Node B alone (C is not among its recipients)."""
    a, b, c, strict, amber, strict_default = _a_b_c(work)
    register(b, "c", c, "Node C")
    tf = token_file(b, "Node C", "sync", c)
    add_pull(c, "b", b, "Node B", tf, b.collection_id, c.collection_id)
    assert sync(c, "b").returncode == 0
    at_c = {o["id"] for o in backup(c, c.collection_id)}
    obj = {"amber+strict": strict, "amber": amber, "amber+strict-default": strict_default}[which]
    assert obj["id"] not in at_c, f"{obj['name']} posted at A reached node C through B"


def test_amber_strict_of_a_is_not_pushed_by_b_to_c(work):
    """Correct behaviour: B's push to C sends nothing A shared at
    AMBER+STRICT (C is not among its recipients at A). (The named-recipient
    variant is refused by C today only because C does not know A's
    recipients marking id; the default-recipient one goes through.)"""
    a, b, c, strict, amber, strict_default = _a_b_c(work)
    tf = token_file(c, "Node B", "pusher", b)
    add_push(b, "c", c, "Node C", tf, b.collection_id, c.collection_id)
    assert sync(b, "c").returncode in (0, 1)
    at_c = {o["id"] for o in backup(c, c.collection_id)}
    for obj in (strict, strict_default):
        assert obj["id"] not in at_c, f"A's indicator {obj['name']!r} was pushed by B to C"
