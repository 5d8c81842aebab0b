#!/usr/bin/env python3
"""Federation benchmark: node A to node B, and A to C through B.

In one run, on loopback, with release binaries:

1. **pull**: N indicators imported at A (signed by A), then B pulls A's
   collection with `entente peer sync --once` (both nodes running: A serves,
   B stores, verifying A's signed manifests against A's pinned key).
2. **copy loop**: what a user scripts today with taxii2-client: `as_pages`
   from A, `add_objects` to B, page by page, on a sample of the same
   collection (`--copy-sample`); its rate is compared with the pull's.
3. **relay latency**: A pushes its collection to B, C pulls B, all three
   `serve`; single objects are posted at A over TAXII and polled at C by id;
   p50 and p99 of the time from the POST's answer to C serving the object.
4. **provenance costs**: bytes the manifests add per object at A, and the
   sign/verify figures of `bench/provenance` for reference.

Run from the repository root after `cargo build --release -p entente`:

    python3 bench/federation/bench.py --scale 1000000
"""

import argparse
import base64
import http.client
import json
import os
import random
import resource
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "federation"
TAXII = "application/taxii+json;version=2.1"
LISTENING = re.compile(r"serving TAXII 2\.1 at (https?://[^\s]+)/taxii2/")


def cli(binary, data, *args, check=True):
    env = dict(os.environ)
    env.pop("ENTENTE_DATA", None)
    p = subprocess.run([str(binary), "--data", str(data), *args], capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise SystemExit(f"entente {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


class Serve:
    def __init__(self, binary, data):
        env = dict(os.environ)
        env.pop("ENTENTE_DATA", None)
        env["RUST_LOG"] = "warn"
        self.proc = subprocess.Popen([str(binary), "--data", str(data), "serve", "--listen", "127.0.0.1:0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.base = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.base is None:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = LISTENING.search(line)
            if m:
                self.base = m.group(1)
        if self.base is None:
            raise SystemExit(f"entente serve on {data} did not start")
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def indicators(n, seed, tag):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        oid = "indicator--" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
        out.append(
            '{"type":"indicator","spec_version":"2.1","id":"%s","created":"2024-01-01T00:00:00.000Z",'
            '"modified":"2024-01-01T00:00:00.000Z","name":"%s %d","indicator_types":["malicious-activity"],'
            '"pattern":"[domain-name:value = \'c2-%d.%s.example\']","pattern_type":"stix",'
            '"valid_from":"2024-01-01T00:00:00Z"}' % (oid, tag, i, i, tag))
    return out


def federation_node(binary, path, peers, locals_=()):
    """init, organisations standing for `peers`, a community and a GREEN collection."""
    if path.exists():
        shutil.rmtree(path)
    cli(binary, path, "init")
    cli(binary, path, "community", "create", "Federation")
    for org in [*peers, *locals_]:
        cli(binary, path, "org", "create", org)
        cli(binary, path, "community", "add", "Federation", org)
    collection = cli(binary, path, "collection", "create", "--title", "Federation", "--community",
                     "Federation", "--default-tlp", "green").split()[-1]
    return collection


def token_file(binary, node, org, user, dest, *extra):
    cli(binary, node, "user", "create", "--org", org, "--role", "analyst", user)
    token = cli(binary, node, "token", "create", "--user", f"{org}/{user}", *extra).split()[-1]
    dest.write_text(token + "\n")
    return token


def key_of(binary, node):
    return cli(binary, node, "node", "keys").split()[0]


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def bench_pull(binary, scale, sample):
    a = OUT / "a"
    b = OUT / "b"
    ca = federation_node(binary, a, ["Node B"], ["CERT"])
    cb = federation_node(binary, b, ["Node A"])
    cli(binary, a, "user", "create", "--org", "CERT", "--role", "analyst", "ana")
    lines = indicators(scale, 1, "pull")
    (OUT / "bulk.jsonl").write_text("\n".join(lines))
    t = time.monotonic()
    cli(binary, a, "import", "--collection", ca, "--as", "CERT/ana", str(OUT / "bulk.jsonl"))
    import_s = time.monotonic() - t
    # What the manifests add at A.
    db = sqlite3.connect(a / "entente.db")
    objects_bytes, = db.execute("SELECT sum(length(raw)) FROM objects WHERE type = 'indicator'").fetchone()
    manifest_bytes, manifests = db.execute(
        "SELECT coalesce(sum(length(raw)), 0), count(*) FROM objects WHERE type = 'x-entente-manifest'").fetchone()
    db.close()
    server_a = Serve(binary, a)
    key_a = key_of(binary, a)
    tok = OUT / "b-at-a.token"
    token_b_at_a = token_file(binary, a, "Node B", "sync", tok, "--max-tlp", "amber+strict")
    cli(binary, b, "peer", "add", "a", "--url", server_a.base + "/api1/", "--token-file", str(tok),
        "--org", "Node A", "--key", key_a)
    cli(binary, b, "peer", "pull", "a", "--remote-collection", ca, "--into", cb)
    cpu_a0 = cpu_seconds(server_a.proc.pid)
    t = time.monotonic()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([str(binary), "--data", str(b), "peer", "sync", "a", "--once"],
                       capture_output=True, text=True)
    pull_s = time.monotonic() - t
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_b = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    if p.returncode != 0:
        raise SystemExit("pull failed:\n" + p.stdout + p.stderr)
    cpu_a = cpu_seconds(server_a.proc.pid) - cpu_a0
    status = cli(binary, b, "peer", "status", "a")
    stored = int(re.search(r"(\d+) stored", status).group(1))
    # Objects arrive before the manifest that lists them and are upgraded
    # when it comes: count what B holds as verified at the end.
    db = sqlite3.connect(b / "entente.db")
    verified, = db.execute("SELECT count(*) FROM objects WHERE provenance = 3").fetchone()
    db.close()

    # The copy loop a user scripts today, on a sample, into a fresh collection of B.
    server_b = Serve(binary, b)
    cb2 = cli(binary, b, "collection", "create", "--title", "copy loop", "--community", "Federation",
              "--default-tlp", "green").split()[-1]
    token_b = token_file(binary, b, "Node A", "copier", OUT / "copier.token")
    copy_rate = copy_loop(server_a.base, ca, token_b_at_a, server_b.base, cb2, token_b, sample)
    server_b.stop()
    rss_a = rss_kib(server_a.proc.pid)
    server_a.stop()
    return {
        "scale": scale,
        "import_s": round(import_s, 2),
        "pull_s": round(pull_s, 2),
        "pull_objects_per_s": round(stored / pull_s),
        "stored_at_b": stored,
        "verified_at_b": verified,
        "server_a_cpu_s": round(cpu_a, 2),
        "puller_b_cpu_s": round(cpu_b, 2),
        "pull_objects_per_b_cpu_s": round(stored / cpu_b),
        "copy_loop_objects_per_s": round(copy_rate),
        "ratio_pull_over_copy_loop": round((stored / pull_s) / copy_rate, 1),
        "manifests": manifests,
        "manifest_bytes_per_object": round(manifest_bytes / scale, 1),
        "object_bytes_per_object": round(objects_bytes / scale, 1),
        "a_peak_rss_mib": round(rss_a / 1024, 1) if rss_a else None,
    }


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def copy_loop(base_a, ca, token_a, base_b, cb, token_b, sample):
    """taxii2-client: as_pages from A, add_objects to B, until `sample` objects moved."""
    from taxii2client.v21 import Collection, as_pages
    src = Collection(f"{base_a}/api1/collections/{ca}/", user="x", password=token_a)
    dst = Collection(f"{base_b}/api1/collections/{cb}/", user="x", password=token_b)
    moved = 0
    t = time.monotonic()
    for page in as_pages(src.get_objects, per_request=1000):
        objects = [o for o in page.get("objects", []) if o.get("type") != "x-entente-manifest"]
        if not objects:
            continue
        dst.add_objects({"objects": objects})
        moved += len(objects)
        if moved >= sample:
            break
    return moved / (time.monotonic() - t)


def bench_latency(binary, samples):
    a, b, c = OUT / "la", OUT / "lb", OUT / "lc"
    ca = federation_node(binary, a, ["Node B"], ["CERT"])
    cb = federation_node(binary, b, ["Node A", "Node C"])
    cc = federation_node(binary, c, ["Node B"])
    for node in (a, b, c):
        config = node / "entente.toml"
        text = re.sub(r"(?m)^interval_seconds = \d+$", "interval_seconds = 1", config.read_text())
        config.write_text(text)
    key_a = key_of(binary, a)
    server_b = Serve(binary, b)
    # A pushes to B (a token of Node A at B); C pulls B (a token of Node C at B).
    token_file(binary, b, "Node A", "pusher", OUT / "a-at-b.token")
    cli(binary, a, "peer", "add", "b", "--url", server_b.base + "/api1/", "--token-file",
        str(OUT / "a-at-b.token"), "--org", "Node B")
    cli(binary, a, "peer", "push", "b", "--from", ca, "--remote-collection", cb)
    token_file(binary, b, "Node C", "puller", OUT / "c-at-b.token")
    cli(binary, c, "peer", "add", "b", "--url", server_b.base + "/api1/", "--token-file",
        str(OUT / "c-at-b.token"), "--org", "Node B", "--key", key_a)
    cli(binary, c, "peer", "pull", "b", "--remote-collection", cb, "--into", cc)
    cli(binary, a, "user", "create", "--org", "CERT", "--role", "analyst", "ana")
    poster = cli(binary, a, "token", "create", "--user", "CERT/ana").split()[-1]
    server_a = Serve(binary, a)
    server_c = Serve(binary, c)
    admin_c = cli(binary, c, "token", "create", "--name", "reader", "--admin").split()[-1]
    post = Client(server_a.base, "Bearer " + poster)
    get = Client(server_c.base, "Bearer " + admin_c)
    waits = []
    for i, text in enumerate(indicators(samples, 7, "latency")):
        oid = json.loads(text)["id"]
        status, body = post.request("POST", f"/api1/collections/{ca}/objects/", '{"objects":[%s]}' % text)
        assert status == 202, body
        t = time.monotonic()
        while True:
            status, body = get.request("GET", f"/api1/collections/{cc}/objects/{oid}/")
            if status == 200:
                break
            if time.monotonic() - t > 60:
                raise SystemExit(f"object {i} did not reach C in 60 s")
            time.sleep(0.02)
        waits.append(time.monotonic() - t)
        time.sleep(random.Random(i).uniform(0, 0.5))
    for s in (server_a, server_b, server_c):
        s.stop()
    waits.sort()
    return {
        "samples": samples,
        "p50_s": round(statistics.median(waits), 2),
        "p99_s": round(waits[min(len(waits) - 1, int(len(waits) * 0.99))], 2),
        "max_s": round(waits[-1], 2),
    }


class Client:
    def __init__(self, base, authorization):
        u = urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.headers = {"Accept": TAXII, "Authorization": authorization}

    def request(self, method, path, body=None):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = TAXII
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        return r.status, r.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--copy-sample", type=int, default=20_000)
    ap.add_argument("--latency-samples", type=int, default=50)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "entente"))
    ap.add_argument("--json")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    binary = Path(args.binary)
    result = {"pull": bench_pull(binary, args.scale, args.copy_sample),
              "relay_latency": bench_latency(binary, args.latency_samples)}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    shutil.rmtree(OUT, ignore_errors=True)


if __name__ == "__main__":
    main()
