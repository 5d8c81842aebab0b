"""A foreign TAXII 2.1 server as a peer: an Entente node pulls a
collection of medallion (the OASIS reference server, from PyPI) with
`entente peer add/pull/sync`, pages included, and stores each object once."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from taxii2client.v21 import Collection

from interop_support import BINARY

TAXII = "application/taxii+json;version=2.1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def medallion():
    work = Path(tempfile.mkdtemp(prefix="medallion-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    collection = str(uuid.uuid4())
    data = {
        "/discovery": {"title": "medallion", "default": base + "/api1/", "api_roots": [base + "/api1/"]},
        "api1": {
            "information": {"title": "api1", "versions": [TAXII], "max_content_length": 10 * 1024 * 1024},
            "status": [],
            "collections": [{
                "id": collection, "title": "feed", "can_read": True, "can_write": True,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": [],
            }],
        },
    }
    (work / "data.json").write_text(json.dumps(data))
    (work / "config.json").write_text(json.dumps({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(work / "data.json")},
        "users": {"feed": "feed-password"},
        # Small pages, so the pull follows `next` across several of them.
        "taxii": {"max_page_size": 7},
    }))
    exe = Path(sys.executable).parent / "medallion"
    proc = subprocess.Popen([str(exe), "--port", str(port), "--log-level", "ERROR", str(work / "config.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    try:
        yield base + "/api1/", collection
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def cli(data, *args):
    env = dict(os.environ)
    env.pop("ENTENTE_DATA", None)
    p = subprocess.run([str(BINARY), "--data", str(data), *args], capture_output=True, text=True, env=env)
    assert p.returncode == 0, f"entente {' '.join(args)}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_a_pull_from_medallion_stores_every_object_once(medallion, tmp_path):
    api_root, collection = medallion
    feed = Collection(f"{api_root}collections/{collection}/", user="feed", password="feed-password")
    objects = [{
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{n:08x}-0000-4000-8000-0000000ed011",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": f"feed {n}", "pattern": f"[ipv4-addr:value = '198.51.100.{n}']",
        "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
    } for n in range(30)]
    assert feed.add_objects({"objects": objects}).success_count == 30

    data = tmp_path / "node"
    cli(data, "init")
    cli(data, "org", "create", "Vendor feed")
    local = cli(data, "collection", "create", "--title", "Vendor feed", "--org", "Vendor feed",
                "--default-tlp", "green").split()[-1]
    credentials = tmp_path / "feed.credentials"
    credentials.write_text("feed:feed-password\n")
    cli(data, "peer", "add", "vendor", "--url", api_root, "--token-file", str(credentials),
        "--org", "Vendor feed")
    cli(data, "peer", "pull", "vendor", "--remote-collection", collection, "--into", local)
    out = cli(data, "peer", "sync", "vendor", "--once")
    assert "30 stored" in out, out
    # Again: nothing new, nothing twice.
    out = cli(data, "peer", "sync", "vendor", "--once")
    assert "0 stored" in out, out
    bundle = json.loads(cli(data, "export", "--collection", local, "--versions", "all"))
    got = sorted(o["id"] for o in bundle["objects"] if o["type"] == "indicator")
    assert got == sorted(o["id"] for o in objects)
    status = cli(data, "peer", "status", "vendor")
    assert "30 unsigned" in status, status
    # The credential is kept 0600 and never printed.
    kept = data / "peers" / "vendor.token"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert "feed-password" not in status
