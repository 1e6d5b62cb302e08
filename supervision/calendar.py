"""Working days by the official Chinese calendar (public holidays and 调休 working weekends).

Deadlines are calendar dates in Asia/Shanghai; ``today()`` is the date there.
"""

from __future__ import annotations

import calendar as _calendar
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from supervision.errors import RuleError

SHANGHAI = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return datetime.now(SHANGHAI).date()


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai date of a tz-aware moment."""
    return moment.astimezone(SHANGHAI).date()


def is_working_day(day: date, *, strict: bool = False) -> bool:
    """Whether ``day`` is a working day, 调休 Saturdays and Sundays included.

    For a year the installed calendar does not cover yet (the State Council publishes each
    year's holidays late in the year before), Monday to Friday count, with a logged warning;
    ``strict`` refuses instead.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if strict:
            raise RuleError(
                f"the installed chinese-calendar has no holidays for {day.year}; "
                "upgrade it (pip install -U chinesecalendar)"
            ) from None
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning("calendar_year_missing", extra={"year": day.year})
        return day.weekday() < 5


_warned: set[int] = set()


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def add_days(start: date, days: int, *, working: bool) -> date:
    """``start`` plus ``days`` calendar days, or working days when ``working``."""
    return add_working_days(start, days) if working else start + timedelta(days=days)


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clipped to the end of a shorter month."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, _calendar.monthrange(year, month)[1]))


def add_years(start: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February)."""
    return add_months(start, 12 * years)
