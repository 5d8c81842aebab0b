"""Leak review finding (fixed; these tests pin the fix). What the review found:

Signed manifests list the pseudonymous member's own (withheld) identity
object, with a hash that confirms a guessed real name, to every reader and
to every peer.

A helpdesk that is a pseudonymous member posts a bundle that includes its
own identity object (OpenCTI, MISP and most STIX producers include the
author's identity). The read gate withholds that object (`masked_identity`
in `Node::read`), but the signer (crates/node/src/signer.rs) lists it in the
collection's `x-entente-manifest`: the id is masked to the pseudonym, yet the
entry keeps the object's own version and the SHA-256 of its canonical form,
which contains the real name. The manifest passes the read gate because its
`object_ref` (the pseudonym id) is the node's visible pseudonym identity.
Any reader, and any peer the collection is pulled by or pushed to (B, C),
can then hash candidate names offline and learn who the pseudonym is.
"""

import hashlib
import json
import time

from leak_support import add_pull, backup, hub, indicator, now, sync, token_file

CANDIDATES = ["Digital Defenders", "Journalists' Shield", "Civic Helpdesk", "Access Lab"]


def jcs_sha256(obj):
    # RFC 8785 for objects of strings only: sorted keys, no whitespace, UTF-8.
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def guesses(objects):
    """Names from CANDIDATES confirmed by a manifest entry (the attack)."""
    pseudonyms = {o["id"] for o in objects if o.get("type") == "identity"
                  and o.get("name", "").startswith("Pseudonymous source")}
    entries = [e for o in objects if o.get("type") == "x-entente-manifest"
               for e in o.get("entries", [])]
    found = set()
    for e in entries:
        if e["object_ref"] not in pseudonyms:
            continue
        v = e["object_version"]
        for name in CANDIDATES:
            guess = {"type": "identity", "spec_version": "2.1", "id": e["object_ref"],
                     "created": v, "modified": v, "name": name,
                     "identity_class": "organization"}
            if jcs_sha256(guess) == e["sha256"]:
                found.add(name)
    return found


def _helpdesk_posts_its_bundle(n, collection, helpdesk_identity, token):
    ts = now()
    me = {"type": "identity", "spec_version": "2.1", "id": helpdesk_identity,
          "created": ts, "modified": ts, "name": "Civic Helpdesk",
          "identity_class": "organization"}
    ioc = indicator(created_by=helpdesk_identity, name="spyware C2 seen on an activist's phone")
    assert n.post_status(token, collection, [me, ioc])["success_count"] == 2
    time.sleep(1.5)  # the signer runs about 200 ms after a post


def test_no_manifest_entry_confirms_the_pseudonymous_members_name(work):
    """Correct behaviour: a reader who sees the helpdesk only under its
    pseudonym receives no manifest entry for the helpdesk's withheld identity
    object (nothing in what it reads confirms a guess of the real name)."""
    a = work.node("a")
    a.org("National CERT")
    helpdesk = a.org("Civic Helpdesk")
    a.org("Vendor")
    a.user("Civic Helpdesk", "hugo")
    a.user("Vendor", "vic")
    a.community("Dialogue", "National CERT", "Civic Helpdesk", "Vendor",
                pseudonymous=("Civic Helpdesk",))
    k = a.collection("K", "--community", "Dialogue", "--default-tlp", "green", signed=True)
    _helpdesk_posts_its_bundle(a, k, helpdesk, a.user_token("Civic Helpdesk/hugo"))
    seen = a.get_objects(a.user_token("Vendor/vic"), k)
    assert any(o["type"] == "x-entente-manifest" for o in seen)
    assert helpdesk not in json.dumps(seen)
    assert guesses(seen) == set(), "a manifest entry confirms the helpdesk's real name"


def test_no_manifest_entry_reaching_a_peer_confirms_the_name(work):
    """Correct behaviour: B (pulling A's community collection) never learns
    the pseudonymous member's real identity, not even by hashing guesses
    against the manifests it receives."""
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["Civic Helpdesk"],
            pseudonymous=("Civic Helpdesk",), signed=True)
    b = hub(work, "b", peer_orgs=["Node A"])
    a.user("Civic Helpdesk", "hugo")
    _helpdesk_posts_its_bundle(a, a.collection_id, a.identities["Civic Helpdesk"],
                               a.user_token("Civic Helpdesk/hugo"))
    tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber+strict")
    add_pull(b, "a", a, "Node A", tf, a.collection_id, b.collection_id)
    assert sync(b, "a").returncode in (0, 1)
    at_b = backup(b, b.collection_id)
    assert any(o["type"] == "x-entente-manifest" for o in at_b)
    assert guesses(at_b) == set(), "node B can confirm the pseudonymous helpdesk's real name"
