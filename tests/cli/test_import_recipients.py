"""`import --recipient-org/--recipient-user` never drops the recipients in silence."""

from cli_support import indicator


def dialogue(n):
    n.cli("community", "create", "Dialogue")
    for org in ("Helpdesk", "CERT", "Vendor"):
        n.org(org)
        n.cli("community", "add", "Dialogue", org)
    hugo = n.user("Helpdesk", "hugo")
    vera = n.user("Vendor", "vera", role="reader")
    c = n.last_line("collection", "create", "--title", "d", "--community", "Dialogue",
                    "--default-tlp", "green")
    return c, hugo, vera


def test_an_unmarked_object_falling_to_a_green_default_is_refused_with_recipients(work):
    n = work.node()
    c, hugo, vera = dialogue(n)
    unmarked = indicator("meant-for-cert-only")
    out = n.run("import", "-q", "--as", hugo, "--recipient-org", "CERT", "--collection", c,
                n.write("u.json", [unmarked]))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "stored 0, duplicates 0, rejected 1" in out.stdout, out.stdout
    assert "no TLP marking and takes the collection's default TLP:GREEN" in out.stdout, out.stdout
    assert not any(o["id"] == unmarked["id"] for o in n.exported(c, as_user=vera))


def test_recipients_apply_to_the_amber_objects_and_explicit_levels_are_kept(work):
    # Documented: the recipients are those of the AMBER and RED objects; an
    # object marked GREEN by its source stays GREEN.
    n = work.node()
    c, hugo, vera = dialogue(n)
    amber = indicator("amber-for-cert", markings=("amber",))
    green = indicator("green-for-all", markings=("green",))
    out = n.run("import", "-q", "--as", hugo, "--recipient-org", "CERT", "--collection", c,
                n.write("m.json", [amber, green]))
    assert out.returncode == 0, out.stdout + out.stderr
    seen = {o["id"] for o in n.exported(c, as_user=vera)}
    assert green["id"] in seen and amber["id"] not in seen
    cert = n.user("CERT", "carl", role="reader")
    assert amber["id"] in {o["id"] for o in n.exported(c, as_user=cert)}
