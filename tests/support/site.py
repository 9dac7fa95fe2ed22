"""A small fixture database for the digest site tests, and helpers to read a built site.

Rows go straight into a real SQLite database (migrated by `Database`), with fixed times,
so a build is deterministic and can be compared with tests/digest/expected_site/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.load import Entry
from paperdigest.db import Database
from paperdigest.models import Paper, Review
from paperdigest.settings import Settings
from summarizer.grounding import Grounding, NumberCheck, Source

SITE_URL = "https://digest.paperdigest.test"
T0 = datetime(2024, 12, 20, 9, 0, tzinfo=UTC)
PWN = "window.__pwned=1"

COCONUT_BODY = r"""**TL;DR:** Coconut подаёт последнее скрытое состояние $h_t$ обратно на вход вместо токенов цепочки рассуждений.

## Суть

Эта статья посвящена рассуждению в непрерывном латентном пространстве (continuous latent reasoning): вместо CoT модель «думает» векторами.

## Метод

Модель обучается с curriculum: на стадии $k$ первые $k$ шагов CoT заменяются непрерывными мыслями. Функция потерь:

$$\mathcal{L} = -\sum_{t} \log p_\theta(x_t \mid x_{<t})$$

Плохая формула остаётся кодом: $\frac{1}{$ — страница не ломается.

## Эксперименты и результаты

На ProsQA точность 97.0% против 77.5% у CoT (на 19.5 пункта выше), при 14.2 токенах вместо 49.4.

| метод | ProsQA |
|---|---:|
| CoT | 77.5 |
| Coconut | 97.0 |

## Ограничения

Нужен многостадийный curriculum и больше последовательных проходов.

## Почему это важно

Непрерывные мысли кодируют несколько следующих шагов сразу — это похоже на BFS. Код: [github](https://github.com/facebookresearch/coconut).
"""

ICOT_BODY = """**TL;DR:** Неявная цепочка рассуждений: шаги CoT постепенно убираются из обучения.

## Суть

Статья учит модель рассуждать без явных шагов.

## Метод

Stepwise internalization: на каждой стадии удаляется ещё несколько токенов CoT.

## Эксперименты и результаты

GPT-2 Small умножает 9-значные числа с точностью 99%.

## Ограничения

Обучение дорогое.

## Почему это важно

Показывает, что CoT можно интернализовать.
"""

XSS_BODY = f"""**TL;DR:** <img src=x onerror="{PWN}"> опасный текст <script>{PWN}</script>

## Суть

<script>{PWN}</script> и <svg onload="{PWN}"><circle r=1 /></svg> и <iframe src="javascript:{PWN}"></iframe>

## Метод

[ссылка javascript](javascript:{PWN}) [ссылка data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)
[относительная](../../etc/passwd) ![картинка](https://tracker.invalid/pixel.png)
<a href="javascript:{PWN}">сырая ссылка</a>

## Эксперименты и результаты

Формулы: $\\text{{<img src=x onerror="{PWN}">}}$ и $\\href{{javascript:{PWN}}}{{x}}$.

## Ограничения

<div onmouseover="{PWN}">наведи</div>

## Почему это важно

Ничего не должно выполниться, даже в 3 раза быстрее.
"""


def number(
    body: str,
    text: str,
    status: str,
    *,
    after: str = "",
    source: Source | None = None,
    operands: tuple[str, ...] = (),
    detail: str = "",
) -> NumberCheck:
    """The check of the first `text` in `body` (after `after`), as summarizer.attribute records it.
    A number inside a `$…$` formula gets its anchor after the closing dollar."""
    start = body.index(text, body.index(after) if after else 0)
    end = start + len(text)
    opening = body.rfind("$", 0, start)
    in_formula = opening != -1 and body.count("$", 0, opening) % 2 == 0 and "$" in body[end:]
    anchor = body.index("$", end) + 1 if in_formula else end
    return NumberCheck(
        text=text,
        start=start,
        end=end,
        anchor=anchor,
        status=status,
        sentence="",
        source=source,
        operands=list(operands),
        detail=detail,
    )


# Rows of the paper's Table 1 (ProsQA accuracy and tokens), as the PDF's text gives them.
COCONUT_ROW = Source("Coconut (Ours) 34.1 8.2 99.8 9.0 97.0 14.2", "4.4 Results and Discussion", 6)
COT_ROW = Source("CoT 42.9 25.0 98.8 92.5 77.5 49.4", "4.4 Results and Discussion", 6)


def coconut_grounding(body: str = "") -> Grounding:
    body = body or COCONUT_BODY
    return Grounding(
        [
            number(body, "97.0%", "found", source=COCONUT_ROW),
            number(body, "77.5%", "found", source=COT_ROW),
            number(body, "19.5", "derived", operands=("97.0", "77.5"), detail="97.0 - 77.5 = 19.5"),
            number(body, "14.2", "found", source=COCONUT_ROW),
            number(body, "49.4", "found", source=COT_ROW),
            number(body, "77.5", "found", after="| CoT", source=COT_ROW),
            number(body, "97.0", "found", after="| Coconut", source=COCONUT_ROW),
        ]
    )


def failed_grounding(body: str = ICOT_BODY) -> Grounding:
    """The old-style paper's failed review: 9 is in the paper, 99% is not."""
    return Grounding(
        [
            number(body, "9", "found", after="умножает", source=Source("multiplying two 9-digit numbers", "", 1)),
            number(body, "99%", "absent"),
        ]
    )


def add_review(
    db: Database,
    arxiv_id: str,
    *,
    title: str,
    body: str,
    at: datetime,
    authors: list[str] | None = None,
    categories: list[str] | None = None,
    version: int = 1,
    latest_version: int | None = None,
    withdrawn: bool = False,
    code_url: str | None = None,
    abstract: str = "An abstract.",
    notes: list[str] | None = None,
    validation: str = "passed",
    problems: list[str] | None = None,
    reviewer: str = "llm",
    tldr: str | None = None,
    grounding: Grounding | None = None,
    moderation: str | None = None,
) -> None:
    """Insert (or update) a paper and add a review of it, both stamped with `at`."""
    with db.session() as session, session.begin():
        paper = session.get(Paper, arxiv_id) or Paper(arxiv_id=arxiv_id, created_at=at)
        paper.title, paper.authors, paper.abstract = title, authors or ["Ann Author", "Bob Writer"], abstract
        paper.categories = categories or ["cs.CL"]
        paper.primary_category = paper.categories[0]
        paper.published = paper.updated = at - timedelta(days=10)
        paper.latest_version = latest_version or version
        paper.withdrawn, paper.code_url, paper.updated_at = withdrawn, code_url, at
        session.add(paper)
        first_line = body.split("\n", 1)[0].replace("**TL;DR:**", "").strip()
        session.add(
            Review(
                arxiv_id=arxiv_id,
                version=version,
                markdown=f"# {title}\n\n{body}",
                body=body,
                tldr=first_line if tldr is None else tldr,
                reviewer=reviewer,
                model="gpt-4o-mini" if reviewer == "llm" else "offline-extractive",
                prompt_version="v1",
                prompt_tokens=18234,
                completion_tokens=2411,
                cost_usd=0.0042,
                notes=notes or [],
                validation=validation,
                problems=problems or [],
                created_at=at,
                grounding=grounding.to_json() if grounding else None,
                moderation=moderation,
            )
        )
        # The ORM's onupdate would stamp "now"; the fixture keeps its fixed time.
        session.flush()
        paper.updated_at = at


def add_dropped_review(db: Database, arxiv_id: str, *, body: str, at: datetime) -> None:
    """A failed review that an admin dropped (/drop): stored, never published."""
    with db.session() as session, session.begin():
        session.add(
            Review(
                arxiv_id=arxiv_id,
                version=1,
                markdown=body,
                body=body,
                tldr="Отклонённая рецензия.",
                reviewer="llm",
                model="gpt-4o-mini",
                prompt_version="v1",
                validation="failed",
                problems=["число 42 не найдено в тексте статьи"],
                created_at=at,
                grounding=Grounding([number(body, "42", "absent")]).to_json(),
                moderation="dropped",
            )
        )


DROPPED_BODY = "**TL;DR:** Отклонённая рецензия: точность 42 без источника.\n\n## Суть\n\nОТКЛОНЕНО.\n"


def populate(db: Database, *, hostile: bool = True) -> None:
    add_review(
        db,
        "2412.06769",
        title="Training Large Language Models to Reason in a Continuous Latent Space",
        body=COCONUT_BODY,
        at=T0,
        categories=["cs.CL", "cs.AI"],
        grounding=coconut_grounding(),
        authors=[
            "Shibo Hao",
            "Sainbayar Sukhbaatar",
            "DiJia Su",
            "Xian Li",
            "Zhiting Hu",
            "Jason Weston",
            "Yuandong Tian",
        ],
        code_url="https://github.com/facebookresearch/coconut",
        notes=["Раздел «Appendix» сокращён на 40%, чтобы статья поместилась в контекст модели."],
    )
    add_review(
        db,
        "2405.14838",
        title="From Explicit CoT to Implicit CoT: Learning to Internalize CoT Step by Step",
        body=ICOT_BODY,
        at=T0 + timedelta(days=1),
        categories=["cs.CL", "cs.LG"],
        latest_version=2,
        authors=["Yuntian Deng", "Yejin Choi", "Stuart Shieber"],
        validation="draft",
        reviewer="offline",
        notes=["Черновик без LLM: ключевые предложения статьи выбраны автоматически."],
    )
    add_review(
        db,
        "hep-th/9901001",
        title="An Old-Style Identifier Paper",
        body=ICOT_BODY,
        at=T0 - timedelta(days=40),
        categories=["hep-th"],
        withdrawn=True,
        validation="failed",
        problems=["число 99 не найдено в тексте статьи"],
        grounding=failed_grounding(),
        moderation="waiting",
        notes=["Рецензия не прошла автоматическую проверку: число 99 не найдено в тексте статьи"],
    )
    # Dropped by an admin: a newer review of Coconut (the page keeps the one above), and the
    # only review of a paper that the site therefore leaves out.
    add_dropped_review(db, "2412.06769", body=DROPPED_BODY, at=T0 + timedelta(days=3))
    add_review(
        db,
        "2501.00002",
        title="A Paper Whose Only Review Was Dropped",
        body=DROPPED_BODY,
        at=T0 + timedelta(days=3),
        validation="failed",
        moderation="dropped",
    )
    if hostile:
        add_hostile_review(db)


def add_hostile_review(db: Database) -> None:
    """A paper whose every field carries a script payload that would set window.__pwned."""
    add_review(
        db,
        "2501.00001",
        title=f'<script>{PWN}</script>Evil <img src=x onerror="{PWN}"> Title',
        body=XSS_BODY,
        at=T0 + timedelta(days=2),
        categories=["cs.CR", f'cs.XX"><script>{PWN}</script>'],
        authors=[f'<svg onload="{PWN}">', f'Mallory <img src=x onerror="{PWN}">'],
        abstract=f'Abstract <iframe src="javascript:{PWN}"></iframe> <script>{PWN}</script>',
        code_url=f"javascript:{PWN}",
        notes=[f'<b onmouseover="{PWN}">заметка</b>'],
        tldr=f'<img src=x onerror="{PWN}"> TL;DR с [ссылкой](javascript:{PWN})',
        grounding=Grounding(
            [
                number(
                    XSS_BODY,
                    "3",
                    "found",
                    after="даже",
                    source=Source(
                        f'<script>{PWN}</script> "3x" <img src=x onerror="{PWN}">', f'<svg onload="{PWN}">', 4
                    ),
                ),
                number(
                    XSS_BODY,
                    "1",
                    "wrong_arithmetic",
                    after="<circle",
                    operands=(f"<script>{PWN}</script>",),
                    detail=f"<b>{PWN}</b>",
                ),
            ]
        ),
    )


@pytest.fixture
def site_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Demo results published with the code would add demo sections to the fixture's pages.
    monkeypatch.setattr("demos.registry.PUBLISHED_DIR", tmp_path / "published")
    return Settings(
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.db'}",
        DATA_DIR=tmp_path / "data",
        SITE_DIR=tmp_path / "site",
        SITE_URL=SITE_URL,
    )


@pytest.fixture
def site_db(site_settings: Settings):  # -> Iterator[Database]
    db = Database(site_settings.DATABASE_URL)
    populate(db)
    yield db
    db.close()


def fake_entry(index: int) -> Entry:
    """An Entry without a database, for the pure page helpers."""
    at = T0 + timedelta(hours=index)
    return Entry(
        arxiv_id=f"2412.{index:05d}",
        title=f"Paper {index}",
        authors_json=["A"],
        abstract="",
        categories=("cs.CL",),
        published=at,
        updated=at,
        latest_version=1,
        withdrawn=False,
        code_url=None,
        paper_changed=at,
        review_id=index + 1,
        version=1,
        tldr="t",
        reviewer="llm",
        model="m",
        prompt_tokens=1,
        completion_tokens=1,
        notes_json=[],
        validation="passed",
        problems_json=[],
        reviewed_at=at,
        first_reviewed_at=at,
        body_chars=100,
    )


# --- reading a built site -------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag of a page as (tag, attributes), plus inline script text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def parse_tags(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def site_files(site_dir: Path, suffix: str = "") -> dict[str, Path]:
    return {
        p.relative_to(site_dir).as_posix(): p
        for p in sorted(site_dir.rglob(f"*{suffix}"))
        if p.is_file() and not p.name.startswith(".")
    }
