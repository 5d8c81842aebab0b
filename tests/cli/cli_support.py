"""Helpers for the CLI tests: nodes in temporary directories driven through
the `entente` command line as an operator runs it, with a server on
loopback where a test needs TAXII (in the manner of
tests/interop/interop_support.py).

ENTENTE_BIN names the binary (default: target/debug/entente of this checkout).
"""

import json
import os
import re
import shutil
import sys
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from interop_support import Server  # noqa: E402  (one `entente serve` runner for every suite)

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ENTENTE_BIN", ROOT / "target" / "debug" / "entente"))
TAXII = "application/taxii+json;version=2.1"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}


def env():
    e = dict(os.environ)
    e.pop("ENTENTE_DATA", None)
    e.pop("NO_COLOR", None)
    e.setdefault("RUST_LOG", "warn")
    e["RUST_BACKTRACE"] = "0"
    return e


class Node:
    """An initialised data directory; `serve()` starts a server on it."""

    def __init__(self, data_dir):
        self.dir = Path(data_dir)
        self.admin = self.last_line("init")
        self.server = None

    def run(self, *args, stdout=subprocess.PIPE, extra_env=None):
        """The finished process of `entente --data DIR ARGS` (never raises)."""
        return subprocess.run(
            [str(BINARY), "--data", str(self.dir), *map(str, args)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**env(), **(extra_env or {})},
            timeout=300,
        )

    def cli(self, *args):
        """stdout of a command that must succeed."""
        p = self.run(*args)
        if p.returncode != 0:
            raise AssertionError(
                f"entente {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
            )
        return p.stdout

    def last_line(self, *args):
        lines = self.cli(*args).strip().splitlines()
        return lines[-1].strip() if lines else ""

    def org(self, name):
        """Creates an organisation; returns its identity id."""
        return re.search(r"identity--[0-9a-f-]{36}", self.cli("org", "create", name)).group(0)

    def user(self, org, name, role="analyst"):
        self.cli("user", "create", "--org", org, "--role", role, name)
        return f"{org}/{name}"

    def write(self, name, objects):
        """A bundle file of `objects` in the data directory."""
        path = self.dir / name
        path.write_text(json.dumps(
            {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}))
        return path

    def exported(self, collection, as_user=None):
        """The objects `entente export` writes (as a user, or the operator)."""
        args = ["export", "--collection", collection]
        if as_user:
            args += ["--as", as_user]
        return json.loads(self.cli(*args)).get("objects", [])

    def serve(self):
        self.server = Server(self.dir)
        return self.server

    def url(self, path):
        return self.server.base + path

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


def session(token):
    s = requests.Session()
    s.headers["Accept"] = TAXII
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


def indicator(name, markings=(), created_by=None):
    o = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-11-20T10:00:00.000Z",
        "modified": "2026-11-20T10:00:00.000Z",
        "name": name,
        "pattern": f"[domain-name:value = '{name}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-11-20T10:00:00Z",
    }
    if markings:
        o["object_marking_refs"] = [TLP[m] for m in markings]
    if created_by:
        o["created_by_ref"] = created_by
    return o


class Workdir:
    """A temporary directory under /tmp for a test's nodes, removed at the end."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="entente-cli-", dir="/tmp"))
        self.nodes = []

    def node(self, name="node"):
        n = Node(self.path / name)
        self.nodes.append(n)
        return n

    def close(self):
        for n in self.nodes:
            n.stop()
        shutil.rmtree(self.path, ignore_errors=True)
