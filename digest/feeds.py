"""Atom feeds (feedgen): every review, and one feed per category; the full review HTML in each entry.

Feeds carry absolute URLs under SITE_URL. Every timestamp comes from the data (never "now"),
so an unchanged feed renders to the same bytes and is not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape

from feedgen.feed import FeedGenerator

from digest import paths
from digest.load import Entry
from digest.sources import ReviewView
from summarizer.review_format import PAPER_LABEL

FEED_ENTRIES = 50
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def entry_html(entry: Entry, review: ReviewView, site_url: str) -> str:
    """The entry's content: the header of the review (authors, links, the number check), then the
    review itself. Its links to its own notes (#src-1) point at the page, not at the feed."""
    page_url = escape(paths.pretty_url(site_url, entry.path))
    links = [
        f'{PAPER_LABEL}: <a href="{escape(paths.abs_url(entry.arxiv_id))}">arxiv.org/abs/{escape(entry.arxiv_id)}</a>'
    ]
    if entry.code_url and entry.code_url.startswith(("https://", "http://")):
        links.append(f'Код: <a href="{escape(entry.code_url)}">{escape(entry.code_url)}</a>')
    links.append(f'На сайте: <a href="{page_url}">полная страница</a>')
    header = f"<p>{escape(entry.authors_line)}<br>" + "<br>".join(links) + "</p>"
    notes = "".join(f"<blockquote><p>{escape(note)}</p></blockquote>" for note in entry.notes)
    # The sanitizer lets no relative link into a review, so every href="#…" is one of our own.
    review_html = review.summary + "\n" + review.body if review.summary else review.body
    return header + notes + review_html.replace('href="#', f'href="{page_url}#')


def atom_feed(
    *,
    title: str,
    feed_path: str,
    page_path: str,
    entries: Sequence[Entry],
    site_url: str,
    review_html: Callable[[Entry], ReviewView],
) -> bytes:
    feed = FeedGenerator()
    feed_url = paths.pretty_url(site_url, feed_path)
    feed.id(feed_url)
    feed.title(title)
    feed.subtitle("Рецензии на статьи arXiv на русском языке, написанные языковой моделью")
    feed.link(href=paths.pretty_url(site_url, page_path), rel="alternate", type="text/html")
    feed.link(href=feed_url, rel="self", type="application/atom+xml")
    feed.language("ru")
    feed.author({"name": "paperdigest"})
    feed.generator("paperdigest")
    shown = list(entries[:FEED_ENTRIES])
    feed.updated(shown[0].reviewed_at if shown else EPOCH)
    for entry in shown:
        _add_entry(feed, entry, site_url, review_html(entry))
    return feed.atom_str(pretty=True)


def _add_entry(feed: FeedGenerator, entry: Entry, site_url: str, review: ReviewView) -> None:
    item = feed.add_entry(order="append")
    page_url = paths.pretty_url(site_url, entry.path)
    item.id(f"{page_url}#review-{entry.review_id}")  # a new review of the paper is a new entry
    item.title(entry.title)
    item.link(href=page_url, rel="alternate", type="text/html")
    item.published(entry.reviewed_at)
    item.updated(entry.reviewed_at)
    for author in entry.authors or ("unknown",):
        item.author({"name": author})
    for category in entry.categories:
        item.category(term=category)
    if entry.tldr:
        item.summary(entry.tldr)
    item.content(entry_html(entry, review, site_url), type="html")
