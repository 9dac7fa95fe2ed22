"""A simulated channel for the taste of watcher/taste.py: past posts on a few topics whose
readers react more to one of them, and the next announcement's candidates on all of them.

Every paper is drawn from a topic's words and words every ML abstract shares, by a seeded
`random.Random`, so a seed always gives the same channel (tests/watcher/test_watch_taste.py,
bench/reactions.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from watcher.ranking import Item
from watcher.taste import Reacted

TOPICS = {
    "reasoning": "reasoning chain thought latent planning deduction verifier arithmetic proof puzzle",
    "vision": "image pixel segmentation detection visual camera convolution video scene object",
    "speech": "speech audio acoustic speaker phoneme waveform recognition prosody voice spectrogram",
    "robotics": "robot manipulation grasping locomotion control policy simulator embodied arm navigation",
    "graphs": "graph node edge message passing molecule topology link citation spectral",
}
COMMON = (
    "language model training data benchmark evaluation neural network large scale learning performance "
    "experiment dataset accuracy transformer baseline architecture parameter efficient robust generalization"
)
INTEREST = "machine learning research: neural network models, training, benchmarks and evaluation"
FAVOURITE = "reasoning"


@dataclass(frozen=True)
class Paper:
    item: Item
    topic: str


def paper(rng: random.Random, key: str, topic: str) -> Paper:
    own, shared = TOPICS[topic].split(), COMMON.split()
    title = " ".join([*rng.sample(own, 2), *rng.sample(shared, 2)]).capitalize()
    words = [rng.choice(own) if rng.random() < 0.35 else rng.choice(shared) for _ in range(40)]
    return Paper(Item(key, title, " ".join(words) + "."), topic)


def past_posts(
    seed: int, count: int = 300, favourite: str = FAVOURITE, liking: float = 4.0
) -> list[tuple[Reacted, str]]:
    """`count` posts, each with its topic; the favourite topic's draw `liking` × the reactions."""
    rng = random.Random(seed)
    posts = []
    for n in range(count):
        topic = rng.choice(sorted(TOPICS))
        mean = 6.0 * (liking if topic == favourite else 1.0)
        reactions = int(rng.gammavariate(2.0, mean / 2))  # a long tail: a few posts go viral
        posts.append((Reacted(paper(rng, f"p{n:04d}", topic).item, reactions), topic))
    return posts


def announcement(seed: int, count: int = 60) -> list[Paper]:
    rng = random.Random(seed * 7919 + 1)
    topics = sorted(TOPICS)
    return [paper(rng, f"c{n:04d}", topics[n % len(topics)]) for n in range(count)]  # as many of each topic
