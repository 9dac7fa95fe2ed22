"""What a Telegram reader is told about a review's numbers (bot/trust.py), and the one posting gate."""

from __future__ import annotations

import pytest

from bot.format import classic_messages, rich_message
from bot.handlers.moderation import parse_reference
from bot.trust import GENERIC_WARNING, for_telegram, warning
from paperdigest.errors import BadArxivId
from paperdigest.models import Review
from summarizer.grounding import ABSENT, FOUND, MISMATCH, Grounding, NumberCheck, Source, may_post_automatically
from summarizer.ids import ArxivId

MARKDOWN = (
    "# Attention Is All You Need\n\nAshish Vaswani, Noam Shazeer  \nСтатья: https://arxiv.org/abs/1706.03762\n\n"
    "> Рецензия не прошла автоматическую проверку: number 47.3 not found in the paper\n\n"
    "**TL;DR:** Модель даёт 28,4 BLEU и на 47,3 % дешевле.\n\n## Суть\n\nТекст.\n"
)


def check(text: str, status: str) -> NumberCheck:
    source = Source("28.4 BLEU on WMT 2014", "6.1 Machine Translation", 8) if status == FOUND else None
    return NumberCheck(
        text=text,
        start=0,
        end=len(text),
        anchor=len(text),
        status=status,
        sentence=f"Модель даёт {text}.",
        source=source,
    )


def review(
    *,
    validation: str = "failed",
    moderation: str | None = "waiting",
    numbers: list[NumberCheck] | None = None,
    markdown: str = MARKDOWN,
) -> Review:
    grounding = Grounding(numbers).to_json() if numbers is not None else None
    return Review(
        arxiv_id="1706.03762",
        version=7,
        markdown=markdown,
        body="",
        validation=validation,
        moderation=moderation,
        grounding=grounding,
    )


SUSPECT = [check("28,4", FOUND), check("47,3 %", ABSENT), check("6,5x", MISMATCH)]


@pytest.mark.parametrize(
    ("validation", "moderation", "allowed"),
    [
        ("passed", None, True),
        ("draft", None, True),
        ("failed", None, False),
        ("failed", "waiting", False),
        ("failed", "dropped", False),
        ("failed", "approved", True),
    ],
)
def test_only_an_approved_failed_review_may_be_posted(validation, moderation, allowed) -> None:
    assert may_post_automatically(validation, moderation) is allowed


def test_requester_is_warned_of_the_suspect_numbers_only() -> None:
    text = for_telegram(review(numbers=SUSPECT), to_requester=True)
    note = warning(review(numbers=SUSPECT))
    assert (
        note == "⚠️ Рецензия не прошла проверку: не подтверждены текстом статьи — 47,3 %, 6,5x. "
        "Остальные числа сверены со статьёй; эти проверьте по ней сами."
    )
    assert f"> {note}" in text and "28,4," not in note
    assert "Проверено по тексту статьи: 1 из 3 чисел" in text
    assert "not found" not in text and "автоматическую проверку:" not in text  # the old English note is cut


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"numbers": None}, GENERIC_WARNING),  # failed before the check recorded its numbers
        ({"numbers": [check("28,4", FOUND)]}, GENERIC_WARNING),  # failed for another reason
        ({"numbers": SUSPECT, "moderation": "approved"}, None),  # an admin vouched for it
        ({"numbers": SUSPECT, "validation": "passed", "moderation": None}, None),
    ],
)
def test_warning_cases(kwargs, expected) -> None:
    assert warning(review(**kwargs)) == expected


def test_the_channel_never_gets_the_warning_but_gets_the_count() -> None:
    text = for_telegram(review(numbers=SUSPECT, moderation="approved"), to_requester=False)
    assert "⚠️" not in text and "Проверено по тексту статьи: 1 из 3 чисел" in text


def test_a_review_without_grounding_has_no_count_line() -> None:
    text = for_telegram(review(validation="passed", moderation=None, numbers=None), to_requester=True)
    assert "Проверено" not in text and text.startswith("# Attention Is All You Need")


def test_a_warning_the_pipeline_already_put_in_the_notes_is_not_repeated() -> None:
    note = Grounding(SUSPECT).warning_ru()
    markdown = MARKDOWN.replace(
        "> Рецензия не прошла автоматическую проверку: number 47.3 not found in the paper", f"> {note}"
    )
    text = for_telegram(review(numbers=SUSPECT, markdown=markdown), to_requester=True)
    assert text.count("не подтверждены текстом статьи") == 1


@pytest.mark.parametrize("fmt", ["rich", "classic"])
def test_count_line_is_in_the_rendered_header(fmt) -> None:
    text = for_telegram(
        review(validation="passed", moderation=None, numbers=[check("28,4", FOUND)] * 21), to_requester=False
    )
    if fmt == "rich":
        html = rich_message(text, site_url=None).html
        assert "<p>Проверено по тексту статьи: 21 из 21 числа</p>" in html
        assert html.index("Проверено") < html.index("TL;DR")
    else:
        first = classic_messages(text, site_url=None)[0]
        header, _, rest = first.partition("\n\n")
        assert "Статья: " in header and header.endswith("Проверено по тексту статьи: 21 из 21 числа")


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("12", 12),
        ("#12", 12),
        ("12 лишнее", 12),
        ("2412.06769", ArxivId("2412.06769")),
        ("https://arxiv.org/abs/2412.06769v2", ArxivId("2412.06769", 2)),
    ],
)
def test_moderation_argument_is_a_review_number_or_a_paper(argument, expected) -> None:
    assert parse_reference(argument) == expected


@pytest.mark.parametrize("argument", ["abc", "12a", "#"])
def test_moderation_argument_that_is_neither_is_refused(argument) -> None:
    with pytest.raises(BadArxivId):
        parse_reference(argument)


# --- the header comes from the paper's row ---------------------------------------------------


def stored_paper(tmp_path, *, code_url: str | None = "https://github.com/facebookresearch/coconut"):
    from paperdigest import repo
    from paperdigest.db import Database
    from paperdigest.records import PaperMeta

    db = Database(f"sqlite:///{tmp_path / 'trust.db'}")
    meta = PaperMeta(
        "2412.06769",
        2,
        "Training Large Language Models to Reason in a Continuous Latent Space",
        ["Shibo Hao", "Sainbayar Sukhbaatar"],
        "Coconut.",
    )
    with db.session() as session, session.begin():
        repo.upsert_paper(session, meta, code_url=code_url)
    return db


def header_of(db, tmp_path, site_url: str = "https://digest.example"):
    from bot.trust import paper_header
    from paperdigest.models import Paper

    with db.read() as session:
        return paper_header(session.get(Paper, "2412.06769"), 2, site_url=site_url, data_dir=tmp_path / "data")


def body_review(**fields) -> Review:
    defaults = dict(
        arxiv_id="2412.06769",
        version=2,
        markdown="# stale stored header\n\nbody",
        validation="passed",
        moderation=None,
        notes=["Статья длиннее 40 страниц: прочитаны первые 40 из 52."],
        body="**TL;DR:** Рассуждение в латентном пространстве.\n\n## Суть\n\nТекст.",
    )
    return Review(**(defaults | fields))


def test_the_telegram_header_is_built_from_the_papers_row(tmp_path, monkeypatch) -> None:
    import demos.registry

    monkeypatch.setattr(demos.registry, "PUBLISHED_DIR", tmp_path / "no-published-results")
    db = stored_paper(tmp_path)
    try:
        text = for_telegram(body_review(), header_of(db, tmp_path), to_requester=False)
        assert text.startswith("# Training Large Language Models to Reason in a Continuous Latent Space\n\n")
        assert "Статья: https://arxiv.org/abs/2412.06769" in text
        assert "Код: https://github.com/facebookresearch/coconut" in text
        assert "stale stored header" not in text and "Демо:" not in text  # no results yet: no demo page
        assert "> Статья длиннее 40 страниц" in text and text.endswith("## Суть\n\nТекст.")

        results = tmp_path / "data" / "demos" / "coconut" / "results.json"
        results.parent.mkdir(parents=True)
        results.write_text('{"quick": true, "methods": {}}', encoding="utf-8")
        text = for_telegram(body_review(), header_of(db, tmp_path, "https://other.example"), to_requester=False)
        assert "Демо: https://other.example/demos/coconut/" in text  # where the site lives now, not at review time
    finally:
        db.close()


def test_the_composed_header_keeps_the_count_line_and_drops_the_pipeline_failure_note(tmp_path) -> None:
    db = stored_paper(tmp_path, code_url=None)
    try:
        failed = body_review(
            validation="failed",
            moderation="waiting",
            notes=["Рецензия не прошла автоматическую проверку: число 47,3 % не найдено."],
            grounding=Grounding(SUSPECT).to_json(),
        )
        text = for_telegram(failed, header_of(db, tmp_path), to_requester=True)
        header = text.split("\n\n")[1]
        assert header.endswith("Проверено по тексту статьи: 1 из 3 чисел") and "Код:" not in header
        assert "Рецензия не прошла автоматическую проверку" not in text  # the warning takes its place
        assert Grounding(SUSPECT).warning_ru() in text
    finally:
        db.close()
