"""Fit a paper's sections into the LLM's input budget, never silently.

References and acknowledgments never go in. Within budget the whole body goes in, the
appendix too when it fits (whole appendix sections, in order, as many as fit). Over budget, sections are shortened lowest priority first —
the appendix goes before related work, related work before the experiments, and the
abstract, introduction, method, results and conclusion keep the most — down to a floor
per section; only if the floors still do not fit is everything cut in proportion.
Each cut is recorded so the review can say what the LLM did not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from paperdigest.records import Section
from summarizer.tokens import count_tokens, head_tokens

NEVER_SENT = {"references", "acknowledgments"}
PRIORITY = {  # lower is cut first
    "appendix": 0,
    "front": 1,
    "related": 1,
    "other": 2,
    "background": 2,
    "discussion": 3,
    "experiments": 4,
    "limitations": 4,
    "abstract": 5,
    "introduction": 5,
    "method": 5,
    "results": 5,
    "conclusion": 5,
}
FLOOR_SHARE = 0.25  # a shortened section keeps at least this share of itself...
FLOOR_MIN = 120  # ...and at least this many tokens (or all of it, if smaller)
CUT_MARK = " […]"


@dataclass(frozen=True)
class Cut:
    title: str
    kind: str
    tokens_before: int
    tokens_after: int  # 0: dropped

    @property
    def share_kept(self) -> float:
        return self.tokens_after / self.tokens_before if self.tokens_before else 1.0


@dataclass
class Budgeted:
    sections: list[Section]  # what goes to the LLM, in paper order
    cuts: list[Cut] = field(default_factory=list)
    tokens: int = 0  # of the sections sent
    full_tokens: int = 0  # of every section but references and acknowledgments

    def notes(self) -> list[str]:
        """One Russian line per cut, for the review's notes."""
        return [
            f"Раздел «{c.title or c.kind}» не вошёл в контекст модели ({c.tokens_before} токенов)."
            if not c.tokens_after
            else f"Раздел «{c.title or c.kind}» сокращён для модели: {c.tokens_after} из {c.tokens_before} токенов "
            f"({c.share_kept:.0%})."
            for c in self.cuts
        ]


def fit_budget(sections: list[Section], budget_tokens: int) -> Budgeted:
    body = [s for s in sections if s.kind not in NEVER_SENT]
    sizes = [count_tokens(s.title) + count_tokens(s.text) + 2 for s in body]
    full = sum(sizes)
    if full <= budget_tokens:
        return Budgeted(body, [], full, full)
    targets = _targets(body, sizes, budget_tokens)
    kept, cuts = [], []
    for section, size, target in zip(body, sizes, targets):
        if target >= size:
            kept.append(section)
            continue
        cut = _shorten(section, target)
        cuts.append(
            Cut(
                section.title,
                section.kind,
                size,
                count_tokens(cut.title) + count_tokens(cut.text) + 2 if cut.text else 0,
            )
        )
        if cut.text:
            kept.append(cut)
    return Budgeted(kept, cuts, sum(count_tokens(s.title) + count_tokens(s.text) + 2 for s in kept), full)


def _targets(body: list[Section], sizes: list[int], budget: int) -> list[int]:
    """Token allowance per section: shrink tier by tier, lowest priority first."""
    targets = list(sizes)
    excess = sum(sizes) - budget
    for tier in sorted(set(PRIORITY.values()) | {2}):
        if excess <= 0:
            break
        members = [i for i, s in enumerate(body) if PRIORITY.get(s.kind, 2) == tier]
        if tier == 0:  # appendix sections go in whole, in order, while they fit; the rest are dropped
            for i in members:
                targets[i] = 0
            room = budget - sum(targets)
            for i in members:
                if sizes[i] > room:
                    break
                targets[i], room = sizes[i], room - sizes[i]
            excess = sum(targets) - budget
            continue
        floors = {i: min(sizes[i], max(FLOOR_MIN, int(sizes[i] * FLOOR_SHARE))) for i in members}
        slack = sum(targets[i] - floors[i] for i in members)
        if slack <= 0:
            continue
        take = min(excess, slack)
        for i in members:
            targets[i] -= int(take * (targets[i] - floors[i]) / slack + 0.999)
        excess = sum(targets) - budget
    if excess > 0:  # even the floors do not fit: cut everything in proportion
        scale = budget / sum(targets)
        targets = [int(t * scale) for t in targets]
    return targets


def _shorten(section: Section, target_tokens: int) -> Section:
    room = target_tokens - count_tokens(section.title) - 2 - count_tokens(CUT_MARK)
    if room < 20:
        return replace(section, text="")
    return replace(section, text=head_tokens(section.text, room) + CUT_MARK)
