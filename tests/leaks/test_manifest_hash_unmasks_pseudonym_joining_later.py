"""Leak review finding (medium, pseudonym unmasking; fixed, these tests pin the fix).
The signer hashes "what any reader
receives" with the pseudonym masks of the moment it signs (signer.rs
`sign_group`: pseudonym_masks(anonymous) at signing time). Masks are applied
at read time. An object a node-level source (here: `entente import` by the
operator, origin None, which masks cover) stored in a community collection
before an organisation joined it as a pseudonymous member is signed in its
real form; once the organisation joins with --pseudonymous, readers receive
the object with the pseudonym in place of the real identity id, while the
manifest entry keeps the SHA-256 of the real form. A reader substitutes each
candidate organisation's identity id for the pseudonym, hashes, and learns
which organisation the pseudonym is (identity ids of a node's organisations
are not secret to members of other communities, and are often known).

Reproduce: community C (Member), signed collection K; operator imports an
indicator whose description names organisation P's identity id; P then joins
C as pseudonymous; Member reads objects/ and matches the manifest digest.

Fixed: a pseudonymous join withdraws the manifests of the community's
collections that list what the new member's mask covers, and the signer
hashes them again as readers now receive them.
"""
import hashlib
import json
import time

from manifest_review_support import indicator


def jcs_sha256(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


def test_a_manifest_signed_before_a_pseudonymous_join_does_not_confirm_the_real_id(work):
    a = work.node("a")
    p_identity = a.org("Helpdesk")
    a.org("Member")
    a.user("Member", "mia")
    a.community("C", "Member")
    k = a.collection("K", "--community", "C", "--default-tlp", "green", signed=True)
    ioc = indicator(name="reported")
    ioc["description"] = f"reported by {p_identity}"
    f = a.dir / "bundle.json"
    f.write_text(json.dumps({"type": "bundle", "id": "bundle--0b5e7c5e-7f5e-4f1e-9c1e-0d6a1f0b1a11",
                             "objects": [ioc]}))
    a.cli("import", "--collection", k, str(f))  # signs as it stores
    a.cli("community", "add", "C", "Helpdesk", "--pseudonymous")
    t_m = a.user_token("Member/mia")
    time.sleep(0.5)

    seen = a.get_objects(t_m, k)
    served = next(o for o in seen if o["id"] == ioc["id"])
    assert p_identity not in served["description"], "the real id is masked on read"
    pseudonym = served["description"].split()[-1]
    entries = [e for o in seen if o["type"] == "x-entente-manifest" for e in o["entries"]
               if e["object_ref"] == ioc["id"]]
    assert entries, "the import signed it"
    unmasked = json.loads(json.dumps(served).replace(pseudonym, p_identity))
    assert all(e["sha256"] != jcs_sha256(unmasked) for e in entries), (
        "the manifest digest confirms which organisation the pseudonym stands for")


def test_an_identity_signed_before_a_pseudonymous_join_is_not_listed_under_the_pseudonym(work):
    """The same root cause reopens the fixed leak of
    tests/leaks/test_manifest_hash_unmasks_pseudonym.py: the operator's import
    of a bundle carrying the organisation's own identity object (as OpenCTI
    and MISP bundles do) is signed before it joins pseudonymously; afterwards
    reads withhold that identity (`masked_identity`) and mask the manifest's
    text, so readers receive an entry under the pseudonym id whose digest is
    that of the identity object with the real name: hash candidate names."""
    a = work.node("a")
    p_identity = a.org("Civic Helpdesk")
    a.org("Member")
    a.user("Member", "mia")
    a.community("C", "Member")
    k = a.collection("K", "--community", "C", "--default-tlp", "green", signed=True)
    ts = "2026-11-20T10:00:00.000Z"
    me = {"type": "identity", "spec_version": "2.1", "id": p_identity, "created": ts,
          "modified": ts, "name": "Civic Helpdesk", "identity_class": "organization"}
    ioc = indicator(name="spyware C2")
    f = a.dir / "bundle.json"
    f.write_text(json.dumps({"type": "bundle", "id": "bundle--0b5e7c5e-7f5e-4f1e-9c1e-0d6a1f0b1a12",
                             "objects": [me, ioc]}))
    a.cli("import", "--collection", k, str(f))
    a.cli("community", "add", "C", "Civic Helpdesk", "--pseudonymous")
    t_m = a.user_token("Member/mia")

    seen = a.get_objects(t_m, k)
    assert p_identity not in json.dumps([o for o in seen if o["type"] != "x-entente-manifest"])
    found = set()
    for e in (e for o in seen if o["type"] == "x-entente-manifest" for e in o["entries"]):
        v = e["object_version"]
        for name in ["Digital Defenders", "Civic Helpdesk", "Access Lab"]:
            guess = {"type": "identity", "spec_version": "2.1", "id": p_identity, "created": v,
                     "modified": v, "name": name, "identity_class": "organization"}
            if e["object_ref"] != p_identity and jcs_sha256(guess) == e["sha256"]:
                found.add((e["object_ref"], name))
    assert not found, f"a manifest entry under the pseudonym confirms the real name: {found}"
