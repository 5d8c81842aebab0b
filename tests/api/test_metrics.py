"""The node's metrics, read by the Prometheus client library's own parser.

A real node (`entente init`, a collection and a token made with the CLI,
`entente serve` on loopback with ENTENTE_METRICS_LISTEN, as in
tests/interop) takes a few writes and reads; its metrics listener's answer
is then parsed by `prometheus_client.parser` (the Prometheus text format
0.0.4), which refuses malformed lines, and checked the way a Prometheus
server would use it: every family typed as declared (a misnamed counter or
a sample outside its family reads as `unknown`), names and labels valid,
histogram buckets cumulative with `+Inf` equal to `_count`.
"""

import json
import math
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from interop_support import BINARY, TAXII, Node, Server  # noqa: E402

METRICS_AT = re.compile(r"Metrics at (http://\S+/metrics)")
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
OBJECTS = "/{root}/collections/{collection}/objects/"

# Every family and its type (the parser names a counter without `_total`).
FAMILIES = {
    "entente_build_info": "gauge",
    "process_start_time_seconds": "gauge",
    "entente_http_requests": "counter",
    "entente_http_request_duration_seconds": "histogram",
    "entente_http_connections_open": "gauge",
    "entente_http_connections_max": "gauge",
    "entente_objects_ingested": "counter",
    "entente_objects_rejected": "counter",
    "entente_store_operation_duration_seconds": "histogram",
    "entente_store_connections": "gauge",
    "entente_store_connection_waiters": "gauge",
    "entente_peer_sync_jobs": "gauge",
    "entente_peer_sync_failing_jobs": "gauge",
    "entente_peer_sync_lag_seconds": "gauge",
    "entente_peer_sync_pending_objects": "gauge",
}


def indicator(n, name):
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{n:08x}-2222-4222-8222-222222222222",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[domain-name:value = 'm{n}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }


@pytest.fixture(scope="module")
def node():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build -p entente` first")
    tmp = tempfile.mkdtemp(prefix="entente-metrics-")
    n = Node(Path(tmp) / "node")
    # The same node, served again with its metrics listener on.
    n.server.stop()
    n.server = Server(n.dir, extra_env={"ENTENTE_METRICS_LISTEN": "127.0.0.1:0"})
    found = [m.group(1) for line in n.server.log for m in [METRICS_AT.search(line)] if m]
    assert found, "".join(n.server.log)
    n.metrics_url = found[0]
    try:
        yield n
    finally:
        n.server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def families(url):
    r = requests.get(url, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return r.text, {f.name: f for f in text_string_to_metric_families(r.text)}


def test_the_exposition_parses_and_moves_as_requests_arrive(node):
    collection = node.collection("Metrics")
    token = node.token("writer", read=[collection], write=[collection])
    objects = f"{node.server.base}/api1/collections/{collection}/objects/"
    headers = {"Accept": TAXII, "Content-Type": TAXII, "Authorization": f"Bearer {token}"}
    envelope = {"objects": [indicator(1, "stored"), {"type": "indicator", "id": "indicator--x"}]}
    r = requests.post(objects, data=json.dumps(envelope), headers=headers, timeout=30)
    assert r.status_code == 202, r.text
    assert requests.get(objects, headers=headers, timeout=30).status_code == 200
    missing = f"{node.server.base}/api1/collections/00000000-0000-4000-8000-000000000000/"
    assert requests.get(missing, headers=headers, timeout=30).status_code == 404

    text, found = families(node.metrics_url)
    for name, kind in FAMILIES.items():
        assert name in found, f"{name} missing"
        assert found[name].type == kind, f"{name} is {found[name].type}, not {kind}"
    assert set(found) == set(FAMILIES), set(found) ^ set(FAMILIES)

    for family in found.values():
        assert NAME.match(family.name), family.name
        for s in family.samples:
            assert NAME.match(s.name), s.name
            assert all(LABEL.match(k) for k in s.labels), s.labels
            assert not math.isnan(s.value), s
        if family.type == "histogram":
            check_histograms(family)

    samples = [s for f in found.values() for s in f.samples]

    def value(name, **labels):
        hits = [s.value for s in samples if s.name == name and s.labels == labels]
        assert len(hits) <= 1, (name, labels)
        return hits[0] if hits else 0.0

    assert value("entente_http_requests_total", route=OBJECTS, method="POST", status="202") == 1
    assert value("entente_http_requests_total", route=OBJECTS, method="GET", status="200") == 1
    assert value("entente_http_requests_total", route="/{root}/collections/{collection}/",
                 method="GET", status="404") == 1
    assert value("entente_objects_ingested_total", via="client", outcome="stored") == 1
    assert value("entente_objects_rejected_total", via="client", reason="invalid") == 1
    assert value("entente_store_operation_duration_seconds_count", operation="add_objects") >= 1
    assert value("entente_build_info", version=found["entente_build_info"].samples[0].labels["version"]) == 1
    # Templates only: no id, token or API root in the text.
    for secret in (collection, token, "api1", "00000000-0000-4000-8000-000000000000"):
        assert secret not in text


def check_histograms(family):
    """Per series: buckets in order, cumulative, +Inf equal to _count."""
    series = {}
    for s in family.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
        elif s.name.endswith("_sum"):
            series[key]["sum"] = s.value
    assert series or family.name == "entente_http_request_duration_seconds", family.name
    for key, h in series.items():
        bounds = [b for b, _ in h["buckets"]]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf, (family.name, key, bounds)
        counts = [c for _, c in h["buckets"]]
        assert counts == sorted(counts), (family.name, key, counts)
        assert counts[-1] == h["count"], (family.name, key)
        assert h["sum"] is not None and h["sum"] >= 0, (family.name, key)
