"""docs/warehouse.md is generated, current and complete, and each of its questions answers on the demo year."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from warehouse.docs import DOCS_FILE, QUESTIONS, VIEWS, render_data_dictionary
from warehouse.models import Base

Rows = list[dict[str, Any]]


def _number(value: int | float | Decimal | None) -> float | None:
    """A figure as a float, whatever the backend hands back (Decimal on PostgreSQL NUMERIC)."""
    return None if value is None else float(value)


def _rows(engine: Engine, sql: str) -> Rows:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings().all()]


def test_data_dictionary_is_current():
    committed = DOCS_FILE.read_text(encoding="utf-8") if DOCS_FILE.exists() else ""
    assert render_data_dictionary() == committed, (
        "docs/warehouse.md is stale: run `.venv/bin/python -m warehouse.docs` (or `make docs`) and commit it"
    )


def test_every_view_and_table_is_documented():
    headings = set(re.findall(r"^### (\S+)$", DOCS_FILE.read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert set(Base.metadata.tables) <= headings
    assert set(VIEWS) <= headings
    assert len(QUESTIONS) == 10


def _headline(rows: Rows, engine: Engine) -> None:
    assert len(rows) == 8
    values = {r["metric_code"]: _number(r["value"]) for r in rows}
    assert values["key_tasks_total"] == 1966
    assert values["key_tasks_completed"] == 1966


def _key_tasks(rows: Rows, engine: Engine) -> None:
    assert sum(r["identified"] for r in rows) == 1966
    assert sum(r["identified"] for r in rows if r["source"] == "ctr135") == 365
    assert all(r["completed"] <= r["identified"] for r in rows)


def _late_units(rows: Rows, engine: Engine) -> None:
    # A late file's UTC date is never before the deadline day (which ends at 17:00 UTC).
    assert rows and all(str(r["first_passed_at"])[:10] >= str(r["deadline"]) for r in rows)
    late_per_unit: dict[str, int] = {}
    for r in rows:
        late_per_unit[r["unit_code"]] = late_per_unit.get(r["unit_code"], 0) + 1
    assert all(r["times_late_in_year"] == late_per_unit[r["unit_code"]] for r in rows)
    # The units p135 status and v_completeness call late, quarter by quarter: one count everywhere.
    with engine.connect() as conn:
        counted = dict(conn.execute(text(
            "SELECT quarter, SUM(late) FROM v_completeness WHERE year = 2023 GROUP BY quarter")).all())
    listed: dict[int, int] = {}
    for r in rows:
        listed[int(r["quarter"])] = listed.get(int(r["quarter"]), 0) + 1
    assert {int(q): int(n) for q, n in counted.items() if n} == listed


def _statuses(rows: Rows, engine: Engine) -> None:
    counts = {(r["quarter"], r["status"]): r["submissions"] for r in rows}
    assert {s for _, s in counts} == {"accepted", "rejected", "superseded"}
    assert counts[(2, "rejected")] == 1 and counts[(3, "superseded")] == 1
    assert len({counts[(q, "accepted")] for q in (1, 2, 3, 4)}) == 1, "every unit has one accepted file a quarter"


def _failing_rules(rows: Rows, engine: Engine) -> None:
    by_rule = {r["rule_id"]: r for r in rows}
    assert by_rule["indicator.value_not_number"]["files"] >= 1
    assert all(r["files"] <= r["findings"] for r in rows)


def _income(rows: Rows, engine: Engine) -> None:
    (row,) = rows
    weighted, plain = _number(row["worker_weighted_m_vnd"]), _number(row["plain_mean_m_vnd"])
    assert weighted == pytest.approx(10.6, abs=0.05)
    assert abs(plain - weighted) > 0.5, "the plain mean must differ from the worker-weighted one"


def _social_insurance(rows: Rows, engine: Engine) -> None:
    assert sum(_number(r["paid_bn_vnd"]) for r in rows) == pytest.approx(60.82, abs=0.01)
    assert all(r["against_plan"] == ("over" if r["paid_bn_vnd"] >= r["plan_bn_vnd"] else "under") for r in rows)


def _revenue(rows: Rows, engine: Engine) -> None:
    assert [r["quarter"] for r in rows] == [1, 2, 3, 4]
    assert 9899 <= sum(_number(r["revenue_bn_vnd"]) for r in rows) < 9900


def _party_members(rows: Rows, engine: Engine) -> None:
    members = [r for r in rows if r["indicator_code"] == "party_members_end"]
    assert {r["unit_group"] for r in members} == {"agencies", "enterprises"}
    (bloc,) = _rows(engine, "SELECT value FROM v_year_indicator WHERE year = 2023 AND indicator_code = 'party_members_end'")
    assert sum(_number(r["value"]) for r in members) == pytest.approx(_number(bloc["value"]))


def _mergers(rows: Rows, engine: Engine) -> None:
    assert ("DN021", "DN022") in {(r["merged_unit_code"], r["current_unit_code"]) for r in rows}
    for r in rows:
        if r["party_members_rolled_up"] is not None and r["party_members_own"] is not None:
            assert _number(r["party_members_rolled_up"]) >= _number(r["party_members_own"])


# In the order of QUESTIONS: a short id for each and what its answer must show on the demo year.
CHECKS: dict[str, Callable[[Rows, Engine], None]] = {
    "headline": _headline,
    "key-tasks": _key_tasks,
    "late-units": _late_units,
    "statuses": _statuses,
    "failing-rules": _failing_rules,
    "income": _income,
    "social-insurance": _social_insurance,
    "revenue": _revenue,
    "party-members": _party_members,
    "mergers": _mergers,
}


def _cases() -> list:
    """One case per question, with its slug; a question without a check fails collection."""
    if len(CHECKS) != len(QUESTIONS):
        raise ValueError(f"tests/test_docs.py has {len(CHECKS)} checks for {len(QUESTIONS)} questions")
    return [pytest.param(sql, check, id=slug) for (slug, check), (_, sql, _) in zip(CHECKS.items(), QUESTIONS)]


@pytest.mark.parametrize(("sql", "check"), _cases())
def test_each_question_runs_on_the_demo_year(demo, sql, check):
    engine = demo.warehouse.engine
    rows = _rows(engine, sql)
    assert rows, "the question has no answer on the demo year"
    check(rows, engine)
