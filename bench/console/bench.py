#!/usr/bin/env python3
"""Web console benchmark: every page's latency with a million objects.

1. A demo node (`entente serve --demo`, then stopped): three organisations,
   three collections, the users whose views differ.
2. N generated objects (default 1,000,000) imported with `entente import`
   as those users (timed: the ingest rate with the console's indexes):
   malware, intrusion sets, ATT&CK techniques and sector identities;
   indicators with words to search; observables; relationships
   (indicates, uses, targets; 1% GREEN ones about AMBER objects, which the
   figures must leave to the read gate); sightings; reports linking 20
   objects each. TLP:CLEAR/GREEN/AMBER in the shared collection, the
   collection defaults (AMBER, AMBER+STRICT) in the others.
3. `spread_over_days` (crates/store/examples) moves the objects back so
   they look added over 90 days (in import order: the streams are imported
   interleaved in --rounds rounds), as on a node running that long,
   and rebuilds the figures and indexes keyed by the row.
4. `entente serve`; for each user (and a node administrator signed in with
   the admin token) every page is requested --warmup times, then --requests
   times, one after the other, on loopback. Reported: p50, p99 and max of
   the client-observed time (an upper bound of the server's time) and the
   page size.

Usage: python3 bench/console/bench.py [--objects 1000000] [--requests 200]
       [--binary target/release/entente] [--reuse] [--hide-expired] [--only REGEX]
(--hide-expired: the shared collection hides expired indicators while the
pages are measured; --reuse measures the node of the previous run again.)
Scratch data: bench/out/console/ (ignored by git).
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"
NETWORK = "0c9e4b7a-3f21-4d58-8a6e-2b1f9d7c5e43"
CERT_ONLY = "7a1d2c3b-4e5f-4a6b-9c8d-0e1f2a3b4c5d"
CERT, HELPDESK, VENDOR = "Example National CERT/analyst", "Civic Shield Helpdesk/analyst", "Example Security Vendor/reader"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}
T0 = "2026-06-01T00:00:00.000Z"
SECTORS = ["energy", "government-national", "communications", "non-profit", "healthcare", "finance",
           "education", "transportation", "defense", "media"]


def words(rng, n):
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "an", "el", "or", "ush", "qua", "ter", "bin"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n)]


class Stream:
    """Objects one user imports into one collection, self-consistent."""

    def __init__(self, rng, vocab, tlps):
        self.rng, self.vocab, self.tlps = rng, vocab, tlps
        self.threats, self.indicators, self.identities = [], [], []

    def sid(self, kind):
        return f"{kind}--{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def mark(self, o, level=None):
        level = level or self.rng.choices(list(self.tlps), weights=list(self.tlps.values()))[0]
        if level != "default":
            o["object_marking_refs"] = [TLP[level]]
        return o

    def base(self, kind, **fields):
        return {"type": kind, "spec_version": "2.1", "id": self.sid(kind), "created": T0, "modified": T0, **fields}

    def text(self, n):
        return " ".join(self.rng.choice(self.vocab) for _ in range(n))

    def seed(self):
        out = []
        for i in range(60):
            o = self.mark(self.base("malware", name=f"{self.text(1).upper()}-{i}", is_family=True,
                                    description="spyware " + self.text(8)), "green")
            self.threats.append(("malware", o["id"]))
            out.append(o)
        for i in range(20):
            o = self.mark(self.base("intrusion-set", name=f"{self.text(2).title()} {i}"), "green")
            self.threats.append(("intrusion-set", o["id"]))
            out.append(o)
        for i in range(40):
            o = self.mark(self.base("attack-pattern", name=f"Technique {self.text(2)}",
                                    external_references=[{"source_name": "mitre-attack", "external_id": f"T{1000 + i}"}]),
                          "green")
            self.threats.append(("attack-pattern", o["id"]))
            out.append(o)
        for i in range(10):
            o = self.mark(self.base("identity", name=f"Targeted {SECTORS[i]} organisations", identity_class="class",
                                    sectors=[SECTORS[i]]), "green")
            self.identities.append(o["id"])
            out.append(o)
        return out

    def one(self):
        r = self.rng.random()
        if r < 0.45 or not self.indicators:
            n = self.rng.getrandbits(32)
            pattern = (f"[domain-name:value = '{self.text(1)}{n}.example']" if n % 2
                       else f"[ipv4-addr:value = '198.51.{n % 256}.{(n >> 8) % 256}']")
            o = self.mark(self.base("indicator", name=f"{self.text(2)} c2 {n}", pattern=pattern, pattern_type="stix",
                                    valid_from=T0, description=("spyware " if n % 10 == 0 else "") + self.text(6)))
            self.indicators.append((o["id"], o.get("object_marking_refs")))
            if len(self.indicators) > 5000:
                self.indicators.pop(self.rng.randrange(len(self.indicators)))
            return o
        if r < 0.60:
            n = self.rng.getrandbits(32)
            if n % 2:
                return {"type": "domain-name", "spec_version": "2.1",
                        "id": f"domain-name--{uuid.uuid5(uuid.NAMESPACE_DNS, str(n))}", "value": f"{self.text(1)}{n}.example"}
            return {"type": "ipv4-addr", "spec_version": "2.1",
                    "id": f"ipv4-addr--{uuid.uuid5(uuid.NAMESPACE_URL, str(n))}", "value": f"203.0.{n % 256}.{(n >> 8) % 256}"}
        if r < 0.93:
            kind, threat = self.rng.choice(self.threats)
            q = self.rng.random()
            if q < 0.7:
                ind, marks = self.rng.choice(self.indicators)
                o = self.base("relationship", relationship_type="indicates", source_ref=ind, target_ref=threat)
                if marks:
                    o["object_marking_refs"] = marks
                # 1%: shared wider than what it points at.
                if self.rng.random() < 0.01:
                    o["object_marking_refs"] = [TLP["green"]]
                return o
            if q < 0.9:
                src = self.rng.choice([t for k, t in self.threats if k == "intrusion-set"])
                return self.mark(self.base("relationship", relationship_type="uses", source_ref=src, target_ref=threat), "green")
            src = self.rng.choice([t for k, t in self.threats if k == "intrusion-set"])
            return self.mark(self.base("relationship", relationship_type="targets", source_ref=src,
                                       target_ref=self.rng.choice(self.identities)), "green")
        if r < 0.99:
            ind, marks = self.rng.choice(self.indicators)
            o = self.base("sighting", sighting_of_ref=ind, count=self.rng.randint(1, 9))
            if marks:
                o["object_marking_refs"] = marks
            return o
        refs = [self.rng.choice(self.indicators)[0] for _ in range(15)] + [t for _, t in self.rng.sample(self.threats, 5)]
        return self.mark(self.base("report", name=f"Report on {self.text(3)}", published=T0, object_refs=sorted(set(refs)),
                                   description="spyware campaign " + self.text(12)), "green")


def run(cmd, ok=(0,), **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode not in ok:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{p.stdout}\n{p.stderr}")
    return p


def start(binary, data, demo=False):
    args = [str(binary), "--data", str(data), "serve", "--listen", "127.0.0.1:0"] + (["--demo"] if demo else [])
    env = dict(os.environ, RUST_LOG="warn")
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    log = []
    while True:
        line = p.stderr.readline()
        if not line:
            sys.exit("serve did not start:\n" + "".join(log))
        log.append(line)
        m = re.search(r"serving TAXII 2\.1 at (http://[^\s]+)/taxii2/", line)
        if m:
            return p, m.group(1), log


def signed_in(base, link=None, token=None):
    s = requests.Session()
    if link:
        r = s.get(link)
        pre = re.search(r'name="pre" value="([^"]+)"', r.text).group(1)
        r = s.post(link, data={"pre": pre})
    else:
        r = s.get(base + "/console/sign-in")
        pre = re.search(r'name="pre" value="([^"]+)"', r.text).group(1)
        r = s.post(base + "/console/sign-in/token", data={"pre": pre, "token": token, "next": "/"})
    r.raise_for_status()
    return s


def measure(s, url, warmup, n, method="get", data=None, budget=30.0):
    """n timed requests after `warmup` untimed ones; a page slower than
    `budget` seconds in all stops early (its sample count is reported)."""
    for _ in range(warmup):
        getattr(s, method)(url, data=data)
    times, size, status = [], 0, None
    started = time.perf_counter()
    for _ in range(n):
        if times and time.perf_counter() - started > budget:
            break
        t = time.perf_counter()
        r = getattr(s, method)(url, data=data)
        times.append((time.perf_counter() - t) * 1000)
        size, status = len(r.content), r.status_code
    times.sort()
    return {"p50": statistics.median(times), "p99": times[min(len(times) - 1, int(len(times) * 0.99))],
            "max": times[-1], "bytes": size, "status": status, "n": len(times)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "entente"))
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--reuse", action="store_true", help="reuse the node of a previous run")
    ap.add_argument("--rounds", type=int, default=10, help="import the four streams interleaved in this many rounds")
    ap.add_argument("--only", default="", help="measure only the pages whose name matches this regex")
    ap.add_argument("--hide-expired", action="store_true",
                    help="the shared collection hides expired indicators (issue 14) while measuring")
    args = ap.parse_args()
    out = ROOT / "bench" / "out" / "console"
    data = out / "node"
    binary = Path(args.binary)
    results = {"objects": args.objects, "days": args.days, "requests": args.requests}
    if not args.reuse:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        p, _, log = start(binary, data, demo=True)
        p.terminate()
        p.wait()
        admin = next(log[i + 1].strip() for i, l in enumerate(log) if "Admin token" in l)
        (out / "admin-token").write_text(admin)
        rng = random.Random(args.seed)
        vocab = words(rng, 2000)
        # (user, collection, share of the objects, TLP weights)
        plan = [(CERT, DIALOGUE, 0.60, {"clear": 2, "green": 7, "amber": 1}),
                (HELPDESK, DIALOGUE, 0.15, {"green": 8, "amber": 2}),
                (HELPDESK, NETWORK, 0.15, {"default": 1}),
                (CERT, CERT_ONLY, 0.10, {"default": 1})]
        imported, seconds = 0, 0.0
        # In rounds, each importing a slice of every stream, so that the
        # spread days hold every collection (spread_over_days keeps the
        # import order: one stream after the other would fill the newest
        # days with the last one alone).
        streams = [Stream(rng, vocab, tlps) for (_, _, _, tlps) in plan]
        written = [0] * len(plan)
        for round_ in range(args.rounds):
            for n, (user, collection, share, tlps) in enumerate(plan):
                stream = streams[n]
                objects = stream.seed() if round_ == 0 else []
                target = int(args.objects * share * (round_ + 1) / args.rounds) - written[n]
                path = out / f"import-{round_}-{n}.jsonl"
                with path.open("w") as f:
                    for o in objects:
                        f.write(json.dumps(o) + "\n")
                    for _ in range(target - len(objects)):
                        f.write(json.dumps(stream.one()) + "\n")
                written[n] += target
                t = time.perf_counter()
                # Exit 1: some objects were refused (an observable another
                # source shares more narrowly, say); they are counted below.
                p = run([str(binary), "--data", str(data), "import", "--quiet", "--as", user, "--collection", collection,
                         str(path)], ok=(0, 1))
                seconds += time.perf_counter() - t
                done = re.search(r"stored (\d+)", p.stdout + p.stderr)
                imported += int(done.group(1)) if done else 0
                print(f"imported {path.name} as {user}: {p.stdout.strip().splitlines()[0]}", flush=True)
                path.unlink()
        results["import"] = {"objects": imported, "seconds": seconds, "objects_per_second": imported / seconds}
        t = time.perf_counter()
        run(["cargo", "run", "--quiet", "--release", "-p", "store", "--example", "spread_over_days", "--",
             str(data / "entente.db"), str(args.days)], cwd=ROOT)
        results["spread_seconds"] = time.perf_counter() - t
    admin = (out / "admin-token").read_text().strip()
    run([str(binary), "--data", str(data), "collection", "set", DIALOGUE, "--hide-expired",
         "true" if args.hide_expired else "false"])
    results["hide_expired"] = args.hide_expired
    server, base, _ = start(binary, data)
    try:
        sessions = {}
        for user in (CERT, HELPDESK, VENDOR):
            printed = run([str(binary), "--data", str(data), "user", "link", user]).stdout.strip()
            sessions[user] = signed_in(base, link=base + printed[printed.index("/console/link/"):])
        sessions["node administrator (token)"] = signed_in(base, token=admin)
        pages = {}
        for who, s in sessions.items():
            overview = s.get(base + "/?days=90").text
            malware = re.search(r'<tr data-id="(malware--[^"]+)"[^>]*><td><a href="([^"]+)"', overview)
            listing = s.get(base + "/console/objects").text
            first = re.search(r'href="(/console/collections/[^"]+/objects/indicator--[^"]+)"', listing)
            older = re.search(r'href="(/console/objects\?[^"]*before=\d+)" rel="next"', listing)
            csrf = re.search(r'name="csrf" value="([^"]+)"', listing).group(1)
            picks = re.findall(r'name="pick" value="([^"]+)"', listing)[:50]
            urls = {
                "overview 7 days": "/?days=7",
                "overview 30 days": "/?days=30",
                "overview 90 days": "/?days=90",
                "objects (newest)": "/console/objects",
                "objects, older page": older.group(1).replace("&amp;", "&") if older else "/console/objects",
                "objects: type=indicator": "/console/objects?type=indicator",
                "objects: TLP:AMBER": "/console/objects?tlp=amber",
                "objects: one collection": f"/console/objects?collection={DIALOGUE}",
                "objects: since 7 days ago": "/console/objects?since=" + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * 86400)),
                "search: common word": "/console/objects?q=spyware",
                "search: rare word": "/console/objects?q=zzqx",
                "autocompletion": "/console/share/find?q=spy",
                "object: indicator": first.group(1) if first else "/console/objects",
                "object: malware (many relationships)": malware.group(2).replace("&amp;", "&") if malware else "/",
                "share": "/console/share",
                "incidents": "/console/incidents",
                "administration": "/console/admin",
            }
            for name, url in urls.items():
                if args.only and not re.search(args.only, name):
                    continue
                pages.setdefault(name, {})[who] = measure(s, base + url, args.warmup, args.requests)
            if args.only and not re.search(args.only, "export 50 objects (POST)"):
                continue
            body = "&".join([f"csrf={csrf}"] + [f"pick={requests.utils.quote(p)}" for p in picks])
            s.headers["Content-Type"] = "application/x-www-form-urlencoded"
            pages.setdefault("export 50 objects (POST)", {})[who] = measure(
                s, base + "/console/objects/export", args.warmup, args.requests, method="post", data=body)
            del s.headers["Content-Type"]
        results["pages"] = pages
    finally:
        server.terminate()
        server.wait()
    (out / ("results-hide-expired.json" if args.hide_expired else "results.json")).write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "pages"}, indent=2))
    worst = 0.0
    print(f"\n| page | user | p50 ms | p99 ms | max ms | requests | bytes | status |\n|---|---|---|---|---|---|---|---|")
    for name, per in results["pages"].items():
        for who, m in per.items():
            worst = max(worst, m["p99"])
            print(f"| {name} | {who} | {m['p50']:.1f} | {m['p99']:.1f} | {m['max']:.1f} | {m['n']} | {m['bytes']:,} | {m['status']} |")
    print(f"\nworst p99: {worst:.1f} ms (target: 50 ms)")


if __name__ == "__main__":
    main()
