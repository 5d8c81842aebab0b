"""`token create`: what a flag says is what the token does."""


def test_an_admin_token_cannot_be_given_collections(work):
    # --admin has every right everywhere: --read/--write would narrow nothing.
    n = work.node()
    c = n.last_line("collection", "create", "--title", "one")
    for flag in ("--read", "--write"):
        out = n.run("token", "create", "--admin", flag, c, "--name", f"admin{flag}")
        assert out.returncode != 0, out.stdout
        assert "admin token has every right" in out.stderr, out.stderr
    assert "admin--" not in n.cli("token", "list")


def test_token_lifetimes_count_their_unit(work):
    n = work.node()
    for lifetime in ("40000h", "1000000m", "36500d"):
        n.cli("token", "create", "--admin", "--name", f"t{lifetime}", "--expires", lifetime)
    for lifetime in ("36501d", "876001h"):
        out = n.run("token", "create", "--admin", "--name", f"t{lifetime}", "--expires", lifetime)
        assert out.returncode != 0 and "hundred years" in out.stderr, out.stderr
