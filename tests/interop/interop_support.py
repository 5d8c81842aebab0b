"""Helpers of the interop tests: an Entente node on loopback, sessions, STIX checks.

A `Node` is a data directory after `entente init` with `entente serve
--listen 127.0.0.1:0` running on it; the port is read from the server's
stderr. Collections and tokens are made with the CLI while the server runs
(the server reads them from the shared database on each request).
"""

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import requests
from stix2validator import ValidationOptions, validate_instance

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ENTENTE_BIN", ROOT / "target" / "debug" / "entente"))
TAXII = "application/taxii+json;version=2.1"
LISTENING = re.compile(r"serving TAXII 2\.1 at (https?://[^\s]+)/taxii2/")


class Server:
    """One `entente serve` process."""

    def __init__(self, data_dir, extra_env=None):
        env = dict(os.environ)
        env.pop("ENTENTE_DATA", None)
        env.setdefault("RUST_LOG", "warn")
        env.update(extra_env or {})
        self.process = subprocess.Popen(
            [str(BINARY), "--data", str(data_dir), "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.log = []
        self.base = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = LISTENING.search(line)
            if m:
                self.base = m.group(1)
                break
        if self.base is None:
            self.stop()
            raise RuntimeError("entente serve did not start:\n" + "".join(self.log))
        # Keep draining stderr so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.process.stderr:
            self.log.append(line)

    @property
    def discovery(self):
        return self.base + "/taxii2/"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Node:
    """A data directory with an initialised node and a running server."""

    def __init__(self, data_dir, init_args=()):
        self.dir = Path(data_dir)
        out = self.cli("init", *init_args)
        self.admin = out.strip().splitlines()[-1].strip()
        self.server = Server(self.dir)
        self.extra_servers = []

    def cli(self, *args, check=True):
        env = dict(os.environ)
        env.pop("ENTENTE_DATA", None)
        p = subprocess.run(
            [str(BINARY), "--data", str(self.dir), *args],
            capture_output=True,
            text=True,
            env=env,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"entente {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
            )
        return p.stdout if check else p

    def collection(self, title, id=None, description=None, signed=False):
        # These tests model TAXII exactly as their clients post and page;
        # signed collections (which also hold the node's manifests) are
        # covered by test_signed_collections.py.
        args = ["collection", "create", "--title", title]
        if not signed:
            args.append("--unsigned")
        if id:
            args += ["--id", id]
        if description:
            args += ["--description", description]
        return self.cli(*args).strip().splitlines()[-1].strip()

    def token(self, name, read=(), write=(), admin=False, expires=None):
        args = ["token", "create", "--name", name]
        for c in read:
            args += ["--read", c]
        for c in write:
            args += ["--write", c]
        if admin:
            args.append("--admin")
        if expires:
            args += ["--expires", expires]
        return self.cli(*args).strip().splitlines()[-1].strip()

    @property
    def base(self):
        return self.server.base

    @property
    def discovery(self):
        return self.server.discovery

    @property
    def api_root(self):
        return self.server.base + "/api1/"

    def collection_url(self, collection_id):
        return f"{self.api_root}collections/{collection_id}/"

    def restart(self):
        """Stops the server and starts a new process on the same database."""
        self.server.stop()
        self.server = Server(self.dir)

    def second_server(self):
        """Another server process on the same database, running alongside."""
        s = Server(self.dir)
        self.extra_servers.append(s)
        return s

    def stop(self):
        for s in self.extra_servers:
            s.stop()
        self.server.stop()


def session(token):
    """A requests session authenticating with a Bearer token."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    s.headers["Accept"] = TAXII
    return s


_OPTIONS = ValidationOptions(version="2.1")
_VALIDATED = set()


def assert_valid_stix(objects):
    """Every object passes the OASIS stix2-validator (warnings allowed).
    Identical JSON already validated in this session is not validated again."""
    objects = list(objects)
    for obj in objects:
        text = json.dumps(obj, sort_keys=True)
        if text in _VALIDATED:
            continue
        result = validate_instance(obj, _OPTIONS)
        assert result.is_valid, (
            f"{obj.get('id')} returned by the server is not valid STIX 2.1: "
            + "; ".join(str(e) for e in result.errors)
        )
        _VALIDATED.add(text)
    return objects


def envelope_objects(envelope):
    """The objects of a TAXII envelope, each checked with stix2-validator."""
    return assert_valid_stix(envelope.get("objects", []))
