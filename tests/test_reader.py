"""Reading workbooks with python-calamine: values with the cells they came from."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from reporting import layout as L
from reporting.periods import Period
from tasks import workbook_reader
from tasks.workbook_reader import read_workbooks
from tests.workbooks import default_values, indicator_cell, save, submission

Q3 = Period(2023, 3)


def test_values_keep_their_cells_and_types(tmp_path):
    values = default_values("enterprises", 2)
    values["revenue_bn_vnd"] = 1234.567
    path = save(submission("DN001", Q3, values=values, tasks=[
        ("NV01", "Nội dung", "ctr135", "completed", dt.date(2023, 8, 1)),
        ("NV02", "Nội dung", "unit", "in_progress", None),
    ]), tmp_path / "a.xlsx")

    parsed = read_workbooks([("a", path)])

    info = parsed.info.iloc[0]
    assert (info["unit_code"], info["year"], info["quarter"], info["unit_code_cell"]) == ("DN001", 2023, 3, "B5")
    revenue = parsed.indicators.set_index("indicator_code").loc["revenue_bn_vnd"]
    assert revenue["value"] == 1234.567 and revenue["value_kind"] == "number"
    assert revenue["value_cell"] == indicator_cell("enterprises", "revenue_bn_vnd")
    tasks = parsed.tasks.set_index("task_code")
    assert list(tasks.index) == ["NV01", "NV02"]
    assert tasks.loc["NV01", "completed_on"] == dt.date(2023, 8, 1)
    assert tasks.loc["NV02", "completed_on_kind"] == "missing"
    assert tasks.loc["NV02", "status_cell"] == "E6"


def test_a_process_pool_reads_the_same_frames(tmp_path, monkeypatch):
    items = [
        (f"s{n}", save(submission(code, Q3, values=default_values("agencies", n)), tmp_path / f"{n}.xlsx"))
        for n, code in enumerate(["CQ001", "CQ002", "CQ003", "CQ004"])
    ]
    in_process = read_workbooks(items, workers=1)
    monkeypatch.setattr(workbook_reader, "CHUNK_FILES", 1)

    pooled = read_workbooks(items, workers=2)

    pd.testing.assert_frame_equal(pooled.indicators, in_process.indicators)
    pd.testing.assert_frame_equal(pooled.info, in_process.info)
    assert sorted(pooled.indicators["submission_id"].unique()) == ["s0", "s1", "s2", "s3"]


@pytest.mark.parametrize("sheet, cell", [
    (L.SHEET_INDICATORS, "C5"),  # a label, also read as the row's indicator name
    (L.SHEET_INFO, "B6"),  # the unit's name, also read as a header field
    (L.SHEET_TASKS, "A5"),  # a task's number, read only to compare with what was handed out
], ids=["label", "unit-name", "task-number"])
def test_a_locked_cell_with_a_control_character_is_reported_once(tmp_path, sheet, cell):
    path = save(submission("CQ003", Q3, tasks=[("NV01", "Nội dung", "ctr135", "completed", dt.date(2023, 8, 1))],
                           cells={(sheet, cell): "Nội _x0007_dung"}), tmp_path / "a.xlsx")

    parsed = workbook_reader.read_chunk([("a", path)])

    assert [(f.rule_id, f.sheet, f.cell) for f in parsed.problems] == [("cell.control_character", sheet, cell)]
