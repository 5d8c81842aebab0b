"""HTTP failures of every endpoint, through `requests`: 400, 401, 403, 404,
406, 413, 415, each a TAXII error resource with the TAXII media type."""

import json
import time

import pytest
import requests
from taxii2client.v21 import ApiRoot

from interop_data import Factory
from interop_support import TAXII, session

# A small max_content_length makes 413 cheap to provoke.
MAX_CONTENT_LENGTH = 65536
NODE_INIT_ARGS = ["--max-content-length", str(MAX_CONTENT_LENGTH)]

MISSING_OBJECT = "indicator--00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def setup(node):
    cid = node.collection("Errors")
    hidden = node.collection("Hidden")
    tokens = {
        "rw": node.token("e-rw", read=[cid], write=[cid]),
        "reader": node.token("e-reader", read=[cid]),
        "writer": node.token("e-writer", write=[cid]),
    }
    f = Factory(21)
    obj = f.indicator(1)
    s = session(tokens["rw"])
    r = s.post(node.collection_url(cid) + "objects/", json={"objects": [obj]},
               headers={"Content-Type": TAXII})
    assert r.status_code == 202
    status_id = r.json()["id"]
    return {"cid": cid, "hidden": hidden, "tokens": tokens, "obj": obj, "status": status_id}


def endpoints(node, setup):
    """(method, url) of every TAXII endpoint, on resources that exist."""
    col = node.collection_url(setup["cid"])
    oid = setup["obj"]["id"]
    return [
        ("GET", node.discovery),
        ("GET", node.api_root),
        ("GET", f"{node.api_root}status/{setup['status']}/"),
        ("GET", node.api_root + "collections/"),
        ("GET", col),
        ("GET", col + "manifest/"),
        ("GET", col + "objects/"),
        ("POST", col + "objects/"),
        ("GET", f"{col}objects/{oid}/"),
        ("DELETE", f"{col}objects/{oid}/"),
        ("GET", f"{col}objects/{oid}/versions/"),
    ]


def send(method, url, headers, body=None):
    h = {"Accept": TAXII}
    if method == "POST":
        h["Content-Type"] = TAXII
        body = body or json.dumps({"objects": []})
    h.update(headers)
    h = {k: v for k, v in h.items() if v is not None}
    return requests.request(method, url, headers=h, data=body)


def assert_taxii_error(r, code):
    assert r.status_code == code, (r.request.method, r.url, r.status_code, r.text)
    assert r.headers["Content-Type"].replace(" ", "") == TAXII, r.headers
    err = r.json()
    assert isinstance(err["title"], str) and err["title"]
    assert err.get("http_status", str(code)) == str(code)
    return err


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def basic(user, password):
    return {"Authorization": requests.auth._basic_auth_str(user, password)}


def test_401_for_bad_credentials_on_every_endpoint(node, setup):
    bad = [
        bearer("ent_not-a-real-token"),
        basic("analyst", "wrong-password"),
        basic("", ""),
        {"Authorization": "Digest username=x"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic !!!not-base64"},
    ]
    for method, url in endpoints(node, setup):
        for headers in bad:
            r = send(method, url, headers)
            assert_taxii_error(r, 401)
            assert "Basic" in r.headers.get("WWW-Authenticate", ""), r.headers


def test_without_credentials_only_public_resources_answer(node, setup):
    """Entente serves anonymous clients what is public (discovery, the API
    root, public collections); everything else asks for credentials."""
    public_ok = {node.discovery, node.api_root, node.api_root + "collections/"}
    for method, url in endpoints(node, setup):
        r = send(method, url, {})
        if method == "GET" and url in public_ok:
            assert r.status_code == 200, (url, r.status_code, r.text)
        else:
            assert_taxii_error(r, 401)
            assert "Basic" in r.headers.get("WWW-Authenticate", ""), r.headers
    # No collection of this node is public: an anonymous client lists none.
    listed = send("GET", node.api_root + "collections/", {}).json()
    assert listed.get("collections", []) == []


def test_401_for_revoked_and_expired_tokens(node, setup):
    cid = setup["cid"]
    revoked = node.token("e-revoked", read=[cid])
    expiring = node.token("e-expiring", read=[cid], expires="1s")
    url = node.collection_url(cid) + "objects/"
    assert session(revoked).get(url).status_code == 200
    node.cli("token", "revoke", "e-revoked")
    err = assert_taxii_error(session(revoked).get(url), 401)
    assert "revoked" in err["description"]
    time.sleep(1.2)
    err = assert_taxii_error(session(expiring).get(url), 401)
    assert "expired" in err["description"]


def test_403_where_the_token_lacks_the_right(node, setup):
    tokens, col, oid = setup["tokens"], node.collection_url(setup["cid"]), setup["obj"]["id"]
    reads = [col + "objects/", col + "manifest/", f"{col}objects/{oid}/", f"{col}objects/{oid}/versions/"]
    for url in reads:
        assert_taxii_error(send("GET", url, bearer(tokens["writer"])), 403)
    assert_taxii_error(send("POST", col + "objects/", bearer(tokens["reader"])), 403)
    # Either right alone is not enough to delete (TAXII 2.1 §5.7).
    for who in ("reader", "writer"):
        assert_taxii_error(send("DELETE", f"{col}objects/{oid}/", bearer(tokens[who])), 403)
    # The collection resource itself is visible with either right.
    for who in ("reader", "writer"):
        assert send("GET", col, bearer(tokens[who])).status_code == 200


def test_404_for_missing_and_invisible_resources(node, setup):
    tokens = setup["tokens"]
    rw = bearer(tokens["rw"])
    root = node.api_root
    missing_collection = "5b4e7c2a-91d3-4f0e-8a6b-2c1d9e8f7a60"
    for method, url in [
        ("GET", node.base + "/nope/"),
        ("GET", node.base + "/nope/collections/"),
        ("GET", root + "collections/" + missing_collection + "/"),
        ("GET", root + "collections/" + missing_collection + "/objects/"),
        ("POST", root + "collections/" + missing_collection + "/objects/"),
        ("GET", f"{node.collection_url(setup['cid'])}objects/{MISSING_OBJECT}/"),
        ("GET", f"{node.collection_url(setup['cid'])}objects/{MISSING_OBJECT}/versions/"),
        ("DELETE", f"{node.collection_url(setup['cid'])}objects/{MISSING_OBJECT}/"),
        ("GET", f"{root}status/6a0c7e9d-1f2b-4c3d-9e8f-7a6b5c4d3e2f/"),
        ("GET", root + "no-such-endpoint/"),
    ]:
        assert_taxii_error(send(method, url, rw), 404)
    # A collection this token may not use looks exactly like one that does not exist.
    for suffix in ["", "objects/", "manifest/", f"objects/{MISSING_OBJECT}/"]:
        hidden = assert_taxii_error(
            send("GET", node.collection_url(setup["hidden"]) + suffix, rw), 404
        )
        absent = assert_taxii_error(
            send("GET", root + "collections/" + missing_collection + "/" + suffix, rw), 404
        )
        assert hidden["title"] == absent["title"]
        assert hidden["description"].replace(setup["hidden"], "ID") == absent[
            "description"
        ].replace(missing_collection, "ID")


@pytest.mark.parametrize(
    "accept",
    ["application/json", "application/taxii+json;version=2.0", "text/html",
     "application/stix+json;version=2.1", "application/taxii+json;version=2.1;q=0"],
)
def test_406_when_taxii_21_is_not_acceptable(node, setup, accept):
    for method, url in endpoints(node, setup):
        assert_taxii_error(send(method, url, {**bearer(setup["tokens"]["rw"]), "Accept": accept}), 406)


@pytest.mark.parametrize(
    "accept",
    [None, "application/taxii+json", "application/taxii+json; version=2.1", "*/*",
     "text/html, application/taxii+json;version=2.1;q=0.5"],
)
def test_acceptable_accept_headers(node, setup, accept):
    r = send("GET", node.collection_url(setup["cid"]) + "objects/",
             {**bearer(setup["tokens"]["rw"]), "Accept": accept})
    assert r.status_code == 200, (accept, r.text)
    assert r.headers["Content-Type"].replace(" ", "") == TAXII


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain", "application/taxii+json;version=2.0",
     "application/x-www-form-urlencoded"],
)
def test_415_for_other_request_media_types(node, setup, content_type):
    f = Factory(22)
    r = send("POST", node.collection_url(setup["cid"]) + "objects/",
             {**bearer(setup["tokens"]["rw"]), "Content-Type": content_type},
             json.dumps({"objects": [f.indicator(1)]}))
    assert_taxii_error(r, 415)


def padded_envelope(objects, size):
    """An envelope of exactly `size` bytes (padded with JSON whitespace)."""
    text = json.dumps({"objects": objects})
    assert len(text) <= size
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def test_413_above_max_content_length(node, setup):
    rw = setup["tokens"]["rw"]
    root = ApiRoot(node.api_root, user="u", password=rw)
    assert root.max_content_length == MAX_CONTENT_LENGTH
    url = node.collection_url(setup["cid"]) + "objects/"
    f = Factory(23)
    small, exact, big = f.indicator(1), f.indicator(2), f.indicator(3)
    # Smaller than the limit: must not be 413; exactly the limit: accepted too.
    r = send("POST", url, bearer(rw), padded_envelope([small], MAX_CONTENT_LENGTH - 1))
    assert r.status_code == 202, r.text
    r = send("POST", url, bearer(rw), padded_envelope([exact], MAX_CONTENT_LENGTH))
    assert r.status_code == 202, r.text
    # One byte more, declared with Content-Length.
    r = send("POST", url, bearer(rw), padded_envelope([big], MAX_CONTENT_LENGTH + 1))
    err = assert_taxii_error(r, 413)
    assert str(MAX_CONTENT_LENGTH) in err["description"]

    # Chunked, without Content-Length: the limit holds on the bytes read.
    def chunks():
        body = padded_envelope([big], MAX_CONTENT_LENGTH * 4)
        for i in range(0, len(body), 8192):
            yield body[i:i + 8192]

    r = requests.post(url, data=chunks(), headers={**bearer(rw), "Accept": TAXII, "Content-Type": TAXII})
    assert "Content-Length" not in r.request.headers
    assert_taxii_error(r, 413)
    # Nothing of a refused request was stored.
    s = session(rw)
    assert s.get(f"{url}{small['id']}/").status_code == 200
    assert s.get(f"{url}{exact['id']}/").status_code == 200
    assert s.get(f"{url}{big['id']}/").status_code == 404


@pytest.mark.parametrize(
    "query,param",
    [
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("added_after=yesterday", "added_after"),
        ("added_after=2024-01-01", "added_after"),
        ("added_after=2024-01-01T00:00:00Z&added_after=2024-01-02T00:00:00Z", "added_after"),
        ("match[version]=all,last", "match[version]"),
        ("match[version]=first,first", "match[version]"),
        ("match[version]=newest", "match[version]"),
        ("match[id]=not-an-id", "match[id]"),
        ("match[type]=Not_A_Type", "match[type]"),
        ("match[type]=indicator&match[type]=malware", "match[type]"),
        ("match[spec_version]=two", "match[spec_version]"),
        ("next=not-a-cursor", "next"),
    ],
)
def test_400_for_malformed_filters(node, setup, query, param):
    url = node.collection_url(setup["cid"]) + "objects/?" + query
    err = assert_taxii_error(send("GET", url, bearer(setup["tokens"]["rw"])), 400)
    assert param in err["description"], err


def test_400_for_filters_an_endpoint_does_not_take(node, setup):
    col, oid = node.collection_url(setup["cid"]), setup["obj"]["id"]
    rw = bearer(setup["tokens"]["rw"])
    for url in [
        f"{col}objects/{oid}/versions/?match[version]=all",
        f"{col}objects/{oid}/?match[type]=indicator",
    ]:
        assert_taxii_error(send("GET", url, rw), 400)
