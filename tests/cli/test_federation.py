"""Federation as an operator runs it from the CLI: keys, peers, sync, serve."""

import json
import socket
import time

from cli_support import indicator, session


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def token_file(node, name, secret):
    path = node.dir / name
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return path


def current_key(node):
    [key] = [line.split()[0] for line in node.cli("node", "keys").splitlines()
             if line.split()[1] == "current"]
    return key


def community_collection(node, *orgs):
    """A community `Fed` of `orgs` with a GREEN-default collection; its id."""
    node.cli("community", "create", "Fed")
    for org in orgs:
        node.org(org)
        node.cli("community", "add", "Fed", org)
    return node.last_line("collection", "create", "--title", "Fed", "--community", "Fed",
                          "--default-tlp", "green")


def post_green(node, collection, name):
    """Imports one GREEN indicator as CERT/ana; returns its id."""
    if "CERT/ana" not in node.cli("user", "list"):
        node.user("CERT", "ana")
    ind = indicator(name, markings=("green",))
    node.cli("import", "-q", "--as", "CERT/ana", "--collection", collection,
             node.write(f"{name}.json", [ind]))
    return ind["id"]


def holds(node, collection, oid):
    return any(o["id"] == oid for o in node.exported(collection))


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def unreachable_peer(node):
    """A peer on a closed loopback port, with a pull into a local collection."""
    local = community_collection(node, "P", "CERT")
    node.cli("peer", "add", "p", "--url", f"http://127.0.0.1:{free_port()}/api1/",
             "--token-file", token_file(node, "p.token", "ent_dummy"), "--org", "P")
    remote = "00000000-0000-4000-8000-000000000000"
    node.cli("peer", "pull", "p", "--remote-collection", remote, "--into", local)
    return local, remote


def test_node_keys_lists_the_current_key_first_after_a_rotation(work):
    n = work.node()
    old = n.cli("node", "keys").split()[0]
    n.cli("node", "keys", "--rotate")
    lines = n.cli("node", "keys").splitlines()
    assert lines[0].split()[1] == "current", lines
    assert lines[1].startswith(old) and "retired" in lines[1], lines


def test_a_peer_pins_the_new_key_after_a_rotation(work):
    a, b = work.node("a"), work.node("b")
    old = current_key(a)
    b.org("Node A")
    b.cli("peer", "add", "a", "--url", "https://a.example.org/api1/", "--token-file",
          token_file(b, "a.token", "ent_dummy"), "--org", "Node A", "--key", old)
    rotated = a.run("node", "keys", "--rotate")
    new = current_key(a)
    # What the rotation tells the operator to run on the peers.
    assert "entente peer keys NAME --key" in rotated.stderr, rotated.stderr
    again = b.run("peer", "add", "a", "--url", "https://a.example.org/api1/", "--org", "Node A")
    assert again.returncode != 0 and "entente peer keys a" in again.stderr, again.stderr
    b.cli("peer", "keys", "a", "--key", new, "--key", old)
    status = b.cli("peer", "status", "a")
    assert f"keys: {new}, {old}" in status, status
    bad = b.run("peer", "keys", "a", "--key", "not-a-key")
    assert bad.returncode != 0 and f"keys: {new}, {old}" in b.cli("peer", "status", "a")
    assert "peer-keys" in b.cli("audit", "show")


def test_a_pull_needs_a_remote_collection_id(work):
    n = work.node()
    local = community_collection(n, "P")
    n.cli("peer", "add", "p", "--url", "https://cti.example.org/api1/",
          "--token-file", token_file(n, "p.token", "ent_dummy"), "--org", "P")
    for typo in ("not a uuid", "../objects", "fed/extra", ".."):
        out = n.run("peer", "pull", "p", "--remote-collection", typo, "--into", local)
        assert out.returncode != 0 and "is not a collection id" in out.stderr, (typo, out.stderr)
    assert "job" not in n.cli("peer", "status", "p")
    # A UUID, or an Entente node's alias, is taken.
    n.cli("peer", "pull", "p", "--remote-collection", "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
          "--into", local)
    n.cli("peer", "pull", "p", "--remote-collection", "fed", "--into", local)


def test_verify_passes_a_relayed_bundle_whose_objects_the_pinned_key_signed(work):
    # A -> B: B's export holds A's objects, A's manifest and B's own; B's
    # manifest, by a key not pinned, vouches for nothing and fails nothing.
    a, b = work.node("a"), work.node("b")
    ca = a.last_line("collection", "create", "--title", "a")
    cb = b.last_line("collection", "create", "--title", "b")
    objects = [indicator(f"relay-{i}", markings=("green",)) for i in range(3)]
    a.cli("import", "-q", "--collection", ca, a.write("in.json", objects))
    a.cli("export", "--collection", ca, "-o", a.dir / "a.json")
    b.cli("import", "-q", "--collection", cb, a.dir / "a.json")
    b.cli("export", "--collection", cb, "-o", b.dir / "b.json")
    out = b.run("verify", b.dir / "b.json", "--key", current_key(a))
    verified = [line for line in out.stdout.splitlines() if line.startswith("verified")]
    assert len(verified) == 3, out.stdout
    assert "not pinned: vouches for nothing" in out.stdout, out.stdout
    assert out.returncode == 0, out.stdout + out.stderr
    # With a key that signed none of it, nothing is verified.
    nobody = "mldsa65-ed25519:" + "0" * 64
    assert b.run("verify", b.dir / "b.json", "--key", nobody).returncode == 1
    # An altered object still fails.
    bundle = json.loads((b.dir / "b.json").read_text())
    for o in bundle["objects"]:
        if o["type"] == "indicator":
            o["name"] = "altered"
            break
    (b.dir / "altered.json").write_text(json.dumps(bundle))
    assert b.run("verify", b.dir / "altered.json", "--key", current_key(a)).returncode == 1


def test_sync_names_the_local_collection_and_logs_without_colour_codes(work):
    n = work.node()
    local, remote = unreachable_peer(n)
    out = n.run("peer", "sync", "p", "--once", extra_env={"RUST_LOG": "info"})
    assert out.returncode == 2, out.stdout
    assert f"pull remote collection {remote} into {local}: FAILED" in out.stdout, out.stdout
    assert out.stderr.strip(), "expected retry messages on standard error"
    assert "\x1b[" not in out.stderr, repr(out.stderr[:300])


def push_pair(work, receiving_collection):
    """Node A with a Fed collection pushing to node B's collection (B serves)."""
    a, b = work.node("a"), work.node("b")
    ca = community_collection(a, "Node B", "CERT")
    b.org("Node A")
    cb = b.last_line("collection", "create", "--title", "From A", *receiving_collection)
    b.user("Node A", "push")
    secret = b.last_line("token", "create", "--user", "Node A/push")
    b.serve()
    a.cli("peer", "add", "b", "--url", b.url("/api1/"),
          "--token-file", token_file(a, "b.token", secret), "--org", "Node B")
    a.cli("peer", "push", "b", "--from", ca, "--remote-collection", cb)
    return a, b, ca, cb


def test_sync_exits_1_when_the_peer_refused_objects(work):
    a, b, ca, cb = push_pair(work, ("--org", "Node A", "--default-tlp", "green"))
    taken = post_green(a, ca, "taken")
    [mine] = [o for o in a.exported(ca) if o["id"] == taken]
    # B already holds other content under that id and version.
    b.cli("import", "-q", "--as", "Node A/push", "--collection", cb,
          b.write("other.json", [dict(mine, name="other content")]))
    post_green(a, ca, "fine")
    out = a.run("peer", "sync", "b", "--once")
    assert f"push {ca} to remote collection {cb}: " in out.stdout, out.stdout
    assert "1 refused" in out.stdout, out.stdout
    assert out.returncode == 1, out.stdout
    assert "refused by the peer" in a.cli("peer", "status", "b")


def provenance_at(node, collection, oid):
    """Each stored version's provenance, as the Entente API shows it."""
    r = session(node.admin).get(
        node.url(f"/entente/v1/collections/{collection}/objects/{oid}/provenance/"),
        headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    return [(v["provenance"], v.get("origin_node")) for v in r.json()["versions"]]


def test_pushed_objects_are_verified_with_the_pushing_peers_pinned_key(work):
    # What a peer pushes gets the provenance its origin's manifest gives it,
    # as a pull does: never re-signed by the receiver as its own.
    a, b, ca, cb = push_pair(work, ("--org", "Node A", "--default-tlp", "green"))
    b.cli("peer", "add", "a", "--url", "https://a.example.org/api1/", "--org", "Node A",
          "--key", current_key(a))
    signed = post_green(a, ca, "pushed-signed")
    a.cli("peer", "sync", "b", "--once")
    assert holds(b, cb, signed)
    assert provenance_at(b, cb, signed) == [("verified", current_key(a))]
    # Content of that organisation no pinned key vouches for is unsigned.
    unsigned = indicator("pushed-unsigned", markings=("green",))
    b.cli("import", "-q", "--as", "Node A/push", "--collection", cb,
          b.write("unsigned.json", [unsigned]))
    assert [p for p, _ in provenance_at(b, cb, unsigned["id"])] == ["unsigned"]
    # An object that arrives before the manifest listing it is verified
    # when the manifest comes.
    late = post_green(a, ca, "manifest-later")
    exported = a.exported(ca)
    [obj] = [o for o in exported if o["id"] == late]
    manifests = [o for o in exported if o["type"] == "x-entente-manifest"]
    b.cli("import", "-q", "--as", "Node A/push", "--collection", cb, b.write("late.json", [obj]))
    assert [p for p, _ in provenance_at(b, cb, late)] == ["unsigned"]
    b.cli("import", "-q", "--as", "Node A/push", "--collection", cb,
          b.write("manifests.json", manifests))
    assert provenance_at(b, cb, late) == [("verified", current_key(a))]


def test_serve_runs_a_peer_added_while_it_runs(work):
    a, b, ca, cb = push_pair(work, ("--org", "Node A", "--default-tlp", "green"))
    a.cli("peer", "sync", "b", "--once")  # the pair works
    a.org("Node C")
    a.cli("community", "add", "Fed", "Node C")
    a.serve()  # with peer b only
    b.org("Node C")
    cc = b.last_line("collection", "create", "--title", "From C", "--org", "Node C",
                     "--default-tlp", "green")
    b.user("Node C", "push")
    secret = b.last_line("token", "create", "--user", "Node C/push")
    a.cli("peer", "add", "c", "--url", b.url("/api1/"),
          "--token-file", token_file(a, "c.token", secret), "--org", "Node C")
    a.cli("peer", "push", "c", "--from", ca, "--remote-collection", cc)
    oid = post_green(a, ca, "late-peer")
    assert wait_until(lambda: holds(b, cc, oid), 30), a.cli("peer", "status")


def test_a_failing_job_does_not_hold_back_the_other_jobs_of_its_peer(work):
    a, b = work.node("a"), work.node("b")
    ca = community_collection(a, "Node B", "CERT")
    a.user("Node B", "sync")
    secret = a.last_line("token", "create", "--user", "Node B/sync")
    a.serve()
    cb = community_collection(b, "Node A")
    config = b.dir / "entente.toml"
    config.write_text(config.read_text().replace("interval_seconds = 2", "interval_seconds = 1"))
    b.cli("peer", "add", "a", "--url", a.url("/api1/"),
          "--token-file", token_file(b, "a.token", secret), "--org", "Node A")
    b.cli("peer", "pull", "a", "--remote-collection", ca, "--into", cb)
    b.cli("peer", "pull", "a", "--remote-collection", "00000000-0000-4000-8000-000000000000",
          "--into", cb)
    b.serve()
    time.sleep(20)  # the broken pull has failed four times: it now waits 16 s
    oid = post_green(a, ca, "healthy-job")
    assert wait_until(lambda: holds(b, cb, oid), 8), b.cli("peer", "status")


def test_peer_add_refuses_credentials_in_the_url(work):
    # The URL is printed, listed and written to the append-only audit log.
    n = work.node()
    n.org("P")
    secret = "s3cr3t-Pa55"
    out = n.run("peer", "add", "p", "--url", f"https://admin:{secret}@cti.example.org/api1/",
                "--token-file", token_file(n, "p.token", "ent_dummy"), "--org", "P")
    assert out.returncode != 0 and "--token-file" in out.stderr, out.stderr
    shown = out.stdout + out.stderr + n.cli("peer", "status") + n.cli("audit", "show")
    assert secret not in shown, shown


def test_peer_add_refuses_plain_http_off_loopback_unless_allowed(work):
    n = work.node()
    n.org("P")
    tf = token_file(n, "p.token", "ent_dummy")
    out = n.run("peer", "add", "p", "--url", "http://cti.example.org/api1/",
                "--token-file", tf, "--org", "P")
    assert out.returncode != 0 and "clear text" in out.stderr, out.stdout + out.stderr
    # The host ends where the path, query or fragment begins: a loopback
    # address after `?` or `#` does not make a remote host loopback.
    for url in ["http://192.0.2.10?@127.0.0.1/api1/", "http://cti.example.org#@localhost/api1/"]:
        out = n.run("peer", "add", "p", "--url", url, "--token-file", tf, "--org", "P")
        assert out.returncode != 0 and "clear text" in out.stderr, url + out.stdout + out.stderr
    assert "no peers" in n.cli("peer", "status")
    n.cli("peer", "add", "p", "--url", "http://cti.example.org/api1/", "--token-file", tf,
          "--org", "P", "--allow-plain-http")
    n.cli("peer", "add", "q", "--url", "http://127.0.0.1:9000/api1/", "--token-file", tf,
          "--org", "P")
