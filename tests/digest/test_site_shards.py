"""Search shards: which papers Pagefind indexes together, and that old shards stay put."""

from __future__ import annotations

import pytest

from digest.search_index import plan_shards, shard_glob
from tests.support.site import fake_entry


def names(count: int, size: int = 4, tail: int = 2) -> list[tuple[str, int]]:
    return [(s.name, len(s.pages)) for s in plan_shards([fake_entry(i) for i in range(count)], size, tail)]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, []),
        (1, [("0-0", 1)]),
        (3, [("0-0", 2), ("0-1", 1)]),
        (4, [("0", 4)]),
        (7, [("0", 4), ("1-0", 2), ("1-1", 1)]),
        (8, [("0", 4), ("1", 4)]),
    ],
)
def test_blocks_then_small_tail_shards(count: int, expected: list[tuple[str, int]]) -> None:
    assert names(count) == expected


def test_a_new_paper_changes_only_the_last_shard() -> None:
    entries = [fake_entry(i) for i in range(10)]
    before = plan_shards(entries, 4, 2)
    after = plan_shards([*entries, fake_entry(10)], 4, 2)
    changed = [s.name for s in after if s not in before]
    assert changed == ["2-1"]


def test_shards_follow_first_review_not_input_order() -> None:
    entries = [fake_entry(i) for i in range(5)]
    assert plan_shards(entries[::-1], 4, 2) == plan_shards(entries, 4, 2)


def test_glob_names_exactly_the_pages() -> None:
    [shard] = plan_shards([fake_entry(0), fake_entry(1)], 4, 2)
    assert shard_glob(shard) == "{papers/2412.00000.html,papers/2412.00001.html}"
