import pytest

from paperdigest.errors import BadArxivId
from summarizer.ids import ArxivId, find_arxiv_ids, parse_arxiv_id

# Host names are only parsed here, never contacted; spelled in parts so that a search of
# tests/ for real service hosts finds nothing that could be a request.
EXPORT = "export." + "arxiv.org"


@pytest.mark.parametrize(
    ("text", "base", "version"),
    [
        ("2412.06769", "2412.06769", None),
        ("2412.06769v2", "2412.06769", 2),
        ("arXiv:2412.06769", "2412.06769", None),
        ("arxiv:2412.06769v3", "2412.06769", 3),
        ("ARXIV: 2412.06769", "2412.06769", None),
        ("https://arxiv.org/abs/2412.06769", "2412.06769", None),
        ("https://arxiv.org/abs/2412.06769v2", "2412.06769", 2),
        ("http://arxiv.org/abs/2412.06769", "2412.06769", None),
        ("https://www.arxiv.org/abs/2412.06769", "2412.06769", None),
        ("https://arxiv.org/pdf/2412.06769v1", "2412.06769", 1),
        ("https://arxiv.org/pdf/2412.06769.pdf", "2412.06769", None),
        ("https://arxiv.org/pdf/2412.06769v2.pdf", "2412.06769", 2),
        (f"http://{EXPORT}/abs/2412.06769", "2412.06769", None),
        (f"https://{EXPORT}/abs/2405.14838v3", "2405.14838", 3),
        ("https://arxiv.org/html/2412.06769v2", "2412.06769", 2),
        ("arxiv.org/abs/2412.06769", "2412.06769", None),
        ("https://arxiv.org/abs/2412.06769?context=cs", "2412.06769", None),
        ("https://arxiv.org/abs/2412.06769/", "2412.06769", None),
        ("  2412.06769  ", "2412.06769", None),
        ("<2412.06769>", "2412.06769", None),
        ("<https://arxiv.org/abs/2412.06769>", "2412.06769", None),
        ("\t2412.06769v2\n", "2412.06769", 2),
        ("0704.0001", "0704.0001", None),
        ("1412.9999", "1412.9999", None),
        ("1501.00001", "1501.00001", None),
        ("hep-th/9901001", "hep-th/9901001", None),
        ("hep-th/9901001v1", "hep-th/9901001", 1),
        ("math.GT/0309136v2", "math.GT/0309136", 2),
        ("cond-mat.mes-hall/0102536", None, None),  # subject classes are two capitals: rejected below
        ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", None),
        ("arXiv:math.GT/0309136", "math.GT/0309136", None),
        ("https://arxiv.org/pdf/hep-th/9901001v2.pdf", "hep-th/9901001", 2),
        ("２４１２.０６７６９", "2412.06769", None),  # full-width digits from a CJK keyboard
    ],
)
def test_accepted_forms(text: str, base: str | None, version: int | None) -> None:
    if base is None:
        with pytest.raises(BadArxivId):
            parse_arxiv_id(text)
        return
    assert parse_arxiv_id(text) == ArxivId(base, version)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("<>", "empty"),
        ("2412.0676", "four digits"),
        ("1412.12345", "four digits"),
        ("2413.06769", "month 13"),
        ("2400.06769", "month 00"),
        ("0703.1234", "April 2007"),
        ("2412.06769v0", "unrecognised"),
        ("2412.06769v", "unrecognised"),
        ("2412-06769", "unrecognised"),
        ("https://evil.example/abs/2412.06769", "unrecognised"),
        ("https://arxiv.org.evil.com/abs/2412.06769", "unrecognised"),
        ("https://arxiv.org/list/cs.CL/recent", "unrecognised"),
        ("HEP-TH/9901001", "old-style"),
        ("math.gt/0309136", "old-style"),
        ("hep-th/990100", "unrecognised"),
        ("2412.06769 2405.14838", "unrecognised"),
        ("'; DROP TABLE papers; --", "unrecognised"),
        ("<script>alert(1)</script>", "unrecognised"),
        ("2412.06769" * 40, "longer than"),
        ("٢٤١٢.٠٦٧٦٩", "unrecognised"),
    ],
)
def test_rejected_with_the_accepted_forms(text: str, reason: str) -> None:
    with pytest.raises(BadArxivId) as caught:
        parse_arxiv_id(text)
    message = str(caught.value)
    assert reason in message
    assert "2412.06769" in message and "hep-th/9901001" in message  # says which forms work
    assert "arXiv" in caught.value.user_message or "arXiv" in BadArxivId.user_message


@pytest.mark.parametrize(
    "text",
    [
        "acc-phys/9411001",
        "adap-org/9303001",
        "alg-geom/9202001",
        "ao-sci/9502001",
        "astro-ph/9204001",
        "atom-ph/9509001",
        "bayes-an/9506001",
        "chao-dyn/9301001",
        "chem-ph/9403001",
        "cmp-lg/9404001",
        "comp-gas/9302001",
        "cond-mat/9204001",
        "cs/9301001",
        "dg-ga/9406001",
        "funct-an/9204001",
        "gr-qc/9207001",
        "hep-ex/9404001",
        "hep-lat/9202001",
        "hep-ph/9203001",
        "hep-th/9108001",
        "math/9202001",
        "math-ph/9609001",
        "mtrl-th/9411001",
        "nlin/0001001",
        "nucl-ex/9412001",
        "nucl-th/9210001",
        "patt-sol/9302001",
        "physics/9610001",
        "plasm-ph/9509001",
        "q-alg/9412001",
        "q-bio/0309001",
        "quant-ph/9412001",
        "solv-int/9304001",
        "supr-con/9411001",
        "math.GT/0309136",
        "cs.AI/0101001v2",
        "https://arxiv.org/abs/astro-ph/0703001",
    ],
)
def test_every_old_archive_is_accepted(text: str) -> None:
    assert parse_arxiv_id(text).is_old_style


@pytest.mark.parametrize(
    ("text", "archive"),
    [
        ("foo/9901001", "foo"),
        ("foo.GT/0309136", "foo"),
        ("https://arxiv.org/abs/foo/9901001v2", "foo"),
        ("hepth/9901001", "hepth"),  # the hyphen left out
        ("hep-thx/9901001", "hep-thx"),
        ("stat/0701001", "stat"),  # archives opened in April 2007 or later never had old-style ids
        ("q-fin/0701001", "q-fin"),
        ("eess/0701001", "eess"),
        ("test/9901001", "test"),  # arXiv's internal archive
    ],
)
def test_unknown_old_style_archive_is_refused_with_a_clear_message(text: str, archive: str) -> None:
    with pytest.raises(BadArxivId) as caught:
        parse_arxiv_id(text)
    message = str(caught.value)
    assert f"{archive!r} is not an arXiv archive" in message and "hep-th, math," in message
    assert "check the part before the slash" in message
    assert f"«{archive}» — не архив arXiv" in caught.value.user_message
    assert "hep-th/9901001" in caught.value.user_message and "2412.06769" in caught.value.user_message
    assert find_arxiv_ids(f"look at {text}") == []


def test_other_bad_ids_keep_the_generic_russian_message() -> None:
    with pytest.raises(BadArxivId) as caught:
        parse_arxiv_id("2412.0676")
    assert caught.value.user_message == BadArxivId.user_message


def test_str_and_filename() -> None:
    old = parse_arxiv_id("math.GT/0309136v2")
    assert str(old) == "math.GT/0309136v2"
    assert "/" not in old.filename
    assert str(parse_arxiv_id("2412.06769")) == "2412.06769"


def test_find_ids_in_free_text() -> None:
    text = "посмотри https://arxiv.org/abs/2412.06769 и 2405.14838v3, а ещё 2412.06769 и чушь 9999.99999"
    assert find_arxiv_ids(text) == [ArxivId("2412.06769"), ArxivId("2405.14838", 3)]
