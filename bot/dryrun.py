"""What the bot would post, without a token: the rendered posts written to files and shown.

`make demo` has no Telegram; this shows the channel post of each review in both formats —
exactly the strings the relay would send — so the rendering can be read and checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.format import classic_messages, rich_message, utf16_len
from bot.trust import PaperHeader, for_telegram
from paperdigest.links import paper_slug, paper_url
from paperdigest.models import Review


@dataclass(frozen=True)
class DryRunPost:
    arxiv_id: str
    classic_parts: list[str]
    rich_html: str
    path: Path


def render_post(review: Review, site_url: str, header: PaperHeader | None = None) -> tuple[list[str], str]:
    page, markdown = paper_url(site_url, review.arxiv_id), for_telegram(review, header, to_requester=False)
    return classic_messages(markdown, site_url=page), rich_message(markdown, site_url=page).html


def write_post(review: Review, site_url: str, out_dir: Path, header: PaperHeader | None = None) -> DryRunPost:
    classic, rich = render_post(review, site_url, header)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{paper_slug(review.arxiv_id)}v{review.version}.txt"
    sections = [
        f"# Channel post of {review.arxiv_id}v{review.version} (dry run: nothing was sent)",
        "",
        f"## POST_FORMAT=classic: {len(classic)} message(s), sendMessage parse_mode=HTML",
    ]
    for number, part in enumerate(classic, 1):
        sections += ["", f"### message {number} ({utf16_len(part)} UTF-16 units of HTML)", part]
    sections += ["", "## POST_FORMAT=rich: 1 sendRichMessage", rich, ""]
    path.write_text("\n".join(sections), encoding="utf-8")
    return DryRunPost(review.arxiv_id, classic, rich, path)
