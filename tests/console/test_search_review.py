"""Hostile review of console search with the full-text index in its own file
(entente.db.search, filled by a thread of its own), through HTTP and the CLI.

Findings are pinned with xfail(strict=True); the other tests are attacks
that held.
"""

import json
import re
import tempfile
import uuid

import pytest

from console_support import USERS, DemoNode, Elements, sign_in_with_link

DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"
CERT, HELPDESK, VENDOR = USERS
NOW = "2026-12-02T00:00:00.000Z"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def sessions(demo):
    return {u: sign_in_with_link(demo.links[u]) for u in USERS}


def malware(name, description="", red=False):
    o = {"type": "malware", "spec_version": "2.1", "id": f"malware--{uuid.uuid4()}",
         "created": NOW, "modified": NOW, "name": name, "is_family": True}
    if description:
        o["description"] = description
    if red:
        o["object_marking_refs"] = [RED]
    return o


def cli_import(demo, objects, *extra):
    """Imports by the CLI while `serve` runs on the same data directory."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}, f)
    demo.cli("import", "--quiet", "--collection", DIALOGUE, *extra, f.name)


def red_import(demo, objects):
    """TLP:RED objects for the CERT analyst only."""
    cli_import(demo, objects, "--recipient-user", CERT)


def search(session, base, q):
    r = session.get(base + "/console/objects", params={"q": q})
    assert r.status_code in (200, 400), (q[:40], r.status_code)
    html = r.text
    ids = [a["data-id"] for a in Elements(html).with_attr("data-id", "tr") if "data-type" in a]
    m = re.search(r'href="/console/objects\?[^"]*before=(\d+)[^"]*" rel="next"', html)
    return ids, (m.group(1) if m else None), html


WORD = "kestrelimportword"


@pytest.fixture(scope="module")
def planted(demo):
    green = malware(f"{WORD} green")
    cli_import(demo, [green])
    secret = malware(f"{WORD} redsourcename", "informant in the ministry", red=True)
    red_import(demo, [secret])
    return green, secret


def test_a_cli_import_while_serving_is_found_at_once_and_red_stays_hidden(demo, sessions, planted):
    """HELD: objects imported by another process (the CLI) on the serving
    node's data directory are searchable at once by those who may read
    them, and a TLP:RED one is found by its recipient only."""
    green, secret = planted
    cert_ids, _, _ = search(sessions[CERT], demo.base, WORD)
    assert set(cert_ids) == {green["id"], secret["id"]}
    for viewer in (HELPDESK, VENDOR):
        ids, cursor, _ = search(sessions[viewer], demo.base, WORD)
        assert ids == [green["id"]], viewer
        assert cursor is None
        for q in ("redsourcename", "informant", "ministry", "redsource"):
            ids, cursor, html = search(sessions[viewer], demo.base, q)
            assert ids == [] and cursor is None, (viewer, q)
            assert secret["id"] not in html and "informant in the ministry" not in html


HOSTILE = [
    "c1", "c2", "c3", "coll:c1", "coll : c2", '"" OR coll : c1',
    'x") OR coll : (c1 OR c2 OR c3) OR ("x', "{coll} : c1", "- coll : c1",
    "NEAR(redsourcename informant, 5)", "^redsourcename", "redsource*", "r*",
    "redsourcename OR kestrelimportword", "(redsourcename)", '"redsourcename"',
    "\uff32\uff25\uff24\uff33\uff2f\uff35\uff32\uff23\uff25\uff2e\uff21\uff2d\uff25",
    "r\u00e9dsourcename", "red\u200bsourcename", "*", '"', ")", "x" * 20000,
    " ".join(f"w{i}" for i in range(400)),
]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_search_text_finds_nothing_hidden_and_never_fails(demo, sessions, planted, q):
    """HELD: FTS5 syntax, the `coll` column's tokens, unicode look-alikes and
    very long input neither reach the RED object nor break the page."""
    _, secret = planted
    ids, _, html = search(sessions[VENDOR], demo.base, q)
    assert secret["id"] not in ids
    assert secret["id"] not in html
    assert "informant in the ministry" not in html


@pytest.mark.xfail(strict=True, reason="FINDING (medium): a search's 'Older objects' link reveals "
                   "that objects the reader may not see match its words, and when they were added")
def test_the_older_link_of_a_search_does_not_reveal_hidden_matches(demo, sessions):
    """FINDING (medium; present before the index moved, kept by it).

    When the matches of a search in the reader's collections fill the
    examination budget (1,000 rows, twice: node::console LIST_EXAMINED) with
    fewer visible ones than a page, the page ends with an 'Older objects'
    link whose `before=` is the date_added (microseconds) of a match the
    reader may not see. A member that pads the budget with objects it
    cannot see through a GREEN-capped token of its own, or that searches a
    word many hidden reports share, gets a yes/no answer to "does a hidden
    object mention <word>" (a hidden source's name), and its time.

    Reproduction: as the operator, import 2,100 TLP:RED malware for the CERT
    analyst into the dialogue collection, named with a shared word; the
    vendor (reads GREEN there) searches the word: no rows, yet an 'Older
    objects' link; a word no hidden object has gives no link.

    Suggested fix: for text queries, resume only at a visible row (no link
    when every examined match was withheld); better, narrow by audience and
    ceiling inside the index (audience tokens beside `coll`) so hidden
    matches are never examined.
    """
    word = "osprey" + uuid.uuid4().hex[:8]
    red_import(demo, [malware(f"{word} n{i}", red=True) for i in range(2100)])
    cert_ids, _, _ = search(sessions[CERT], demo.base, word)
    assert cert_ids, "the recipient finds them"
    ids, cursor, _ = search(sessions[VENDOR], demo.base, word)
    assert ids == []
    _, baseline, _ = search(sessions[VENDOR], demo.base, "nohiddenobjecthasthisword")
    assert baseline is None
    assert cursor is None, f"'Older objects' link at a hidden match: before={cursor}"


def taxii_post(demo, user, objects):
    import requests
    r = requests.post(f"{demo.base}/api1/collections/{DIALOGUE}/objects/",
                      headers={"Authorization": f"Bearer {demo.tokens[user]}",
                               "Accept": "application/taxii+json;version=2.1",
                               "Content-Type": "application/taxii+json;version=2.1"},
                      json={"objects": objects})
    assert r.status_code == 202, r.text
    return r.json()


def test_search_by_a_pseudonymous_members_real_identity(demo, sessions):
    """FINDING (high; the index reads the stored bytes, before the read-time
    pseudonym masks).

    The helpdesk is a pseudonymous member of the dialogue. An object it
    posts there naming its own identity id in its text (a description, a
    name, a pattern: tooling often writes "reported by identity--...") is
    served to the other members with the pseudonym id in its place
    (sharing::pseudonym::substitute), but `store::search_text` indexes the
    stored bytes, with the real id. The vendor searches the helpdesk's real
    identity id (known from any community where the helpdesk is named, or
    `org list` on a shared node) and gets the object, shown under the
    pseudonym: that pseudonym is the helpdesk, and so is everything else it
    posted under it.

    Reproduction: below (TAXII POST as the helpdesk into the dialogue, then
    the vendor's console search for the real id).

    Fixed (3 Dec): the index holds no STIX identifiers (`store::search_text`
    takes them out of the name, description and pattern), so neither the
    real id nor the pseudonym's finds anything by id.

    Suggested fix (the review's): index what readers are served: apply the collection's
    pseudonym masks (real identity id -> pseudonym id) to the name,
    description and pattern before indexing (the node knows the masks per
    collection; the poster's own org and node admins then search by the
    pseudonym id), or keep the search text of such rows in masked form
    beside `raw`; and filter search hits whose unmasked text alone matched.
    """
    real = next(line.split()[-1] for line in demo.cli("org", "list").splitlines()
                if line.startswith("Civic Shield Helpdesk"))
    marker = "heron" + uuid.uuid4().hex[:8]
    o = malware(f"{marker} sample", f"Seen by {real} at a client site")
    status = taxii_post(demo, HELPDESK, [o])
    if status.get("success_count") != 1:
        pytest.skip(f"the node refused the post: {status}")
    ids, _, html = search(sessions[VENDOR], demo.base, marker)
    assert ids == [o["id"]], "the vendor reads the dialogue's GREEN objects"
    assert real not in html, "the page shows the pseudonym, not the real id"
    found, _, _ = search(sessions[VENDOR], demo.base, real)
    assert o["id"] not in found, (
        "searching the real identity id finds the pseudonymous member's object: the pseudonym is unmasked")


def restart_serve(demo):
    """kill -9 the serving process, then serve the same data directory again
    (not --demo: the demo exists); returns the new base address."""
    import os
    import subprocess
    import threading
    import time
    from console_support import BINARY, LISTENING
    demo.process.kill()
    demo.process.wait()
    env = dict(os.environ)
    env.pop("ENTENTE_DATA", None)
    env.setdefault("RUST_LOG", "warn")
    demo.process = subprocess.Popen(
        [str(BINARY), "--data", str(demo.dir), "serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = demo.process.stderr.readline()
        if not line:
            break
        demo.log.append(line)
        m = LISTENING.search(line)
        if m:
            demo.base = m.group(1)
            threading.Thread(target=demo._drain, daemon=True).start()
            return demo.base
    raise AssertionError("serve did not start again:\n" + "".join(demo.log[-20:]))


def test_kill_9_during_a_big_import_and_its_indexing_then_restart_answers_exactly():
    """HELD: a 20,000-object CLI import while serving, a TAXII delete, kill -9
    of the server while its index thread is still taking the import in, a
    restart: searches find the first, a middle and the last imported object,
    not the deleted one, and say nothing is missing once caught up."""
    import requests
    from console_support import TAXII, sign_in_with_token
    node = DemoNode()
    try:
        tag = uuid.uuid4().hex[:6]
        objects = [malware(f"bulk{tag}n{i} heap{tag}") for i in range(20000)]
        cli_import(node, objects, "--as", CERT)
        gone = objects[123]
        h = {"Authorization": f"Bearer {node.tokens[CERT]}", "Accept": TAXII}
        r = requests.delete(f"{node.base}/api1/collections/{DIALOGUE}/objects/{gone['id']}/", headers=h)
        assert r.status_code == 200, r.text
        restart_serve(node)
        s = sign_in_with_token(node.base, node.tokens[CERT])
        for i in (0, 9999, 19999):
            for _ in range(30):
                ids, _, html = search(s, node.base, f"bulk{tag}n{i}")
                if 'id="search-incomplete"' not in html:
                    break
                import time
                time.sleep(1)
            assert objects[i]["id"] in ids, i
        ids, _, _ = search(s, node.base, f"bulk{tag}n123")
        assert gone["id"] not in ids
        assert ids, "the last word is also a prefix (n1230..n1239, n12300..)"
    finally:
        node.stop()
