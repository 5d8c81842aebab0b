"""Times stix2-matcher on the side-by-side workload written by
`engine_bench side-by-side DIR`, on the first N observations (the full
10,000 would take minutes per 1,000 patterns), and checks that it finds
exactly the matches Entente found on those observations.

Usage: reference.py DIR [N]   (prints JSON)
"""

import json
import sys
import time

from stix2matcher.matcher import Pattern


def main():
    out = sys.argv[1]
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    patterns = [line.rstrip("\n") for line in open(f"{out}/patterns.txt") if line.strip()]
    observations = []
    with open(f"{out}/observations.jsonl") as f:
        for line in f:
            observations.append(json.loads(line))
            if len(observations) >= sample:
                break
    entente = json.load(open(f"{out}/entente_matches.json"))
    compiled = [Pattern(p, "2.1") for p in patterns]
    mismatches = []
    matched = 0
    start = time.perf_counter()
    for i, bundle in enumerate(observations):
        found = [k for k, p in enumerate(compiled) if p.match([bundle])]
        if found:
            matched += 1
        if found != entente[i]:
            mismatches.append({"observation": i, "reference": found, "entente": entente[i]})
    seconds = time.perf_counter() - start
    print(json.dumps({
        "observations": len(observations),
        "patterns": len(patterns),
        "seconds": seconds,
        "observations_per_second": len(observations) / seconds,
        "observations_matched": matched,
        "mismatches": mismatches[:10],
        "identical_matches": not mismatches,
    }))


if __name__ == "__main__":
    main()
