"""FINDING (MEDIUM, existence oracle for observables through the signer's
grouping): the observables rule says posting an SCO never depends on copies
hidden from the poster and "no answer tells that someone else holds it".
But signer.rs signs "a later copy of an observable alone" (the fix of the
shadowed-copies finding), partitioning a batch on `prior_copies`, which
counts copies the poster cannot read. The poster reads its own copies and
the manifests listing them, so it sees which of the observables it posted
together were signed in a manifest of their own: exactly those another
organisation already holds, however hidden (AMBER for its own organisation
here). A member can test any hash/domain/IP against everything the node
holds, for every organisation.

Reproduce: Vendor posts domain-name held.example at AMBER naming only
Vendor. CERT (same community, cannot read it) posts held.example plus two
fresh domain-names in one request; after the signer runs, CERT's objects/
has one manifest listing the two fresh ones and another listing
held.example alone.

Fix direction: decide the split only on copies the poster may read (or
always sign each observable copy of a source in the same manifest and gate
per reader at serving time, e.g. sign later copies per source but never
make grouping depend on other sources' hidden copies; or sign every SCO
alone).

Fixed (3 Dec, evening): a later copy is signed alone only when every reader
of it may read an earlier copy (sharing::earlier_copy_reaches_every_reader),
so that no reader is served it; otherwise it is signed with what was posted
with it, and that manifest is withheld from readers served an earlier copy.
"""
import time

from manifest_review_support import TLP, manifest_entries, recipients_marking


def _domain(value):
    import uuid
    return {"type": "domain-name", "spec_version": "2.1",
            "id": f"domain-name--{uuid.uuid5(uuid.NAMESPACE_DNS, value)}", "value": value,
            "object_marking_refs": [TLP["green"]]}


def test_manifest_grouping_does_not_tell_a_poster_that_a_hidden_copy_exists(work):
    a = work.node("a")
    for o in ("CERT", "Vendor"):
        a.org(o)
    a.user("CERT", "ana")
    a.user("Vendor", "vic")
    a.community("D", "CERT", "Vendor")
    k = a.collection("K", "--community", "D", "--default-tlp", "green", signed=True)
    t_cert = a.user_token("CERT/ana")
    t_vendor = a.user_token("Vendor/vic")
    only_vendor = recipients_marking(orgs=["Vendor"])
    held = dict(_domain("held.example"), object_marking_refs=[TLP["amber"], only_vendor["id"]])
    assert a.post_status(t_vendor, k, [only_vendor, held])["success_count"] == 2
    time.sleep(1.2)
    assert held["id"] not in {o["id"] for o in a.get_objects(t_cert, k)}, "hidden from CERT"

    fresh1, fresh2 = _domain("fresh-one.example"), _domain("fresh-two.example")
    mine = [fresh1, _domain("held.example"), fresh2]
    assert a.post_status(t_cert, k, mine)["success_count"] == 3
    time.sleep(2.0)  # the signer
    seen = a.get_objects(t_cert, k)
    entries = manifest_entries(seen)
    assert {o["id"] for o in mine} <= set(entries), "CERT receives manifests for all it posted"
    manifest_of = {e["object_ref"]: m["id"] for m in seen if m["type"] == "x-entente-manifest"
                   for e in m["entries"]}
    groups = {manifest_of[o["id"]] for o in mine}
    # Control: the two fresh ones share a manifest; the held one must not stand out.
    assert manifest_of[fresh1["id"]] == manifest_of[fresh2["id"]]
    assert len(groups) == 1, (
        "held.example (held hidden by Vendor) was signed in a manifest of its own: "
        "CERT learns another organisation holds it")
