"""`entente export --format mvt` writes a file that Amnesty's Mobile
Verification Toolkit (`mvt` from PyPI) loads with its own indicator loader
(`mvt.common.indicators.Indicators`), finding every indicator the file holds
under the collection the file means (malware, report), and matching each
one with its own check functions. What MVT cannot read is left out and
named on standard error, never silently dropped.

MVT runs in a subprocess with its configuration, data folder and network
access pinned: the loader must see this file and nothing else.
"""

import json
import re
import subprocess
import sys

import pytest

from convert_support import VECTORS, Node, ok

# What MVT's loader puts each pattern path under (mvt/common/indicators.py).
MVT_LISTS = {
    "domain-name:value": "domains",
    "ipv4-addr:value": "domains",
    "url:value": "urls",
    "email-addr:value": "emails",
    "file:name": "file_names",
    "file:path": "file_paths",
    "file:hashes.md5": "files_md5",
    "file:hashes.sha1": "files_sha1",
    "file:hashes.sha256": "files_sha256",
    "process:name": "processes",
    "app:id": "app_ids",
}

LOADER = r"""
import json, sys
from mvt.common.indicators import Indicators
ind = Indicators()
ind.load_indicators_files([sys.argv[1]], load_default=False)
out = {"total": ind.total_ioc_count, "collections": [], "checks": {}}
for c in ind.ioc_collections:
    out["collections"].append({k: v for k, v in c.items() if isinstance(v, (list, str, int)) or v is None})
checks = json.loads(sys.argv[2])
found = {}
for kind, value in checks:
    if kind == "domains":
        m = ind.check_domain("https://" + value + "/index.html")
    elif kind == "urls":
        m = ind.check_url(value)
    elif kind == "emails":
        m = ind.check_email(value)
    elif kind == "file_names":
        m = ind.check_file_name(value)
    elif kind.startswith("files_"):
        m = ind.check_file_hash(value)
    elif kind == "processes":
        m = ind.check_process(value)
    elif kind == "app_ids":
        m = ind.check_app_id(value)
    else:
        m = None
    found[kind + " " + value] = None if m is None else m.ioc.name
out["checks"] = found
print(json.dumps(out))
"""


def mvt(tmp_path, stix2_file, checks=()):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MVT_CONFIG_FOLDER": str(tmp_path / "mvt-config"),
        "MVT_DATA_FOLDER": str(tmp_path / "mvt-data"),
        "MVT_NETWORK_ACCESS_ALLOWED": "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(stix2_file), json.dumps(list(checks))],
        capture_output=True, text=True, timeout=120, env=env,
    )
    return done


def expected_values(bundle):
    """(MVT list, value) for every indicator of the file, as MVT stores them."""
    values = set()
    for o in bundle["objects"]:
        if o["type"] != "indicator":
            continue
        m = re.fullmatch(r"\[([^ =]+) = '([^'\\=]*)'\]", o["pattern"])
        assert m, f"not one comparison MVT reads: {o['pattern']}"
        path, value = m.groups()
        kind = MVT_LISTS[path]
        if kind in ("domains", "emails"):
            value = value.lower()
        values.add((kind, value))
    return values


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mvt")
    node = Node(tmp / "node", title="Spyware indicators")
    for name in ("spyware-campaign.json", "cert-feed-response.json", "public-list.json"):
        done = node.import_(VECTORS / name)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    csv = tmp / "helpdesk.csv"
    csv.write_text(
        "value,type,comment\n"
        "Nightjar sync service,,a name: no kind of indicator\n"
        "hxxps://dl.get-update[.]example/SystemUpdate.apk,,\n"
        "d41d8cd98f00b204e9800998ecf8427e,,\n"
        "2001:db8::dead,,IPv6 (MVT has none)\n"
        "sync-helper.dex,,\n"
    )
    done = node.import_(csv)
    assert done.returncode == 1, "the name has no kind: one rejected row"
    out = tmp / "indicators.stix2"
    done = ok(node.path, "export", "--collection", node.collection, "--format", "mvt", "-o", out)
    indicators = [o for o in node.export() if o["type"] == "indicator"]
    return tmp, out, json.loads(out.read_text()), done.stderr.decode(), indicators


def test_mvt_loads_every_indicator_of_the_file(exported):
    tmp, path, bundle, _, _ = exported
    done = mvt(tmp, path)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    got = {(kind, v) for c in loaded["collections"] for kind, values in c.items()
           if isinstance(values, list) for v in values}
    want = expected_values(bundle)
    assert got == want, f"only in the file: {sorted(want - got)}; only loaded: {sorted(got - want)}"
    # MVT counts unique values per collection.
    assert loaded["total"] == sum(
        len(v) for c in loaded["collections"] for v in c.values() if isinstance(v, list))
    assert loaded["total"] >= len(want)


def test_mvt_matches_each_indicator_under_the_collection_the_file_means(exported):
    tmp, path, bundle, _, _ = exported
    checks = sorted(expected_values(bundle))
    done = mvt(tmp, path, checks)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)["checks"]
    missed = [k for k, v in found.items() if v is None]
    assert not missed, missed
    # The hash an indicates relationship links to the Nightjar malware.
    sha = "files_sha256 9fc92aa0d8f2864716ac4d9af0548256dbbe7f94b1ab045d9fe56c97514844d2"
    assert found[sha] == "Nightjar"
    # The rest of the MISP event is filed under the event (its report).
    assert found["domains cdn-sync.example.net"] == "Nightjar spyware targeting journalists (Operation Quiet Lantern)"
    assert found["domains overlap.cdn-sync.example.net"] == "Draft: infrastructure overlap with Nightjar"


def test_what_mvt_cannot_read_is_named_and_counted(exported):
    _, _, bundle, stderr, indicators = exported
    written = int(re.search(r"exported (\d+) MVT indicators", stderr).group(1))
    left_out = int(re.search(r"(\d+) indicators were left out", stderr).group(1))
    assert written == sum(1 for o in bundle["objects"] if o["type"] == "indicator")
    # Every indicator of the collection is in the file, as stored or
    # rewritten (possibly as several MVT values, each naming it), or left out.
    in_file = set()
    for o in bundle["objects"]:
        if o["type"] != "indicator":
            continue
        sources = [r["external_id"] for r in o.get("external_references", []) if r["source_name"] == "entente"]
        in_file.update(sources or [o["id"]])
    assert in_file <= {i["id"] for i in indicators}
    assert len(in_file) + left_out == len(indicators), (len(in_file), left_out, len(indicators))
    assert "IPv6" in stderr and "mvt#906" in stderr and "mutex:name" in stderr


def test_a_value_with_an_equals_sign_stops_mvts_loader(tmp_path):
    """Why such values are left out: MVT's loader splits patterns on '='
    (mvt#906), and one such indicator stops the whole file loading."""
    bad = tmp_path / "bad.stix2"
    bad.write_text(json.dumps({"type": "bundle", "id": "bundle--5d4a2c6e-0c5b-4b7e-9f1e-3c2b1a0d9e8f", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6e5b3d7f-1d6c-4c8f-a02f-4d3c2b1a0e9f",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "pattern": "[url:value = 'https://a.example/?q=1']", "pattern_type": "stix",
         "valid_from": "2026-01-01T00:00:00Z"}]}))
    done = mvt(tmp_path, bad)
    assert done.returncode != 0 and "ValueError" in done.stderr, done.stderr
