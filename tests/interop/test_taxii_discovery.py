"""Discovery, API root and collection resources through taxii2-client, with
every authentication scheme a TAXII client may use."""

import uuid

import pytest
import requests
from taxii2client.common import TokenAuth
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server

from interop_support import TAXII, session


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


@pytest.fixture(scope="module")
def setup(node):
    ids = {
        "alpha": node.collection("Alpha indicators", description="Shared TLP:GREEN spyware IOCs"),
        "bravo": node.collection("Bravo reports", id=str(uuid.uuid4())),
        "charlie": node.collection("Charlie hidden"),
    }
    tokens = {
        "reader": node.token("reader", read=[ids["alpha"]]),
        "writer": node.token("writer", write=[ids["alpha"]]),
        "both": node.token("both", read=[ids["alpha"], ids["bravo"]], write=[ids["bravo"]]),
        "admin": node.admin,
    }
    return ids, tokens


def test_discovery_with_basic_auth_as_taxii2_client_sends_it(node, setup):
    _, tokens = setup
    server = Server(node.discovery, user="any-user-name", password=tokens["reader"])
    assert server.title == "Entente node"
    assert len(server.api_roots) == 1
    root = server.api_roots[0]
    assert root.url == node.api_root
    assert server.default is not None and server.default.url == node.api_root
    assert root.title
    assert root.versions == [TAXII]
    assert isinstance(root.max_content_length, int) and root.max_content_length > 0


@pytest.mark.parametrize("auth", ["token-auth", "bearer"])
def test_discovery_with_other_schemes(node, setup, auth):
    _, tokens = setup
    a = TokenAuth(tokens["reader"]) if auth == "token-auth" else BearerAuth(tokens["reader"])
    server = Server(node.discovery, auth=a)
    assert [r.url for r in server.api_roots] == [node.api_root]


def test_basic_auth_with_token_as_user_name_and_empty_password(node, setup):
    _, tokens = setup
    r = requests.get(node.discovery, auth=(tokens["reader"], ""), headers={"Accept": TAXII})
    assert r.status_code == 200, r.text


def test_wrong_basic_password_is_refused_by_taxii2_client(node, setup):
    server = Server(node.discovery, user="reader", password="not-a-token")
    with pytest.raises(requests.HTTPError) as e:
        server.refresh()
    assert e.value.response.status_code == 401


def test_collections_are_those_the_token_may_use(node, setup):
    ids, tokens = setup
    expectations = {
        "reader": {ids["alpha"]: (True, False)},
        "writer": {ids["alpha"]: (False, True)},
        "both": {ids["alpha"]: (True, False), ids["bravo"]: (True, True)},
        "admin": {ids[k]: (True, True) for k in ids},
    }
    for who, expected in expectations.items():
        root = ApiRoot(node.api_root, user="u", password=tokens[who])
        got = {c.id: (c.can_read, c.can_write) for c in root.collections}
        assert got == expected, who
        listed = [c.id for c in root.collections]
        assert listed == sorted(listed), "collections must come in a consistent (id) order"


def test_collection_resource_properties(node, setup):
    ids, tokens = setup
    c = Collection(node.collection_url(ids["alpha"]), user="u", password=tokens["reader"])
    assert c.id == ids["alpha"]
    assert c.title == "Alpha indicators"
    assert c.description == "Shared TLP:GREEN spyware IOCs"
    assert c.can_read is True and c.can_write is False
    assert c.media_types == ["application/stix+json;version=2.1"]
    bravo = Collection(node.collection_url(ids["bravo"]), user="u", password=tokens["both"])
    assert bravo.id == ids["bravo"] and bravo.title == "Bravo reports"
    assert bravo.description is None


def test_client_side_rights_follow_the_server_answer(node, setup):
    ids, tokens = setup
    writer_view = Collection(node.collection_url(ids["alpha"]), user="u", password=tokens["writer"])
    with pytest.raises(AccessError):
        writer_view.get_objects()
    reader_view = Collection(node.collection_url(ids["alpha"]), user="u", password=tokens["reader"])
    with pytest.raises(AccessError):
        reader_view.add_objects({"objects": []})


def test_invisible_collection_is_not_found(node, setup):
    ids, tokens = setup
    c = Collection(node.collection_url(ids["charlie"]), user="u", password=tokens["reader"])
    with pytest.raises(requests.HTTPError) as e:
        c.refresh()
    assert e.value.response.status_code == 404


def test_paths_without_trailing_slash_are_served(node, setup):
    _, tokens = setup
    s = session(tokens["reader"])
    for url in [node.base + "/taxii2", node.api_root.rstrip("/"), node.api_root + "collections"]:
        r = s.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text)
        assert r.json()


def test_every_response_has_the_taxii_content_type(node, setup):
    ids, tokens = setup
    s = session(tokens["reader"])
    for url in [
        node.discovery,
        node.api_root,
        node.api_root + "collections/",
        node.collection_url(ids["alpha"]),
        node.collection_url(ids["alpha"]) + "objects/",
        node.collection_url(ids["alpha"]) + "manifest/",
    ]:
        r = s.get(url)
        assert r.status_code == 200, url
        assert r.headers["Content-Type"].replace(" ", "") == TAXII, url
