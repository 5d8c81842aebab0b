"""Collection aliases: one alias, one collection, wherever a collection is named."""


def test_an_alias_names_one_collection(work):
    n = work.node()
    first = n.last_line("collection", "create", "--title", "first", "--alias", "fed")
    again = n.run("collection", "create", "--title", "second", "--alias", "fed")
    assert again.returncode != 0, again.stdout
    assert f"alias \"fed\" is taken by collection {first}" in again.stderr, again.stderr
    uuid_alias = n.run("collection", "create", "--title", "third",
                       "--alias", "91a7b528-80eb-42ed-a74d-c6fbd5a26116")
    assert uuid_alias.returncode != 0, uuid_alias.stdout
    # The alias still names the first collection everywhere.
    n.cli("export", "--collection", "fed")
    listed = [line for line in n.cli("collection", "list").splitlines() if line.startswith(first)]
    assert len(listed) == 1 and "(alias fed)" in listed[0], listed
    assert len(n.cli("collection", "list").strip().splitlines()) == 1


def test_token_scopes_take_an_alias(work):
    n = work.node()
    c = n.last_line("collection", "create", "--title", "Federation", "--alias", "fed")
    n.cli("token", "create", "--name", "t", "--read", "fed")
    assert f"{c}:r" in n.cli("token", "list")
