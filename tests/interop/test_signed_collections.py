"""Signed collections read by third-party clients: the node's manifests are
ordinary STIX (valid for stix2-validator), taxii2-client pages through them,
the stix2 library's TAXII source parses them, and `entente verify` proves
every object of an export against the node's key."""

import json
import subprocess

from stix2 import Filter
from stix2.datastore.taxii import TAXIICollectionSource
from taxii2client.v21 import Collection, as_pages

from interop_support import BINARY, assert_valid_stix

MANIFEST = "x-entente-manifest"


def indicator(n):
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{n:08x}-0000-4000-8000-00000000519e",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": f"signed {n}", "pattern": f"[domain-name:value = 'signed{n}.example']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    }


def test_manifests_travel_with_the_objects_and_verify(node, tmp_path):
    cid = node.collection("Signed", signed=True)
    token = node.token("signed-rw", read=[cid], write=[cid])
    col = Collection(node.collection_url(cid), user="x", password=token)
    objects = [indicator(n) for n in range(25)]
    status = col.add_objects({"objects": objects})
    assert status.success_count == 25
    # The node signs within moments of storing.
    import time
    deadline = time.monotonic() + 15
    seen = []
    while time.monotonic() < deadline:
        seen = [o for page in as_pages(col.get_objects, per_request=7) for o in page.get("objects", [])]
        if any(o["type"] == MANIFEST for o in seen):
            break
        time.sleep(0.3)
    manifests = [o for o in seen if o["type"] == MANIFEST]
    assert manifests, "no signed manifest was published"
    assert_valid_stix(manifests)
    listed = {e["object_ref"] for m in manifests for e in m["entries"]}
    assert {o["id"] for o in objects} <= listed
    # The stix2 library's TAXII source reads the collection, manifests included.
    src = TAXIICollectionSource(col)
    got = src.query([Filter("type", "=", "indicator")])
    assert {o["id"] for o in got} == {o["id"] for o in objects}
    # Offline: the export verifies against the node's key, and not against another.
    key = subprocess.run([str(BINARY), "--data", str(node.dir), "node", "keys"],
                         capture_output=True, text=True, check=True).stdout.split()[0]
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-00000000519e",
                                  "objects": seen}))
    ok = subprocess.run([str(BINARY), "verify", str(export), "--key", key],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("verified  indicator--") == 25
    tampered = [dict(o, name="changed") if o.get("name") == "signed 3" else o for o in seen]
    export.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-00000000519f",
                                  "objects": tampered}))
    bad = subprocess.run([str(BINARY), "verify", str(export), "--key", key],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert any(line.startswith("INVALID") and "00000003-0000" in line for line in bad.stdout.splitlines())
