"""Helpers for the leak review tests: Entente nodes on loopback, driven through
the CLI and TAXII (in the manner of tests/interop/interop_support.py).

Every test starts its own nodes in a temporary directory; ENTENTE_BIN names the
binary (default: target/debug/entente of this checkout).
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
RECIPIENTS_EXT = "extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def _env():
    env = dict(os.environ)
    env.pop("ENTENTE_DATA", None)
    env.setdefault("RUST_LOG", "warn")
    return env


class Node:
    """An initialised data directory; `start()` runs a server on it."""

    def __init__(self, data_dir, serve=True):
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        out = self.cli("init")
        self.admin = out.strip().splitlines()[-1].strip()
        self.server = None
        if serve:
            self.start()

    def start(self):
        self.server = Server(self.dir)

    def cli(self, *args, check=True, input=None):
        p = subprocess.run(
            [str(BINARY), "--data", str(self.dir), *args],
            capture_output=True,
            text=True,
            env=_env(),
            input=input,
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"entente {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
            )
        return p.stdout if check else p

    def last_line(self, *args):
        return self.cli(*args).strip().splitlines()[-1].strip()

    # --- organisation model -------------------------------------------------
    def org(self, name, identity=None):
        args = ["org", "create", name]
        if identity:
            args += ["--identity", identity]
        out = self.cli(*args)
        m = re.search(r"identity--[0-9a-f-]{36}", out)
        return m.group(0) if m else None

    def user(self, org, name, role="analyst"):
        self.cli("user", "create", "--org", org, "--role", role, name)

    def user_token(self, user, *extra):
        return self.last_line("token", "create", "--user", user, *extra)

    def community(self, name, *orgs, pseudonymous=(), show_members=False):
        args = ["community", "create", name]
        if show_members:
            args.append("--show-members")
        self.cli(*args)
        for o in orgs:
            a = ["community", "add", name, o]
            if o in pseudonymous:
                a.append("--pseudonymous")
            self.cli(*a)

    def collection(self, title, *extra, signed=False):
        args = ["collection", "create", "--title", title, *extra]
        if not signed:
            args.append("--unsigned")
        return self.last_line(*args)

    # --- TAXII ----------------------------------------------------------------
    @property
    def base(self):
        return self.server.base

    @property
    def api_root(self):
        return self.server.base + "/api1/"

    def objects_url(self, collection):
        return f"{self.api_root}collections/{collection}/objects/"

    def post(self, token, collection, objects):
        r = session(token).post(
            self.objects_url(collection),
            data=json.dumps({"objects": objects}),
            headers={"Content-Type": TAXII},
        )
        return r

    def post_status(self, token, collection, objects):
        r = self.post(token, collection, objects)
        assert r.status_code in (200, 202), (r.status_code, r.text)
        return r.json()

    def get_objects(self, token, collection, **params):
        r = session(token).get(self.objects_url(collection), params=params)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json().get("objects", [])

    def stop(self):
        if self.server:
            self.server.stop()
            self.server = None


def session(token):
    s = requests.Session()
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    s.headers["Accept"] = TAXII
    return s


def now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def sid(kind):
    return f"{kind}--{uuid.uuid4()}"


def indicator(pattern="[domain-name:value = 'evil.example']", markings=("green",),
              created_by=None, id=None, ts=None, name="test indicator", extra_markings=()):
    ts = ts or now()
    o = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": id or sid("indicator"),
        "created": ts,
        "modified": ts,
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": ts,
        "object_marking_refs": [TLP[m] for m in markings] + list(extra_markings),
    }
    if created_by:
        o["created_by_ref"] = created_by
    return o


def recipients_marking(orgs=(), users=()):
    ext = {"extension_type": "property-extension"}
    if orgs:
        ext["organizations"] = list(orgs)
    if users:
        ext["users"] = list(users)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": sid("marking-definition"),
        "created": now(),
        "name": "Recipients",
        "extensions": {RECIPIENTS_EXT: ext},
    }


def outcomes(status):
    """(successes ids, failures [(id, message)]) of a TAXII status resource."""
    ok = [s.get("id") for s in status.get("successes", [])]
    bad = [(f.get("id"), f.get("message")) for f in status.get("failures", [])]
    return ok, bad


class Workdir:
    """A temporary directory under /tmp, removed at the end."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="entente-leak-", dir="/tmp"))
        self.nodes = []

    def node(self, name, serve=True):
        n = Node(self.path / name, serve=serve)
        self.nodes.append(n)
        return n

    def close(self):
        for n in self.nodes:
            try:
                n.stop()
            except Exception:
                pass
        shutil.rmtree(self.path, ignore_errors=True)


def hub(work, name, peer_orgs=(), locals_=(), pseudonymous=(), default_tlp="green", signed=False):
    """A node with a community "Federation" of `peer_orgs` (organisations that
    stand for peer nodes) and `locals_`, and a collection of it."""
    n = work.node(name)
    n.identities = {}
    for o in list(peer_orgs) + list(locals_):
        n.identities[o] = n.org(o)
    n.community("Federation", *peer_orgs, *locals_, pseudonymous=pseudonymous)
    extra = ["--community", "Federation"]
    if default_tlp:
        extra += ["--default-tlp", default_tlp]
    n.collection_id = n.collection("Federation", *extra, signed=signed)
    return n


def token_file(at, org, user, holder, *extra):
    """A token of a new analyst `org/user` at node `at`, written into `holder`'s
    directory (what `holder` presents to `at`)."""
    at.user(org, user)
    tok = at.user_token(f"{org}/{user}", *extra)
    path = holder.dir / f"{user}-at-{at.dir.name}.token"
    path.write_text(tok + "\n")
    return str(path)


def node_key(n):
    out = n.cli("node", "keys")
    m = re.search(r"mldsa65-ed25519:[0-9A-Za-z:+/=_-]+", out)
    return m.group(0) if m else None


def add_pull(puller, name, remote, remote_org_here, token_path, remote_collection, local_collection, *extra):
    puller.cli("peer", "add", name, "--url", remote.api_root, "--token-file", token_path,
               "--org", remote_org_here, *extra)
    puller.cli("peer", "pull", name, "--remote-collection", remote_collection,
               "--into", local_collection)


def register(n, name, remote, remote_org_here):
    """Tells `n` that `remote_org_here` stands for the node `remote`, which
    pulls from `n` with a token of its own (no token of `n`'s to call it)."""
    n.cli("peer", "add", name, "--url", remote.api_root, "--org", remote_org_here)


def add_push(pusher, name, remote, remote_org_here, token_path, local_collection, remote_collection, *extra):
    pusher.cli("peer", "add", name, "--url", remote.api_root, "--token-file", token_path,
               "--org", remote_org_here, *extra)
    pusher.cli("peer", "push", name, "--from", local_collection,
               "--remote-collection", remote_collection)


def sync(n, name):
    p = n.cli("peer", "sync", name, "--once", check=False)
    return p


def backup(n, collection):
    """Everything a node holds in a collection (operator export)."""
    out = n.cli("export", "--collection", collection, "--versions", "all")
    return json.loads(out).get("objects", [])
