"""Year aggregation through the real flows: flows sum, income is worker-weighted, a task counts
once by its latest state, and the latest quarter's plan is the year's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from flows.collect import collect_quarter
from reporting.periods import LOCAL_TZ, Period
from tests.test_golden import year_end_2023
from tests.workbooks import default_plans, default_values, save, submission

D = dt.date


def _enterprise(workers, income, revenue, insurance, income_plan, insurance_plan):
    values = default_values("enterprises", 0)
    values.update(workers=workers, avg_income_m_vnd=income, revenue_bn_vnd=revenue, social_insurance_bn_vnd=insurance)
    plans = default_plans("enterprises", 1)
    plans.update(avg_income_m_vnd=income_plan, social_insurance_bn_vnd=insurance_plan)
    return {"values": values, "plans": plans}


QUARTERS = {
    1: {
        "DN001": _enterprise(100, 20, 100, 1, 18, 5),
        "DN017": _enterprise(900, 5, 10, 3, 6, 4),
        "CQ003": {"values": {**default_values("agencies", 0), "party_members_end": 30}, "tasks": [
            ("NV01", "Nhiệm vụ một", "ctr135", "in_progress", None),
            ("NV02", "Nhiệm vụ hai", "superior", "completed", D(2023, 3, 1)),
            ("NV03", "Nhiệm vụ ba", "ctr135", "not_started", None),
        ]},
    },
    2: {
        "DN001": _enterprise(100, 20, 150, 2, 25, 6),
        "DN017": _enterprise(900, 5, 20, 4, 6, 4),
        "CQ003": {"values": {**default_values("agencies", 0), "party_members_end": 32}, "tasks": [
            ("NV01", "Nhiệm vụ một", "ctr135", "completed", D(2023, 5, 2)),
            ("NV02", "Nhiệm vụ hai", "superior", "completed", D(2023, 3, 1)),
            ("NV03", "Nhiệm vụ ba", "unit", "in_progress", None),
        ]},
    },
}


@pytest.fixture
def two_quarters(warehouse):
    year_to_date: dict[str, dict[str, float]] = {}
    for quarter, units in QUARTERS.items():
        period = Period(2023, quarter)
        inbox = warehouse.data_dir / "inbox" / period.key
        arrived = dt.datetime.combine(period.ends_on + dt.timedelta(days=3), dt.time(9), tzinfo=LOCAL_TZ)
        for code, content in units.items():
            so_far = year_to_date.setdefault(code, {})
            for indicator, value in content["values"].items():
                so_far[indicator] = so_far.get(indicator, 0) + value
            save(submission(code, period, ytd=dict(so_far), **content), inbox / f"{code}.xlsx", arrived)
        summary = collect_quarter(year=2023, quarter=quarter, data_dir=str(warehouse.data_dir))
        assert summary["accepted"] == 3, summary
    return warehouse


def test_year_aggregates_each_indicator_by_its_own_rule(two_quarters):
    headline = year_end_2023(two_quarters.engine)
    assert headline["revenue_bn_vnd"] == (280.0, None, None)
    # Worker-weighted over units and quarters: (20*200 + 5*1800) / 2000, not the plain mean 12.5.
    value, plan, pct = headline["avg_income_m_vnd"]
    assert value == pytest.approx(6.5)
    # The year's plan is each unit's latest one (DN001 revised 18 -> 25), weighted alike.
    assert plan == pytest.approx((25 * 200 + 6 * 1800) / 2000)
    assert pct == pytest.approx(round(100 * 6.5 / 7.9, 1))
    assert headline["social_insurance_bn_vnd"] == (10.0, 10.0, 100.0)


def test_a_key_task_counts_once_by_its_latest_state(two_quarters):
    headline = year_end_2023(two_quarters.engine)
    assert headline["key_tasks_total"][0] == 3
    assert headline["key_tasks_ctr135"][0] == 1, "NV03 moved from ctr135 to the unit's own tasks in Q2"
    assert headline["key_tasks_other"][0] == 2
    assert headline["key_tasks_completed"] == (2.0, 3.0, pytest.approx(66.7))


def test_stocks_take_the_latest_quarter(two_quarters):
    with two_quarters.engine.connect() as conn:
        members = conn.execute(text(
            "SELECT value FROM v_unit_year_indicator WHERE unit_code = 'CQ003' AND indicator_code = 'party_members_end'"
        )).scalar_one()
    assert members == 32
