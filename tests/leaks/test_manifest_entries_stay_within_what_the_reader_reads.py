"""A signed manifest names objects (id, version, SHA-256 of the canonical
form). A reader who receives a manifest must be able to read every object it
lists: otherwise the manifest tells it that a hidden object exists, and the
digest confirms a guess of its content.

The node keeps this cheaply (crates/node/src/signer.rs): a manifest lists
objects of one collection, audience, TLP and source organisation, is stored
with that audience, TLP and source (so audience, ceiling and relay guard
answer for it what they answer for each of its objects), and is gated on the
references of its objects taken together. These tests check the result from
outside, for readers who see different parts of one signed collection and
for a peer two hops away.
"""

import time

from leak_support import (TLP, add_pull, add_push, backup, hub, indicator, node_key, now, register,
                          session, recipients_marking, sid, sync, token_file)


def _manifest_entries(objects):
    return {e["object_ref"] for o in objects if o.get("type") == "x-entente-manifest"
            for e in o.get("entries", [])}


def _readable(objects):
    return {o["id"] for o in objects if o.get("type") != "x-entente-manifest"}


def test_every_manifest_entry_a_reader_receives_is_an_object_it_reads(work):
    a = work.node("a")
    a.org("CERT")
    a.org("Vendor")
    a.org("Civic")
    a.user("CERT", "ana")
    a.user("Vendor", "vic")
    a.user("Civic", "cat")
    a.community("Dialogue", "CERT", "Vendor", "Civic")
    k = a.collection("K", "--community", "Dialogue", "--default-tlp", "green", signed=True)
    t_cert = a.user_token("CERT/ana")
    t_vendor = a.user_token("Vendor/vic")
    t_civic = a.user_token("Civic/cat")
    t_capped = a.user_token("Vendor/vic", "--max-tlp", "green")

    ts = now()
    cert_only = recipients_marking(orgs=["CERT"])
    for_vendor = recipients_marking(orgs=["Vendor"])
    hidden = indicator(markings=("amber+strict",), extra_markings=[cert_only["id"]],
                       name="AMBER+STRICT for the CERT alone")
    malware = {"type": "malware", "spec_version": "2.1", "id": sid("malware"),
               "created": ts, "modified": ts, "name": "Predator", "is_family": True,
               "object_marking_refs": [TLP["green"]]}
    # GREEN, but it points at the CERT-only indicator: withheld from all but the CERT.
    pointer = {"type": "relationship", "spec_version": "2.1", "id": sid("relationship"),
               "created": ts, "modified": ts, "relationship_type": "indicates",
               "source_ref": hidden["id"], "target_ref": malware["id"],
               "object_marking_refs": [TLP["green"]]}
    amber = indicator(markings=("amber",), name="AMBER for the community")
    red_vendor = indicator(markings=("amber+strict",), extra_markings=[for_vendor["id"]],
                           name="AMBER+STRICT for the Vendor")
    posted = [cert_only, for_vendor, hidden, malware, pointer, amber, red_vendor]
    status = a.post_status(t_cert, k, posted)
    assert status["success_count"] == len(posted), status.get("failures")
    own = indicator(name="the Vendor's GREEN indicator")
    assert a.post_status(t_vendor, k, [own])["success_count"] == 1
    time.sleep(1.5)  # the signer runs about 200 ms after a post

    everything = _manifest_entries(a.get_objects(t_cert, k))
    assert {hidden["id"], malware["id"], pointer["id"], amber["id"], own["id"]} <= everything, \
        "the CERT, which reads every object, receives manifests listing them"
    for who, token in [("CERT", t_cert), ("Vendor", t_vendor), ("Civic", t_civic),
                       ("Vendor capped at GREEN", t_capped)]:
        seen = a.get_objects(token, k)
        listed = _manifest_entries(seen)
        assert listed, f"{who} receives no manifest at all"
        assert listed <= _readable(seen), \
            f"{who} receives manifest entries for objects it may not read: {listed - _readable(seen)}"
    assert pointer["id"] not in _manifest_entries(a.get_objects(t_vendor, k))
    assert amber["id"] not in _manifest_entries(a.get_objects(t_capped, k))
    assert red_vendor["id"] in _manifest_entries(a.get_objects(t_vendor, k))


def test_a_manifest_of_pushed_amber_does_not_reach_the_next_peer(work):
    """What A pushes into B's signed collection keeps the provenance A's
    manifests give it (B signs none of it, as for a pull): B holds A's
    manifests with it. C pulls from B; C must not receive, in the manifests
    B holds, the AMBER objects that A's node addressed (the relay guard
    keeps them from C)."""
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], signed=True)
    b = hub(work, "b", peer_orgs=["Node A", "Node C"], signed=True)
    c = hub(work, "c", peer_orgs=["Node B"])
    # B knows which of its organisations stand for nodes, and A's key.
    b.cli("peer", "add", "a", "--url", a.api_root, "--org", "Node A", "--key", node_key(a))
    register(b, "c", c, "Node C")
    a.user("CERT", "ana")
    t = a.user_token("CERT/ana")
    amber = indicator(markings=("amber",), name="AMBER from A")
    green = indicator(name="GREEN from A")
    assert a.post_status(t, a.collection_id, [amber, green])["success_count"] == 2
    time.sleep(1.5)  # A's signer
    tf = token_file(b, "Node A", "pusher", a)
    add_push(a, "b", b, "Node B", tf, a.collection_id, b.collection_id)
    assert sync(a, "b").returncode == 0
    time.sleep(1.5)  # B's signer, which leaves A's objects alone
    at_b = backup(b, b.collection_id)
    assert amber["id"] in _manifest_entries(at_b), "A's manifest of what it pushed is at B"

    tf = token_file(b, "Node C", "sync", c, "--max-tlp", "amber+strict")
    add_pull(c, "b", b, "Node B", tf, b.collection_id, c.collection_id)
    assert sync(c, "b").returncode in (0, 1)
    at_c = backup(c, c.collection_id)
    assert green["id"] in _readable(at_c)  # the pull worked
    assert amber["id"] not in _readable(at_c)
    assert amber["id"] not in _manifest_entries(at_c), \
        "C learns from B's manifest of an AMBER object A shared with B"


def test_the_source_cannot_delete_or_re_version_the_nodes_manifest(work):
    """A manifest is stored with the source organisation of what it lists,
    but it is the node's signed statement: that organisation may neither
    delete it nor post another version of it (a node administrator may
    delete it)."""
    a = work.node("a")
    a.org("CERT")
    a.user("CERT", "ana")
    k = a.collection("K", "--org", "CERT", "--default-tlp", "green", signed=True)
    t = a.user_token("CERT/ana")
    ioc = indicator(name="signed")
    assert a.post_status(t, k, [ioc])["success_count"] == 1
    time.sleep(1.5)  # the signer
    manifests = [o for o in a.get_objects(t, k) if o["type"] == "x-entente-manifest"]
    assert len(manifests) == 1
    m = manifests[0]
    r = session(t).delete(a.objects_url(k) + m["id"] + "/")
    assert r.status_code == 403, (r.status_code, r.text)

    later = dict(m, modified=now())
    later["entries"] = [dict(e, sha256="0" * 64) for e in m["entries"]]
    status = a.post_status(t, k, [later])
    assert status["success_count"] == 0, "the source posted a new version of the node's manifest"
    again = [o for o in a.get_objects(t, k) if o["type"] == "x-entente-manifest"]
    assert again == [m]

    admin = a.last_line("token", "create", "--admin", "--name", "root")
    r = session(admin).delete(a.objects_url(k) + m["id"] + "/")
    assert r.status_code == 200, (r.status_code, r.text)
