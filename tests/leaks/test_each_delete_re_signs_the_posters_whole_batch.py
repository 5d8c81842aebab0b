"""FINDING (LOW-MEDIUM, denial of service amplification by one member
analyst): a DELETE withdraws the manifests listing what it deleted and the
signer re-signs their other objects (store withdraw_in). A member's objects
posted together share one manifest (up to 5,000), so each DELETE of one of
them makes the node hash, sign and store a new manifest of all the others:
one small request costs up to 5,000 entries (~850 KB of manifest, an audit
entry), and deleting a batch one by one costs ~N^2/2 entries
(12.5 million for one 5,000-object POST).

Reproduce: CERT posts 400 indicators in one POST; after the signer ran, it
deletes 10 of them one request at a time; the `sign` audit entries list
~4,300 entries in all.

Fix direction: cut manifests smaller (bounded re-sign cost per delete, e.g.
a few hundred entries), coalesce withdrawals over a delay per source, or
record deletions in a signed tombstone/revocation list instead of
re-signing the survivors.

Fixed (3 Dec, evening): a manifest lists at most 50 objects, so that one
delete re-signs at most 49 others.
"""
import re
import time

from manifest_review_support import indicator, session

N, DELETED = 400, 10


def test_deleting_one_object_re_signs_a_bounded_number_of_entries(work):
    a = work.node("a")
    a.org("CERT")
    a.user("CERT", "ana")
    a.community("D", "CERT")
    k = a.collection("K", "--community", "D", "--default-tlp", "green", signed=True)
    t = a.user_token("CERT/ana")
    objs = [indicator(name=f"i{i}", pattern=f"[ipv4-addr:value = '10.1.{i // 250}.{i % 250}']")
            for i in range(N)]
    assert a.post_status(t, k, objs)["success_count"] == N
    time.sleep(1.5)
    for o in objs[:DELETED]:
        r = session(t).delete(a.objects_url(k) + o["id"] + "/")
        assert r.status_code in (200, 204), (r.status_code, r.text)
        time.sleep(1.2)  # the signer re-signs between deletes
    time.sleep(1.5)
    log = a.cli("audit", "show", "--limit", "100000")
    signed = [int(m) for m in re.findall(r"manifest of (\d+) objects", log)]
    assert sum(signed) >= N, ("the signer ran", signed)
    assert sum(signed) <= 3 * N, (
        f"{len(signed)} manifests listing {sum(signed)} entries were signed for {N} objects "
        f"posted once and {DELETED} deletes: {signed}")
