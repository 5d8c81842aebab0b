"""The console end to end in headless Chromium, as a new user would use
it: sign in with the printed link, every page, write an indicator (with the
pattern checked as it is typed), upload a bundle, record an incident and
read a notification, sign out. No page may log an error in the browser
(a Content-Security-Policy violation would).

Screenshots of the overview and an object page go to $CONSOLE_SCREENSHOTS
(the README's are made with CONSOLE_SCREENSHOTS=docs).
"""

import json
import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from console_support import USERS, DemoNode

CHROMIUM = "/usr/bin/chromium"
DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        yield p


def chromium(playwright, **options):
    """Debian's Chromium with a fresh profile, no background traffic."""
    return playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="entente-chromium-"),
        executable_path=CHROMIUM,
        headless=True,
        viewport={"width": 1280, "height": 900},
        args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-gpu", "--disable-quic"],
        **options,
    )


@pytest.fixture(scope="module")
def browser(playwright):
    context = chromium(playwright)
    try:
        yield context
    finally:
        context.close()


def shots_dir():
    d = os.environ.get("CONSOLE_SCREENSHOTS")
    return Path(d) if d else Path(tempfile.mkdtemp(prefix="entente-shots-"))


def test_a_new_user_walks_through_the_console(demo, browser):
    errors = []
    page = browser.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sign in with the link the demo printed.
    page.goto(demo.links[USERS[0]])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.locator("header")).to_contain_text("Example National CERT/analyst")
    expect(page.locator("#counts-by-type")).to_be_attached()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    shots = shots_dir()
    page.screenshot(path=str(shots / "console-overview.png"), full_page=True)
    page.get_by_role("link", name="7 days").click()
    expect(page.locator("strong[aria-current=true]")).to_have_text("7 days")

    # Every page of the navigation.
    for name, heading in [("Objects", "Collections and objects"), ("Share", "Share"),
                          ("Incidents", "Incidents"), ("Administration", "Administration")]:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()

    # Search, then an object page with its relationships.
    page.goto(demo.base + "/console/objects")
    page.get_by_label("Text").fill("NIGHTOWL")
    page.get_by_label("Type").fill("malware")
    page.get_by_role("button", name="Show").click()
    page.locator("#object-list a").first.click()
    expect(page.locator(".tlp").first).to_be_visible()
    expect(page.locator("svg.graph")).to_be_visible()
    expect(page.locator("#raw-json")).to_contain_text('"type": "malware"')
    page.screenshot(path=str(shots / "console-object.png"), full_page=True)

    # Write an indicator; the pattern is checked as it is typed.
    page.goto(demo.base + "/console/share")
    expect(page.locator("#shown-as")).to_contain_text("Recipients will see:")
    page.get_by_label("Name", exact=True).fill("Browser-made indicator")
    pattern = page.locator("#i-pattern")
    pattern.fill("[domain-name:value = 'c2.example.org'")
    expect(page.locator("#pattern-check .pattern-error")).to_contain_text("Line 1, column")
    pattern.fill("[domain-name:value = 'c2.example.org']")
    expect(page.locator("#pattern-check")).to_contain_text("valid STIX 2.1 pattern")
    page.get_by_role("button", name="Share the indicator").click()
    expect(page.locator("#share-counts")).to_contain_text("1 stored")

    # Upload a bundle: one object is refused with its reason, the others stored.
    bundle = {"type": "bundle", "id": "bundle--0b6f3c2e-8d0a-4c1e-9d55-3c4e1f2a7b90", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6f1d4a0e-2b5c-4d8e-9a3f-1c2b3d4e5f60",
         "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z", "name": "Uploaded one",
         "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z"},
        {"type": "domain-name", "spec_version": "2.1", "id": "domain-name--3c9c0f2e-6a0e-5a4e-9f4e-2f8f7b0f9d11",
         "value": "upload.example.org"},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6f1d4a0e-2b5c-4d8e-9a3f-1c2b3d4e5f61",
         "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
         "pattern": "[ipv4-addr:value = ", "pattern_type": "stix", "valid_from": "2026-12-01T00:00:00Z"},
    ]}
    upload = Path(tempfile.mkdtemp()) / "bundle.json"
    upload.write_text(json.dumps(bundle))
    page.set_input_files("#u-file", str(upload))
    page.get_by_role("button", name="Upload and share").click()
    expect(page.locator("#share-counts")).to_contain_text("2 stored, 0 already there, 1 refused")
    expect(page.locator("#refusals")).to_contain_text("indicator--6f1d4a0e-2b5c-4d8e-9a3f-1c2b3d4e5f61")

    # Record an incident as a partial record, then read what it lacks.
    page.goto(demo.base + "/console/incidents/new")
    page.get_by_label("Title").fill("Ransomware at a test grid operator")
    page.get_by_label("Your organisation's legal name").fill("Test Grid GmbH")
    page.get_by_label("EU Member States where you are established").fill("DE")
    page.get_by_label("NIS2 class").fill("essential")
    page.get_by_label("Became aware at (UTC)").fill("2026-11-30T08:00")
    page.get_by_label("Significant incident (NIS2)").check()
    page.get_by_role("button", name="Save the record").click()
    expect(page.locator("#deadline-timeline li").first).to_be_visible()
    expect(page.locator("details[data-regime=nis2][data-applies=true]")).to_be_visible()
    page.locator("details[data-regime=nis2] a", has_text="Read").first.click()
    expect(page.locator("#notification-text")).to_contain_text("NIS2")
    page.get_by_role("link", name="← Back to the incident").click()
    page.get_by_label("Submitted at (UTC)").fill("2026-11-30T20:00")
    page.get_by_role("button", name="Record the report").click()
    expect(page.locator("#submission-list")).to_contain_text("submitted")

    # A form with a record that does not parse keeps what was typed and says where.
    page.goto(demo.base + "/console/incidents/new")
    page.get_by_label("Title").fill("Half-written")
    page.locator("details summary", has_text="Everything else").click()
    page.get_by_label("Record (JSON)").fill('{"entity": ')
    page.get_by_role("button", name="Save the record").click()
    expect(page.locator(".notice.error")).to_contain_text("does not parse at line 1")
    expect(page.get_by_label("Title")).to_have_value("Half-written")

    # Sign out.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".notice.ok")).to_contain_text("You are signed out")
    page.goto(demo.base + "/console/objects")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()

    # The refused record is answered 422 on purpose; anything else (a
    # policy violation, a script error, a missing file) is a defect.
    assert [e for e in errors if "status of 422" not in e] == [], errors


def test_reading_works_without_javascript(demo, playwright):
    context = chromium(playwright, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(demo.links[USERS[1]])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        page.goto(demo.base + "/console/objects?q=nightowl")
        page.locator("#object-list a").first.click()
        expect(page.locator("#raw-json")).to_be_visible()
        # Without JavaScript a form still posts, and the answer is a page.
        page.goto(demo.base + "/console/share")
        page.get_by_label("Name", exact=True).fill("x")
        page.locator("#i-pattern").fill("[x")
        page.get_by_role("button", name="Share the indicator").click()
        expect(page.locator(".notice.error")).to_contain_text("line 1, column")
    finally:
        context.close()
