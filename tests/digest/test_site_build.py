"""The digest site built from a small fixture database: pages, incremental writes, feeds, links, safety.

The built pages are compared with tests/digest/expected_site/. After a deliberate change to the
templates or the renderer, refresh that copy with:

    UPDATE_EXPECTED=1 .venv/bin/pytest tests/digest/test_site_build.py -k expected
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import posixpath
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import feedparser
import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from digest.build import build_site
from digest.rebuild import SiteRebuilder
from digest.serve import make_server, site_address
from paperdigest.commands.site import site_app
from paperdigest.models import Paper, Review
from paperdigest.settings import Settings
from summarizer.grounding import Grounding
from tests.support.site import COCONUT_ROW, ICOT_BODY, PWN, SITE_URL, T0, add_review, parse_tags, site_files

EXPECTED_DIR = Path(__file__).parent / "expected_site"
GENERATED = ("pagefind/", "static/")  # Pagefind's bundle and copies of templates/site/static


def built(settings: Settings) -> Path:
    build_site(settings)
    return Path(settings.SITE_DIR)


def comparable(site_dir: Path) -> dict[str, bytes]:
    return {path: file.read_bytes() for path, file in site_files(site_dir).items() if not path.startswith(GENERATED)}


def test_build_matches_expected_pages(site_settings: Settings, site_db) -> None:
    actual = comparable(built(site_settings))
    if os.environ.get("UPDATE_EXPECTED") == "1":
        shutil.rmtree(EXPECTED_DIR, ignore_errors=True)
        for path, content in actual.items():
            (EXPECTED_DIR / path).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED_DIR / path).write_bytes(content)
    expected = comparable(EXPECTED_DIR)
    assert sorted(actual) == sorted(expected), "pages added or missing; UPDATE_EXPECTED=1 refreshes the copy"
    for path, content in actual.items():
        if content != expected[path]:
            diff = difflib.unified_diff(
                expected[path].decode().splitlines(),
                content.decode().splitlines(),
                f"expected/{path}",
                f"built/{path}",
                lineterm="",
                n=2,
            )
            pytest.fail(
                f"{path} differs from tests/digest/expected_site (UPDATE_EXPECTED=1 refreshes it):\n"
                + "\n".join(list(diff)[:60])
            )


def test_pages_show_what_the_issue_asks_for(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    coconut = (site / "papers/2412.06769.html").read_text()
    for needle in (
        '<html lang="ru">',
        "https://arxiv.org/abs/2412.06769",
        "https://arxiv.org/pdf/2412.06769v1",
        "https://github.com/facebookresearch/coconut",
        '<math display="block">',
        "<table>",
        "сокращён на 40%",
        "gpt-4o-mini",
        "18\u202f234",
        '<code class="tex">',
    ):
        assert needle in coconut, needle
    icot = (site / "papers/2405.14838.html").read_text()
    assert "Есть новая версия" in icot and "v2" in icot and "Черновик без LLM" in icot
    old = (site / "papers/hep-th_9901001.html").read_text()
    assert "Статья отозвана" in old and "не прошла автоматическую проверку" in old
    index = (site / "index.html").read_text()
    assert index.index("2501.00001") < index.index("2405.14838") < index.index("2412.06769")  # newest first
    assert "Локальное демо" not in coconut + icot  # no results file yet
    for page in (
        "about/index.html",
        "404.html",
        "archive/2024-12/index.html",
        "categories/cs.AI/index.html",
        "search/index.html",
        "sitemap.xml",
    ):
        assert (site / page).is_file(), page


def test_adding_a_review_rewrites_exactly_its_pages(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    add_review(
        site_db,
        "2501.00777",
        title="A New Paper",
        body=ICOT_BODY,
        at=T0 + timedelta(days=3),
        categories=["cs.CL", "cs.LG"],
    )
    report = build_site(site_settings)
    pages = {p for p in report.written_paths if not p.startswith("pagefind/")}
    assert pages == {
        "papers/2501.00777.html",
        "index.html",
        "categories/cs.CL/index.html",
        "categories/cs.LG/index.html",
        "categories/index.html",
        "archive/2024-12/index.html",
        "archive/index.html",
        "feed.xml",
        "categories/cs.CL/feed.xml",
        "categories/cs.LG/feed.xml",
        "sitemap.xml",
    }
    search = {p for p in report.written_paths if p.startswith("pagefind/")}
    assert search and all(p.startswith("pagefind/0-0/") for p in search)
    assert "pagefind/0-0/pagefind-entry.json" in search
    again = build_site(site_settings)
    assert again.written == 0 and again.unchanged > 0 and not again.removed_paths


def test_a_second_shard_is_left_alone(site_settings: Settings, site_db) -> None:
    build_site(site_settings, shard_size=2, tail_size=1)  # 4 papers: blocks "0" and "1"
    site = Path(site_settings.SITE_DIR)
    assert (site / "pagefind/1/pagefind-entry.json").is_file()
    assert not (site / "pagefind/1/pagefind-ui.js").exists()  # the UI lives in the first shard only
    add_review(site_db, "2501.00777", title="A New Paper", body=ICOT_BODY, at=T0 + timedelta(days=3))
    report = build_site(site_settings, shard_size=2, tail_size=1)
    assert {p.split("/")[1] for p in report.written_paths if p.startswith("pagefind/")} == {"2-0"}
    assert 'data-shards="0 1 2-0"' in (site / "search/index.html").read_text()


def test_removed_papers_lose_their_pages(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    hostile_category = [p for p in site_files(site) if p.startswith("categories/cs.XX")]
    assert hostile_category
    with site_db.session() as session, session.begin():
        session.execute(delete(Review).where(Review.arxiv_id == "2501.00001"))
        session.execute(delete(Paper).where(Paper.arxiv_id == "2501.00001"))
    report = build_site(site_settings)
    assert "papers/2501.00001.html" in report.removed_paths
    assert not (site / "papers/2501.00001.html").exists() and not (site / "categories/cs.CR").exists()
    assert not any((site / p).exists() for p in hostile_category)


def test_full_build_sees_a_review_edited_in_place(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    with site_db.session() as session, session.begin():
        review = session.query(Review).filter_by(arxiv_id="2412.06769", moderation=None).one()
        review.body = review.body.replace("Coconut подаёт", "Coconut отдаёт")  # same length: the key cannot see it
    assert "papers/2412.06769.html" not in build_site(site_settings).written_paths
    report = build_site(site_settings, full=True)
    assert "papers/2412.06769.html" in report.written_paths
    assert "Coconut отдаёт" in (Path(site_settings.SITE_DIR) / "papers/2412.06769.html").read_text()


def test_paper_page_links_each_number_to_its_source(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    coconut = (site / "papers/2412.06769.html").read_text()
    assert "Проверено по тексту статьи: 7 из 7 чисел" in coconut
    refs = [
        attrs["href"]
        for tag, attrs in parse_tags(coconut).tags
        if tag == "a" and attrs.get("id", "").startswith("ref-")
    ]
    assert refs == [f"#src-{k}" for k in range(1, 8)]
    assert "97.0%<sup" in coconut and 'id="src-7"' in coconut
    assert coconut.count(COCONUT_ROW.quote) == 3 + 3  # in three notes and three tooltips
    assert 'раздел <span lang="en">4.4 Results and Discussion</span>, стр. 6' in coconut
    assert "вычислено из чисел статьи: 97.0 и 77.5" in coconut
    assert "не прошла проверку" not in coconut and "<mark" not in coconut
    assert "ОТКЛОНЕНО" not in coconut  # the newer review an admin dropped is not shown
    assert "Проверено по тексту статьи" not in (site / "papers/2405.14838.html").read_text()  # an offline draft
    entry = next(e for e in feedparser.parse((site / "feed.xml").read_bytes()).entries if "Continuous" in e.title)
    content = entry.content[0].value  # in a feed reader the references lead to the page's notes
    assert f'href="{SITE_URL}/papers/2412.06769.html#src-1"' in content and 'href="#' not in content
    assert "Проверено по тексту статьи: 7 из 7 чисел" in content


def test_a_failed_review_is_marked_and_a_dropped_one_is_not_published(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    page = (site / "papers/hep-th_9901001.html").read_text()
    header = page.split('<div class="review">')[0]
    assert '<span class="badge badge-alert">не прошла проверку</span>' in header
    assert "ждёт решения администратора" in header
    assert 'Не подтверждены текстом статьи: <a href="#src-2">99%</a>.' in header
    assert "Проверено по тексту статьи: 1 из 2 чисел" in header
    assert '<mark class="suspect">99%</mark><sup class="ref ref-suspect"' in page
    assert "не подтверждено: в тексте статьи такого числа нет" in page
    # The only review of 2501.00002 was dropped: the paper is nowhere on the site.
    assert not (site / "papers/2501.00002.html").exists()
    for path, file in site_files(site).items():
        if not path.startswith(("pagefind/", "static/")):
            assert b"2501.00002" not in file.read_bytes() and "ОТКЛОНЕНО".encode() not in file.read_bytes(), path


def _set_review(db, arxiv_id: str, **values) -> None:  # noqa: ANN001
    with db.session() as session, session.begin():
        review = (
            session.query(Review)
            .filter_by(arxiv_id=arxiv_id)
            .filter((Review.moderation.is_(None)) | (Review.moderation != "dropped"))
            .one()
        )
        for name, value in values.items():
            setattr(review, name, value)


def test_an_admins_decision_rebuilds_the_pages_that_show_it(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    site = Path(site_settings.SITE_DIR)
    _set_review(site_db, "hep-th/9901001", moderation="approved")  # /approve
    written = set(build_site(site_settings).written_paths)
    assert {"papers/hep-th_9901001.html", "index.html", "categories/hep-th/index.html"} <= written
    page = (site / "papers/hep-th_9901001.html").read_text()
    assert "допустил её к публикации" in page and "ждёт решения" not in page and "не прошла проверку" in page
    _set_review(site_db, "hep-th/9901001", moderation="dropped")  # /drop: its only review
    report = build_site(site_settings)
    assert "papers/hep-th_9901001.html" in report.removed_paths and "feed.xml" in report.written_paths
    assert "hep-th" not in (site / "index.html").read_text()


def test_a_changed_number_check_rebuilds_the_page(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    with site_db.session() as session:
        record = session.query(Review).filter_by(arxiv_id="2412.06769", moderation=None).one().grounding
    record["numbers"][0] |= {"status": "mismatch"}  # a longer word: the record's size changes
    _set_review(site_db, "2412.06769", grounding=record)
    assert "papers/2412.06769.html" in build_site(site_settings).written_paths
    page = (Path(site_settings.SITE_DIR) / "papers/2412.06769.html").read_text()
    assert '<mark class="suspect">97.0%</mark>' in page and "Проверено по тексту статьи: 6 из 7 чисел" in page


def test_an_unreadable_number_check_leaves_the_page_as_before(
    site_settings: Settings, site_db, caplog: pytest.LogCaptureFixture
) -> None:
    _set_review(site_db, "2412.06769", grounding={"version": 9, "numbers": [{"value": "97.0%"}]})
    with caplog.at_level(logging.WARNING, logger="digest.load"):
        site = built(site_settings)
    page = (site / "papers/2412.06769.html").read_text()
    assert "97.0% против" in page and "Источники чисел" not in page and "Проверено" not in page
    assert "number check record unreadable" in caplog.text
    assert Grounding.from_json(None) is None


def test_writer_logs_each_file(site_settings: Settings, site_db, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="digest.files"):
        report = build_site(site_settings)
    writes = {r.getMessage() for r in caplog.records if r.getMessage().startswith("Writing ")}
    site = Path(site_settings.SITE_DIR)
    assert {f'Writing "{site / p}"' for p in report.written_paths if not p.startswith("pagefind/")} < writes
    assert any(w.startswith(f'Writing "{site / "pagefind/0-0"}"') for w in writes)  # a new shard moves in whole


def test_feeds_are_valid_atom_with_full_reviews(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    feeds = {
        path: feedparser.parse(file.read_bytes())
        for path, file in site_files(site, ".xml").items()
        if path.endswith("feed.xml")
    }
    assert "feed.xml" in feeds and "categories/cs.AI/feed.xml" in feeds
    for path, feed in feeds.items():
        assert not feed.bozo, (path, feed.get("bozo_exception"))
        assert feed.version == "atom10" and feed.feed.language == "ru"
        assert feed.feed.links[0].href.startswith(SITE_URL)
    main = feeds["feed.xml"]
    assert len(main.entries) == 4
    coconut = next(e for e in main.entries if "Continuous Latent" in e.title)
    assert coconut.link == f"{SITE_URL}/papers/2412.06769.html"
    assert "Суть" in coconut.content[0].value and "github.com/facebookresearch/coconut" in coconut.content[0].value
    assert [e.title for e in feeds["categories/cs.AI/feed.xml"].entries] == [coconut.title]


def _internal_target(site: Path, page: str, url: str) -> Path | None:
    """The file a link points to, or None for links that leave the site."""
    if url.startswith(SITE_URL):
        target = PurePosixPath(urlsplit(url).path.lstrip("/"))
    else:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None
        if not parts.path:
            return site / page  # a fragment on the same page
        target = PurePosixPath(page).parent / unquote(parts.path)
    resolved = Path(os.path.normpath(site / target))
    return resolved / "index.html" if url.split("#")[0].endswith("/") or resolved.is_dir() else resolved


def test_no_broken_internal_links(site_settings: Settings, site_db) -> None:
    broken = broken_links(built(site_settings))
    assert not broken, "\n".join(broken)


def broken_links(site: Path) -> list[str]:
    broken = []
    for page, file in site_files(site, ".html").items():
        if page.startswith("pagefind/"):
            continue
        html = file.read_text()
        for tag, attrs in parse_tags(html).tags:
            for name in ("href", "src"):
                url = attrs.get(name)
                if not url:
                    continue
                target = _internal_target(site, page, url)
                if target is None:
                    continue
                if not target.is_file() or not str(target).startswith(str(site)):
                    broken.append(f"{page}: <{tag} {name}={url!r}>")
                elif "#" in url and url.split("#")[1] and f'id="{url.split("#")[1]}"' not in target.read_text():
                    broken.append(f"{page}: {url!r} (no such anchor)")
    return broken


def test_pages_load_nothing_from_other_hosts(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    offenders = []
    for page, file in site_files(site).items():
        if page.endswith(".html"):
            for tag, attrs in parse_tags(file.read_text()).tags:
                loads = {
                    "src": attrs.get("src"),
                    "data": attrs.get("data"),
                    "action": attrs.get("action"),
                    "href": attrs.get("href") if tag in {"link", "base"} else None,
                }
                for name, url in loads.items():
                    if url and (urlsplit(url).netloc or url.startswith("//")) and not url.startswith(SITE_URL):
                        offenders.append(f"{page}: <{tag} {name}={url}>")
                for name, value in attrs.items():  # CSS in style attributes
                    if name == "style" and "url(" in value:
                        offenders.append(f"{page}: style={value}")
        if page.endswith((".css", ".html")):
            text = file.read_text()
            for chunk in text.split("url(")[1:]:
                url = chunk.split(")")[0].strip("'\" ")
                if not url.startswith(("data:", "#")) and urlsplit(url).netloc:
                    offenders.append(f"{page}: url({url})")
            if "@import" in text or "fonts.googleapis" in text:
                offenders.append(f"{page}: @import or web font")
    assert not offenders, "\n".join(offenders)


ALLOWED_SCRIPTS = {"static/search.js", "pagefind/0-0/pagefind-ui.js"}


def _assert_inert(where: str, html: str, root: str = "") -> None:
    tags = parse_tags(html)
    assert not tags.inline_scripts, where
    for tag, attrs in tags.tags:
        assert (
            tag not in {"iframe", "object", "embed", "svg", "base", "meta", "img"}
            or (tag == "meta" and "http-equiv" not in attrs)
            or (tag == "img" and attrs["src"].endswith(".png") and ":" not in attrs["src"])
        ), (where, tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (where, tag, attrs)
        for name in ("href", "src", "action", "formaction", "data"):
            value = attrs.get(name, "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (where, tag, attrs)
        if tag == "script":
            assert posixpath.normpath(posixpath.join(posixpath.dirname(where), attrs["src"])) in ALLOWED_SCRIPTS, (
                where,
                attrs,
            )


def test_hostile_metadata_and_review_text_stay_inert(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    for page, file in site_files(site, ".html").items():
        if not page.startswith("pagefind/"):
            _assert_inert(page, file.read_text())
    evil = (site / "papers/2501.00001.html").read_text()
    assert "&lt;script&gt;" in evil and "Mallory" in evil and "наведи" in evil  # shown as text, not dropped
    assert "tracker.invalid" not in evil
    for path, file in site_files(site, ".xml").items():
        if path.endswith("feed.xml"):
            for entry in feedparser.parse(file.read_bytes(), sanitize_html=False).entries:
                _assert_inert(f"{path}: {entry.title}", entry.content[0].value)


def test_sitemap_lists_every_page_once(site_settings: Settings, site_db) -> None:
    site = built(site_settings)
    sitemap = (site / "sitemap.xml").read_text()
    assert f"<loc>{SITE_URL}/papers/2412.06769.html</loc><lastmod>2024-12-20</lastmod>" in sitemap
    assert f"<loc>{SITE_URL}/</loc>" in sitemap and "404" not in sitemap
    pages = [p for p in site_files(site, ".html") if not p.startswith("pagefind/") and p != "404.html"]
    assert sitemap.count("<loc>") == len(pages)


def test_demo_section_appears_once_results_exist(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    folder = Path(site_settings.DATA_DIR) / "demos" / "icot"
    folder.mkdir(parents=True)
    (folder / "curve.png").write_bytes(b"\x89PNG\r\n\x1a\n fake plot")
    (folder / "results.json").write_text(
        json.dumps(
            {
                "demo": "icot",
                "quick": True,
                "task": "3x3 multiplication",
                "parameters": 103808,
                "speedup": 3.73,
                "methods": {
                    "icot": {"accuracy": 0.99, "note": f"<script>{PWN}</script>"},
                    "explicit_cot": {"accuracy": 0.5},
                },
                "plots": ["curve.png", "../escape.png", "missing.png", f"<img onerror={PWN}>.png"],
            }
        )
    )
    report = build_site(site_settings)
    assert {p for p in report.written_paths if not p.startswith("pagefind/")} == {
        "papers/2405.14838.html",
        "demos/icot/index.html",
        "demos/icot/curve.png",
        "sitemap.xml",
    }
    page = (Path(site_settings.SITE_DIR) / "papers/2405.14838.html").read_text()
    assert 'id="demo"' in page and "Локальное демо" in page and 'href="#demo"' in page
    assert "<td>0.99</td>" in page and "paperdigest demos run icot" in page and "Быстрый прогон" in page
    assert 'src="../demos/icot/curve.png"' in page and "escape.png" not in page and "missing.png" not in page
    assert "<script>" not in page.split("<main")[1]
    demo_page = (Path(site_settings.SITE_DIR) / "demos/icot/index.html").read_text()
    assert 'href="../../papers/2405.14838.html"' in demo_page and 'src="../../demos/icot/curve.png"' in demo_page
    assert "Локальное демо" not in (Path(site_settings.SITE_DIR) / "papers/2412.06769.html").read_text()
    assert "Что воспроизвелось" not in page  # this results file lacks what the verdicts need
    assert not broken_links(Path(site_settings.SITE_DIR))


def test_demo_section_shows_the_papers_numbers_and_what_reproduced(site_settings: Settings, site_db) -> None:
    from demos import paper

    folder = Path(site_settings.DATA_DIR) / "demos" / "coconut"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(
        json.dumps(
            {
                "demo": "coconut",
                "quick": False,
                "paper": paper.COCONUT,
                "chance": {"accuracy": 0.5},
                "test_stats": {"questions": 500},
                "plots": [],
                "methods": {"cot": {"accuracy": 0.70, "tokens": 9.0}, "coconut": {"accuracy": 0.86, "tokens": 5.0}},
            }
        )
    )
    build_site(site_settings)
    page = (Path(site_settings.SITE_DIR) / "papers/2412.06769.html").read_text()
    demo = page.split('id="demo"')[1]
    assert "<td>97.0%</td>" in demo and "<td>77.5%</td>" in demo  # the paper's column beside ours
    assert "Что воспроизвелось" in demo and "Coconut точнее CoT на ProsQA" in demo
    assert '<td class="verdict">воспроизвелось</td>' in demo


def test_cli_builds_and_reports(site_settings: Settings, site_db) -> None:
    result = CliRunner().invoke(site_app, ["build"], obj=site_settings)
    assert result.exit_code == 0, result.output
    assert "written" in result.output and str(site_settings.SITE_DIR) in result.output
    again = CliRunner().invoke(site_app, ["build"], obj=site_settings)
    assert " 0 file(s) written" in again.output
    full = CliRunner().invoke(site_app, ["build", "--full"], obj=site_settings)
    assert full.exit_code == 0 and " 0 file(s) written" in full.output  # re-rendered, nothing changed


def test_serve_without_a_site_is_one_clear_line(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, SITE_DIR=tmp_path / "nothing", DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    result = CliRunner().invoke(site_app, ["serve", "--port", "0"], obj=settings)
    assert result.exit_code == 1
    assert "site build" in result.output and "Traceback" not in result.output


def test_site_serve_command_prints_its_address(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    env = {**os.environ, "SITE_DIR": str(site_settings.SITE_DIR), "DATABASE_URL": site_settings.DATABASE_URL}
    command = [
        sys.executable,
        "-c",
        "from paperdigest.commands.site import site_app; site_app()",
        "serve",
        "--port",
        "0",
    ]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as server:
        try:
            line = server.stdout.readline()
            url = line.split(" at ")[1].split()[0]
            assert url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(url + "about/index.html") as response:
                assert "О проекте" in response.read().decode()
        finally:
            server.terminate()


def test_server_serves_pages_search_files_and_404(site_settings: Settings, site_db) -> None:
    server = make_server(built(site_settings), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = site_address(server)
    try:
        with urllib.request.urlopen(base) as response:
            assert response.status == 200 and "Новые рецензии" in response.read().decode()
        with urllib.request.urlopen(base + "pagefind/0-0/wasm.ru.pagefind") as response:
            assert response.headers["Content-Type"] == "application/wasm"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "no/such/page/")
        assert missing.value.code == 404 and "Страница не найдена" in missing.value.read().decode()
    finally:
        server.shutdown()
        server.server_close()


async def test_the_bots_rebuild_runs_in_a_child_process_and_gives_it_no_secrets(
    site_settings: Settings, site_db
) -> None:
    settings = site_settings.replace(BOT_TOKEN="123:REBUILD-SECRET-TOKEN", OPENAI_API_KEY="sk-REBUILD-SECRET-KEY")
    rebuilder = SiteRebuilder(settings, debounce_s=0)
    rebuilder.schedule()
    await rebuilder.close()
    assert rebuilder.builds == 1
    site = Path(settings.SITE_DIR)
    assert "Learning to Internalize CoT Step by Step" in (site / "index.html").read_text()
    leaked = [path for path, file in site_files(site).items() if b"REBUILD-SECRET" in file.read_bytes()]
    assert leaked == []


async def test_a_failed_rebuild_is_logged_with_its_reason_and_the_bot_goes_on(
    site_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the site directory should be")
    settings = site_settings.replace(SITE_DIR=tmp_path / "not-a-dir", BOT_TOKEN="123:REBUILD-SECRET-TOKEN")
    rebuilder = SiteRebuilder(settings, debounce_s=0)
    with caplog.at_level(logging.ERROR, logger="digest.rebuild"):
        rebuilder.schedule()
        await rebuilder.close()
    assert rebuilder.builds == 0
    assert "site rebuild failed" in caplog.text and "FileExistsError" in caplog.text
    assert "REBUILD-SECRET" not in caplog.text


def test_builds_on_one_host_take_turns(site_settings: Settings, site_db) -> None:
    """Several workers rebuild the site: a build waits while another holds the lock beside SITE_DIR."""
    import fcntl

    site_dir = Path(site_settings.SITE_DIR)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    finished = threading.Event()
    with open(site_dir.parent / f".{site_dir.name}.build-lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's build is running
        builder = threading.Thread(target=lambda: (build_site(site_settings), finished.set()))
        builder.start()
        assert not finished.wait(1.0) and not (site_dir / "index.html").exists()
    builder.join(60)  # the lock is free: the build runs
    assert finished.is_set() and (site_dir / "index.html").exists()
