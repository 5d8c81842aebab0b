"""FINDING (HIGH, a relay downgrades TLP:AMBER and the object stays
`verified`): node A serves an object without a TLP marking of its own,
held at its collection's default AMBER, to a peer with TLP:AMBER appended to
object_marking_refs; A's manifest hashes the object *as posted* (bare) and
is marked AMBER. provenance::verify accepts both forms: the explicit one
(last marking = the manifest's TLP) and the bare one (digest matches
directly). So any relay between A and B (a TAXII proxy, medallion, a
compromised load balancer) can remove the appended AMBER: B verifies the
object against A's pinned key, stores it bare, and handles it at B's OWN
collection default (GREEN here): every GREEN reader of B's collection reads
A's AMBER content, recorded as `verified` from A. This reopens the fixed
finding test_default_tlp_amber_is_lost_on_federation.py through the relay.

Reproduce: as in that test, but B pulls through a loopback HTTP proxy that
drops the last object_marking_refs entry of that indicator.

Fixed (3 Dec, evening): a verified object that carries no TLP of its own
gets the TLP of the pinned manifest that lists it (the manifest's marking
is signed) made explicit before it is stored, as its origin serves it
(`Node::with_handled_tlp`, for pulls).
"""
import http.server
import json
import threading
import time

import requests

from manifest_review_support import (TLP, add_pull, backup, hub, indicator, node_key, sync,
                                     token_file)


class _StripProxy:
    def __init__(self, upstream, strip_ids):
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _forward(self, method):
                body = None
                if method == "POST":
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() in ("authorization", "accept", "content-type")}
                r = requests.request(method, upstream + self.path, headers=hdrs, data=body)
                data = r.content
                try:
                    doc = json.loads(data)
                    for o in doc.get("objects", []) if isinstance(doc, dict) else []:
                        if o.get("id") in strip_ids and o.get("object_marking_refs"):
                            o["object_marking_refs"].pop()
                            if not o["object_marking_refs"]:
                                del o["object_marking_refs"]
                    data = json.dumps(doc).encode()
                except ValueError:
                    pass
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                         "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._forward("GET")

            def do_POST(self):
                self._forward("POST")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api1/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_a_relay_cannot_drop_the_explicit_tlp_and_keep_the_object_verified(work):
    a = hub(work, "a", peer_orgs=["Node B"], locals_=["CERT"], default_tlp="amber", signed=True)
    b = hub(work, "b", peer_orgs=["Node A"], default_tlp="green", signed=True)
    a.user("CERT", "ana")
    unmarked = indicator(name="AMBER by A's collection default")
    del unmarked["object_marking_refs"]
    assert a.post_status(a.user_token("CERT/ana"), a.collection_id, [unmarked])["success_count"] == 1
    time.sleep(1.5)  # A's signer

    proxy = _StripProxy(a.base, {unmarked["id"]})
    try:
        tf = token_file(a, "Node B", "sync", b, "--max-tlp", "amber")
        b.cli("peer", "add", "a", "--url", proxy.url, "--token-file", tf, "--org", "Node A",
              "--key", node_key(a))
        b.cli("peer", "pull", "a", "--remote-collection", a.collection_id, "--into", b.collection_id)
        assert sync(b, "a").returncode in (0, 1)
    finally:
        proxy.close()
    at_b = {o["id"]: o for o in backup(b, b.collection_id)}
    assert unmarked["id"] in at_b, "B pulled it through the relay"
    # The relay dropped the AMBER marking; B, seeing an object A's pinned
    # manifest lists as posted, makes explicit again the TLP that manifest
    # carries (signed): the form A serves to its peers.
    assert at_b[unmarked["id"]].get("object_marking_refs") == [TLP["amber"]], at_b[unmarked["id"]]
    r = requests.get(f"{b.base}/entente/v1/collections/{b.collection_id}/objects/{unmarked['id']}/provenance/",
                     headers={"Authorization": f"Bearer {b.admin}"})
    assert r.status_code == 200, r.text
    verified = "verified" in r.text and "invalid" not in r.text
    service = b.last_line("token", "create", "--name", "green-reader", "--read", b.collection_id)
    green_reads = unmarked["id"] in {o["id"] for o in b.get_objects(service, b.collection_id)}
    assert not (verified and green_reads), (
        f"B's GREEN readers read A's AMBER object, provenance verified from A: {r.text}")
