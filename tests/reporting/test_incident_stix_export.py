"""`entente incident export` writes STIX 2.1 that the OASIS validator and the
`stix2` library accept, with TLP 2.0 marking definitions."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import stix2
from stix2validator import ValidationOptions, validate_string

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("ENTENTE_BIN", ROOT / "target" / "debug" / "entente"))
V1 = ROOT / "crates" / "reporting" / "tests" / "vectors" / "v01-energy-ransomware-eu-us" / "incident.json"
FULL = ROOT / "crates" / "reporting" / "tests" / "data" / "full-record.json"
TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def export(record, *args):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build -p entente` first")
    done = subprocess.run(
        [str(BINARY), "incident", "export", str(record), "--at", "2026-11-17T00:00:00Z", *args],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_valid(text):
    results = validate_string(text, ValidationOptions(version="2.1", strict=False))
    messages = [str(e) for e in results.errors]
    assert results.is_valid, messages


@pytest.mark.parametrize("tlp", sorted(TLP2))
def test_export_at_every_tlp_passes_the_oasis_validator(tlp):
    text = export(V1, "--tlp", tlp)
    assert_valid(text)
    bundle = json.loads(text)
    incident = bundle["objects"][0]
    assert incident["type"] == "incident"
    assert incident["object_marking_refs"] == [TLP2[tlp]]
    markings = {o["id"]: o for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert markings[TLP2[tlp]]["name"] == "TLP:" + tlp.upper()


def test_default_marking_is_amber_strict_and_stix2_parses_it():
    text = export(FULL)
    bundle = stix2.parse(text, allow_custom=True)
    incident = bundle.objects[0]
    assert incident.object_marking_refs == [TLP2["amber+strict"]]
    assert incident.id == "incident--0b6f5c9e-6a53-4b7e-9d0f-2f4c1f3f8a10"
    ext = json.loads(text)["objects"][0]["extensions"]
    (facts,) = ext.values()
    assert facts["extension_type"] == "property-extension"
    assert "soc@" not in text and "ciso@example.org" not in text


def test_identified_export_passes_the_validator():
    assert_valid(export(V1, "--identify-entity", "--tlp", "green"))
