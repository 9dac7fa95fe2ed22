"""A word-level vocabulary: the demos' tasks are sequences of whole symbols, one token each."""

from __future__ import annotations

from collections.abc import Sequence


class Vocab:
    def __init__(self, symbols: Sequence[str]) -> None:
        if len(set(symbols)) != len(symbols):
            raise ValueError("vocabulary symbols must be distinct")
        self.symbols = list(symbols)
        self.ids = {s: i for i, s in enumerate(self.symbols)}

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.ids[t] for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.symbols[i] for i in ids]

    def __len__(self) -> int:
        return len(self.symbols)
