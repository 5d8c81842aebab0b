"""Exact visible sets under TLP, through taxii2-client and stix2: every read
path (objects, manifest, object, versions, paging, stix2 get/query) shows
each principal exactly the objects its organisation, community and token
entitle it to, and nothing about the others."""

import pytest
import requests
from stix2 import Filter, TAXIICollectionSource
from taxii2client.v21 import ApiRoot, Collection, as_pages

from interop_data import TLP1_WHITE, TLP2, TLP_GREEN, Factory, version_key
from interop_support import assert_valid_stix, session

# Marking of each posted object (None: unmarked).
MARKINGS = {
    "clear": TLP2["clear"],
    "white": TLP1_WHITE,
    "green": TLP2["green"],
    "green1": TLP_GREEN["id"],
    "amber": TLP2["amber"],
    "amber+strict": TLP2["amber+strict"],
    "unmarked": None,
}

# Who sees what in the community collection (objects posted by alice of cert-ee).
COMMUNITY_VIEW = {
    "alice": set(MARKINGS),                                     # the source organisation
    "dave": set(MARKINGS) - {"unmarked"},                       # analyst of a member organisation
    "bob": set(MARKINGS) - {"unmarked"},                        # reader of a member organisation
    "service": {"clear", "white", "green", "green1"},           # a token granted --read
    "admin": set(MARKINGS),
}


@pytest.fixture(scope="module")
def world(node):
    for org in ("cert-ee", "ngo", "vendor"):
        node.cli("org", "create", org)
    node.cli("community", "create", "dialogue")
    node.cli("community", "add", "dialogue", "cert-ee")
    node.cli("community", "add", "dialogue", "ngo")
    for org, user, role in [("cert-ee", "alice", "analyst"), ("ngo", "bob", "reader"),
                            ("ngo", "dave", "analyst"), ("vendor", "carol", "analyst")]:
        node.cli("user", "create", "--org", org, "--role", role, user)
    community = node.cli("collection", "create", "--title", "Dialogue intel",
                         "--community", "dialogue", "--unsigned").split()[-1]
    public = node.cli("collection", "create", "--title", "Public feed", "--public",
                      "--unsigned").split()[-1]
    tokens = {u: node.cli("token", "create", "--user", u, "--name", f"v-{u}").split()[-1]
              for u in ("alice", "bob", "dave", "carol")}
    tokens["service"] = node.token("v-service", read=[community, public], write=[public])
    tokens["admin"] = node.admin

    f = Factory(61)
    posted = {}
    for label, marking in MARKINGS.items():
        obj = f.indicator(len(posted))
        obj["name"] = f"{label} indicator"
        if marking:
            obj["object_marking_refs"] = [marking]
        else:
            obj.pop("object_marking_refs", None)
        posted[label] = obj
    red = f.indicator(99)
    red["object_marking_refs"] = [TLP2["red"]]
    alice = Collection(node.collection_url(community), user="alice", password=tokens["alice"])
    status = alice.add_objects({"objects": list(posted.values()) + [red]})
    assert status.success_count == len(posted), status.failures
    assert status.failure_count == 1 and status.failures[0]["id"] == red["id"]
    assert "RED" in status.failures[0]["message"]

    public_objs = {}
    for label in ("clear", "green", "unmarked"):
        obj = f.malware(len(public_objs))
        obj["name"] = f"public {label}"
        if MARKINGS[label]:
            obj["object_marking_refs"] = [MARKINGS[label]]
        else:
            obj.pop("object_marking_refs", None)
        public_objs[label] = obj
    service = Collection(node.collection_url(public), user="svc", password=tokens["service"])
    status = service.add_objects({"objects": list(public_objs.values())})
    assert status.success_count == 3, status.failures
    return {"community": community, "public": public, "tokens": tokens,
            "posted": posted, "red": red, "public_objs": public_objs}


def view(node, world, who, collection):
    if who == "anonymous":
        return Collection(node.collection_url(world[collection]))
    return Collection(node.collection_url(world[collection]), user=who, password=world["tokens"][who])


def ids(objs):
    return [o["id"] for o in objs]


def expected_ids(world, labels):
    return [o["id"] for label, o in world["posted"].items() if label in labels]


@pytest.mark.parametrize("who", sorted(COMMUNITY_VIEW))
def test_objects_and_manifest_show_exactly_the_entitled_set(node, world, who):
    col = view(node, world, who, "community")
    want = expected_ids(world, COMMUNITY_VIEW[who])
    objs = assert_valid_stix(col.get_objects().get("objects", []))
    assert ids(objs) == want
    assert ids(col.get_manifest().get("objects", [])) == want
    for per_request in (1, 2, 3):
        paged = [o for page in as_pages(col.get_objects, per_request=per_request)
                 for o in page.get("objects", [])]
        assert ids(paged) == want, per_request
        pages = list(as_pages(col.get_manifest, per_request=per_request))
        assert [r["id"] for p in pages for r in p.get("objects", [])] == want
        assert all(p.get("objects") for p in pages), "no empty page while paging"


@pytest.mark.parametrize("who", sorted(COMMUNITY_VIEW))
def test_invisible_objects_do_not_exist_for_the_reader(node, world, who):
    col = view(node, world, who, "community")
    visible = COMMUNITY_VIEW[who]
    for label, obj in list(world["posted"].items()) + [("red", world["red"])]:
        if label in visible:
            got = col.get_object(obj["id"])["objects"]
            assert ids(got) == [obj["id"]]
            assert col.object_versions(obj["id"])["versions"]
            continue
        for call in (lambda: col.get_object(obj["id"]), lambda: col.object_versions(obj["id"])):
            with pytest.raises(requests.HTTPError) as e:
                call()
            assert e.value.response.status_code == 404, (who, label)
        assert col.get_objects(id=obj["id"]) == {}
        assert col.get_manifest(id=obj["id"]) == {}
    unknown = "indicator--00000000-0000-4000-8000-000000000000"
    r_unknown = session(world["tokens"][who]).get(f"{col.objects_url}{unknown}/")
    hidden = [o for label, o in world["posted"].items() if label not in visible]
    for obj in hidden:
        r_hidden = session(world["tokens"][who]).get(f"{col.objects_url}{obj['id']}/")
        assert r_hidden.status_code == r_unknown.status_code == 404
        assert r_hidden.json()["description"].replace(obj["id"], "X") == \
            r_unknown.json()["description"].replace(unknown, "X")


@pytest.mark.parametrize("who", sorted(COMMUNITY_VIEW))
def test_stix2_source_sees_the_same_set(node, world, who):
    src = TAXIICollectionSource(view(node, world, who, "community"))
    want = set(expected_ids(world, COMMUNITY_VIEW[who]))
    assert {o.id for o in src.query([Filter("type", "=", "indicator")])} == want
    for label, obj in world["posted"].items():
        got = src.get(obj["id"])
        assert (got is not None) == (obj["id"] in want), (who, label)


def test_outsiders_do_not_see_the_community_collection(node, world):
    carol = ApiRoot(node.api_root, user="carol", password=world["tokens"]["carol"])
    assert world["community"] not in [c.id for c in carol.collections]
    with pytest.raises(requests.HTTPError) as e:
        view(node, world, "carol", "community").refresh()
    assert e.value.response.status_code == 404
    with pytest.raises(requests.HTTPError) as e:
        view(node, world, "anonymous", "community").refresh()
    assert e.value.response.status_code == 401


def test_rights_follow_roles(node, world):
    bob = view(node, world, "bob", "community")
    assert bob.can_read and not bob.can_write
    dave = view(node, world, "dave", "community")
    assert dave.can_read and dave.can_write
    f = Factory(62)
    r = session(world["tokens"]["bob"]).post(
        bob.objects_url, json={"objects": [f.indicator(1)]},
        headers={"Content-Type": "application/taxii+json;version=2.1"},
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "who,labels",
    [("anonymous", {"clear"}), ("alice", {"clear"}), ("service", {"clear", "green", "unmarked"}),
     ("admin", {"clear", "green", "unmarked"})],
)
def test_public_collection(node, world, who, labels):
    """Anyone reads a public collection's TLP:CLEAR objects; GREEN (and
    unmarked objects, GREEN by the collection's default) need a grant."""
    col = view(node, world, who, "public")
    want = [o["id"] for label, o in world["public_objs"].items() if label in labels]
    assert ids(assert_valid_stix(col.get_objects().get("objects", []))) == want
    assert ids(col.get_manifest().get("objects", [])) == want
    assert [version_key(o) for o in col.get_objects(version="all").get("objects", [])] == [
        version_key(o) for label, o in world["public_objs"].items() if label in labels
    ]
    if who == "anonymous":
        root = ApiRoot(node.api_root)
        assert [c.id for c in root.collections] == [world["public"]]
        assert root.collections[0].can_read and not root.collections[0].can_write
