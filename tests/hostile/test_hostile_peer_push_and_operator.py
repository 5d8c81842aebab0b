"""Hostile-input review findings (fixed; these tests pin the fixes).

A hostile peer that B pushes to, what a peer's answers can do to the
operator's terminal and logs, the token file given to `peer add`, and
hostile TAXII clients against the provenance endpoint.
"""

import json
import re
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
    run_limited,
    status_resource,
)

# OSC (set the terminal title), clear screen, red, then a forged line.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\r\n  job 9 push remote r: 0 refused"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def _push_setup(root, url):
    setup = PeerSetup(root, url, pull=False)
    setup.node.cli("import", "--collection", setup.collection, "-", input=json.dumps([indicator("pushed.example")]))
    setup.node.cli("peer", "push", setup.name, "--from", setup.collection, "--remote-collection", "r")
    return setup


def test_peer_answers_cannot_write_control_characters_to_the_operator_terminal(tmp_root):
    """Attack: B pushes to the peer; the peer's status resource reports a
    failure whose `id`, `version` and `message` carry terminal control
    sequences (OSC title, clear screen, colour, CR LF and a forged status
    line).

    Today `peer status` prints them raw (the `refused by the peer:` lines),
    so a peer writes escape sequences into the operator's terminal and can
    forge lines of the report (e.g. a fake "0 refused" job). The same holds
    for a status resource `id` that never completes: it reaches `peer sync`
    output and the stored `last error` verbatim. (Error texts built from a
    peer's answer body are already stripped of control characters by
    `short()`: the status-resource fields bypass it.)

    Correct: everything a peer wrote is shown with control characters
    removed or escaped, as `short()` does for answer bodies.
    """

    def handler(method, path, query, hdrs, body):
        if method == "POST":
            sent = json.loads(body)["objects"][0]
            return 202, {}, status_resource(
                failures=[{"id": sent["id"] + ESCAPES, "version": "v" + ESCAPES, "message": "no" + ESCAPES}]
            )
        return 200, {}, envelope([])

    peer = FakePeer(handler)
    try:
        setup = _push_setup(tmp_root, peer.url)
        sync = setup.sync(timeout=60)
        assert sync is not None
        status = setup.node.cli("peer", "status")
        for text in (sync.stdout, sync.stderr, status.stdout, status.stderr):
            assert not CONTROL.search(text), repr(text)
        # The peer's words stay inside the refusal line they belong to: no
        # forged report line of their own.
        assert not any(l.lstrip().startswith("job 9") for l in status.stdout.splitlines()), status.stdout
    finally:
        peer.stop()


def test_push_that_is_redirected_is_not_counted_as_delivered(tmp_root):
    """Attack: the peer answers the push's POST with `302 Location:` another
    host, which answers a GET with a status resource claiming success.

    Today B turns the POST into a GET of the other host (nothing is posted
    anywhere: the objects are not delivered), reads that answer as the
    push's status, reports `1 stored`, exit 0, and moves the push cursor
    past the object, so it is never sent again. (307/308 are not followed
    for the POST: held up; the body never reached the other host.)

    Correct: a redirect answering a POST of objects is a failure of the
    run; the cursor stays, and nothing is counted as stored.
    """
    other = FakePeer(lambda *a: (202, {}, status_resource(success=1)))
    peer = FakePeer(lambda m, p, q, h, b: (302, {"Location": f"http://localhost:{other.port}/elsewhere/"}, ""))
    try:
        setup = _push_setup(tmp_root, peer.url)
        result = setup.sync(timeout=60)
        assert result is not None
        assert all(r["method"] != "POST" for r in other.requests)
        assert "1 stored" not in result.stdout, result.stdout
        assert result.returncode in (1, 2), result.stdout
        status = setup.node.cli("peer", "status").stdout
        assert "cursor -" in status, status
    finally:
        peer.stop()
        other.stop()


def test_peer_token_is_not_logged_even_with_trace_logging(tmp_root):
    """Attack surface: the operator turns logging up (`RUST_LOG=trace`, a
    common step when a peer misbehaves) and ships the logs.

    Today the HTTP client (ureq / ureq_proto) logs a hex dump of every
    request at TRACE, headers included: `authorization: Bearer <token>` is
    in the log, split 16 bytes a line (the ASCII column, joined, holds the
    whole token). Its DEBUG lines and the answer bodies (TLP:AMBER content
    of pushes too) are logged the same way. The README promises the token
    is "never logged", whatever the log level.

    Correct: the token appears in no log line at any level (e.g. the client
    crates' targets capped below TRACE, or their dumps filtered).
    """
    token = "ent_TraceCanaryToken0123456789abcd"
    peer = FakePeer(lambda *a: (200, {}, envelope([])))
    try:
        setup = PeerSetup(tmp_root, peer.url, token=token)
        env = hs.env()
        env["RUST_LOG"] = "trace"
        p = subprocess.run(
            [str(BINARY), "--data", str(setup.node.dir), "peer", "sync", setup.name, "--once"],
            capture_output=True, text=True, env=env, timeout=120,
        )
        logged = p.stdout + p.stderr
        plain = re.sub(r"\x1b\[[0-9;]*m", "", logged)
        dumped = "".join(line[-16:] for line in plain.splitlines() if "ureq_proto::util" in line)
        assert token not in logged
        assert token not in dumped, "the token is in the TRACE hex dump of the request (ASCII column)"
    finally:
        peer.stop()


def test_peer_add_refuses_a_token_file_that_never_ends(tmp_root):
    """Attack: `peer add --token-file /dev/zero` (or a FIFO, or any
    character device): the 4 KiB bound is checked on `metadata().len()`,
    which is 0 for devices and pipes.

    Today B reads /dev/zero until memory runs out (under a 1 GB address-
    space limit: `error: /dev/zero: out of memory` after allocating it all;
    without a limit it eats the machine's memory), and a FIFO with no
    writer blocks `peer add` forever.

    Correct: the token file is read with a bound on the bytes read (or
    refused when it is not a regular file), and refused promptly.
    """
    node = Node(tmp_root, "local")
    node.cli("org", "create", "Peer Org")
    args = ["--data", node.dir, "peer", "add", "p", "--url", "http://127.0.0.1:9/api1/",
            "--token-file", "/dev/zero", "--org", "Peer Org"]
    started = time.monotonic()
    result = run_limited(args, timeout=30, memory_bytes=768 << 20)
    assert result is not None, "peer add was still reading /dev/zero after 30 s"
    assert result.returncode != 0
    assert "out of memory" not in result.stderr, result.stderr
    assert time.monotonic() - started < 10, f"took {time.monotonic() - started:.1f} s"


def test_peer_add_refuses_plain_http_to_a_remote_host(tmp_root):
    """Attack surface: `peer add NAME --url http://<remote host>/api1/
    --token-file F`.

    Today it is accepted without a word: every pull and push then sends the
    peer token in clear text (`Authorization: Bearer …`, or HTTP Basic with
    a password for medallion) and carries TLP-gated content unencrypted and
    unauthenticated across the network. The server side refuses plain HTTP
    off loopback unless `allow_plain_http = true`; the client side has no
    such rule.

    Correct: refuse an http:// peer URL to a host other than loopback unless
    the operator opts in explicitly (as `allow_plain_http` does for the
    server).
    """
    node = Node(tmp_root, "local")
    node.cli("org", "create", "Peer Org")
    token = Path(tmp_root) / "peer.token"
    token.write_text("peer-secret\n")
    result = node.cli("peer", "add", "remote", "--url", "http://192.0.2.10/api1/", "--token-file", str(token),
                      "--org", "Peer Org", check=False)
    assert result.returncode != 0, result.stdout


def test_provenance_endpoint_reads_hidden_like_absent(tmp_root):
    """Pins properties that held, probing
    `GET /entente/v1/collections/{c}/objects/{id}/provenance/` as a member
    of another organisation of the same community: an AMBER object whose
    recipients name only the poster's organisation, and the recipients
    marking definition itself, answer exactly like an absent id (404, same
    headers, same text but for the id); a collection of another
    organisation answers exactly like a collection that does not exist,
    whatever object id is asked."""
    n = Node(tmp_root, "local")
    try:
        n.cli("org", "create", "Local CERT")
        n.cli("org", "create", "Other Org")
        n.cli("community", "create", "Dialogue")
        n.cli("community", "add", "Dialogue", "Local CERT")
        n.cli("community", "add", "Dialogue", "Other Org")
        n.cli("user", "create", "--org", "Local CERT", "--role", "analyst", "ana")
        n.cli("user", "create", "--org", "Other Org", "--role", "analyst", "bob")
        shared = n.collection("shared", "--community", "Dialogue", "--default-tlp", "green")
        private = n.collection("private", "--org", "Local CERT")
        ana = last_line(n.cli("token", "create", "--user", "Local CERT/ana"))
        bob = last_line(n.cli("token", "create", "--user", "Other Org/bob"))
        recipients = {
            "type": "marking-definition", "spec_version": "2.1", "id": f"marking-definition--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z", "name": "Recipients",
            "extensions": {"extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3": {
                "extension_type": "property-extension", "organizations": ["Local CERT"]}},
        }
        hidden = indicator("amber.example", object_marking_refs=[
            "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", recipients["id"]])
        priv = indicator("private.example")
        n.start()
        r = hs.requests.post(n.objects_url(shared), headers=headers(ana), data=json.dumps({"objects": [recipients, hidden]}))
        assert r.json()["success_count"] == 2, r.text
        r = hs.requests.post(n.objects_url(private), headers=headers(ana), data=json.dumps({"objects": [priv]}))
        assert r.json()["success_count"] == 1, r.text

        def probe(token, collection, object_id):
            r = hs.requests.get(f"{n.base}/entente/v1/collections/{collection}/objects/{object_id}/provenance/",
                                headers={"Authorization": f"Bearer {token}"})
            h = {k.lower(): v for k, v in r.headers.items() if k.lower() not in ("date", "content-length")}
            return r.status_code, h, r.text.replace(object_id, "ID").replace(collection, "C")

        assert probe(ana, shared, hidden["id"])[0] == 200
        absent = probe(bob, shared, f"indicator--{uuid.uuid4()}")
        assert absent[0] == 404
        assert probe(bob, shared, hidden["id"]) == absent
        absent_marking = probe(bob, shared, f"marking-definition--{uuid.uuid4()}")
        assert probe(bob, shared, recipients["id"]) == absent_marking
        nowhere = probe(bob, str(uuid.uuid4()), priv["id"])
        assert nowhere[0] == 404
        assert probe(bob, private, priv["id"]) == nowhere
        assert probe(bob, private, f"indicator--{uuid.uuid4()}") == nowhere
    finally:
        n.stop()
