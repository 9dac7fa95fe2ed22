"""The built site in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), served by
`site serve`'s server: navigation, formulas, search in Russian and English, no console errors,
no requests to other hosts, no script from hostile data, a number's source shown with and without
JavaScript. Saves screenshots to docs/screenshots/.

Never run `playwright install`: the browser is the system's. Without /usr/bin/chromium these
tests are skipped, and pytest's summary says why (.ci/run installs it, so CI always runs them).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from digest.build import build_site
from digest.serve import make_server, site_address
from paperdigest.db import Database
from paperdigest.settings import Settings
from tests.support.site import add_hostile_review, populate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[test]')"
)
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing: browser tests skipped (apt-get install chromium; .ci/run does)",
)


@dataclass
class Served:
    url: str
    site: Path


def _serve(tmp: Path, *, hostile: bool) -> Iterator[Served]:
    settings = Settings(
        _env_file=None, DATABASE_URL=f"sqlite:///{tmp / 'site.db'}", DATA_DIR=tmp / "data", SITE_DIR=tmp / "site"
    )
    db = Database(settings.DATABASE_URL)
    populate(db, hostile=False)
    if hostile:
        add_hostile_review(db)
    db.close()
    # Tiny search shards, so the search page merges several Pagefind indexes as a large site does.
    build_site(settings, shard_size=2, tail_size=1)
    server = make_server(tmp / "site", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = site_address(server)
    build_site(settings.replace(SITE_URL=url.rstrip("/")), shard_size=2, tail_size=1)  # absolute links point here
    yield Served(url, tmp / "site")
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as patch:  # no demo results published with the code either
        patch.setattr("demos.registry.PUBLISHED_DIR", tmp_path_factory.mktemp("published"))
        yield from _serve(tmp_path_factory.mktemp("browser-site"), hostile=True)


@pytest.fixture(scope="module")
def clean_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The same site without the hostile paper, for screenshots people will look at."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("demos.registry.PUBLISHED_DIR", tmp_path_factory.mktemp("published"))
        yield from _serve(tmp_path_factory.mktemp("browser-clean"), hostile=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    page: object
    base: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.foreign, f"requests to other hosts: {self.foreign}"


@pytest.fixture
def watched(browser, served: Served) -> Iterator[Watched]:
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = Watched(page, served.url)
    page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: seen.errors.append(str(err)))
    page.on("request", lambda req: None if req.url.startswith((served.url, "data:")) else seen.foreign.append(req.url))
    yield seen
    context.close()


def test_index_card_leads_to_a_paper_with_rendered_math(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.base)
    assert page.locator("html").get_attribute("lang") == "ru"
    page.get_by_role("link", name="Training Large Language Models to Reason in a Continuous Latent Space").click()
    page.wait_for_url(re.compile(r"/papers/2412\.06769\.html$"))
    assert page.locator("h1").inner_text().startswith("Training Large Language Models")
    block = page.locator('math[display="block"]').first
    box = block.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 10  # laid out by the browser's MathML
    assert page.locator("math").count() >= 3
    assert page.get_by_role("link", name="Код").get_attribute("href") == "https://github.com/facebookresearch/coconut"
    watched.assert_clean()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("рассуждения", "/papers/2412.06769.html"),  # the review says «рассуждению»: the Russian stemmer matches it
        ("Internalize", "/papers/2405.14838.html"),  # an English title word, found in the second shard
    ],
)
def test_search_finds_and_opens_a_review(watched: Watched, query: str, expected: str) -> None:
    page = watched.page
    page.goto(watched.base + "search/index.html")
    page.locator(".pagefind-ui__search-input").fill(query)
    result = page.locator(f'.pagefind-ui__result-link[href="{expected}"]')
    result.wait_for()  # results from the merged shards arrive one after another
    assert result.count() == 1
    result.click()
    page.wait_for_url(re.compile(re.escape(expected) + "$"))
    assert page.locator("article.paper h1").count() == 1
    watched.assert_clean()


def test_search_from_the_address_bar(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.base + "search/index.html?q=Coconut")
    page.locator('.pagefind-ui__result-link[href="/papers/2412.06769.html"]').wait_for()
    watched.assert_clean()


def test_hostile_data_runs_no_script(watched: Watched, served: Served) -> None:
    page = watched.page
    hostile_category = next(p for p in (served.site / "categories").iterdir() if p.name.startswith("cs.XX"))
    for path in (
        "",
        "papers/2501.00001.html",
        f"categories/{hostile_category.name}/index.html",
        "archive/2024-12/index.html",
        "search/index.html?q=Mallory",
    ):
        page.goto(watched.base + path)
        if "q=" in path:  # the result's excerpt shows the hostile author names
            page.locator('.pagefind-ui__result-link[href="/papers/2501.00001.html"]').wait_for()
        page.mouse.move(200, 400)
        page.wait_for_timeout(200)
        assert page.evaluate("typeof window.__pwned") == "undefined", path
    assert page.locator("img, svg:not(.pagefind-ui svg), iframe").count() == 0
    watched.assert_clean()


def test_keyboard_reaches_the_content_first(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.base)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "К содержанию"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_missing_page_shows_the_404_page(watched: Watched) -> None:
    page = watched.page
    response = page.goto(watched.base + "no/such/page/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Страница не найдена"
    page.get_by_role("link", name="На главную").click()
    page.wait_for_url(watched.base + "index.html")
    assert not watched.foreign


def _in_view(page, selector: str) -> bool:  # noqa: ANN001
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                                   return r.bottom > 0 && r.top < window.innerHeight; }""",
        selector,
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_clicking_a_numbers_reference_shows_the_papers_words(browser, clean_site: Served, javascript: bool) -> None:
    context = browser.new_context(viewport=VIEWPORTS["desktop"], java_script_enabled=javascript)
    page = context.new_page()
    page.goto(clean_site.url + "papers/2412.06769.html")
    assert "Проверено по тексту статьи: 7 из 7 чисел" in page.locator(".paper-header").inner_text()
    assert not _in_view(page, "#src-1")
    page.locator("#ref-1").click()
    page.wait_for_url(re.compile(r"#src-1$"))
    assert _in_view(page, "#src-1")
    note = page.locator("#src-1").inner_text()
    assert "Coconut (Ours) 34.1 8.2 99.8 9.0 97.0 14.2" in note
    assert "раздел 4.4 Results and Discussion, стр. 6" in note
    page.get_by_role("link", name="↩ к числу в тексте").first.click()  # and back to the number
    page.wait_for_url(re.compile(r"#ref-1$"))
    assert _in_view(page, "#ref-1")
    context.close()


def test_a_reference_reached_by_keyboard_shows_the_quote_and_leads_to_the_note(browser, clean_site: Served) -> None:
    context = browser.new_context(viewport=VIEWPORTS["desktop"], java_script_enabled=False)
    page = context.new_page()
    page.goto(clean_site.url + "papers/2412.06769.html")
    reference = page.locator("#ref-2")
    reference.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard: :focus-visible shows the CSS tooltip
    tip = page.evaluate("getComputedStyle(document.querySelector('#ref-2'), '::after').content")
    assert "CoT 42.9 25.0 98.8 92.5 77.5 49.4" in tip and "стр. 6" in tip
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#src-2$"))
    assert _in_view(page, "#src-2")
    context.close()


def test_a_failed_reviews_suspect_number_is_marked(browser, clean_site: Served) -> None:
    context = browser.new_context(viewport=VIEWPORTS["desktop"], java_script_enabled=False)
    page = context.new_page()
    page.goto(clean_site.url + "papers/hep-th_9901001.html")
    header = page.locator(".paper-header").inner_text()
    assert "не прошла проверку" in header and "Не подтверждены текстом статьи: 99%" in header
    mark = page.locator("mark.suspect")
    assert mark.inner_text() == "99%"
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    page.get_by_role("link", name="99%").click()
    assert _in_view(page, "#src-2") and "в тексте статьи такого числа нет" in page.locator("#src-2").inner_text()
    response = page.goto(clean_site.url + "papers/2501.00002.html")  # dropped by an admin: not published
    assert response is not None and response.status == 404
    context.close()


def test_screenshot_of_a_numbers_source(browser, clean_site: Served) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(clean_site.url + "papers/2412.06769.html")
    page.locator("#ref-1").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, document.querySelector('#ref-1').getBoundingClientRect().top - 260)")
    page.locator("#ref-1").hover()
    page.screenshot(path=SCREENSHOTS / "paper-sources.png")
    context.close()
    assert (SCREENSHOTS / "paper-sources.png").stat().st_size > 10_000


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_screenshots(browser, clean_site: Served, width: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport=VIEWPORTS[width], color_scheme=scheme)
        page = context.new_page()
        suffix = "" if scheme == "light" else "-dark"
        page.goto(clean_site.url)
        page.screenshot(path=SCREENSHOTS / f"index-{width}{suffix}.png")
        page.goto(clean_site.url + "papers/2412.06769.html")
        page.screenshot(path=SCREENSHOTS / f"paper-{width}{suffix}.png", full_page=True)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= VIEWPORTS[width]["width"], "the page scrolls sideways"
        context.close()
    assert (SCREENSHOTS / f"paper-{width}.png").stat().st_size > 10_000
