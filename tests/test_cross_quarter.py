"""Checks against the unit's earlier quarters: year-to-date, key tasks carried, outliers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from expectations.cross_quarter import History
from expectations.gate import check_batch
from reporting import layout as L
from reporting.periods import Period
from tasks.workbook_reader import read_workbooks
from tests.workbooks import PROGRAMME, REGISTRY, default_plans, default_values, indicator_cell, save, submission

Q2 = Period(2023, 2)
NV01 = ("NV01", "Học tập nghị quyết", "ctr135", "completed", dt.date(2023, 2, 1))
NV02 = ("NV02", "Kiện toàn tổ chức", "unit", "in_progress", None)
IND, TSK = L.SHEET_INDICATORS, L.SHEET_TASKS

HISTORY = History(
    indicators=pd.DataFrame([
        ("CQ003", 1, "inspections", 2.0, 2.0, None),
        ("DN001", 1, "workers", 100.0, None, None),
        ("DN001", 1, "revenue_bn_vnd", 50.0, 50.0, None),
        ("DN001", 1, "avg_income_m_vnd", 6.8, None, 10.0),
        ("DN001", 1, "profit_bn_vnd", 6.658, 6.658, None),
        ("DN001", 1, "social_insurance_bn_vnd", 0.0, 0.0, 10.0),
    ], columns=["unit_code", "quarter", "indicator_code", "value", "ytd_value", "plan_value"]),
    tasks=pd.DataFrame([
        ("CQ003", 1, "NV01", "completed"),
        ("CQ003", 1, "NV02", "in_progress"),
    ], columns=["unit_code", "quarter", "task_code", "status_code"]),
)


def _agency(inspections_ytd, tasks=(NV01, NV02)):
    values = default_values("agencies", 1)
    ytd = dict(values, inspections=inspections_ytd)
    return {"values": values, "ytd": ytd, "tasks": list(tasks)}


def _enterprise(workers):
    values = dict(default_values("enterprises", 10), workers=workers, revenue_bn_vnd=60)
    return {"values": values, "ytd": dict(values, revenue_bn_vnd=110)}


CASES = {
    "consistent": ("CQ003", _agency(3), set()),
    "ytd-decreased": ("CQ003", _agency(1), {("crossq.ytd_decreased", IND, indicator_cell("agencies", "inspections", "ytd"))}),
    "ytd-mismatch": ("CQ003", _agency(5), {("crossq.ytd_mismatch", IND, indicator_cell("agencies", "inspections", "ytd"))}),
    "task-vanished": ("CQ003", _agency(3, tasks=(NV01,)), {("crossq.task_vanished", TSK, None)}),
    "task-uncompleted": ("CQ003", _agency(3, tasks=(NV01[:3] + ("in_progress", None), NV02)),
                         {("crossq.task_uncompleted", TSK, "E5")}),
    "task-status-cleared": ("CQ003", _agency(3, tasks=(NV01[:3] + (None, None), NV02)),
                            {("task.status_missing", TSK, "E5")}),
    "task-stopped-with-reason": ("CQ003", _agency(3, tasks=(NV01, NV02[:3] + ("stopped", None, "Sáp nhập đơn vị"))), set()),
    "enterprise-steady": ("DN001", _enterprise(110), set()),
    "workers-jump": ("DN001", _enterprise(400), {("plausibility.change_vs_previous", IND, indicator_cell("enterprises", "workers"))}),
    "revenue-drop": ("DN001", {"values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=5.5,
                                              budget_paid_bn_vnd=1),
                               "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=55.5)},
                     {("plausibility.change_vs_previous", IND, indicator_cell("enterprises", "revenue_bn_vnd"))}),
    # 49,000 tỷ typed on a computer set to English, after 50 last quarter: stored as 49000.
    "revenue-separator-slip": ("DN001", {"values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=49000),
                                         "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=49050)},
                               {("plausibility.separator_slip", IND, indicator_cell("enterprises", "revenue_bn_vnd"))}),
    # The quarter's value slipped, its year-to-date right (50 + 60): one error, on the value.
    "revenue-slip-ytd-right": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=60000),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=110)},
        {("plausibility.separator_slip", IND, indicator_cell("enterprises", "revenue_bn_vnd"))}),
    # 7 triệu typed in đồng, after 6,8 last quarter.
    "income-in-dong": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=60, avg_income_m_vnd=7000000),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=110)},
        {("plausibility.separator_slip", IND, indicator_cell("enterprises", "avg_income_m_vnd"))}),
    # A profit (no change limit of its own) of 6,658 tỷ after 6,658, typed on a computer set to English.
    "profit-separator-slip": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=60, profit_bn_vnd=6658),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=110, profit_bn_vnd=6664.658)},
        {("plausibility.separator_slip", IND, indicator_cell("enterprises", "profit_bn_vnd"))}),
    # The year-to-date 110 typed on a computer set to English as 110.000.
    "revenue-ytd-slip": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=60),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=110000)},
        {("crossq.ytd_separator_slip", IND, indicator_cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    # Text two readings fit: the year-to-date that is last quarter's plus this one (50 + 151,047);
    # a profit near last quarter's (no limit of its own); an accountant's negative.
    "text-read-by-the-sum-and-last-quarter": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=151.047, profit_bn_vnd="6,912"),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd="201,047", profit_bn_vnd=13.57)},
        {("indicator.ytd_read_by_context", IND, indicator_cell("enterprises", "revenue_bn_vnd", "ytd")),
         ("indicator.value_read_by_context", IND, indicator_cell("enterprises", "profit_bn_vnd"))}),
    "accountants-negative": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=60, profit_bn_vnd="(0,581)"),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=110, profit_bn_vnd=6.077)},
        set()),
    # A thousand times the last quarter, beyond the band: "60,125" can only be 60.125 tỷ.
    "revenue-text-read-by-last-quarter": ("DN001", {
        "values": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd="60,125"),
        "ytd": dict(default_values("enterprises", 10), workers=110, revenue_bn_vnd=110.125)},
        {("indicator.value_read_by_context", IND, indicator_cell("enterprises", "revenue_bn_vnd"))}),
    # "105%" typed in the income plan cell (10 last quarter): a spreadsheet stores 1,05.
    "plan-typed-as-percent": ("DN001", {**_enterprise(110), "plans": dict(default_plans("enterprises"), avg_income_m_vnd=1.05)},
                              {("plausibility.plan_out_of_band", IND, indicator_cell("enterprises", "avg_income_m_vnd", "plan"))}),
    # A year's total (no band of its own for a plan) typed ten times last quarter's plan.
    "plan-tenfold": ("DN001", {**_enterprise(110), "plans": dict(default_plans("enterprises"), social_insurance_bn_vnd=100)},
                     {("plausibility.plan_change_vs_previous", IND,
                       indicator_cell("enterprises", "social_insurance_bn_vnd", "plan"))}),
    "plan-revised-a-little": ("DN001", {**_enterprise(110), "plans": dict(default_plans("enterprises"), avg_income_m_vnd=12)},
                              set()),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    items = [(case, save(submission(unit, Q2, **kwargs), inbox / f"{case}.xlsx")) for case, (unit, kwargs, _) in CASES.items()]
    return check_batch(read_workbooks(items), [sid for sid, _ in items], PROGRAMME, REGISTRY, Q2, HISTORY)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_cross_quarter_rule(checked, case):
    found = {(f.rule_id, f.sheet, f.cell) for f in checked.findings if f.submission_id == case}
    assert found == CASES[case][2]


def test_warnings_accept_and_errors_reject(checked):
    assert checked.status["ytd-mismatch"] == "accepted_with_warnings"
    assert checked.status["workers-jump"] == "accepted_with_warnings"
    assert checked.status["ytd-decreased"] == "rejected"
    assert checked.status["task-vanished"] == "rejected"
    jump = next(f for f in checked.findings if f.submission_id == "workers-jump")
    assert "gấp 4,0 lần" in jump.message_vi and "(100)" in jump.message_vi
    vanished = next(f for f in checked.findings if f.submission_id == "task-vanished")
    assert vanished.value == "NV02" and "NV02" in vanished.message_vi


def test_a_plan_typed_as_a_percentage_is_an_error_and_a_plan_revised_a_warning(checked):
    """1,05 loaded as DN003's income plan moved the bloc's plan and made 97% of plan read 126%."""
    assert checked.status["plan-typed-as-percent"] == "rejected"
    assert checked.status["plan-tenfold"] == "accepted_with_warnings"
    told = {f.rule_id: f for f in checked.findings if f.submission_id == "plan-typed-as-percent"}
    band = told["plausibility.plan_out_of_band"]
    assert band.value == "1,05" and "= 1,05, ngoài khoảng thường gặp (3,0 – 60,0)" in band.message_vi, band.message_vi
    assert "không nhập dạng phần trăm" in band.message_vi
    [change] = [f for f in checked.findings if f.submission_id == "plan-tenfold"]
    assert "= 100, gấp 10,0 lần kế hoạch năm đã báo cáo quý trước (10)" in change.message_vi, change.message_vi


def test_a_thousand_times_the_last_quarter_is_an_error_naming_the_likely_number(checked):
    """A wrong figure that swamps the bloc's total must not load with a warning only."""
    assert checked.status["revenue-separator-slip"] == "rejected"
    [slip] = [f for f in checked.findings if f.submission_id == "revenue-separator-slip"]
    assert "= 49000, gấp khoảng 1.000 lần quý trước (50): rất có thể số đúng là 49 " in slip.message_vi, slip.message_vi
    [income] = [f for f in checked.findings if f.submission_id == "income-in-dong"]
    assert ("= 7000000, gấp khoảng 1.000.000 lần quý trước (6,8): rất có thể số đúng là 7 triệu đồng/người/tháng, "
            "nhưng đã nhập theo một đơn vị nhỏ hơn đơn vị tính của ô (ví dụ triệu đồng thay cho tỷ đồng, đồng thay cho "
            "triệu đồng)") in income.message_vi, income.message_vi
    assert {checked.status[c] for c in ("revenue-slip-ytd-right", "income-in-dong", "revenue-ytd-slip",
                                        "profit-separator-slip")} == {"rejected"}
    [ytd] = [f for f in checked.findings if f.submission_id == "revenue-ytd-slip"]
    assert "là 110000, đúng bằng 1.000 lần lũy kế quý trước cộng số trong quý (110)" in ytd.message_vi
    assert checked.status["revenue-text-read-by-last-quarter"] == "accepted_with_warnings"
    [told] = [f for f in checked.findings if f.submission_id == "revenue-text-read-by-last-quarter"]
    assert told.value == "60,125" and ('ghi "60,125" dạng chữ, có hai cách hiểu; đã được đọc là 60,125 tỷ đồng '
                                       "(khoảng 60 tỷ đồng), cách hiểu duy nhất hợp với quý trước") in told.message_vi, \
        told.message_vi
    facts = checked.indicator_facts.set_index(["submission_id", "indicator_code"])
    assert facts.loc[("text-read-by-the-sum-and-last-quarter", "revenue_bn_vnd"), "ytd"] == 201.047
    assert facts.loc[("text-read-by-the-sum-and-last-quarter", "profit_bn_vnd"), "value"] == 6.912
    assert facts.loc[("accountants-negative", "profit_bn_vnd"), "value"] == -0.581
    facts = checked.indicator_facts
    read = facts[(facts["submission_id"] == "revenue-text-read-by-last-quarter")
                 & (facts["indicator_code"] == "revenue_bn_vnd")]["value"]
    assert read.tolist() == [60.125]


def test_without_history_the_cross_quarter_rules_are_skipped(tmp_path):
    path = save(submission("CQ003", Q2, **_agency(1, tasks=(NV01,))), tmp_path / "a.xlsx")
    checked = check_batch(read_workbooks([("a", path)]), ["a"], PROGRAMME, REGISTRY, Q2)
    assert not [f for f in checked.findings if f.rule_id.startswith("crossq.")]


def test_a_change_is_told_with_both_numbers_written_alike(checked):
    [drop] = [f for f in checked.findings if f.submission_id == "revenue-drop"]
    assert "= 5,5, chỉ bằng 11% so với quý trước (50)." in drop.message_vi, drop.message_vi
