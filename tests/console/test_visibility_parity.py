"""Visibility parity: for the three demo users, and for the CERT analyst
signed in with a token capped at TLP:GREEN, every object id and every count
the console shows equals what TAXII gives the same token — on the overview
(counts by type and TLP, rankings, latest reports), in lists, search,
autocompletion and object pages. A leak through any of them fails. The
node's signed manifests, which TAXII serves, are not listed by the console.
"""

import collections
import re

import pytest

from console_support import (
    RANKED,
    TLP_NAMES,
    TLP_ORDER,
    UNLISTED,
    USERS,
    DemoNode,
    Elements,
    listed,
    references,
    sign_in_with_link,
    sign_in_with_token,
    taxii_session,
    taxii_objects,
    tlp_of,
    words,
)

# The CERT analyst again, through a token that reads at most TLP:GREEN.
NARROWED = USERS[0] + " (token capped at GREEN)"
VIEWERS = USERS + [NARROWED]


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        yield node
    finally:
        node.stop()


DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"
CERT_INTERNAL = "7a1d2c3b-4e5f-4a6b-9c8d-0e1f2a3b4c5d"


def bait(demo):
    """Pointer objects the audience alone would show too widely: the CERT
    shares, TLP:GREEN in the dialogue, a relationship and a report about its
    AMBER+STRICT internal lead. The vendor and the helpdesk may read GREEN
    there, but not the lead: TAXII withholds both objects from them, and so
    must every figure of the console."""
    cert = demo.tokens[USERS[0]]
    internal = taxii_objects(demo.base, cert)[CERT_INTERNAL]
    lead = next(o for o in internal if o["type"] != "marking-definition")
    malware = next(o for o in taxii_objects(demo.base, cert)[DIALOGUE] if o["type"] == "malware")
    green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
    now = "2026-12-01T00:00:00.000Z"
    objects = [
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--7b6b1e4e-3a57-4c55-9c39-9e5c0b1f0a01",
         "created": now, "modified": now, "relationship_type": "related-to",
         "source_ref": malware["id"], "target_ref": lead["id"], "object_marking_refs": [green]},
        {"type": "report", "spec_version": "2.1", "id": "report--7b6b1e4e-3a57-4c55-9c39-9e5c0b1f0a02",
         "created": now, "modified": now, "name": "NIGHTOWL lead summary", "published": now,
         "object_refs": [malware["id"], lead["id"]], "object_marking_refs": [green]},
    ]
    s = taxii_session(cert)
    s.headers["Content-Type"] = "application/taxii+json;version=2.1"
    r = s.post(f"{demo.base}/api1/collections/{DIALOGUE}/objects/", json={"objects": objects})
    assert r.status_code == 202 and r.json()["success_count"] == 2, r.text
    return [o["id"] for o in objects]


@pytest.fixture(scope="module")
def views(demo):
    """Per viewer: the console session and what TAXII gives its token, less
    what the console does not list (kept aside as `unlisted`)."""
    demo.bait = bait(demo)
    demo.tokens[NARROWED] = demo.cli("token", "create", "--user", USERS[0], "--max-tlp", "green").strip()
    out = {}
    for viewer in VIEWERS:
        token = demo.tokens[viewer]
        served = taxii_objects(demo.base, token, version="all")
        every = listed(served)
        latest = listed(taxii_objects(demo.base, token, version="last"))
        session = sign_in_with_token(demo.base, token) if viewer == NARROWED else sign_in_with_link(demo.links[viewer])
        out[viewer] = {
            "session": session,
            "all": every,
            "latest": latest,
            "ids": {o["id"] for objs in every.values() for o in objs},
            "latest_ids": {o["id"] for objs in latest.values() for o in objs},
            "unlisted": {o["id"] for objs in served.values() for o in objs if o["type"] in UNLISTED},
        }
    return out


def test_the_users_see_different_things(views):
    cert, helpdesk, vendor = (views[u]["ids"] for u in USERS)
    assert cert != helpdesk != vendor != cert
    assert cert - vendor, "the CERT sees what the GREEN-only vendor does not"
    narrowed = views[NARROWED]
    assert narrowed["ids"] < cert, "the capped token sees less than the CERT's own"
    for collection, objects in narrowed["all"].items():
        for o in objects:
            assert TLP_ORDER.index(tlp_of(o, collection) or "red") <= TLP_ORDER.index("green"), o["id"]


def test_taxii_serves_manifests_the_console_does_not_list(demo, views):
    v = views[USERS[0]]
    assert v["unlisted"], "the demo node signed nothing"
    html = v["session"].get(demo.base + "/?days=90").text
    assert "x-entente-manifest" not in html
    assert not set(listed_ids(v["session"], demo.base, "/console/objects")) & v["unlisted"]


def test_pointers_to_hidden_objects_are_withheld_everywhere(demo, views):
    cert, helpdesk, vendor = (views[u]["ids"] for u in USERS)
    assert set(demo.bait) <= cert
    assert not set(demo.bait) & (helpdesk | vendor)


@pytest.mark.parametrize("user", VIEWERS)
def test_overview_counts_equal_taxii(demo, views, user):
    v = views[user]
    html = v["session"].get(demo.base + "/?days=90").text
    page = Elements(html)
    shown_types = {a["data-type"]: int(a["data-count"]) for a in page.with_attr("data-type", "tr")}
    shown_tlps = {a["data-tlp"]: int(a["data-count"]) for a in page.with_attr("data-tlp", "tr")}
    total = int(re.search(r'id="total-new" data-count="(\d+)"', html).group(1))

    by_type, by_tlp = collections.Counter(), collections.Counter()
    for collection, objects in v["all"].items():
        for o in objects:
            by_type[o["type"]] += 1
            by_tlp[TLP_NAMES[tlp_of(o, collection)]] += 1
    assert shown_types == dict(by_type)
    assert shown_tlps == dict(by_tlp)
    assert total == sum(by_type.values())

    # Per day and series, from the chart's own shapes, add up to the same.
    bars = collections.Counter()
    for rect in page.with_attr("data-series", "rect"):
        bars[rect["data-series"]] += int(rect["data-count"])
    tlp_series = {name: n for name, n in bars.items() if name in TLP_NAMES.values()}
    assert tlp_series == dict(by_tlp)
    assert bars.get("sightings", 0) == by_type.get("sighting", 0)


@pytest.mark.parametrize("user", VIEWERS)
def test_rankings_and_latest_reports_equal_taxii(demo, views, user):
    v = views[user]
    page = Elements(v["session"].get(demo.base + "/?days=90").text)
    expected = collections.Counter()
    targets = collections.Counter()
    for objects in v["all"].values():
        for o in objects:
            refs = references(o)
            for r in refs:
                if r.startswith(RANKED):
                    expected[r] += 1
            if (o["type"] == "relationship" and o.get("relationship_type") == "targets"
                    and o.get("target_ref", "").startswith("identity--") and o["target_ref"] in refs):
                targets[o["target_ref"]] += 1
    shown = {a["data-id"]: int(a["data-count"]) for a in page.with_attr("data-count", "tr") if "data-id" in a}
    assert shown == {k: n for k, n in expected.items()}, (shown, expected)
    # Sectors: of the targeted identities the user can read.
    identities = {o["id"]: o for objs in v["latest"].values() for o in objs if o["type"] == "identity"}
    sectors = collections.Counter()
    for identity, n in targets.items():
        for s in identities.get(identity, {}).get("sectors", []):
            sectors[s] += n
    shown_sectors = {a["data-sector"]: int(a["data-count"]) for a in page.with_attr("data-sector")}
    assert shown_sectors == dict(sectors)
    # Latest reports: the newest reports the user can read, nothing else.
    reports = [a["data-id"] for t, a in page.tags if t == "li" and "data-id" in a]
    visible_reports = {o["id"] for objs in v["latest"].values() for o in objs if o["type"] == "report"}
    assert set(reports) == visible_reports


def listed_ids(session, base, url):
    ids, pages = [], 0
    while url and pages < 50:
        html = session.get(base + url).text
        ids += [a["data-id"] for a in Elements(html).with_attr("data-id", "tr") if "data-type" in a]
        m = re.search(r'href="(/console/objects\?[^"]*before=\d+)" rel="next"', html)
        url = m.group(1).replace("&amp;", "&") if m else None
        pages += 1
    return ids


@pytest.mark.parametrize("user", VIEWERS)
def test_object_lists_equal_taxii(demo, views, user):
    v = views[user]
    ids = listed_ids(v["session"], demo.base, "/console/objects")
    assert len(ids) == len(set(ids)), "an object is listed twice"
    assert set(ids) == v["latest_ids"]
    for collection, objects in v["latest"].items():
        per = listed_ids(v["session"], demo.base, f"/console/objects?collection={collection}")
        assert set(per) == {o["id"] for o in objects}


@pytest.mark.parametrize("user", VIEWERS)
@pytest.mark.parametrize("word", ["nightowl", "journalists", "staging", "inkwell", "red"])
def test_search_and_autocompletion_equal_taxii(demo, views, user, word):
    v = views[user]
    expected = set()
    for objects in v["latest"].values():
        for o in objects:
            text = " ".join(str(o.get(k, "")) for k in ("name", "description", "pattern"))
            if o.get("name") is None and isinstance(o.get("value"), str):
                text += " " + o["value"]
            if any(w.startswith(word) for w in words(text)):
                expected.add(o["id"])
    found = set(listed_ids(v["session"], demo.base, f"/console/objects?q={word}"))
    assert found == expected
    suggested = Elements(v["session"].get(demo.base + f"/console/share/find?q={word}").text)
    assert {a["data-id"] for a in suggested.with_attr("data-id", "li")} <= expected


@pytest.mark.parametrize("user", VIEWERS)
def test_object_pages_show_only_what_taxii_gives(demo, views, user):
    v = views[user]
    everyone = set().union(*(w["ids"] for w in views.values()))
    for collection, objects in v["latest"].items():
        for o in objects:
            html = v["session"].get(f"{demo.base}/console/collections/{collection}/objects/{o['id']}").text
            linked = set(re.findall(r"/console/collections/[^/\"]+/objects/([a-z0-9-]+--[0-9a-f-]{36})", html))
            data_ids = {a["data-id"] for a in Elements(html).with_attr("data-id")}
            assert (linked | data_ids) <= v["ids"], f"{o['id']} page shows {sorted((linked | data_ids) - v['ids'])}"
    # What others see and this user does not reads exactly like what does not exist.
    hidden = everyone - v["ids"]
    for oid in sorted(hidden)[:10]:
        for collection in v["latest"]:
            r = v["session"].get(f"{demo.base}/console/collections/{collection}/objects/{oid}")
            fake = oid.split("--")[0] + "--00000000-0000-4000-8000-000000000000"
            absent = v["session"].get(f"{demo.base}/console/collections/{collection}/objects/{fake}")
            assert r.status_code == absent.status_code == 404
            assert r.text.replace(oid, "ID") == absent.text.replace(fake, "ID")
