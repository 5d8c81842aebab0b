"""FINDING (low, integrity/authorship): objects.rs `author()` decides that a
stored version is the node's (not its poster's) when its provenance is
LocalSigned and its type is x-entente-manifest. But LocalSigned is also what
every ordinary object gets once the node's signer lists it. A member may post
an object of type x-entente-manifest itself (it is accepted: 202, success);
once the signer has listed it, `author()` returns None and the member that
posted it can no longer delete it (403 "only the organisation that shared
this object may delete it"). The object is now treated as the node's own
signed statement: it cannot be withdrawn by its source, and reads/admin
tools see a member-forged "manifest" with the node's provenance
(local-signed) next to the real ones.

Reproduce: signed collection; a member posts an x-entente-manifest object
(any entries); wait for the signer; DELETE objects/{id}/ as that member.
"""
import time

from manifest_review_support import indicator, now, session, sid


def test_a_member_can_delete_the_manifest_shaped_object_it_posted(work):
    a = work.node("a")
    a.org("Vendor")
    a.user("Vendor", "vic")
    k = a.collection("K", "--org", "Vendor", "--default-tlp", "green", signed=True)
    t = a.user_token("Vendor/vic")
    ioc = indicator(name="x")
    ts = now()
    mine = {"type": "x-entente-manifest", "spec_version": "2.1", "id": sid("x-entente-manifest"),
            "created": ts, "modified": ts,
            "entries": [{"object_ref": ioc["id"], "object_version": ioc["modified"],
                         "sha256": "0" * 64}]}
    status = a.post_status(t, k, [ioc, mine])
    assert status["success_count"] == 2, status
    time.sleep(1.5)  # the node's signer lists both
    r = session(t).delete(a.objects_url(k) + mine["id"] + "/")
    assert r.status_code == 200, (
        "the member cannot delete an object it posted itself once the node signed it: "
        f"{r.status_code} {r.text}")
