"""Helpers of the console tests: a demo node, signing in, reading pages,
and what TAXII gives the same users (the reference the console must match).

`DemoNode` runs `entente serve --demo --listen 127.0.0.1:0` in a fresh data
directory and reads from its standard error the tokens and one-time sign-in
links it prints per demo user, then the address it serves.
"""

import os
import re
import subprocess
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ENTENTE_BIN", ROOT / "target" / "debug" / "entente"))
TAXII = "application/taxii+json;version=2.1"
USERS = ["Example National CERT/analyst", "Civic Shield Helpdesk/analyst", "Example Security Vendor/reader"]
LISTENING = re.compile(r"serving TAXII 2\.1 at (https?://[^\s]+)/taxii2/")

# TLP marking definitions (2.0 and 1.0) by level, as stix::tlp knows them.
TLP_MARKINGS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
TLP_ORDER = ["clear", "green", "amber", "amber+strict", "red"]
TLP_NAMES = {"clear": "TLP:CLEAR", "green": "TLP:GREEN", "amber": "TLP:AMBER",
             "amber+strict": "TLP:AMBER+STRICT", "red": "TLP:RED", None: "no TLP"}
# The demo's collections and their default TLP (crates/entente/src/commands/demo.rs).
DEFAULT_TLP = {
    "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17": "green",
    "0c9e4b7a-3f21-4d58-8a6e-2b1f9d7c5e43": "amber",
    "7a1d2c3b-4e5f-4a6b-9c8d-0e1f2a3b4c5d": "amber+strict",
}
RECIPIENTS_EXTENSION = "extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3"
RANKED = ("malware--", "intrusion-set--", "attack-pattern--")
# What TAXII serves and the console does not list: the signed manifests
# nodes write for provenance (node::console::listed_type).
UNLISTED = ("x-entente-manifest",)


class DemoNode:
    def __init__(self, extra_config=""):
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} is missing: run `cargo build -p entente` first")
        self.tmp = tempfile.mkdtemp(prefix="entente-console-")
        self.dir = Path(self.tmp) / "node"
        if extra_config:
            self.dir.mkdir(parents=True)
            (self.dir / "entente.toml").write_text(extra_config)
        env = dict(os.environ)
        env.pop("ENTENTE_DATA", None)
        env.setdefault("RUST_LOG", "warn")
        self.process = subprocess.Popen(
            [str(BINARY), "--data", str(self.dir), "serve", "--demo", "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.log, self.tokens, self.links, self.base = [], {}, {}, None
        section = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            self.log.append(line)
            if line.startswith("Tokens"):
                section = "tokens"
            elif line.startswith("Web console"):
                section = "links"
            m = re.match(r"\s+(\S.*?/\S+)\s{2,}(\S+)$", line)
            if m and section == "tokens":
                self.tokens[m.group(1)] = m.group(2)
            elif m and section == "links":
                self.links[m.group(1)] = m.group(2)
            m = LISTENING.search(line)
            if m:
                self.base = m.group(1)
                break
        if self.base is None:
            self.stop()
            raise RuntimeError("entente serve --demo did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()
        # The links name the configured address; the server listens elsewhere.
        self.links = {u: self.base + link[link.index("/console/"):] for u, link in self.links.items()}

    def _drain(self):
        for line in self.process.stderr:
            self.log.append(line)

    def cli(self, *args, input=None):
        env = dict(os.environ)
        env.pop("ENTENTE_DATA", None)
        p = subprocess.run([str(BINARY), "--data", str(self.dir), *args], capture_output=True,
                           text=True, env=env, input=input)
        if p.returncode != 0:
            raise AssertionError(f"entente {' '.join(args)} failed: {p.stderr}")
        return p.stdout

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def pre_token(html):
    return re.search(r'name="pre" value="([^"]+)"', html).group(1)


def sign_in_with_link(link):
    """A requests session signed in with a one-time link."""
    s = requests.Session()
    r = s.get(link)
    r.raise_for_status()
    r = s.post(link, data={"pre": pre_token(r.text)})
    assert r.status_code == 200, r.text
    return s


def sign_in_with_token(base, token):
    s = requests.Session()
    r = s.get(base + "/console/sign-in")
    r = s.post(base + "/console/sign-in/token", data={"pre": pre_token(r.text), "token": token, "next": "/"})
    assert r.status_code == 200, r.text
    return s


def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside chosen ids."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def with_attr(self, name, tag=None):
        return [a for t, a in self.tags if name in a and (tag is None or t == tag)]


def taxii_session(token):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    s.headers["Accept"] = TAXII
    return s


def taxii_objects(base, token, version="all"):
    """Every object the token reads, per collection, through TAXII paging."""
    s = taxii_session(token)
    out = {}
    r = s.get(base + "/api1/collections/")
    r.raise_for_status()
    for c in r.json().get("collections", []):
        if not c.get("can_read"):
            continue
        objects, params = [], {"match[version]": version, "limit": "1000"}
        while True:
            r = s.get(f"{base}/api1/collections/{c['id']}/objects/", params=params)
            r.raise_for_status()
            body = r.json()
            objects.extend(body.get("objects", []))
            if not body.get("more"):
                break
            params["next"] = body["next"]
        out[c["id"]] = objects
    return out


def listed(per_collection):
    """What the console lists of `taxii_objects`' answer: all but UNLISTED."""
    return {c: [o for o in objs if o["type"] not in UNLISTED] for c, objs in per_collection.items()}


def tlp_of(obj, collection):
    """The TLP the node handles an object at (sharing::effective_tlp)."""
    if obj["type"] == "marking-definition" and RECIPIENTS_EXTENSION in obj.get("extensions", {}):
        return None  # policy metadata: private to its source
    if obj["type"] == "identity" and obj.get("description", "").startswith(
            "A member of this community that shares without being named"):
        return "clear"  # the node's own pseudonym identity
    marks = list(obj.get("object_marking_refs", []))
    marks += [g.get("marking_ref") for g in obj.get("granular_markings", [])]
    levels = [TLP_MARKINGS[m] for m in marks if m in TLP_MARKINGS]
    if levels:
        return max(levels, key=TLP_ORDER.index)
    return DEFAULT_TLP.get(collection)


def references(obj):
    """Every *_ref / *_refs id at any depth but markings and created_by_ref
    (sharing::audience::gating_refs over stix's references), deduplicated."""
    found = []

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key and (key.endswith("_ref") or key.endswith("_refs")):
            if key in ("object_marking_refs", "marking_ref", "created_by_ref"):
                return
            if "--" in value and value not in found:
                found.append(value)

    walk(obj)
    return found


def words(text):
    return [w.lower() for w in re.findall(r"[^\W_]+", text or "")]
