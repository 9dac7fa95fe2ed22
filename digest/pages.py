"""The site's HTML pages: which pages exist, what each shows, and the key of its inputs.

Every page is an `Output`: its path, a `key` (a hash of everything it is made from, so an
unchanged page is not even rendered) and `make`, which renders it. Lists of reviews use
stable pagination: page 1 holds the oldest reviews and never changes as new ones arrive;
the front page holds the newest (between one and two pages' worth), so adding a review
rewrites the front page only.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from digest import paths
from digest.demos import DemoView
from digest.load import Entry
from digest.sources import ReviewView
from digest.templating import environment, render

PER_PAGE = 20

# The arXiv categories a Russian ML reader meets most; others show their code alone.
CATEGORY_NAMES = {
    "cs.AI": "искусственный интеллект",
    "cs.CL": "вычисления и язык",
    "cs.CV": "компьютерное зрение",
    "cs.LG": "машинное обучение",
    "cs.NE": "нейронные и эволюционные вычисления",
    "cs.IR": "информационный поиск",
    "cs.RO": "робототехника",
    "cs.CR": "криптография и безопасность",
    "cs.SE": "программная инженерия",
    "cs.DC": "распределённые вычисления",
    "cs.PL": "языки программирования",
    "cs.HC": "человеко-машинное взаимодействие",
    "stat.ML": "машинное обучение (статистика)",
    "math.OC": "оптимизация и управление",
    "eess.AS": "аудио и речь",
}


@dataclass
class Output:
    path: str
    key: str
    make: Callable[[], bytes]
    entry: Entry | None = None  # paper pages: the build loads its review body before `make`


@dataclass(frozen=True)
class Listing:
    """One page of a paginated list: its number (None: the front page) and its entries."""

    number: int | None
    entries: Sequence[Entry]
    newer: int | None | str = None  # a page number, "front", or None
    older: int | None = None


class Cards:
    """A review's card, rendered once per build: the front page, category pages and their
    numbered pages show the same card (with one of two link prefixes) up to four times.

    A card says what the number check found, as the paper page does: «Проверено по тексту
    статьи: N из M чисел» (and the «не прошла проверку» badge). Those lines come from the
    review's check record, a large column: `load_lines` reads them for the entries of the
    lists being rendered only (`lines`), once per build. Without it cards show no line."""

    def __init__(self, load_lines: Callable[[list[int]], dict[int, str]] | None = None) -> None:
        self._cache: dict[tuple[int, str], Markup] = {}
        self._load_lines = load_lines
        self._lines: dict[int, str] = {}
        self._read: set[int] = set()

    def lines(self, entries: Sequence[Entry]) -> dict[int, str]:
        """Each entry's check line ("" without a record or numbers), by review id."""
        missing = [e.review_id for e in entries if e.grounding_chars and e.review_id not in self._read]
        if missing and self._load_lines is not None:
            self._lines.update(self._load_lines(missing))
            self._read.update(missing)
        return {e.review_id: self._lines.get(e.review_id, "") for e in entries}

    def __call__(self, entry: Entry, root: str) -> Markup:
        key = (entry.review_id, root)
        if key not in self._cache:
            line = self.lines([entry])[entry.review_id]
            self._cache[key] = Markup(environment().get_template("_macros.html").module.card(entry, root, line))
        return self._cache[key]


@dataclass
class SiteData:
    entries: list[Entry]  # newest review first
    fingerprint: str  # code, templates and settings that shape every page
    site_url: str
    demos: dict[str, DemoView] = field(default_factory=dict)
    per_page: int = PER_PAGE
    cards: Cards = field(default_factory=Cards)

    def by_category(self) -> dict[str, list[Entry]]:
        groups: dict[str, list[Entry]] = defaultdict(list)
        for entry in self.entries:
            for category in entry.categories:
                groups[category].append(entry)
        return dict(sorted(groups.items()))

    def by_month(self) -> dict[str, list[Entry]]:
        groups: dict[str, list[Entry]] = defaultdict(list)
        for entry in self.entries:
            groups[entry.month].append(entry)
        return dict(sorted(groups.items(), reverse=True))


def key_of(*parts: object) -> str:
    """A hash of a page's inputs: strings, numbers, None and lists or tuples of them (repr is exact there)."""
    return hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()


def paginate(entries: Sequence[Entry], per_page: int) -> list[Listing]:
    """Stable pages of a newest-first list: numbered pages 1.. from the oldest, then the front page."""
    oldest_first = list(reversed(entries))
    numbered = max(0, len(entries) // per_page - 1)
    listings = [Listing(None, list(reversed(oldest_first[numbered * per_page :])), older=numbered or None)]
    for number in range(numbered, 0, -1):
        chunk = oldest_first[(number - 1) * per_page : number * per_page]
        listings.append(
            Listing(
                number,
                list(reversed(chunk)),
                newer=number + 1 if number < numbered else "front",
                older=number - 1 or None,
            )
        )
    return listings


def _page_url(path_of: Callable[[int | None], str], target: int | None | str, root: str) -> str | None:
    if target is None:
        return None
    return root + path_of(None if target == "front" else target)  # type: ignore[arg-type]


def _html(template: str, path: str, **context: object) -> bytes:
    return render(template, root=paths.root_of(path), page_path=path, **context).encode("utf-8")


def _card_stamps(entries: Sequence[Entry]) -> list[str]:
    return [e.stamp for e in entries]


def listing_outputs(
    data: SiteData,
    path_of: Callable[[int | None], str],
    heading: str,
    section: str,
    entries: Sequence[Entry],
    feed: str | None,
    intro: str = "",
) -> list[Output]:
    outputs = []
    for listing in paginate(entries, data.per_page):
        path = path_of(listing.number)

        def make(listing: Listing = listing, path: str = path) -> bytes:
            root = paths.root_of(path)
            data.cards.lines(listing.entries)  # the page's check lines in one query
            return _html(
                "list.html",
                path,
                heading=heading,
                section=section,
                listing=listing,
                intro=intro,
                card=data.cards,
                feed=feed,
                newer_url=_page_url(path_of, listing.newer, root),
                older_url=_page_url(path_of, listing.older, root),
                title=heading,
            )

        key = key_of(
            data.fingerprint,
            path,
            heading,
            intro,
            feed,
            listing.number,
            listing.newer,
            listing.older,
            _card_stamps(listing.entries),
        )
        outputs.append(Output(path, key, make))
    return outputs


def index_outputs(data: SiteData) -> list[Output]:
    intro = "Рецензии на статьи с arXiv, написанные языковой моделью по полному тексту статьи. Новые — сверху."
    return listing_outputs(data, paths.index_path, "Новые рецензии", "index", data.entries, "feed.xml", intro)


def category_title(category: str) -> str:
    name = CATEGORY_NAMES.get(category)
    return f"{category} — {name}" if name else category


def category_outputs(data: SiteData) -> list[Output]:
    outputs: list[Output] = []
    groups = data.by_category()
    for category, entries in groups.items():
        outputs += listing_outputs(
            data,
            lambda n, c=category: paths.category_path(c, n),
            category_title(category),
            "categories",
            entries,
            f"{paths.category_dir(category)}/feed.xml",
        )
    counts = [(c, category_title(c), len(e)) for c, e in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    path = "categories/index.html"
    outputs.append(
        Output(
            path,
            key_of(data.fingerprint, path, counts),
            lambda: _html("categories.html", path, title="Категории", section="categories", categories=counts),
        )
    )
    return outputs


def archive_outputs(data: SiteData) -> list[Output]:
    outputs: list[Output] = []
    months = data.by_month()
    for month, entries in months.items():
        path = paths.month_path(month)
        outputs.append(
            Output(
                path,
                key_of(data.fingerprint, path, _card_stamps(entries)),
                lambda p=path, m=month, e=entries: _html(
                    "month.html",
                    p,
                    title=f"Архив: {m}",
                    section="archive",
                    month=m,
                    entries=e,
                    checks=data.cards.lines(e),
                ),
            )
        )
    years: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for month, entries in months.items():
        years[month[:4]].append((month, len(entries)))
    path = "archive/index.html"
    outputs.append(
        Output(
            path,
            key_of(data.fingerprint, path, years),
            lambda: _html("archive.html", path, title="Архив", section="archive", years=years),
        )
    )
    return outputs


def paper_output(data: SiteData, entry: Entry, review_html: Callable[[Entry], ReviewView]) -> Output:
    demo = data.demos.get(entry.arxiv_id)
    path = entry.path

    def make() -> bytes:
        view = review_html(entry)
        return _html(
            "paper.html",
            path,
            title=entry.title,
            section="paper",
            entry=entry,
            check=Markup(view.summary),
            review=Markup(view.body),
            demo=demo,
        )

    key = key_of(data.fingerprint, path, entry.stamp, demo.stamp if demo else None)
    return Output(path, key, make, entry=entry)


def demo_outputs(data: SiteData) -> list[Output]:
    """A page per demo with results (the review header's "Демо:" link), and its plots."""
    outputs = []
    by_id = {e.arxiv_id: e for e in data.entries}
    for arxiv_id, demo in data.demos.items():
        entry = by_id.get(arxiv_id)
        path = demo.page_path
        outputs.append(
            Output(
                path,
                key_of(data.fingerprint, path, demo.stamp, entry.stamp if entry else None),
                lambda p=path, d=demo, e=entry: _html(
                    "demo.html", p, title=f"Демо: {d.name}", section="demo", demo=d, entry=e
                ),
            )
        )
        outputs += [
            Output(site_path, key_of(demo.stamp, site_path), lambda f=file: f.read_bytes())
            for site_path, file in demo.plots
        ]
    return outputs


def static_page_outputs(data: SiteData, shards: list[str]) -> list[Output]:
    """About, search and 404: pages that do not list reviews."""
    pages = [
        ("about/index.html", "about.html", "О проекте", "about", {}),
        ("search/index.html", "search.html", "Поиск", "search", {"shards": shards}),
    ]
    outputs = [
        Output(
            path,
            key_of(data.fingerprint, path, extra),
            lambda p=path, t=template, title=title, s=section, x=extra: _html(t, p, title=title, section=s, **x),
        )
        for path, template, title, section, extra in pages
    ]
    # A host serves 404.html at whatever URL was missing, so its links are absolute.
    site = data.site_url.rstrip("/") + "/"
    outputs.append(
        Output(
            "404.html",
            key_of(data.fingerprint, "404.html"),
            lambda: render("404.html", root=site, section="", title="Страница не найдена").encode("utf-8"),
        )
    )
    return outputs
