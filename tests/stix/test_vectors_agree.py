"""Differential test: Entente's STIX vectors against the OASIS stix2-validator.

Every file in crates/stix/tests/vectors/valid must be valid for the reference
validator too. Every file in crates/stix/tests/vectors/invalid must be invalid
for it as well, unless the vector says why the reference is laxer
(`"reference_accepts": true, "why": "..."`). A vector that claims the
reference accepts it must really be accepted, so the claims stay true.

Run from the repository root with the project venv:
    .venv/bin/pytest tests/stix
"""

import json
import logging
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_instance
from stix2validator.errors import ValidationError

VECTORS = Path(__file__).resolve().parents[2] / "crates" / "stix" / "tests" / "vectors"
OPTIONS = ValidationOptions(version="2.1")

# The reference logs a line per check it runs; keep test output readable.
logging.getLogger("stix2validator").setLevel(logging.WARNING)


def reference_verdict(obj):
    """(is_valid, messages) as the reference validator sees `obj`."""
    try:
        result = validate_instance(obj, OPTIONS)
    except (ValidationError, TypeError, KeyError, AttributeError, ValueError) as e:
        # The reference raises instead of reporting on objects it cannot
        # even classify (no type or id, wrong JSON shapes): that is a rejection.
        return False, [f"{type(e).__name__}: {e}"]
    return result.is_valid, [str(e) for e in result.errors]


def load_invalid(path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    if "raw" in vector:
        try:
            obj = json.loads(vector["raw"])
        except json.JSONDecodeError:
            obj = None
    else:
        obj = vector["object"]
    return vector, obj


VALID = sorted((VECTORS / "valid").glob("*.json"))
INVALID = sorted((VECTORS / "invalid").glob("*.json"))


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_vector_is_valid_for_the_reference(path):
    obj = json.loads(path.read_text(encoding="utf-8"))
    ok, messages = reference_verdict(obj)
    assert ok, f"stix2-validator rejects {path.name}: {messages}"


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_vector_is_invalid_for_the_reference(path):
    vector, obj = load_invalid(path)
    documented = vector.get("reference_accepts", False)
    if documented:
        assert vector.get("why"), f"{path.name}: reference_accepts needs a 'why'"
    if obj is None:
        # Not JSON at all: Python's json module refuses it as we do.
        assert not documented, f"{path.name}: unparseable text cannot be accepted"
        return
    if not isinstance(obj, dict):
        return
    ok, messages = reference_verdict(obj)
    if documented:
        assert ok, (
            f"{path.name} says the reference accepts it, but it rejects it: {messages}; "
            "remove reference_accepts/why"
        )
    else:
        assert not ok, (
            f"stix2-validator accepts {path.name}, which Entente rejects; either fix the rule "
            "or document why the reference is laxer with reference_accepts/why"
        )


def test_there_are_vectors():
    assert len(VALID) >= 42
    assert len(INVALID) >= 100
