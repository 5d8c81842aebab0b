"""The pages the walk-through in test_browser.py does not exercise, over
HTTP: uploads in every format `entente import` reads (STIX, MISP JSON
events, CSV) with per-record refusals; a note and a report; the export of
a selection; an object's versions; and the administration page — an
organisation, a user, a community and a member, a token created once-shown
and revoked, the audit log and its verification."""

import json
import re
import uuid

import pytest
import requests

from console_support import (
    USERS, DemoNode, csrf_of, sign_in_with_link, sign_in_with_token, taxii_session, taxii_objects,
)

DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"
GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        node.admin = next(node.log[i + 1].strip() for i, line in enumerate(node.log) if "Admin token" in line)
        yield node
    finally:
        node.stop()


def signed_in(demo, user):
    printed = demo.cli("user", "link", user).strip()
    return sign_in_with_link(demo.base + printed[printed.index("/console/link/"):])


def upload(session, base, name, content, fmt=""):
    token = csrf_of(session.get(base + "/console/share").text)
    return session.post(f"{base}/console/share/upload?csrf={token}",
                        data={"collection": DIALOGUE, "tlp": "green", "format": fmt},
                        files={"file": (name, content)})


def counts(html):
    m = re.search(r'id="share-counts" data-stored="(\d+)" data-duplicates="(\d+)" data-refused="(\d+)"', html)
    assert m, html[-2000:]
    return tuple(int(x) for x in m.groups())


def test_uploads_take_what_entente_import_reads(demo):
    s = signed_in(demo, USERS[0])
    csv = ("value,type,comment,tlp\n"
           "csv-c2.example,domain,seen in a phishing run,green\n"
           "hxxp://csv-payload[.]example/x.apk,,defanged,green\n"
           "203.0.113.99,,,green\n"
           "\"not an indicator\",,,green\n")
    r = upload(s, demo.base, "iocs.csv", csv)
    assert r.status_code == 200
    stored, _, refused = counts(r.text)
    assert stored == 3 and refused == 1, r.text[-2000:]
    assert re.search(r"<li[^>]*>line 5: ", r.text), "the bad row is named by its line"
    found = s.get(demo.base + "/console/objects?q=csv-payload").text
    assert "csv-payload.example" in found, "the defanged value was refanged and stored"

    event = {"Event": {"uuid": str(uuid.uuid4()), "info": "MISP upload test event", "date": "2026-12-01",
                       "timestamp": "1764547200", "threat_level_id": "2", "analysis": "1",
                       "Tag": [{"name": "tlp:green"}],
                       "Attribute": [
                           {"uuid": str(uuid.uuid4()), "type": "domain", "category": "Network activity",
                            "value": "misp-c2.example", "to_ids": True, "timestamp": "1764547200"},
                           {"uuid": str(uuid.uuid4()), "type": "ip-dst", "category": "Network activity",
                            "value": "198.51.100.200", "to_ids": True, "timestamp": "1764547200"}]}}
    r = upload(s, demo.base, "event.json", json.dumps(event))
    stored, _, refused = counts(r.text)
    assert stored >= 3 and refused == 0, r.text[-2000:]
    # An unpublished event becomes a grouping, as misp-stix makes it.
    assert "MISP upload test event" in s.get(demo.base + "/console/objects?type=grouping&q=MISP").text
    assert "misp-c2.example" in s.get(demo.base + "/console/objects?type=indicator&q=misp").text
    # The same file again: already there, nothing new (the same ids).
    r = upload(s, demo.base, "event.json", json.dumps(event), fmt="misp")
    assert counts(r.text)[0] == 0
    # A format that does not fit the file says so.
    r = upload(s, demo.base, "event.json", "not json at all", fmt="misp")
    assert r.status_code == 422 and "not MISP JSON events" in r.text
    r = upload(s, demo.base, "x.json", "{}", fmt="yaml")
    assert r.status_code == 422 and "choose STIX 2.1, MISP or CSV" in r.text


def test_a_note_and_a_report_link_objects(demo):
    s = signed_in(demo, USERS[0])
    malware = next(o for o in taxii_objects(demo.base, demo.tokens[USERS[0]])[DIALOGUE] if o["type"] == "malware")
    token = csrf_of(s.get(demo.base + "/console/share").text)
    r = s.post(demo.base + "/console/share/note", data={
        "csrf": token, "collection": DIALOGUE, "tlp": "green", "abstract": "Console note",
        "content": "Seen again this week.", "object_refs": malware["id"]})
    assert r.status_code == 200 and counts(r.text)[0] == 1, r.text[-1500:]
    r = s.post(demo.base + "/console/share/report", data={
        "csrf": token, "collection": DIALOGUE, "tlp": "green", "name": "Console report",
        "description": "A week of NIGHTOWL", "object_refs": malware["id"]})
    assert r.status_code == 200 and counts(r.text)[0] == 1
    # Both reach TAXII readers of the collection, pointing at the malware.
    served = taxii_objects(demo.base, demo.tokens[USERS[2]])[DIALOGUE]
    note = next(o for o in served if o["type"] == "note" and o.get("abstract") == "Console note")
    report = next(o for o in served if o["type"] == "report" and o["name"] == "Console report")
    assert note["object_refs"] == [malware["id"]] and report["object_refs"] == [malware["id"]]
    # A note about nothing is refused with what to do.
    r = s.post(demo.base + "/console/share/note", data={
        "csrf": token, "collection": DIALOGUE, "tlp": "green", "content": "x", "object_refs": ""})
    assert r.status_code == 422 and "list at least one id" in r.text


def test_export_gives_the_chosen_objects_the_user_may_take(demo):
    s = signed_in(demo, USERS[2])
    listing = s.get(demo.base + "/console/objects").text
    picks = re.findall(r'name="pick" value="([^"]+)"', listing)[:5]
    assert picks
    token = csrf_of(listing)
    # One id this user cannot see (the CERT's own collection).
    hidden = "7a1d2c3b-4e5f-4a6b-9c8d-0e1f2a3b4c5d|indicator--00000000-0000-4000-8000-000000000000"
    r = s.post(demo.base + "/console/objects/export", data={"csrf": token, "pick": picks})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/stix+json")
    assert "attachment" in r.headers["content-disposition"]
    bundle = r.json()
    assert bundle["type"] == "bundle"
    assert {o["id"] for o in bundle["objects"]} == {p.split("|", 1)[1] for p in picks}
    r = s.post(demo.base + "/console/objects/export", data={"csrf": token, "pick": picks[:1] + [hidden]})
    assert r.status_code == 404, "a collection the user cannot read is not found"
    r = s.post(demo.base + "/console/objects/export", data={"csrf": token})
    assert r.status_code == 422 and "Tick the objects" in r.text


def test_an_object_page_lists_its_versions(demo):
    t1, t2 = "2026-11-20T00:00:00.000Z", "2026-11-25T00:00:00.000Z"
    oid = f"malware--{uuid.uuid4()}"
    versions = [{"type": "malware", "spec_version": "2.1", "id": oid, "created": t1, "modified": t,
                 "name": "Versioned malware", "is_family": True, "object_marking_refs": [GREEN]} for t in (t1, t2)]
    c = taxii_session(demo.tokens[USERS[0]])
    c.headers["Content-Type"] = "application/taxii+json;version=2.1"
    assert c.post(f"{demo.base}/api1/collections/{DIALOGUE}/objects/", json={"objects": versions}).status_code == 202
    html = signed_in(demo, USERS[1]).get(f"{demo.base}/console/collections/{DIALOGUE}/objects/{oid}").text
    section = html[html.index('id="versions"'):html.index('id="raw"')]
    assert "2026-11-25" in section and "2026-11-20" in section
    assert section.index("2026-11-25") < section.index("2026-11-20"), "newest first"


def test_administration_tokens_once_shown_revoked_and_the_audit_log(demo):
    s = sign_in_with_token(demo.base, demo.admin)
    page = s.get(demo.base + "/console/admin")
    assert page.status_code == 200
    token = csrf_of(page.text)
    def post(path, form):
        r = s.post(demo.base + path, data={"csrf": token, **form})
        assert r.status_code == 200 and 'class="notice error"' not in r.text, (path, r.text[-1500:])
        return r
    r = post("/console/admin/orgs", {"name": "Console Test Org"})
    org = re.search(r'<option value="(\d+)">Console Test Org</option>', r.text).group(1)
    post("/console/admin/users", {"org": org, "name": "tester", "role": "analyst"})
    post("/console/admin/communities", {"name": "console-test-community"})
    post("/console/admin/members", {"community": "console-test-community", "org": "Console Test Org"})
    r = s.post(demo.base + "/console/admin/tokens", data={
        "csrf": token, "user": "Console Test Org/tester", "name": "console-made", "max_tlp": "green", "days": "7"})
    secret = re.search(r'id="new-token-secret">([^<]+)<', r.text).group(1)
    assert "not shown again" in r.text
    assert secret not in s.get(demo.base + "/console/admin").text, "the secret is shown once"
    assert taxii_session(secret).get(demo.base + "/api1/collections/").status_code == 200
    page = s.get(demo.base + "/console/admin").text
    row = re.search(r"<tr><td>console-made.*?</tr>", page, re.S).group(0)
    token_id = re.search(r'name="token" value="([^"]+)"', row).group(1)
    r = s.post(demo.base + "/console/admin/tokens/revoke", data={"csrf": token, "token": token_id})
    assert r.status_code == 200
    assert taxii_session(secret).get(demo.base + "/api1/collections/").status_code == 401
    assert re.search(r"<tr><td>console-made.*?revoked.*?</tr>", s.get(demo.base + "/console/admin").text, re.S)
    audit = s.get(demo.base + "/console/admin").text
    audit = audit[audit.index('id="audit-list"'):]
    for action in ("Console Test Org", "console-test-community"):
        assert action in audit, action
    r = s.post(demo.base + "/console/admin/audit/verify", data={"csrf": token})
    assert r.status_code == 200 and 'class="notice ok"' in r.text, r.text[-1500:]
    # An analyst is not an administrator: the page says so, and its forms refuse.
    a = signed_in(demo, USERS[2])
    r = a.post(demo.base + "/console/admin/orgs", data={"csrf": csrf_of(a.get(demo.base + "/console/objects").text),
                                                       "name": "Sneaky Org"})
    assert r.status_code == 403


def test_recipients_are_only_those_the_user_may_name_and_pseudonyms_are_said(demo):
    # The helpdesk posts pseudonymously in the dialogue: the page says which
    # pseudonym recipients will see, never its name.
    h = signed_in(demo, USERS[1])
    page = h.get(f"{demo.base}/console/share?collection={DIALOGUE}").text
    shown = re.search(r'<p class="notice" id="shown-as">(.*?)</p>', page, re.S).group(1)
    assert re.search(r"Recipients will see: <strong>identity--[0-9a-f-]+</strong>", shown), shown
    assert "pseudonymous member" in shown and "Civic Shield" not in shown
    # The CERT may name the dialogue's members (the helpdesk only by its
    # pseudonym), nobody else.
    c = signed_in(demo, USERS[0])
    page = c.get(f"{demo.base}/console/share?collection={DIALOGUE}").text
    form = page[page.index('action="/console/share/indicator"'):page.index('action="/console/share/note"')]
    offered = set(re.findall(r'name="recipient_org" value="([^"]+)"', form))
    assert "Example Security Vendor" in offered and "Example National CERT" in offered
    assert "Civic Shield Helpdesk" not in offered and any(v.startswith("identity--") for v in offered), offered
    token = csrf_of(page)
    share = {"csrf": token, "collection": DIALOGUE, "tlp": "amber", "name": "for the vendor only",
             "pattern": "[domain-name:value = 'vendor-only.example']"}
    r = c.post(demo.base + "/console/share/indicator", data={**share, "recipient_org": "Example Security Vendor"})
    assert r.status_code == 200 and counts(r.text)[0] == 1, r.text[-1500:]
    seen = lambda user: any(o.get("name") == "for the vendor only"
                            for o in taxii_objects(demo.base, demo.tokens[user])[DIALOGUE])
    assert seen(USERS[2]) and not seen(USERS[1])
    # A recipient the form did not offer is refused, with what to do.
    r = c.post(demo.base + "/console/share/indicator",
               data={**share, "name": "to a stranger", "recipient_org": "Some Other Org"})
    assert r.status_code in (403, 422) and 'class="notice error"' in r.text, r.status_code


def test_an_incidents_notifications_download_as_markdown_and_json(demo):
    s = signed_in(demo, USERS[0])
    token = csrf_of(s.get(demo.base + "/console/incidents/new").text)
    r = s.post(demo.base + "/console/incidents", data={
        "csrf": token, "title": "Grid outage for downloads", "entity.legal_name": "Download Grid GmbH",
        "entity.eu_establishments": "DE", "entity.nis2_class": "essential",
        "aware_at": "2026-11-30T08:00", "significant": "on"})
    notice = re.search(r"<div class=\"notice[^>]*>.*?</div>", r.text, re.S)
    assert r.status_code == 200 and "deadline-timeline" in r.text, (r.status_code, notice and notice.group(0))
    link = re.search(r'href="(/console/incidents/[^"]+/notification\?regime=nis2&amp;stage=[^"]+)"', r.text)
    assert link, "no NIS2 notification to read"
    url = demo.base + link.group(1).replace("&amp;", "&")
    page = s.get(url)
    assert "Download Grid GmbH" in page.text and 'id="notification-text"' in page.text
    md = s.get(url + "&download=md")
    assert md.headers["content-type"].startswith("text/markdown")
    assert re.match(r'attachment; filename="[A-Za-z0-9_-]+-nis2-[A-Za-z0-9_-]+\.md"', md.headers["content-disposition"])
    assert "Download Grid GmbH" in md.text
    js = s.get(url + "&download=json")
    assert js.headers["content-type"].startswith("application/json") and js.json()["regime_name"]
    # A regime the incident does not have is said, with what to do.
    r = s.get(url.replace("regime=nis2", "regime=nope"))
    assert r.status_code in (404, 422) and "Choose one from the incident's page" in r.text
