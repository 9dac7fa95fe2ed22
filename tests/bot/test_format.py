"""Reviews rendered for Telegram: classic HTML parts, the rich message, the plain fallback.

Pure tests check the shapes; the 20,000-character review goes through aiogram to the fake
Bot API, whose validator is Telegram's rules (and a little stricter); the property test
feeds the renderers any Markdown an LLM could return.
"""

from __future__ import annotations

import re

import pytest
from aiogram import Bot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.format import (
    MESSAGE_LIMIT,
    RICH_BLOCK_LIMIT,
    RICH_CHAR_LIMIT,
    classic_messages,
    plain_text,
    rich_message,
    utf16_len,
)
from bot.latex_text import latex_to_text
from bot.review_doc import parse_review
from tests.fakes.telegram_html import parse_html, parse_rich_html

SITE = "http://127.0.0.1:8000"
PAGE = f"{SITE}/papers/2412.06769/"
CHANNEL = -1001234567890

HEADER = f"""# Training Large Language Models to Reason in a Continuous Latent Space

Shibo Hao, Sainbayar Sukhbaatar, DiJia Su, Xian Li, Zhiting Hu, Jason Weston, Yuandong Tian  
Статья: https://arxiv.org/abs/2412.06769  
Код: https://github.com/facebookresearch/coconut  
Демо: {SITE}/demos/coconut/
"""
HEADER_HTML = f"""<b>Training Large Language Models to Reason in a Continuous Latent Space</b>
Shibo Hao, Sainbayar Sukhbaatar, DiJia Su, Xian Li, Zhiting Hu, Jason Weston, Yuandong Tian
Статья: <a href="https://arxiv.org/abs/2412.06769">arxiv.org/abs/2412.06769</a>
Код: <a href="https://github.com/facebookresearch/coconut">github.com/facebookresearch/coconut</a>
Демо: <a href="{SITE}/demos/coconut/">локальное демо</a>"""

PARAGRAPHS = [
    (
        "Эта статья посвящена **непрерывному *латентному* рассуждению** 🧠: модель учит "
        "$p_\\theta(x_t \\mid x_{<t})$, но шаги CoT заменяет «мыслями» — векторами "
        "$h_t \\in \\mathbb{R}^d$. Это <важно> & интересно 🔥: язык — не лучшая среда для "
        "поиска (BFS, value function, MCTS)."
    ),
    (
        "Обучение идёт по стадиям: на стадии $k$ первые $k$ шагов CoT заменяются на $k \\cdot c$ "
        "латентных мыслей, $c = 2$; лосс — только на оставшихся токенах: "
        "$$\\mathcal{L} = -\\sum_{t=1}^{T} \\log p_\\theta(x_t \\mid x_{<t}, h_{1:k})$$ "
        "Это ***жирный курсив***, ~~зачёркнутое~~ и `code_span<T>` 📈."
    ),
    (
        "Сравнение с iCoT, pause tokens и CoT на GSM8k, ProntoQA и ProsQA 😀: на ProsQA 97,0 % "
        "против 77,5 % у CoT, токенов в 3–4 раза меньше ⚡. См. [код]"
        "(https://github.com/facebookresearch/coconut) и [arXiv](https://arxiv.org/abs/2412.06769)."
    ),
]
LIST = """- пункт с формулой $\\frac{a}{b}$ и эмодзи 🧪
- второй: **важно** и *курсив*
  - вложенный про $\\alpha = 0.5$
1. нумерованный
2. и второй с `x < y && z`
"""
SECTIONS = ["Суть", "Метод", "Эксперименты и результаты", "Ограничения", "Почему это важно"]


def long_review(target: int = 20000) -> str:
    """A review in the pipeline's shape, ``target`` characters long, with one paragraph
    longer than a whole Telegram message."""
    parts = [
        HEADER,
        "> Раздел «Эксперименты» сокращён.\n",
        "**TL;DR:** Coconut 🧠 рассуждает в латентном пространстве 🚀.\n",
    ]
    i = 0
    while sum(map(len, parts)) < target:
        if i % 6 == 0:
            parts.append(f"## {SECTIONS[min(i // 6, 4)]}\n")
        parts.append(PARAGRAPHS[i % 3] + "\n")
        if i % 4 == 1:
            parts.append(LIST)
        if i == 7:
            parts.append(" ".join([PARAGRAPHS[0], PARAGRAPHS[2]] * 12) + "\n")
        i += 1
    return "\n".join(parts)


def visible(part: str) -> str:
    """What Telegram shows of a classic part; raises if Telegram would refuse it."""
    text, _ = parse_html(part)
    return text


# --- LaTeX → Unicode ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"p_\theta(x_t \mid x_{<t})", "p_θ(xₜ | x_<t)"),
        (r"\frac{a}{b}", "a/b"),
        (r"\frac{a+b}{2}", "(a+b)/2"),
        (r"\mathcal{L} = -\sum_{t=1}^{T} \log p_\theta(x_t)", "ℒ = -∑ₜ₌₁ᵀ log p_θ(xₜ)"),
        (r"h_t \in \mathbb{R}^d", "hₜ ∈ ℝᵈ"),
        (r"\text{softmax}(QK^\top/\sqrt{d_k})V", "softmax(QKᵀ/√dₖ)V"),
        (r"\hat{y}_i", "ŷᵢ"),
        (r"O(n^2), 10^{-4}", "O(n²), 10⁻⁴"),
        (r"\alpha = 0.5, \beta \le \gamma", "α = 0.5, β ≤ γ"),
        (r"\left( \frac{1}{N} \|h\|_2^2 \right)", "( 1/N ‖h‖₂² )"),
        (r"\mathbb{E}_{x \sim p}[f(x)]", "𝔼_(x ∼ p)[f(x)]"),
        (r"\operatorname{arg\,max}_y", "arg max_y"),
        (r"x_{t-1}", "xₜ₋₁"),
        (r"\unknownmacro{x}", "unknownmacrox"),
        (r"{{{ \frac", "/"),
    ],
)
def test_latex_to_text(latex: str, text: str) -> None:
    assert latex_to_text(latex) == text


# --- classic messages ---------------------------------------------------------------------------


def test_header_is_the_html_of_the_review_style() -> None:
    parts = classic_messages(HEADER + "\n**TL;DR:** коротко.\n", site_url=PAGE)
    assert parts == [(f'{HEADER_HTML}\n\n<b>TL;DR:</b> коротко.\n\n<a href="{PAGE}">Полный обзор на сайте</a>')]


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("**жирный *вложенный курсив* текст**", "<b>жирный <i>вложенный курсив</i> текст</b>"),
        ("***оба***", "<i><b>оба</b></i>"),
        ("~~нет~~ и `a<b && c`", "<s>нет</s> и <code>a&lt;b &amp;&amp; c</code>"),
        ("x < y & z > w", "x &lt; y &amp; z &gt; w"),
        ("<b>сырой HTML</b>", "&lt;b&gt;сырой HTML&lt;/b&gt;"),
        ('[текст](https://arxiv.org/abs/1?a=1&b="2")', '<a href="https://arxiv.org/abs/1?a=1&amp;b=%222%22">текст</a>'),
        ("[плохая](javascript:alert(1)) и [относительная](/x)", "[плохая](javascript:alert(1)) и относительная"),
        ("[`код` в ссылке](https://a.org)", '<a href="https://a.org">код в ссылке</a>'),
        ("## Метод\n\nТекст.", "<b>Метод</b>\nТекст."),
        ("- раз\n- два\n  - три\n\n1. один", "• раз\n• два\n    ◦ три\n\n1. один"),
        ("> заметка\n> вторая", "<blockquote>заметка\nвторая</blockquote>"),
        ("Формула $p_\\theta(x_t \\mid x_{<t})$.", "Формула p_θ(xₜ | x_&lt;t)."),
        ("$$\\frac{a}{b}$$", "a/b"),
        ("цена $5 и $10", "цена $5 и $10"),
        ("```python\nprint('<')\n```", "<pre><code class=\"language-python\">print('&lt;')</code></pre>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "a | b\n\n1 | 2"),
    ],
)
def test_classic_conversions(markdown: str, html: str) -> None:
    assert classic_messages(markdown, site_url=None) == [html]


def test_long_paragraph_is_cut_at_a_sentence_end() -> None:
    sentence = "Модель учит латентные мысли 🧠 и экономит токены. "
    parts = classic_messages(sentence * 200, site_url=PAGE)
    assert len(parts) > 2
    for part in parts[:-1]:
        assert visible(part).endswith("токены.")
        assert utf16_len(visible(part)) <= MESSAGE_LIMIT


@pytest.mark.parametrize(
    ("markdown", "limit"),
    [
        ("слово " * 2000, 4096),  # no sentence ends: cut at spaces
        ("🧠" * 5000, 4096),  # no spaces at all, astral: never split a character
        ("**" + "жирно. " * 100 + "конец**", 120),  # tags balanced in every part
        ("`" + "код " * 100 + "`", 50),
    ],
)
def test_parts_stay_within_the_limit(markdown: str, limit: int) -> None:
    parts = classic_messages(markdown, site_url=None, limit=limit)
    assert len(parts) > 1
    assert all(utf16_len(visible(part)) <= limit for part in parts)
    joined = "".join(visible(part) for part in parts)
    assert re.sub(r"\s", "", joined) == re.sub(r"[\s*`]", "", markdown)


def test_long_review_parts() -> None:
    parts = classic_messages(long_review(), site_url=PAGE)
    texts = [visible(part) for part in parts]
    assert parts[0].startswith(HEADER_HTML)
    assert parts[-1].endswith(f'<a href="{PAGE}">Полный обзор на сайте</a>')
    assert all(utf16_len(text) <= MESSAGE_LIMIT for text in texts)
    assert 4 <= len(parts) <= 7
    assert not any("$" in text or "\\frac" in text for text in texts)
    assert all(f"\n{name}\n" in "\n".join(texts) for name in SECTIONS[:4])


async def test_long_review_is_accepted_through_aiogram(telegram_bot: Bot, fake_telegram) -> None:
    fake_telegram.add_chat(CHANNEL, type="channel", username="digest_test")
    review = long_review()
    parts = classic_messages(review, site_url=PAGE)
    for part in parts:
        await telegram_bot.send_message(CHANNEL, part, parse_mode="HTML")
    for part in plain_text(review, site_url=PAGE):
        await telegram_bot.send_message(CHANNEL, part)
    await telegram_bot.send_rich_message(CHANNEL, rich_message(review, site_url=PAGE))

    sent = fake_telegram.sent
    assert len(sent) == 2 * len(parts) + 1
    first = sent[0]
    assert [e["type"] for e in first.entities[:4]] == ["bold", "text_link", "text_link", "text_link"]
    assert first.entities[1]["url"] == "https://arxiv.org/abs/2412.06769"
    assert sent[len(parts) - 1].entities[-1] == {
        "type": "text_link",
        "offset": utf16_len(sent[len(parts) - 1].text) - 21,
        "length": 21,
        "url": PAGE,
    }


# --- plain text ----------------------------------------------------------------------------------


def test_plain_text_has_no_markup_and_shows_urls() -> None:
    parts = plain_text(HEADER + "\nТекст **жирный** и [код](https://github.com/x) $x^2$.", site_url=PAGE)
    assert parts == [
        (
            "Training Large Language Models to Reason in a Continuous Latent Space\n"
            "Shibo Hao, Sainbayar Sukhbaatar, DiJia Su, Xian Li, Zhiting Hu, Jason Weston, "
            "Yuandong Tian\nСтатья: https://arxiv.org/abs/2412.06769\n"
            "Код: https://github.com/facebookresearch/coconut\n"
            f"Демо: локальное демо ({SITE}/demos/coconut/)\n\n"
            "Текст жирный и код (https://github.com/x) x².\n\n"
            f"Полный обзор на сайте ({PAGE})"
        )
    ]


def test_plain_text_of_a_long_review_stays_within_the_limit() -> None:
    parts = plain_text(long_review(), site_url=PAGE)
    assert len(parts) > 3
    assert all(utf16_len(part) <= MESSAGE_LIMIT for part in parts)
    assert parts[-1].endswith(PAGE + ")")


# --- rich message --------------------------------------------------------------------------------


def test_rich_message_shape() -> None:
    html = rich_message(HEADER + "\n" + PARAGRAPHS[1] + "\n\n## Метод\n\n" + LIST, site_url=PAGE).html
    assert html.startswith(
        "<h1>Training Large Language Models to Reason in a Continuous Latent Space</h1>"
        "<p>Shibo Hao, Sainbayar Sukhbaatar, DiJia Su, Xian Li, Zhiting Hu, Jason Weston, "
        'Yuandong Tian</p><p>Статья: <a href="https://arxiv.org/abs/2412.06769">'
        "arxiv.org/abs/2412.06769</a></p>"
    )
    assert "<tg-math>k \\cdot c</tg-math>" in html
    assert (
        "<tg-math-block>\\mathcal{L} = -\\sum_{t=1}^{T} \\log p_\\theta(x_t \\mid x_{&lt;t}, h_{1:k})</tg-math-block>"
    ) in html
    assert "<h2>Метод</h2><ul><li>пункт с формулой <tg-math>\\frac{a}{b}</tg-math>" in html
    assert "<ul><li>вложенный про <tg-math>\\alpha = 0.5</tg-math></li></ul></li></ul><ol>" in html
    assert html.endswith(f'<p><a href="{PAGE}">Полный обзор на сайте</a></p>')
    parse_rich_html(html)


def test_rich_long_review_fits_whole() -> None:
    html = rich_message(long_review(), site_url=PAGE).html
    _, stats = parse_rich_html(html)
    assert stats.chars <= RICH_CHAR_LIMIT and stats.blocks <= RICH_BLOCK_LIMIT
    assert "сокращён, чтобы" not in html
    assert all(f"<h2>{name}</h2>" in html for name in SECTIONS)


@pytest.mark.parametrize(
    "markdown",
    [
        long_review(70000),  # too many characters
        "\n".join(f"- пункт {n}" for n in range(700)),  # too many blocks
    ],
)
def test_rich_message_is_shortened_gracefully(markdown: str) -> None:
    html = rich_message(markdown, site_url=PAGE).html
    _, stats = parse_rich_html(html)
    assert stats.chars <= RICH_CHAR_LIMIT and stats.blocks <= RICH_BLOCK_LIMIT
    assert html.endswith(
        "<p><i>Обзор сокращён, чтобы уместиться в одно сообщение.</i></p>"
        f'<p><a href="{PAGE}">Полный обзор на сайте</a></p>'
    )


def test_review_model_reads_the_header() -> None:
    blocks = parse_review(HEADER + "\n> заметка\n\n**TL;DR:** x\n\n## Суть\n\nтекст")
    assert [b.kind for b in blocks] == ["title", "header", "quote", "para", "heading", "para"]


# --- any Markdown an LLM could return -----------------------------------------------------------

PIECES = st.sampled_from(
    [
        "# ",
        "## ",
        "### ",
        "\n- ",
        "\n* ",
        "\n1. ",
        "\n  - ",
        "\n> ",
        "**",
        "*",
        "_",
        "__",
        "~~",
        "`",
        "```",
        "\n```\n",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "<",
        ">",
        "&",
        "&amp;",
        "&#",
        "<b>",
        "</i>",
        "<tg-math>",
        "[",
        "](",
        ")",
        "](https://arxiv.org/abs/1)",
        "javascript:",
        "\n",
        "\n\n",
        "  \n",
        " ",
        "\\",
        "|",
        "\n---\n",
        "😀",
        "🧠",
        "👨‍👩‍👧",
        "🇷🇺",
        "é",
        "\u0301",
        "\u200d",
        "\ufe0f",
        "\u200b",
        "\x00",
        "Статья: https://arxiv.org/abs/2412.06769",
        "Эта статья посвящена",
        "p_\\theta",
        "\\frac{a}{b}",
        "x_{<t}",
        "{",
        "}",
        "^",
        "Ё.",
        "Предложение. ",
        "слово ",
    ]
)
WORDS = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
MARKDOWN = st.lists(st.one_of(PIECES, WORDS), max_size=80).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown=MARKDOWN, limit=st.sampled_from([60, 300, MESSAGE_LIMIT]), site_url=st.sampled_from([None, PAGE]))
def test_any_markdown_becomes_messages_telegram_accepts(markdown: str, limit: int, site_url: str | None) -> None:
    parts = classic_messages(markdown, site_url=site_url, limit=limit)
    assert parts
    for part in parts:
        text = visible(part)  # raises on anything Telegram would refuse
        assert text.strip() and utf16_len(text) <= limit
    for part in plain_text(markdown, site_url=site_url, limit=limit):
        assert part.strip() and utf16_len(part) <= limit
    _, stats = parse_rich_html(rich_message(markdown, site_url=site_url).html)
    assert 0 < stats.blocks <= RICH_BLOCK_LIMIT and stats.chars <= RICH_CHAR_LIMIT


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(PARAGRAPHS + [LIST, "## Метод", "😀" * 50]), min_size=20, max_size=60).map("\n\n".join))
def test_long_mixes_split_within_the_limit(markdown: str) -> None:
    for part in classic_messages(markdown, site_url=PAGE):
        assert utf16_len(visible(part)) <= MESSAGE_LIMIT
