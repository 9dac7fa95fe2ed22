"""The fake servers answer the real clients the way arXiv and OpenAI do.

Each test drives a fake with the client the application uses — the ``arxiv`` package,
httpx, the openai SDK — so a fake that drifts from the real service fails here first.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import arxiv
import httpx
import openai
import pytest

from tests.fakes.arxiv import FakeArxiv
from tests.fakes.llm import FakeLLM, FakeReply, quoted_numbers, russian_review

COCONUT = "2412.06769"
SECTIONS = ("## Суть", "## Метод", "## Эксперименты и результаты", "## Ограничения", "## Почему это важно")


def add_coconut(fake: FakeArxiv, **overrides) -> None:
    fields = dict(
        title="Training Large Language Models to Reason\n  in a Continuous Latent Space",
        authors=["Shibo Hao", "Sainbayar Sukhbaatar", "Yuandong Tian"],
        abstract="Large language models (LLMs) are restricted to reason in the language space.",
        categories=["cs.CL", "cs.AI"],
        comment="Accepted to COLM 2025",
        doi="10.48550/arXiv.2412.06769",
        journal_ref="COLM 2025",
        published=datetime(2024, 12, 9, 18, 55, 56, tzinfo=timezone.utc),
        updated=datetime(2025, 11, 3, 10, 0, 0, tzinfo=timezone.utc),
        versions={1: b"%PDF-1.7 first", 2: b"%PDF-1.7 second"},
    )
    fake.add_paper(COCONUT, **fields | overrides)


def add_old_style(fake: FakeArxiv) -> None:
    fake.add_paper(
        "hep-th/9901001",
        title="An old paper",
        authors=["A. Physicist"],
        abstract="Strings.",
        categories=["hep-th"],
        published=datetime(1999, 1, 4, tzinfo=timezone.utc),
    )


@pytest.fixture
def arxiv_client(fake_arxiv: FakeArxiv) -> arxiv.Client:
    client = arxiv.Client(delay_seconds=0, num_retries=0)
    client.query_url_format = fake_arxiv.api_url + "?{}"
    return client


def fetch(client: arxiv.Client, *ids: str) -> list[arxiv.Result]:
    return list(client.results(arxiv.Search(id_list=list(ids))))


# --- arXiv API ----------------------------------------------------------------------


def test_id_list_parses_every_field(fake_arxiv, arxiv_client):
    add_coconut(fake_arxiv)
    add_old_style(fake_arxiv)

    latest, first, old = fetch(arxiv_client, COCONUT, COCONUT + "v1", "hep-th/9901001")

    assert latest.entry_id == "http://arxiv.org/abs/2412.06769v2"
    assert latest.get_short_id() == "2412.06769v2"
    assert latest.title == "Training Large Language Models to Reason in a Continuous Latent Space"
    assert [a.name for a in latest.authors] == ["Shibo Hao", "Sainbayar Sukhbaatar", "Yuandong Tian"]
    assert latest.summary.startswith("Large language models (LLMs)")
    assert (latest.primary_category, latest.categories) == ("cs.CL", ["cs.CL", "cs.AI"])
    assert (latest.comment, latest.journal_ref) == ("Accepted to COLM 2025", "COLM 2025")
    assert latest.doi == "10.48550/arXiv.2412.06769"
    assert latest.pdf_url == "http://arxiv.org/pdf/2412.06769v2"
    assert latest.published == datetime(2024, 12, 9, 18, 55, 56, tzinfo=timezone.utc)
    assert latest.updated == datetime(2025, 11, 3, 10, 0, 0, tzinfo=timezone.utc)
    assert first.entry_id.endswith("2412.06769v1") and first.updated == first.published
    assert old.get_short_id() == "hep-th/9901001v1"
    assert old.pdf_url == "http://arxiv.org/pdf/hep-th/9901001v1"
    assert len(fake_arxiv.requests) == 1


def test_unknown_ids_give_an_empty_feed(fake_arxiv, arxiv_client):
    add_coconut(fake_arxiv)
    assert fetch(arxiv_client, "2501.00001", COCONUT + "v9") == []
    feed = httpx.get(fake_arxiv.api_url, params={"id_list": "2501.00001"})
    assert feed.status_code == 200
    assert "<opensearch:totalResults>0</opensearch:totalResults>" in feed.text
    assert "<entry>" not in feed.text


@pytest.mark.parametrize("bad_id", ["2412.067", "hep-th/99", "HEP-TH/9901001", "abc"])
def test_malformed_id_is_http_400_with_error_entry(fake_arxiv, arxiv_client, bad_id):
    with pytest.raises(arxiv.HTTPError) as caught:
        fetch(arxiv_client, bad_id)
    assert caught.value.status == 400

    feed = httpx.get(fake_arxiv.api_url, params={"id_list": f"{COCONUT},{bad_id}"})
    assert feed.status_code == 400
    assert "<title>Error</title>" in feed.text
    assert f"<summary>incorrect id format for {bad_id}</summary>" in feed.text


def test_withdrawn_paper_has_no_pdf(fake_arxiv, arxiv_client):
    add_coconut(fake_arxiv, comment="", withdrawn=True)
    (entry,) = fetch(arxiv_client, COCONUT)
    assert entry.comment == "This paper has been withdrawn by the authors."
    assert entry.pdf_url is None
    assert httpx.get(fake_arxiv.pdf_url_template.format(id=COCONUT)).status_code == 404
    assert httpx.get(fake_arxiv.pdf_url_template.format(id=COCONUT + "v1")).status_code == 200


def add_search_corpus(fake: FakeArxiv) -> None:
    rows = [
        ("2401.00001", "Latent reasoning", ["Ann Lee"], ["cs.CL"], 1),
        ("2401.00002", "Vision transformers", ["Bob Stone"], ["cs.CV"], 2),
        ("2401.00003", "Reasoning in vision", ["Ann Lee", "Cy Dam"], ["cs.CV", "cs.CL"], 3),
        ("2401.00004", "Speech models", ["Del Maestro"], ["eess.AS"], 4),
    ]
    for arxiv_id, title, authors, cats, day in rows:
        fake.add_paper(
            arxiv_id,
            title=title,
            authors=authors,
            abstract=f"About {title}.",
            categories=cats,
            published=datetime(2024, 1, day, tzinfo=timezone.utc),
        )


@pytest.mark.parametrize(
    "query, expected",
    [
        ("cat:cs.CL", {"2401.00001", "2401.00003"}),
        ("cat:cs.*", {"2401.00001", "2401.00002", "2401.00003"}),
        ("ti:reasoning", {"2401.00001", "2401.00003"}),
        ("au:lee AND cat:cs.CV", {"2401.00003"}),
        ("au:del_maestro OR ti:vision", {"2401.00002", "2401.00003", "2401.00004"}),
        ("all:reasoning ANDNOT cat:cs.CV", {"2401.00001"}),
        ('ti:"vision transformers"', {"2401.00002"}),
    ],
)
def test_search_query(fake_arxiv, arxiv_client, query, expected):
    add_search_corpus(fake_arxiv)
    results = arxiv_client.results(arxiv.Search(query=query))
    assert {r.get_short_id().removesuffix("v1") for r in results} == expected


def test_search_sorts_and_pages(fake_arxiv):
    add_search_corpus(fake_arxiv)
    client = arxiv.Client(page_size=3, delay_seconds=0, num_retries=0)
    client.query_url_format = fake_arxiv.api_url + "?{}"
    search = arxiv.Search(query="cat:cs.* OR cat:eess.AS", max_results=None, sort_by=arxiv.SortCriterion.SubmittedDate)

    ids = [r.get_short_id() for r in client.results(search)]

    assert ids == ["2401.00004v1", "2401.00003v1", "2401.00002v1", "2401.00001v1"]
    assert [r.query["start"] for r in fake_arxiv.requests] == ["0", "3"]


@pytest.mark.parametrize("status, text", [(429, "Rate exceeded."), (503, "Service Unavailable")])
def test_api_fault_with_retry_after(fake_arxiv, status, text):
    fake_arxiv.fail_next("api", status=status, retry_after=5)
    first = httpx.get(fake_arxiv.api_url, params={"id_list": COCONUT})
    second = httpx.get(fake_arxiv.api_url, params={"id_list": COCONUT})
    assert (first.status_code, first.headers["retry-after"]) == (status, "5")
    assert first.text.startswith(text)
    assert second.status_code == 200


def test_arxiv_client_retries_a_503(fake_arxiv):
    add_coconut(fake_arxiv)
    fake_arxiv.fail_next("api", status=503)
    client = arxiv.Client(delay_seconds=0, num_retries=1)
    client.query_url_format = fake_arxiv.api_url + "?{}"
    assert len(fetch(client, COCONUT)) == 1
    assert [r.kind for r in fake_arxiv.requests] == ["api", "api"]


def test_delay_makes_a_client_time_out(fake_arxiv):
    fake_arxiv.delay_next("api", 1.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(fake_arxiv.api_url, params={"id_list": COCONUT}, timeout=0.2)
    assert httpx.get(fake_arxiv.api_url, timeout=0.5).status_code == 200


# --- PDF host ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requested, body",
    [
        (COCONUT, b"%PDF-1.7 second"),
        (COCONUT + "v1", b"%PDF-1.7 first"),
        (COCONUT + "v2.pdf", b"%PDF-1.7 second"),
    ],
)
def test_pdf_by_id_and_version(fake_arxiv, requested, body):
    add_coconut(fake_arxiv)
    response = httpx.get(fake_arxiv.pdf_url_template.format(id=requested))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == body


def test_pdf_of_old_style_id_and_request_log(fake_arxiv):
    add_old_style(fake_arxiv)
    before = time.monotonic()
    response = httpx.get(fake_arxiv.pdf_url_template.format(id="hep-th/9901001v1"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    (seen,) = fake_arxiv.requests
    assert (seen.kind, seen.path, seen.query) == ("pdf", "/pdf/hep-th/9901001v1", {})
    assert seen.at >= before
    fake_arxiv.clear_requests()
    assert fake_arxiv.requests == []


def test_unknown_pdf_is_404_html(fake_arxiv):
    response = httpx.get(fake_arxiv.pdf_url_template.format(id="2501.00001"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_truncated_pdf_breaks_the_stream(fake_arxiv):
    add_coconut(fake_arxiv, versions={1: b"x" * 300_000})
    fake_arxiv.truncate_next("pdf", 1000)
    received = 0
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("GET", fake_arxiv.pdf_url_template.format(id=COCONUT)) as response:
            assert response.headers["content-length"] == "300000"
            for chunk in response.iter_bytes():
                received += len(chunk)
    assert received == 1000


def test_served_bytes_and_huge_stream(fake_arxiv):
    fake_arxiv.serve_bytes("2501.00001v1", b"<html>captcha</html>", content_type="text/html")
    fake_arxiv.serve_stream("2501.00002", b"\0" * 65536, count=16_000)  # ~1 GB, never held

    page = httpx.get(fake_arxiv.pdf_url_template.format(id="2501.00001v1"))
    assert page.headers["content-type"] == "text/html" and page.text == "<html>captcha</html>"

    received = 0
    with httpx.stream("GET", fake_arxiv.pdf_url_template.format(id="2501.00002")) as response:
        assert int(response.headers["content-length"]) == 65536 * 16_000
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 2_000_000:
                break
    assert received > 2_000_000


def test_pdf_fault_then_success(fake_arxiv):
    add_coconut(fake_arxiv)
    fake_arxiv.fail_next("pdf", status=403, times=2)
    url = fake_arxiv.pdf_url_template.format(id=COCONUT)
    assert [httpx.get(url).status_code for _ in range(3)] == [403, 403, 200]


def test_fixture_reset_forgets_earlier_state(fake_arxiv):
    assert fake_arxiv.requests == []
    assert httpx.get(fake_arxiv.pdf_url_template.format(id=COCONUT)).status_code == 404


def test_context_manager_start_and_stop():
    with FakeArxiv() as fake:
        url = fake.url
        assert httpx.get(fake.api_url).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/api/query")


# --- OpenAI-compatible LLM ------------------------------------------------------------

PAPER_PROMPT = (
    "Title: Training Large Language Models to Reason in a Continuous Latent Space\n"
    "<paper>Coconut reaches 97.0 on ProsQA versus 77.5 for CoT, and 34.1% on GSM8k "
    "using 8.2 tokens.</paper>"
)


@pytest.fixture
async def llm(fake_llm: FakeLLM):
    async with openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


def ask(text: str = PAPER_PROMPT, **kwargs) -> dict:
    return dict(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Пиши по-русски."}, {"role": "user", "content": text}],
        **kwargs,
    )


async def test_plain_completion_is_a_grounded_review(fake_llm, llm):
    completion = await llm.chat.completions.create(**ask())

    review = completion.choices[0].message.content
    assert completion.object == "chat.completion" and completion.model == "gpt-4o-mini"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert review.startswith("**TL;DR:** ")
    assert [line for line in review.splitlines() if line.startswith("## ")] == list(SECTIONS)
    assert "«Training Large Language Models to Reason in a Continuous Latent Space»" in review
    assert {"97.0", "77.5", "34.1%"} <= set(quoted_numbers(review, limit=10))
    assert len(review) >= 2500
    letters = [c for c in review if c.isalpha()]
    assert sum("а" <= c.lower() <= "я" for c in letters) / len(letters) > 0.8


@pytest.mark.parametrize(
    "text, expected",
    [
        (PAPER_PROMPT, ["97.0", "77.5", "34.1%"]),
        ("Table 3: accuracy 12.5 and 40%, see Section 4.", ["12.5", "40%"]),
        ("no numbers here", []),
    ],
)
def test_default_review_only_quotes_numbers_of_the_paper(text, expected):
    review = russian_review({"messages": [{"role": "user", "content": text}]})
    assert quoted_numbers(review, limit=10) == expected


async def test_streamed_completion_with_usage(llm):
    stream = await llm.chat.completions.create(**ask(), stream=True, stream_options={"include_usage": True})
    parts, finish, usage = [], None, None
    async for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert "".join(parts).startswith("**TL;DR:**")
    assert finish == "stop"
    assert usage.completion_tokens > 100


async def test_responder_and_request_log(fake_llm, llm):
    fake_llm.responder = lambda request: FakeReply("Коротко.", finish_reason="stop")
    completion = await llm.chat.completions.create(**ask("hi"))
    assert completion.choices[0].message.content == "Коротко."
    (seen,) = fake_llm.requests
    assert seen.body["messages"][-1]["content"] == "hi"
    assert seen.headers["Authorization"] == "Bearer sk-test"


async def test_length_fault_and_max_tokens_cut_the_reply(fake_llm, llm):
    fake_llm.fail_next("length")
    cut = await llm.chat.completions.create(**ask())
    capped = await llm.chat.completions.create(**ask(max_tokens=50))
    assert cut.choices[0].finish_reason == "length" and len(cut.choices[0].message.content) < 1500
    assert capped.choices[0].finish_reason == "length"
    assert len(capped.choices[0].message.content) == 200


async def test_rate_limit_has_retry_after(fake_llm, llm):
    fake_llm.fail_next("rate_limit", retry_after=7)
    with pytest.raises(openai.RateLimitError) as caught:
        await llm.chat.completions.create(**ask())
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"


async def test_sdk_waits_retry_after_then_succeeds(fake_llm):
    fake_llm.fail_next("overloaded", retry_after=0.3)
    async with openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key="sk-test", max_retries=1) as client:
        completion = await client.chat.completions.create(**ask())
    assert completion.choices[0].finish_reason == "stop"
    first, second = fake_llm.requests
    assert second.at - first.at >= 0.3


async def test_exhausted_quota(fake_llm, llm):
    fake_llm.fail_next("quota")
    with pytest.raises(openai.RateLimitError) as caught:
        await llm.chat.completions.create(**ask())
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"


@pytest.mark.parametrize("kind, status", [("server", 500), ("overloaded", 503)])
async def test_server_errors(fake_llm, llm, kind, status):
    fake_llm.fail_next(kind)
    with pytest.raises(openai.InternalServerError) as caught:
        await llm.chat.completions.create(**ask())
    assert caught.value.status_code == status


async def test_context_length_exceeded():
    with FakeLLM(context_tokens=100) as fake:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as client:
            with pytest.raises(openai.BadRequestError) as caught:
                await client.chat.completions.create(**ask("слово " * 100))
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    assert "maximum context length is 100 tokens" in caught.value.message


async def test_wrong_key_is_masked(fake_llm):
    key = "sk-wrong-0123456789abcdef"
    async with openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key=key, max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.chat.completions.create(**ask())
    assert caught.value.code == "invalid_api_key"
    assert key not in caught.value.message and "cdef" in caught.value.message


def test_missing_key_is_401(fake_llm):
    response = httpx.post(fake_llm.base_url + "/chat/completions", json=ask())
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You didn't provide an API key")


async def test_hang_times_out_the_client(fake_llm, llm):
    fake_llm.fail_next("hang")
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await llm.chat.completions.create(**ask(), timeout=0.3)
    assert time.monotonic() - started < 2


async def test_latency_and_models(fake_llm, llm):
    fake_llm.latency_s = 0.2
    started = time.monotonic()
    await llm.chat.completions.create(**ask("hi"))
    assert time.monotonic() - started >= 0.2
    models = await llm.models.list()
    assert [m.id for m in models.data] == ["gpt-4o-mini"]


def test_stop_is_quick_while_a_request_hangs():
    fake = FakeLLM(api_key=None)
    fake.start()
    fake.fail_next("hang")
    url = fake.base_url + "/chat/completions"
    worker = threading.Thread(target=_post_quietly, args=(url, ask()), daemon=True)
    worker.start()
    while not fake.requests:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.5
    worker.join(timeout=2)


def _post_quietly(url: str, body: dict) -> None:
    try:
        httpx.post(url, json=body, timeout=30)
    except httpx.HTTPError:
        pass  # the server went away mid-request: that is the point
