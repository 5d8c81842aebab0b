"""Writes over TAXII with narrowed tokens."""

from cli_support import indicator, session


def test_a_write_only_token_reposting_its_own_object_is_told_it_is_there(work):
    # A write-only token (what a pushing peer is given) cannot read, but its
    # organisation's own copies are known to it: re-posting one is a success
    # that changes nothing, as for any other token.
    n = work.node()
    n.org("O")
    u = n.user("O", "u")
    c = n.last_line("collection", "create", "--title", "c", "--org", "O", "--default-tlp", "green")
    token = n.last_line("token", "create", "--user", u, "--write", c)
    n.serve()
    url = n.url(f"/api1/collections/{c}/objects/")
    ind = indicator("twice")
    s = session(token)
    headers = {"Content-Type": "application/taxii+json;version=2.1"}
    statuses = [s.post(url, json={"objects": [ind]}, headers=headers) for _ in range(2)]
    for r in statuses:
        assert r.status_code == 202, r.text
        assert r.json()["success_count"] == 1, r.json()
    # A changed object under the same version is still a conflict it is told of.
    changed = dict(ind, name="changed")
    r = s.post(url, json={"objects": [changed]}, headers=headers)
    assert r.json()["failure_count"] == 1, r.json()
    assert "a different object with this id and version" in r.json()["failures"][0]["message"]
