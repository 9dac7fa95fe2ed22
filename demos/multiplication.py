"""Multi-digit multiplication in the exact text format of Deng et al. (iCoT, arXiv 2405.14838).

A record is `a_rev * b_rev||CoT #### answer_rev`: digits reversed (least significant first)
and space-separated. The CoT lists the partial products a·b_j, each shifted by j (j zeros
in front, reversed) and zero-padded to len(a)+1+j digits, and after every partial product
except the first and the last the running sum in parentheses, padded to the same width.
The answer is padded to len(a)+len(b) digits. Their released 4×4 data begins with

    5 6 3 2 * 7 4 3 4||5 5 5 6 1 + 0 0 6 4 9 0 ( 5 5 1 1 1 1 ) + 0 0 5 9 0 7 0
    ( 5 5 6 0 2 8 0 ) + 0 0 0 0 6 4 9 0 #### 5 5 6 0 8 2 0 1

Tokens are the space-separated symbols (the digits, `*`, `+`, `(`, `)`, `||`, `####`) plus
`<eos>` and `<pad>`: a word-level vocabulary, so one digit is one token as with GPT-2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SYMBOLS = [str(d) for d in range(10)] + ["*", "+", "(", ")", "||", "####", "<eos>", "<pad>"]

# Digits of the two factors: n for n×n, or (a, b) for an a-digit times a b-digit number
# (3×2: a CoT of 10 tokens instead of 3×3's 24, the same format).
Digits = int | tuple[int, int]


def factor_digits(digits: Digits) -> tuple[int, int]:
    return (digits, digits) if isinstance(digits, int) else (int(digits[0]), int(digits[1]))


def answer_width(digits: Digits) -> int:
    return sum(factor_digits(digits))


def reversed_digits(value: int, width: int) -> list[str]:
    """`value` zero-padded to `width` digits, least significant first."""
    text = str(value).zfill(width)
    if len(text) > width:
        raise ValueError(f"{value} does not fit in {width} digits")
    return list(reversed(text))


def cot_tokens(a: int, b: int, a_digits: int, b_digits: int) -> list[str]:
    """The chain of thought: shifted partial products with running sums between them."""
    out: list[str] = []
    running = 0
    b_rev = reversed_digits(b, b_digits)
    for j, digit in enumerate(b_rev):
        width = a_digits + 1 + j
        partial = a * int(digit) * 10**j
        running += partial
        if j > 0:
            out.append("+")
        out += reversed_digits(partial, width)
        if 0 < j < b_digits - 1:
            out += ["("] + reversed_digits(running, width) + [")"]
    return out


def multiplication_record(a: int, b: int, a_digits: int, b_digits: int | None = None) -> str:
    """The full text line for a×b, as in Deng et al.'s data files."""
    b_digits = a_digits if b_digits is None else b_digits
    prompt = " ".join(reversed_digits(a, a_digits) + ["*"] + reversed_digits(b, b_digits))
    cot = " ".join(cot_tokens(a, b, a_digits, b_digits))
    answer = " ".join(reversed_digits(a * b, a_digits + b_digits))
    return f"{prompt}||{cot} #### {answer}"


@dataclass(frozen=True)
class Example:
    """One problem split the way iCoT trains on it (token strings, not ids)."""

    prompt: list[str]  # a_rev * b_rev ||
    cot: list[str]
    answer: list[str]  # #### answer_rev <eos>


def parse_record(line: str) -> Example:
    source, rest = line.split("||", 1)
    cot, answer = rest.split("####", 1)
    return Example(prompt=source.split() + ["||"], cot=cot.split(), answer=["####"] + answer.split() + ["<eos>"])


def make_example(a: int, b: int, digits: Digits) -> Example:
    return parse_record(multiplication_record(a, b, *factor_digits(digits)))


def answer_value(tokens: list[str]) -> int | None:
    """The product read back from generated tokens after `####` (None if malformed)."""
    if "####" not in tokens:
        return None
    digits = []
    for token in tokens[tokens.index("####") + 1 :]:
        if token == "<eos>":
            break
        if not token.isdigit():
            return None
        digits.append(token)
    return int("".join(reversed(digits))) if digits else None


def sample_pairs(
    rng: random.Random, digits: Digits, count: int, exclude: set[tuple[int, int]] = frozenset()
) -> list[tuple[int, int]]:
    """`count` distinct pairs of `digits`-digit numbers (no leading zero) not in `exclude`."""
    (a_low, a_high), (b_low, b_high) = (_range(n) for n in factor_digits(digits))
    if count > (a_high - a_low + 1) * (b_high - b_low + 1) - len(exclude):
        raise ValueError(f"cannot draw {count} distinct {digits}-digit pairs")
    pairs: dict[tuple[int, int], None] = {}
    while len(pairs) < count:
        pair = (rng.randint(a_low, a_high), rng.randint(b_low, b_high))
        if pair not in exclude:
            pairs[pair] = None
    return list(pairs)


def _range(digits: int) -> tuple[int, int]:
    return 10 ** (digits - 1), 10**digits - 1


def cot_length(digits: Digits) -> int:
    a_digits, b_digits = factor_digits(digits)
    return len(make_example(10 ** (a_digits - 1), 10 ** (b_digits - 1), digits).cot)


def majority_digit_baseline(rng: random.Random, digits: Digits, samples: int = 20000) -> float:
    """Answer-digit accuracy of always writing each position's most common digit: the
    "chance" a trained model's digit accuracy must beat (not 0.1: padding zeros and the
    last digit's skew make some positions easy)."""
    (a_low, a_high), (b_low, b_high) = (_range(n) for n in factor_digits(digits))
    width = answer_width(digits)
    counts = [[0] * 10 for _ in range(width)]
    for _ in range(samples):
        product = rng.randint(a_low, a_high) * rng.randint(b_low, b_high)
        for position, digit in enumerate(reversed_digits(product, width)):
            counts[position][int(digit)] += 1
    return sum(max(c) for c in counts) / (samples * width)
