"""Review Markdown → HTML: formulas, the sanitizer, and the small pure helpers of the site."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digest import paths
from digest.markdown import protect_math, render_inline, render_markdown
from digest.pages import paginate
from digest.templating import inline_markdown, reviews_word, ru_date, web_url
from tests.support.site import PWN, fake_entry, parse_tags


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (r"Потери $\mathcal{L}$ малы.", '<math display="inline">'),
        (r"$$\frac{1}{2}$$", '<math display="block">'),
        (r"Скобки \(a_1 + b_2\) тоже.", '<math display="inline">'),
        (r"И \[ x^2 \] блоком.", '<math display="block">'),
        (r"$x_{i}$ и $y_{j}$: подчёркивания не курсив", "<msub>"),
    ],
)
def test_formulas_become_mathml(markdown: str, expected: str) -> None:
    html = render_markdown(markdown)
    assert expected in html
    assert "$" not in html and "<em>" not in html


@pytest.mark.parametrize(
    "markdown",
    [
        "Цена от $5 до $10.",
        r"Экранированный \$ доллар и ещё один \$.",
        "Код `a $b$ c` не формула.",
        "```\nx = '$not math$'\n```",
        "Пустые $$ $$ доллары",
    ],
)
def test_dollars_that_are_not_math_stay_text(markdown: str) -> None:
    assert "<math" not in render_markdown(markdown)


def test_formula_that_fails_to_convert_is_code_and_the_page_goes_on() -> None:
    html = render_markdown(r"До $\frac{1}{$ и после $x^2$.")
    assert '<code class="tex">\\frac{1}{</code>' in html
    assert "<msup>" in html and "после" in html


def test_math_is_protected_from_markdown_and_restored_in_order() -> None:
    text, formulas = protect_math(r"$a_1$ и $b_2$, `$c$`")
    assert len(formulas) == 2 and "_" not in text.split("`")[0]
    html = render_markdown(r"$a_1$ и $b_2$")
    assert html.index("<mi>a</mi>") < html.index("<mi>b</mi>")


def test_headings_start_at_h2_and_tables_render() -> None:
    html = render_markdown("# Заголовок\n\n## Метод\n\n| a | b |\n|:-|-:|\n| 1 | 2 |")
    assert "<h1>" not in html and "<h2>Заголовок</h2>" in html
    assert '<td style="text-align:right">2</td>' in html


@pytest.mark.parametrize(
    "payload",
    [
        f"<script>{PWN}</script>",
        f'<img src=x onerror="{PWN}">',
        f'<svg onload="{PWN}"><circle r=1 /></svg>',
        f"<svg><script>{PWN}</script></svg>",
        f'<iframe src="javascript:{PWN}"></iframe>',
        f"[клик](javascript:{PWN})",
        f"[клик](JaVaScRiPt:{PWN})",
        "[клик](data:text/html;base64,PHNjcmlwdD4=)",
        "[клик](vbscript:msgbox)",
        f'<a href="javascript:{PWN}">x</a>',
        f"$\\href{{javascript:{PWN}}}{{x}}$",
        f'$\\text{{<img src=x onerror="{PWN}">}}$',
        f"$\\text{{<script>{PWN}</script>}}$",
        f'<div onmouseover="{PWN}">x</div>',
        "![img](https://tracker.invalid/pixel.png)",
    ],
)
def test_sanitizer_leaves_nothing_active(payload: str) -> None:
    html = render_markdown(f"Текст {payload} конец")
    tags = parse_tags(html)
    assert not tags.inline_scripts
    for tag, attrs in tags.tags:
        assert tag not in {"script", "img", "svg", "iframe", "object", "embed", "style"}
        assert not [name for name in attrs if name.startswith("on")]
        for name in ("href", "src"):
            assert attrs.get(name, "https://").startswith(("https://", "http://")), (tag, attrs)
    assert html.rstrip().endswith("конец</p>")  # nothing swallowed the rest of the text


def test_links_are_web_only_and_noopener() -> None:
    html = render_markdown("[arXiv](https://arxiv.org/abs/2412.06769) [внутр](/etc) [отн](../x)")
    assert '<a href="https://arxiv.org/abs/2412.06769" rel="noopener">arXiv</a>' in html
    assert html.count("href=") == 1


@pytest.mark.parametrize("text", ["Просто текст про CoT и BFS.", "Числа 97.0% и 14.2 токена", "a, b; c: d?"])
def test_plain_tldr_fast_path_matches_markdown(text: str) -> None:
    assert str(inline_markdown(text)) == render_inline(text)


@pytest.mark.parametrize("text", [f'<img src=x onerror="{PWN}">', "**жирный** и $x^2$", "1. не список"])
def test_tldr_with_markup_goes_through_markdown(text: str) -> None:
    tags = parse_tags(str(inline_markdown(text)))
    assert all(tag in {"strong", "math", "mrow", "msup", "mi", "mn"} for tag, _attrs in tags.tags)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2412.06769", "2412.06769"),
        ("hep-th/9901001", None),
        ("cs.CL", "cs.CL"),
        ("..", None),
        ("a/../../b", None),
        ("<script>", None),
        ("", None),
    ],
)
def test_slugs_are_safe_folder_names(text: str, expected: str | None) -> None:
    result = paths.slug(text.replace("/", "_") if text.startswith("hep") else text)
    if expected is not None:
        assert result == expected
    assert "/" not in result and result not in {".", ".."} and result
    assert all(c.isalnum() or c in ".-_" for c in result)


def test_old_style_ids_get_a_distinct_path() -> None:
    assert paths.paper_path("hep-th/9901001") == "papers/hep-th_9901001.html"
    assert paths.paper_path("hep-th/9901001") != paths.paper_path("hep-th-9901001")


@pytest.mark.parametrize(
    ("path", "root"),
    [("index.html", ""), ("papers/x/index.html", "../../"), ("categories/cs.CL/page/2/index.html", "../../../../")],
)
def test_root_of(path: str, root: str) -> None:
    assert paths.root_of(path) == root


def _entries(n: int) -> list:
    return [fake_entry(i) for i in range(n)][::-1]  # newest first


@pytest.mark.parametrize("count", [0, 1, 19, 20, 39, 40, 41, 100])
def test_pagination_is_stable_from_the_oldest(count: int) -> None:
    entries = _entries(count)
    listings = paginate(entries, 20)
    shown = [e for listing in listings for e in listing.entries]
    assert sorted(id(e) for e in shown) == sorted(id(e) for e in entries)
    front, numbered = listings[0], listings[1:]
    assert front.number is None and (count < 20 or 20 <= len(front.entries) < 40)
    for listing in numbered:  # page k always holds the same oldest reviews
        assert len(listing.entries) == 20
        assert listing.entries[-1] is entries[::-1][(listing.number - 1) * 20]
    one_more = paginate([*_entries(count + 1)[:1], *entries], 20)
    if count + 1 < 40 or (count + 1) % 20:
        assert [l.entries for l in one_more[1:]] == [l.entries for l in numbered]


def test_russian_words_and_dates() -> None:
    assert [reviews_word(n) for n in (1, 2, 5, 11, 21, 104)] == [
        "рецензия",
        "рецензии",
        "рецензий",
        "рецензий",
        "рецензия",
        "рецензии",
    ]
    assert ru_date(datetime(2024, 12, 9, tzinfo=UTC)) == "9 декабря 2024"
    assert web_url(f"javascript:{PWN}") is None and web_url(" https://github.com/x ") == "https://github.com/x"
    assert ru_date(None) == "—"
