"""Hostile input against every console form and query parameter:
malformed, oversized and non-UTF-8 requests get a page that says what to
do (never a bare framework message, never a 500); script-like text in
stored objects (names, descriptions, patterns) is escaped wherever the
console writes it: lists, search, autocompletion, object pages, the
overview's rankings and the SVG charts and graph."""

import re
import uuid

import pytest
import requests

from console_support import USERS, DemoNode, Elements, csrf_of, sign_in_with_link, taxii_session

DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def cert(demo):
    return sign_in_with_link(demo.links[USERS[0]])


def assert_readable_refusal(r, status):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert 'role="alert"' in r.text, r.text[:300]
    # The security headers are kept on refusals too.
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_non_utf8_addresses_and_bodies_get_pages_that_say_what_to_do(demo, cert):
    b = demo.base
    token = csrf_of(cert.get(b + "/console/share").text)
    for path in ("/console/collections/%FF/objects/%FE", "/console/incidents/%FF", "/console/link/%FF"):
        r = cert.get(b + path)
        assert_readable_refusal(r, 400)
        assert "not UTF-8" in r.text
    for form in ("/console/share/note", "/console/objects/export", "/console/incidents", "/console/admin/orgs"):
        r = cert.post(b + form, data=b"csrf=" + token.encode() + b"&content=\xff\xfe&pick=\xff|\xfe", headers=FORM)
        assert_readable_refusal(r, 400)
        assert "reload the page" in r.text
    r = requests.post(b + "/console/sign-in", data=b"pre=\xff&account=\xff", headers=FORM)
    assert r.status_code in (400, 403) and r.headers["content-type"].startswith("text/html")


def test_forms_of_the_wrong_kind_get_pages_that_say_what_to_do(demo, cert):
    b = demo.base
    token = csrf_of(cert.get(b + "/console/share").text)
    # A multipart upload without its boundary.
    r = cert.post(b + "/console/share/upload?csrf=" + token, data=b"junk",
                  headers={"Content-Type": "multipart/form-data"})
    assert_readable_refusal(r, 400)
    # The sign-in form sent as something other than a form.
    r = requests.post(b + "/console/sign-in", data=b"{}", headers={"Content-Type": "application/json"})
    assert_readable_refusal(r, 415)
    assert "send the form from it again" in r.text
    # A method the address does not take.
    r = cert.put(b + "/console/objects")
    assert_readable_refusal(r, 405)


def test_a_bad_overview_window_is_said_and_30_days_shown(demo, cert):
    for bad in ("abc", "-1", "14", "99999999999", "%FF"):
        r = cert.get(demo.base + "/?days=" + bad)
        assert r.status_code == 200, (bad, r.text[:200])
        assert "covers 7, 30 or 90 days" in r.text
        assert re.search(r'<strong aria-current="true">30 days</strong>', r.text)
    assert "covers 7, 30 or 90" not in cert.get(demo.base + "/?days=7").text


def test_oversized_queries_are_bounded(demo, cert):
    b = demo.base
    # Long but within the server's line limit: cut, answered.
    r = cert.get(b + "/console/objects", params={"q": "a" * 40_000, "type": ",".join(["x" * 64] * 100)})
    assert r.status_code == 200 and len(r.text) < 200_000
    r = cert.get(b + "/console/share/find", params={"q": "b" * 50_000})
    assert r.status_code == 200
    # Past it: refused before any page runs, and the node keeps serving.
    r = cert.get(b + "/console/objects?q=" + "a" * 200_000)
    assert r.status_code in (414, 431)
    assert cert.get(b + "/console/objects").status_code == 200
    # Extreme cursors and dates are not errors of the node.
    for q in ("before=9223372036854775807", "before=-9223372036854775808", "since=0000-01-01",
              "since=99999-01-01", "tlp=%00", "collection=%FF"):
        r = cert.get(b + "/console/objects?" + q)
        assert r.status_code in (200, 404), (q, r.status_code)
        assert r.headers["content-type"].startswith("text/html")


def hostile_objects():
    t = "2026-12-02T00:00:00.000Z"
    green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"

    def sid(kind):
        return f"{kind}--{uuid.uuid4()}"
    malware = {"type": "malware", "spec_version": "2.1", "id": sid("malware"), "created": t, "modified": t,
               "name": "EVILWARE " + EVIL, "is_family": True, "description": "about " + EVIL,
               "object_marking_refs": [green]}
    indicator = {"type": "indicator", "spec_version": "2.1", "id": sid("indicator"), "created": t, "modified": t,
                 "name": "evilind " + EVIL, "description": EVIL, "pattern_type": "stix", "valid_from": t,
                 "pattern": "[url:value = 'http://x.example/\"><script>alert(3)</script>']",
                 "object_marking_refs": [green]}
    rel = {"type": "relationship", "spec_version": "2.1", "id": sid("relationship"), "created": t, "modified": t,
           "relationship_type": "indicates", "source_ref": indicator["id"], "target_ref": malware["id"],
           "object_marking_refs": [green]}
    report = {"type": "report", "spec_version": "2.1", "id": sid("report"), "created": t, "modified": t,
              "name": "Report " + EVIL, "published": t, "object_refs": [malware["id"], indicator["id"]],
              "object_marking_refs": [green]}
    return malware, indicator, rel, report


def assert_no_markup_from_objects(html, where):
    assert "<script>alert" not in html, where
    assert "<img src=x" not in html, where
    for tag, attrs in Elements(html).tags:
        assert not any(k.startswith("on") for k in attrs), (where, tag, attrs)
        assert tag != "img", (where, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/console/static/"), (where, attrs)


def test_script_in_stored_objects_is_escaped_everywhere(demo, cert):
    b = demo.base
    malware, indicator, rel, report = hostile_objects()
    s = taxii_session(demo.tokens[USERS[0]])
    s.headers["Content-Type"] = "application/taxii+json;version=2.1"
    r = s.post(f"{b}/api1/collections/{DIALOGUE}/objects/", json={"objects": [malware, indicator, rel, report]})
    assert r.status_code == 202 and r.json()["success_count"] == 4, r.text
    pages = {
        "overview": "/?days=7",
        "list": "/console/objects",
        "search": "/console/objects?q=evilind",
        "find": "/console/share/find?q=EVILWARE",
        "malware page": f"/console/collections/{DIALOGUE}/objects/{malware['id']}",
        "indicator page": f"/console/collections/{DIALOGUE}/objects/{indicator['id']}",
        "report page": f"/console/collections/{DIALOGUE}/objects/{report['id']}",
    }
    for where, path in pages.items():
        html = cert.get(b + path).text
        assert "&lt;script&gt;alert" in html, f"{where}: the hostile text is not shown at all"
        assert_no_markup_from_objects(html, where)
    # The relationship graph (SVG) carries the indicator's name, escaped.
    html = cert.get(b + pages["malware page"]).text
    svg = html[html.index('<svg class="chart graph"'):html.index("</svg>", html.index('<svg class="chart graph"'))]
    assert "evilind" in svg and "&lt;script&gt;" in svg and "<script" not in svg
    # The overview ranks the malware by name, escaped.
    overview = cert.get(b + "/?days=7").text
    assert re.search(r'data-id="%s"[^>]*>.*?EVILWARE &quot;&gt;&lt;script&gt;' % re.escape(malware["id"]), overview, re.S)


def test_oversized_forms_get_the_refusal_page_not_a_reset_connection(demo, cert):
    # The browser sends the whole body before it reads the answer: the node
    # reads (and drops) a too-large form before refusing it, every time.
    token = csrf_of(cert.get(demo.base + "/console/share").text)
    for size in (2 << 20, 5 << 20, 2 << 20, 5 << 20, 2 << 20):
        r = cert.post(demo.base + "/console/share/note", data={"csrf": token, "content": "x" * size})
        assert_readable_refusal(r, 413)
        assert "at most 1 MiB" in r.text
