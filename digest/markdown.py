"""Review Markdown → safe HTML, with LaTeX turned into MathML at build time.

The pipeline for one review:

    protect math and code → markdown-it (`js-default`: raw HTML is not passed through)
    → put the formulas back as MathML (latex2mathml) → nh3 sanitizer (allow-list)

Math is cut out before Markdown runs because Markdown would otherwise read `_` and `*`
inside formulas as emphasis and `\\[` as an escaped bracket. A formula that latex2mathml
cannot convert is shown as its source in `<code>`, so one bad formula never breaks a page.

The sanitizer runs last, over everything, because latex2mathml copies `\\text{...}` and
`\\href{...}` verbatim into its output: the MathML is as untrusted as the review text.

Private-use characters go through all of it unchanged; digest/sources.py uses that to carry
the marks of a review's numbers (placed outside `formula_spans`) into the sanitized HTML.
"""

from __future__ import annotations

import html
import logging
import re
from functools import lru_cache
from urllib.parse import urlsplit
from xml.etree import ElementTree

import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from summarizer.review_format import LINK_HOSTS, MATH_FORMS, MATH_OR_CODE, prose_pieces

log = logging.getLogger(__name__)

MAX_FORMULA_CHARS = 2000  # a longer "formula" is most likely a stray dollar sign

# Private-use characters: Markdown leaves them alone and no review contains them.
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")

# Code and formulas are found by the review document's one scan (summarizer/review_format.py).

MATHML_TAGS = {
    "math",
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "merror",
    "mpadded",
    "mphantom",
    "menclose",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mmultiscripts",
    "mprescripts",
    "none",
    "mtable",
    "mtr",
    "mtd",
    "mlabeledtr",
}
MATHML_ATTRIBUTES = {
    "display",
    "mathvariant",
    "stretchy",
    "fence",
    "form",
    "separator",
    "lspace",
    "rspace",
    "symmetric",
    "largeop",
    "movablelimits",
    "accent",
    "accentunder",
    "linethickness",
    "width",
    "height",
    "depth",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "frame",
    "displaystyle",
    "scriptlevel",
    "minsize",
    "maxsize",
    "notation",
    "encoding",
}
HTML_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "s",
    "del",
    "code",
    "pre",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sub",
    "sup",
}


def _only_web_links(tag: str, attribute: str, value: str) -> str | None:
    # nh3 lets relative URLs through; a review has no business linking inside our site, nor to a
    # host outside LINK_HOSTS (the pipeline strips those; a database edited by hand is not trusted).
    if attribute == "href":
        if not value.lower().startswith(("http://", "https://")):
            return None
        host = (urlsplit(value).hostname or "").lower()
        if not any(host == h or host.endswith("." + h) for h in LINK_HOSTS):
            return None
    return value


_CLEANER = nh3.Cleaner(
    tags=HTML_TAGS | MATHML_TAGS,
    clean_content_tags={"script", "style"},
    attributes={
        "a": {"href", "title"},
        "ol": {"start"},
        "th": {"style"},
        "td": {"style"},
        **{tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS},
    },
    allowed_classes={"code": {"tex"}},
    filter_style_properties={"text-align"},  # markdown-it aligns table columns with it
    url_schemes={"http", "https"},
    link_rel="noopener",
    attribute_filter=_only_web_links,
)
_MD = MarkdownIt("js-default")


def sanitize(fragment: str) -> str:
    """The allow-list cleaner for any HTML that came from outside (reviews, MathML)."""
    return _CLEANER.clean(fragment)


def _check_mathml(mathml: str) -> None:
    """Raise unless the markup is well-formed MathML of allowed elements and attributes only.

    latex2mathml copies `\\text{...}` verbatim, so `\\text{<img ...>}` yields broken markup
    that an HTML parser would let swallow the rest of the page; such a formula becomes code.
    """
    for element in ElementTree.fromstring(mathml).iter():
        tag = element.tag.rpartition("}")[2]
        if tag not in MATHML_TAGS or not set(element.attrib) <= MATHML_ATTRIBUTES:
            raise ValueError(f"<{tag} {' '.join(element.attrib)}> is not allowed MathML")


@lru_cache(maxsize=4096)
def formula_html(latex: str, *, display: bool) -> str:
    """MathML for one formula, or its source as `<code>` when it does not convert."""
    source = latex.strip()
    try:
        if not source or len(source) > MAX_FORMULA_CHARS:
            raise ValueError(f"formula of {len(source)} characters")
        mathml = latex_to_mathml(source, display="block" if display else "inline")
        _check_mathml(mathml)
        return mathml
    except Exception as err:  # noqa: BLE001 - latex2mathml raises many kinds; none may break the page
        log.debug("formula kept as code (%s: %s): %r", type(err).__name__, err, source[:80])
        return f'<code class="tex">{html.escape(source)}</code>'


def _has_math(markdown: str) -> bool:
    return "$" in markdown or "\\(" in markdown or "\\[" in markdown


def _formula(match: re.Match[str]) -> tuple[str, bool] | None:
    """(LaTeX, display) of a formula match; None for inline code and escaped dollars."""
    for name, display in MATH_FORMS:
        latex = match.group(name)
        if latex is not None:
            return latex, display
    return None


def protect_math(markdown: str) -> tuple[str, list[str]]:
    """Replace each formula by a placeholder; return the text and the formulas' HTML."""
    formulas: list[str] = []
    if not _has_math(markdown):
        return markdown, formulas

    def replace(match: re.Match[str]) -> str:
        formula = _formula(match)
        if formula is None:
            return match.group(0)  # code, or an escaped dollar
        formulas.append(formula_html(formula[0], display=formula[1]))
        return f"{_OPEN}{len(formulas) - 1}{_CLOSE}"

    return "".join(
        piece if fence else MATH_OR_CODE.sub(replace, piece) for _offset, piece, fence in prose_pieces(markdown)
    ), formulas


def formula_spans(markdown: str) -> list[tuple[int, int]]:
    """Where the formulas are, delimiters included: (start, end) offsets, in order.

    The same scan as `protect_math`, so a mark placed outside these spans is never inside LaTeX.
    """
    if not _has_math(markdown):
        return []
    return [
        (offset + match.start(), offset + match.end())
        for offset, piece, fence in prose_pieces(markdown)
        if not fence
        for match in MATH_OR_CODE.finditer(piece)
        if _formula(match) is not None
    ]


def _demote_headings(tokens: list[Token]) -> None:
    # The page title is the only <h1>; a review's own headings start at <h2>.
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"


def _render(markdown: str, *, inline: bool) -> str:
    # A review that itself holds the placeholder characters must not pick formulas by them.
    text, formulas = protect_math(markdown.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd"))
    tokens = _MD.parseInline(text) if inline else _MD.parse(text)
    _demote_headings(tokens)
    rendered = _MD.renderer.render(tokens, _MD.options, {})
    if formulas:
        rendered = _PLACEHOLDER.sub(lambda m: formulas[int(m.group(1))], rendered)
    return sanitize(rendered)


def render_markdown(markdown: str) -> str:
    """Review Markdown → sanitized HTML with MathML formulas."""
    return _render(markdown, inline=False)


def render_inline(text: str) -> str:
    """One paragraph's worth of Markdown (a TL;DR): emphasis, code, links and math; no blocks."""
    return _render(text, inline=True)
