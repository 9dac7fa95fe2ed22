"""The watcher's calendar: arXiv's announcement schedule and the channel's quiet hours. Pure.

arXiv announces new papers at 20:00 US Eastern, Sunday to Thursday; each announcement
carries the submissions that arrived before the 14:00 cutoff of a weekday:

    Sun 20:00  ← Thu 14:00 … Fri 14:00        Wed 20:00  ← Tue 14:00 … Wed 14:00
    Mon 20:00  ← Fri 14:00 … Mon 14:00        Thu 20:00  ← Wed 14:00 … Thu 14:00
    Tue 20:00  ← Mon 14:00 … Tue 14:00        (no announcement on Friday and Saturday)

Holidays shift this; the watcher does not rely on it for correctness (it remembers the last
submission it saw), only to name the announcement a paper belongs to and to pick the
first window when it starts with no memory. Quiet hours are Moscow time (UTC+3 all year,
as in bot/texts.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
MOSCOW = timezone(timedelta(hours=3))
ANNOUNCE_AT = time(20, 0)
CUTOFF_AT = time(14, 0)
ANNOUNCE_WEEKDAYS = {6, 0, 1, 2, 3}  # Sunday … Thursday (Monday is 0)
SUBMIT_WEEKDAYS = {0, 1, 2, 3, 4}  # cutoffs: Monday … Friday
_QUIET = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


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


# --- quiet hours ----------------------------------------------------------------------------

def parse_quiet_hours(spec: str) -> tuple[int, int] | None:
    """"23-8" or "23:30-07:15" → (start, end) minutes after Moscow midnight; "" → None."""
    if not spec.strip():
        return None
    match = _QUIET.match(spec)
    if not match:
        raise ValueError(f"WATCH_QUIET_HOURS={spec!r} is not like '23-8' or '23:30-7:00' (Moscow hours)")
    start_h, start_m, end_h, end_m = (int(g or 0) for g in match.groups())
    if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59:
        raise ValueError(f"WATCH_QUIET_HOURS={spec!r} has an hour or minute out of range")
    return start_h * 60 + start_m, (end_h * 60 + end_m) % (24 * 60)


def quiet_until(now: datetime, spec: str) -> datetime | None:
    """When the current quiet period ends (UTC), or None when posting is allowed now."""
    hours = parse_quiet_hours(spec)
    if hours is None or hours[0] == hours[1]:
        return None
    start, end = hours
    local = now.astimezone(MOSCOW)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    ends = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(timezone.utc)
