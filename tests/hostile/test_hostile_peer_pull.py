"""Hostile-input review findings (fixed; these tests pin the fixes).

A hostile peer that this node (B) pulls from.

Each test stands up a fake TAXII 2.1 server (http.server, in a thread),
registers it with `peer add` / `peer pull`, and runs `peer sync NAME --once`
under a deadline. Tests state the behaviour B should have; the docstrings
say what happens with the binary under review.
"""

import json
import subprocess
import time
import uuid
from pathlib import Path

import hostile_support as hs
from hostile_support import (
    BINARY,
    FakePeer,
    Node,
    PeerSetup,
    envelope,
    headers,
    indicator,
    last_line,
    make_tls,
    rss_peak_kib,
)


def test_pull_run_ends_when_peer_repeats_the_same_next(tmp_root):
    """Attack: the peer answers every page with `more: true` and the same
    `next` (and the same object), forever.

    Today `peer sync --once` never returns: B asks for the same page again
    and again (about 20 requests a second on loopback), each one a write
    transaction that counts a "duplicate" and grows the data directory
    (about 1.3 MB in 20 s with a one-object page, without bound). Under
    `serve` the peer's thread never finishes its run, so that peer's other
    jobs (its pushes) never run again and the run's error is never recorded.

    Correct: a `next` that does not change is no progress; the run stops
    with an error (exit 1 or 2) within a bounded number of pages, and the
    error is recorded for `peer status`.
    """
    same = indicator("looping.example")

    def handler(method, path, query, hdrs, body):
        return 200, {"X-TAXII-Date-Added-Last": "2026-01-01T00:00:00.000Z"}, envelope([same], more=True, next="same-cursor")

    peer = FakePeer(handler)
    try:
        setup = PeerSetup(tmp_root, peer.url)
        before = setup.node.disk_bytes()
        result = setup.sync(timeout=30)
        pages = len(peer.requests)
        grown = setup.node.disk_bytes() - before
        assert result is not None, (
            f"peer sync --once was still running after 30 s: {pages} requests for the same page, "
            f"data directory grew by {grown} bytes"
        )
        assert result.returncode in (1, 2), result.stdout + result.stderr
        assert pages <= 100, f"{pages} requests for one repeated page"
    finally:
        peer.stop()


def test_pull_run_ends_when_next_changes_but_nothing_arrives(tmp_root):
    """Attack: every page is empty, says `more: true`, and carries a fresh
    random `next` (and no `X-TAXII-Date-Added-Last`).

    Today `peer sync --once` never returns (hundreds of requests in 20 s,
    cursor never set). A peer can pin B's federation thread for it forever
    at no cost to itself.

    Correct: pages that bring no object and do not move the cursor are no
    progress; after a bounded number of them (or a bounded time per run) the
    run stops with an error and resumes from the stored cursor next time.
    """

    def handler(method, path, query, hdrs, body):
        return 200, {}, envelope([], more=True, next=str(uuid.uuid4()))

    peer = FakePeer(handler)
    try:
        setup = PeerSetup(tmp_root, peer.url)
        result = setup.sync(timeout=30)
        assert result is not None, (
            f"peer sync --once was still running after 30 s ({len(peer.requests)} empty pages)"
        )
        assert result.returncode in (1, 2), result.stdout + result.stderr
    finally:
        peer.stop()


def test_pinned_https_peer_cannot_redirect_the_pull_to_plain_http(tmp_root):
    """Attack (TLS downgrade): the peer is configured with an https URL and
    its CA pinned (`--ca`); its objects endpoint answers `302 Location:
    http://…` (another port, plain HTTP).

    Today B follows the redirect (ureq's default of up to 10 redirects, no
    https-only rule) and stores what the plain-HTTP endpoint serves as the
    peer organisation's objects (`1 stored`, exit 0). The token is not sent
    on the redirected request (held up), but the content is accepted: anyone
    on the path of that plain-HTTP request can inject or alter intelligence
    that B records as coming from the TLS-authenticated peer, which defeats
    both the https URL and the pinned CA. (A redirect on a POST of a push is
    likewise followed as a GET elsewhere and its answer counted as stored,
    see test_push_that_is_redirected_is_not_counted_as_delivered.)

    Correct: never follow a redirect from https to http (better: no
    redirects off the configured origin at all); the run fails and stores
    nothing.
    """
    ca, cert, key = make_tls(tmp_root / "tls")
    injected = indicator("injected-over-plaintext.example")
    plain = FakePeer(lambda *a: (200, {}, envelope([injected])))

    def redirect(method, path, query, hdrs, body):
        return 302, {"Location": f"http://127.0.0.1:{plain.port}{path}?{query}"}, ""

    tls = FakePeer(redirect, tls=(str(cert), str(key)))
    try:
        setup = PeerSetup(tmp_root, tls.url, ca=ca)
        result = setup.sync(timeout=60)
        assert result is not None
        assert not plain.requests, "B followed an https peer's redirect to plain http"
        assert result.returncode in (1, 2), result.stdout
        assert "1 stored" not in result.stdout, result.stdout
    finally:
        tls.stop()
        plain.stop()


def test_pull_never_carries_the_token_across_a_redirect(tmp_root):
    """Pins a property that held: when the peer redirects to another host,
    the `Authorization` header (the peer token) is not sent there (ureq's
    `RedirectAuthHeaders::Never`). A change of HTTP client or of its
    configuration must keep it so."""
    other = FakePeer(lambda *a: (200, {}, envelope([])))

    def redirect(method, path, query, hdrs, body):
        return 302, {"Location": f"http://localhost:{other.port}/elsewhere/"}, ""

    peer = FakePeer(redirect)
    try:
        setup = PeerSetup(tmp_root, peer.url, token="ent_RedirectCanary0123456789")
        setup.sync(timeout=60)
        assert peer.requests and "ent_RedirectCanary" in peer.requests[0]["headers"].get("authorization", "")
        for r in other.requests:
            assert "authorization" not in {k.lower() for k in r["headers"]}, r["headers"]
    finally:
        peer.stop()
        other.stop()


def test_pulled_page_is_bounded_like_an_envelope(tmp_root):
    """Attack: B asks for `limit=5000`; the peer answers one page of about
    60 MiB holding about 150,000 small indicators (the client reads answers
    up to 256 MiB).

    Today B parses and stores the whole page in one go: all 156,116 objects
    are stored (peak 378 MiB RSS), and memory grows with the page at about
    six times its size (measured: a 100 MiB page of 248,478 objects made
    `peer sync` peak at 571 MiB RSS, so a 256 MiB page, the most the client
    reads, costs about 1.4 GiB). A TAXII client posting the same
    objects is refused at 100,000 objects per envelope (422), and B's own
    pages stop at 32 MiB; a peer is held to neither, so one answer can
    exhaust the memory of a small node.

    Correct: a page holding more objects than B asked for (or than an
    envelope may hold, 100,000) is refused or cut, and the page a peer may
    answer is bounded so that B's memory stays bounded (here: under 512 MiB
    peak, at most 100,000 objects stored from that page).
    """
    ind = indicator("bulk.example")
    original = ind["id"]
    template = json.dumps(ind, separators=(",", ":"))
    parts = []
    size = 0
    n = 0
    while size < 60 << 20:
        o = template.replace(original, "indicator--00000000-0000-4000-8000-%012x" % n)
        parts.append(o)
        size += len(o) + 1
        n += 1
    body = ('{"more":false,"objects":[' + ",".join(parts) + "]}").encode()
    del parts
    peer = FakePeer(lambda *a: (200, {}, body))
    try:
        setup = PeerSetup(tmp_root, peer.url)
        p = subprocess.Popen(
            [str(BINARY), "--data", str(setup.node.dir), "peer", "sync", setup.name, "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=hs.env(),
        )
        peak = 0
        deadline = time.monotonic() + 240
        try:
            while p.poll() is None and time.monotonic() < deadline:
                try:
                    peak = max(peak, rss_peak_kib(p.pid))
                except OSError:
                    pass
                time.sleep(0.2)
        finally:
            if p.poll() is None:
                p.kill()
            out, err = p.communicate()
        stored = 0
        for word in out.split(","):
            if word.strip().endswith("stored"):
                stored = int(word.split(":")[-1].split()[0])
        assert stored <= 100_000, f"{stored} objects of a {len(body) >> 20} MiB page ({n} objects) stored; peak {peak >> 10} MiB"
        assert peak < 512 << 10, f"peak RSS {peak >> 10} MiB for a {len(body) >> 20} MiB page"
    finally:
        peer.stop()


def test_peer_cannot_version_local_object_nor_claim_local_creator(tmp_root):
    """Pins properties that held. B pulls into a community collection where
    a local organisation (Local CERT) already posted an indicator. The peer
    sends (1) a new version of that indicator with a different pattern,
    (2) an object whose `created_by_ref` is Local CERT's identity, (3) a
    TLP:RED object without named recipients. All three are refused; a
    local reader still sees only the original version."""
    n = Node(tmp_root, "local")
    try:
        local_identity = last_line(n.cli("org", "create", "Local CERT"))
        n.cli("org", "create", "Peer Org")
        n.cli("community", "create", "Dialogue")
        n.cli("community", "add", "Dialogue", "Local CERT")
        n.cli("community", "add", "Dialogue", "Peer Org")
        n.cli("user", "create", "--org", "Local CERT", "--role", "analyst", "ana")
        coll = n.collection("shared", "--community", "Dialogue", "--default-tlp", "green")
        ana = last_line(n.cli("token", "create", "--user", "Local CERT/ana"))
        mine = indicator("local-original.example")
        n.cli("import", "--as", "Local CERT/ana", "--collection", coll, "-", input=json.dumps([mine]))
        hijack = dict(mine, modified="2026-06-01T00:00:00.000Z", name="HIJACKED",
                      pattern="[domain-name:value = 'benign.example']")
        forged = indicator("forged.example", created_by_ref=local_identity)
        red = indicator("red.example", object_marking_refs=["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"])
        peer = FakePeer(lambda *a: (200, {}, envelope([hijack, forged, red])))
        try:
            token = Path(tmp_root) / "peer.token"
            token.write_text("peer-secret\n")
            n.cli("peer", "add", "hostile", "--url", peer.url, "--token-file", str(token), "--org", "Peer Org")
            n.cli("peer", "pull", "hostile", "--remote-collection", "r", "--into", coll)
            r = n.cli("peer", "sync", "hostile", "--once", check=False)
            assert "0 stored" in r.stdout and "3 refused" in r.stdout, r.stdout + r.stderr
        finally:
            peer.stop()
        n.start()
        got = hs.requests.get(n.objects_url(coll) + "?match[version]=all", headers=headers(ana, False)).json()
        indicators = [o for o in got.get("objects", []) if o["type"] == "indicator"]
        assert [(o["id"], o["modified"], o["name"]) for o in indicators] == [(mine["id"], mine["modified"], mine["name"])]
    finally:
        n.stop()
