"""The watcher's pure core: the announcement calendar, quiet hours, screening, choosing, notes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.post_edit import with_note
from paperdigest.quiet_hours import parse_quiet_hours, quiet_until
from paperdigest.records import PaperMeta
from paperdigest.settings import Settings
from summarizer.review_format import ReviewBody, render_review
from watcher.choosing import DigestItem, affordable, choose, digest_text, is_stale, post_link, post_note, screen
from watcher.schedule import EASTERN, announcement_day, last_announcement, submission_window

UTC = timezone.utc


def eastern(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=EASTERN)  # 2025-01-06 is a Monday


@pytest.mark.parametrize(
    "now, announced",
    [
        (eastern(6, 20, 0), date(2025, 1, 6)),  # Monday evening, at the minute
        (eastern(6, 19, 59), date(2025, 1, 5)),  # a minute before: Sunday's is the latest
        (eastern(9, 23), date(2025, 1, 9)),  # Thursday
        (eastern(10, 21), date(2025, 1, 9)),  # Friday: no announcement
        (eastern(11, 21), date(2025, 1, 9)),  # Saturday: none either
        (eastern(12, 20, 30), date(2025, 1, 12)),  # Sunday evening
        (datetime(2025, 1, 7, 0, 30, tzinfo=UTC), date(2025, 1, 5)),  # 19:30 Monday in New York
        (datetime(2025, 1, 7, 1, 30, tzinfo=UTC), date(2025, 1, 6)),  # 20:30 Monday in New York
    ],
)
def test_last_announcement(now, announced) -> None:
    assert announcement_day(now) == announced
    assert last_announcement(now) <= now


@pytest.mark.parametrize(
    "announced, start, end",
    [
        (eastern(7, 20), eastern(6, 14), eastern(7, 14)),  # Tuesday ← Monday 14:00 … Tuesday 14:00
        (eastern(6, 20), eastern(3, 14), eastern(6, 14)),  # Monday ← Friday 14:00 … Monday 14:00
        (eastern(12, 20), eastern(9, 14), eastern(10, 14)),  # Sunday ← Thursday 14:00 … Friday 14:00
    ],
)
def test_submission_window(announced, start, end) -> None:
    assert submission_window(announced) == (start, end)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("", None),
        ("23-8", (23 * 60, 8 * 60)),
        (" 22:30 - 07:15 ", (22 * 60 + 30, 7 * 60 + 15)),
        ("0-24", (0, 0)),
    ],
)
def test_parse_quiet_hours(spec, expected) -> None:
    assert parse_quiet_hours(spec) == expected


@pytest.mark.parametrize("spec", ["23", "25-8", "23-8:70", "night"])
def test_bad_quiet_hours_are_a_clear_setting_error(spec) -> None:
    with pytest.raises(ValueError, match="WATCH_QUIET_HOURS"):
        Settings(_env_file=None, WATCH_QUIET_HOURS=spec)


@pytest.mark.parametrize(
    "moscow_hour, spec, until_moscow",
    [
        (23, "23-8", 8),
        (3, "23-8", 8),
        (8, "23-8", None),
        (22, "23-8", None),
        (13, "13-15", 15),
        (15, "13-15", None),
        (12, "", None),
    ],
)
def test_quiet_until(moscow_hour, spec, until_moscow) -> None:
    now = datetime(2025, 1, 6, moscow_hour - 3 if moscow_hour >= 3 else moscow_hour + 21, 10, tzinfo=UTC)
    if moscow_hour < 3:
        now -= timedelta(days=1)
    until = quiet_until(now, spec)
    if until_moscow is None:
        assert until is None
    else:
        assert until > now and (until.hour + 3) % 24 == until_moscow and until - now < timedelta(hours=24)


def meta(title: str = "Latent reasoning", abstract: str = "We study LLMs.", authors=("Ada Lovelace",)) -> PaperMeta:
    return PaperMeta("2501.00001", 1, title, list(authors), abstract)


@pytest.mark.parametrize(
    "paper, keywords, exclude, authors, keep, reason",
    [
        (meta(), [], [], [], True, ""),
        (meta(), ["llm"], [], [], True, "ключевое слово «LLM»"),  # case-insensitive, a plural still counts
        (meta(), ["vision"], [], [], False, "нет ключевых слов"),
        (meta(), ["llm"], ["latent"], [], False, "исключено: «Latent»"),
        (meta(), ["vision"], [], ["lovelace"], True, "автор: Ada Lovelace"),  # a watched author needs no keyword
        (meta(), [], ["reason"], ["Ada Lovelace"], False, "исключено: «reason»"),  # but exclusions still win
        (meta(title="Unreasonable effectiveness"), ["reason"], [], [], False, "нет ключевых слов"),  # word start only
    ],
)
def test_screen(paper, keywords, exclude, authors, keep, reason) -> None:
    verdict = screen(paper, keywords=keywords, exclude=exclude, authors=authors)
    assert (verdict.keep, verdict.reason) == (keep, reason)


def test_choose_best_first_ties_by_id_unscored_last() -> None:
    scored = [("b", 5.0), ("a", 5.0), ("c", 9.0), ("d", None), ("e", 1.0)]
    assert choose(scored, 3) == ["c", "a", "b"]
    assert choose(scored, 10) == ["c", "a", "b", "e", "d"]
    assert choose(scored, 0) == [] and choose(scored, -2) == []


@pytest.mark.parametrize(
    "count, used, budget, per_review, fits",
    [
        (5, 0, 0, 30000, 5),  # no budget set
        (5, 0, 100000, 30000, 3),
        (5, 95000, 100000, 30000, 0),
        (5, 120000, 100000, 30000, 0),
        (2, 0, 100000, 0, 2),  # offline reviews cost nothing
    ],
)
def test_affordable(count, used, budget, per_review, fits) -> None:
    assert affordable(count, used=used, budget=budget, per_review=per_review) == fits


@pytest.mark.parametrize(
    "post, review, latest, withdrawn, note",
    [
        (1, 1, 1, False, None),
        (1, 1, 2, False, "🔄 Обновлено до v2 на arXiv; рецензия написана по v1."),
        (1, 3, 3, False, "🔄 Обновлено до v3: рецензия переписана по новой версии статьи."),
        (1, 1, 2, True, "⚠️ Статья отозвана авторами на arXiv (v2); рецензия описывает v1."),
    ],
)
def test_post_note(post, review, latest, withdrawn, note) -> None:
    assert post_note(post_version=post, review_version=review, latest_version=latest, withdrawn=withdrawn) == note


@pytest.mark.parametrize(
    "today, history, stale",
    [
        (0, [40, 50, 45], True),
        (3, [40, 50, 45], False),
        (0, [2, 3, 1], False),
        (0, [40], False),
        (0, [], False),
        (0, [0, 0, 0, 50, 60, 55, 58, 52], True),  # only the last five announcements count
    ],
)
def test_is_stale(today, history, stale) -> None:
    assert is_stale(today, history, 20) is stale


def test_post_links_and_digest() -> None:
    assert post_link("@digest", 7) == "https://t.me/digest/7"
    assert post_link("-1001234567890", 7) == "https://t.me/c/1234567890/7"
    assert post_link("12345", 7) is None
    text = digest_text(
        date(2025, 1, 9),
        [
            DigestItem("A", "https://t.me/digest/7", "https://site/papers/a/"),
            DigestItem("B", None, "https://site/papers/b/"),
        ],
    )
    assert text.splitlines() == [
        "Обзоры дня (09.01.2025): 2",
        "",
        "1. A",
        "   Пост: https://t.me/digest/7",
        "   На сайте: https://site/papers/a/",
        "2. B",
        "   На сайте: https://site/papers/b/",
    ]


def test_note_goes_under_the_header_and_before_other_notes() -> None:
    review = render_review(meta(), ReviewBody("Коротко.", {"Суть": "Текст."}), notes=["Прочитаны 2 из 9 страниц."])
    noted = with_note(review, "🔄 Обновлено до v2")
    blocks = noted.split("\n\n")
    assert blocks[0] == "# Latent reasoning" and blocks[2] == "> 🔄 Обновлено до v2"
    assert blocks[3] == "> Прочитаны 2 из 9 страниц."
    assert with_note("no header here", "x") == "> x\n\nno header here"
