"""The OpenAPI document of the Entente JSON API, kept true by schemathesis.

A real node (`entente init`, organisations, users and tokens made with the
CLI, `entente serve` on loopback, as in tests/interop) is driven by
schemathesis from the document it serves at /entente/v1/openapi.json, once
per kind of caller. Every answer must be no 5xx, have a documented status,
media type, headers and body schema. Real incident ids and the community's
collection are fed to the generator as dictionaries, so that the fuzzed
requests reach existing incidents and not only 404s; OpenAPI links take the
stateful phase from a created incident to its other operations.

A run that met only refusals would pass every check while testing nothing
(a wrong token answers 401 everywhere, and 401 is documented), so each run
must also have met the answers its `must_meet` names.

The seed is fixed (SCHEMATHESIS_SEED overrides it: set it to explore) and
the example budgets are bounded, to keep the module near a minute on a
two-core machine.
"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from interop_support import BINARY, Node  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "crates" / "reporting" / "tests"
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261203"))
# The checks of the brief: no server error, and every answer as documented.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        # Every secured operation refuses a request without (or with bad)
        # credentials, and an undocumented method is 405 with Allow.
        "ignored_auth",
        "unsupported_method",
    ]
)
# The collection alias the document's share example names.
ALIAS = "dialogue-incidents"

# Per caller: the phases, the examples per operation, and answers the run
# must meet, as (METHOD, path template, status). The analyst records
# incidents and gets every phase, the stateful one following the document's
# links from created incidents; the others are mostly refused, which a
# short fuzzing run of the operations that concern them shows (that
# schemathesis then warns of refusals and 404s is the point, not a fault:
# `must_meet` says what such a run has to reach).
CALLERS = {
    "analyst": {
        "phases": "examples,coverage,fuzzing,stateful",
        "paths": "^/entente/v1/",
        "max_examples": 20,
        "expected_warnings": [],
        "must_meet": [
            ("GET", "/entente/v1/openapi.json", 200),
            ("GET", "/entente/v1/communities/", 200),
            ("GET", "/entente/v1/incidents/", 200),
            ("POST", "/entente/v1/incidents/", 201),
            ("POST", "/entente/v1/incidents/", 422),
            ("GET", "/entente/v1/incidents/{id}/", 200),
            ("GET", "/entente/v1/incidents/{id}/", 404),
            ("PUT", "/entente/v1/incidents/{id}/", 200),
            ("GET", "/entente/v1/incidents/{id}/versions/", 200),
            ("GET", "/entente/v1/collections/{collection}/objects/{object}/provenance/", 200),
            ("GET", "/entente/v1/collections/{collection}/objects/{object}/provenance/", 404),
            ("GET", "/entente/v1/collections/{collection}/indicators/", 200),
            ("GET", "/entente/v1/collections/{collection}/indicators/", 400),
            ("POST", "/entente/v1/incidents/{id}/submissions/", 201),
            ("POST", "/entente/v1/incidents/{id}/share/", 201),
        ],
    },
    # Reads the organisation's incidents, changes nothing.
    "reader": {
        "phases": "fuzzing",
        "paths": "^/entente/v1/incidents/",
        "max_examples": 4,
        "expected_warnings": ["missing_auth", "missing_test_data"],
        "must_meet": [
            ("GET", "/entente/v1/incidents/{id}/", 200),
            ("POST", "/entente/v1/incidents/", 403),
            ("PUT", "/entente/v1/incidents/{id}/", 403),
        ],
    },
    # Sees every organisation's incidents, belongs to none: may not record
    # or share.
    "node_admin": {
        "phases": "fuzzing",
        "paths": "^/entente/v1/incidents/",
        "max_examples": 4,
        "expected_warnings": ["missing_auth", "missing_test_data"],
        "must_meet": [
            ("GET", "/entente/v1/incidents/", 200),
            ("GET", "/entente/v1/incidents/{id}/", 200),
            ("POST", "/entente/v1/incidents/", 403),
            ("POST", "/entente/v1/incidents/{id}/share/", 403),
        ],
    },
    # An analyst's token narrowed to one collection reaches no incident.
    "scoped": {
        "phases": "fuzzing",
        "paths": "^/entente/v1/(communities|incidents)/",
        "max_examples": 3,
        "expected_warnings": ["missing_auth", "missing_test_data"],
        "must_meet": [
            ("GET", "/entente/v1/communities/", 200),
            ("GET", "/entente/v1/incidents/", 403),
            ("POST", "/entente/v1/incidents/", 403),
        ],
    },
}
# The warnings of schemathesis 4.32 (`warnings.fail-on` in its config).
WARNINGS = [
    "missing_auth", "missing_test_data", "base_url_mismatch", "validation_mismatch",
    "missing_deserializer", "unused_openapi_auth", "unsupported_regex", "method_not_allowed",
    "constants_extraction", "unmatched_filter", "unresolvable_reference", "low_valid_rate",
    "rate_limited", "dictionary_mismatch", "timeout_units",
]


def record(name):
    return (VECTORS / name).read_text()


@pytest.fixture(scope="module")
def world():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build -p entente` first")
    tmp = Path(tempfile.mkdtemp(prefix="entente-openapi-"))
    node = Node(tmp / "node")
    try:
        for org in ["Nordwerk", "National CERT"]:
            node.cli("org", "create", org)
        node.cli("community", "create", "Dialogue")
        for org in ["Nordwerk", "National CERT"]:
            node.cli("community", "add", "Dialogue", org)
        for org, user, role in [
            ("Nordwerk", "ana", "analyst"),
            ("Nordwerk", "rita", "reader"),
            ("National CERT", "carl", "analyst"),
        ]:
            node.cli("user", "create", "--org", org, "--role", role, user)
        collection = node.cli(
            "collection", "create", "--title", "Dialogue incidents",
            "--community", "Dialogue", "--alias", ALIAS,
        ).strip().splitlines()[-1].strip()

        def token(*args):
            return node.cli("token", "create", *args).strip().splitlines()[-1].strip()

        tokens = {
            "analyst": token("--user", "Nordwerk/ana"),
            "reader": token("--user", "Nordwerk/rita"),
            "node_admin": node.admin,
            "scoped": token("--user", "Nordwerk/ana", "--read", collection),
        }
        carl = token("--user", "National CERT/carl")

        # Incidents the generator is pointed at: two of Nordwerk's (the
        # callers' organisation), one of another organisation (404 for them).
        def create(tok, text):
            r = requests.post(
                node.base + "/entente/v1/incidents/",
                data=text.encode(),
                headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
                timeout=30,
            )
            assert r.status_code == 201, r.text
            return r.json()["id"]

        ours = [
            create(tokens["analyst"], record("vectors/v01b-nis2-final-provisional/incident.json")),
            create(tokens["analyst"], record("data/full-record.json")),
        ]
        theirs = [create(carl, record("vectors/v01-energy-ransomware-eu-us/incident.json"))]

        # An object whose provenance the generator asks for (and an id nobody holds).
        shared = "indicator--3f0d6a55-9d4e-4c1e-9a57-1b1f3c1c0a01"
        r = requests.post(
            node.base + f"/api1/collections/{collection}/objects/",
            data=json.dumps({"objects": [{
                "type": "indicator", "spec_version": "2.1", "id": shared,
                "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
                "pattern": "[domain-name:value = 'c2.example']", "pattern_type": "stix",
                "valid_from": "2026-12-01T00:00:00.000Z",
            }]}),
            headers={"Authorization": f"Bearer {tokens['analyst']}",
                     "Content-Type": "application/taxii+json;version=2.1",
                     "Accept": "application/taxii+json;version=2.1"},
            timeout=30,
        )
        assert r.status_code == 202 and r.json()["success_count"] == 1, r.text
        objects = [shared, "indicator--00000000-0000-4000-8000-000000000000"]
        yield {
            "node": node,
            "tmp": tmp,
            "tokens": tokens,
            "collection": collection,
            "incidents": ours + theirs,
            "objects": objects,
        }
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def toml_string(text):
    # A JSON string is a TOML basic string for the characters used here.
    return json.dumps(text)


def config(world, caller, spec):
    """A schemathesis.toml for one caller's run."""
    ids = ", ".join(toml_string(i) for i in world["incidents"])
    fail_on = ", ".join(toml_string(w) for w in WARNINGS if w not in spec["expected_warnings"])
    collections_ = ", ".join(toml_string(c) for c in [world["collection"], ALIAS])
    objects = ", ".join(toml_string(o) for o in world["objects"])
    return f"""
seed = {SEED}
workers = 1

[generation]
max-examples = {spec["max_examples"]}
# No example database: every run starts from the seed alone.
database = "none"

[cache]
enabled = false

[warnings]
# A warning means the run tested less than it seems to (every answer a
# 401, an unresolvable reference, a regex it cannot generate from, ...).
fail-on = [{fail_on}]

[auth.openapi.bearerToken]
bearer = {toml_string(world["tokens"][caller])}

[dictionaries.incidents]
values = [{ids}]

[dictionaries.collections]
values = [{collections_}]

[dictionaries.objects]
values = [{objects}]

[parameters]
"path.id" = {{ dictionary = "incidents", probability = 0.6 }}
"body.collection" = {{ dictionary = "collections", probability = 0.6 }}
"path.collection" = {{ dictionary = "collections", probability = 0.6 }}
"path.object" = {{ dictionary = "objects", probability = 0.6 }}

# PUT reads its record with the very parser POST does: walking every
# boundary of the record schema once (on POST) is enough, and is a third of
# the run.
[[operations]]
include-operation-id = "updateIncident"
phases.coverage.enabled = false
"""


def template(url):
    """`/entente/v1/incidents/<uuid>/share/?x` -> `/entente/v1/incidents/{id}/share/`."""
    path = url.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    path = path.split("?", 1)[0]
    path = re.sub(r"^(/entente/v1/incidents/)[^/]+/", r"\1{id}/", path)
    path = re.sub(r"^/entente/v1/collections/[^/]+/indicators", "/entente/v1/collections/{collection}/indicators", path)
    return re.sub(
        r"^/entente/v1/collections/[^/]+/objects/[^/]+/provenance",
        "/entente/v1/collections/{collection}/objects/{object}/provenance",
        path,
    )


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_answer_matches_the_document(world, caller):
    spec = CALLERS[caller]
    run_dir = world["tmp"] / f"schemathesis-{caller}"
    run_dir.mkdir()
    (run_dir / "schemathesis.toml").write_text(config(world, caller, spec))
    har = run_dir / "run.har"
    env = dict(os.environ)
    # Hooks a developer has set for other work would change what is sent.
    env.pop("SCHEMATHESIS_HOOKS", None)
    done = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(run_dir / "schemathesis.toml"),
            "--no-color",
            "run", world["node"].base + "/entente/v1/openapi.json",
            # Without a filter schemathesis leaves out the operation that
            # serves the document it was loaded from; a filter brings it back.
            "--include-path-regex", spec["paths"],
            "--checks", CHECKS,
            "--phases", spec["phases"],
            "--request-timeout", "30",
            "--report", "har",
            "--report-har-path", str(har),
            "--output-truncate", "false",
        ],
        cwd=run_dir,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    log = done.stdout + done.stderr
    server_log = "".join(world["node"].server.log[-40:])
    assert done.returncode == 0, (
        f"schemathesis found answers that contradict the document (seed {SEED}, caller {caller}):\n"
        f"{log}\n--- node log ---\n{server_log}"
    )

    met = collections.Counter()
    for entry in json.loads(har.read_text())["log"]["entries"]:
        met[(entry["request"]["method"], template(entry["request"]["url"]), entry["response"]["status"])] += 1
    table = "\n".join(f"  {m} {p} {s}: {n}" for (m, p, s), n in sorted(met.items()))
    missing = [want for want in spec["must_meet"] if want not in met]
    assert not missing, (
        f"the {caller} run never met {missing}, so it did not test what it should; it met:\n{table}"
    )
