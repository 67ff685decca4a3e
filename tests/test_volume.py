"""The views built for national volume answer as the views before them, and every load leaves
the planner statistics. Volume itself is measured (python -m tests.volume), never timed here."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.volume import YEAR, build
from warehouse.docs import VIEWS
from warehouse.load import LOADED_TABLES, Arrival, close_collect_run, load_batch, open_collect_run
from warehouse.migrate import downgrade, head_revision, upgrade
from warehouse.reference import _recreate_wide_view

UNITS = 300
# The views that add up a year over units, with their keys: revision 0012 changed their stocks.
YEAR_AGGREGATES = {
    "v_year_indicator": ["year", "indicator_code"],
    "v_year_group_indicator": ["year", "unit_group", "indicator_code"],
}


def _views(engine: Engine) -> dict[str, pd.DataFrame]:
    """Every analyst view, whole, in a stable row order."""
    found = {}
    with engine.connect() as conn:
        for view in VIEWS:
            frame = pd.read_sql(text(f"SELECT * FROM {view}"), conn)
            found[view] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return found


def _frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def _scalar(engine: Engine, sql: str) -> float:
    with engine.connect() as conn:
        return float(conn.execute(text(sql)).scalar_one())


@pytest.fixture
def volume(warehouse, tmp_path):
    """A generated year of 300 units, four quarters, loaded straight into the warehouse."""
    build(warehouse.engine, UNITS, tmp_path / "programmes")
    return warehouse


def test_the_fixture_has_every_shape_a_collect_leaves(volume):
    engine = volume.engine
    statuses = set(_frame(engine, "SELECT DISTINCT status FROM submission")["status"])
    assert {"accepted", "accepted_with_warnings", "rejected", "superseded", "held"} <= statuses
    assert _scalar(engine, "SELECT COUNT(*) FROM v_unit_lineage WHERE is_merged") >= 1
    assert _scalar(engine, "SELECT COUNT(*) FROM submission WHERE supersedes_submission_id IS NOT NULL") >= 1
    assert _scalar(engine, f"SELECT COUNT(DISTINCT quarter) FROM v_current_submission WHERE year = {YEAR}") == 4


def _views_at(engine: Engine, revision: str) -> dict[str, pd.DataFrame]:
    downgrade(engine, revision)
    with engine.begin() as conn:
        _recreate_wide_view(conn)
    return _views(engine)


def test_the_views_answer_as_the_previous_revision_did(volume):
    """Each view, row for row, at revision 0010 (built for volume) and at 0009 before it, on the
    same warehouse; at 0012, only the files sent within an extension change in v_submission_status
    (0011) and only the stocks of units closed during the year leave the year's aggregates (0012);
    at 0013 (units as at the year's end) nothing changes, the registry holding no later year; 0014 adds a column to
    publication only; 0015 finds a unit's first passing file in arrival order, not by its time; 0016
    gives a successor the plans of the units merged into it, and changes nothing else; head (0017)
    adds a column to publication only."""
    engine = volume.engine
    assert head_revision() == "0017"
    head = _views(engine)
    now = _views_at(engine, "0012")
    rollup = head["v_unit_year_indicator_rollup"]
    merged = (rollup["units_reporting"] > 1) & (rollup["aggregation"] != "latest")
    for view in VIEWS:
        left, right = head[view], now[view]
        if view == "v_unit_year_indicator_rollup":
            left, right = left[~merged], right[~merged]
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9, obj=view)
    _check_merged_plans(head, now["v_unit_year_indicator_rollup"], merged)
    built = _views_at(engine, "0010")
    before = _views_at(engine, "0009")
    upgrade(engine)
    with engine.begin() as conn:
        _recreate_wide_view(conn)
    assert _views(engine).keys() == now.keys() == built.keys()
    for view in VIEWS:
        assert len(built[view]) > 0, view
        pd.testing.assert_frame_equal(built[view], before[view], check_dtype=False, rtol=1e-9, obj=view)
        if view not in ("v_submission_status", *YEAR_AGGREGATES):
            pd.testing.assert_frame_equal(now[view], built[view], check_dtype=False, rtol=1e-9, obj=view)
    for view, keys in YEAR_AGGREGATES.items():
        flows = [frame[frame["aggregation"] != "latest"].reset_index(drop=True) for frame in (now[view], built[view])]
        pd.testing.assert_frame_equal(*flows, check_dtype=False, rtol=1e-9, obj=view)
        stocks = now[view][now[view]["aggregation"] == "latest"].merge(
            built[view][built[view]["aggregation"] == "latest"], on=keys, suffixes=("", "_before"))
        assert (stocks["value"] <= stocks["value_before"]).all(), view
        assert (stocks["value"] < stocks["value_before"]).any(), f"{view}: the fixture closes units with members"

    status = now["v_submission_status"]
    extended = status["is_extended"].astype(bool)
    assert extended.any(), "the fixture extends some units' deadlines"
    keys = ["submission_id"]
    same = status.loc[~extended, built["v_submission_status"].columns].sort_values(keys).reset_index(drop=True)
    old = built["v_submission_status"]
    old = old[old["submission_id"].isin(status.loc[~extended, "submission_id"])].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(same, old, check_dtype=False, rtol=1e-9, obj="v_submission_status without extensions")
    moved = status.loc[extended].merge(built["v_submission_status"], on=keys, suffixes=("", "_before"))
    assert (pd.to_datetime(moved["deadline"]) > pd.to_datetime(moved["deadline_before"])).all()
    assert (moved["is_on_time"].astype(bool) | ~moved["is_on_time_before"].astype(bool)).all(), \
        "an extension never makes a file late"


def _check_merged_plans(head: dict[str, pd.DataFrame], before: pd.DataFrame, merged: pd.Series) -> None:
    """A successor's plan is its members' own plans for the year: added up, or weighted by each one's
    year weight; before 0016 it was the successor's own (its latest quarter's)."""
    units = head["v_unit_year_indicator"]
    units = units[units["aggregation"] != "latest"].assign(
        weighted=lambda f: f["plan_value"] * f["weight"], planned_weight=lambda f: f["weight"].where(f["plan_value"].notna()))
    members = units.groupby(["current_unit_code", "year", "indicator_code", "aggregation"]).agg(
        plan=("plan_value", lambda v: v.sum(min_count=1)), weighted=("weighted", lambda v: v.sum(min_count=1)),
        planned_weight=("planned_weight", lambda v: v.sum(min_count=1))).reset_index()
    members["expected"] = members["plan"].where(
        members["aggregation"] == "sum", members["weighted"] / members["planned_weight"])
    found = head["v_unit_year_indicator_rollup"][merged].merge(
        members, left_on=["unit_code", "year", "indicator_code"], right_on=["current_unit_code", "year", "indicator_code"])
    assert len(found) == merged.sum() > 0, "the fixture merges units that report"
    assert pd.to_numeric(found["plan_value"]).tolist() == pytest.approx(
        pd.to_numeric(found["expected"]).tolist(), rel=1e-9, nan_ok=True)
    now_plan = pd.to_numeric(head["v_unit_year_indicator_rollup"].loc[merged, "plan_value"])
    old_plan = pd.to_numeric(before.loc[merged, "plan_value"])
    assert ((now_plan != old_plan) & now_plan.notna() & old_plan.notna()).any(), "the fixture's merged units plan too"


def test_the_figures_match_straightforward_queries(volume):
    """The headline against counts and sums written the plain way over the tables."""
    engine = volume.engine
    current = "s.status IN ('accepted', 'accepted_with_warnings')"
    tasks = _scalar(engine, f"""
        SELECT COUNT(*) FROM (
            SELECT DISTINCT s.unit_code, k.task_code FROM submission s
            JOIN submission_key_task k ON k.submission_id = s.submission_id
            WHERE {current} AND s.year = {YEAR}) t""")
    revenue = _scalar(engine, f"""
        SELECT SUM(si.value) FROM submission s JOIN submission_indicator si ON si.submission_id = s.submission_id
        WHERE {current} AND s.year = {YEAR} AND si.indicator_code = 'revenue_bn_vnd'""")
    latest_members = _scalar(engine, f"""
        SELECT SUM(si.value) FROM submission s JOIN submission_indicator si ON si.submission_id = s.submission_id
        WHERE {current} AND s.year = {YEAR} AND si.indicator_code = 'party_members_end'
          AND s.quarter = (SELECT MAX(s2.quarter) FROM submission s2
                           WHERE s2.unit_code = s.unit_code AND s2.year = s.year
                             AND s2.status IN ('accepted', 'accepted_with_warnings'))""")
    headline = _frame(engine, f"SELECT metric_code, value FROM v_year_end_programme135 WHERE year = {YEAR}")
    headline = headline.set_index("metric_code")["value"].astype(float)
    members = _scalar(engine, f"SELECT value FROM v_year_indicator WHERE year = {YEAR} AND indicator_code = 'party_members_end'")
    assert headline["key_tasks_total"] == tasks
    assert headline["revenue_bn_vnd"] == pytest.approx(revenue, abs=5e-4)
    # A merged unit's members live on in its successor: the year counts each unit's latest quarter
    # once, the merged units' last quarters (Q2) not added again.
    merged_last = _scalar(engine, f"""
        SELECT COALESCE(SUM(si.value), 0) FROM submission s
        JOIN submission_indicator si ON si.submission_id = s.submission_id
        JOIN v_unit_lineage l ON l.unit_code = s.unit_code AND l.is_merged
        WHERE {current} AND s.year = {YEAR} AND si.indicator_code = 'party_members_end'
          AND s.quarter = (SELECT MAX(s2.quarter) FROM submission s2
                           WHERE s2.unit_code = s.unit_code AND s2.year = s.year
                             AND s2.status IN ('accepted', 'accepted_with_warnings'))""")
    assert merged_last > 0
    # A unit closed during the year without a successor is not there at year end: its last
    # quarter is not counted at all.
    closed_last = _scalar(engine, f"""
        SELECT COALESCE(SUM(si.value), 0) FROM submission s
        JOIN submission_indicator si ON si.submission_id = s.submission_id
        JOIN v_unit_lineage l ON l.unit_code = s.unit_code AND NOT l.is_merged AND l.valid_to < '{YEAR}-12-31'
        WHERE {current} AND s.year = {YEAR} AND si.indicator_code = 'party_members_end'
          AND s.quarter = (SELECT MAX(s2.quarter) FROM submission s2
                           WHERE s2.unit_code = s.unit_code AND s2.year = s.year
                             AND s2.status IN ('accepted', 'accepted_with_warnings'))""")
    assert closed_last > 0
    assert members == pytest.approx(latest_members - merged_last - closed_last)


def _statistics(engine: Engine, tables: tuple[str, ...]) -> set[str]:
    """The tables among `tables` the planner has statistics for."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(text(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL"
            )).scalars()
        else:
            exists = conn.execute(text("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar_one()
            rows = conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars() if exists else []
        return set(rows) & set(tables)


def test_a_collect_run_leaves_statistics_of_what_it_loaded(warehouse):
    from reporting.programme import programme_for_year
    from reporting.units import load_registry
    from warehouse.reference import load_reference

    engine = warehouse.engine
    upgrade(engine)
    assert _statistics(engine, LOADED_TABLES) == set()
    load_reference(engine, [programme_for_year(YEAR)], load_registry())
    assert {"unit", "unit_lineage"} <= _statistics(engine, ("unit", "unit_lineage"))

    run = open_collect_run(engine, year=YEAR, quarter=1, inbox="inbox", flow_run_id=None)
    at = dt.datetime(YEAR, 4, 2, 3, tzinfo=dt.timezone.utc)
    arrivals = [Arrival(f"{n:064x}", f"CQ00{n}.xlsx", 100, f"archive/{n}.xlsx", at) for n in (1, 2)]
    units = {arrivals[0].sha256: "CQ001", arrivals[1].sha256: "CQ002"}
    load_batch(
        engine, collect_run_id=run, year=YEAR, quarter=1, arrivals=arrivals,
        status={arrivals[0].sha256: "accepted_with_warnings", arrivals[1].sha256: "rejected"},
        unit_code=units, template_version={a.sha256: "CTr135-2023.v2" for a in arrivals},
        findings=[{"submission_id": a.sha256, "rule_id": "r", "severity": s, "sheet": "Chỉ tiêu", "cell": "D7",
                   "value": "1", "message_vi": "Kiểm tra lại"} for a, s in zip(arrivals, ("warning", "error"))],
        indicator_facts=pd.DataFrame([{"submission_id": arrivals[0].sha256, "indicator_code": "inspections",
                                       "value": 2.0, "ytd": 2.0, "plan": None}]),
        task_facts=pd.DataFrame([{"submission_id": arrivals[0].sha256, "task_code": "NV01", "content": "Nhiệm vụ",
                                  "source_code": "ctr135", "status_code": "in_progress", "completed_on": None,
                                  "note": None}]),
    )
    close_collect_run(engine, run, {"files_seen": 2, "files_new": 2, "accepted": 0,
                                    "accepted_with_warnings": 1, "rejected": 1})
    assert _statistics(engine, LOADED_TABLES) == set(LOADED_TABLES)
