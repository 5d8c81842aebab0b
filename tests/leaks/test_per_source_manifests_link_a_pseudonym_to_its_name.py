"""FINDING (medium, pseudonym unmasking): manifests are now cut per SOURCE
ORGANISATION (signer.rs: Batch = collection, audience, TLP, origin_org), so a
manifest tells every reader that all the objects it lists share one source.
That is a new attribution channel that the pseudonym masking does not cover.

An organisation P is a pseudonymous member of community C1 and a named
member of C2 (both with member M). P shares the same unattributed indicator I
(no created_by_ref: nothing in it names anyone) into both communities'
collections, each time together with one object it attributes to itself
(created_by_ref = its identity: M sees the pseudonym in C1, the real identity
in C2). Without manifests M cannot tell who posted I in either collection.
With per-source manifests, M reads in C1 a manifest listing I next to an
object by the pseudonym, and in C2 a manifest listing I next to an object by
P: the pseudonym is P. (The same holds for any object P posts in both
places, including SCOs, whose ids follow from their values.)

Note: before per-source cutting, objects of one envelope usually shared a
manifest too (same 200 ms batch), so the channel existed by timing; cutting
per source makes it deterministic (a manifest never mixes sources, however
busy the node), and the README promises recipients "never the real one".

Reproduce: see the test; M's reads of both collections through objects/.
"""
import time

from manifest_review_support import TLP, indicator, now, sid


def _manifests(objs):
    return [{e["object_ref"] for e in o.get("entries", [])}
            for o in objs if o["type"] == "x-entente-manifest"]


def test_manifests_do_not_tie_a_pseudonyms_objects_to_its_named_objects(work):
    a = work.node("a")
    p_identity = a.org("Helpdesk")
    a.org("Member")
    a.user("Helpdesk", "hugo")
    a.user("Member", "mia")
    a.community("C1", "Helpdesk", "Member", pseudonymous=("Helpdesk",))
    a.community("C2", "Helpdesk", "Member")
    k1 = a.collection("K1", "--community", "C1", "--default-tlp", "green", signed=True)
    k2 = a.collection("K2", "--community", "C2", "--default-tlp", "green", signed=True)
    t_p = a.user_token("Helpdesk/hugo")
    t_m = a.user_token("Member/mia")

    shared = indicator(name="unattributed indicator")  # names no one
    x = indicator(name="by the helpdesk (C1)", created_by=p_identity)
    y = indicator(name="by the helpdesk (C2)", created_by=p_identity)
    s1 = a.post_status(t_p, k1, [shared, x])
    assert s1["success_count"] == 2, s1
    s2 = a.post_status(t_p, k2, [shared, y])
    assert s2["success_count"] == 2, s2
    time.sleep(1.5)  # the signer

    in1 = a.get_objects(t_m, k1)
    in2 = a.get_objects(t_m, k2)
    by_id1 = {o["id"]: o for o in in1}
    by_id2 = {o["id"]: o for o in in2}
    pseudonym = by_id1[x["id"]].get("created_by_ref")
    assert pseudonym and pseudonym != p_identity, "M sees the pseudonym in C1"
    assert by_id2[y["id"]].get("created_by_ref") == p_identity, "M sees the name in C2"

    def attributed(listed, by_id, who):
        return any(by_id.get(i, {}).get("created_by_ref") == who for i in listed)

    link1 = any(shared["id"] in m and attributed(m, by_id1, pseudonym) for m in _manifests(in1))
    link2 = any(shared["id"] in m and attributed(m, by_id2, p_identity) for m in _manifests(in2))
    assert not (link1 and link2), (
        "the per-source manifests tell M that the pseudonym in C1 and the named "
        "Helpdesk in C2 posted the same unattributed indicator: the pseudonym is unmasked")
