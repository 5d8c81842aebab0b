"""The published JSON Schema of the incident record accepts every example
record of the reporting crate and rejects malformed ones, checked with the
independent `jsonschema` implementation (Draft 2020-12)."""

import json
from pathlib import Path

import jsonschema
import pytest

CRATE = Path(__file__).resolve().parents[2] / "crates" / "reporting"
SCHEMA = json.loads((CRATE / "schema" / "incident.schema.json").read_text())
VECTORS = sorted((CRATE / "tests" / "vectors").iterdir())
# Vectors whose records are well-formed but inconsistent (the schema cannot
# see time order or rule-level names), so the schema accepts them.
CONSISTENCY_ONLY = {
    "bad-aware-before-occurred",
    "bad-submission-names-and-times",
    "bad-submission-of-a-later-stage-before-the-incident",
    "bad-classified-major-but-not-major",
}


def validator():
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA, format_checker=cls.FORMAT_CHECKER)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator()


def test_the_full_example_record_validates():
    record = json.loads((CRATE / "tests" / "data" / "full-record.json").read_text())
    errors = sorted(validator().iter_errors(record), key=str)
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if not v.name.startswith("bad-") or v.name in CONSISTENCY_ONLY],
    ids=lambda v: v.name,
)
def test_every_example_record_validates(vector):
    record = json.loads((vector / "incident.json").read_text(encoding="utf-8-sig"))
    errors = sorted(validator().iter_errors(record), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if v.name.startswith("bad-") and v.name not in CONSISTENCY_ONLY and v.name != "bad-not-json"],
    ids=lambda v: v.name,
)
def test_malformed_records_are_rejected_by_the_schema_too(vector):
    record = json.loads((vector / "incident.json").read_text(encoding="utf-8-sig"))
    assert list(validator().iter_errors(record)), f"{vector.name} passed the schema"
