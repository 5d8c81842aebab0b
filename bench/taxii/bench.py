#!/usr/bin/env python3
"""TAXII 2.1 server benchmark: Entente side by side with the OASIS reference
server medallion (memory backend), on the same workload, on loopback.

For each scale N it measures, per server:
  add     N indicators POSTed in envelopes of 1,000, objects/s until every
          status is complete;
  read    the whole collection paged with limit=1000 (objects endpoint,
          following `next`), objects/s;
  lookup  500 GETs of objects/?match[id]=<id> at random, p50/p99 latency;
  rss     the server's peak resident memory (VmHWM from /proc/<pid>/status).

The load generator is built not to be the bottleneck: envelopes are
serialised before timing, every phase reuses one keep-alive connection per
client, and pages are not decoded (the `more`/`next` members are read from
the head of the body, objects are counted with a byte search). Client and
server CPU time are reported for each phase so a saturated client shows.

With --metrics it also measures what the Prometheus metrics cost: Entente
with metrics off and on (a separate metrics listener, scraped every
--scrape-interval seconds while the phases run), alternately, for
--metrics-rounds rounds; the ratios on/off of each round and their median
are reported.

Usage (from the repository root):
  cargo build --release -p entente
  python3 bench/taxii/bench.py --scale 5000
  python3 bench/taxii/bench.py --scale 10000,1000000
  python3 bench/taxii/bench.py --scale 100000 --medallion no --metrics
"""

import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TAXII = "application/taxii+json;version=2.1"
MEDALLION_VENV = HERE / ".venv-medallion"
MEDALLION_VERSION = "3.0.0"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- workload

def make_indicators(n, seed):
    """n distinct valid STIX 2.1 indicators as JSON text, and their ids."""
    rng = random.Random(seed)
    texts, ids = [], []
    for i in range(n):
        oid = "indicator--" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
        kind = i % 3
        if kind == 0:
            pattern = "[file:hashes.'SHA-256' = '%064x']" % rng.getrandbits(256)
        elif kind == 1:
            pattern = "[domain-name:value = 'c2-%d.spyware.example']" % i
        else:
            pattern = "[ipv4-addr:value = '198.51.%d.%d']" % ((i >> 8) & 255, i & 255)
        stamp = "2024-%02d-%02dT%02d:%02d:%02d.000Z" % (
            1 + i % 12, 1 + i % 28, i % 24, i % 60, (i // 60) % 60)
        texts.append(
            '{"type":"indicator","spec_version":"2.1","id":"%s","created":"%s","modified":"%s",'
            '"name":"Spyware infrastructure %d","indicator_types":["malicious-activity"],'
            '"pattern":"%s","pattern_type":"stix","valid_from":"%s","labels":["bench"]}'
            % (oid, stamp, stamp, i, pattern, stamp)
        )
        ids.append(oid)
    return texts, ids


RECIPIENTS_EXT = "extension-definition--dc3cb601-bea8-4e1c-9a2a-a4b1d84ea6b3"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}
TO_ORG02 = "marking-definition--0b4e4c1e-2f3d-4a5b-8c6d-7e8f9a0b1c2d"
TO_ORG03 = "marking-definition--1c5f5d2f-3a4e-4b6c-9d7e-8f9a0b1c2d3e"


def recipients_marking(mid, org):
    return ('{"type":"marking-definition","spec_version":"2.1","id":"%s","created":"2024-01-01T00:00:00.000Z",'
            '"name":"Recipients","extensions":{"%s":{"extension_type":"property-extension",'
            '"organizations":["%s"]}}}' % (mid, RECIPIENTS_EXT, org))


def make_policy_texts(texts, ids):
    """The same indicators with mixed TLP markings: 30% CLEAR, 40% GREEN,
    20% AMBER for the community, 5% AMBER for org-02, 5% AMBER for org-03.
    Returns the marked texts, the recipient marking definitions to send
    first, and the ids that the reader (a user of org-02) may see."""
    marked, visible = [], []
    for i, (text, oid) in enumerate(zip(texts, ids)):
        bucket = i % 20
        if bucket < 6:
            refs, seen = [TLP["clear"]], True
        elif bucket < 14:
            refs, seen = [TLP["green"]], True
        elif bucket < 18:
            refs, seen = [TLP["amber"]], True
        elif bucket == 18:
            refs, seen = [TLP["amber"], TO_ORG02], True
        else:
            refs, seen = [TLP["amber"], TO_ORG03], False
        marked.append(text[:-1] + ',"object_marking_refs":[%s]}' % ",".join('"%s"' % r for r in refs))
        if seen:
            visible.append(oid)
    return marked, [recipients_marking(TO_ORG02, "org-02"), recipients_marking(TO_ORG03, "org-03")], visible


def make_envelopes(texts, size):
    return [
        ('{"objects":[' + ",".join(texts[i:i + size]) + "]}").encode()
        for i in range(0, len(texts), size)
    ]


# ---------------------------------------------------------------- HTTP client

class Client:
    """One keep-alive HTTP/1.1 connection (reopened if the server closes it)."""

    def __init__(self, base_url, authorization):
        u = urlsplit(base_url)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        self.headers = {"Accept": TAXII, "Authorization": authorization}

    def request(self, method, path, body=None):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = TAXII
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.will_close:
                    self.conn.close()
                return r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise

    def close(self):
        self.conn.close()


HEAD_MORE = re.compile(rb'"more"\s*:\s*(true|false)')
HEAD_NEXT = re.compile(rb'"next"\s*:\s*"([^"]*)"')


def page_head(body):
    """`more` and `next` of an envelope without decoding its objects."""
    head = body[:512]
    more = HEAD_MORE.search(head)
    nxt = HEAD_NEXT.search(head)
    if more is None and nxt is None and len(body) > 512:
        # Not at the start: decode the whole page (slow path, never timed for Entente).
        env = json.loads(body)
        return env.get("more", False), env.get("next")
    return (more is not None and more.group(1) == b"true"), (nxt.group(1).decode() if nxt else None)


def count_objects(body):
    n = body.count(b'"type":"indicator"')
    if n == 0 and b"indicator" in body:
        n = len(re.findall(rb'"type"\s*:\s*"indicator"', body))
    return n


# ---------------------------------------------------------------- servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU time of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Entente:
    name = "entente"
    env = {}

    def __init__(self, binary, workdir, name=None, collection_args=()):
        """`name` labels the row (another binary, or another setting);
        `collection_args` go to `collection create` (e.g. --unsigned)."""
        self.binary = binary
        if name:
            self.name = name
        self.data = workdir / ("entente-node" if not name else name.replace(" ", "-"))
        shutil.rmtree(self.data, ignore_errors=True)
        self.cli("init")
        self.collection = self.cli("collection", "create", "--title", "bench",
                                   *collection_args).split()[-1]
        token = self.cli("token", "create", "--name", "bench",
                         "--read", self.collection, "--write", self.collection).split()[-1]
        self.authorization = "Bearer " + token
        self._start(binary)

    def _start(self, binary):
        self.proc = subprocess.Popen(
            [str(binary), "--data", str(self.data), "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "RUST_LOG": "warn", **self.env},
        )
        self.base = None
        self.metrics_url = None
        for line in self.proc.stderr:
            m = re.search(r"Metrics at (http://[^\s]+/metrics)", line)
            if m:
                self.metrics_url = m.group(1)
            m = re.search(r"at (http://[^\s]+)/taxii2/", line)
            if m:
                self.base = m.group(1)
                break
        if self.base is None:
            raise RuntimeError("entente serve did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.api_root = "/api1/"

    def cli(self, *args):
        p = subprocess.run([str(self.binary), "--data", str(self.data), *args],
                           capture_output=True, text=True, check=True)
        return p.stdout.strip()

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class EntenteMetrics(Entente):
    """Entente with its Prometheus metrics on (a separate metrics listener)
    and a scraper reading them every `interval` seconds until stopped."""

    name = "entente+metrics"
    env = {"ENTENTE_METRICS_LISTEN": "127.0.0.1:0"}

    def __init__(self, binary, workdir, interval):
        super().__init__(binary, workdir)
        if not self.metrics_url:
            raise RuntimeError("entente serve did not report its metrics listener")
        self.scrapes = 0
        self.scrape_bytes = 0
        self._stop = threading.Event()
        u = urlsplit(self.metrics_url)

        def scrape():
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            while not self._stop.wait(interval):
                conn.request("GET", u.path)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"metrics scrape: HTTP {r.status}")
                self.scrapes += 1
                self.scrape_bytes = len(body)
            conn.close()

        self._scraper = threading.Thread(target=scrape, daemon=True)
        self._scraper.start()

    def stop(self):
        self._stop.set()
        self._scraper.join(timeout=30)
        super().stop()


class EntentePolicy(Entente):
    """Entente with the sharing policy in play: 20 organisations, 5
    communities, a community collection with mixed TLP markings, posted by
    a member organisation's analyst and read by another member's analyst."""

    name = "entente+policy"

    def __init__(self, binary, workdir):
        self.binary = binary
        self.data = workdir / "entente-policy-node"
        shutil.rmtree(self.data, ignore_errors=True)
        self.cli("init")
        for o in range(20):
            self.cli("org", "create", f"org-{o:02d}")
            self.cli("user", "create", "--org", f"org-{o:02d}", "--role", "analyst", "analyst")
        for k in range(5):
            self.cli("community", "create", f"community-{k}")
            for o in range(k * 4, k * 4 + 6):
                self.cli("community", "add", f"community-{k}", f"org-{o % 20:02d}")
            other = self.cli("collection", "create", "--title", f"community {k} feed",
                             "--community", f"community-{k}", "--default-tlp", "green")
        self.collection = self.cli("collection", "create", "--title", "bench", "--community",
                                   "community-0", "--default-tlp", "green").split()[-1]
        poster = self.cli("token", "create", "--user", "org-01/analyst").split()[-1]
        reader = self.cli("token", "create", "--user", "org-02/analyst").split()[-1]
        self.authorization = "Bearer " + poster
        self.read_authorization = "Bearer " + reader
        del other
        self._start(binary)


class Medallion:
    name = "medallion"

    def __init__(self, workdir, page_size):
        ensure_medallion()
        self.collection = str(uuid.uuid4())
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.api_root = "/api1/"
        data = {
            "/discovery": {
                "title": "medallion (benchmark)",
                "default": self.base + "/api1/",
                "api_roots": [self.base + "/api1/"],
            },
            "api1": {
                "information": {
                    "title": "bench",
                    "versions": [TAXII],
                    "max_content_length": 100 * 1024 * 1024,
                },
                "status": [],
                "collections": [{
                    "id": self.collection,
                    "title": "bench",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }],
            },
        }
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "medallion-data.json").write_text(json.dumps(data))
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(workdir / "medallion-data.json"),
            },
            "users": {"bench": "bench-password"},
            "taxii": {"max_page_size": page_size},
        }
        (workdir / "medallion-config.json").write_text(json.dumps(config))
        self.authorization = "Basic " + base64.b64encode(b"bench:bench-password").decode()
        self.proc = subprocess.Popen(
            [str(MEDALLION_VENV / "bin" / "medallion"), "--port", str(port),
             "--log-level", "ERROR", str(workdir / "medallion-config.json")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                c = Client(self.base, self.authorization)
                status, _ = c.request("GET", "/taxii2/")
                c.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("medallion did not start")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def ensure_medallion():
    exe = MEDALLION_VENV / "bin" / "medallion"
    if exe.exists():
        return
    print(f"installing medallion {MEDALLION_VERSION} into {MEDALLION_VENV} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(MEDALLION_VENV)], check=True)
    subprocess.run([str(MEDALLION_VENV / "bin" / "pip"), "install", "--quiet",
                    f"medallion=={MEDALLION_VERSION}"], check=True)


# ---------------------------------------------------------------- phases

class Phase:
    """Wall time and client/server CPU of one phase."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        self.wall = time.perf_counter()
        self.client_cpu = time.process_time()
        self.server_cpu = cpu_seconds(self.server.pid)
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.client_cpu = time.process_time() - self.client_cpu
        self.server_cpu = cpu_seconds(self.server.pid) - self.server_cpu


def phase_add(server, envelopes, expected_per_envelope, clients):
    """POST every envelope (spread over `clients` connections); wait until complete."""
    objects_path = f"{server.api_root}collections/{server.collection}/objects/"
    errors = []
    work = list(enumerate(envelopes))
    lock = threading.Lock()

    def poster():
        c = Client(server.base, server.authorization)
        while True:
            with lock:
                if not work:
                    break
                i, body = work.pop(0)
            status, data = c.request("POST", objects_path, body)
            if status != 202:
                errors.append(f"envelope {i}: HTTP {status}: {data[:300]!r}")
                continue
            st = json.loads(data)
            while st["status"] != "complete":
                time.sleep(0.05)
                code, data = c.request("GET", f"{server.api_root}status/{st['id']}/")
                st = json.loads(data)
            if st["success_count"] != expected_per_envelope[i]:
                errors.append(f"envelope {i}: {st['success_count']} of {expected_per_envelope[i]} stored; "
                              f"failures: {str(st.get('failures'))[:300]}")
        c.close()

    with Phase(server) as ph:
        threads = [threading.Thread(target=poster) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise RuntimeError(f"{server.name} add failed: " + "; ".join(errors[:5]))
    return ph


def reader_authorization(server):
    return getattr(server, "read_authorization", server.authorization)


def phase_read(server, limit, expected):
    """Read the whole collection with limit=`limit`, following `next`."""
    objects_path = f"{server.api_root}collections/{server.collection}/objects/"
    c = Client(server.base, reader_authorization(server))
    total = pages = 0
    with Phase(server) as ph:
        nxt = None
        while True:
            path = f"{objects_path}?limit={limit}"
            if nxt:
                path += "&next=" + quote(nxt, safe="")
            status, body = c.request("GET", path)
            if status != 200:
                raise RuntimeError(f"{server.name} read: HTTP {status}: {body[:300]!r}")
            pages += 1
            total += count_objects(body)
            more, nxt = page_head(body)
            if not more:
                break
            if not nxt:
                raise RuntimeError(f"{server.name} read: more without next")
    c.close()
    if total != expected:
        raise RuntimeError(f"{server.name} read {total} objects, expected {expected}")
    ph.pages = pages
    return ph


def phase_lookup(server, ids, count, seed):
    objects_path = f"{server.api_root}collections/{server.collection}/objects/"
    rng = random.Random(seed)
    picks = [rng.choice(ids) for _ in range(count)]
    c = Client(server.base, reader_authorization(server))
    latencies = []
    with Phase(server) as ph:
        for oid in picks:
            t = time.perf_counter()
            status, body = c.request("GET", f"{objects_path}?match[id]={oid}")
            latencies.append(time.perf_counter() - t)
            if status != 200 or oid.encode() not in body:
                raise RuntimeError(f"{server.name} lookup of {oid}: HTTP {status}")
    c.close()
    latencies.sort()
    ph.p50 = statistics.median(latencies)
    ph.p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
    return ph


def search_index_lag(server, timeout=600):
    """For an Entente whose console search index is a file of its own
    (`entente.db.search`): waits until it has taken in every row; returns
    (seconds waited, server CPU seconds meanwhile), or None without one."""
    data = getattr(server, "data", None)
    if data is None or not (data / "entente.db.search").exists():
        return None
    start, cpu = time.perf_counter(), cpu_seconds(server.pid)
    while time.perf_counter() - start < timeout:
        try:
            main = sqlite3.connect(f"file:{data / 'entente.db'}?mode=ro", uri=True)
            newest = main.execute(
                "SELECT coalesce(max(date_added), 0) FROM objects WHERE listed = 1").fetchone()[0]
            main.close()
            index = sqlite3.connect(f"file:{data / 'entente.db.search'}?mode=ro", uri=True)
            done = index.execute(
                "SELECT value FROM search_meta WHERE key = 'indexed_to'").fetchone()[0]
            index.close()
            if done >= newest:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    return time.perf_counter() - start, cpu_seconds(server.pid) - cpu


def run_server(server, envelopes, per_envelope, ids, args, visible=None):
    """`ids`: every object added (`n`); `visible`: the ids the reading token
    may see (all of them unless the sharing policy hides some)."""
    n = len(ids)
    visible = ids if visible is None else visible
    result = {"server": server.name, "objects": n}
    add = phase_add(server, envelopes, per_envelope, args.add_clients)
    result["add_s"] = add.wall
    result["add_ops"] = n / add.wall
    result["add_cpu"] = (add.client_cpu / add.wall, add.server_cpu / add.wall)
    result["add_us_per_object"] = add.server_cpu / n * 1e6
    lag = search_index_lag(server)
    if lag is not None:
        # The console's full-text index is filled by a thread of its own
        # after the writes: how long it ran on after the last add, and the
        # server's CPU per object with that work counted too.
        result["index_lag_s"], extra_cpu = lag
        result["add_us_per_object_indexed"] = (add.server_cpu + extra_cpu) / n * 1e6
    repeats = args.read_repeats if server.name.startswith("entente") else args.medallion_read_repeats
    reads = sorted((phase_read(server, args.page, len(visible)) for _ in range(repeats)), key=lambda ph: ph.wall)
    read = reads[len(reads) // 2]  # the median run
    result["read_repeats"] = repeats
    result["read_s"] = read.wall
    result["read_ops"] = len(visible) / read.wall
    result["read_cpu"] = (read.client_cpu / read.wall, read.server_cpu / read.wall)
    result["read_us_per_object"] = read.server_cpu / len(visible) * 1e6
    result["pages"] = read.pages
    look = phase_lookup(server, visible, args.lookups, args.seed)
    result["lookup_p50_ms"] = look.p50 * 1000
    result["lookup_p99_ms"] = look.p99 * 1000
    result["lookup_cpu"] = (look.client_cpu / look.wall, look.server_cpu / look.wall)
    result["lookup_us_per_request"] = look.server_cpu / args.lookups * 1e6
    result["rss_mib"] = peak_rss_mib(server.pid)
    result["loadavg_after"] = os.getloadavg()[0]
    return result


# ---------------------------------------------------------------- report

def fmt_ops(x):
    return f"{x:,.0f}"


def print_table(scale, rows):
    ent = next((r for r in rows if r["server"] == "entente"), None)
    med = next((r for r in rows if r["server"] == "medallion"), None)
    pol = next((r for r in rows if r["server"] == "entente+policy"), None)
    print(f"\n== {scale:,} indicators, envelopes of {ARGS.envelope}, pages of {ARGS.page}, "
          f"{ARGS.lookups} lookups ==")
    header = (f"{'':<26}" + "".join(f"{r['server']:>16}" for r in rows)
              + (f"{'ratio E/M':>14}" if ent and med else "") + (f"{'policy/core':>14}" if ent and pol else ""))
    print(header)

    def line(label, key, fmt, better="higher"):
        cells = "".join(f"{fmt(r[key]):>16}" for r in rows)
        ratio = ""

        def quotient(a, b):
            # A phase shorter than the CPU clock's tick measures 0 s.
            return a / b if b else None

        if ent and med:
            q = quotient(ent[key], med[key]) if better == "higher" else quotient(med[key], ent[key])
            ratio = f"{q:>13,.1f}x" if q is not None else f"{'-':>14}"
        if ent and pol:
            q = quotient(pol[key], ent[key])
            ratio += f"{q:>13.2f}x" if q is not None else f"{'-':>14}"
        print(f"{label:<26}{cells}{ratio}")

    line("add (objects/s)", "add_ops", fmt_ops)
    line("read (objects/s)", "read_ops", fmt_ops)
    line("lookup p50 (ms)", "lookup_p50_ms", lambda x: f"{x:.2f}", "lower")
    line("lookup p99 (ms)", "lookup_p99_ms", lambda x: f"{x:.2f}", "lower")
    line("peak RSS (MiB)", "rss_mib", lambda x: f"{x:.0f}", "lower")
    line("server CPU/object add (us)", "add_us_per_object", lambda x: f"{x:.1f}", "lower")
    if all("index_lag_s" in r for r in rows):
        line("search index lag (s)", "index_lag_s", lambda x: f"{x:.2f}", "lower")
        line("CPU/object add+index (us)", "add_us_per_object_indexed", lambda x: f"{x:.1f}", "lower")
    else:
        for r in rows:
            if "index_lag_s" in r:
                print(f"{r['server']}: search index caught up {r['index_lag_s']:.2f} s after the last add; "
                      f"server CPU per object with indexing: {r['add_us_per_object_indexed']:.1f} us")
    line("server CPU/object read (us)", "read_us_per_object", lambda x: f"{x:.2f}", "lower")
    for key, label in (("add_cpu", "add"), ("read_cpu", "read"), ("lookup_cpu", "lookup")):
        cells = "".join(f"{r[key][0]:>7.0%} /{r[key][1]:>6.0%}" for r in rows)
        print(f"{'CPU client/server ' + label:<26}{cells}")
    print(f"{'load average after':<26}" + "".join(f"{r['loadavg_after']:>16.1f}" for r in rows))
    base = next((r for r in rows if r["server"] == "baseline"), None)
    if base:
        print("against the baseline binary (throughput: row / baseline; CPU per object: row / baseline):")
        for r in rows:
            if r is base or r["server"] == "medallion":
                continue
            q = [r[k] / base[k] if base[k] else float("nan") for k in
                 ("add_ops", "read_ops", "add_us_per_object", "read_us_per_object")]
            print(f"  {r['server']:<24} add {q[0]:.2f}x  read {q[1]:.2f}x  "
                  f"CPU/object add {q[2]:.2f}x  read {q[3]:.2f}x")
    print("(ratio: Entente over medallion for throughput, medallion over Entente for latency, RSS and CPU; "
          "CPU client/server: share of one core during the phase; server CPU/object: the server's CPU "
          "time divided by the objects, which machine load does not inflate)")


def metrics_overhead(binary, workdir, scale, envelopes, per_envelope, ids, args):
    """Entente with metrics off and on, alternately, `args.metrics_rounds`
    times; returns each round's pair of results."""
    rounds = []
    for r in range(args.metrics_rounds):
        makers = [lambda: Entente(binary, workdir / f"{scale}-off"),
                  lambda: EntenteMetrics(binary, workdir / f"{scale}-on", args.scrape_interval)]
        if r % 2:
            makers.reverse()
        pair = {}
        for make in makers:
            server = make()
            try:
                print(f"metrics round {r + 1}: {server.name} at {scale:,} "
                      f"(load average {os.getloadavg()[0]:.1f}) ...", file=sys.stderr)
                result = run_server(server, envelopes, per_envelope, ids, args)
                if isinstance(server, EntenteMetrics):
                    result["scrapes"] = server.scrapes
                    result["scrape_bytes"] = server.scrape_bytes
            finally:
                server.stop()
            pair[server.name] = result
        rounds.append(pair)
    return rounds


def print_metrics_overhead(scale, rounds):
    print(f"\n== metrics on / off, {scale:,} indicators, {len(rounds)} rounds "
          f"(scraped every {ARGS.scrape_interval} s) ==")
    # Wall-clock figures, then the server's CPU time per object or request,
    # which other processes on a busy machine inflate far less.
    keys = [("add objects/s", "add_ops"), ("read objects/s", "read_ops"),
            ("lookup p50 (ms)", "lookup_p50_ms"), ("lookup p99 (ms)", "lookup_p99_ms"),
            ("CPU/object add", "add_us_per_object"), ("CPU/object read", "read_us_per_object"),
            ("CPU/lookup", "lookup_us_per_request")]
    print(f"{'':<18}" + "".join(f"{'round ' + str(i + 1):>12}" for i in range(len(rounds))) + f"{'median':>12}")
    for label, key in keys:
        ratios = [p["entente+metrics"][key] / p["entente"][key] for p in rounds]
        print(f"{label:<18}" + "".join(f"{x:>12.3f}" for x in ratios)
              + f"{statistics.median(ratios):>12.3f}")
    for label, key in keys[4:]:
        off = statistics.median(p["entente"][key] for p in rounds)
        on = statistics.median(p["entente+metrics"][key] for p in rounds)
        print(f"{label} (us), median: off {off:.2f}, on {on:.2f}")
    on = [p["entente+metrics"] for p in rounds]
    print(f"scrapes per run: {', '.join(str(r['scrapes']) for r in on)}; "
          f"last exposition {on[-1]['scrape_bytes']:,} bytes")
    print("(ratios on/off: for throughput above 1 is metrics on faster; for latency and CPU above 1 is slower)")


def check_targets(results):
    """The targets of issue 2; returns lines of PASS/FAIL."""
    lines = []
    by_scale = {}
    for r in results:
        by_scale.setdefault(r["objects"], {})[r["server"]] = r
    for scale, rows in sorted(by_scale.items()):
        e, m = rows.get("entente"), rows.get("medallion")
        if e and m:
            for key, label in (("add_ops", "add"), ("read_ops", "read")):
                q = e[key] / m[key]
                lines.append((q >= 100, f"{scale:,}: {label} {q:,.0f}x medallion (target >= 100x)"))
        if e and scale >= 10_000:
            lines.append((e["add_ops"] >= 100_000, f"{scale:,}: add {e['add_ops']:,.0f} objects/s (target >= 100,000)"))
            lines.append((e["read_ops"] >= 300_000, f"{scale:,}: read {e['read_ops']:,.0f} objects/s (target >= 300,000)"))
            lines.append((e["lookup_p99_ms"] <= 2.0, f"{scale:,}: lookup p99 {e['lookup_p99_ms']:.2f} ms (target <= 2 ms)"))
            lines.append((e["rss_mib"] <= 300, f"{scale:,}: peak RSS {e['rss_mib']:.0f} MiB (target <= 300 MiB)"))
        p = rows.get("entente+policy")
        if e and p:
            for key, label in (("add_ops", "add"), ("read_ops", "read")):
                q = p[key] / e[key]
                lines.append((q >= 0.8, f"{scale:,}: {label} with the sharing policy is {q:.0%} of core (target >= 80%)"))
            q = p["lookup_p99_ms"] / e["lookup_p99_ms"]
            lines.append((q <= 1.2, f"{scale:,}: lookup p99 with the sharing policy is {q:.2f}x core (target <= 1.2x)"))
    scales = sorted(s for s in by_scale if "entente" in by_scale[s])
    if 10_000 in scales and scales[-1] >= 1_000_000:
        small, big = by_scale[10_000]["entente"], by_scale[scales[-1]]["entente"]
        for key, label in (("add_ops", "add"), ("read_ops", "read")):
            q = big[key] / small[key]
            lines.append((q >= 0.7, f"{label} at {scales[-1]:,} is {q:.0%} of {label} at 10,000 (target >= 70%)"))
    return lines


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", default="5000", help="objects per run; comma-separated for several runs")
    p.add_argument("--medallion", choices=["auto", "yes", "no"], default="auto",
                   help="run medallion too (auto: at scales up to --medallion-max)")
    p.add_argument("--medallion-max", type=int, default=5_000,
                   help="largest scale medallion runs at (its reads are quadratic: 10,000 objects take many minutes)")
    p.add_argument("--envelope", type=int, default=1000, help="objects per POST")
    p.add_argument("--page", type=int, default=1000, help="limit of each read page")
    p.add_argument("--lookups", type=int, default=500)
    p.add_argument("--add-clients", type=int, default=1, help="concurrent POSTing connections")
    p.add_argument("--read-repeats", type=int, default=3,
                   help="full reads of Entente's collection; the median is reported")
    p.add_argument("--medallion-read-repeats", type=int, default=1,
                   help="full reads of medallion's collection (each takes minutes)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--binary", default=str(ROOT / "target" / "release" / "entente"))
    p.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "taxii"))
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--metrics", action="store_true",
                   help="also measure Entente with its Prometheus metrics on against off")
    p.add_argument("--metrics-rounds", type=int, default=3,
                   help="off/on pairs, alternating which runs first")
    p.add_argument("--scrape-interval", type=float, default=1.0,
                   help="seconds between two scrapes of the metrics while they are on")
    p.add_argument("--unsigned", action="store_true",
                   help="also run Entente on an unsigned collection (what signing costs)")
    p.add_argument("--baseline", metavar="BINARY",
                   help="also run this entente binary (e.g. a build of an earlier commit) on the "
                        "same workload, and print each Entente row's ratio to it")
    p.add_argument("--policy", action="store_true",
                   help="also run Entente with 20 organisations, 5 communities and mixed TLP markings "
                        "(issue 3: the sharing policy must not cost more than 20%%)")
    ARGS = args = p.parse_args()
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"{binary} is missing: run `cargo build --release -p entente` first")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}; python {sys.version.split()[0]}")
    results = []
    for scale in [int(s) for s in args.scale.split(",")]:
        t = time.perf_counter()
        texts, ids = make_indicators(scale, args.seed)
        envelopes = make_envelopes(texts, args.envelope)
        per_envelope = [min(args.envelope, scale - i * args.envelope) for i in range(len(envelopes))]
        if args.policy:
            marked, prelude, visible = make_policy_texts(texts, ids)
            policy_envelopes = make_envelopes(prelude, len(prelude)) + make_envelopes(marked, args.envelope)
            policy_per_envelope = [len(prelude)] + per_envelope
            del marked
        del texts
        print(f"workload: {scale:,} indicators in {len(envelopes)} envelopes "
              f"({sum(map(len, envelopes)) / 2**20:.0f} MiB), built in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)
        rows = []
        servers = [lambda: Entente(binary, workdir / f"{scale}")]
        if args.unsigned:
            servers.append(lambda: Entente(binary, workdir / f"{scale}", "unsigned", ["--unsigned"]))
        if args.baseline:
            servers.append(lambda: Entente(Path(args.baseline), workdir / f"{scale}", "baseline"))
        if args.medallion == "yes" or (args.medallion == "auto" and scale <= args.medallion_max):
            servers.append(lambda: Medallion(workdir / f"{scale}", args.page))
        for make in servers:
            server = make()
            try:
                print(f"running {server.name} at {scale:,} (load average {os.getloadavg()[0]:.1f}) ...",
                      file=sys.stderr)
                rows.append(run_server(server, envelopes, per_envelope, ids, args))
            finally:
                server.stop()
        if args.policy:
            server = EntentePolicy(binary, workdir / f"{scale}")
            try:
                print(f"running {server.name} at {scale:,} (load average {os.getloadavg()[0]:.1f}) ...",
                      file=sys.stderr)
                rows.append(run_server(server, policy_envelopes, policy_per_envelope, ids, args, visible))
            finally:
                server.stop()
        results.extend(rows)
        print_table(scale, rows)
        if args.metrics:
            rounds = metrics_overhead(binary, workdir, scale, envelopes, per_envelope, ids, args)
            print_metrics_overhead(scale, rounds)
    print("\ntargets (issue 2):")
    for ok, text in check_targets(results):
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
