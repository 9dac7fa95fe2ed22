"""The channel's quiet hours ("23-8", Moscow time: UTC+3 all year, as in bot/texts.py). Pure.

In the kernel because settings check the format when they are read; the watcher asks
`quiet_until` before it posts.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

MOSCOW = timezone(timedelta(hours=3))
_QUIET = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


def parse_quiet_hours(spec: str) -> tuple[int, int] | None:
    """ "23-8" or "23:30-07:15" → (start, end) minutes after Moscow midnight; "" → None."""
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
