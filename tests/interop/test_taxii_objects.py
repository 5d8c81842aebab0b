"""Reading a collection with taxii2-client: every filter, paging path and
read endpoint, compared with a model of what the collection holds.

The dataset has several object types, objects with three versions, and a
version that arrives after a newer one of the same object, so `first` and
`last` must be decided by `modified`, not by arrival order.
"""

import datetime as dt
import json
import threading

import pytest
import requests
from taxii2client.v21 import Collection, as_pages

from interop_data import Factory, Model, parse_time, stix_time, version_key
from interop_support import TAXII, assert_valid_stix, envelope_objects, session


def keys(objects):
    """(id, version) of each object, in order."""
    return [(o["id"], version_key(o)) for o in objects]


def record_keys(records):
    return [(r["id"], r["version"]) for r in records]


@pytest.fixture(scope="module")
def data(node):
    cid = node.collection("Read tests")
    token = node.token("read-tests", read=[cid], write=[cid])
    f = Factory(7)
    model = Model()
    col = Collection(node.collection_url(cid), user="analyst", password=token)

    def post(objects):
        status = col.add_objects({"objects": objects})
        assert status.status == "complete"
        assert status.failure_count == 0, status.failures
        assert status.success_count == len(objects)
        for o in objects:
            model.add(o)

    base = f.campaign_set()
    post(base)
    indicators = [f.indicator(n) for n in range(1, 41)]
    post(indicators[:25])
    post(indicators[25:])
    # Three versions of the first five indicators, added in order.
    v2 = [f.new_version(i, confidence=60) for i in indicators[:5]]
    v3 = [f.new_version(i, confidence=90) for i in v2]
    post(v2)
    post(v3)
    # Indicator 6: its newest version arrives first, the older one after it.
    late_old = f.new_version(indicators[5], confidence=20)
    newest = f.new_version(late_old, confidence=95)
    post([newest])
    post([late_old])
    # A report updated twice, in one envelope.
    report = next(o for o in base if o["type"] == "report")
    r2 = f.new_version(report, description="Updated with new infrastructure")
    r3 = f.new_version(r2, description="Final")
    post([r2, r3])

    # date_added of every stored version, from the manifest.
    manifest = col.get_manifest(version="all")
    records = manifest["objects"]
    assert [(r["id"], parse_time(r["version"])) for r in records] == record_keys(model.records)
    added = {(r["id"], parse_time(r["version"])): r["date_added"] for r in records}
    return {
        "id": cid,
        "token": token,
        "col": col,
        "model": model,
        "added": added,
        "multi": [i["id"] for i in indicators[:6]] + [report["id"]],
        "late": (indicators[5]["id"], version_key(late_old), version_key(newest)),
        "factory": f,
    }


def test_manifest_date_added_strictly_increases_with_microseconds(data):
    stamps = list(data["added"].values())
    assert all(len(s) == len("2024-01-01T00:00:00.000000Z") and s.endswith("Z") for s in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_get_objects_default_is_every_latest_version_in_date_added_order(data):
    env = data["col"].get_objects()
    objs = envelope_objects(env)
    assert keys(objs) == record_keys(data["model"].select())
    assert not env.get("more", False) and "next" not in env
    for o in objs:
        expected = next(
            r["obj"] for r in data["model"].records
            if (r["id"], r["version"]) == (o["id"], version_key(o))
        )
        assert o == expected


def test_objects_are_served_as_received(node, data):
    """Byte for byte: key order and spacing of the posted text are kept."""
    f = data["factory"]
    obj = f.malware(77)
    text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)
    text = text.replace('"name": "', '"name" :  "') + " "
    body = '{"objects": [' + text + "]}"
    status = data["col"].add_objects(body)
    assert status.success_count == 1
    data["model"].add(obj)
    r = session(data["token"]).get(
        data["col"].objects_url + obj["id"] + "/"
    )
    assert r.status_code == 200
    assert text.rstrip() in r.text
    assert_valid_stix(r.json()["objects"])
    data["added"][(obj["id"], version_key(obj))] = r.headers["X-TAXII-Date-Added-Last"]


@pytest.mark.parametrize(
    "types",
    [["indicator"], ["report"], ["relationship", "malware"], ["x-not-stored"], ["sighting", "note", "opinion"]],
)
def test_match_type(data, types):
    env = data["col"].get_objects(type=types)
    expected = record_keys(data["model"].select(types=types))
    assert keys(envelope_objects(env)) == expected
    if not expected:
        assert env == {}


def test_match_id_and_type_combine(data):
    model = data["model"]
    ids = data["multi"]
    env = data["col"].get_objects(id=ids)
    assert keys(envelope_objects(env)) == record_keys(model.select(ids=ids))
    env = data["col"].get_objects(id=ids, type="report")
    assert keys(envelope_objects(env)) == record_keys(model.select(ids=ids, types=["report"]))
    env = data["col"].get_objects(id=ids, type="campaign")
    assert env == {}


@pytest.mark.parametrize(
    "versions",
    [("last",), ("first",), ("all",), ("first", "last")],
)
def test_match_version_keywords(data, versions):
    env = data["col"].get_objects(version=",".join(versions))
    assert keys(envelope_objects(env)) == record_keys(data["model"].select(versions=versions))


def test_first_and_last_follow_modified_not_arrival(data):
    stix_id, older, newer = data["late"]
    col = data["col"]
    assert keys(col.get_objects(id=stix_id, version="last")["objects"]) == [(stix_id, newer)]
    first = data["model"].select(ids=[stix_id], versions=("first",))
    assert keys(col.get_objects(id=stix_id, version="first")["objects"]) == record_keys(first)
    assert older not in [v for _, v in record_keys(first)]
    assert keys(col.get_object(stix_id)["objects"]) == [(stix_id, newer)]


def test_match_version_timestamps_compare_as_instants(data):
    model = data["model"]
    middle = [r for r in model.records if r["id"] == data["multi"][0]][1]
    t = middle["version"]
    forms = [stix_time(t, 3), stix_time(t, 6)]
    if t.microsecond == 0:
        forms.append(stix_time(t, 0))
    for text in forms:
        env = data["col"].get_objects(version=text)
        assert keys(envelope_objects(env)) == [(middle["id"], t)], text
    # A datetime, formatted by taxii2-client itself.
    env = data["col"].get_objects(version=t)
    assert keys(env["objects"]) == [(middle["id"], t)]
    # Timestamps combined with keywords: a union per object.
    env = data["col"].get_objects(id=middle["id"], version=["first", stix_time(t), "last"])
    assert keys(env["objects"]) == record_keys(model.select(ids=[middle["id"]], versions=("all",)))


def test_match_spec_version(data):
    env = data["col"].get_objects(spec_version="2.1")
    assert keys(env["objects"]) == record_keys(data["model"].select())
    assert data["col"].get_objects(spec_version="2.0") == {}
    env = data["col"].get_objects(spec_version="2.0,2.1", version="all")
    assert keys(env["objects"]) == record_keys(data["model"].select(versions=("all",)))


def cut_points(data):
    """date_added values to cut at: before everything, inside, at the end."""
    stamps = sorted(data["added"].values())
    return [stamps[0], stamps[len(stamps) // 3], stamps[len(stamps) // 2], stamps[-2], stamps[-1]]


def after(data, records, stamp):
    return [r for r in records if data["added"][(r["id"], r["version"])] > stamp]


def test_added_after_is_strict_and_follows_date_added(data):
    model = data["model"]
    for stamp in cut_points(data):
        for versions in [("last",), ("all",), ("first",), ("first", "last")]:
            env = data["col"].get_objects(added_after=stamp, version=",".join(versions))
            expected = record_keys(after(data, model.select(versions=versions), stamp))
            assert keys(env.get("objects", [])) == expected, (stamp, versions)
            if not expected:
                assert env == {}


def test_first_and_last_are_chosen_before_added_after(data):
    """An incremental puller asking for `first` after the first version was
    added gets nothing for that object: first/last are decided over all
    versions, then added_after applies."""
    stix_id = data["multi"][0]
    mine = data["model"].select(ids=[stix_id], versions=("all",))
    first_added = data["added"][(mine[0]["id"], mine[0]["version"])]
    assert data["col"].get_objects(id=stix_id, version="first", added_after=first_added) == {}
    env = data["col"].get_objects(id=stix_id, version="last", added_after=first_added)
    assert keys(env["objects"]) == [(stix_id, mine[-1]["version"])]
    env = data["col"].get_object(stix_id, version="all", added_after=first_added)
    assert keys(env["objects"]) == record_keys(mine[1:])


def test_added_after_in_client_formats(data):
    """taxii2-client formats datetimes STIX-style (trailing zeros cut); other
    clients send RFC 3339 with an offset."""
    model = data["model"]
    stamp = cut_points(data)[2]
    t = parse_time(stamp)
    expected = record_keys(after(data, model.select(), stamp))
    for value in [t, stamp, t.isoformat(), t.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()]:
        env = data["col"].get_objects(added_after=value)
        assert keys(env.get("objects", [])) == expected, value


def test_date_added_headers_match_the_page(data):
    s = session(data["token"])
    for endpoint in ["objects/", "manifest/"]:
        r = s.get(data["col"].url + endpoint, params={"limit": 5, "match[version]": "all"})
        assert r.status_code == 200
        page_keys = [
            (o["id"], version_key(o) if endpoint == "objects/" else parse_time(o["version"]))
            for o in r.json()["objects"]
        ]
        stamps = [data["added"][k] for k in page_keys]
        assert r.headers["X-TAXII-Date-Added-First"] == stamps[0]
        assert r.headers["X-TAXII-Date-Added-Last"] == stamps[-1]


@pytest.mark.parametrize("per_request", [1, 2, 7, 50, 1000])
@pytest.mark.parametrize(
    "filters",
    [{}, {"version": "all"}, {"type": "indicator", "version": "first,last"},
     {"type": "indicator,relationship,report", "version": "all"}, {"id": "MULTI", "version": "all"}],
    ids=["latest", "all-versions", "indicators-first-last", "three-types", "several-ids"],
)
def test_as_pages_over_objects(data, per_request, filters):
    filters = dict(filters)
    if filters.get("id") == "MULTI":
        filters["id"] = data["multi"]
    versions = tuple(filters.get("version", "last").split(","))
    types = filters["type"].split(",") if "type" in filters else None
    expected = record_keys(data["model"].select(ids=filters.get("id"), types=types, versions=versions))
    pages = list(as_pages(data["col"].get_objects, per_request=per_request, **filters))
    got = []
    for i, page in enumerate(pages):
        objs = envelope_objects(page)
        assert 0 < len(objs) <= per_request
        got.extend(keys(objs))
        last = i == len(pages) - 1
        assert page.get("more", False) is (not last)
        assert ("next" in page) is (not last)
    assert got == expected
    assert len(set(got)) == len(got)
    assert len(pages) == -(-len(expected) // per_request)


def test_page_size_equal_to_the_result_size_has_no_trailing_page(data):
    expected = record_keys(data["model"].select(versions=("all",)))
    for per_request in (len(expected), len(expected) // 2 if len(expected) % 2 == 0 else len(expected) - 1):
        pages = list(as_pages(data["col"].get_objects, per_request=per_request, version="all"))
        assert all(p.get("objects") for p in pages), "no empty page at the end"
        assert [k for p in pages for k in keys(p["objects"])] == expected


@pytest.mark.parametrize("per_request", [1, 3, 1000])
def test_as_pages_over_manifest(data, per_request):
    expected = record_keys(data["model"].select(versions=("all",)))
    got = []
    for page in as_pages(data["col"].get_manifest, per_request=per_request, version="all"):
        assert 0 < len(page["objects"]) <= per_request
        for rec in page["objects"]:
            assert rec["media_type"] == "application/stix+json;version=2.1"
            key = (rec["id"], parse_time(rec["version"]))
            assert rec["date_added"] == data["added"][key]
            got.append(key)
    assert got == expected


def test_manifest_filters(data):
    model = data["model"]
    stamp = cut_points(data)[1]
    m = data["col"].get_manifest(type="indicator", added_after=stamp)
    expected = record_keys(after(data, model.select(types=["indicator"]), stamp))
    assert [(r["id"], parse_time(r["version"])) for r in m["objects"]] == expected
    m = data["col"].get_manifest(id=data["multi"][0], version="first")
    assert [(r["id"], parse_time(r["version"])) for r in m["objects"]] == record_keys(
        model.select(ids=[data["multi"][0]], versions=("first",))
    )


def test_get_object_versions_and_filters(data):
    model, col = data["model"], data["col"]
    for stix_id in data["multi"]:
        mine = model.select(ids=[stix_id], versions=("all",))
        env = col.get_object(stix_id)
        assert keys(envelope_objects(env)) == record_keys(model.select(ids=[stix_id]))
        env = col.get_object(stix_id, version="all")
        assert keys(envelope_objects(env)) == record_keys(mine)
        env = col.get_object(stix_id, version="first")
        assert keys(env["objects"]) == record_keys(model.select(ids=[stix_id], versions=("first",)))
        env = col.get_object(stix_id, version=stix_time(mine[0]["version"]))
        assert keys(env["objects"]) == record_keys(mine[:1])
        # Known object, no version matching: an empty envelope, not 404.
        assert col.get_object(stix_id, version="2001-01-01T00:00:00.000Z") == {}
        # Entente lists versions in date_added order, like every other endpoint.
        versions = col.object_versions(stix_id)
        assert [parse_time(v) for v in versions["versions"]] == [r["version"] for r in mine]
        assert not versions.get("more", False)


def test_versions_and_manifest_take_added_after_and_spec_version(data):
    col = data["col"]
    stix_id = data["multi"][0]
    mine = data["model"].select(ids=[stix_id], versions=("all",))
    second_added = data["added"][(stix_id, mine[1]["version"])]
    got = col.object_versions(stix_id, added_after=second_added)
    assert [parse_time(v) for v in got["versions"]] == [r["version"] for r in mine[2:]]
    got = col.object_versions(stix_id, spec_version="2.1")
    assert [parse_time(v) for v in got["versions"]] == [r["version"] for r in mine]
    assert col.object_versions(stix_id, spec_version="2.0") == {}
    m = col.get_manifest(id=stix_id, version="all", spec_version="2.1")
    assert [parse_time(r["version"]) for r in m["objects"]] == [r["version"] for r in mine]
    assert col.get_manifest(id=stix_id, spec_version="2.0") == {}


def test_get_object_paging_with_limit_and_next(data):
    stix_id = data["multi"][0]
    expected = record_keys(data["model"].select(ids=[stix_id], versions=("all",)))
    assert len(expected) == 3
    got = [keys(p["objects"]) for p in as_pages(data["col"].get_object, 1, stix_id, version="all")]
    assert got == [[k] for k in expected]


def test_unicode_content_round_trips(data):
    f = data["factory"]
    obj = f.sdo(
        "threat-actor",
        name="Угруповання «Тихая гавань» — 静かな港 🛰",
        description="Targets journalists in Kyiv, Tbilisi and Minsk; uses lures in ქართული.",
        threat_actor_types=["spy"],
    )
    escaped = '{"objects": [' + json.dumps(obj, ensure_ascii=True) + "]}"
    raw_utf8 = f.new_version(obj, description="Ещё одна версия ✓")
    assert data["col"].add_objects(escaped).success_count == 1
    assert data["col"].add_objects({"objects": [raw_utf8]}).success_count == 1
    for o in (obj, raw_utf8):
        data["model"].add(o)
    got = data["col"].get_object(obj["id"], version="all")["objects"]
    assert_valid_stix(got)
    assert got == [obj, raw_utf8]
    r = session(data["token"]).get(data["col"].objects_url + obj["id"] + "/", params={"match[version]": "all"})
    assert json.dumps(obj, ensure_ascii=True) in r.text, "\\u escapes are kept as sent"
    stamps = r.headers["X-TAXII-Date-Added-First"], r.headers["X-TAXII-Date-Added-Last"]
    data["added"][(obj["id"], version_key(obj))] = stamps[0]
    data["added"][(raw_utf8["id"], version_key(raw_utf8))] = stamps[1]


def test_versions_endpoint_headers(data):
    s = session(data["token"])
    stix_id = data["multi"][1]
    mine = data["model"].select(ids=[stix_id], versions=("all",))
    r = s.get(f"{data['col'].objects_url}{stix_id}/versions/")
    assert r.headers["X-TAXII-Date-Added-First"] == data["added"][(stix_id, mine[0]["version"])]
    assert r.headers["X-TAXII-Date-Added-Last"] == data["added"][(stix_id, mine[-1]["version"])]
    r = s.get(f"{data['col'].objects_url}{stix_id}/", params={"match[version]": "first"})
    assert r.headers["X-TAXII-Date-Added-First"] == data["added"][(stix_id, mine[0]["version"])]


def test_versions_endpoint_pages_with_next(data):
    s = session(data["token"])
    stix_id = data["multi"][0]
    url = f"{data['col'].objects_url}{stix_id}/versions/"
    expected = [r["version"] for r in data["model"].select(ids=[stix_id], versions=("all",))]
    got, params = [], {"limit": 1}
    while True:
        r = s.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["versions"]) == 1
        got += [parse_time(v) for v in body["versions"]]
        if not body.get("more"):
            assert "next" not in body
            break
        params = {"limit": 1, "next": body["next"]}
    assert got == expected


def test_unknown_object_is_404(data):
    with pytest.raises(requests.HTTPError) as e:
        data["col"].get_object("indicator--00000000-0000-4000-8000-000000000000")
    assert e.value.response.status_code == 404
    with pytest.raises(requests.HTTPError) as e:
        data["col"].object_versions("indicator--00000000-0000-4000-8000-000000000000")
    assert e.value.response.status_code == 404


def test_next_may_change_limit_but_not_filters(data):
    s = session(data["token"])
    url = data["col"].objects_url
    first = s.get(url, params={"limit": 2, "match[type]": "indicator"}).json()
    assert first["more"] is True
    # A different limit with the same filters continues the same query.
    second = s.get(url, params={"limit": 5, "match[type]": "indicator", "next": first["next"]})
    assert second.status_code == 200
    expected = record_keys(data["model"].select(types=["indicator"]))
    assert keys(first["objects"] + second.json()["objects"]) == expected[:7]
    # The cursor of one query does not continue another.
    changed = s.get(url, params={"limit": 2, "match[type]": "malware", "next": first["next"]})
    assert changed.status_code == 400
    assert changed.json()["http_status"] == "400"
    forged = s.get(url, params={"limit": 2, "match[type]": "indicator", "next": first["next"][:-2] + "AA"})
    assert forged.status_code == 400
    junk = s.get(url, params={"next": "not a cursor"})
    assert junk.status_code == 400
    # Nor does it move to another endpoint.
    other = s.get(data["col"].url + "manifest/", params={"limit": 2, "match[type]": "indicator", "next": first["next"]})
    assert other.status_code == 400


def test_next_survives_a_restart_and_works_on_another_server_process(node, data):
    col = data["col"]
    expected = record_keys(data["model"].select(versions=("all",)))
    page1 = col.get_objects(limit=10, version="all")
    assert keys(page1["objects"]) == expected[:10]
    other = node.second_server()
    other_col = Collection(
        other.base + f"/api1/collections/{data['id']}/", user="u", password=data["token"]
    )
    page2 = other_col.get_objects(limit=10, version="all", next=page1["next"])
    assert keys(page2["objects"]) == expected[10:20]
    node.restart()
    restarted = Collection(node.collection_url(data["id"]), user="u", password=data["token"])
    page3 = restarted.get_objects(limit=10, version="all", next=page2["next"])
    assert keys(page3["objects"]) == expected[20:30]
    data["col"] = restarted


def test_paging_while_another_client_writes_never_skips_nor_repeats(node, data):
    cid = node.collection("Live paging")
    token = node.token("live", read=[cid], write=[cid])
    col = Collection(node.collection_url(cid), user="u", password=token)
    f = Factory(99)
    first = [f.indicator(n) for n in range(60)]
    assert col.add_objects({"objects": first}).success_count == 60
    later = [f.indicator(n) for n in range(100, 160)]
    writer_col = Collection(node.collection_url(cid), user="u", password=token)

    def write():
        for i in range(0, len(later), 3):
            writer_col.add_objects({"objects": later[i:i + 3]})

    writer = threading.Thread(target=write)
    got = []
    pages = as_pages(col.get_objects, per_request=4)
    got.extend(keys(next(pages)["objects"]))
    writer.start()
    for page in pages:
        got.extend(keys(envelope_objects(page)))
    writer.join()
    # Drain anything written after the last page was read.
    tail = col.get_objects(added_after=col.get_manifest(id=got[-1][0])["objects"][0]["date_added"])
    got.extend(keys(tail.get("objects", [])))
    assert len(set(got)) == len(got), "an object was served twice"
    assert got[:60] == keys(first)
    assert sorted(got[60:]) == sorted(keys(later))
    assert got[60:] == keys(later), "later objects must come in the order they were added"


def test_large_collection_imported_by_cli_pages_with_limit_1000(node, tmp_path):
    cid = node.collection("Bulk import")
    token = node.token("bulk", read=[cid])
    f = Factory(3)
    objs = [f.indicator(n) for n in range(2500)]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--" + f.uuid(), "objects": objs}))
    node.cli("import", "--collection", cid, "--quiet", str(path))
    col = Collection(node.collection_url(cid), user="u", password=token)
    pages = list(as_pages(col.get_objects, per_request=1000))
    assert [len(p["objects"]) for p in pages] == [1000, 1000, 500]
    got = [o for p in pages for o in p["objects"]]
    assert keys(got) == keys(objs)
    assert_valid_stix(got)
    # Without a limit the server pages by itself and says so.
    env = col.get_objects()
    assert env["more"] is True and env["next"] and len(env["objects"]) <= 2500
    # A limit above the server's maximum is capped, never an error.
    env = col.get_objects(limit=1_000_000)
    assert len(env["objects"]) >= 1000
    # The CLI export holds the same objects.
    out = tmp_path / "export.json"
    node.cli("export", "--collection", cid, "-o", str(out))
    exported = json.loads(out.read_text())
    assert exported["type"] == "bundle"
    assert sorted(keys(exported["objects"])) == sorted(keys(objs))


def test_paging_survives_deletions_between_pages(node):
    cid = node.collection("Paging with deletes")
    token = node.token("deletes", read=[cid], write=[cid])
    col = Collection(node.collection_url(cid), user="u", password=token)
    f = Factory(123)
    objs = [f.indicator(n) for n in range(12)]
    col.add_objects({"objects": objs})
    page1 = col.get_objects(limit=4)
    assert keys(page1["objects"]) == keys(objs[:4])
    # Delete one object already served and one not yet served.
    col.delete_object(objs[1]["id"])
    col.delete_object(objs[5]["id"])
    rest = []
    nxt = page1["next"]
    while True:
        page = col.get_objects(limit=4, next=nxt)
        rest.extend(keys(page.get("objects", [])))
        if not page.get("more"):
            break
        nxt = page["next"]
    assert rest == keys(objs[4:5] + objs[6:])
