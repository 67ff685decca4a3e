"""The quality gate on real workbooks: each defect gives its rule, on the clerk's own cell."""

from __future__ import annotations

import datetime as dt

import pytest

from expectations.gate import check_batch
from tasks import layout as L
from tasks.periods import Period
from tasks.workbook_reader import read_workbooks
from tests.workbooks import PROGRAMME, REGISTRY, default_plans, default_values, indicator_cell, save, submission

Q1 = Period(2023, 1)
TASK = ("NV01", "Học tập nghị quyết", "ctr135", "completed", dt.date(2023, 2, 1))
IND, TSK, INFO = L.SHEET_INDICATORS, L.SHEET_TASKS, L.SHEET_INFO


def _values(**changes):
    values = default_values("agencies")
    values.update(changes)
    return values


def _plans(**changes):
    plans = default_plans("enterprises")
    plans.update(changes)
    return plans


# id -> (unit, workbook kwargs, expected {(rule_id, sheet, cell)})
CASES = {
    "clean-agency": ("CQ003", {"tasks": [TASK]}, set()),
    "clean-enterprise": ("DN001", {"tasks": [TASK]}, set()),
    "date-typed-as-text": ("CQ003", {"tasks": [TASK[:4] + ("15/02/2023",)]}, set()),
    "template-version": ("CQ003", {"info": {"template_version": "CTr135-2022.v1"}},
                         {("identity.template_version", INFO, "B3")}),
    "programme": ("CQ003", {"info": {"programme_code": "CTr135-2022"}}, {("identity.programme", INFO, "B4")}),
    "unit-unknown": ("CQ003", {"info": {"unit_code": "XX999"}}, {("identity.unit_known", INFO, "B5")}),
    "unit-merged-away": ("CQ003", {"info": {"unit_code": "CQ049"}}, {("identity.unit_known", INFO, "B5")}),
    "unit-missing": ("CQ003", {"info": {"unit_code": None}}, {("identity.unit_code_missing", INFO, "B5")}),
    "year": ("CQ003", {"info": {"year": 2022}}, {("identity.period_year", INFO, "B9")}),
    "quarter": ("CQ003", {"info": {"quarter": 2}}, {("identity.period_quarter", INFO, "B10")}),
    "value-missing": ("CQ003", {"values": _values(inspections=None)},
                      {("indicator.value_missing", IND, indicator_cell("agencies", "inspections"))}),
    "value-text": ("CQ003", {"values": _values(inspections="2 cuộc")},
                   {("indicator.value_not_number", IND, indicator_cell("agencies", "inspections"))}),
    "value-negative": ("CQ003", {"values": _values(inspections=-1)},
                       {("indicator.value_negative", IND, indicator_cell("agencies", "inspections"))}),
    "plan-missing": ("DN001", {"plans": _plans(avg_income_m_vnd=None)},
                     {("indicator.plan_missing", IND, indicator_cell("enterprises", "avg_income_m_vnd", "plan"))}),
    "plan-text": ("DN001", {"plans": _plans(avg_income_m_vnd="10 triệu")},
                  {("indicator.plan_not_number", IND, indicator_cell("enterprises", "avg_income_m_vnd", "plan"))}),
    "indicator-code-changed": ("CQ003", {"cells": {(IND, "B5"): "party_members"}},
                               {("indicator.code_known", IND, "B5"), ("indicator.row_missing", IND, None)}),
    "indicator-of-other-group": ("CQ003", {"cells": {(IND, "B5"): "revenue_bn_vnd"}},
                                 {("indicator.not_for_group", IND, "B5"), ("indicator.row_missing", IND, None)}),
    "task-code-missing": ("CQ003", {"tasks": [(None,) + TASK[1:]]}, {("task.code_missing", TSK, "B5")}),
    "task-code-duplicate": ("CQ003", {"tasks": [TASK, TASK]},
                            {("task.code_duplicate", TSK, "B5"), ("task.code_duplicate", TSK, "B6")}),
    "task-content-missing": ("CQ003", {"tasks": [("NV01", None) + TASK[2:]]}, {("task.content_missing", TSK, "C5")}),
    "task-source-invalid": ("CQ003", {"tasks": [TASK[:2] + ("Tự nghĩ ra",) + TASK[3:]]},
                            {("task.source_invalid", TSK, "D5")}),
    "task-source-missing": ("CQ003", {"tasks": [TASK[:2] + (None,) + TASK[3:]]}, {("task.source_missing", TSK, "D5")}),
    "task-status-invalid": ("CQ003", {"tasks": [TASK[:3] + ("Xong rồi",) + TASK[4:]]},
                            {("task.status_invalid", TSK, "E5")}),
    "task-status-missing": ("CQ003", {"tasks": [TASK[:3] + (None, None)]}, {("task.status_missing", TSK, "E5")}),
    "task-completed-undated": ("CQ003", {"tasks": [TASK[:4] + (None,)]}, {("task.completed_on_missing", TSK, "F5")}),
    "task-date-not-a-date": ("CQ003", {"tasks": [TASK[:4] + ("sắp xong",)]}, {("task.completed_on_not_date", TSK, "F5")}),
    "task-date-out-of-range": ("CQ003", {"tasks": [TASK[:4] + (dt.date(2022, 5, 1),)]},
                               {("task.completed_on_out_of_range", TSK, "F5")}),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """Every case in one batch, as the collect flow checks them: one run per suite."""
    inbox = tmp_path_factory.mktemp("inbox")
    items = []
    for case, (unit, kwargs, _) in CASES.items():
        items.append((case, save(submission(unit, Q1, **kwargs), inbox / f"{case}.xlsx")))
    (inbox / "not-a-workbook.xlsx").write_bytes(b"%PDF-1.4 this is not a spreadsheet")
    items.append(("not-a-workbook", inbox / "not-a-workbook.xlsx"))
    no_tasks = submission("CQ003", Q1)
    del no_tasks[L.SHEET_TASKS]
    items.append(("sheet-missing", save(no_tasks, inbox / "sheet-missing.xlsx")))
    parsed = read_workbooks(items)
    return check_batch(parsed, [sid for sid, _ in items], PROGRAMME, REGISTRY, Q1)


def _found(checked, case):
    return {(f.rule_id, f.sheet, f.cell) for f in checked.findings if f.submission_id == case}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_defect_names_its_rule_and_cell(checked, case):
    assert _found(checked, case) == CASES[case][2]
    assert checked.status[case] == ("rejected" if CASES[case][2] else "accepted")


@pytest.mark.parametrize(("case", "rule"), [
    ("not-a-workbook", "file.unreadable"),
    ("sheet-missing", "file.sheet_missing"),
], ids=["not-a-workbook", "sheet-missing"])
def test_unreadable_files_are_rejected_with_a_reason(checked, case, rule):
    assert {f.rule_id for f in checked.findings if f.submission_id == case} == {rule}
    assert checked.status[case] == "rejected"


def test_messages_are_vietnamese_and_name_the_cell_and_value(checked):
    finding = next(f for f in checked.findings if f.submission_id == "value-text")
    assert finding.value == "2 cuộc"
    assert finding.cell in finding.message_vi and "2 cuộc" in finding.message_vi
    assert "không phải là số" in finding.message_vi
    for f in checked.findings:
        assert "{" not in f.message_vi, f.message_vi


def test_only_passing_submissions_have_facts(checked):
    with_facts = set(checked.indicator_facts["submission_id"])
    assert with_facts == {case for case, s in checked.status.items() if s != "rejected"}
    assert {"clean-agency", "clean-enterprise", "date-typed-as-text"} <= with_facts
    typed = checked.task_facts.set_index("submission_id").loc["date-typed-as-text"]
    assert typed["completed_on"] == dt.date(2023, 2, 15)
