"""Sign-in and sessions through the HTTP surface: passwords set with
`entente user passwd`, one-time links, throttled failures, the anti-forgery
token on every form, cookie flags, expiry, sign-out, no open redirect."""

import subprocess
import time

import pytest
import requests

from console_support import USERS, DemoNode, csrf_of, pre_token, sign_in_with_link


@pytest.fixture(scope="module")
def demo():
    # Sessions end after 2 idle seconds here, to test expiry.
    node = DemoNode(extra_config="[console]\nsession_idle_seconds = 2\n")
    try:
        yield node
    finally:
        node.stop()


def fresh_link(demo, user):
    """A new one-time link from `entente user link`, on the server's address."""
    printed = demo.cli("user", "link", user).strip()
    return demo.base + printed[printed.index("/console/link/"):]


def password_sign_in(base, account, password, next_path="/"):
    s = requests.Session()
    r = s.get(base + "/console/sign-in")
    r = s.post(base + "/console/sign-in", data={"pre": pre_token(r.text), "account": account,
                                                "password": password, "next": next_path},
               allow_redirects=False)
    return s, r


def test_password_sign_in_with_cookie_flags_and_no_open_redirect(demo):
    user = USERS[1]
    demo.cli("user", "passwd", user, input="a long enough passphrase\n")
    s, r = password_sign_in(demo.base, user, "a long enough passphrase", next_path="//evil.example/x")
    assert r.status_code == 303
    assert r.headers["location"] == "/", "an off-site next is never followed"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = s.get(demo.base + "/")
    assert page.status_code == 200 and "Civic Shield Helpdesk/analyst" in page.text
    s, r = password_sign_in(demo.base, user, "a long enough passphrase", next_path="/console/objects")
    assert r.headers["location"] == "/console/objects"


def test_wrong_passwords_are_refused_alike_then_throttled(demo):
    _, unknown = password_sign_in(demo.base, "Nobody/here", "whatever it is here")
    _, wrong = password_sign_in(demo.base, USERS[2], "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    # The same words for an account that does not exist and one that does.
    assert "user name or the password is wrong" in unknown.text and "user name or the password is wrong" in wrong.text
    codes = [password_sign_in(demo.base, USERS[2], f"guess number {i} here")[1].status_code for i in range(4)]
    assert codes[-1] == 429, codes
    assert "Too many failed sign-ins" in password_sign_in(demo.base, USERS[2], "x" * 20)[1].text


def test_short_passwords_are_refused_by_the_cli(demo):
    env_fail = None
    try:
        demo.cli("user", "passwd", USERS[0], input="short\n")
    except AssertionError as e:
        env_fail = str(e)
    assert env_fail and "at least 12 characters" in env_fail


def test_links_work_once(demo):
    link = fresh_link(demo, USERS[0])
    sign_in_with_link(link)
    s = requests.Session()
    r = s.get(link)
    r = s.post(link, data={"pre": pre_token(r.text)})
    assert r.status_code == 401 and "expired or was already used" in r.text


def test_forms_need_the_session_anti_forgery_token(demo):
    s = sign_in_with_link(demo.links[USERS[0]])
    page = s.get(demo.base + "/console/share")
    token = csrf_of(page.text)
    form = {"collection": "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17", "name": "x", "pattern": "[domain-name:value = 'a.example']", "tlp": "green"}
    for attempt in ({}, {"csrf": "ent_forged"}, {"csrf": token + "x"}):
        r = s.post(demo.base + "/console/share/indicator", data={**form, **attempt})
        assert r.status_code == 403 and "anti-forgery" in r.text
    # The sign-in forms have their own (double-submit) token.
    r = requests.post(demo.base + "/console/sign-in", data={"account": USERS[0], "password": "x" * 12, "pre": "forged"})
    assert r.status_code == 403
    # With the token, the same form works.
    r = s.post(demo.base + "/console/share/indicator", data={**form, "csrf": token})
    assert r.status_code == 200 and 'data-stored="1"' in r.text


def test_idle_sessions_end_and_forms_after_it_are_refused(demo):
    s = sign_in_with_link(demo.links[USERS[2]])
    token = csrf_of(s.get(demo.base + "/console/objects").text)
    time.sleep(3)
    r = s.get(demo.base + "/console/objects?type=indicator", allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2Fobjects") and "expired=1" in r.headers["location"]
    r = s.post(demo.base + "/console/objects/export", data={"csrf": token, "pick": "a|b"})
    assert r.status_code == 401


def test_sign_out_ends_the_session(demo):
    s = sign_in_with_link(fresh_link(demo, USERS[1]))
    token = csrf_of(s.get(demo.base + "/").text)
    r = s.post(demo.base + "/console/sign-out", data={"csrf": token}, allow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    assert s.get(demo.base + "/", allow_redirects=False).status_code == 303


def test_hostile_input_is_escaped_and_bounded(demo):
    s = sign_in_with_link(fresh_link(demo, USERS[0]))
    evil = '"><script>alert(1)</script>'
    r = s.get(demo.base + "/console/objects", params={"q": evil, "type": evil, "tlp": evil, "since": evil})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text
    assert "is not a TLP level" in r.text and "YYYY-MM-DD" in r.text
    r = s.get(demo.base + "/console/objects", params={"before": "not-a-number"})
    assert "page cursor is damaged" in r.text
    token = csrf_of(r.text)
    big = s.post(demo.base + "/console/share/note", data={"csrf": token, "content": "x" * (2 << 20)})
    assert big.status_code == 413
    r = s.get(demo.base + "/console/collections/%3Cscript%3E/objects/x")
    assert r.status_code == 404 and "<script>" not in r.text
    h = s.get(demo.base + "/").headers
    assert "script-src 'self'" in h["content-security-policy"] and h["x-frame-options"] == "DENY"


def test_every_console_form_refuses_a_post_without_the_sessions_token(demo):
    # The anti-forgery check is one layer over every signed-in route: each
    # POST route is refused without the token, before it does anything.
    s = sign_in_with_link(fresh_link(demo, USERS[0]))
    forms = ["/console/objects/export", "/console/share/pattern", "/console/share/indicator",
             "/console/share/note", "/console/share/report", "/console/share/upload",
             "/console/incidents", "/console/incidents/x", "/console/incidents/x/submissions",
             "/console/admin/orgs", "/console/admin/users", "/console/admin/communities",
             "/console/admin/members", "/console/admin/tokens", "/console/admin/tokens/revoke",
             "/console/admin/passwords", "/console/admin/links", "/console/admin/audit/verify",
             "/console/sign-out"]
    for path in forms:
        for data in ({"name": "x"}, {"name": "x", "csrf": "ent_forged"}):
            r = s.post(demo.base + path, data=data, allow_redirects=False)
            assert r.status_code == 403 and "anti-forgery" in r.text, (path, r.status_code)
    # Still signed in: the refused sign-out did nothing.
    assert s.get(demo.base + "/", allow_redirects=False).status_code == 200


def test_under_tls_the_session_cookie_is_secure_and_host_only(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    node = DemoNode(extra_config=f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
    try:
        assert node.base.startswith("https://"), node.base
        link = node.links[USERS[0]]
        s = requests.Session()
        r = s.get(link, verify=str(cert))
        assert "Secure" in r.headers["set-cookie"], "the sign-in form's own cookie"
        r = s.post(link, data={"pre": pre_token(r.text)}, allow_redirects=False, verify=str(cert))
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-entente_session="), cookie
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
    finally:
        node.stop()
