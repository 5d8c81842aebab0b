"""Freshness in the console (issue 14: expired indicators are marked, and
each indicator has a decay score): every indicator a list shows carries its
validity and score, and its page says whether it has expired, is stale or
revoked, with its sightings — the same figures the Entente API's
`/entente/v1/collections/{c}/indicators/` gives the same user."""

import re
import uuid

import pytest

from console_support import USERS, DemoNode, Elements, sign_in_with_link, taxii_session

DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"
GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"


def indicator(name, pattern, valid_from, **extra):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": valid_from, "modified": valid_from, "name": name, "pattern": pattern,
            "pattern_type": "stix", "valid_from": valid_from, "object_marking_refs": [GREEN], **extra}


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        old = "2026-06-01T00:00:00.000Z"
        fresh = indicator("fresh c2", "[domain-name:value = 'fresh.example']", "2026-11-30T00:00:00.000Z")
        aged = indicator("aged c2", "[ipv4-addr:value = '198.51.100.77']", old)
        sighted = indicator("sighted c2", "[ipv4-addr:value = '198.51.100.78']", old)
        expired = indicator("expired c2", "[domain-name:value = 'expired.example']", old,
                            valid_until="2026-11-01T00:00:00.000Z")
        revoked = indicator("revoked c2", "[domain-name:value = 'revoked.example']", old, revoked=True)
        sighting = {"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
                    "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
                    "sighting_of_ref": sighted["id"], "last_seen": "2026-12-01T00:00:00.000Z",
                    "object_marking_refs": [GREEN]}
        s = taxii_session(node.tokens[USERS[0]])
        s.headers["Content-Type"] = "application/taxii+json;version=2.1"
        objects = [fresh, aged, sighted, expired, revoked, sighting]
        r = s.post(f"{node.base}/api1/collections/{DIALOGUE}/objects/", json={"objects": objects})
        assert r.status_code == 202 and r.json()["success_count"] == len(objects), r.text
        node.posted = {o["name"]: o["id"] for o in objects if o["type"] == "indicator"}
        yield node
    finally:
        node.stop()


def signed_in(demo, user):
    """A session from a new one-time link (each link signs in once)."""
    printed = demo.cli("user", "link", user).strip()
    return sign_in_with_link(demo.base + printed[printed.index("/console/link/"):])


def api_scores(demo, user):
    r = taxii_session(demo.tokens[user]).get(
        f"{demo.base}/entente/v1/collections/{DIALOGUE}/indicators/", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return {a["id"]: a for a in r.json()["indicators"]}


def listed_freshness(session, base):
    """data-id → the freshness cell's attributes, over every page of the list."""
    out, url = {}, f"{base}/console/objects?type=indicator&collection={DIALOGUE}"
    while url:
        html = session.get(url).text
        for m in re.finditer(r'<tr data-id="(indicator--[^"]+)".*?</tr>', html, re.S):
            cell = [a for t, a in Elements(m.group(0)).tags if t == "span" and "data-score" in a]
            out[m.group(1)] = cell[0] if cell else None
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        url = base + nxt.group(1).replace("&amp;", "&") if nxt else None
    return out


@pytest.mark.parametrize("user", USERS)
def test_lists_show_each_indicators_score_as_the_api_gives_it(demo, user):
    session = signed_in(demo, user)
    api = api_scores(demo, user)
    shown = listed_freshness(session, demo.base)
    assert shown, "no indicators listed"
    assert set(shown) <= set(api)
    for id_, cell in shown.items():
        assert cell is not None, f"{id_} has no freshness in the list"
        assert abs(float(cell["data-score"]) - api[id_]["score"]) < 0.05, (id_, cell, api[id_])
        assert cell["data-expired"] == str(api[id_]["expired"]).lower()
        assert cell["data-revoked"] == str(api[id_]["revoked"]).lower()


def test_the_list_marks_expired_and_revoked_indicators(demo):
    session = signed_in(demo, USERS[0])
    html = session.get(f"{demo.base}/console/objects?type=indicator&q=c2").text
    row = lambda name: re.search(r'<tr data-id="%s".*?</tr>' % demo.posted[name], html, re.S).group(0)
    assert "expired" in row("expired c2") and "since 2026-11-01" in row("expired c2")
    assert "revoked" in row("revoked c2")
    assert re.search(r"score \d+", row("fresh c2")) and "stale" not in row("fresh c2")


def test_object_pages_say_expiry_score_and_sightings(demo):
    session = signed_in(demo, USERS[2])
    api = api_scores(demo, USERS[2])

    def page(name):
        html = session.get(f"{demo.base}/console/collections/{DIALOGUE}/objects/{demo.posted[name]}").text
        figures = next(a for t, a in Elements(html).tags if a.get("id") == "freshness-figures")
        return html, figures

    html, f = page("expired c2")
    assert f["data-expired"] == "true" and "Expired: its source said it is valid until 2026-11-01" in html
    html, f = page("revoked c2")
    assert f["data-revoked"] == "true" and "Revoked by its source" in html
    html, f = page("sighted c2")
    sighted = api[demo.posted["sighted c2"]]
    assert int(f["data-sightings"]) == sighted["sightings"] == 1
    assert abs(float(f["data-score"]) - sighted["score"]) < 0.05
    _, aged = page("aged c2")
    assert float(f["data-score"]) > float(aged["data-score"]), "a sighting raises the score"
    html, f = page("fresh c2")
    assert f["data-expired"] == "false" and "Stale" not in html
    # Not an indicator: no freshness.
    malware = re.search(r'href="(/console/collections/[^"]+/objects/malware--[^"]+)"',
                        session.get(f"{demo.base}/console/objects?type=malware").text).group(1)
    assert 'id="freshness"' not in session.get(demo.base + malware).text
