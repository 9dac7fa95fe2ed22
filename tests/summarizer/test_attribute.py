"""Attribution of a review's numbers to the paper: written forms, non-evidence, claims, derived numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from paperdigest.records import PaperMeta, Section
from summarizer.attribute import attribute
from summarizer.evidence import Evidence
from summarizer.grounding import ABSENT, DERIVED, FOUND, MISMATCH, WRONG_ARITHMETIC, Grounding
from summarizer.numbers import PERCENT, POINTS, TIMES, scan
from summarizer.vocabulary import find, lookup, terms

PAPER = [
    Section("", "front", "Deep Widgets\n\nAnn Lee 1 , Bo Chen 2\n\n1 Widget Lab 2 Gadget Inc."),
    Section("Abstract", "abstract", "Our model reaches 28.4 BLEU on WMT 2014 and trains in 3.5 days on 8 GPUs."),
    Section(
        "4 Results",
        "results",
        "Table 2 shows the results. WidgetNet obtains 97.0% accuracy on ProsQA, while the CoT baseline "
        "obtains 77.5%. Training used 128k tokens per batch and 4.5 million sentence pairs. "
        "The big model has 213 million parameters and is 2.7x faster than GNMT. It took 12 hours "
        "on 8 P100 GPUs. The training cost is 3.3 · 1018 FLOPs. The dataset has 33,511 queries and "
        "1,056,768 trainable parameters.\n\n"
        "Model BLEU ROUGE WidgetNet 41.8 53.73 BaseNet 26.36 25.17 TinyNet 20.1 18.5\n\n"
        "Table 3: Results on the test set.",
    ),
    Section(
        "5 Analysis",
        "discussion",
        "As shown in Figure 17 and Section 14, see Eq. (13), the gain is stable [27, 31]. "
        "Prior work (Vaswani et al., 2017) reported 3.1. 0 20 40 60 80 100\n\n"
        "It scales well33 across tasks.\n\n29. The last contribution is a benchmark.",
    ),
    Section("References", "references", "[1] A. Author. Widgets. In Proc. 2019, pages 55-89."),
]
PAGES = [
    "Deep Widgets Ann Lee Abstract Our model reaches 28.4 BLEU on WMT 2014",
    "4 Results Table 2 shows the results. WidgetNet obtains 97.0% accuracy on ProsQA, while the CoT baseline "
    "obtains 77.5%. Training used 128k tokens",
    "Model BLEU ROUGE WidgetNet 41.8 53.73 BaseNet 26.36 25.17",
]


@pytest.fixture(scope="module")
def evidence() -> Evidence:
    return Evidence.from_paper(None, PAPER, PAGES)


def statuses(review: str, evidence: Evidence) -> dict[str, str]:
    return {n.text: n.status for n in attribute(review, evidence).numbers}


@pytest.mark.parametrize(
    ("raw", "value", "unit"),
    [
        ("28,4", "28.4", ""),
        ("28.4", "28.4", ""),
        ("51\u00a0697", "51697", ""),
        ("51\u202f697", "51697", ""),
        ("128k", "128000", ""),
        ("128 тыс.", "128000", ""),
        ("4,5 млн", "4500000", ""),
        ("7B", "7000000000", ""),
        ("2,7x", "2.7", TIMES),
        ("2.7×", "2.7", TIMES),
        ("в 2,7 раза", "2.7", TIMES),
        ("63.4%", "63.4", PERCENT),
        ("10,7 п. п.", "10.7", POINTS),
        ("1,056,768", "1056768", ""),
        ("1e-4", "0.0001", ""),
    ],
)
def test_written_forms_read_as_values(raw: str, value: str, unit: str) -> None:
    numbers = scan(raw)
    assert numbers, raw
    assert Decimal(value) in numbers[-1].values and numbers[-1].unit == unit


def test_a_decimal_comma_is_not_a_thousands_separator() -> None:
    assert scan("в 3,5 раза")[0].values == {Decimal("3.5")}  # never 35
    assert scan("33,511")[0].values == {Decimal("33.511"), Decimal("33511")}  # three digits: either


def test_a_range_carries_its_unit_back() -> None:
    first, second = scan("от 3.7–6.5%")
    assert first.unit == second.unit == PERCENT


@pytest.mark.parametrize(
    "quoted",
    [
        "28,4 BLEU",
        "97.0%",
        "97,0 %",
        "97%",
        "77,5 %",
        "128 тыс. токенов",
        "128k",
        "4,5 млн пар",
        "213 млн параметров",
        "в 2,7 раза быстрее",
        "2,7x",
        "$3{,}3 \\cdot 10^{18}$ FLOPs",
        "33 511 запросов",
        "33,511",
        "0.970 accuracy",
        "3,5 дня",
        "12 часов",
        "1\u00a0056\u00a0768 параметров",
        "41.8 у WidgetNet",
    ],
)
def test_paper_values_are_found_in_every_written_form(quoted: str, evidence: Evidence) -> None:
    grounding = attribute(f"Результат: {quoted}.", evidence)
    assert grounding.numbers and grounding.passed, [(n.text, n.status, n.detail) for n in grounding.numbers]


@pytest.mark.parametrize(
    "invented",
    [
        "на 47,3 %",
        "$27{,}9$ BLEU",
        "в 6,5x быстрее",
        "в 3,5 раза быстрее",
        "OPT 13B",
        "около 18 часов",
        "98.3%",
    ],
)
def test_invented_numbers_are_caught_in_every_written_form(invented: str, evidence: Evidence) -> None:
    grounding = attribute(f"Модель WidgetNet показывает {invented}.", evidence)
    assert grounding.suspects, [(n.text, n.status) for n in grounding.numbers]
    assert grounding.suspects[0].status == ABSENT


@pytest.mark.parametrize(
    "label",
    [
        "17",  # Figure 17
        "14",  # Section 14
        "13",  # Eq. (13)
        "27",  # reference [27, 31]
        "2019",  # a year in the references, which are not evidence
        "55",  # a page range in the references
        "80",  # an axis tick of 0 20 40 60 80 100
        "33",  # a footnote marker glued to a word
        "29",  # a list marker
    ],
)
def test_labels_markers_references_and_ticks_are_not_evidence(label: str, evidence: Evidence) -> None:
    assert statuses(f"Модель WidgetNet даёт {label} баллов.", evidence) == {label: ABSENT}


def test_small_counts_in_prose_are_not_checked_but_small_results_are(evidence: Evidence) -> None:
    checked = statuses("Авторы сравнивают две модели на 3 датасетах; ускорение в 5 раз.", evidence)
    assert checked == {"5": ABSENT}  # «в 5 раз» is a result the paper does not give; «3 датасета» a count


def test_section_and_table_numbers_in_the_review_are_not_checked(evidence: Evidence) -> None:
    assert statuses("См. Table 3 и раздел 6.1, рис. 4.", evidence) == {}


def test_percent_scales_only_when_one_side_says_percent() -> None:
    paper = Evidence.from_text("The model reaches an accuracy of 0.945 and a recall of 62.")
    assert statuses("точность 94.5%", paper) == {"94.5%": FOUND}
    assert statuses("recall 0.62", paper) == {"0.62": ABSENT}


def test_rounding_down_the_paper_is_fine_but_not_the_reverse() -> None:
    paper = Evidence.from_text("It scores 97.03 points and 41.8 BLEU.")
    assert statuses("97.0 баллов и 41.83 BLEU", paper) == {"97.0": FOUND, "41.83": ABSENT}


def test_found_numbers_carry_their_source_with_section_and_page(evidence: Evidence) -> None:
    (number,) = attribute("WidgetNet: 97.0% на ProsQA.", evidence).numbers
    assert number.status == FOUND and "97.0% accuracy on ProsQA" in number.source.quote
    assert number.source.section == "4 Results" and number.source.page == 2


def test_a_table_row_is_the_source_of_its_values(evidence: Evidence) -> None:
    (number,) = attribute("BaseNet получает ROUGE 25.17.", evidence).numbers
    assert number.status == FOUND and number.source.quote.startswith("BaseNet") and "53.73" not in number.source.quote


def test_a_real_number_given_to_another_model_is_a_mismatch(evidence: Evidence) -> None:
    (number,) = attribute("ROUGE 25.17 у TinyNet.", evidence).numbers  # 25.17 is BaseNet's; TinyNet has 18.5
    assert number.status == MISMATCH and "TinyNet" in number.detail


def test_a_word_tied_to_another_value_in_the_papers_sentence_is_a_mismatch() -> None:
    paper = Evidence.from_text(
        "We split all cases into train (70%, 3177 samples), Dev (10%, 454), and Test (30%, 908)."
    )
    assert statuses("Разбиение: 3177 train, 454 dev, 908 test.", paper) == {"3177": FOUND, "454": FOUND, "908": FOUND}
    swapped = attribute("Разбиение: 3177 train, 454 dev, 3177 test.", paper).numbers
    assert [n.status for n in swapped] == [FOUND, FOUND, MISMATCH] and "908" in swapped[2].detail


def test_a_value_from_another_datasets_table_is_a_mismatch() -> None:
    paper = Evidence.from_paper(
        None,
        [
            Section(
                "4 Results",
                "results",
                "ALL SEQ Q1 TapNet 70.6 43.9 88.1 TabNet 72.4 47.5 89.0 BaseNet 61.1 31.3 80.2 "
                "Table 1: Results on SQA test set.\n\n"
                "Dev Test Drop TapNet 81.0 80.6 5.2 TabNet 81.7 81.6 0.1 BaseNet 77.2 76.9 6.3 "
                "Table 2: Results on TabFact.",
            )
        ],
    )
    review = "- **TabFact:** TabNet — 81.6 против 80.6 у TapNet; после пертурбации TapNet даёт 70.6.\n"
    assert statuses(review, paper) == {"81.6": FOUND, "80.6": FOUND, "70.6": MISMATCH}
    assert statuses(review.replace("TabFact", "SQA"), paper)["70.6"] == FOUND


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        # the sentence's model before a list of metric values is the owner of each («PRIMERA — R-1 …, R-2 …»)
        ("WidgetNet — BLEU 41.8, ROUGE 25.17.", {"41.8": FOUND, "25.17": MISMATCH}),
        (
            "WidgetNet — BLEU 41.8, ROUGE 53.73; BaseNet — 26.36 / 25.17.",
            {"41.8": FOUND, "53.73": FOUND, "26.36": FOUND, "25.17": FOUND},
        ),
        # the far side of a comparison is somebody else's, whoever the sentence began with
        ("WidgetNet — ROUGE 53.73 против 25.17.", {"53.73": FOUND, "25.17": FOUND}),
        # a bullet's bold lead names the model when the clause names nobody
        ("- **TinyNet:** BLEU 20.1; ROUGE 25.17.", {"20.1": FOUND, "25.17": MISMATCH}),
        ("- **TinyNet:** BLEU 20.1; ROUGE 18.5.", {"20.1": FOUND, "18.5": FOUND}),
    ],
)
def test_a_value_given_to_the_model_the_sentence_is_about_is_checked_against_its_row(
    review: str, expected: dict[str, str], evidence: Evidence
) -> None:
    assert statuses(review, evidence) == expected


def test_a_clause_that_names_nobody_is_about_the_papers_own_method() -> None:
    TABLE = "Model BLEU ROUGE BaseNet 26.36 25.17 TinyNet 20.1 18.5 WidgetNet 41.8 53.73\n\nTable 3: Results."
    meta = PaperMeta("2401.00001", 1, "WidgetNet: Deep Widgets", [], "")
    paper = Evidence.from_paper(meta, [Section("4 Results", "results", TABLE)])
    assert statuses("Модель получает SOTA (BLEU 26.36).", paper) == {"26.36": MISMATCH}
    assert statuses("Модель получает SOTA (BLEU 41.8).", paper) == {"41.8": FOUND}
    assert statuses("Модель получает SOTA: BLEU 41.8 против 26.36.", paper) == {"41.8": FOUND, "26.36": FOUND}
    untitled = Evidence.from_paper(None, [Section("4 Results", "results", TABLE)])
    assert statuses("Модель получает SOTA (BLEU 26.36).", untitled) == {"26.36": FOUND}  # no own name known


def test_a_table_printed_one_row_per_paragraph_is_one_table() -> None:
    paper = Evidence.from_text(
        "Method Precision Recall F1 GPT-4o 0.96 0.69 0.80\n\nQwen-2.5-7b 1.0 0.38 0.55\n\n"
        "OurSelector 0.95 0.78 0.85 Table 7: Selector Evaluation."
    )
    rows = [u for i, u in enumerate(paper.units) if u.is_row and paper.numbers_in(i)]
    assert len(rows) == 3 and len({u.table for u in rows}) == 1 and rows[2].label == "ourselector"
    assert statuses("- **OurSelector:** F1 0.85 против 0.80 у GPT-4o; precision 0.96.", paper)["0.96"] == MISMATCH
    assert statuses("- **OurSelector:** F1 0.85 против 0.80 у GPT-4o; precision 0.95.", paper)["0.95"] == FOUND


def test_a_value_under_another_dataset_of_a_shared_header_is_a_mismatch() -> None:
    paper = Evidence.from_paper(
        None,
        [
            Section(
                "5 Results",
                "results",
                "Model Recall Precision WidgetNet 0.4834 0.1448 BaseNet 0.3873 0.1457 TinyNet 0.1130 0.0970 "
                "Table 5: Results on AlphaSet.\n\n"
                "Model Recall Precision WidgetNet 0.6111 0.5146 BaseNet 0.3075 0.4721 TinyNet 0.2809 0.2155 "
                "Table 6: Results on BetaSet.\n\n"
                "Method AlphaSet BetaSet Recall Precision Recall Precision NoExpand 0.2536 0.1445 0.2890 0.6738 "
                "NoRL 0.4210 0.1476 0.4115 0.5155 WidgetNet 0.4834 0.1448 0.6111 0.5146",
            )
        ],
    )
    assert statuses("- **AlphaSet:** WidgetNet — recall 0.6111.", paper) == {"0.6111": MISMATCH}
    assert statuses("- **BetaSet:** WidgetNet — recall 0.6111.", paper) == {"0.6111": FOUND}
    assert statuses("- **AlphaSet:** без RL recall 0.4210.", paper) == {"0.4210": FOUND}
    assert statuses("- **AlphaSet:** без RL recall 0.4115.", paper) == {"0.4115": MISMATCH}


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        ("Лучшая модель даёт около 2,2 ложной тревоги на одну истинную.", {"2,2": MISMATCH}),
        ("Лучшая модель даёт около 1,4 ложной тревоги на одну истинную, базовая — 2,2.", {"1,4": FOUND, "2,2": FOUND}),
        ("Базовая модель даёт 2,2 ложной тревоги.", {"2,2": FOUND}),
    ],
)
def test_words_the_papers_sentence_ties_to_another_value_make_a_mismatch(review: str, expected: dict[str, str]) -> None:
    paper = Evidence.from_text(
        "At 4 hours prior to sepsis, our best model only had about 1.4 false alarms per true "
        "alarm; compare this to the 2.2 false alarms the base model has."
    )
    assert statuses(review, paper) == expected


@pytest.mark.parametrize(
    ("paper_text", "review"),
    [
        ("We used the Adam optimizer with β1 = 0.9, β2 = 0.98 and ε = 1e-9.", "Adam с $\\beta_2 = 0{,}98$."),  # a list
        ("Drops are 4% - 6% for TAPAS models, and 3.7% for the others.", "модели TAPAS теряют 6% точности"),  # a range
    ],
)
def test_a_word_before_a_list_or_range_goes_with_all_its_values(paper_text: str, review: str) -> None:
    grounding = attribute(review, Evidence.from_text(paper_text))
    assert grounding.numbers and grounding.passed, [(n.text, n.status, n.detail) for n in grounding.numbers]


def test_one_paper_value_given_to_two_names_in_one_sentence_is_a_mismatch() -> None:
    paper = Evidence.from_text(
        "F1 Recall Percentage (%) 25.88% 66.65% 15.12% 58.56% 22.79% 62.59% 12.50% 10.25% "
        "9.75% of the three systems: AutoGen, AutoGen without retrieval and DPR."
    )
    swapped = attribute("AutoGen получает F1 25.88% и recall 62.59% против 22.79% и 62.59% у DPR.", paper).numbers
    assert [n.status for n in swapped] == [FOUND, MISMATCH, FOUND, MISMATCH] and "both" in swapped[1].detail
    assert attribute("AutoGen получает F1 25.88% и recall 66.65% против 22.79% и 62.59% у DPR.", paper).passed
    years = Evidence.from_text("Similar approaches exist (Kumar et al. 2020; Goyal and Durrett 2020).")
    assert attribute("Похожие подходы: Kumar 2020 и Durrett 2020.", years).passed  # whole numbers coincide


@pytest.mark.parametrize(
    ("russian", "english"),
    [
        ("полнота", "recall"),
        ("точность", "precision"),
        ("доля", "rate"),
        ("ложной", "false"),
        ("тревоги", "alarm"),
        ("тестового", "test"),
        ("обучающей", "train"),
        ("лучшая", "best"),
        ("сепсиса", "sepsis"),
        ("агентов", "agent"),
    ],
)
def test_review_words_are_looked_up_in_the_papers_english(russian: str, english: str) -> None:
    table = lookup(terms(russian))
    assert find(table, english) or find(table, english + "s"), table


def test_a_value_stated_with_another_unit_is_not_attributed(evidence: Evidence) -> None:
    assert statuses("обучение шло 8 дней", evidence) == {}  # 8 is a small count
    assert statuses("обучение шло 97 часов", evidence) == {"97": ABSENT}  # the paper's 97 is an accuracy


@pytest.mark.parametrize(
    ("sentence", "status"),
    [
        ("WidgetNet — 97.0% против 77.5%, то есть разрыв 19,5 п. п.", DERIVED),
        ("WidgetNet — 97.0% против 77.5%, то есть разрыв 18,5 п. п.", WRONG_ARITHMETIC),
        ("BLEU 41.8 против 26.36 — примерно в 1,6 раза выше.", DERIVED),
        ("BLEU 41.8 против 26.36 — в 1,9 раза выше.", WRONG_ARITHMETIC),
        ("BaseNet: 26.36 и 25.17, итого 51,53.", DERIVED),
    ],
)
def test_derived_numbers_are_checked_against_their_operands(sentence: str, status: str, evidence: Evidence) -> None:
    checks = attribute(sentence, evidence).numbers
    assert checks[-1].status == status, [(n.text, n.status, n.detail) for n in checks]
    if status == DERIVED:
        assert len(checks[-1].operands) == 2


def test_a_number_inside_a_formula_is_anchored_after_the_formula(evidence: Evidence) -> None:
    review = "Затраты $3{,}3 \\cdot 10^{18}$ FLOPs."
    (number,) = attribute(review, evidence).numbers
    assert review[number.anchor - 1] == "$" and number.status == FOUND


def test_suspects_are_named_in_plain_text_for_readers(evidence: Evidence) -> None:
    grounding = attribute("Модель даёт $27{,}9$ BLEU и $4{,}4 \\cdot 10^{18}$ FLOPs.", evidence)
    assert [n.plain for n in grounding.suspects] == ["27,9", "4,4 · 10^18"]
    assert "27,9, 4,4 · 10^18" in grounding.warning_ru() and "{" not in grounding.warning_ru()


def test_the_record_survives_storage_and_counts_for_the_header(evidence: Evidence) -> None:
    grounding = attribute("WidgetNet: 97.0% и 98.3% на ProsQA.", evidence)
    again = Grounding.from_json(grounding.to_json())
    assert again == grounding
    assert again.header_line() == "Проверено по тексту статьи: 1 из 2 чисел"
    assert "98.3%" in again.warning_ru() and "97.0%" not in again.warning_ru()


DEMO_PAPERS = sorted((Path(__file__).resolve().parents[2] / "paperdigest" / "sample" / "papers").glob("*.json"))


@pytest.mark.parametrize("path", DEMO_PAPERS, ids=[p.stem for p in DEMO_PAPERS])
def test_every_sentence_of_a_paper_quoted_as_it_is_is_confirmed(path: Path) -> None:
    """A review that copies the paper's own sentences (the offline draft does) has nothing suspect."""
    data = json.loads(path.read_text(encoding="utf-8"))
    sections = [Section(title, "results", text) for title, text in data["sections"]]
    evidence = Evidence.from_paper(None, sections)
    sentences = [u.text for u in evidence.units if not u.is_row and evidence.numbers_in(evidence.units.index(u))]
    review = "\n".join(f"- {sentence}" for sentence in sentences)
    grounding = attribute(review, evidence)
    assert grounding.checked > 10
    assert grounding.suspects == [], [(n.text, n.status, n.detail, n.sentence[:80]) for n in grounding.suspects]
