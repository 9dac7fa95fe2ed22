"""Simulated arXiv announcements for the watcher's tests and benchmark.

arXiv's API shows a paper once it is announced; a test "announces" a day by adding that
day's papers to the FakeArxiv just before the watcher's round, each submitted inside the
announcement's submission window (watcher.schedule) like real listings::

    day = announce(fake, date(2025, 1, 6), count=300, categories=["cs.CL", "cs.LG", "cs.AI"],
                   first_number=1, seed=1)
    fake.add_paper(..., published=submitted_at(date(2025, 1, 6), 0.5))   # a chosen one

The filler papers are about everything but the channel's interest, so which papers a
ranking should pick is decided by the test, not by chance.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from tests.fakes.arxiv import PLACEHOLDER_PDF, FakeArxiv
from watcher.schedule import EASTERN, submission_window

FILLER = """galaxy cluster lensing spectra protein folding graph coloring traffic flow wind turbine
supply chain auction design glacier melt seismic inversion sparse matrix compiler cache
robot gripper soil moisture crop yield queue scheduling bandwidth wireless antenna fluid
turbulence battery cathode polymer viscosity epidemic spread census sampling ocean tides
""".split()


@dataclass(frozen=True)
class Announced:
    day: date
    ids: list[str]


def announcement_at(day: date) -> datetime:
    """20:00 US Eastern of `day`, in UTC: when the watcher's clock should stand after it."""
    return datetime.combine(day, time(20, 0), tzinfo=EASTERN).astimezone(timezone.utc)


def submitted_at(day: date, fraction: float) -> datetime:
    """A submission time inside `day`'s announcement window (0 = its start, 1 = its cutoff)."""
    start, end = submission_window(datetime.combine(day, time(20, 0), tzinfo=EASTERN))
    moment = start + (end - start) * min(max(fraction, 0.001), 0.999)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def arxiv_number(day: date, number: int) -> str:
    return f"{day:%y%m}.{number:05d}"


def announce(
    fake: FakeArxiv,
    day: date,
    *,
    count: int,
    categories: list[str],
    first_number: int,
    seed: int = 0,
    pdf: bytes = PLACEHOLDER_PDF,
) -> Announced:
    """Add `count` filler papers to `fake`, spread over `day`'s window and `categories` (some cross-listed)."""
    rng = random.Random(seed)
    ids = []
    for offset in range(count):
        arxiv_id = arxiv_number(day, first_number + offset)
        primary = categories[offset % len(categories)]
        cats = [primary] + ([rng.choice(categories)] if rng.random() < 0.3 else [])
        words = rng.sample(FILLER, 6)
        fake.add_paper(
            arxiv_id,
            title=f"On {words[0]} {words[1]} and {words[2]} {words[3]}",
            authors=[f"Author {rng.randint(1, 500)}", f"Author {rng.randint(1, 500)}"],
            abstract=" ".join(rng.choice(FILLER) for _ in range(60)) + ".",
            categories=list(dict.fromkeys(cats)),
            published=submitted_at(day, (offset + 0.5) / count),
            versions={1: pdf},
        )
        ids.append(arxiv_id)
    return Announced(day, ids)
