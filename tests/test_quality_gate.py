"""The quality gate on real workbooks: each defect gives exactly its rule, on the clerk's own cell."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from expectations.cross_quarter import History
from expectations.gate import check_batch
from reporting import layout as L
from reporting.identity import SHEET_IDENTITY
from reporting.periods import Period
from reporting.units import Registry
from tasks.workbook_reader import read_workbooks
from tests.workbooks import PROGRAMME, REGISTRY, default_plans, default_values, indicator_cell, save, submission

Q1 = Period(2023, 1)
TASK = ("NV01", "Học tập nghị quyết", "ctr135", "completed", dt.date(2023, 2, 1))
IND, TSK, INFO = L.SHEET_INDICATORS, L.SHEET_TASKS, L.SHEET_INFO


def _agency(**changes):
    values = default_values("agencies")
    values.update(changes)
    return {"values": values, "ytd": default_values("agencies")}


def _enterprise(ytd=None, **changes):
    values = default_values("enterprises")
    values.update(changes)
    base = default_values("enterprises")
    base.update(ytd or {})
    return {"values": values, "ytd": base}


def _plans(**changes):
    plans = default_plans("enterprises")
    plans.update(changes)
    return plans


def _cell(group, code, column="value"):
    return indicator_cell(group, code, column)


# The registry as it was when CQ003's template was handed out, before the unit was renamed.
BEFORE_RENAME = Registry(tuple(
    dataclasses.replace(v, name_vi="Chi bộ Sở Tài chính (cũ)") if v.unit_code == "CQ003" else v
    for v in REGISTRY.versions
), "before-rename")


# id -> (unit, workbook kwargs, expected {(rule_id, sheet, cell)}, expected status)
CASES = {
    "clean-agency": ("CQ003", {"tasks": [TASK]}, set()),
    "clean-enterprise": ("DN001", {"tasks": [TASK]}, set()),
    "date-typed-as-text": ("CQ003", {"tasks": [TASK[:4] + ("15/02/2023",)]}, set()),
    "vietnamese-number-text": ("DN001", _enterprise(revenue_bn_vnd="1.234,5", ytd={"revenue_bn_vnd": "1.234,5"}), set()),
    "money-with-unit-words": ("DN001", _enterprise(revenue_bn_vnd="500 triệu", budget_paid_bn_vnd=0.1,
                                                   ytd={"revenue_bn_vnd": "0,5 tỷ đồng", "budget_paid_bn_vnd": 0.1}), set()),
    "count-with-its-own-unit": ("DN001", _enterprise(workers="1.280 người"), set()),
    "unit-word-in-a-count": ("CQ003", _agency(inspections="2 tỷ"), {("indicator.value_not_number", IND, _cell("agencies", "inspections"))}),
    "template-version": ("CQ003", {"info": {"template_version": "CTr135-2023.v1"}},
                         {("identity.template_version", INFO, "B3")}),
    "programme": ("CQ003", {"info": {"programme_code": "CTr135-2022"}}, {("identity.programme", INFO, "B4")}),
    "unit-unknown": ("CQ003", {"info": {"unit_code": "XX999"}},
                     {("identity.unit_known", INFO, "B5"), ("identity.unit_code_changed", INFO, "B5")}),
    "unit-merged-away": ("CQ003", {"info": {"unit_code": "CQ049"}},
                         {("identity.unit_merged", INFO, "B5"), ("identity.unit_code_changed", INFO, "B5"),
                          ("identity.unit_name_other_unit", INFO, "B6")}),
    "unit-merged-away-own-template": ("CQ049", {}, {("identity.unit_merged", INFO, "B5")}),
    "unit-missing": ("CQ003", {"info": {"unit_code": None}}, {("identity.unit_code_missing", INFO, "B5")}),
    "unit-code-of-another-unit": ("CQ003", {"info": {"unit_code": "CQ004"}},
                                  {("identity.unit_code_changed", INFO, "B5"), ("identity.unit_name_other_unit", INFO, "B6")}),
    "unit-name-of-another-unit": ("CQ003", {"info": {"unit_name": "Chi bộ Sở Kế hoạch và Đầu tư"}},
                                  {("identity.unit_name_other_unit", INFO, "B6")}),
    "template-missing": ("CQ003", {"without_identity": True}, {("identity.template_missing", None, None)}),
    "identity-altered": ("CQ003", {"cells": {(SHEET_IDENTITY, "B5"): "CQ004"}}, {("identity.template_missing", None, None)}),
    "deadline-edited": ("CQ003", {"info": {"deadline": dt.date(2023, 4, 30)}}, {("structure.locked_cell_changed", INFO, "B11")}),
    "locked-empty-cell-typed": ("CQ003", {"cells": {(IND, "F5"): 7}}, {("structure.locked_cell_changed", IND, "F5")}),
    "task-number-edited": ("CQ003", {"cells": {(TSK, "A5"): 9}}, {("structure.locked_cell_changed", TSK, "A5")}),
    # The template's own period is checked, not what B9 and B10 were typed over with.
    "year-typed-over": ("CQ003", {"info": {"year": 2022}}, {("structure.locked_cell_changed", INFO, "B9")}),
    "quarter-typed-over": ("CQ003", {"info": {"quarter": 2}}, {("structure.locked_cell_changed", INFO, "B10")}),
    "unit-name-edited": ("CQ003", {"info": {"unit_name": "Chi bộ Sở Tài chính (cũ)"}},
                         {("structure.locked_cell_changed", INFO, "B6")}),
    "unit-renamed-since-handout": ("CQ003", {"registry": BEFORE_RENAME}, {("identity.unit_name_differs", INFO, "B6")}),
    "group-label-changed": ("CQ003", {"info": {"unit_group": "Khối doanh nghiệp"}},
                            {("structure.locked_cell_changed", INFO, "B7")}),
    "header-changed": ("CQ003", {"cells": {(IND, "E4"): "Số liệu"}}, {("structure.header_changed", IND, "E4")}),
    "label-changed": ("CQ003", {"cells": {(IND, "C5"): "Đảng viên"}}, {("structure.locked_cell_changed", IND, "C5")}),
    "value-missing": ("CQ003", _agency(inspections=None), {("indicator.value_missing", IND, _cell("agencies", "inspections"))}),
    "value-text": ("CQ003", _agency(inspections="hai cuộc"), {("indicator.value_not_number", IND, _cell("agencies", "inspections"))}),
    "value-ambiguous": ("DN001", _enterprise(revenue_bn_vnd="9.899"),
                        {("indicator.value_ambiguous", IND, _cell("enterprises", "revenue_bn_vnd"))}),
    "income-with-a-decimal-comma-too-many": ("DN001", _enterprise(avg_income_m_vnd="10,555"),
                                             {("indicator.value_ambiguous", IND, _cell("enterprises", "avg_income_m_vnd"))}),
    "count-with-an-english-thousands-comma": ("CQ003", _agency(party_members_end="1,234"),
                                              {("indicator.value_ambiguous", IND, _cell("agencies", "party_members_end"))}),
    "count-with-vietnamese-thousands-dots": ("CQ003", _agency(party_members_end="1.234"), set()),
    "revenue-with-english-grouping-and-decimals": ("DN001", _enterprise(revenue_bn_vnd="1,234.5",
                                                                       ytd={"revenue_bn_vnd": "1.234,5"}), set()),
    "number-with-invisible-characters": ("DN001", _enterprise(revenue_bn_vnd="1.234,5\u200b",
                                                             ytd={"revenue_bn_vnd": "\ufeff1.234,5"}), set()),
    "revenue-typed-in-millions": ("DN001", _enterprise(revenue_bn_vnd=250500, ytd={"revenue_bn_vnd": 250500}),
                                  {("plausibility.out_of_band", IND, _cell("enterprises", "revenue_bn_vnd"))}),
    "value-beyond-any-unit": ("DN001", _enterprise(revenue_bn_vnd=1e308, ytd={"revenue_bn_vnd": 1e308}),
                              {("indicator.value_too_large", IND, _cell("enterprises", "revenue_bn_vnd")),
                               ("indicator.ytd_too_large", IND, _cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    "plan-beyond-any-unit-as-text": ("DN001", {"plans": _plans(social_insurance_bn_vnd="1.000.000.000.000.000")},
                                     {("indicator.plan_too_large", IND,
                                       _cell("enterprises", "social_insurance_bn_vnd", "plan"))}),
    "count-with-a-fraction": ("CQ003", _agency(inspections=2.5),
                              {("indicator.value_too_many_decimals", IND, _cell("agencies", "inspections"))}),
    "count-with-a-fraction-as-text": ("CQ003", _agency(inspections="2,5"),
                                      {("indicator.value_too_many_decimals", IND, _cell("agencies", "inspections"))}),
    "income-to-three-decimals": ("DN001", _enterprise(avg_income_m_vnd=9.555),
                                 {("indicator.value_too_many_decimals", IND, _cell("enterprises", "avg_income_m_vnd"))}),
    "income-to-two-decimals": ("DN001", _enterprise(avg_income_m_vnd=9.55), set()),
    "ytd-with-too-many-decimals": ("DN001", _enterprise(ytd={"revenue_bn_vnd": 1.2345}),
                                   {("indicator.ytd_too_many_decimals", IND, _cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    "value-negative": ("CQ003", _agency(inspections=-1), {("indicator.value_negative", IND, _cell("agencies", "inspections"))}),
    # An accountant's negative typed as text where the figure cannot be negative: told so, not "not a number".
    "revenue-negative-as-text": ("DN001", _enterprise(revenue_bn_vnd="(0,581)"),
                                 {("indicator.value_negative", IND, _cell("enterprises", "revenue_bn_vnd"))}),
    "ytd-missing": ("DN001", _enterprise(ytd={"revenue_bn_vnd": None}),
                    {("indicator.ytd_missing", IND, _cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    "ytd-not-number": ("DN001", _enterprise(ytd={"revenue_bn_vnd": "cả năm"}),
                       {("indicator.ytd_not_number", IND, _cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    "ytd-negative": ("DN001", _enterprise(ytd={"revenue_bn_vnd": -1}),
                     {("indicator.ytd_negative", IND, _cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    "plan-negative": ("DN001", {"plans": _plans(social_insurance_bn_vnd=-2)},
                      {("indicator.plan_negative", IND, _cell("enterprises", "social_insurance_bn_vnd", "plan"))}),
    "plan-ambiguous": ("DN001", {"plans": _plans(social_insurance_bn_vnd="1.250")},
                       {("indicator.plan_ambiguous", IND, _cell("enterprises", "social_insurance_bn_vnd", "plan"))}),
    "template-version-missing": ("CQ003", {"info": {"template_version": None}},
                                 {("identity.template_version_missing", INFO, "B3")}),
    "report-date-in-the-future": ("CQ003", {"info": {"reported_on": dt.date(2099, 1, 5)}},
                                  {("info.reported_on_future", INFO, "B15")}),
    "report-date-before-the-quarter": ("CQ003", {"info": {"reported_on": dt.date(2022, 12, 20)}},
                                       {("info.reported_on_early", INFO, "B15")}),
    "report-date-not-a-date": ("CQ003", {"info": {"reported_on": "mùng 5 tháng 4"}},
                               {("info.reported_on_not_date", INFO, "B15")}),
    "report-date-no-such-day": ("CQ003", {"info": {"reported_on": "31/02/2023"}},
                                {("info.reported_on_not_date", INFO, "B15")}),
    "report-date-typed-as-text": ("CQ003", {"info": {"reported_on": "05/04/2023"}}, set()),
    "phone-not-a-number": ("CQ003", {"info": {"phone": "không có"}}, {("info.phone_invalid", INFO, "B14")}),
    "phone-too-short": ("CQ003", {"info": {"phone": "12"}}, {("info.phone_invalid", INFO, "B14")}),
    "phone-typed-as-a-number": ("CQ003", {"info": {"phone": 912345678}}, set()),
    "phone-with-country-code": ("CQ003", {"info": {"phone": "+84 203.3825.123"}}, set()),
    "note-on-a-row-without-task": ("CQ003", {"tasks": [TASK], "cells": {(TSK, "G7"): "Không phát sinh nhiệm vụ mới"}},
                                   {("task.note_without_task", TSK, "G7")}),
    "totals-not-number": ("CQ003", {"tasks": [TASK], "cells": {(TSK, "J5"): "một"}}, {("task.totals_not_number", TSK, "J5")}),
    "ytd-below-quarter": ("DN001", _enterprise(ytd={"revenue_bn_vnd": 0.5}),
                          {("indicator.ytd_below_quarter", IND, _cell("enterprises", "revenue_bn_vnd", "ytd"))}),
    "plan-missing": ("DN001", {"plans": _plans(avg_income_m_vnd=None)},
                     {("indicator.plan_missing", IND, _cell("enterprises", "avg_income_m_vnd", "plan"))}),
    "plan-text": ("DN001", {"plans": _plans(avg_income_m_vnd="mười triệu")},
                  {("indicator.plan_not_number", IND, _cell("enterprises", "avg_income_m_vnd", "plan"))}),
    "income-plan-out-of-band": ("DN001", {"plans": _plans(avg_income_m_vnd=1.05)},
                                {("plausibility.plan_out_of_band", IND, _cell("enterprises", "avg_income_m_vnd", "plan"))}),
    "income-out-of-band": ("DN001", _enterprise(avg_income_m_vnd=95),
                           {("plausibility.out_of_band", IND, _cell("enterprises", "avg_income_m_vnd"))}),
    "budget-above-revenue": ("DN001", _enterprise(ytd={"budget_paid_bn_vnd": 5}, budget_paid_bn_vnd=5),
                             {("plausibility.budget_paid_bn_vnd_at_most_revenue_bn_vnd", IND,
                               _cell("enterprises", "budget_paid_bn_vnd"))}),
    "indicator-code-changed": ("CQ003", {"cells": {(IND, "B5"): "party_members"}},
                               {("indicator.code_known", IND, "B5"), ("indicator.row_missing", IND, None)}),
    "indicator-of-other-group": ("CQ003", {"cells": {(IND, "B5"): "revenue_bn_vnd"}},
                                 {("indicator.not_for_group", IND, "B5"), ("indicator.row_missing", IND, None),
                                  ("indicator.ytd_missing", IND, "F5")}),
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
    # The helper's clerk typed "Da hoan thanh" and counted the task completed (J9 = 1): told at E5
    # alone, not also "J9 ghi 1 nhưng danh sách nhiệm vụ có 0", which would have them write 0.
    "task-status-invalid-counted-completed": ("CQ003", {"tasks": [TASK[:3] + ("Da hoan thanh",) + TASK[4:]],
                                                        "cells": {(TSK, "J9"): 1}},
                                              {("task.status_invalid", TSK, "E5")}),
    "task-source-invalid-counted-in-its-source": ("CQ003", {"tasks": [TASK[:2] + ("CTr 135",) + TASK[3:]],
                                                            "cells": {(TSK, "J6"): 1}},
                                                  {("task.source_invalid", TSK, "D5")}),
    "task-completed-undated": ("CQ003", {"tasks": [TASK[:4] + (None,)]}, {("task.completed_on_missing", TSK, "F5")}),
    "task-date-not-a-date": ("CQ003", {"tasks": [TASK[:4] + ("sắp xong",)]}, {("task.completed_on_not_date", TSK, "F5")}),
    "task-date-out-of-range": ("CQ003", {"tasks": [TASK[:4] + (dt.date(2022, 5, 1),)]},
                               {("task.completed_on_out_of_range", TSK, "F5")}),
    "task-open-dated-in-future": ("CQ003", {"tasks": [TASK[:3] + ("in_progress", dt.date(2023, 6, 30))]},
                                  {("task.open_dated_in_future", TSK, "F5")}),
    "task-stopped-without-reason": ("CQ003", {"tasks": [TASK[:3] + ("stopped", None)]}, {("task.reason_missing", TSK, "G5")}),
    "task-stopped-with-reason": ("CQ003", {"tasks": [TASK[:3] + ("stopped", None, "Cấp trên điều chỉnh kế hoạch")]}, set()),
    "totals-mismatch": ("CQ003", {"tasks": [TASK], "cells": {(TSK, "J5"): 5}}, {("task.totals_mismatch", TSK, "J5")}),
    "totals-missing": ("CQ003", {"tasks": [TASK], "cells": {(TSK, "J9"): None}}, {("task.totals_missing", TSK, "J9")}),
}
WARNINGS = {
    "unit-renamed-since-handout", "income-out-of-band", "budget-above-revenue", "report-date-in-the-future",
    "report-date-before-the-quarter", "report-date-not-a-date", "report-date-no-such-day", "phone-not-a-number",
    "phone-too-short", "note-on-a-row-without-task", "revenue-typed-in-millions",
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
def test_each_defect_names_exactly_its_rule_and_cell(checked, case):
    assert _found(checked, case) == CASES[case][2]
    expected = "accepted_with_warnings" if case in WARNINGS else "rejected" if CASES[case][2] else "accepted"
    assert checked.status[case] == expected


@pytest.mark.parametrize(("case", "rule"), [
    ("not-a-workbook", "file.not_a_workbook"),
    ("sheet-missing", "file.sheet_missing"),
], ids=["not-a-workbook", "sheet-missing"])
def test_unreadable_files_are_rejected_with_a_reason(checked, case, rule):
    assert {f.rule_id for f in checked.findings if f.submission_id == case} == {rule}
    assert checked.status[case] == "rejected"


def test_last_quarters_template_typed_over_is_told_to_use_this_quarters(tmp_path):
    """Q1's template with B10 typed over as 2, sent for Q2: the template's quarter is what is wrong."""
    q2 = Period(2023, 2)
    path = save(submission("CQ003", Q1, info={"quarter": 2}), tmp_path / "copy-of-q1.xlsx")
    checked = check_batch(read_workbooks([("copy", path)]), ["copy"], PROGRAMME, REGISTRY, q2)

    assert {(f.rule_id, f.cell) for f in checked.findings if f.severity == "error"} == {("identity.period_quarter", "B10")}
    [finding] = [f for f in checked.findings if f.rule_id == "identity.period_quarter"]
    assert finding.message_vi.startswith("Tệp là mẫu báo cáo Quý I/2023 (ô B10), nhưng được nộp cho Quý II/2023.")


def test_a_dissolved_unit_is_told_it_reports_no_more(tmp_path):
    """DN023 as if dissolved at the end of 2022 (no later version, no successor): its file is told
    that, not "not in the list of units in force" and not each row read as if it were due."""
    dissolved = Registry(tuple(v for v in REGISTRY.versions if not (v.unit_code == "DN023" and v.valid_to is None)),
                         REGISTRY.source_sha256)
    path = save(submission("DN023", Q1, registry=dissolved, values={"workers": "nhiều"}), tmp_path / "DN023.xlsx")
    # Its last template, sent for the next quarter: not also told to use that quarter's template.
    checked = check_batch(read_workbooks([("d", path)]), ["d"], PROGRAMME, dissolved, Period(2023, 2))

    assert {(f.rule_id, f.cell) for f in checked.findings} == {("identity.unit_ended", "B5")}
    [ended] = checked.findings
    assert ended.message_vi.startswith(
        'Đơn vị "DN023" (ô B5) đã thôi hoạt động theo danh sách đơn vị (ngày hoạt động cuối cùng 31/12/2022), '
        "nên không phải nộp báo cáo Quý II/2023; không cần sửa hay gửi lại tệp."), ended.message_vi


def test_another_quarters_template_is_told_only_what_makes_it_the_wrong_template(tmp_path):
    """Q1's template sent for Q2, last quarter's figures in it: its tasks completed in Q1 are not
    "outside the quarter" nor its year-to-date "inconsistent"; the clerk reads one thing to do."""
    q2 = Period(2023, 2)
    path = save(submission("CQ003", Q1), tmp_path / "q1.xlsx")
    history = History(indicators=pd.DataFrame([("CQ003", 1, "inspections", 7.0, 7.0)],
                                              columns=["unit_code", "quarter", "indicator_code", "value", "ytd_value"]))
    checked = check_batch(read_workbooks([("copy", path)]), ["copy"], PROGRAMME, REGISTRY, q2, history)

    assert {(f.rule_id, f.cell) for f in checked.findings} == {("identity.period_quarter", "B10")}


def test_messages_are_vietnamese_and_name_the_cell_and_value(checked):
    finding = next(f for f in checked.findings if f.submission_id == "value-text")
    assert finding.value == "hai cuộc"
    assert finding.cell in finding.message_vi and "hai cuộc" in finding.message_vi
    assert "không phải là số" in finding.message_vi
    assert 'không phát sinh thì nhập 0 (không gõ "-" hay "không" thay cho số 0).' in finding.message_vi
    ambiguous = next(f for f in checked.findings if f.submission_id == "value-ambiguous")
    assert ("không rõ là 9.899 (khoảng 9,9 nghìn tỷ đồng) hoặc 9,899 (khoảng 9,9 tỷ đồng)"
            in ambiguous.message_vi), ambiguous.message_vi
    for case, shown, allowed in (("count-with-a-fraction", "2,5", "chỉ nhận số nguyên"),
                                 ("count-with-a-fraction-as-text", "2,5", "chỉ nhận số nguyên"),
                                 ("income-to-three-decimals", "9,555", "chỉ nhận tối đa 2 chữ số thập phân")):
        fraction = next(f for f in checked.findings if f.submission_id == case)
        assert f"có giá trị {shown}, nhưng chỉ tiêu này {allowed}." in fraction.message_vi, fraction.message_vi
    band = next(f for f in checked.findings if f.submission_id == "income-out-of-band")
    assert "95" in band.message_vi and "3,0 – 60,0" in band.message_vi
    source = next(f for f in checked.findings if f.submission_id == "task-source-invalid")
    assert source.value == "Tự nghĩ ra" and '"Tự nghĩ ra"' in source.message_vi
    for f in checked.findings:
        assert "{" not in f.message_vi, f.message_vi


def test_severities_are_the_expectations_own(checked):
    assert {f.severity for f in checked.findings if f.submission_id in WARNINGS} == {"warning"}
    assert {f.severity for f in checked.findings if f.submission_id == "value-text"} == {"error"}


def test_only_passing_submissions_have_facts_and_text_numbers_are_read(checked):
    with_facts = set(checked.indicator_facts["submission_id"])
    assert with_facts == {case for case, s in checked.status.items() if s != "rejected"}
    assert WARNINGS <= with_facts, "warnings do not block"
    typed = checked.task_facts.set_index("submission_id").loc["date-typed-as-text"]
    assert typed["completed_on"] == dt.date(2023, 2, 15)
    revenue = checked.indicator_facts.set_index(["submission_id", "indicator_code"]).loc[
        ("vietnamese-number-text", "revenue_bn_vnd")]
    assert (revenue["value"], revenue["ytd"]) == (1234.5, 1234.5)
    pasted = checked.indicator_facts.set_index(["submission_id", "indicator_code"]).loc[
        ("number-with-invisible-characters", "revenue_bn_vnd")]
    assert (pasted["value"], pasted["ytd"]) == (1234.5, 1234.5)
    words = checked.indicator_facts.set_index(["submission_id", "indicator_code"]).loc[
        ("money-with-unit-words", "revenue_bn_vnd")]
    assert (words["value"], words["ytd"]) == (0.5, 0.5)
    counted = checked.indicator_facts.set_index(["submission_id", "indicator_code"]).loc[
        ("count-with-its-own-unit", "workers")]
    assert counted["value"] == 1280


def test_values_and_messages_carry_no_english_word(checked):
    for f in checked.findings:
        assert f.value not in ("None", "nan", "NaN", "True", "False", "missing", "text", "unusable"), f
        if f.cell:
            assert f.value is not None, f
    empty = next(f for f in checked.findings if f.submission_id == "task-completed-undated")
    assert empty.value == "(để trống)" and empty.rule_id == "task.completed_on_missing"


def test_the_identity_names_the_unit_the_template_was_issued_to(checked):
    changed = next(f for f in checked.findings if f.rule_id == "identity.unit_code_changed"
                   and f.submission_id == "unit-code-of-another-unit")
    assert changed.value == "CQ004"
    assert "CQ003 - Đảng bộ Sở Tài chính" in changed.message_vi
    assert checked.unit_code["unit-code-of-another-unit"] == "CQ003", "recorded under the unit it was issued to"
    assert checked.unit_code["unit-unknown"] == "CQ003"
    other = next(f for f in checked.findings if f.rule_id == "identity.unit_name_other_unit"
                 and f.submission_id == "unit-name-of-another-unit")
    assert "CQ004" in other.message_vi and "CQ003" in other.message_vi and other.severity == "error"
    assert other.value == "Chi bộ Sở Kế hoạch và Đầu tư" and f'"{other.value}"' in other.message_vi
    deadline = next(f for f in checked.findings if f.submission_id == "deadline-edited")
    assert deadline.value == "30/04/2023" and "10/04/2023" in deadline.message_vi


def test_a_merged_units_own_template_says_when_it_merged_and_who_reports_for_it(checked):
    """It said "đã hợp nhất vào CQ001 trước Quý I/2024" of a merger on 29/02/2024."""
    [merged] = [f for f in checked.findings if f.submission_id == "unit-merged-away-own-template"]
    assert "đã hợp nhất vào CQ001 (Đảng bộ Văn phòng Ủy ban nhân dân tỉnh) " in merged.message_vi and "từ ngày 01/01/2023, nên không còn báo cáo riêng" \
        in merged.message_vi, merged.message_vi


def test_a_plan_typed_as_text_says_how_plans_are_typed(checked):
    [told] = [f for f in checked.findings if f.submission_id == "plan-text"]
    assert told.message_vi.endswith("kế hoạch nhập theo đơn vị tính của chỉ tiêu (triệu đồng/người/tháng), không nhập "
                                    "dạng phần trăm."), told.message_vi


def test_a_missing_indicator_row_does_not_blame_a_clerk_whose_template_never_had_it(checked):
    """An indicator added to the year after the templates went out was told "Không xóa dòng trong mẫu"."""
    told = [f for f in checked.findings if f.rule_id == "indicator.row_missing"]
    assert told and all("chương trình được bổ sung chỉ tiêu sau khi phát mẫu" in f.message_vi for f in told)
