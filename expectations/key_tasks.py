"""Key tasks: each identified by a unique code, with a known source and status, dated when done."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.runner import rule, rules_by_value
from reporting import layout as L
from reporting.periods import Period
from reporting.programme import Programme

INDEX_COLUMNS = [
    "submission_id", "row", "task_code", "task_code_cell", "content_cell", "source_cell", "source_label",
    "status_cell", "status_label", "completed_on_cell", "completed_on_text", "completed_on_shown",
    "note_cell",
]
SUMMARY_INDEX_COLUMNS = ["submission_id", "key", "label", "stated_cell", "stated_text", "actual"]


def completed_on_window(programme: Programme, period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The dates a completed task may carry: 1 January of the year to the quarter's deadline, both included."""
    return (pd.Timestamp(dt.datetime(period.year, 1, 1)),
            pd.Timestamp(dt.datetime.combine(programme.deadlines[period.quarter], dt.time())))


def build_suite(programme: Programme, period: Period) -> gx.ExpectationSuite:
    """Checks on the key-task sheet; the frame carries source and status codes, or null, and
    whether a completed task's date lies in `completed_on_window` (`completed_on_in_range`):
    dates compared row by row inside the suite cost more than all its other checks."""
    sheet = L.SHEET_TASKS
    sources = "; ".join(f'"{c.label_vi}"' for c in programme.task_sources)
    statuses = "; ".join(f'"{c.label_vi}"' for c in programme.task_statuses)
    latest = programme.deadlines[period.quarter]
    return gx.ExpectationSuite(name="key_tasks", expectations=[
        rule(
            gxe.ExpectColumnValuesToNotBeNull, column="task_code",
            rule_id="task.code_missing", sheet=sheet, cell_column="task_code_cell",
            message_vi="Dòng {row} có nội dung nhiệm vụ nhưng ô {cell} (mã nhiệm vụ) để trống. "
            "Đặt cho mỗi nhiệm vụ một mã riêng, giữ nguyên qua các quý.",
        ),
        rule(
            gxe.ExpectCompoundColumnsToBeUnique, column_list=["submission_id", "task_code"],
            rule_id="task.code_duplicate", sheet=sheet, cell_column="task_code_cell",
            value_column="task_code",
            message_vi="Mã nhiệm vụ \"{value}\" ở ô {cell} bị trùng với một dòng khác. "
            "Mỗi nhiệm vụ phải có một mã riêng.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeNull, column="content",
            rule_id="task.content_missing", sheet=sheet, cell_column="content_cell",
            message_vi="Ô {cell}: nhiệm vụ \"{task_code}\" chưa ghi nội dung.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeNull, column="source_label",
            rule_id="task.source_missing", sheet=sheet, cell_column="source_cell",
            message_vi=f"Ô {{cell}}: chưa chọn nguồn của nhiệm vụ \"{{task_code}}\". Chọn một trong: {sources}.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="source_known", value_set=[False],
            rule_id="task.source_invalid", sheet=sheet, cell_column="source_cell",
            value_column="source_label",
            message_vi=f"Ô {{cell}}: nguồn nhiệm vụ \"{{value}}\" không có trong danh sách. Chọn một trong: {sources}.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeNull, column="status_label",
            rule_id="task.status_missing", sheet=sheet, cell_column="status_cell",
            message_vi=f"Ô {{cell}}: chưa chọn trạng thái của nhiệm vụ \"{{task_code}}\". Chọn một trong: {statuses}.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="status_known", value_set=[False],
            rule_id="task.status_invalid", sheet=sheet, cell_column="status_cell",
            value_column="status_label",
            message_vi=f"Ô {{cell}}: trạng thái \"{{value}}\" không có trong danh sách. Chọn một trong: {statuses}.",
        ),
        rules_by_value(
            # `completed_on_kind_due` is the date's kind, null where a task not completed has none:
            # only a completed task must be dated (a row condition would copy the frame).
            gxe.ExpectColumnValuesToNotBeInSet, column="completed_on_kind_due",
            sheet=sheet, cell_column="completed_on_cell", value_column="completed_on_text",
            cases=[
                (["missing"], "task.completed_on_missing",
                 "Ô {cell}: nhiệm vụ \"{task_code}\" đã hoàn thành nhưng chưa có ngày "
                 "hoàn thành. Nhập ngày dạng dd/mm/yyyy."),
                (["text"], "task.completed_on_not_date",
                 "Ô {cell} có giá trị \"{value}\", không phải là ngày. Nhập ngày dạng dd/mm/yyyy."),
            ],
        ),
        rule(
            # `completed_on_in_range` is null where the task is not completed or has no date.
            gxe.ExpectColumnValuesToNotBeInSet, column="completed_on_in_range", value_set=[False],
            rule_id="task.completed_on_out_of_range", sheet=sheet, cell_column="completed_on_cell",
            value_column="completed_on_shown",
            message_vi=f"Ô {{cell}}: ngày hoàn thành {{value}} nằm ngoài khoảng từ 01/01/{period.year} "
            f"đến hạn nộp báo cáo {latest:%d/%m/%Y}.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="open_dated_in_future", value_set=[True],
            rule_id="task.open_dated_in_future", sheet=sheet, cell_column="completed_on_cell",
            value_column="completed_on_shown",
            message_vi="Ô {cell}: nhiệm vụ \"{task_code}\" chưa hoàn thành (\"{status_label}\") nhưng ghi "
            f"ngày hoàn thành {{value}}, sau khi kết thúc {period.label_vi}. Chỉ ghi ngày khi "
            "nhiệm vụ đã hoàn thành.",
        ),
        rule(
            gxe.ExpectColumnValuesToNotBeInSet, column="reason_missing", value_set=[True],
            rule_id="task.reason_missing", sheet=sheet, cell_column="note_cell", value_column="note",
            message_vi="Ô {cell}: nhiệm vụ \"{task_code}\" ở trạng thái \"{status_label}\" cần ghi rõ lý do "
            "ở cột Ghi chú.",
        ),
    ])


def build_summary_suite() -> gx.ExpectationSuite:
    """The clerk's totals beside the task table agree with its rows."""
    return gx.ExpectationSuite(name="task_totals", expectations=[
        rules_by_value(
            gxe.ExpectColumnValuesToNotBeInSet, column="stated_kind",
            sheet=L.SHEET_TASKS, cell_column="stated_cell", value_column="stated_text",
            cases=[
                (["missing"], "task.totals_missing",
                 "Ô {cell} (\"{label}\") chưa có số. Ghi số nhiệm vụ tương ứng trong danh sách "
                 "(ở đây là {actual})."),
                (["text", "ambiguous"], "task.totals_not_number",
                 "Ô {cell} (\"{label}\") có giá trị \"{value}\", không phải là số."),
            ],
        ),
        rule(
            gxe.ExpectColumnPairValuesToBeEqual, column_A="stated", column_B="actual",
            ignore_row_if="either_value_is_missing",
            rule_id="task.totals_mismatch", sheet=L.SHEET_TASKS, cell_column="stated_cell",
            value_column="stated",
            message_vi="Ô {cell} (\"{label}\") ghi {value} nhưng danh sách nhiệm vụ có {actual}. "
            "Sửa số tổng hợp cho khớp với danh sách.",
        ),
    ])
