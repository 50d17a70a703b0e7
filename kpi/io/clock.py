"""Today's date in the review's calendar: the PRC's working days are Beijing dates.

The review's deadlines (answers by day 7, and what closing a month checks) are dates of
the PRC calendar. A server in a data centre usually runs in UTC, eight hours behind
Beijing: by its own date, an objection sent at 02:00 the morning after the deadline would
still count as on time. ``KPI_TODAY`` (YYYY-MM-DD) fixes the date, for reproducible runs.
"""

from __future__ import annotations

import datetime
import os

# China keeps one zone (UTC+8) and no daylight saving (since 1991): a fixed offset is exact
# and needs no time-zone database on the machine.
BEIJING = datetime.timezone(datetime.timedelta(hours=8), "Asia/Shanghai")


def today(now: datetime.datetime | None = None) -> datetime.date:
    """``KPI_TODAY`` when set, else the date in Beijing at ``now`` (the present moment)."""
    fixed = os.environ.get("KPI_TODAY")
    if fixed:
        return datetime.date.fromisoformat(fixed)
    return (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(BEIJING).date()
