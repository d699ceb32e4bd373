"""The date patterns editors check admit exactly the real days and months that parse_date accepts."""

from __future__ import annotations

import re
from datetime import date

import pytest

from engine.language.dates import DATE_PATTERN, DAY_MONTH_PATTERN, parse_date, parse_day_month


def _real(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


class TestPatterns:
    @pytest.mark.parametrize("written", ["{d}/{m}/{y}", "{d:02}/{m:02}/{y}", "{y}-{m:02}-{d:02}",
                                         "{y}-{m}-{d}"])
    def test_a_date_matches_when_its_day_and_month_exist(self, written):
        for month in range(0, 14):
            for day in range(0, 33):
                text = written.format(d=day, m=month, y=2023)
                assert bool(re.match(DATE_PATTERN, text)) == _real(2024, month, day), text

    def test_the_cli_judges_29_february(self):
        assert re.match(DATE_PATTERN, "29/02/2023")
        with pytest.raises(ValueError, match="không phải là ngày có thật"):
            parse_date("29/02/2023")
        assert parse_date("29/02/2024") == date(2024, 2, 29)

    def test_a_day_of_every_year_matches_when_it_exists_every_year(self):
        for month in range(0, 14):
            for day in range(0, 33):
                for text in (f"{day}/{month}", f"{day:02}/{month:02}"):
                    assert bool(re.match(DAY_MONTH_PATTERN, text)) == _real(2023, month, day), text
        with pytest.raises(ValueError, match="'29/02' không phải ngày có ở mọi năm"):
            parse_day_month("29/02")

    @pytest.mark.parametrize("text", ["30.06.2022", "2023/03/31", "1/1/22", "20/03/2022 ", "x"])
    def test_other_forms_do_not_match(self, text):
        assert not re.match(DATE_PATTERN, text)
