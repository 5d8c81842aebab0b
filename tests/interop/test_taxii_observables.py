"""STIX cyber-observables over TAXII: unversioned objects (no created or
modified) get a stable server-chosen version, the first date_added, which
every version filter and the versions endpoint agree on."""

import json

import pytest
import requests
import stix2
from stix2 import TAXIICollectionSource
from taxii2client.v21 import Collection, as_pages

from interop_data import Factory, parse_time
from interop_support import assert_valid_stix, session


def plain(obj):
    return json.loads(obj.serialize())


@pytest.fixture(scope="module")
def setup(node):
    cid = node.collection("Observables")
    token = node.token("o-rw", read=[cid], write=[cid])
    col = Collection(node.collection_url(cid), user="u", password=token)
    domain = plain(stix2.v21.DomainName(value="update-check.spyware.example"))
    ip = plain(stix2.v21.IPv4Address(value="203.0.113.77"))
    url = plain(stix2.v21.URL(value="https://login.phish.example/verify?id=42"))
    email = plain(stix2.v21.EmailAddress(value="recruiter@lure.example"))
    file_ = plain(stix2.v21.File(
        name="payload.apk",
        hashes={"SHA-256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    ))
    scos = [domain, ip, url, email, file_]
    f = Factory(71)
    observed = f.sdo(
        "observed-data",
        first_observed="2024-03-01T00:00:00Z",
        last_observed="2024-03-02T00:00:00Z",
        number_observed=4,
        object_refs=[domain["id"], ip["id"]],
    )
    status = col.add_objects({"objects": scos + [observed]})
    assert status.failure_count == 0, status.failures
    assert status.success_count == 6
    manifest = {r["id"]: r for r in col.get_manifest(version="all")["objects"]}
    return {"col": col, "token": token, "scos": scos, "observed": observed,
            "manifest": manifest, "status": status, "id": cid}


def test_observables_are_served_unchanged_and_valid(setup):
    got = assert_valid_stix(setup["col"].get_objects(type=[o["type"] for o in setup["scos"]])["objects"])
    assert got == setup["scos"]
    obs = assert_valid_stix(setup["col"].get_objects(type="observed-data")["objects"])
    assert obs == [setup["observed"]]


def test_unversioned_version_is_the_first_date_added(setup):
    manifest = setup["manifest"]
    for sco in setup["scos"]:
        rec = manifest[sco["id"]]
        assert parse_time(rec["version"]) == parse_time(rec["date_added"])
    # The status reported the same versions.
    for detail in setup["status"].successes:
        if detail["id"] in {s["id"] for s in setup["scos"]}:
            assert parse_time(detail["version"]) == parse_time(manifest[detail["id"]]["version"])


@pytest.mark.parametrize("version", ["first", "last", "all", "first,last"])
def test_every_version_keyword_returns_the_one_version(setup, version):
    for sco in setup["scos"]:
        got = setup["col"].get_object(sco["id"], version=version)["objects"]
        assert got == [sco]


def test_match_version_by_the_server_chosen_timestamp(setup):
    for sco in setup["scos"]:
        stamp = setup["manifest"][sco["id"]]["version"]
        assert setup["col"].get_objects(id=sco["id"], version=stamp)["objects"] == [sco]
        assert setup["col"].get_object(sco["id"], version="2001-01-01T00:00:00Z") == {}
        versions = setup["col"].object_versions(sco["id"])["versions"]
        assert [parse_time(v) for v in versions] == [parse_time(stamp)]


def test_reposting_an_observable_keeps_its_version(setup):
    col = setup["col"]
    before = col.get_manifest(id=[s["id"] for s in setup["scos"]])["objects"]
    status = col.add_objects({"objects": setup["scos"]})
    assert status.success_count == len(setup["scos"]) and status.failure_count == 0
    after = col.get_manifest(id=[s["id"] for s in setup["scos"]])["objects"]
    assert after == before


def test_observable_with_other_content_under_the_same_id_is_refused(setup):
    changed = dict(setup["scos"][0], defanged=True)
    status = setup["col"].add_objects({"objects": [changed]})
    assert status.failure_count == 1 and status.failures[0]["id"] == changed["id"]
    assert setup["col"].get_object(changed["id"])["objects"] == [setup["scos"][0]]


def test_stix2_source_and_paging_over_observables(setup):
    src = TAXIICollectionSource(setup["col"])
    for sco in setup["scos"]:
        got = src.get(sco["id"])
        assert got is not None and got["id"] == sco["id"]
        assert len(src.all_versions(sco["id"])) == 1
    pages = list(as_pages(setup["col"].get_objects, per_request=2))
    assert [o["id"] for p in pages for o in p["objects"]] == [
        o["id"] for o in setup["scos"] + [setup["observed"]]
    ]


def test_deleting_an_observable(setup):
    col = setup["col"]
    email = setup["scos"][3]
    col.delete_object(email["id"])
    with pytest.raises(requests.HTTPError) as e:
        col.get_object(email["id"])
    assert e.value.response.status_code == 404
    # Added again, it is a new first version with a new date_added.
    col.add_objects({"objects": [email]})
    rec = col.get_manifest(id=email["id"])["objects"][0]
    assert rec["date_added"] > setup["manifest"][email["id"]]["date_added"]
    assert parse_time(rec["version"]) == parse_time(rec["date_added"])
    r = session(setup["token"]).get(f"{col.objects_url}{email['id']}/")
    assert r.json()["objects"] == [email]
