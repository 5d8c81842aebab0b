"""Leak review finding (medium; fixed, these tests pin the fix).
Deleting an object does not touch the node's signed
manifest that lists it. After DELETE objects/{id}/ by its source, every
reader of the collection (including organisations that join later, and peers
that pull later) keeps receiving that object's id, version and the SHA-256 of
its canonical form in the manifest, though the object itself is gone
(objects/{id}/ -> 404). Deletion is the tool a source has to withdraw
something shared by mistake; the digest still confirms a guess of the
withdrawn content, and the entry tells late joiners that it existed. It also
breaks the invariant that a reader only receives manifest entries for
objects it reads (and a peer pulling later holds a manifest listing an
object it will never receive).

Reproduce: signed community collection; CERT posts a GREEN indicator, the
signer lists it; CERT deletes it; a member that joins afterwards reads
objects/ and receives the entry.

Fixed: a delete withdraws, in its own transaction, the node's manifests
that list a deleted row, and the signer lists their other objects again.
"""
import time

from manifest_review_support import indicator, manifest_entries, readable, session


def test_a_deleted_object_is_not_listed_to_readers(work):
    a = work.node("a")
    a.org("CERT")
    a.org("Vendor")
    a.user("CERT", "ana")
    a.community("D", "CERT")
    k = a.collection("K", "--community", "D", "--default-tlp", "green", signed=True)
    t_cert = a.user_token("CERT/ana")
    withdrawn = indicator(name="shared by mistake",
                          pattern="[email-addr:value = 'informant@example.org']")
    kept = indicator(name="kept")
    assert a.post_status(t_cert, k, [withdrawn, kept])["success_count"] == 2
    time.sleep(1.5)  # the signer
    assert withdrawn["id"] in manifest_entries(a.get_objects(t_cert, k))

    r = session(t_cert).delete(a.objects_url(k) + withdrawn["id"] + "/")
    assert r.status_code == 200, (r.status_code, r.text)
    time.sleep(1.5)

    # An organisation joins after the deletion.
    a.cli("community", "add", "D", "Vendor")
    a.user("Vendor", "vic")
    t_vendor = a.user_token("Vendor/vic")
    for who, tok in [("CERT", t_cert), ("Vendor (joined after the delete)", t_vendor)]:
        seen = a.get_objects(tok, k)
        assert kept["id"] in readable(seen)
        assert withdrawn["id"] not in readable(seen)
        assert withdrawn["id"] not in manifest_entries(seen), (
            f"{who} still receives the manifest entry (id, version, sha256) of a deleted object")


def test_a_peer_pulling_after_a_delete_receives_no_entry_for_it(work):
    """The same through federation: a peer that pulls after the delete
    stores the node's manifest, with the withdrawn object's entry, and relays
    it on (it never receives the object)."""
    from manifest_review_support import add_pull, backup, hub, sync, token_file

    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], signed=True)
    b = hub(work, "b", peer_orgs=["Node A"])
    a.user("CERT", "ana")
    t = a.user_token("CERT/ana")
    withdrawn = indicator(name="shared by mistake")
    kept = indicator(name="kept")
    assert a.post_status(t, a.collection_id, [withdrawn, kept])["success_count"] == 2
    time.sleep(1.5)  # A's signer
    r = session(t).delete(a.objects_url(a.collection_id) + withdrawn["id"] + "/")
    assert r.status_code == 200, (r.status_code, r.text)

    tf = token_file(a, "Node B", "sync", b)
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id)
    assert sync(b, "a").returncode in (0, 1)
    at_b = backup(b, b.collection_id)
    assert kept["id"] in readable(at_b), "the pull worked"
    assert withdrawn["id"] not in readable(at_b)
    assert withdrawn["id"] not in manifest_entries(at_b), \
        "B stores (and relays) A's manifest entry for an object A's source deleted before B pulled"
