"""Leak review finding (low-medium; fixed, these tests pin the fix).
In a collection created with --hide-expired, an
indicator whose valid_until has passed "reads exactly like an absent one"
(README, read.rs `read_with`), but the node's signed x-entente-manifest that
lists it is not an indicator, never expires, and is gated only on audience,
TLP, source and the union of its objects' references. So every reader of the
collection keeps receiving the hidden indicator's id, version and the SHA-256
of its canonical form (which confirms a guess of its pattern) through
objects/, while objects/{id}/ answers 404 for it. An indicator posted already
expired is never readable by anyone but is still announced to everyone.

Reproduce: signed --hide-expired community collection; CERT posts an
indicator with valid_until in the past and a live one; after the signer runs,
the Vendor's GET objects/ returns no expired indicator but a manifest entry
for it.

Fixed: in a --hide-expired collection an expired indicator is never
listed, and a manifest is withheld from the moment an indicator it lists
expires, then withdrawn and re-signed without it.
"""
import time

from manifest_review_support import indicator, manifest_entries, readable, session


def test_expired_indicator_is_not_listed_to_readers_who_cannot_read_it(work):
    a = work.node("a")
    a.org("CERT")
    a.org("Vendor")
    a.user("CERT", "ana")
    a.user("Vendor", "vic")
    a.community("D", "CERT", "Vendor")
    k = a.collection("K", "--community", "D", "--default-tlp", "green", "--hide-expired", signed=True)
    t_cert = a.user_token("CERT/ana")
    t_vendor = a.user_token("Vendor/vic")
    expired = indicator(name="expired", pattern="[domain-name:value = 'secret-c2.example']")
    expired["valid_from"] = "2019-01-01T00:00:00.000Z"
    expired["valid_until"] = "2020-01-01T00:00:00.000Z"
    live = indicator(name="live")
    assert a.post_status(t_cert, k, [expired, live])["success_count"] == 2
    time.sleep(1.5)  # the signer

    seen = a.get_objects(t_vendor, k)
    assert live["id"] in manifest_entries(seen), "the signer ran"
    assert expired["id"] not in readable(seen)
    r = session(t_vendor).get(a.objects_url(k) + expired["id"] + "/")
    assert r.status_code == 404, "the expired indicator reads as absent"
    assert expired["id"] not in manifest_entries(seen), (
        "the Vendor receives a signed manifest entry (id, version, sha256) for an "
        "expired indicator the collection hides from it")
