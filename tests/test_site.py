"""The course website, read as a learner reads it: every chapter page in headless Chromium, offline.

The site is built from the committed notebooks by `site/build.py` (reused when _build/site is up to
date with them) and served from 127.0.0.1. Chromium here has no network, so a page that needed a CDN
would show untypeset maths or console errors. For every chapter: no console errors, every script and
stylesheet from the site itself, MathJax 3 (the local copy) has typeset the maths and no raw `$$`,
`\\(` or `\\[` is left in the prose, every plot the notebook stores is on the page and loaded, the
Colab badge links to the chapter on Colab, and the download link serves the committed notebook
byte for byte. Screenshots go to test-artifacts/site_*.png.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import nbformat
import pytest

from _browser import ARTIFACTS, ROOT, chrome, require_browser, wait

SITE = ROOT / "_build" / "site"
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a Sphinx build and a real browser


@pytest.fixture(scope="module")
def site() -> Path:
    """_build/site, built now unless it is already up to date with the notebooks and site/."""
    proc = subprocess.run([sys.executable, str(ROOT / "site" / "build.py"), "--if-stale"],
                          cwd=ROOT, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, f"site/build.py failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    print(proc.stdout.strip().splitlines()[-1])
    assert (SITE / "index.html").is_file()
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output for failures
        pass


@pytest.fixture(scope="module")
def server(site):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    require_browser()
    with chrome(tmp_path_factory.mktemp("site-chrome"), console_log=True) as driver:
        yield driver


# What the page shows, read in the page itself.
PAGE_JS = r"""
const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
const prose = article.cloneNode(true);
prose.querySelectorAll('pre, code, .cell_input, .cell_output, mjx-container, script, style').forEach(e => e.remove());
const origin = location.origin;
const foreign = [...document.querySelectorAll('script[src], link[href][rel~="stylesheet"], img[src]')]
  .map(e => e.src || e.href).filter(u => !u.startsWith(origin));
return {
  title: document.title,
  mathjax: window.MathJax && MathJax.version ? MathJax.version : null,
  mathjaxSrc: [...document.querySelectorAll('script[src*="mathjax"]')].map(s => s.src),
  typeset: article.querySelectorAll('mjx-container').length,
  prose: prose.textContent,
  foreign: foreign,
  images: [...article.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
  colab: [...article.querySelectorAll('a[href^="https://colab.research.google.com/github/"]')]
    .map(a => ({href: a.href, img: a.querySelector('img') ? a.querySelector('img').naturalWidth : 0})),
  downloads: [...article.querySelectorAll('a[href$=".ipynb"]')].map(a => a.href),
  navigation: [...document.querySelectorAll('.bd-sidebar-primary a.reference.internal')].map(a => a.getAttribute('href')),
  search: !!document.querySelector('.search-button, form.bd-search, input[name="q"]'),
};
"""

MATHJAX_DONE_JS = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done(false); return; }
MathJax.startup.promise.then(() => done(true), () => done(false));
"""


def _expected(notebook: Path) -> dict:
    """What the page must show, from the committed notebook: its plots and whether it has maths."""
    nb = nbformat.read(notebook, as_version=4)
    pngs = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return {"pngs": pngs, "math": bool(re.search(r"\$[^$\n]+\$", markdown))}


def _severe(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_reads_offline(server, browser, notebook):
    page = f"{server}/notebooks/{notebook.stem}.html"
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(page)
    want = _expected(notebook)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"site_{notebook.stem}.png"
    try:
        if want["math"]:
            browser.set_script_timeout(60)
            assert browser.execute_async_script(MATHJAX_DONE_JS), f"{page}: MathJax did not finish typesetting"
        wait(f"the images of {page} to load", lambda: all(i["complete"] for i in browser.execute_script(PAGE_JS)["images"]), 30)
        facts = browser.execute_script(PAGE_JS)
    finally:
        browser.save_screenshot(str(shot))
    name = notebook.name
    errors = _severe(browser)
    assert not errors, f"{page}: console errors: {errors}"
    assert not facts["foreign"], f"{page} loads from outside the site (it must work offline): {facts['foreign']}"
    if want["math"]:
        assert facts["mathjax"] and facts["mathjax"].startswith("3."), f"{page}: MathJax 3 not loaded ({facts['mathjax']}, {facts['mathjaxSrc']})"
        assert all(s.startswith(server) for s in facts["mathjaxSrc"]), f"{page}: MathJax not served by the site: {facts['mathjaxSrc']}"
        assert facts["typeset"] > 0, f"{page}: {name} has maths but nothing was typeset"
    for raw in ("$$", "\\(", "\\["):
        assert raw not in facts["prose"], f"{page}: raw {raw!r} left in the text (maths not typeset): ...{facts['prose'][facts['prose'].find(raw) - 80:][:200]}..."
    broken = [i["src"] for i in facts["images"] if not i["width"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    plots = [i for i in facts["images"] if i["src"].endswith(".png")]
    assert len(plots) >= want["pngs"], f"{page}: {len(plots)} plots shown, {name} stores {want['pngs']}"
    assert any(c["href"].endswith(f"/notebooks/{name}") and c["img"] > 0 for c in facts["colab"]), \
        f"{page}: no working Open-in-Colab badge for {name}: {facts['colab']}"
    missing = [c.stem for c in CHAPTERS if c != notebook and not any(h.endswith(f"{c.stem}.html") for h in facts["navigation"])]
    assert not missing, f"{page}: the chapter navigation lacks {missing}"
    assert facts["search"], f"{page}: no search box"
    downloads = [d for d in facts["downloads"] if d.startswith(server) and d.endswith(f"/{name}")]
    assert downloads, f"{page}: no download link for {name} (links to notebooks: {facts['downloads']})"
    with urllib.request.urlopen(downloads[0], timeout=10) as r:  # noqa: S310 (loopback only)
        served = r.read()
    assert hashlib.sha256(served).hexdigest() == hashlib.sha256(notebook.read_bytes()).hexdigest(), \
        f"{downloads[0]} is not the committed {name}"
    assert shot.stat().st_size > 10_000, f"the screenshot {shot} is empty"


def test_front_page_lists_every_chapter_and_search_finds_them(server, browser):
    browser.get(f"{server}/index.html")
    links = browser.execute_script(
        "return [...document.querySelectorAll('.bd-sidebar-primary a.reference.internal')].map(a => a.getAttribute('href'));")
    browser.save_screenshot(str(ARTIFACTS / "site_index.png"))
    for notebook in CHAPTERS:
        assert any(h.endswith(f"notebooks/{notebook.stem}.html") for h in links), f"{notebook.stem} is not in the navigation: {links}"
    assert not _severe(browser), _severe(browser)

    browser.get(f"{server}/search.html?q=attention")
    hits = wait("search results for 'attention'", lambda: browser.execute_script(
        "return [...document.querySelectorAll('#search-results li a')].map(a => a.getAttribute('href'));"), 30)
    browser.save_screenshot(str(ARTIFACTS / "site_search.png"))
    assert any("03_attention" in h for h in hits), f"searching 'attention' does not find chapter 03: {hits}"
