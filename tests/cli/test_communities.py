"""Communities from the CLI: a pseudonymous membership stays pseudonymous."""

from cli_support import indicator


def test_adding_a_pseudonymous_member_again_never_unmasks_it(work):
    n = work.node()
    n.cli("community", "create", "Dialogue")
    helpdesk = n.org("Helpdesk")
    n.org("CERT")
    n.cli("community", "add", "Dialogue", "Helpdesk", "--pseudonymous")
    n.cli("community", "add", "Dialogue", "CERT")
    hugo = n.user("Helpdesk", "hugo")
    reader = n.user("CERT", "rita", role="reader")
    c = n.last_line("collection", "create", "--title", "d", "--community", "Dialogue",
                    "--default-tlp", "green")
    ind = indicator("spy", created_by=helpdesk)
    n.cli("import", "-q", "--as", hugo, "--collection", c, n.write("h.json", [ind]))

    def creator_seen_by_cert():
        [o] = [o for o in n.exported(c, as_user=reader) if o["id"] == ind["id"]]
        return o["created_by_ref"]

    pseudonym = creator_seen_by_cert()
    assert pseudonym != helpdesk

    # The step re-run without the flag: refused, saying why.
    again = n.run("community", "add", "Dialogue", "Helpdesk")
    assert again.returncode != 0, again.stdout
    assert "pseudonymous member" in again.stderr, again.stderr
    assert creator_seen_by_cert() == pseudonym
    assert "Helpdesk  (pseudonymous)" in n.cli("community", "members", "Dialogue")

    # The same step on the same terms changes nothing and says so.
    same = n.cli("community", "add", "Dialogue", "Helpdesk", "--pseudonymous")
    assert "already a member" in same, same
    assert creator_seen_by_cert() == pseudonym


def test_a_named_member_cannot_become_pseudonymous(work):
    # Its objects were read under its real identity: a pseudonym on the same
    # objects from now on would tell every reader whose pseudonym it is.
    n = work.node()
    n.cli("community", "create", "Dialogue")
    n.org("CERT")
    n.cli("community", "add", "Dialogue", "CERT")
    out = n.run("community", "add", "Dialogue", "CERT", "--pseudonymous")
    assert out.returncode != 0, out.stdout
    assert "named member" in out.stderr, out.stderr
    assert "CERT  (pseudonymous)" not in n.cli("community", "members", "Dialogue")
    assert "already a member" in n.cli("community", "add", "Dialogue", "CERT")
