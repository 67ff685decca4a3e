"""Quarters in the province's time zone, and numbers written the Vietnamese way."""

from __future__ import annotations

import datetime as dt

import pytest

from reporting.periods import Period, current_period, deadline_at, period_just_ended, resolve_period
from reporting.vn_format import vn_number, vn_percent

UTC = dt.timezone.utc


@pytest.mark.parametrize(("now", "ended"), [
    (dt.datetime(2024, 1, 10, 12, 0, tzinfo=UTC), Period(2023, 4)),
    # 17:30 UTC on 31 March is already 1 April in Asia/Ho_Chi_Minh.
    (dt.datetime(2023, 3, 31, 17, 30, tzinfo=UTC), Period(2023, 1)),
    (dt.datetime(2023, 3, 31, 16, 30, tzinfo=UTC), Period(2022, 4)),
    (dt.datetime(2023, 11, 26, 8, 0, tzinfo=UTC), Period(2023, 3)),
], ids=["january", "quarter-turns-locally", "not-yet-locally", "november"])
def test_the_period_just_ended_is_read_in_local_time(now, ended):
    assert period_just_ended(now) == ended


def test_quarter_dates_deadline_and_labels():
    q4 = Period(2023, 4)
    assert (q4.starts_on, q4.ends_on, q4.key, q4.label_vi) == (dt.date(2023, 10, 1), dt.date(2023, 12, 31), "2023-Q4", "Quý IV/2023")
    assert Period(2024, 1).ends_on == dt.date(2024, 3, 31)
    assert deadline_at(dt.date(2023, 4, 10)) == dt.datetime(2023, 4, 10, 17, 0, tzinfo=UTC)
    assert current_period(dt.datetime(2023, 5, 2, tzinfo=UTC)) == Period(2023, 2)


def test_resolve_period_needs_a_quarter_with_a_year():
    assert resolve_period(None, 2, default=Period(2023, 4)) == Period(2023, 2)
    with pytest.raises(ValueError, match="quarter"):
        resolve_period(2023, None, default=Period(2023, 4))
    with pytest.raises(ValueError):
        Period(2023, 5)


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (9899.4, 1, "9.899,4"), (10.6, 1, "10,6"), (1966, 0, "1.966"), (870, 1, "870,0"),
    (60.82, 1, "60,8"), (-1234.5, 2, "-1.234,50"), (None, 1, ""),
    # As the data workbook's cell shows it in Excel and LibreOffice: a half rounds away from zero.
    (211.25, 1, "211,3"), (45.25 + 50 + 48 + 60 + 0.5 + 0.6 + 0.7 + 0.8 + 1.2 + 1.3 + 1.4 + 1.5, 1, "211,3"),
    (-2.5, 0, "-3"), (0.125, 2, "0,13"), (-0.04, 1, "0,0"),
], ids=["revenue", "income", "tasks", "budget", "insurance", "negative", "none",
        "half-up", "half-up-summed", "half-away-from-zero", "half-up-small", "no-negative-zero"])
def test_vietnamese_numbers(value, decimals, text):
    assert vn_number(value, decimals) == text


def test_vietnamese_percent():
    assert (vn_percent(106.0), vn_percent(134.99), vn_percent(None)) == ("106%", "135%", "")
    # 1.957 of 1.964 key tasks completed read "100%" in the headline table: seven hidden.
    assert (vn_percent(99.64), vn_percent(100.4), vn_percent(100.0), vn_percent(99.96)) == ("99,6%", "100,4%", "100%", "100%")


@pytest.mark.parametrize(("value", "text"), [
    (2.5, "2,5"), (3.0, "3"), (1234.5, "1234,5"), (1e-9, "0,000000001"), (-1.5e-7, "-0,00000015"), (0.0, "0"),
], ids=["decimal", "whole", "no-grouping", "tiny", "tiny-negative", "zero"])
def test_a_value_in_a_message_keeps_its_digits(value, text):
    from reporting.findings import shown

    assert shown(value) == text


def test_a_tiny_typed_value_keeps_its_digits_the_vietnamese_way():
    from reporting.vn_format import vn_plain

    assert (vn_plain(1e-9), vn_plain(9899.0), vn_plain(9.899)) == ("0,000000001", "9.899", "9,899")
