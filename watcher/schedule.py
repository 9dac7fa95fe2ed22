"""The watcher's calendar: arXiv's announcement schedule. Pure.

arXiv announces new papers at 20:00 US Eastern, Sunday to Thursday; each announcement
carries the submissions that arrived before the 14:00 cutoff of a weekday:

    Sun 20:00  ← Thu 14:00 … Fri 14:00        Wed 20:00  ← Tue 14:00 … Wed 14:00
    Mon 20:00  ← Fri 14:00 … Mon 14:00        Thu 20:00  ← Wed 14:00 … Thu 14:00
    Tue 20:00  ← Mon 14:00 … Tue 14:00        (no announcement on Friday and Saturday)

Holidays shift this; the watcher does not rely on it for correctness (it remembers the last
submission it saw), only to name the announcement a paper belongs to and to pick the
first window when it starts with no memory. The channel's quiet hours are in the kernel
(paperdigest/quiet_hours.py): settings check their format.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_AT = time(20, 0)
CUTOFF_AT = time(14, 0)
ANNOUNCE_WEEKDAYS = {6, 0, 1, 2, 3}  # Sunday … Thursday (Monday is 0)
SUBMIT_WEEKDAYS = {0, 1, 2, 3, 4}  # cutoffs: Monday … Friday


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=EASTERN)


def last_announcement(now: datetime) -> datetime:
    """The latest announcement at or before `now` (timezone-aware, Eastern)."""
    today = now.astimezone(EASTERN).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if day.weekday() in ANNOUNCE_WEEKDAYS and _at(day, ANNOUNCE_AT) <= now:
            return _at(day, ANNOUNCE_AT)
    raise AssertionError("a week always holds an announcement")


def announcement_day(now: datetime) -> date:
    """The Eastern date of the latest announcement: the key of "today's" candidates."""
    return last_announcement(now).date()


def _previous_cutoff(moment: datetime) -> datetime:
    day = moment.astimezone(EASTERN).date()
    while True:
        day -= timedelta(days=1)
        if day.weekday() in SUBMIT_WEEKDAYS:
            return _at(day, CUTOFF_AT)


def submission_window(announcement: datetime) -> tuple[datetime, datetime]:
    """Submissions an announcement carries: (previous cutoff, cutoff]."""
    day = announcement.astimezone(EASTERN).date()
    end = _at(day - timedelta(days=2), CUTOFF_AT) if day.weekday() == 6 else _at(day, CUTOFF_AT)
    return _previous_cutoff(end), end


def is_weekday_announcement(day: date) -> bool:
    return day.weekday() in ANNOUNCE_WEEKDAYS
