"""The `stix2` library's TAXII data store (TAXIICollectionSource, Sink and
Store) against Entente: get, all_versions, query with server-side and local
filters, relationships, and add in every form stix2 sends."""

import json

import pytest
import stix2
from stix2 import Filter, TAXIICollectionSink, TAXIICollectionSource, TAXIICollectionStore
from stix2.datastore import DataSourceError
from taxii2client.v21 import Collection

from interop_data import Factory, Model, parse_time, version_key
from interop_support import assert_valid_stix


def plain(obj):
    """A stix2 object as a plain dict, for comparison and validation."""
    return json.loads(obj.serialize())


def keys(objs):
    objs = [o if isinstance(o, dict) else plain(o) for o in objs]
    return [(o["id"], version_key(o)) for o in objs]


@pytest.fixture(scope="module")
def setup(node):
    cid = node.collection("stix2 data store")
    tokens = {
        "rw": node.token("s-rw", read=[cid], write=[cid]),
        "reader": node.token("s-reader", read=[cid]),
        "writer": node.token("s-writer", write=[cid]),
    }
    f = Factory(31)
    model = Model()
    objs = f.campaign_set() + [f.indicator(n) for n in range(1, 21)]
    versions = [f.new_version(objs[12], confidence=c) for c in (10,)]
    versions.append(f.new_version(versions[0], confidence=70))
    col = Collection(node.collection_url(cid), user="u", password=tokens["rw"])
    for batch in (objs, versions):
        status = col.add_objects({"objects": batch})
        assert status.failure_count == 0
        for o in batch:
            model.add(o)
    return {"cid": cid, "tokens": tokens, "model": model, "objs": objs, "versioned": objs[12]["id"]}


def collection(node, setup, who="rw"):
    return Collection(node.collection_url(setup["cid"]), user="stix2", password=setup["tokens"][who])


def test_get_returns_the_latest_version(node, setup):
    src = TAXIICollectionSource(collection(node, setup))
    model = setup["model"]
    for obj in setup["objs"][:15]:
        got = src.get(obj["id"])
        assert got is not None, obj["id"]
        latest = model.select(ids=[obj["id"]])[0]
        # stix2 re-serialises what it parses (timestamp precision, defaults),
        # so compare identity, version and content properties.
        assert keys([got]) == [(latest["id"], latest["version"])]
        for prop in ("type", "name", "pattern", "confidence", "relationship_type"):
            assert got.get(prop) == latest["obj"].get(prop)
        assert_valid_stix([plain(got)])


def test_get_of_an_unknown_id_is_none(node, setup):
    src = TAXIICollectionSource(collection(node, setup))
    assert src.get("malware--00000000-0000-4000-8000-000000000000") is None


def test_all_versions(node, setup):
    src = TAXIICollectionSource(collection(node, setup))
    stix_id = setup["versioned"]
    got = [plain(o) for o in src.all_versions(stix_id)]
    assert_valid_stix(got)
    expected = setup["model"].select(ids=[stix_id], versions=("all",))
    assert keys(got) == [(r["id"], r["version"]) for r in expected]
    assert len(got) == 3


@pytest.mark.parametrize("items_per_page", [5000, 7, 1])
def test_query_with_server_side_filters(node, setup, items_per_page):
    src = TAXIICollectionSource(collection(node, setup), items_per_page=items_per_page)
    model = setup["model"]
    got = [plain(o) for o in src.query([Filter("type", "=", "indicator")])]
    assert_valid_stix(got)
    expected = model.select(types=["indicator"])
    assert keys(got) == [(r["id"], r["version"]) for r in expected]
    got = [plain(o) for o in src.query([Filter("type", "=", "indicator"), Filter("version", "=", "all")])]
    assert sorted(keys(got)) == sorted((r["id"], r["version"]) for r in model.select(types=["indicator"], versions=("all",)))
    got = src.query([Filter("id", "=", setup["versioned"]), Filter("version", "=", "first")])
    assert keys(got) == [(r["id"], r["version"]) for r in model.select(ids=[setup["versioned"]], versions=("first",))]


def test_query_with_added_after(node, setup):
    col = collection(node, setup)
    src = TAXIICollectionSource(col)
    manifest = col.get_manifest(version="all")["objects"]
    cut = manifest[len(manifest) // 2]["date_added"]
    expected = [
        (r["id"], parse_time(r["version"])) for r in manifest if r["date_added"] > cut
    ]
    latest = {(r["id"], r["version"]) for r in setup["model"].select()}
    expected = [k for k in expected if k in latest]
    got = src.query([Filter("added_after", "=", cut)])
    assert sorted(keys(got)) == sorted(expected)


def test_query_with_local_filters(node, setup):
    src = TAXIICollectionSource(collection(node, setup))
    model = setup["model"]
    got = src.query([Filter("type", "=", "malware"), Filter("is_family", "=", True)])
    assert keys(got) == [(r["id"], r["version"]) for r in model.select(types=["malware"])]
    got = src.query([Filter("type", "!=", "indicator"), Filter("spec_version", "=", "2.1")])
    expected = [r for r in model.select() if r["type"] != "indicator"]
    assert sorted(keys(got)) == sorted((r["id"], r["version"]) for r in expected)
    got = src.query([Filter("name", "=", "Spyware infrastructure indicator 3")])
    assert [o["name"] for o in got] == ["Spyware infrastructure indicator 3"]


def test_relationships_and_related_to(node, setup):
    store = TAXIICollectionStore(collection(node, setup))
    malware = next(o for o in setup["objs"] if o["type"] == "malware")
    rels = store.relationships(malware["id"])
    expected = [o for o in setup["objs"] if o["type"] == "relationship"
                and malware["id"] in (o["source_ref"], o["target_ref"])]
    assert sorted(r["id"] for r in rels) == sorted(o["id"] for o in expected)
    related = store.related_to(malware["id"], relationship_type="indicates")
    assert [o["type"] for o in related] == ["indicator"]


def test_sink_adds_stix2_objects_bundles_dicts_and_json(node, setup):
    col = collection(node, setup)
    sink = TAXIICollectionSink(col)
    src = TAXIICollectionSource(col)
    ident = setup["objs"][1]
    indicator = stix2.v21.Indicator(
        name="Pegasus-style delivery domain",
        pattern="[domain-name:value = 'news-update.spyware.example']",
        pattern_type="stix",
        indicator_types=["malicious-activity"],
        created_by_ref=ident["id"],
    )
    malware = stix2.v21.Malware(name="Predator-like implant", is_family=True, malware_types=["spyware"])
    rel = stix2.v21.Relationship(indicator, "indicates", malware)
    sink.add(indicator)                       # one object
    sink.add([malware, rel])                  # a list: one request per object
    bundle = stix2.v21.Bundle(stix2.v21.Campaign(name="Press freedom 2025"), stix2.v21.Identity(name="NGO", identity_class="organization"))
    sink.add(bundle)                          # a bundle as the envelope
    as_dict = json.loads(stix2.v21.AttackPattern(name="Smishing lure").serialize())
    sink.add(as_dict)                         # a dict
    as_text = stix2.v21.Tool(name="Mobile verification toolkit").serialize()
    sink.add(as_text)                         # JSON text
    added = [indicator, malware, rel, *bundle.objects, as_dict, json.loads(as_text)]
    for obj in added:
        got = src.get(obj["id"])
        assert got is not None, obj["id"]
        assert keys([got]) == keys([obj])
        assert got.get("name") == obj.get("name")
    store = TAXIICollectionStore(col)
    assert [o.id for o in store.related_to(malware.id)] == [indicator.id]


def test_sink_add_of_a_stix_20_object_is_refused_per_object(node, setup):
    col = collection(node, setup)
    sink = TAXIICollectionSink(col)
    old = stix2.v20.Malware(name="2.0 malware", labels=["spyware"])
    sink.add(old)  # stix2 wraps it in a 2.0 bundle; the server reports a failure.
    assert TAXIICollectionSource(col).get(old.id) is None


def test_rights_are_checked_when_the_store_is_built(node, setup):
    with pytest.raises(DataSourceError):
        TAXIICollectionSource(collection(node, setup, "writer"))
    with pytest.raises(DataSourceError):
        TAXIICollectionSink(collection(node, setup, "reader"))
    # A read-only source still reads.
    src = TAXIICollectionSource(collection(node, setup, "reader"))
    assert src.get(setup["objs"][0]["id"]) is not None
