from pathlib import Path

from bot.dryrun import write_post
from bot.format import MESSAGE_LIMIT
from paperdigest.models import Review
from paperdigest.sample.papers import load_demo_papers
from summarizer.offline import draft_review
from summarizer.review_format import render_review
from tests.fakes.telegram_html import parse_html


def test_dry_run_writes_both_formats_within_limits(tmp_path: Path) -> None:
    paper = next(p for p in load_demo_papers() if p.meta.arxiv_id == "2412.06769")
    markdown = render_review(
        paper.meta,
        draft_review(paper.meta, paper.to_sections()),
        code_url="https://github.com/facebookresearch/coconut",
    )
    review = Review(arxiv_id="2412.06769", version=1, markdown=markdown)
    post = write_post(review, "https://digest.example", tmp_path)
    written = post.path.read_text(encoding="utf-8")
    assert post.path.name == "2412.06769v1.txt" and "nothing was sent" in written
    assert post.classic_parts[0].startswith("<b>Training Large Language Models")
    assert "https://digest.example/papers/2412.06769.html" in post.classic_parts[-1]
    for part in post.classic_parts:
        text, _entities = parse_html(part)  # the fake Bot API's own parser: Telegram would accept it
        assert len(text.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
    assert "<h1>" in post.rich_html and post.rich_html in written
