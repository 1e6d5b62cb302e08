"""Working days by the official Chinese calendar (public holidays and 调休 working weekends).

Deadlines are calendar dates in Asia/Shanghai; ``today()`` is the date there.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from supervision.errors import RuleError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return datetime.now(SHANGHAI).date()


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai date of a tz-aware moment."""
    return moment.astimezone(SHANGHAI).date()


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day, 调休 Saturdays and Sundays included."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise RuleError(
            f"the installed chinese-calendar has no holidays for {day.year}; "
            "upgrade it (pip install -U chinesecalendar)"
        ) from None


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
