"""Each number of a review linked to the paper's words: references, highlights, notes, the header's line.

Pure rendering: a body and a number-check record in, the HTML a reader sees out; at the end, the
check's line on the list pages' cards, built from the fixture database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from digest.build import build_site
from digest.load import Entry
from digest.markdown import formula_spans, render_markdown
from digest.pages import Cards
from digest.sources import ReviewView, review_view
from paperdigest.models import Review
from paperdigest.settings import Settings
from summarizer.grounding import Grounding, NumberCheck, Source
from tests.support.site import ICOT_BODY, PWN, T0, add_review, coconut_grounding, number, parse_tags

ROW = Source("Coconut (Ours) 34.1 8.2 99.8 9.0 97.0 14.2", "4.4 Results and Discussion", 6)


def view(body: str, *checks: NumberCheck) -> ReviewView:
    return review_view(body, Grounding(list(checks)))


def note(html: str, k: int) -> str:
    """The text of note k in «Источники чисел»."""
    return html.split(f'<li id="src-{k}"')[1].split("</li>")[0]


def test_each_number_links_to_a_note_with_the_papers_words_section_and_page() -> None:
    body = "На ProsQA точность 97.0% против 77.5% у CoT."
    cot = Source("CoT 42.9 25.0 98.8 92.5 77.5 49.4", "", 7)
    # Given out of order: the notes follow the text.
    html = view(body, number(body, "77.5%", "found", source=cot), number(body, "97.0%", "found", source=ROW)).body
    assert '97.0%<sup class="ref" data-pagefind-ignore><a href="#src-1" id="ref-1"' in html
    assert '77.5%<sup class="ref" data-pagefind-ignore><a href="#src-2" id="ref-2"' in html
    assert '<h2 id="sources-title">Источники чисел</h2>' in html
    first = note(html, 1)
    assert '<strong class="source-number">97.0%</strong> — так в статье:' in first
    assert f'<blockquote class="source-quote" lang="en"><p>{ROW.quote}</p></blockquote>' in first
    assert 'раздел <span lang="en">4.4 Results and Discussion</span>, стр. 6' in first
    assert '<a href="#ref-1">↩ к числу в тексте</a>' in first
    assert '<p class="source-where">стр. 7 · <a href="#ref-2">' in note(html, 2)  # no section known: the page alone
    assert 'data-tip="«Coconut (Ours) 34.1 8.2 99.8 9.0 97.0 14.2» — раздел 4.4 Results and Discussion, стр. 6"' in html


@pytest.mark.parametrize(
    ("body", "text", "expected"),
    [
        ("Точность **97.0%** на ProsQA.", "97.0%", '<strong>97.0%<sup class="ref"'),
        (
            "| метод | ProsQA |\n|---|---:|\n| Coconut | 97.0 |\n",
            "97.0",
            '<td style="text-align:right">97.0<sup class="ref"',
        ),
        ("## 3 стадии обучения\n\nТекст.", "3", '<h2>3<sup class="ref"'),
        ("- точность 97.0%\n- дальше", "97.0%", '<li>точность 97.0%<sup class="ref"'),
        ("Шаг `lr=0.001` в коде.", "0.001", '<code>lr=0.001<sup class="ref"'),
        # In a link's text the reference goes after the link: a link inside a link is not HTML.
        (
            "См. [точность 97.0%](https://arxiv.org/abs/2412.06769) там.",
            "97.0%",
            '<a href="https://arxiv.org/abs/2412.06769" rel="noopener">точность 97.0%</a><sup class="ref"',
        ),
    ],
)
def test_a_reference_sits_right_after_its_number_without_breaking_the_markdown(
    body: str, text: str, expected: str
) -> None:
    html = view(body, number(body, text, "found", source=ROW)).body
    assert expected in html
    assert html.count('id="ref-1"') == 1 and '<a href="#ref-1">' in note(html, 1)


def test_a_number_inside_a_formula_gets_its_reference_after_the_formula() -> None:
    body = r"Потери $\mathcal{L} = 0.97 \cdot x$ и точность $p = 12$ здесь."
    found = number(body, "0.97", "found", source=ROW)
    suspect = number(body, "12", "absent")
    assert found.anchor == body.index("$ и") + 1  # the record's anchor: after the closing dollar
    html = view(body, found, suspect).body
    assert (
        '<mn>0.97</mn><mo>·</mo><mi>x</mi></mrow></math><sup class="ref" data-pagefind-ignore><a href="#src-1"' in html
    )
    # A suspect number inside a formula is not cut out of it: its reference after the formula says it.
    assert '<mn>12</mn></mrow></math><sup class="ref ref-suspect"' in html
    assert "<mark" not in html and html.count("<math") == 2


def test_an_anchor_that_falls_inside_a_formula_moves_after_it() -> None:
    body = "Итог $x = 0.97$ — вот."
    check = replace(number(body, "0.97", "found", source=ROW), anchor=body.index("0.97") + 4)  # a careless record
    html = view(body, check).body
    assert '<mn>0.97</mn></mrow></math><sup class="ref"' in html


def test_a_number_in_a_links_address_leaves_the_link_whole() -> None:
    body = "Статья: [arXiv](https://arxiv.org/abs/2412.06769), код там."
    html = view(body, number(body, "2412.06769", "found", source=ROW)).body
    assert '<a href="https://arxiv.org/abs/2412.06769" rel="noopener">arXiv</a>' in html
    assert 'id="ref-1"' not in html and "%F3" not in html and "%EE" not in html
    assert "↩" not in note(html, 1)  # nothing in the text to go back to


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("absent", "в тексте статьи такого числа нет"),
        ("mismatch", "в статье это число относится к другому утверждению"),
        ("wrong_arithmetic", "арифметика не сходится"),
    ],
)
def test_a_suspect_number_is_highlighted_in_place_with_its_reason(status: str, reason: str) -> None:
    body = "Модель умножает числа с точностью 99% на тесте."
    check = number(
        body,
        "99%",
        status,
        source=ROW if status == "mismatch" else None,
        operands=("97.0", "2") if status == "wrong_arithmetic" else (),
    )
    result = view(body, check)
    assert (
        '<mark class="suspect">99%</mark><sup class="ref ref-suspect" data-pagefind-ignore><a href="#src-1"'
        in result.body
    )
    text = note(result.body, 1)
    assert text.startswith(' class="source-suspect"') and f"не подтверждено: {reason}" in text
    assert f'data-tip="Не подтверждено: {reason}"' in result.body
    if status == "mismatch":  # where the value really is
        assert "Где это значение стоит в статье:" in text and ROW.quote in text
    if status == "wrong_arithmetic":
        assert "посчитано из чисел статьи: 97.0 и 2" in text
    assert 'Не подтверждены текстом статьи: <a href="#src-1">99%</a>.' in result.summary


def test_a_highlight_that_would_cross_emphasis_is_left_out_and_the_reference_stays() -> None:
    body = "Быстрее в *2* раза, чем CoT."
    start = body.index("в *2*")
    check = NumberCheck(
        text="в 2 раза",
        start=start,
        end=body.index(" раза") + 5,
        anchor=body.index(" раза") + 5,
        status="absent",
        sentence="",
    )
    html = view(body, check).body
    assert "<mark" not in html and '<em>2</em> раза<sup class="ref ref-suspect"' in html


def test_derived_numbers_name_the_paper_values_they_come_from() -> None:
    body = "Coconut точнее на 19.5 пункта и быстрее в 3.5 раза."
    arithmetic = number(body, "19.5", "derived", operands=("97.0", "77.5"), detail="97.0 - 77.5 = 19.5")
    worded = number(body, "3.5", "derived", operands=("49.4", "14.2"), detail="ratio of CoT tokens to Coconut tokens")
    html = view(body, arithmetic, worded).body
    assert "— вычислено из чисел статьи: 97.0 и 77.5, <code>97.0 - 77.5 = 19.5</code>." in note(html, 1)
    # `detail` is English for the retry prompt: a reader sees it only when it is a bare calculation.
    assert "вычислено из чисел статьи: 49.4 и 14.2." in note(html, 2) and "ratio" not in html
    assert 'data-tip="Вычислено из чисел статьи: 97.0 и 77.5"' in html


@pytest.mark.parametrize(
    "hostile",
    [
        f"<script>{PWN}</script>",
        f'</blockquote><img src=x onerror="{PWN}">',
        f'" onmouseover="{PWN}" x="',
        f'<a href="javascript:{PWN}">клик</a>',
    ],
)
def test_text_from_the_pdf_is_escaped_everywhere(hostile: str) -> None:
    body = "Точность 97.0% и ошибка 3 пункта."
    result = view(
        body,
        number(body, "97.0%", "found", source=Source(hostile, hostile, 8)),
        number(body, "3", "mismatch", source=Source(hostile, "", None)),
        replace(number(body, "3", "wrong_arithmetic", operands=(hostile,), detail=hostile), text=hostile),
    )
    html = result.summary + result.body
    tags = parse_tags(html)
    assert not tags.inline_scripts
    for tag, attrs in tags.tags:
        assert tag not in {"script", "img", "svg", "iframe"}
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert not attrs.get("href", "#").startswith("javascript"), (tag, attrs)
    assert "<" not in hostile or hostile not in html  # shown as text (a bare quote mark in text is harmless)
    assert "стр. 8" in note(html, 1)


def test_a_number_written_as_a_formula_is_shown_as_one_in_its_note() -> None:
    body = r"Обучение стоит $3{,}3 \cdot 10^{18}$ FLOP."
    check = NumberCheck(
        text=r"$3{,}3 \cdot 10^{18}$",
        start=body.index("$"),
        end=body.index(" FLOP"),
        anchor=body.index(" FLOP"),
        status="found",
        sentence="",
        source=ROW,
    )
    html = view(body, check).body
    assert '</math><sup class="ref"' in html
    assert "<math" in note(html, 1) and "$" not in note(html, 1)


def test_the_reviews_own_private_use_characters_make_no_marks() -> None:
    body = "Текст \U000f0001 и \ue002слово\ue003 и \ue0000\ue001, точность 97.0%."
    html = view(body, number(body, "97.0%", "found", source=ROW)).body
    assert html.count('<sup class="ref"') == 1 and "<mark" not in html
    assert "точность 97.0%<sup" in html
    assert "\ue000" not in render_markdown("формула \ue0007\ue001 без формул")  # no formula 7 to look up


def test_a_record_that_does_not_fit_the_body_keeps_its_note_without_a_mark() -> None:
    body = "Короткий текст."
    html = view(
        body, NumberCheck(text="97.0%", start=400, end=405, anchor=405, status="found", sentence="", source=ROW)
    ).body
    assert "<sup" not in html.split('<section class="sources"')[0]
    assert "97.0%" in note(html, 1) and "↩" not in note(html, 1)


def test_without_a_record_the_review_is_shown_as_before() -> None:
    body = "Точность 97.0% на ProsQA, формула $x^2$."
    assert review_view(body, None) == ReviewView("", render_markdown(body))


@pytest.mark.parametrize(
    ("checks", "line"),
    [
        (2, "Проверено по тексту статьи: 2 из 2 чисел"),
        (21, "Проверено по тексту статьи: 21 из 21 числа"),
        (0, "В рецензии нет чисел, которые нужно сверять со статьёй."),
    ],
)
def test_the_header_says_how_many_numbers_the_paper_confirms(checks: int, line: str) -> None:
    body = "Числа: " + " ".join(str(n) for n in range(10, 10 + checks)) + "."
    summary = view(body, *[number(body, str(n), "found", source=ROW) for n in range(10, 10 + checks)]).summary
    assert line in summary
    assert ("источники чисел" in summary) == bool(checks)
    assert "Не подтверждены" not in summary


def test_the_header_names_each_suspect_number_once() -> None:
    body = "Точность 99% здесь, снова 99% там и 42 в конце, 97.0% верно."
    summary = view(
        body,
        number(body, "99%", "absent"),
        number(body, "99%", "absent", after="снова"),
        number(body, "42", "mismatch"),
        number(body, "97.0%", "found", source=ROW),
    ).summary
    assert "Проверено по тексту статьи: 1 из 4 чисел" in summary
    assert 'Не подтверждены текстом статьи: <a href="#src-1">99%</a>, <a href="#src-3">42</a>.' in summary


def test_formula_spans_match_what_the_renderer_treats_as_math() -> None:
    body = "a $x$ b $$y$$ c \\(z\\) `$code$` от $5 до $10\n```\n$fenced$\n```\n"
    assert [body[s:e] for s, e in formula_spans(body)] == ["$x$", "$$y$$", "\\(z\\)"]


# --- the check's line on the lists' cards ------------------------------------------------------

COCONUT, OLD = "papers/2412.06769.html", "papers/hep-th_9901001.html"


def item_of(page: str, paper: str, tag: str) -> str:
    """The card (`article`) or month-list item (`li`) of a paper on a built list page."""
    return next(part.split(f"</{tag}>")[0] for part in page.split(f"<{tag}")[1:] if paper in part)


def test_list_cards_say_what_the_number_check_found(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    site = site_settings.SITE_DIR
    lists = {
        "index.html": "article",
        "categories/cs.CL/index.html": "article",
        "categories/hep-th/index.html": "article",
        "archive/2024-12/index.html": "li",
        "archive/2024-11/index.html": "li",
    }
    cards = {}
    for path, tag in lists.items():
        page = (site / path).read_text()
        cards |= {(path, paper): item_of(page, paper, tag) for paper in (COCONUT, OLD) if paper in page}
    assert len(cards) == 6  # both on the front page, each on its category and month pages
    for (path, paper), card in cards.items():
        if paper == COCONUT:  # its newer, dropped review is not what the card counts
            assert '<p class="card-check">Проверено по тексту статьи: 7 из 7 чисел</p>' in card, path
            assert "не прошла проверку" not in card, path
        else:
            assert '<p class="card-check">Проверено по тексту статьи: 1 из 2 чисел</p>' in card, path
            assert '<span class="badge badge-alert">не прошла проверку</span>' in card, path
            assert "ждёт решения администратора" in card, path
    draft = item_of((site / "index.html").read_text(), "papers/2405.14838.html", "article")
    assert "card-check" not in draft  # an offline draft has no check record


def test_a_changed_number_check_rewrites_the_cards_that_show_it(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    with site_db.session() as session, session.begin():
        review = session.query(Review).filter_by(arxiv_id="2412.06769", moderation=None).one()
        record = dict(review.grounding)
        record["numbers"] = [record["numbers"][0] | {"status": "absent"}, *record["numbers"][1:]]
        review.grounding = record
    written = set(build_site(site_settings).written_paths)
    assert {"index.html", "categories/cs.CL/index.html", "archive/2024-12/index.html"} <= written
    card = item_of((site_settings.SITE_DIR / "index.html").read_text(), COCONUT, "article")
    assert "Проверено по тексту статьи: 6 из 7 чисел" in card


def test_cards_read_the_check_records_of_the_entries_they_show_once() -> None:
    asked: list[list[int]] = []

    def load(ids: list[int]) -> dict[int, str]:
        asked.append(sorted(ids))
        return {i: f"строка {i}" for i in ids if i != 2}

    cards = Cards(load)
    entries = [Entry.__new__(Entry) for _ in range(3)]
    for review_id, entry in enumerate(entries, 1):
        entry.review_id, entry.grounding_chars = review_id, 0 if review_id == 3 else 100
    assert cards.lines(entries) == {1: "строка 1", 2: "", 3: ""}
    assert cards.lines(entries[:2]) == {1: "строка 1", 2: ""}
    assert asked == [[1, 2]]  # no record (3) is not asked for; nothing is asked for twice


def test_a_regenerated_review_replaces_the_held_one_on_its_page_and_cards(site_settings: Settings, site_db) -> None:
    build_site(site_settings)
    # /regenerate: a new review of the held paper, which passes the check.
    add_review(
        site_db,
        "hep-th/9901001",
        title="An Old-Style Identifier Paper",
        body=ICOT_BODY,
        at=T0 + timedelta(days=5),
        categories=["hep-th"],
        withdrawn=True,
        grounding=coconut_grounding(),
    )
    written = set(build_site(site_settings).written_paths)
    assert {OLD, "index.html", "categories/hep-th/index.html", "archive/2024-11/index.html"} <= written
    site = site_settings.SITE_DIR
    page = (site / OLD).read_text()
    assert "не прошла проверку" not in page and "ждёт решения" not in page and "<mark" not in page
    for path, tag in (
        ("index.html", "article"),
        ("categories/hep-th/index.html", "article"),
        ("archive/2024-11/index.html", "li"),
    ):
        card = item_of((site / path).read_text(), OLD, tag)
        assert "не прошла проверку" not in card and "ждёт решения" not in card, path
        assert "Проверено по тексту статьи: 7 из 7 чисел" in card, path
