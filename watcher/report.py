"""What one watcher round did: counts and ids, logged and printed by `paperdigest watch --once`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class RoundReport:
    day: date
    skipped: bool = False  # another process was running a round
    found: int = 0  # new listings stored
    ranked: int = 0
    reviewed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # reviews that failed the check: not posted, admins told
    edits: int = 0
    alarms: int = 0
    digest: bool = False

    @property
    def queued(self) -> bool:
        return bool(self.posted or self.held or self.edits or self.alarms or self.digest)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.day}: another watcher is running a round; skipped"
        return (
            f"{self.day}: {self.found} new listing(s), {self.ranked} ranked, {len(self.reviewed)} reviewed, "
            f"{len(self.failed)} failed, {len(self.posted)} post(s), {len(self.held)} held, {self.edits} edit(s), "
            f"{self.alarms} alarm(s){', digest' if self.digest else ''}"
        )
