"""Working-day arithmetic on the official calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.calendar import add_months, add_working_days, is_working_day


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(start=st.dates(date(2020, 1, 1), date(2026, 10, 31)), days=st.integers(1, 40))
def test_the_nth_working_day_is_a_working_day_with_n_working_days_up_to_it(
    start: date, days: int
) -> None:
    end = add_working_days(start, days)
    assert is_working_day(end)
    between = [start + timedelta(d) for d in range(1, (end - start).days + 1)]
    assert sum(is_working_day(d) for d in between) == days


def test_spring_festival_and_its_adjusted_sunday() -> None:
    # 2025: 28 Jan - 4 Feb off; Sunday 26 Jan and Saturday 8 Feb are working days.
    assert is_working_day(date(2025, 1, 26)) and is_working_day(date(2025, 2, 8))
    assert add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)


def test_three_months_later_clips_to_the_month_end() -> None:
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2025, 1, 6), 3) == date(2025, 4, 6)
