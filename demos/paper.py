"""The papers' own numbers, copied into every results.json for the "paper says" column.

Source: ../shared/design/coconut-icot.md (taken from the papers and their code). Plain
data, no torch: the site and the bot may import it.
"""

from __future__ import annotations

COCONUT = {
    "arxiv_id": "2412.06769",
    "model": "GPT-2 124M",
    "note": "accuracy %, tokens generated in parentheses in the paper; ProsQA is the task our toy imitates",
    "prosqa": {
        "cot": {"accuracy": 77.5, "tokens": 49.4},
        "no_cot": {"accuracy": 76.7, "tokens": 8.2},
        "icot": {"accuracy": 98.2, "tokens": 8.2},
        "pause_token": {"accuracy": 75.9, "tokens": 8.2},
        "coconut": {"accuracy": 97.0, "tokens": 14.2},
        "no_curriculum": {"accuracy": 76.1},
        "no_thought": {"accuracy": 95.5},
        "pause_as_thought": {"accuracy": 96.6},
    },
    "other_tasks": {
        "gsm8k": {
            "cot": 42.9,
            "no_cot": 16.5,
            "icot": 30.0,
            "pause_token": 16.4,
            "coconut": 34.1,
            "no_curriculum": 14.4,
            "no_thought": 21.6,
            "pause_as_thought": 24.1,
        },
        "prontoqa": {
            "cot": 98.8,
            "no_cot": 93.8,
            "icot": 99.8,
            "pause_token": 77.7,
            "coconut": 99.8,
            "no_curriculum": 52.4,
            "no_thought": 99.9,
            "pause_as_thought": 100.0,
        },
    },
    "frontier_value_example": {
        "after_thought_1": {"lempus": 0.33, "grimpus": 0.32, "zhorpus": 0.16, "sterpus": 0.01},
        "after_thought_2": "a child of grimpus gets 0.87",
    },
    "caveats": [
        "pause as thought nearly matches Coconut on ProsQA (96.6 vs 97.0)",
        "later work argues the curriculum does much of the work",
        "a public re-run got 31.1 on GSM8k vs the paper's 34.1",
    ],
}

ICOT = {
    "arxiv_id": "2405.14838",
    "model": "GPT-2 small",
    "note": "exact-match accuracy; examples/s on one H100 at batch size 1",
    "multiplication": {
        "4x4": {"accuracy": 1.00, "examples_per_s": 17.5},
        "5x5": {"accuracy": 0.996, "examples_per_s": 15.8},
        "7x7": {"accuracy": 0.945, "examples_per_s": 12.7},
        "9x9": {"accuracy": 0.988, "examples_per_s": 10.6},
        "11x11": {"accuracy": 0.739, "examples_per_s": 3.4},
    },
    "cot_tokens": {"4x4": 46, "5x5": 74, "7x7": 148, "9x9": 246},
    "gsm8k": {"gpt2_small": 0.301, "gpt2_medium": 0.349, "mistral_7b": 0.509, "mistral_7b_explicit_cot": 0.68},
    "claims": [
        "No-CoT fails even at 4x4",
        "on 9x9 iCoT matches explicit CoT's accuracy at 11x the speed",
        "on 7x7, training collapses without removal smoothing, without optimizer reset, "
        "removing from the right, or with delta=16",
    ],
    "schedule": {"delta": 8, "smoothing_lambda": 4, "grad_clip": 1.0},
}
