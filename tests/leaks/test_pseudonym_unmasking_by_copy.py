"""Leak review finding (fixed; these tests pin the fix). What the review found:

A member can confirm (and then publish) the real identity behind a
pseudonymous member by posting an "unchanged copy" that carries a guessed
real identity in place of the pseudonym.

`Node::unchanged` (crates/node/src/ingest.rs) accepts a post as an unchanged
copy when it equals the *stored* bytes, which hold the pseudonymous source's
real identity, not only when it equals what the poster was shown (the
pseudonym form). So a wrong guess is refused as a new version by a
non-creator, the right guess is accepted as onward sharing, and the copy is
then served, unmasked (its origin is the copying member), to every reader of
the target collection.
"""

from leak_support import indicator, outcomes


def _setup(work):
    a = work.node("a")
    cert = a.org("National CERT")
    helpdesk = a.org("Civic Helpdesk")
    other = a.org("Vendor")
    a.user("National CERT", "ana")
    a.user("Civic Helpdesk", "hugo")
    a.user("Vendor", "vic")
    a.community("Dialogue", "National CERT", "Civic Helpdesk", "Vendor",
                pseudonymous=("Civic Helpdesk",))
    k = a.collection("Dialogue IOCs", "--community", "Dialogue", "--default-tlp", "green")
    k2 = a.collection("Dialogue sightings", "--community", "Dialogue", "--default-tlp", "green")
    t_cert = a.user_token("National CERT/ana")
    t_help = a.user_token("Civic Helpdesk/hugo")
    t_vendor = a.user_token("Vendor/vic")
    return a, cert, helpdesk, other, k, k2, t_cert, t_help, t_vendor


def test_a_guessed_real_identity_is_not_accepted_as_an_unchanged_copy(work):
    """Correct behaviour: a copy is "unchanged" only if it equals what the
    poster was served (the pseudonym form). Replacing the pseudonym with any
    identity, right or wrong, is a change by a non-creator and gets the same
    refusal; the answer must not depend on whether the guess is right."""
    a, cert, helpdesk, other, k, k2, t_cert, t_help, t_vendor = _setup(work)
    report = indicator(created_by=helpdesk, markings=("green",), name="Pegasus domain")
    a.post_status(t_help, k, [report])
    seen = {o["id"]: o for o in a.get_objects(t_cert, k)}[report["id"]]
    pseudonym = seen["created_by_ref"]
    assert pseudonym != helpdesk  # the CERT is shown the pseudonym

    answers = {}
    for label, guess in (("wrong", other), ("right", helpdesk)):
        forged = dict(seen, created_by_ref=guess)
        ok, bad = outcomes(a.post_status(t_cert, k2, [forged]))
        answers[label] = ("stored" if ok else "refused", [m for _, m in bad])
    assert answers["right"] == answers["wrong"], (
        "the answer to a guessed real identity tells whether the guess is right: "
        f"{answers}"
    )


def test_a_member_cannot_republish_a_pseudonymous_report_under_its_real_identity(work):
    """Correct behaviour: readers of the community (and peers it is pushed
    to) never receive the pseudonymous member's real identity on an object
    it posted under its pseudonym, whoever copies it onward."""
    a, cert, helpdesk, other, k, k2, t_cert, t_help, t_vendor = _setup(work)
    report = indicator(created_by=helpdesk, markings=("green",), name="Pegasus domain")
    a.post_status(t_help, k, [report])
    seen = {o["id"]: o for o in a.get_objects(t_cert, k)}[report["id"]]
    a.post(t_cert, k2, [dict(seen, created_by_ref=helpdesk)])
    for coll in (k, k2):
        for o in a.get_objects(t_vendor, coll):
            assert helpdesk not in str(o), (
                f"the Vendor reads the helpdesk's real identity on {o['id']} in {coll}"
            )
