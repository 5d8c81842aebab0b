"""Helpers of the conversion tests: an Entente node in a temporary directory,
driven through the CLI (`import --format …`, `export --format …`)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ENTENTE_BIN", ROOT / "target" / "debug" / "entente"))
VECTORS = ROOT / "crates" / "convert" / "tests" / "misp"

TLP_LEVELS = {
    # TLP 2.0 (FIRST, 2022)
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
    # TLP 1.0 (STIX 2.1 section 7.2.1.4); WHITE is CLEAR
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}


def entente(data_dir, *args, stdin=None, timeout=600):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build -p entente` first")
    env = dict(os.environ)
    env.pop("ENTENTE_DATA", None)
    return subprocess.run(
        [str(BINARY), "--data", str(data_dir), *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
    )


def ok(data_dir, *args, **kwargs):
    done = entente(data_dir, *args, **kwargs)
    assert done.returncode == 0, (
        f"entente {' '.join(map(str, args))} failed:\n"
        f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
    )
    return done


class Node:
    """An initialised node with one collection."""

    def __init__(self, path, title="Imports"):
        self.path = Path(path)
        ok(self.path, "init")
        self.collection = ok(self.path, "collection", "create", "--title", title).stdout.decode().split()[-1]

    def import_(self, *args, **kwargs):
        """`entente import` into the collection; returns the completed process."""
        return entente(self.path, "import", "--collection", self.collection, "--quiet", *args, **kwargs)

    def export(self, *args):
        """The objects imported into the collection (operator export), without
        the `x-entente-manifest` objects in which the node signs them."""
        out = ok(self.path, "export", "--collection", self.collection, *args)
        return [o for o in json.loads(out.stdout)["objects"] if o["type"] != "x-entente-manifest"]


def summary_counts(stdout):
    """(stored, duplicates, rejected) from an import summary."""
    first = stdout.decode().splitlines()[0]
    words = first.replace(",", "").split()
    return int(words[1]), int(words[3]), int(words[5])
