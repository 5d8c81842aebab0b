"""Provenance objects are valid STIX 2.1 for the OASIS tools, match the JSON
Schemas their extension definitions publish, and their digests are SHA-256
over RFC 8785 canonical JSON as an independent implementation computes it.

The bundle is written by `cargo run -p provenance --example write_samples`
and also checked by crates/provenance/tests/vectors.rs (signatures, pins).

Run from the repository root with the project venv:
    .venv/bin/pytest tests/provenance
"""

import hashlib
import json
import logging
from pathlib import Path

import jsonschema
import pytest
from stix2validator import ValidationOptions, validate_instance

VECTORS = Path(__file__).resolve().parents[2] / "crates" / "provenance" / "tests" / "vectors"
BUNDLE = json.loads((VECTORS / "signed-bundle.json").read_text(encoding="utf-8"))
OBJECTS = BUNDLE["objects"]
MANIFEST_EXTENSION = "extension-definition--817b0600-b211-4176-83a9-67f4594d0db7"
SIGNATURE_EXTENSION = "extension-definition--a4d9da33-f051-4e5f-a1fe-7d8d90217ebb"

logging.getLogger("stix2validator").setLevel(logging.WARNING)


def by_type(kind):
    return [o for o in OBJECTS if o["type"] == kind]


def jcs(value):
    """RFC 8785 for these objects: no floats, no member names beyond the BMP
    (where Python's code point order equals UTF-16 order), so sorted keys,
    no whitespace and literal UTF-8 are the whole of it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def version_of(obj):
    return obj.get("modified", obj.get("created"))


@pytest.mark.parametrize("obj", OBJECTS, ids=[o["id"] for o in OBJECTS])
def test_every_object_is_valid_stix_2_1(obj):
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def test_the_bundle_is_valid_stix_2_1():
    result = validate_instance(BUNDLE, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


@pytest.mark.parametrize(
    "kind,extension", [("x-entente-manifest", MANIFEST_EXTENSION), ("x-entente-signature", SIGNATURE_EXTENSION)]
)
def test_objects_match_the_schema_their_extension_definition_publishes(kind, extension):
    (definition,) = [o for o in OBJECTS if o["id"] == extension]
    assert definition["extension_types"] == ["new-sdo"]
    schema = json.loads(definition["schema"])
    jsonschema.Draft202012Validator.check_schema(schema)
    objects = by_type(kind)
    assert objects
    for obj in objects:
        assert obj["extensions"][extension] == {"extension_type": "new-sdo"}
        jsonschema.validate(obj, schema, cls=jsonschema.Draft202012Validator)
    # The schema is not a rubber stamp: a broken object fails it.
    broken = dict(objects[0])
    broken["signature"] = dict(broken["signature"], alg="Ed25519")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_manifest_digests_are_sha256_of_the_rfc8785_form():
    content = {o["id"]: o for o in OBJECTS if not o["type"].startswith("x-entente-")}
    (manifest,) = by_type("x-entente-manifest")
    listed = {e["object_ref"] for e in manifest["entries"]}
    expected = {i for i, o in content.items() if o["type"] not in ("identity", "extension-definition")}
    assert listed == expected
    for entry in manifest["entries"]:
        obj = content[entry["object_ref"]]
        assert entry.get("object_version") == version_of(obj)
        assert entry["sha256"] == hashlib.sha256(jcs(obj)).hexdigest()


def test_document_signatures_name_the_digest_of_their_object():
    content = {o["id"]: o for o in OBJECTS}
    signatures = by_type("x-entente-signature")
    assert {s["object_ref"].split("--")[0] for s in signatures} == {"report", "opinion"}
    for sig in signatures:
        obj = content[sig["object_ref"]]
        assert sig["object_version"] == version_of(obj)
        assert sig["object_sha256"] == hashlib.sha256(jcs(obj)).hexdigest()
        # What a co-signer's signature covers changes with any value.
        edited = dict(obj, confidence=obj.get("confidence", 0) + 1)
        assert hashlib.sha256(jcs(edited)).hexdigest() != sig["object_sha256"]
