"""WCAG 2.1 AA on every console page, measured in Debian's Chromium:
the contrast of every piece of visible text (HTML and SVG) against the
background it is drawn on (4.5:1, 3:1 for large text; TLP badges and chart
labels included), a label for every form control, and keyboard use: each
Tab stop shows where the focus is."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from console_support import USERS, DemoNode

CHROMIUM = "/usr/bin/chromium"
DIALOGUE = "5d3f1b8e-6c2a-4f7e-9b1d-2a8c4e6f0d17"

CONTRAST = r"""
() => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(parseFloat);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const over = (top, base) => ({
    r: top.r * top.a + base.r * (1 - top.a), g: top.g * top.a + base.g * (1 - top.a),
    b: top.b * top.a + base.b * (1 - top.a), a: 1 });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const bad = [];
  let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || st.opacity === "0") continue;
    const r = el.getBoundingClientRect();
    if (r.right < 0 || r.bottom < 0) continue;  // parked off-screen (the skip link)
    const inSvg = el.closest("svg") !== null;
    const bg = background(inSvg ? el.closest("svg") : el);
    const fg = over(parse(inSvg ? st.fill : st.color) || { r: 0, g: 0, b: 0, a: 1 }, bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    checked++;
    if (ratio < (large ? 3 : 4.5) - 0.005)
      bad.push(`${el.tagName.toLowerCase()}.${el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
  }
  return { checked, bad };
}
"""

LABELS = r"""
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((e) => e.type !== "hidden" && e.type !== "submit")
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
  .map((e) => e.outerHTML.slice(0, 120))
"""

FOCUS = r"""
() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const st = getComputedStyle(e);
  return { tag: e.tagName.toLowerCase(), text: (e.textContent || e.name || "").trim().slice(0, 30),
           outline: st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2 };
}
"""


@pytest.fixture(scope="module")
def demo():
    node = DemoNode()
    try:
        node.admin = next(node.log[i + 1].strip() for i, line in enumerate(node.log) if "Admin token" in line)
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def page(demo):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="entente-chromium-"), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1280, "height": 900},
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-gpu"])
        page = context.new_page()
        page.goto(demo.base + "/console/sign-in")
        page.fill("#token", demo.admin)
        page.get_by_role("button", name="Sign in with the token").click()
        yield page
        context.close()


def pages(page, demo):
    page.goto(demo.base + "/console/objects?type=malware")
    malware = page.locator("#object-list a").first.get_attribute("href")
    page.goto(demo.base + "/console/objects?type=indicator")
    indicator = page.locator("#object-list a").first.get_attribute("href")
    return ["/?days=90", "/console/objects", malware, indicator, "/console/share",
            "/console/incidents", "/console/incidents/new", "/console/admin", "/console/no-such-page"]


def test_text_contrast_meets_wcag_aa_on_every_page(demo, page):
    failures = {}
    for path in pages(page, demo):
        page.goto(demo.base + path)
        # Open every disclosure, so that what it hides is measured too.
        page.evaluate("() => document.querySelectorAll('details').forEach((d) => d.open = true)")
        result = page.evaluate(CONTRAST)
        assert result["checked"] > 3, path
        if result["bad"]:
            failures[path] = result["bad"]
    assert failures == {}, failures
    # The measure itself: grey text on white is caught.
    page.evaluate("() => document.querySelectorAll('p').forEach((p) => p.style.color = '#999999')")
    assert page.evaluate(CONTRAST)["bad"], "the contrast check caught nothing"


def test_every_form_control_has_a_label(demo, page):
    unlabelled = {}
    for path in pages(page, demo):
        page.goto(demo.base + path)
        missing = page.evaluate(LABELS)
        if missing:
            unlabelled[path] = missing
    assert unlabelled == {}, unlabelled


def test_the_keyboard_reaches_the_forms_and_shows_the_focus(demo, page):
    page.goto(demo.base + "/console/share")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus:
            seen.append(focus)
    assert [f for f in seen if not f["outline"]] == [], "a Tab stop without a visible focus"
    tags = {f["tag"] for f in seen}
    assert {"a", "input", "select", "textarea", "button"} <= tags, tags
