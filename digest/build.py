"""`build_site(settings)`: the database → the static site in SITE_DIR, incrementally.

    load entries (no bodies) → paper pages, shard by shard (Pagefind indexes each finished
    shard in the background) → lists, categories, archive, about/search/404 → feeds →
    sitemap → search bundles → delete what is gone, save the manifest

A page whose input key is unchanged is not rendered; a rendered page whose bytes are
unchanged is not written (see files.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sqlalchemy.orm import Session

from digest import feeds, pages, paths
from digest import search_index as search
from digest.demos import find_demos
from digest.files import SiteWriter
from digest.load import Entry, ReviewText, load_check_lines, load_entries, load_texts
from digest.sitemap import sitemap_xml
from digest.sources import ReviewView, review_view
from digest.templating import TEMPLATES_DIR
from paperdigest.db import Database
from paperdigest.settings import Settings

log = logging.getLogger(__name__)

DIGEST_DIR = Path(__file__).resolve().parent
STATIC_DIR = TEMPLATES_DIR / "static"
LIBRARIES = ("markdown-it-py", "nh3", "latex2mathml", "feedgen", "Jinja2", "pagefind-bin")


@dataclass(frozen=True)
class BuildReport:
    written: int
    unchanged: int
    seconds: float
    written_paths: tuple[str, ...] = ()
    removed_paths: tuple[str, ...] = ()


def fingerprint(settings: Settings) -> str:
    """A hash of everything besides the data that shapes the pages: code, templates, libraries, SITE_URL."""
    digest = hashlib.sha1(settings.SITE_URL.encode())
    for file in sorted([*DIGEST_DIR.glob("*.py"), *TEMPLATES_DIR.rglob("*")]):
        if file.is_file():
            digest.update(file.name.encode() + file.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(name.encode())
    return digest.hexdigest()


class ReviewHtml:
    """Reviews rendered to HTML (with their number sources), on demand. The feeds' entries are
    also kept in memory and in a small disk cache, so a later build can rewrite a feed without
    rendering its reviews."""

    def __init__(
        self, session: Session, cache_dir: Path, fingerprint: str, wanted: list[Entry], *, read_cache: bool = True
    ) -> None:
        self.session, self.cache_dir, self.tag, self.read_cache = session, cache_dir, fingerprint[:12], read_cache
        self.wanted = {e.review_id: self._cache_file(e) for e in wanted}
        self.texts: dict[int, ReviewText] = {}
        self.memory: dict[int, ReviewView] = {}

    def _cache_file(self, entry: Entry) -> Path:
        return self.cache_dir / f"{entry.review_id}-{entry.body_chars}-{entry.grounding_chars}-{self.tag}.json"

    def prefetch(self, entries: list[Entry]) -> None:
        self.texts.update(load_texts(self.session, (e.review_id for e in entries)))

    def __call__(self, entry: Entry) -> ReviewView:
        if entry.review_id in self.memory:
            return self.memory[entry.review_id]
        cached = self.wanted.get(entry.review_id)
        if cached is not None and self.read_cache and cached.is_file():
            view = ReviewView.from_json(cached.read_text("utf-8"))
        else:
            text = self.texts.pop(entry.review_id, None)
            if text is None:
                text = load_texts(self.session, [entry.review_id]).get(entry.review_id, ReviewText("", None))
            view = review_view(text.body, text.grounding)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(view.to_json(), "utf-8")
        if cached is not None:
            self.memory[entry.review_id] = view
        return view

    def prune(self) -> None:
        """Keep on disk only the reviews that the feeds show now (and nothing an older build left)."""
        keep = {file.name for file in self.wanted.values()}
        for file in self.cache_dir.glob("*"):
            if file.is_file() and file.name not in keep:
                file.unlink(missing_ok=True)


def build_site(
    settings: Settings,
    *,
    full: bool = False,
    per_page: int = pages.PER_PAGE,
    shard_size: int = search.SHARD_SIZE,
    tail_size: int = search.TAIL_SIZE,
) -> BuildReport:
    """Build the site into SITE_DIR. `full`: render every page and index every shard again, for
    changes the page keys cannot see (a review's text edited in place in the database)."""
    started = time.perf_counter()
    db = Database(settings.DATABASE_URL)
    try:
        with one_build_at_a_time(Path(settings.SITE_DIR)), db.read() as session:
            report = _build(
                settings,
                session,
                SiteWriter(Path(settings.SITE_DIR), trust_keys=not full),
                per_page,
                (shard_size, tail_size),
            )
    finally:
        db.close()
    seconds = time.perf_counter() - started
    log.info("site built in %.2f s: %d written, %d unchanged", seconds, report.written, report.unchanged)
    return BuildReport(report.written, report.unchanged, seconds, report.written_paths, report.removed_paths)


@contextmanager
def one_build_at_a_time(site_dir: Path) -> Iterator[None]:
    """An exclusive lock beside the site directory for the whole build: the writer's manifest
    assumes one build at a time, and with several worker processes several may start one."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(site_dir.parent / f".{site_dir.name}.build-lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def _build(
    settings: Settings, session: Session, writer: SiteWriter, per_page: int, shard_sizes: tuple[int, int]
) -> BuildReport:
    site_dir = Path(settings.SITE_DIR)
    site_dir.mkdir(parents=True, exist_ok=True)
    search.remove_leftovers(site_dir)
    entries = load_entries(session)
    data = pages.SiteData(
        entries,
        fingerprint(settings),
        settings.SITE_URL,
        find_demos(Path(settings.DATA_DIR)),
        per_page,
        pages.Cards(lambda ids: load_check_lines(session, ids)),
    )
    feed_plan = _feed_plan(data)
    wanted = list({e.review_id: e for _, _, _, shown in feed_plan for e in shown}.values())
    html = ReviewHtml(
        session, Path(settings.DATA_DIR) / "cache" / "site", data.fingerprint, wanted, read_cache=writer.trust_keys
    )
    shards = search.plan_shards(entries, *shard_sizes)
    indexer = search.Indexer(site_dir)
    try:
        _write_static(writer)
        _write_papers(writer, data, shards, html, indexer)
        for output in (
            pages.index_outputs(data)
            + pages.category_outputs(data)
            + pages.archive_outputs(data)
            + pages.demo_outputs(data)
            + pages.static_page_outputs(data, [s.name for s in shards])
        ):
            _emit(writer, output)
        _write_feeds(writer, data, feed_plan, html)
        writer.write("sitemap.xml", sitemap_xml(data.site_url, _sitemap_pages(writer, entries)))
        _collect_search(writer, indexer)
    finally:
        indexer.close()
    removed = writer.finish()
    html.prune()
    return BuildReport(len(writer.written), writer.unchanged, 0.0, tuple(writer.written), tuple(removed))


def _emit(writer: SiteWriter, output: pages.Output) -> None:
    if not writer.is_current(output.path, output.key):
        writer.write(output.path, output.make(), output.key)


def _write_static(writer: SiteWriter) -> None:
    for file in sorted(STATIC_DIR.rglob("*")):
        if file.is_file():
            writer.write("static/" + file.relative_to(STATIC_DIR).as_posix(), file.read_bytes())


def _write_papers(
    writer: SiteWriter, data: pages.SiteData, shards: list[search.Shard], html: ReviewHtml, indexer: search.Indexer
) -> None:
    by_path = {e.path: e for e in data.entries}
    for shard in shards:
        outputs = [pages.paper_output(data, by_path[path], html) for path in shard.pages]
        stale = [o for o in outputs if not writer.is_current(o.path, o.key)]
        for start in range(0, len(stale), 200):  # bodies in batches: one query, bounded memory
            batch = stale[start : start + 200]
            html.prefetch([o.entry for o in batch if o.entry is not None])
            for output in batch:
                writer.write(output.path, output.make(), output.key)
        primary = shard is shards[0]  # the first shard also carries Pagefind's UI
        key = pages.key_of(data.fingerprint, shard.name, primary, [(p, writer.sha_of(p)) for p in shard.pages])
        if not writer.keep_tree(shard.prefix, key):
            indexer.submit(shard, key, primary)


def _collect_search(writer: SiteWriter, indexer: search.Indexer) -> None:
    while indexer.pending:
        shard, key, future = indexer.pending.pop(0)
        work = future.result()
        try:
            if not writer.adopt_tree(shard.prefix, work / "bundle", key):
                for path, file in search.bundle_files(work, shard):
                    writer.adopt(path, file, key)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _feed_plan(data: pages.SiteData) -> list[tuple[str, str, str, list[Entry]]]:
    """(title, feed path, page path, its newest reviews) for the main feed and each category.
    Feeds follow review time, so a new review of an old paper shows up in them."""

    def newest(entries: list[Entry]) -> list[Entry]:
        return sorted(entries, key=lambda e: (e.reviewed_at, e.review_id), reverse=True)[: feeds.FEED_ENTRIES]

    plan = [("paperdigest — все рецензии", "feed.xml", "index.html", newest(data.entries))]
    for category, entries in data.by_category().items():
        plan.append(
            (
                f"paperdigest — {pages.category_title(category)}",
                f"{paths.category_dir(category)}/feed.xml",
                paths.category_path(category),
                newest(entries),
            )
        )
    return plan


def _write_feeds(writer: SiteWriter, data: pages.SiteData, plan: list, html: ReviewHtml) -> None:
    for title, feed_path, page_path, shown in plan:
        key = pages.key_of(data.fingerprint, feed_path, title, [e.stamp for e in shown])
        if writer.is_current(feed_path, key):
            continue
        content = feeds.atom_feed(
            title=title,
            feed_path=feed_path,
            page_path=page_path,
            entries=shown,
            site_url=data.site_url,
            review_html=html,
        )
        writer.write(feed_path, content, key)


def _sitemap_pages(writer: SiteWriter, entries: list[Entry]):  # -> Iterator[tuple[str, datetime | None]]
    changed = {e.path: e.reviewed_at for e in entries}
    for path in sorted(writer.new):
        if path.endswith(".html"):
            yield path, changed.get(path)
