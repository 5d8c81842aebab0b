#!/usr/bin/env python3
"""Import benchmark: MISP events and CSV into an Entente node, end to end,
side by side in one run with MISP's own converter `misp-stix` converting the
same events.

Phases, on the same generated workload of N indicators:

  misp      `entente import --format misp` of E events holding N to_ids
            attributes (nine attribute types), into a fresh node: read,
            convert, validate, store (SQLite on disk), audit;
  csv       `entente import` of a CSV file of N rows (five kinds, defanged
            URLs, TLP column), into a fresh node;
  stix      `entente import` of the STIX bundle the misp phase stored,
            into a fresh node: what conversion adds to a plain import;
  misp-stix `misp_stix_converter.MISPtoSTIX21Parser` converting the same
            MISP events to a STIX 2.1 bundle in memory (conversion only:
            it stores nothing, and it writes observed data next to every
            indicator, so it produces more objects).

Each Entente phase is one CLI process; wall time and the process's CPU time
(user + system) are measured from outside. The CPU time per indicator does
not grow when other processes compete for the cores, so it is the figure to
compare between runs on a busy machine; the load average is printed.

Usage (from the repository root):
  cargo build --release -p entente
  python3 bench/import/bench.py --scale 100000
  python3 bench/import/bench.py --scale 100000 --csv-scale 1000000
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "bench" / "out" / "import"
MISP_STIX_VENV = ROOT / "bench" / "out" / "venv-misp-stix"
MISP_STIX_VERSION = "2026.10.12"
T0 = 1789459200


def stable_uuid(name):
    h = bytearray(hashlib.sha256(name.encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(h)))


def attribute(i):
    """The i-th to_ids attribute: nine types in turn, distinct values."""
    k = i % 9
    digest = hashlib.sha256(str(i).encode()).hexdigest()
    typed = [
        ("ip-dst", "Network activity", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"),
        ("domain", "Network activity", f"c2-{i}.spyware.example"),
        ("url", "Network activity", f"https://cdn-{i}.example/d/{digest[:12]}"),
        ("sha256", "Payload delivery", digest),
        ("md5", "Payload delivery", digest[:32]),
        ("filename|sha1", "Payload delivery", f"update-{i}.apk|{digest[:40]}"),
        ("email-src", "Payload delivery", f"sender{i}@mail-{i % 50}.example"),
        ("hostname", "Network activity", f"api.c2-{i}.spyware.example"),
        ("ip-dst|port", "Network activity", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}|{1024 + i % 60000}"),
    ][k]
    return {
        "uuid": stable_uuid(f"attr-{i}"), "type": typed[0], "category": typed[1], "value": typed[2],
        "to_ids": True, "timestamp": str(T0 + i), "comment": "", "distribution": "5",
        "deleted": False, "object_relation": None, "first_seen": None, "last_seen": None,
    }


def misp_events(n, per_event):
    events = []
    for e in range(0, n, per_event):
        attrs = [attribute(i) for i in range(e, min(n, e + per_event))]
        events.append({"Event": {
            "uuid": stable_uuid(f"event-{e}"), "info": f"Spyware infrastructure, batch {e // per_event}",
            "date": "2026-09-15", "timestamp": str(T0 + e), "published": True,
            "publish_timestamp": str(T0 + e + 60), "threat_level_id": "2", "analysis": "2",
            "distribution": "1",
            "Orgc": {"uuid": stable_uuid("org"), "name": "Lantern Digital Helpdesk"},
            "Tag": [{"name": "tlp:green"}], "Attribute": attrs, "Object": [], "Galaxy": [],
        }})
    return {"response": events}


def csv_rows(n, path):
    with path.open("w") as f:
        f.write("type,value,comment,tlp\n")
        for i in range(n):
            k = i % 5
            if k == 0:
                f.write(f"domain,c2-{i}.spyware.example,C2,green\n")
            elif k == 1:
                f.write(f",10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255},,green\n")
            elif k == 2:
                f.write(f"sha256,{hashlib.sha256(str(i).encode()).hexdigest()},dropper,amber\n")
            elif k == 3:
                f.write(f"url,hxxps://cdn-{i}[.]example/d,defanged,clear\n")
            else:
                f.write(f",sender{i}@mail-{i % 50}.example,phishing sender,\n")


def run_timed(argv, **kwargs):
    """Runs a process; returns (completed, wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def entente_import(binary, workdir, name, files, args=()):
    data = workdir / name
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run([binary, "--data", data, "init"], check=True, capture_output=True)
    collection = subprocess.run(
        [binary, "--data", data, "collection", "create", "--title", name],
        check=True, capture_output=True, text=True,
    ).stdout.split()[-1]
    done, wall, cpu = run_timed([binary, "--data", data, "import", "--collection", collection, "-q", *args, *files])
    summary = done.stdout.decode().splitlines()[0] if done.stdout else done.stderr.decode()
    stored = int(summary.split()[1].rstrip(",")) if summary.startswith("stored") else 0
    return data, collection, stored, wall, cpu, summary


def ensure_misp_stix(python):
    if python:
        return python
    py = MISP_STIX_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", MISP_STIX_VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", f"misp-stix=={MISP_STIX_VERSION}"], check=True)
    return str(py)


MISP_STIX_RUN = r"""
import json, sys, time
from misp_stix_converter import MISPtoSTIX21Parser
text = open(sys.argv[1]).read()
start = time.perf_counter()
parser = MISPtoSTIX21Parser()
parser.parse_json_content(text)
objects = json.loads(parser.bundle.serialize())["objects"]
wall = time.perf_counter() - start
indicators = sum(1 for o in objects if o["type"] == "indicator")
print(json.dumps({"wall": wall, "objects": len(objects), "indicators": indicators}))
"""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=100_000, help="indicators in the MISP events")
    p.add_argument("--csv-scale", type=int, default=None, help="CSV rows (default: --scale)")
    p.add_argument("--per-event", type=int, default=1_000, help="attributes per MISP event")
    p.add_argument("--binary", default=str(ROOT / "target" / "release" / "entente"))
    p.add_argument("--misp-stix-python", default=None,
                   help="a Python with misp-stix installed (default: a venv made here)")
    p.add_argument("--skip-misp-stix", action="store_true")
    args = p.parse_args()
    csv_scale = args.csv_scale or args.scale
    work = OUT / str(args.scale)
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    events_path = work / "events.json"
    events_path.write_text(json.dumps(misp_events(args.scale, args.per_event)))
    csv_path = work / "iocs.csv"
    csv_rows(csv_scale, csv_path)

    results = {}
    data, collection, stored, wall, cpu, summary = entente_import(
        args.binary, work, "misp", [events_path], ["--format", "misp"])
    indicators = args.scale
    results["entente misp"] = dict(indicators=indicators, objects=stored, wall=wall, cpu=cpu, summary=summary)
    bundle = work / "stored.json"
    subprocess.run([args.binary, "--data", data, "export", "--collection", collection, "-o", bundle],
                   check=True, capture_output=True)
    # The same objects: without the manifests in which the first node signed
    # them (the second node signs what it stores itself).
    exported = json.loads(bundle.read_text())
    exported["objects"] = [o for o in exported["objects"] if o["type"] != "x-entente-manifest"]
    bundle.write_text(json.dumps(exported, ensure_ascii=False, separators=(",", ":")))
    _, _, stored, wall, cpu, summary = entente_import(args.binary, work, "stix", [bundle])
    results["entente stix (same objects)"] = dict(indicators=indicators, objects=stored, wall=wall, cpu=cpu,
                                                  summary=summary)
    _, _, stored, wall, cpu, summary = entente_import(args.binary, work, "csv", [csv_path])
    results["entente csv"] = dict(indicators=stored, objects=stored, wall=wall, cpu=cpu, summary=summary)

    if not args.skip_misp_stix:
        python = ensure_misp_stix(args.misp_stix_python)
        done, wall, cpu = run_timed([python, "-c", MISP_STIX_RUN, events_path], text=True)
        if done.returncode != 0:
            sys.exit(done.stderr)
        r = json.loads(done.stdout)
        # Its own timer, conversion alone (not the interpreter's start-up or
        # reading the file); CPU time is the whole process.
        results["misp-stix (convert only)"] = dict(indicators=r["indicators"], objects=r["objects"],
                                                   wall=r["wall"], cpu=cpu, summary="")

    load_after = os.getloadavg()
    print(f"\nimport benchmark: {args.scale:,} MISP indicators in {len(range(0, args.scale, args.per_event))} "
          f"events, {csv_scale:,} CSV rows; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} CPUs)\n")
    print(f"{'phase':32} {'indicators':>10} {'objects':>9} {'wall s':>8} {'ind/s':>10} {'CPU s':>7} {'CPU µs/ind':>10}")
    for name, r in results.items():
        rate = r["indicators"] / r["wall"] if r["wall"] else float("nan")
        per = r["cpu"] / r["indicators"] * 1e6 if r["indicators"] else float("nan")
        print(f"{name:32} {r['indicators']:>10,} {r['objects']:>9,} {r['wall']:>8.2f} {rate:>10,.0f} "
              f"{r['cpu']:>7.2f} {per:>10.1f}")
    if "misp-stix (convert only)" in results:
        ms = results["misp-stix (convert only)"]
        e = results["entente misp"]
        print(f"\nentente misp (end to end, stored) vs misp-stix (conversion only): "
              f"{(e['indicators'] / e['wall']) / (ms['indicators'] / ms['wall']):.1f}x indicators/s")
    (work / "results.json").write_text(json.dumps(
        {"scale": args.scale, "csv_scale": csv_scale, "load": [load_before, load_after], "results": results},
        indent=1))
    for name, r in results.items():
        if r["summary"] and not r["summary"].startswith("stored"):
            print(f"{name}: {r['summary']}")


if __name__ == "__main__":
    main()
