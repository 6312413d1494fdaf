"""The rendered book as a reader sees it, in a real browser (Debian's Chromium driven by
Playwright), served over HTTP from a local server.

Runs after the book is built (``make test`` builds the smoke book first); the book is
``$CANCER_ALPHA_BOOK`` or ``build/smoke/book/_build/html``. A full-page screenshot of every
page goes to ``build/<profile>/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socketserver
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("CANCER_ALPHA_BOOK", ROOT / "build" / "smoke" / "book" / "_build"
                           / "html"))
# Debian's chromium by default; CANCER_ALPHA_CHROMIUM names another build of it
CHROMIUM = (os.environ.get("CANCER_ALPHA_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# what a reader must never see: a float that is not a number, a Python error, a raw pandas
# repr, a glue value that was never filled in, or the papers' file names
FORBIDDEN = {
    "NaN": re.compile(r"\bNaN\b"),
    "a traceback": re.compile(r"Traceback \(most recent call last\)"),
    "a pandas repr": re.compile(r"(Name: \w+, dtype:|dtype: (float|int|object)\d*)"),
    "a missing glue value": re.compile(r"(glue:text|glue:|\{glue)"),
    "a paper's file name": re.compile(r"\bseed ?0{2,3}[02]\b", re.IGNORECASE),
    "a figure repr": re.compile(r"<Figure size \d+"),
    "a count of one in the plural": re.compile(r"\b1 (seeds|runs|threads|folds|trials|epochs)\b"),
}
CLAIMS = [f"C{i:02d}" for i in range(1, 16)]

pytestmark = pytest.mark.skipif(not (HTML / "index.html").is_file(),
                                reason=f"no rendered book at {HTML}: build it first "
                                       "(cancer-alpha reproduce --profile smoke --book)")


def _pages() -> list[str]:
    skip = {"genindex.html", "search.html"}
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts
                  and p.name not in skip)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(_Quiet,
                                                                         directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: install Debian's package "
                    "(`sudo apt-get install chromium`; make test does this itself when it runs "
                    "as root), or set CANCER_ALPHA_CHROMIUM to a Chromium executable")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def rendered(server, browser):
    """Every page once: its text, its links, its images' load state and its element ids;
    a full-page screenshot of each is saved on the way."""
    profile = HTML.parents[2].name if HTML.parent.name == "_build" else "book"
    shots = ROOT / "build" / profile / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)  # no screenshot of a page that is gone
    shots.mkdir(parents=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    out = {}
    for rel in _pages():
        response = page.goto(server + rel)
        page.wait_for_load_state("networkidle")
        out[rel] = {
            "status": response.status if response else None,
            "text": page.inner_text("body"),
            "main": page.inner_text("main") if page.locator("main").count() else "",
            "links": page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"),
            "images": page.eval_on_selector_all(
                "img", "els => els.map(e => [e.currentSrc || e.src, e.complete && "
                       "e.naturalWidth > 0, e.getAttribute('alt') || ''])"),
            "ids": set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")),
            # wider than the window: the page scrolls sideways and cuts its content off
            "overflow": page.evaluate("document.documentElement.scrollWidth - "
                                      "document.documentElement.clientWidth"),
            # every image of a cell's output, with the caption of the figure it sits in
            "figures": page.eval_on_selector_all(
                "div.cell_output img", "els => els.map(e => { const f = "
                "e.closest('figure.ca-figure'); const c = f && f.querySelector('figcaption'); "
                "return c ? c.innerText : ''; })"),
            # plain-text outputs of cells (a setup cell must not print a stray value)
            "plain": page.eval_on_selector_all(
                "div.cell_output .output.text_plain", "els => els.map(e => e.innerText.trim())"),
            "badges": page.eval_on_selector_all(
                "[data-claim]", "els => els.map(e => [e.dataset.claim, "
                                "e.querySelector('.verdict') ? "
                                "e.querySelector('.verdict').innerText : '', "
                                "Array.from(e.querySelectorAll('a.evidence')).map(a => a.href)])"),
        }
        page.screenshot(path=str(shots / (rel.replace("/", "__")[:-5] + ".png")),
                        full_page=True)
    page.close()
    return out


def test_the_book_has_its_pages(rendered):
    pages = set(rendered)
    assert "index.html" in pages and "book/intro.html" in pages
    chapters = [p for p in pages if p.startswith("notebooks/")]
    assert len(chapters) >= 7
    assert all(v["status"] == 200 for v in rendered.values())


def test_every_image_loads_and_says_what_it_shows(rendered):
    broken = [(page, src) for page, v in rendered.items() for src, ok, _ in v["images"]
              if not ok]
    assert not broken, broken
    # a figure's alt text says what it shows: docutils' default, the image's own path, does not
    figures = [(page, src) for page, v in rendered.items()
               for src, _, alt in v["images"]
               if ("_images" in src or src.startswith("data:image"))
               and (not alt.strip() or alt.strip().endswith(Path(urlparse(src).path).name))]
    assert not figures, f"figures without alt text: {figures}"


def test_every_figure_is_numbered_and_names_its_code_and_record(rendered):
    bad = [(page, caption[:80]) for page, v in rendered.items() for caption in v["figures"]
           if not re.match(r"Figure \d+\.\d+\. \S", caption)
           or "Drawn by cancer_alpha.plots." not in caption
           or not re.search(r"results/\w+/\d\d_\w+\.json", caption)]
    assert not bad, f"figures without a numbered caption naming function and record: {bad}"
    assert sum(len(v["figures"]) for v in rendered.values()) >= 30


def test_no_cell_prints_a_stray_value(rendered):
    # a bare number or a short repr under a cell is plumbing leaking (a glue's return value)
    stray = [(page, text) for page, v in rendered.items() for text in v["plain"]
             if re.fullmatch(r"-?[\d.e+-]+|np\.\w+\(.*\)|'[^']*'", text)]
    assert not stray, stray


@pytest.mark.parametrize("what", list(FORBIDDEN))
def test_no_page_shows_what_a_reader_must_not_see(rendered, what):
    found = {}
    for page, v in rendered.items():
        match = FORBIDDEN[what].search(v["main"] or v["text"])
        if match:
            start = max(match.start() - 60, 0)
            found[page] = (v["main"] or v["text"])[start:match.end() + 60]
    assert not found, f"{what} on: {found}"


def test_internal_links_resolve(rendered, server):
    broken = []
    for page, v in rendered.items():
        for href in v["links"]:
            url, anchor = urldefrag(href)
            if not url.startswith(server):
                continue
            target = unquote(urlparse(url).path.lstrip("/")) or "index.html"
            if target.endswith("/"):
                target += "index.html"
            if not (HTML / target).is_file():
                broken.append((page, href))
            elif anchor and target in rendered and anchor not in rendered[target]["ids"]:
                broken.append((page, href))
    assert not broken, broken[:20]


def test_the_claims_audit_lists_every_claim_with_a_verdict_and_its_evidence(rendered, server):
    audit = next(p for p in rendered if p.startswith("notebooks/") and "claims_audit" in p)
    badges = {cid: (verdict, links) for cid, verdict, links in rendered[audit]["badges"]}
    assert sorted(badges) == CLAIMS
    for cid, (verdict, links) in badges.items():
        assert verdict.strip(), f"{cid} shows no verdict"
        assert links, f"{cid} has no link to its evidence"
        for href in links:
            url, anchor = urldefrag(href)
            target = unquote(urlparse(url).path.lstrip("/"))
            assert target in rendered, f"{cid}: evidence page {target} is not in the book"
            assert not anchor or anchor in rendered[target]["ids"], (
                f"{cid}: no section #{anchor} on {target}")


def test_no_page_is_wider_than_the_window(rendered):
    wide = {page: v["overflow"] for page, v in rendered.items() if v["overflow"] > 0}
    assert not wide, f"pages that scroll sideways (px beyond 1280): {wide}"


def test_the_intro_opens_with_numbers(rendered):
    intro = rendered["book/intro.html"]
    assert "findings" in intro["ids"], "the intro has no findings section"
    head = intro["main"].split("How to read this book")[0]
    numbers = re.findall(r"\b\d+(?:\.\d+)?%?", head)
    assert len(numbers) >= 8, f"the findings show {len(numbers)} numbers: {head[:400]}"
    # every finding was read from a record: none is left unavailable
    assert "n/a" not in head, head[max(head.find("n/a") - 200, 0):head.find("n/a") + 60]
    assert any("data:image" in src for src, _, _ in intro["images"]), \
        "the findings show no verdict figure"
