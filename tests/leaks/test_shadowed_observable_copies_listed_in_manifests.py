"""Leak review finding (low; fixed, these tests pin the fix).
An observable (SCO) posted by several sources is kept as one
copy per source, and "a reader who may see several copies receives the
earliest one it may see" (README); read.rs withholds the later copies
(`shadowed`). But each source's copy is listed in that source's manifest,
which the reader receives: so the reader gets a second manifest entry for
the same SCO id with the digest of a copy it is never served (and learns
that another source also holds that observable, which the observables rule
says no answer should tell). The digest confirms a guess of the other
source's copy, e.g. of a custom property it added.

Reproduce: Vendor posts domain-name evil.example (GREEN); CERT posts the
same domain-name with an extra x_ property; the Civic member reads objects/:
it receives Vendor's copy and two manifest entries for that id with
different sha256 values.

Fixed: a manifest that lists a later copy of an observable reaches only
readers served that copy. (Such a copy is signed alone when every reader of
it may read an earlier copy, as here; else with what was posted with it, so
that the grouping tells no one of a copy hidden from them: see
test_manifest_grouping_tells_a_poster_its_observable_is_held.py.)
"""
import time

from manifest_review_support import TLP


def test_a_reader_receives_manifest_entries_only_for_the_copy_it_reads(work):
    a = work.node("a")
    for o in ("CERT", "Vendor", "Civic"):
        a.org(o)
    a.user("CERT", "ana")
    a.user("Vendor", "vic")
    a.user("Civic", "cat")
    a.community("D", "CERT", "Vendor", "Civic")
    k = a.collection("K", "--community", "D", "--default-tlp", "green", signed=True)
    t_cert = a.user_token("CERT/ana")
    t_vendor = a.user_token("Vendor/vic")
    t_civic = a.user_token("Civic/cat")
    sco_id = "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5"  # evil.example (any id works)
    plain = {"type": "domain-name", "spec_version": "2.1", "id": sco_id, "value": "evil.example",
             "object_marking_refs": [TLP["green"]]}
    annotated = dict(plain, x_cert_case="case 2026-117 (informant: J. Doe)")
    s = a.post_status(t_vendor, k, [plain])
    assert s["success_count"] == 1, s
    time.sleep(1.2)
    s = a.post_status(t_cert, k, [annotated])
    assert s["success_count"] == 1, s
    time.sleep(1.5)  # the signer

    seen = a.get_objects(t_civic, k)
    copies = [o for o in seen if o["id"] == sco_id]
    assert len(copies) == 1 and "x_cert_case" not in copies[0], "Civic reads Vendor's copy only"
    digests = {e["sha256"] for o in seen if o["type"] == "x-entente-manifest"
               for e in o.get("entries", []) if e["object_ref"] == sco_id}
    assert len(digests) == 1, (
        "Civic receives manifest entries for two copies of the observable, one of which "
        f"(CERT's annotated copy) it is never served: {digests}")
