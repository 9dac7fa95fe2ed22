"""Make realistic single-column paper PDFs with fpdf2, for tests and the offline demo.

    write_paper_pdf("Coconut", ["A. Author"], [("1 Introduction", "..."), ("3.1 Setup", "...")],
                    abstract="...", references=["Vaswani et al. Attention ..."],
                    appendix=[("A Proofs", "...")]) -> bytes

The layout is that of an ordinary preprint: title, authors, "Abstract", numbered headings
as given (bold, smaller for subsections), justified paragraphs (blank lines in the
section text separate them), a "References" heading with numbered entries, appendix
headings after it, and a page number in the footer.

fpdf2's core fonts only know latin-1, so `to_latin1` transliterates everything else
("—" → "-", "α" → "alpha", "≤" → "<="); nothing a caller passes can make it crash. The
creation date is fixed, so the same input always gives the same bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

from fpdf import FPDF

CREATION_DATE = datetime(2024, 1, 1, tzinfo=UTC)

_REPLACEMENTS = {
    "—": "-", "–": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-", "“": '"', "”": '"', "„": '"',
    "‘": "'", "’": "'", "‚": "'", "…": "...", "•": "*", "∗": "*", "→": "->", "←": "<-",
    "↔": "<->", "⇒": "=>", "⇐": "<=", "⇔": "<=>", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~",
    "∼": "~", "∞": "inf", "∈": " in ", "∉": " not in ", "∑": "sum", "∏": "prod", "√": "sqrt",
    "∂": "d", "∇": "grad", "∀": "for all", "∃": "exists", "∧": "and", "∨": "or",
    "€": "EUR", "™": "(TM)", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "œ": "oe",
    "Œ": "OE", "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl",
    "\u2009": " ", "\u2002": " ", "\u2003": " ", "\u202f": " ", "\u200b": "", "\ufeff": "",
}  # fmt: skip


def _char_to_latin1(char: str) -> str:
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    name = unicodedata.name(char, "")
    if name.startswith("GREEK SMALL LETTER "):
        return name.removeprefix("GREEK SMALL LETTER ").split()[0].lower()
    if name.startswith("GREEK CAPITAL LETTER "):
        return name.removeprefix("GREEK CAPITAL LETTER ").split()[0].capitalize()
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        return base.encode("latin-1").decode("latin-1") if base else "?"
    except UnicodeEncodeError:
        return "?"


def to_latin1(text: str) -> str:
    """`text` with every character outside latin-1 transliterated; control characters dropped."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char == "\n" or (" " <= char <= "~"):
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cs", "Cn", "Co", "Mn", "Me", "Cf"):
            continue
        elif ord(char) < 256:
            out.append(char)
        else:
            out.append(_char_to_latin1(char))
    return "".join(out)


class _Paper(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Times", size=9)
        self.cell(0, 10, str(self.page_no()), align="C")


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", to_latin1(text)) if p.strip()]


def _heading(pdf: FPDF, title: str) -> None:
    depth = len(title.split(" ", 1)[0].rstrip(".").split(".")) if title[:1].isalnum() else 1
    pdf.ln(3)
    pdf.set_font("Times", "B", 13 if depth == 1 else 11)
    pdf.multi_cell(0, 6, to_latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _body(pdf: FPDF, text: str) -> None:
    pdf.set_font("Times", size=10.5)
    for paragraph in _paragraphs(text):
        pdf.multi_cell(0, 5, paragraph, align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)


def _front(pdf: FPDF, title: str, authors: list[str], abstract: str | None) -> None:
    pdf.set_font("Times", "B", 17)
    pdf.multi_cell(0, 8, to_latin1(title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Times", size=11)
    pdf.multi_cell(0, 6, to_latin1(", ".join(authors)), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if abstract is None:
        return
    pdf.set_font("Times", "B", 12)
    pdf.cell(0, 6, "Abstract", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_left_margin(pdf.l_margin + 12)
    pdf.set_right_margin(pdf.r_margin + 12)
    pdf.set_x(pdf.l_margin)
    _body(pdf, abstract)
    pdf.set_left_margin(pdf.l_margin - 12)
    pdf.set_right_margin(pdf.r_margin - 12)
    pdf.set_x(pdf.l_margin)


def _references(pdf: FPDF, references: list[str]) -> None:
    _heading(pdf, "References")
    pdf.set_font("Times", size=9.5)
    for n, entry in enumerate(references, 1):
        entry = " ".join(to_latin1(entry).split())
        if not re.match(r"\[\d+\]", entry):  # number it unless the caller did
            entry = f"[{n}] {entry}"
        pdf.multi_cell(0, 4.5, entry, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)


def build_paper_pdf(
    title: str,
    authors: list[str],
    sections: list[tuple[str, str]],
    *,
    abstract: str | None = None,
    references: Sequence[str] = (),
    appendix: Sequence[tuple[str, str]] = (),
) -> FPDF:
    """The paper as an fpdf2 document, for callers that need to change it (e.g. encrypt it)."""
    pdf = _Paper(format="A4")
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(True, margin=22)
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_title(to_latin1(title))
    pdf.set_author(to_latin1(", ".join(authors)))
    pdf.set_creator("paperdigest demo")
    pdf.add_page()
    _front(pdf, title, authors, abstract)
    for heading, text in sections:
        _heading(pdf, heading)
        _body(pdf, text)
    if references:
        _references(pdf, list(references))
    for heading, text in appendix:
        _heading(pdf, heading)
        _body(pdf, text)
    return pdf


def write_paper_pdf(
    title: str,
    authors: list[str],
    sections: list[tuple[str, str]],
    *,
    abstract: str | None = None,
    references: Sequence[str] = (),
    appendix: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A paper PDF: the same input always gives the same bytes."""
    pdf = build_paper_pdf(
        title,
        authors,
        sections,
        abstract=abstract,
        references=references,
        appendix=appendix,
    )
    return bytes(pdf.output())


# A small made-up paper (original text) for the offline demo and for tests.
SAMPLE_TITLE = "Thinking Without Words: A Small Study of Latent Reasoning Steps"
SAMPLE_AUTHORS = ["Ada Example", "Boris Placeholder", "Chen Sample"]
SAMPLE_ABSTRACT = (
    "Language models usually reason by writing out every intermediate step as text. We study a "
    "variant in which some of those steps stay inside the model as hidden vectors and are fed back "
    "as the next input embedding. On three toy reasoning tasks the latent variant needs fewer "
    "generated tokens and keeps most of the accuracy — in one planning task it is even better, "
    "because a hidden state can hold several candidate paths at once (a breadth-first search, "
    "α ≈ 0.7 of the time)."
)
SAMPLE_SECTIONS = [
    (
        "1 Introduction",
        (
            "Chain-of-thought prompting made language models write down their intermediate reasoning. "
            "The written steps help, but most of the tokens serve fluency rather than the computation "
            "itself, and each token commits the model to one path.\n\n"
            "We ask what happens when a model may skip the words. Our contributions are a simple training "
            "curriculum, a comparison on arithmetic and planning tasks, and an analysis of what the hidden "
            "steps encode."
        ),
    ),
    (
        "2 Related Work",
        (
            "Earlier work distilled explicit reasoning into the weights of a model, removing the steps "
            "altogether. Other studies added pause tokens that give the network extra computation without "
            "extra meaning. Our approach sits between the two: the steps exist, but they are vectors."
        ),
    ),
    (
        "3 Method",
        (
            "The model alternates between a language mode and a latent mode. Special markers open and close "
            "the latent segment of a response."
        ),
    ),
    (
        "3.1 Continuous thoughts",
        (
            "In latent mode the last hidden state is not decoded into a token. It is passed directly as the "
            "input embedding of the following position, so the whole segment stays differentiable.\n\n"
            "Because no token is sampled, a single hidden state may keep several alternatives alive, which "
            "later positions can prune."
        ),
    ),
    (
        "3.2 Training curriculum",
        (
            "Training starts from complete written solutions. At stage k the first k written steps are "
            "replaced by latent steps, and the loss is computed only on the remaining text."
        ),
    ),
    (
        "4 Experiments",
        (
            "We compare the written chain of thought, a model without any reasoning steps, pause tokens, "
            "and the latent variant, all fine-tuned from the same small pretrained checkpoint."
        ),
    ),
    (
        "4.1 Setup",
        (
            "Arithmetic problems come from a grade-school benchmark; the planning task asks whether one "
            "concept follows from another in a randomly generated ontology. Every number is the mean of "
            "three seeds."
        ),
    ),
    (
        "5 Results",
        (
            "On arithmetic the latent model trails the written chain of thought by a few points while "
            "producing about a third of the tokens. On planning it is ahead, and the gap grows with the "
            "depth of the search.\n\n"
            "Probing the hidden steps shows that the values assigned to frontier nodes resemble a "
            "breadth-first search more than a single guessed path."
        ),
    ),
    (
        "6 Conclusion",
        (
            "Letting a model reason in its own hidden space costs little accuracy and saves many tokens. "
            "Whether the approach scales to large models and harder tasks is left for future work."
        ),
    ),
]
SAMPLE_REFERENCES = [
    "J. Wei et al. Chain-of-thought prompting elicits reasoning in large language models. NeurIPS, 2022.",
    "Y. Deng et al. Implicit chain of thought reasoning via knowledge distillation. arXiv, 2023.",
    "S. Goyal et al. Think before you speak: training language models with pause tokens. ICLR, 2024.",
    "A. Vaswani et al. Attention is all you need. NeurIPS, 2017.",
]
SAMPLE_APPENDIX = [
    (
        "A Proof of Proposition 1",
        (
            "Assume the hidden state is a convex combination of the embeddings of the frontier nodes. Then "
            "the next position can attend to each of them, and the claim follows by induction on depth."
        ),
    ),
    (
        "B Hyperparameters",
        "We train for six epochs per stage with a learning rate of 0.0001 and a batch size of 128.",
    ),
]


def sample_paper_pdf() -> bytes:
    """The made-up sample paper above as a PDF."""
    return write_paper_pdf(
        SAMPLE_TITLE,
        SAMPLE_AUTHORS,
        SAMPLE_SECTIONS,
        abstract=SAMPLE_ABSTRACT,
        references=SAMPLE_REFERENCES,
        appendix=SAMPLE_APPENDIX,
    )
