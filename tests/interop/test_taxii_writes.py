"""Adding and deleting objects with taxii2-client: status resources, per-object
failures next to stored successes, duplicates, conflicts, and DELETE with and
without version filters."""

import copy
import json
import threading
import time

import pytest
import requests
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Status, as_pages

from interop_data import TLP2, Factory, Model, parse_time, stix_time, version_key
from interop_support import TAXII, envelope_objects, session

_OPTIONS = ValidationOptions(version="2.1")


@pytest.fixture(scope="module")
def setup(node):
    cid = node.collection("Write tests")
    other = node.collection("Somebody else's")
    tokens = {
        "rw": node.token("w-rw", read=[cid], write=[cid]),
        "rw2": node.token("w-rw2", read=[cid], write=[cid]),
        "reader": node.token("w-reader", read=[cid]),
        "writer": node.token("w-writer", write=[cid]),
        "stranger": node.token("w-stranger", read=[other], write=[other]),
        "admin": node.admin,
    }
    return cid, tokens


def collection(node, cid, token):
    return Collection(node.collection_url(cid), user="submitter", password=token)


def check_status_shape(status):
    """What TAXII 2.1 requires of a status resource (taxii2-client checks part of it)."""
    raw = status._raw
    assert raw["status"] in ("complete", "pending")
    assert raw["total_count"] == raw["success_count"] + raw["failure_count"] + raw["pending_count"]
    for details, count in (("successes", "success_count"), ("failures", "failure_count"), ("pendings", "pending_count")):
        if raw[count]:
            assert len(raw[details]) == raw[count]
        else:
            assert details not in raw, f"an empty {details} list must be omitted"
    stamp = raw["request_timestamp"]
    assert len(stamp) == len("2024-01-01T00:00:00.000000Z") and stamp.endswith("Z")
    parse_time(stamp)


def invalid_objects(f):
    """Objects both validators must refuse, with a word the reason must contain."""
    no_pattern = f.indicator(1)
    del no_pattern["pattern"]
    offset_time = f.malware(2)
    offset_time["created"] = "2024-01-01T00:00:00+01:00"
    wrong_prefix = f.malware(3)
    wrong_prefix["id"] = wrong_prefix["id"].replace("malware--", "indicator--")
    backwards = f.indicator(4)
    backwards["modified"] = "2020-01-01T00:00:00.000Z"
    no_target = f.relationship(f.indicator(5), f.malware(6))
    del no_target["target_ref"]
    lowercase_t = f.sdo("campaign", name="lower t")
    lowercase_t["modified"] = lowercase_t["modified"].replace("T", "t")
    no_spec_version = f.malware(7)
    del no_spec_version["spec_version"]
    not_family = f.malware(8)
    not_family["is_family"] = "yes"
    return [
        (no_pattern, "pattern"),
        (offset_time, "created"),
        (wrong_prefix, "id"),
        (backwards, "modified"),
        (no_target, "target_ref"),
        (lowercase_t, "modified"),
        (no_spec_version, "spec_version"),
        (not_family, "is_family"),
    ]


def test_mixed_envelope_stores_valid_and_reports_each_invalid_object(node, setup):
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(11)
    valid = [f.indicator(n) for n in range(10, 16)] + [f.malware(20)]
    invalid = invalid_objects(f)
    # The OASIS validator agrees with the server on every object.
    for obj in valid:
        assert validate_instance(obj, _OPTIONS).is_valid
    for obj, _ in invalid:
        assert not validate_instance(obj, _OPTIONS).is_valid, obj["id"]
    mixed = []
    for i, obj in enumerate(valid):
        mixed.append(obj)
        if i < len(invalid):
            mixed.append(invalid[i][0])
    mixed += [o for o, _ in invalid[len(valid):]]

    started = time.monotonic()
    status = col.add_objects({"objects": mixed}, wait_for_completion=True)
    assert time.monotonic() - started < 1.0, "a small add must not make the client poll"
    assert status.status == "complete" and bool(status)
    check_status_shape(status)
    assert status.total_count == len(mixed)
    assert status.success_count == len(valid)
    assert status.failure_count == len(invalid)
    assert status.pending_count == 0
    assert [s["id"] for s in status.successes] == [o["id"] for o in valid]
    for s, obj in zip(status.successes, valid):
        assert parse_time(s["version"]) == version_key(obj)
    by_id = {fl["id"]: fl for fl in status.failures}
    for obj, word in invalid:
        failure = by_id[obj["id"]]
        assert word in failure["message"], failure
        assert f"object {mixed.index(obj)}" in failure["message"], failure

    # What was accepted is stored and served; nothing refused is.
    reader = collection(node, cid, tokens["reader"])
    stored = envelope_objects(reader.get_objects())
    assert [o["id"] for o in stored] == [o["id"] for o in valid]
    assert stored == valid
    for obj, _ in invalid:
        if obj["id"] in {o["id"] for o in valid}:
            continue
        with pytest.raises(requests.HTTPError) as e:
            reader.get_object(obj["id"])
        assert e.value.response.status_code == 404


def test_failure_details_carry_the_object_version(node, setup):
    """TAXII 2.1 §4.3.1: status-details `version` is required and is the
    object's version (its `modified`). For a refused object whose `modified`
    is readable, the server should report it rather than an empty string."""
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(12)
    no_pattern = f.indicator(1)
    del no_pattern["pattern"]
    status = col.add_objects({"objects": [no_pattern]})
    assert status.failure_count == 1
    assert status.failures[0]["version"] == no_pattern["modified"]


def test_status_endpoint_returns_the_same_resource_to_its_owner_only(node, setup):
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(13)
    bad = f.indicator(2)
    del bad["pattern_type"]
    posted = col.add_objects({"objects": [f.indicator(1), bad]}, wait_for_completion=False)
    url = f"{node.api_root}status/{posted.id}/"
    assert posted.url == url
    fetched = Status(url, user="u", password=tokens["rw"])
    fetched.refresh()
    assert fetched._raw == posted._raw
    check_status_shape(fetched)
    fetched.wait_until_final(poll_interval=1, timeout=1)
    assert fetched.status == "complete"
    # Through the API root, as taxii2-client offers it.
    via_root = ApiRoot(node.api_root, user="u", password=tokens["rw"]).get_status(posted.id)
    assert via_root._raw == posted._raw
    # An administrator may read it too.
    as_admin = Status(url, user="u", password=tokens["admin"])
    as_admin.refresh()
    assert as_admin.id == posted.id
    # Another token, even one with the same rights, learns nothing.
    for who in ("rw2", "reader", "stranger"):
        r = session(tokens[who]).get(url)
        assert r.status_code == 404, who
    r = session(tokens["rw"]).get(f"{node.api_root}status/3f0e9d7b-2d55-4f6e-8f68-9b8f3c0a4e21/")
    assert r.status_code == 404
    assert r.json()["http_status"] == "404"


def test_duplicates_succeed_and_change_nothing(node, setup):
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(14)
    objs = [f.indicator(n) for n in range(5)]
    col.add_objects({"objects": objs})
    before = col.get_manifest(id=[o["id"] for o in objs], version="all")["objects"]
    # The same objects again, re-serialised with another key order.
    reordered = [dict(sorted(o.items())) for o in objs]
    status = col.add_objects({"objects": reordered})
    assert status.success_count == 5 and status.failure_count == 0
    assert all(s.get("message") for s in status.successes), status.successes
    after = col.get_manifest(id=[o["id"] for o in objs], version="all")["objects"]
    assert after == before, "a duplicate must not get a new date_added nor a new version"


def test_same_version_with_other_content_is_a_failure(node, setup):
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(15)
    original = f.indicator(1)
    col.add_objects({"objects": [original]})
    changed = copy.deepcopy(original)
    changed["name"] = "Silently changed without a new modified"
    newer = f.new_version(original, name="Properly versioned change")
    status = col.add_objects({"objects": [changed, newer]})
    assert status.failure_count == 1 and status.success_count == 1
    assert status.failures[0]["id"] == original["id"]
    assert "modified" in status.failures[0]["message"]
    got = col.get_object(original["id"], version="all")["objects"]
    assert got == [original, newer]


def test_stix2_style_bundle_envelope_and_json_text(node, setup):
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(16)
    objs = [f.malware(1), f.indicator(2)]
    bundle = {"type": "bundle", "id": "bundle--" + f.uuid(), "objects": objs}
    status = col.add_objects(json.dumps(bundle).encode())
    assert status.success_count == 2
    got = col.get_objects(id=[o["id"] for o in objs])["objects"]
    assert sorted(got, key=lambda o: o["id"]) == sorted(objs, key=lambda o: o["id"])


def test_unprocessable_bodies(node, setup):
    cid, tokens = setup
    s = session(tokens["rw"])
    url = node.collection_url(cid) + "objects/"
    headers = {"Content-Type": TAXII}
    for body in [b"{not json", b'{"objects": "x"}', b'"text"', b'{"objects": []}']:
        r = s.post(url, data=body, headers=headers)
        assert r.status_code in (400, 422), (body, r.status_code, r.text)
        assert r.headers["Content-Type"].replace(" ", "") == TAXII
        err = r.json()
        assert err["title"] and err["http_status"] == str(r.status_code)


def test_empty_envelope_is_refused(node, setup):
    """`{}` is a TAXII envelope without objects (TAXII 2.1 §3.7: `objects` is
    optional). It must be refused like `{"objects": []}`, not read as one STIX
    object lacking `type`, which yields a status with total_count 1."""
    cid, tokens = setup
    r = session(tokens["rw"]).post(
        node.collection_url(cid) + "objects/", data=b"{}", headers={"Content-Type": TAXII}
    )
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["http_status"] == "422"


def versions_of(col, stix_id):
    return [parse_time(v) for v in col.object_versions(stix_id).get("versions", [])]


@pytest.fixture()
def versioned(node, setup):
    """Three objects with three versions each, freshly added."""
    cid, tokens = setup
    col = collection(node, cid, tokens["rw"])
    f = Factory(int(time.time() * 1000) % 100000)
    model = Model()
    objs = []
    for n in range(3):
        v1 = f.indicator(n)
        v2 = f.new_version(v1, confidence=50)
        v3 = f.new_version(v2, confidence=80)
        objs.append([v1, v2, v3])
        for v in (v1, v2, v3):
            model.add(v)
    col.add_objects({"objects": [v for versions in objs for v in versions]})
    return col, objs, model


def test_delete_without_version_removes_every_version(node, setup, versioned):
    col, objs, _ = versioned
    target = objs[0][0]["id"]
    col.delete_object(target)
    for call in (lambda: col.get_object(target), lambda: col.object_versions(target)):
        with pytest.raises(requests.HTTPError) as e:
            call()
        assert e.value.response.status_code == 404
    manifest = col.get_manifest(version="all")["objects"]
    assert target not in {r["id"] for r in manifest}
    assert target not in {o["id"] for o in col.get_objects(version="all")["objects"]}
    # The others are untouched.
    assert versions_of(col, objs[1][0]["id"]) == [version_key(v) for v in objs[1]]
    # Deleting it again: there is nothing left to delete.
    with pytest.raises(requests.HTTPError) as e:
        col.delete_object(target)
    assert e.value.response.status_code == 404
    # It may be added again.
    assert col.add_objects({"objects": objs[0]}).success_count == 3
    assert versions_of(col, target) == [version_key(v) for v in objs[0]]


@pytest.mark.parametrize("which", ["first", "last", "middle"])
def test_delete_one_version(node, setup, versioned, which):
    col, objs, model = versioned
    v1, v2, v3 = objs[1]
    stix_id = v1["id"]
    if which == "middle":
        col.delete_object(stix_id, version=stix_time(version_key(v2)))
        model.delete(stix_id, version_key(v2))
    else:
        col.delete_object(stix_id, version=which)
        model.delete(stix_id, which)
    remaining = [r["version"] for r in model.select(ids=[stix_id], versions=("all",))]
    assert versions_of(col, stix_id) == remaining
    assert [version_key(o) for o in col.get_object(stix_id, version="all")["objects"]] == remaining
    # first and last are recomputed over what remains.
    assert version_key(col.get_object(stix_id)["objects"][0]) == max(remaining)
    assert version_key(col.get_object(stix_id, version="first")["objects"][0]) == min(remaining)
    assert [version_key(o) for o in col.get_objects(id=stix_id, version="last")["objects"]] == [max(remaining)]


def test_delete_a_version_that_is_not_there_is_404(node, setup, versioned):
    col, objs, _ = versioned
    with pytest.raises(requests.HTTPError) as e:
        col.delete_object("indicator--00000000-0000-4000-8000-000000000000")
    assert e.value.response.status_code == 404


def test_delete_rights(node, setup, versioned):
    cid, tokens = setup
    _, objs, _ = versioned
    url = f"{node.collection_url(cid)}objects/{objs[2][0]['id']}/"
    expected = {"reader": 403, "writer": 403, "stranger": 404}
    for who, code in expected.items():
        r = session(tokens[who]).delete(url)
        assert r.status_code == code, (who, r.status_code, r.text)
        assert r.headers["Content-Type"].replace(" ", "") == TAXII
    col = collection(node, cid, tokens["rw"])
    assert versions_of(col, objs[2][0]["id"]) == [version_key(v) for v in objs[2]]
    r = session(tokens["admin"]).delete(url)
    assert r.status_code == 200
    assert r.headers["Content-Type"].replace(" ", "") == TAXII


def test_copies_in_two_collections_are_independent(node, setup):
    """TLP:CLEAR may be shared anywhere, so one object can live in two
    collections; each copy has its own date_added and its own life."""
    cid, tokens = setup
    other = node.collection("Second home")
    admin_a = collection(node, cid, tokens["admin"])
    admin_b = collection(node, other, tokens["admin"])
    f = Factory(17)
    obj = f.indicator(1)
    obj["object_marking_refs"] = [TLP2["clear"]]
    admin_a.add_objects({"objects": [obj]})
    admin_b.add_objects({"objects": [obj]})
    rec_a = admin_a.get_manifest(id=obj["id"])["objects"][0]
    rec_b = admin_b.get_manifest(id=obj["id"])["objects"][0]
    assert rec_a["version"] == rec_b["version"]
    assert rec_a["date_added"] < rec_b["date_added"]
    admin_a.delete_object(obj["id"])
    assert admin_b.get_object(obj["id"])["objects"] == [obj]
    with pytest.raises(requests.HTTPError):
        admin_a.get_object(obj["id"])


def test_concurrent_writers_lose_nothing_and_never_share_a_date_added(node, setup):
    cid, tokens = setup
    target = node.collection("Concurrent writers")
    token = node.token("w-concurrent", read=[target], write=[target])
    batches = []
    for w in range(4):
        f = Factory(400 + w)
        batches.append([[f.indicator(n) for n in range(b * 20, b * 20 + 20)] for b in range(8)])
    results = []

    def writer(mine):
        col = collection(node, target, token)
        for batch in mine:
            results.append(col.add_objects({"objects": batch}))

    threads = [threading.Thread(target=writer, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 32
    assert all(r.status == "complete" and r.success_count == 20 for r in results)
    col = collection(node, target, token)
    records = [r for page in as_pages(col.get_manifest, per_request=100) for r in page["objects"]]
    assert len(records) == 4 * 8 * 20
    stamps = [r["date_added"] for r in records]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    posted = {o["id"] for w in batches for b in w for o in b}
    assert {r["id"] for r in records} == posted
