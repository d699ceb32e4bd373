"""Working days in Vietnam: public holidays (Tết is lunar), agency extra days off and Saturday swaps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=8)
def _country(years: tuple[int, ...]) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=years, language="vi")


class WorkCalendar:
    """Answers 'is this a working day' and moves dates by working days.

    Official holidays and the official swaps the `holidays` package knows come first; the plan's or
    agency's own lists add days off (`extra_holidays`) and working days such as a swapped Saturday
    (`extra_working_days`), which win over everything else.
    """

    def __init__(self, years: Iterable[int], extra_holidays: Iterable[date] = (), extra_working_days: Iterable[date] = ()):
        self.years = tuple(sorted(set(years)))
        self._country = _country(self.years)
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)
        self._swapped = frozenset(getattr(self._country, "weekend_workdays", ()))
        self._cache: dict[date, bool] = {}
        # Memos for the calendar of large plans, where thousands of occurrences share a few due dates.
        self._shifted: dict[tuple[date, str], date] = {}
        self._moved: dict[tuple[date, int], date] = {}

    def is_working_day(self, day: date) -> bool:
        hit = self._cache.get(day)
        if hit is None:
            if day in self.extra_working_days:
                hit = True
            elif day in self.extra_holidays:
                hit = False
            elif day.weekday() >= 5:
                hit = day in self._swapped
            else:
                hit = day not in self._country
            self._cache[day] = hit
        return hit

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday on `day` (Vietnamese), if any."""
        return self._country.get(day)

    def shift(self, day: date, policy: str) -> date:
        """Apply a non-working-day policy: 'keep', 'previous' or 'next' working day."""
        if policy == "keep" or self.is_working_day(day):
            return day
        hit = self._shifted.get((day, policy))
        if hit is None:
            step = -ONE_DAY if policy == "previous" else ONE_DAY
            hit = day
            while not self.is_working_day(hit):
                hit += step
            self._shifted[(day, policy)] = hit
        return hit

    def add_working_days(self, day: date, n: int) -> date:
        """The date `n` working days after `day` (before it when n < 0); n = 0 returns `day`."""
        hit = self._moved.get((day, n))
        if hit is None:
            step = ONE_DAY if n >= 0 else -ONE_DAY
            hit = day
            for _ in range(abs(n)):
                hit += step
                while not self.is_working_day(hit):
                    hit += step
            self._moved[(day, n)] = hit
        return hit

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after `start`, up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        return self.shift(day, "next")
